"""Fitting a spec from a source's training half (no engine needed here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.cohort.source import (
    SourceError,
    read_features,
    split_train_control,
    with_primary_class,
)
from engine.demo_source import fabricate_table, write_demo_source
from engine.fit import fit_statistics, prepare


@pytest.fixture(scope="module")
def demo_table():
    table, excluded = with_primary_class(fabricate_table(4000, seed=3))
    assert excluded == 0
    return table


def test_train_and_control_are_equal_halves_with_no_patient_on_both_sides():
    table = fabricate_table(1000, seed=1)
    # Three records of one patient must stay together.
    table.loc[[0, 1, 2], "patient_id"] = "same-person"
    table, _ = with_primary_class(table)
    split = split_train_control(table, seed=5)
    assert len(split.train) == len(split.control)
    assert len(split.train) + len(split.control) + split.dropped == len(table)
    assert not set(split.train.patient_id) & set(split.control.patient_id)


def test_fit_reads_only_the_training_rows(demo_table):
    split = split_train_control(demo_table, seed=2)
    spec = fit_statistics(split.train, "demo", seed=2)
    train_share = split.train["class"].value_counts(normalize=True)
    for code, p in spec.classes.items():
        assert p == pytest.approx(train_share[code], abs=1e-5)
    norm_qrs = split.train.loc[split.train["class"] == "NORM", "qrs_ms"]
    assert spec.marginal("NORM", "qrs_ms").mean == pytest.approx(
        norm_qrs.mean(), abs=0.01
    )


def test_changing_the_control_rows_of_a_source_does_not_change_the_fit(tmp_path):
    from engine.cohort import dumps

    folder = write_demo_source(tmp_path / "src", n=600, seed=0)
    before = prepare(folder, seed=3)
    table = pd.read_parquet(folder / "features.parquet")
    control = table["record_id"].isin(before.split.control["record_id"])
    table.loc[control, "qrs_ms"] += 60.0
    table.to_parquet(folder / "features.parquet", index=False)
    after = prepare(folder, seed=3)
    assert dumps(fit_statistics(after.split.train, "x", 3)) == dumps(
        fit_statistics(before.split.train, "x", 3)
    )
    assert (
        after.split.control["qrs_ms"].mean()
        > before.split.control["qrs_ms"].mean() + 50
    )


def test_fit_finds_the_sex_and_age_effects_on_qt_and_omits_pr_in_afib(demo_table):
    spec = fit_statistics(split_train_control(demo_table, 4).train, "demo", 4)
    by_target = {(r.target, bool(r.per)): r for r in spec.rules}
    # The fabricated source adds 10 ms to QTc in women: QT = QTc * sqrt(RR).
    assert by_target[("qt_ms", False)].add == pytest.approx(10.0, abs=4.0)
    assert by_target[("qt_ms", True)].slope == pytest.approx(0.25, abs=0.12)
    assert "pr_ms" in spec.omit["AFIB"]
    assert spec.marginal("AFIB", "pr_ms") is None
    assert np.linalg.eigvalsh(spec.correlation).min() > 0


def test_a_fitted_spec_reproduces_the_training_means_when_sampled(demo_table):
    from engine.cohort import sample_patients

    train = split_train_control(demo_table, 6).train
    spec = fit_statistics(train, "demo", 6)
    cohort = sample_patients(spec, 20000)
    for feature in ("heart_rate_bpm", "pr_ms", "qrs_ms", "qt_ms"):
        simulated = np.nanmean(cohort[f"target_{feature}"])
        assert simulated == pytest.approx(np.nanmean(train[feature]), rel=0.01)


def test_a_source_folder_without_features_is_refused_naming_it(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="no features.parquet or features.csv"):
        read_features(tmp_path / "empty")
    with pytest.raises(SourceError, match="no such folder"):
        read_features(tmp_path / "absent")


def test_a_feature_table_missing_a_column_is_refused_naming_it(tmp_path):
    write_demo_source(tmp_path / "src", n=200, seed=0)
    table = pd.read_csv(tmp_path / "src" / "features.csv").drop(columns=["qt_ms"])
    table.to_csv(tmp_path / "broken.csv", index=False)
    with pytest.raises(SourceError, match=r"broken.csv: missing column 'qt_ms'"):
        read_features(tmp_path / "broken.csv")


def test_non_numeric_intervals_and_garbage_files_are_refused(tmp_path):
    write_demo_source(tmp_path / "src", n=200, seed=0)
    table = pd.read_csv(tmp_path / "src" / "features.csv")
    table["pr_ms"] = table["pr_ms"].astype(object)
    table.loc[3, "pr_ms"] = "long"
    table.to_csv(tmp_path / "text.csv", index=False)
    with pytest.raises(SourceError, match=r"column 'pr_ms' holds non-numeric"):
        read_features(tmp_path / "text.csv")
    (tmp_path / "features.parquet").write_bytes(b"not parquet")
    with pytest.raises(SourceError, match="cannot be read as a feature table"):
        read_features(tmp_path)


def test_a_source_without_simulable_classes_is_refused(tmp_path):
    write_demo_source(tmp_path / "src", n=200, seed=0)
    table = pd.read_csv(tmp_path / "src" / "features.csv")
    table["labels"] = "WPW"
    table.to_csv(tmp_path / "wpw.csv", index=False)
    with pytest.raises(SourceError, match="only 0 rows have a simulable class"):
        prepare(tmp_path / "wpw.csv", seed=1)


def test_the_demo_source_says_it_is_fabricated(tmp_path):
    import json

    folder = write_demo_source(tmp_path / "demo", n=300, seed=0)
    source = json.loads((folder / "source.json").read_text())
    assert source["fabricated"] is True
    assert "FABRICATED" in source["notice"]
    table = pd.read_parquet(folder / "features.parquet")
    assert (table["source_format"] == "fabricated").all()
