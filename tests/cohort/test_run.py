"""Simulation runs with the real engine: files that open in the usual tools
and equal the engine's signals, resumption, Dask, and the fitted cohort's
fidelity to its source."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest
import wfdb

from catalog.cli import main
from engine.cohort import sample_patients
from engine.cohort.backend import simulate_rows
from engine.cohort.source import with_primary_class
from engine.dicom import export_run
from engine.run import RunError, run_cohort

SMALL = 70  # three chunks, the last one partial


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def small_run(fitted, tmp_path_factory):
    spec_path, _, _ = fitted
    out = tmp_path_factory.mktemp("run") / "out"
    summary = run_cohort(spec_path, SMALL, out, threads=2)
    assert summary.failed == []
    return out


@pytest.fixture(scope="module")
def engine_out(fitted):
    """The engine's own output for the patients of the small run."""
    _, spec, _ = fitted
    return simulate_rows(spec, sample_patients(spec, SMALL), threads=2)


def test_every_record_opens_with_wfdb_and_equals_the_engine(
    fitted, small_run, engine_out
):
    _, spec, _ = fitted
    rows = sample_patients(spec, SMALL)
    table = pd.read_parquet(small_run / "features.parquet")
    assert list(table["ecg_id"]) == list(rows["record"])
    for (_, row), sim, path in zip(rows.iterrows(), engine_out, table["path"],
                                   strict=True):  # fmt: skip
        record = wfdb.rdrecord(str(small_run / path))
        assert record.fs == 500 and record.n_sig == 12
        assert record.fmt == ["16"] * 12
        assert np.abs(record.p_signal - sim.signal).max() <= 0.0005 + 1e-9
        assert f"labels: {row['labels']}" in record.comments
        ann = wfdb.rdann(str(small_run / path), "atr")
        onsets = ann.sample[(np.array(ann.symbol) == "(") & (ann.num == 1)]
        truth = sim.fiducials["qrs_onset"]
        np.testing.assert_array_equal(onsets, truth[truth >= 0])


def test_headers_carry_synthetic_labels_and_nothing_from_the_source(
    fitted, small_run, demo_source
):
    source = pd.read_parquet(demo_source / "features.parquet")
    for header in (small_run / "records").rglob("*.hea"):
        text = header.read_text()
        assert "synthetic: virtual patient" in text
        assert "demo-" not in text and str(demo_source) not in text
    assert (
        not source["record_id"]
        .isin(pd.read_parquet(small_run / "features.parquet")["ecg_id"])
        .any()
    )


def test_the_manifest_lists_every_file_with_its_digest_and_the_splits(
    fitted, small_run
):
    import hashlib

    _, spec, _ = fitted
    manifest = json.loads((small_run / "manifest.json").read_text())
    listed = {entry["path"]: entry["sha256"] for entry in manifest["files"]}
    on_disk = files_of(small_run)
    del on_disk["manifest.json"]
    assert set(listed) == set(on_disk)
    for path, data in on_disk.items():
        assert hashlib.sha256(data).hexdigest() == listed[path]
    assert manifest["seed"] == spec.seed and manifest["n_patients"] == SMALL
    assert manifest["engine_version"]
    for side in ("train", "control"):
        split = Path(manifest["splits"][side]["path"])
        assert (
            hashlib.sha256(split.read_bytes()).hexdigest()
            == (manifest["splits"][side]["sha256"])
        )
    train = pd.read_parquet(manifest["splits"]["train"]["path"])
    control = pd.read_parquet(manifest["splits"]["control"]["path"])
    assert len(train) == len(control)
    assert not set(train.patient_id) & set(control.patient_id)


def test_every_dicom_file_opens_and_equals_the_engine(small_run, engine_out, tmp_path):
    summary = export_run(small_run, tmp_path / "dicom")
    assert summary.failed == [] and len(summary.written) == SMALL
    for path, sim in zip(summary.written, engine_out, strict=True):
        ds = pydicom.dcmread(path)
        assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.9.1.1"
        assert ds.PatientName == f"Synthetic^{path.stem}"
        uv = ds.waveform_array(0)
        assert uv.shape == (5000, 12)
        assert np.abs(uv / 1000.0 - sim.signal).max() <= 0.0005 + 1e-9


def test_an_interrupted_run_resumes_and_ends_byte_identical(
    fitted, small_run, tmp_path
):
    spec_path, _, _ = fitted
    calls = []

    def interrupted(spec, rows, threads):
        calls.append(len(rows))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return simulate_rows(spec, rows, threads)

    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_cohort(spec_path, SMALL, out, threads=2, simulator=interrupted)
    assert not (out / "manifest.json").exists()
    assert not [p for p in out.rglob(".*") if p.is_file() and ".run" not in p.parts]
    # A file of the second committed chunk is lost (as after a power cut):
    # that chunk is simulated again, the first one is kept.
    (out / "records" / "00000" / "p000040.dat").write_bytes(b"")
    summary = run_cohort(spec_path, SMALL, out, threads=2)
    assert summary.resumed_chunks == 1
    assert files_of(out) == files_of(small_run)


def test_a_folder_holding_another_run_is_refused(fitted, small_run, tmp_path):
    spec_path, _, _ = fitted
    with pytest.raises(RunError, match="already holds a finished run"):
        run_cohort(spec_path, SMALL, small_run)
    out = tmp_path / "out"

    def stop(spec, rows, threads):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_cohort(spec_path, SMALL, out, simulator=stop)
    with pytest.raises(RunError, match="different n_patients"):
        run_cohort(spec_path, SMALL + 1, out)


@pytest.mark.slow
def test_dask_with_two_workers_writes_the_same_bytes(fitted, small_run, tmp_path):
    from distributed import LocalCluster

    spec_path, _, _ = fitted
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        dashboard_address=None,
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://")
        run_cohort(
            spec_path, SMALL, tmp_path / "dask", scheduler=cluster.scheduler_address
        )
    assert files_of(tmp_path / "dask") == files_of(small_run)


def test_patients_the_engine_refuses_are_reported_and_the_rest_written(
    fitted, tmp_path, capsys
):
    spec_path, _, _ = fitted
    text = spec_path.read_text().replace(
        "grid_spacing_mm = 2.0", "grid_spacing_mm = 2.0\nlv_wall_mm = 25.0"
    )
    bad = spec_path.with_name("bad-wall.toml")
    bad.write_text(text)
    status = main(["simulate", str(bad), "-n", "40", "-o", str(tmp_path / "out")])
    assert status == 1
    err = capsys.readouterr().err
    assert "lv_wall_mm must be in [5, 22], got 25" in err
    table = pd.read_parquet(tmp_path / "out" / "features.parquet")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    # The LVH pathology sets its own wall thickness, so only those pass.
    assert set(table["labels"]) == {"LVH"}
    assert len(manifest["failed"]) == 40 - len(table)


def test_the_commands_refuse_bad_input_with_one_line(tmp_path, capsys):
    (tmp_path / "bad.toml").write_text("[cohort]\nname = 'x'\n")
    assert main(["cohort", "show", str(tmp_path / "bad.toml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"cardiofair cohort: {tmp_path / 'bad.toml'}: [cohort.seed] "
                   "must be an integer in [0, 2^63), got None"]  # fmt: skip
    assert main(["simulate", str(tmp_path / "none.toml"), "-n", "3", "-o",
                 str(tmp_path / "o")]) == 2  # fmt: skip
    assert "no such file" in capsys.readouterr().err
    assert main(["export", "dicom", str(tmp_path), "-o", str(tmp_path / "d")]) == 2
    assert "manifest.json: missing" in capsys.readouterr().err
    assert main(["cohort", "fit", str(tmp_path / "nowhere"), "-o",
                 str(tmp_path / "s.toml")]) == 2  # fmt: skip
    assert "no such folder" in capsys.readouterr().err


@pytest.mark.slow
def test_a_fitted_cohort_of_2000_matches_prevalences_and_interval_means(
    fitted, demo_source, tmp_path
):
    spec_path, _, _ = fitted
    run_cohort(spec_path, 2000, tmp_path / "big", threads=2)
    synthetic = pd.read_parquet(tmp_path / "big" / "features.parquet")
    source, _ = with_primary_class(pd.read_parquet(demo_source / "features.parquet"))
    assert len(synthetic) == 2000
    source_share = source["class"].value_counts(normalize=True)
    synthetic_share = synthetic["labels"].value_counts(normalize=True)
    for code, p in source_share.items():
        assert abs(synthetic_share.get(code, 0.0) - p) <= 0.02, code
    for feature in ("heart_rate_bpm", "pr_ms", "qrs_ms", "qt_ms"):
        real = np.nanmean(source[feature])
        simulated = np.nanmean(synthetic[feature])
        assert simulated == pytest.approx(real, rel=0.05), feature
