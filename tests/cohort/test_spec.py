"""The cohort spec: validation errors name the key, text round-trips, and
sampling follows the spec."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from engine.cohort import distributions as dists
from engine.cohort import dumps, loads, sample_patients
from engine.cohort.spec import SpecError

BASE = """
[cohort]
name = "test"
seed = 11

[classes]
NORM = 0.7
CLBBB = 0.3

[features.heart_rate_bpm]
distribution = "log_normal"
mu = 4.2
sigma = 0.15

[features.pr_ms]
distribution = "normal"
mean = 160.0
sd = 20.0

[features.qrs_ms]
distribution = "truncated_normal"
mean = 90.0
sd = 10.0
low = 60.0
high = 130.0

[features.qt_ms]
distribution = "uniform"
low = 360.0
high = 420.0

[features.axis_deg]
distribution = "normal"
mean = 40.0
sd = 30.0

[class_features.CLBBB.qrs_ms]
distribution = "normal"
mean = 150.0
sd = 12.0

[copula]
variables = ["heart_rate_bpm", "qt_ms"]
correlation = [[1.0, -0.8], [-0.8, 1.0]]

[[rules]]
target = "qt_ms"
add = 12.0
when = { sex = "F" }
"""


def spec_text(old: str = "", new: str = "") -> str:
    assert old in BASE
    return BASE.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "key", "expected"),
    [
        ('seed = 11', 'seed = "eleven"', "cohort.seed", "must be an integer"),
        ("NORM = 0.7", "NORM = 0.6", "classes", "must sum to 1"),
        ("NORM = 0.7", "NORMAL = 0.7", "classes.NORMAL", "not an SCP-ECG statement"),
        ("sd = 20.0", "sd = -20.0", "features.pr_ms", "'sd' must be > 0"),
        ('distribution = "uniform"', 'distribution = "beta"', "features.qt_ms",
         "must be one of normal"),
        ("low = 360.0", "low = 460.0", "features.qt_ms", "must be below"),
        ("[features.axis_deg]", "[features.st_mv]", "features.st_mv",
         "not a known feature"),
        ("[-0.8, 1.0]]", "[-0.8, 1.0], [0.0, 0.0]]", "copula.correlation",
         "must be 2 x 2"),
        ("[1.0, -0.8], [-0.8, 1.0]", "[1.0, -0.8], [0.8, 1.0]",
         "copula.correlation", "symmetric"),
        ("[1.0, -0.8], [-0.8, 1.0]", "[1.0, 1.0], [1.0, 1.0]",
         "copula.correlation", "positive definite"),
        ('when = { sex = "F" }', 'when = { sex = "X" }', "rules[0].when.sex",
         'expected sex = "F"'),
        ('add = 12.0', 'scale = 1.2', "rules[0].scale", "not a rule key"),
        ("[class_features.CLBBB.qrs_ms]", "[class_features.CRBBB.qrs_ms]",
         "class_features.CRBBB", "missing from [classes]"),
        ("[cohort]", "[cohorts]", "cohorts", "not a spec section"),
        ("[classes]", "[engine]\noptions = { grid_spacing_mm = \"fine\" }\n\n"
         "[classes]", "engine.options.grid_spacing_mm", "must be a number"),
    ],
)  # fmt: skip
def test_a_malformed_spec_is_refused_naming_the_key(old, new, key, expected):
    with pytest.raises(SpecError) as caught:
        loads(spec_text(old, new), where="cohort.toml")
    message = str(caught.value)
    assert message.startswith(f"cohort.toml: [{key}]"), message
    assert expected in message


def test_a_missing_feature_distribution_is_named():
    text = spec_text("[features.axis_deg]\ndistribution", "[junk]\ndistribution")
    with pytest.raises(SpecError, match=r"\[junk\] is not a spec section"):
        loads(text)
    trimmed = (
        BASE.split("[features.axis_deg]")[0] + "[copula]" + BASE.split("[copula]")[1]
    )
    with pytest.raises(SpecError, match=r"\[features.axis_deg\] is missing"):
        loads(trimmed)


def test_invalid_toml_and_missing_files_give_one_line(tmp_path):
    with pytest.raises(SpecError, match="not valid TOML"):
        loads("[cohort\nname=", where="x.toml")
    from engine.cohort import load

    with pytest.raises(SpecError, match="no such file"):
        load(tmp_path / "absent.toml")


def test_a_spec_survives_dump_and_load_unchanged():
    spec = loads(BASE)
    again = loads(dumps(spec))
    assert dumps(again) == dumps(spec)
    assert again.classes == spec.classes
    assert again.rules == spec.rules
    np.testing.assert_array_equal(again.correlation, spec.correlation)


def test_the_same_seed_draws_the_same_cohort_and_another_seed_does_not():
    spec = loads(BASE)
    a = sample_patients(spec, 300)
    b = sample_patients(spec, 300)
    c = sample_patients(spec, 300, seed=12)
    assert a.equals(b)
    assert not a["target_qt_ms"].equals(c["target_qt_ms"])


def test_sampling_follows_prevalences_marginals_copula_and_rules():
    spec = loads(BASE)
    cohort = sample_patients(spec, 4000)
    share = (cohort["labels"] == "CLBBB").mean()
    assert abs(share - 0.3) <= 1 / 4000
    qrs = cohort.groupby("labels")["target_qrs_ms"].mean()
    assert qrs["CLBBB"] == pytest.approx(150.0, abs=1.0)
    assert 60.0 <= cohort.loc[cohort.labels == "NORM", "target_qrs_ms"].min()
    men = cohort[cohort.sex == "M"]
    rho = stats.spearmanr(men["target_heart_rate_bpm"], men["target_qt_ms"])[0]
    # Spearman's rho of a Gaussian copula with correlation r: 6/pi asin(r/2).
    assert rho == pytest.approx(6 / np.pi * np.arcsin(-0.4), abs=0.04)
    by_sex = cohort.groupby("sex")["target_qt_ms"].mean()
    assert by_sex["F"] - by_sex["M"] == pytest.approx(12.0, abs=2.0)


def test_age_bands_are_drawn_as_whole_years_inside_each_band():
    text = BASE.replace(
        "[classes]",
        '[demographics.age_years]\ndistribution = "categorical"\n'
        'probabilities = { "40-49" = 0.5, "90+" = 0.5 }\n\n[classes]',
    )
    cohort = sample_patients(loads(text), 500)
    ages = cohort["age"]
    assert set(ages[ages < 90]) <= set(range(40, 50))
    assert ((ages >= 40) & (ages <= 90)).all()


@settings(max_examples=60, deadline=None)
@given(
    mean=st.floats(-500, 500),
    sd=st.floats(0.01, 100),
    width=st.floats(0.1, 50),
    u=st.lists(st.floats(0, 1), min_size=1, max_size=20),
)
def test_truncated_normal_quantiles_stay_inside_the_bounds(mean, sd, width, u):
    dist = dists.TruncatedNormal(mean, sd, mean - width, mean + 0.5 * width)
    values = dist.ppf(np.array(u))
    assert np.all(np.isfinite(values))
    assert np.all(values >= mean - width - 1e-6)
    assert np.all(values <= mean + 0.5 * width + 1e-6)
    assert np.all(np.diff(values[np.argsort(u)]) >= -1e-9)


def test_the_documented_example_spec_is_valid():
    import re
    from pathlib import Path

    doc = Path(__file__).parents[2] / "docs" / "cohort-spec.md"
    example = re.search(r"```toml\n(.*?)```", doc.read_text(), re.S).group(1)
    spec = loads(example, where="docs/cohort-spec.md")
    cohort = sample_patients(spec, 400)
    assert cohort.loc[cohort.labels == "AFIB", "target_pr_ms"].isna().all()
    assert "param_av_delay_ms" in cohort.columns
