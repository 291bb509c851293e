"""PTB-XL layout, quality figures and the delineator cross-check."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from pydicom.data import get_testdata_file

from engine.ingest.dicom_reader import ecg_record, read_dicom
from engine.ingest.features import measure
from engine.ingest.pipeline import ingest
from engine.ingest.quality import record_quality
from engine.ingest.wfdb_reader import read_wfdb
from tests.ingest.conftest import LEGAL, PHYSIONET, build_ptbxl


def test_ptbxl_layout_gives_labels_demographics_and_no_report_text(tmp_path):
    root = build_ptbxl(tmp_path / "ptbxl")
    out = ingest(root, tmp_path / "out", **LEGAL).out_dir
    table = pd.read_csv(out / "features.csv", keep_default_na=False)
    rows = table.sort_values("labels").to_dict("records")
    assert [r["labels"] for r in rows] == ["ABQRS;IMI", "NORM;SR"]
    assert [r["diagnostic_superclasses"] for r in rows] == ["MI", "NORM"]
    assert [(r["sex"], r["age_band"]) for r in rows] == [("M", "90+"), ("F", "50-59")]
    assert set(table["source_format"]) == {"ptbxl"}
    everything = b"".join(p.read_bytes() for p in out.rglob("*") if p.is_file())
    for value in (b"sinusrhythmus", b"infarkt", b"1984-11-09", b"15709", b"00001_hr"):
        assert value not in everything.lower()
    source = json.loads((out / "source.json").read_text())
    assert source["formats"] == ["PTB-XL"]


def test_ptbxl_500_hz_record_is_preferred(tmp_path):
    root = build_ptbxl(tmp_path / "ptbxl")
    out = ingest(root, tmp_path / "out", **LEGAL).out_dir
    quality = json.loads((out / "quality.json").read_text())
    assert {q["fs_hz"] for q in quality["records"].values()} == {500.0}


def test_source_balance_flags_small_and_absent_groups(tmp_path):
    root = build_ptbxl(tmp_path / "ptbxl")
    out = ingest(root, tmp_path / "out", **LEGAL).out_dir
    source = json.loads((out / "quality.json").read_text())["source"]
    assert source["balance"]["sex"] == {"F": 1, "M": 1}
    flagged = {(f["dimension"], f["group"]) for f in source["under_represented"]}
    assert ("sex", "F") in flagged and ("diagnostic_superclasses", "MI") in flagged
    reasons = {f["reason"] for f in source["under_represented"]}
    assert reasons == {"fewer than 11 records"}


def _damaged_record():
    record = read_wfdb(PHYSIONET / "test01_00s.hea")
    signal = record.signal
    signal[:, 1] = 0.003  # flat
    top = np.percentile(signal[:, 2], 90)
    signal[:, 2] = np.minimum(signal[:, 2], top)  # clipped at the rail
    t = np.arange(signal.shape[0]) / record.fs
    signal[:, 3] += 0.5 * np.sin(2 * np.pi * 50 * t)  # mains
    signal[:100, 0] = np.nan
    return record


def test_quality_finds_flat_clipped_nan_and_mains_noise():
    quality = record_quality(_damaged_record())
    assert quality["flat_leads"] == ["ECG 2"]
    assert list(quality["clipped_leads"]) == ["ECG 3"]
    assert quality["nan_fraction"] > 0
    assert quality["mains_noise"]["frequency_hz"] == 50.0
    assert quality["mains_noise"]["power_share"] > 0.05
    assert len(quality["issues"]) == 4
    assert "V1" in quality["missing_leads"]


def test_clean_real_record_has_no_quality_issue():
    quality = record_quality(read_wfdb(PHYSIONET / "s0010_re.hea"))
    assert quality["issues"] == []
    assert quality["missing_leads"] == []
    assert 0 < quality["baseline_wander_mv"] < 0.1


def test_delineation_agrees_with_the_ecg_devices_own_measurements():
    record = ecg_record(read_dicom(get_testdata_file("waveform_ecg.dcm")))
    device = dict(record.measurements)
    record.measurements = {}
    values, notes = measure(record)
    assert notes == []
    assert abs(values["pr_ms"] - device["pr_ms"]) <= 25
    assert abs(values["qrs_ms"] - device["qrs_ms"]) <= 15
    assert abs(values["qt_ms"] - device["qt_ms"]) <= 20
    assert abs(values["axis_deg"] - device["axis_deg"]) <= 15
    assert abs(values["heart_rate_bpm"] - device["heart_rate_bpm"]) <= 1


def test_intervals_the_delineators_disagree_on_are_left_empty():
    values, notes = measure(read_wfdb(PHYSIONET / "s0010_re.hea"))
    disputed = [note for note in notes if "delineators disagree" in note]
    assert disputed
    for note in disputed:
        assert np.isnan(values[note.split(":")[0]])
