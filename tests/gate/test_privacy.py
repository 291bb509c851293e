"""The privacy evaluators: anonymeter's pitfalls corrected, results reproducible."""

from __future__ import annotations

import anonymeter.evaluators  # noqa: F401  (before anonymeter.neighbors)
import numpy as np
import pandas as pd
import polars as pl
import pytest
from anonymeter.evaluators.inference_evaluator import evaluate_inference_guesses
from anonymeter.evaluators.singling_out_evaluator import (
    multivariate_singling_out_queries,
)
from anonymeter.neighbors.mixed_types_kneighbors import MixedTypeKNeighbors

from catalog.gate import privacy
from catalog.gate.neighbors import encode, nearest
from catalog.gate.queries import Encoding, count_matches, multivariate_queries
from catalog.gate.tables import harmonise
from tests.gate.cohort import cohort


@pytest.fixture(scope="module")
def small():
    real, control, synthetic = cohort(600, 3)
    (ori, ctrl, syn), numeric, categorical = harmonise(
        [real, control, synthetic], list(real.columns)
    )
    return ori, ctrl, syn, numeric


def test_the_vectorised_neighbours_equal_anonymeters_on_continuous_data():
    rng = np.random.default_rng(0)
    candidates = pd.DataFrame(rng.normal(size=(400, 4)), columns=list("abcd"))
    candidates["sex"] = rng.choice(["F", "M"], 400)
    queries = pd.DataFrame(rng.normal(size=(60, 4)), columns=list("abcd"))
    queries["sex"] = rng.choice(["F", "M"], 60)
    expected = MixedTypeKNeighbors(n_neighbors=1, n_jobs=1).fit(candidates)
    index, _ = nearest(queries, candidates, list("abcd"), ["sex"], n_threads=2)
    np.testing.assert_array_equal(
        index, expected.kneighbors(queries, return_distance=False)[:, 0]
    )


def _reference(queries, candidates, numeric, categorical):
    """All distances with NumPy, summed column by column like anonymeter."""
    q_num, c_num, q_cat, c_cat = encode(queries, candidates, numeric, categorical)
    dist = np.zeros((len(q_num), len(c_num)))
    for j in range(q_num.shape[1]):
        step = np.abs(q_num[:, j, None] - c_num[None, :, j])
        dist += np.where(np.isnan(step), 1.0, step)
    for j in range(q_cat.shape[1]):
        dist += q_cat[:, j, None] != c_cat[None, :, j]
    return dist


def test_the_compiled_search_equals_a_numpy_reference_to_the_last_bit(small):
    ori, _, syn, numeric = small
    categorical = [c for c in ori.columns if c not in numeric]
    syn = syn.copy()
    syn.loc[::7, "qt_ms"] = np.nan
    index, distance = nearest(ori, syn, numeric, categorical, n_threads=2)
    dist = _reference(ori, syn, numeric, categorical)
    np.testing.assert_array_equal(index, np.argmin(dist, axis=1))
    np.testing.assert_array_equal(distance, dist.min(axis=1))


def test_ties_go_to_the_lowest_candidate_and_missing_values_count_one():
    candidates = pd.DataFrame({"x": [1.0, 1.0, np.nan], "s": ["a", "a", "b"]})
    queries = pd.DataFrame({"x": [1.0, np.nan], "s": ["a", "b"]})
    index, distance = nearest(queries, candidates, ["x"], ["s"])
    assert index.tolist() == [0, 2]
    assert distance.tolist() == [0.0, 1.0]


def test_the_univariate_risk_is_relative_to_the_queries_formed(small):
    ori, ctrl, syn, _ = small
    few = privacy.singling_out(ori, syn, ctrl, "univariate", 50, seed=1)
    many = privacy.singling_out(ori, syn, ctrl, "univariate", 5000, seed=1)
    assert few.n_attacks == 50
    assert many.n_attacks < 5000
    assert many.attack_rate == many.n_success / many.n_attacks
    assert any("requested queries" in n for n in many.notes)
    again = privacy.singling_out(ori, syn, ctrl, "univariate", 50, seed=1)
    assert again.to_dict() == few.to_dict()


def test_a_negative_numeric_guess_is_not_a_hit():
    truth = np.array([60.0, -30.0, 400.0])
    guesses = np.array([-45.0, -60.0, 410.0])
    # anonymeter 1.1.0 divides by the guess: any negative guess is a hit.
    upstream = evaluate_inference_guesses(
        pd.Series(guesses), pd.Series(truth), regression=True
    )
    assert upstream.tolist() == [True, True, True]
    assert privacy._guessed(guesses, truth, None).tolist() == [False, False, True]
    axis = privacy._guessed(np.array([-31.0, -100.0]), np.array([-30.0, -30.0]), 28.0)
    assert axis.tolist() == [True, False]


def test_numeric_secrets_use_a_tolerance_not_exact_equality(small):
    ori, ctrl, syn, numeric = small
    result = privacy.inference(ori, syn, ctrl, "qtc_ms", numeric, 300, seed=1)
    assert result.baseline_rate > 0.3  # random QTc within 5% of the truth is common


def test_the_inference_baseline_pairs_targets_with_random_rows(small):
    ori, ctrl, syn, numeric = small
    result = privacy.inference(ori, syn, ctrl, "sex", numeric, 400, seed=2)
    # A random guess of a two-valued secret is right about half the time;
    # anonymeter 1.1.0's label-aligned baseline scored almost nothing.
    assert 0.35 < result.baseline_rate < 0.65


def test_linkability_caps_n_attacks_at_the_rows_available(small):
    ori, ctrl, syn, numeric = small
    demo = ["age", "sex", "height_cm", "weight_kg"]
    clinical = [c for c in ori.columns if c not in demo]
    result = privacy.linkability(ori, syn, ctrl, (demo, clinical), numeric, 5000, 3)
    assert result.n_attacks == 600
    assert any("600 targets attacked" in n for n in result.notes)


def test_the_same_seed_gives_the_same_risks_and_another_seed_other_draws(small):
    ori, ctrl, syn, numeric = small
    first = privacy.singling_out(ori, syn, ctrl, "multivariate", 200, seed=5)
    again = privacy.singling_out(ori, syn, ctrl, "multivariate", 200, seed=5)
    other = privacy.singling_out(ori, syn, ctrl, "multivariate", 200, seed=6)
    assert first.to_dict() == again.to_dict()
    assert (first.n_success, first.n_control) != (other.n_success, other.n_control)


@pytest.mark.parametrize("seed", [0, 1])
def test_the_array_queries_are_anonymeters_queries(small, seed):
    ori, ctrl, syn, numeric = small
    syn = syn.copy()
    syn.loc[::11, "pr_ms"] = np.nan
    syn.loc[5, "diagnosis"] = "it's"
    syn_pl, ori_pl = privacy._distinct(syn), privacy._distinct(ori)
    categorical = {c for c in syn.columns if c not in numeric}
    expected = multivariate_singling_out_queries(
        syn_pl, 150, 3, 20_000, np.random.default_rng(seed)
    )
    encoding = Encoding(list(syn.columns), categorical)
    ours = multivariate_queries(
        syn_pl, encoding, 150, 3, 20_000, np.random.default_rng(seed)
    )
    assert len(ours) == len(expected) == 150
    counts = syn_pl.select(
        [q.cast(pl.Int64).sum().alias(str(i)) for i, q in enumerate(expected)]
    ).row(0)
    assert count_matches(ours, encoding.matrix(syn_pl)).tolist() == [1] * 150
    on_ori = ori_pl.select(
        [q.cast(pl.Int64).sum().alias(str(i)) for i, q in enumerate(expected)]
    ).row(0)
    assert count_matches(ours, encoding.matrix(ori_pl)).tolist() == list(on_ori)
    assert list(counts) == [1] * 150


def test_a_column_that_fixes_the_secret_is_not_attacker_knowledge():
    rng = np.random.default_rng(5)
    age = rng.integers(20, 90, 400)
    real = pd.DataFrame(
        {
            "age": age,
            "age_band": [f"{a // 10 * 10}s" for a in age],
            "qt_ms": rng.normal(400, 20, 400).round(1),
            "record": np.arange(400),
        }
    )
    assert privacy.determining_columns(real, "age_band") == ["age"]
    assert privacy.determining_columns(real, "qt_ms") == []
