"""Ingest of the real PhysioNet records and pydicom's DICOM files."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pydicom
import pytest
import wfdb
from pydicom.data import get_testdata_file

from catalog.cli import main
from engine.ingest.features import COLUMNS
from engine.ingest.pipeline import ingest
from tests.ingest.conftest import (
    CLI_LEGAL,
    DICOM_FILES,
    LEGAL,
    PHYSIONET,
    RECORDS,
    copy_record,
)

EXPECTED_FILES = {
    "features.parquet", "features.csv", "quality.json", "deid_log.json",
    "source.json", "records", "dicom",
}  # fmt: skip


def test_ingest_writes_every_report_of_the_source(ingested):
    out = ingested.out_dir
    assert {p.name for p in out.iterdir()} == EXPECTED_FILES
    source = json.loads((out / "source.json").read_text())
    assert source["record_count"] == 4
    assert source["object_count"] == 3
    assert source["formats"] == ["DICOM", "WFDB"]
    assert source["legal_basis"] == [
        "https://w3id.org/dpv/legal/eu/gdpr#A6-1-e",
        "https://w3id.org/dpv/legal/eu/gdpr#A9-2-j",
    ]
    assert source["purpose"] == ["https://w3id.org/dpv#ScientificResearch"]
    assert "features.parquet" in source["files"]
    table = pd.read_parquet(out / "features.parquet")
    assert list(table.columns) == COLUMNS
    assert list(pd.read_csv(out / "features.csv").columns) == COLUMNS
    quality = json.loads((out / "quality.json").read_text())
    assert quality["source"]["n_records"] == 4
    assert len(quality["records"]) == 6  # four ECGs (one from DICOM), two images
    assert not ingested.problems


def test_feature_table_carries_demographics_and_device_measurements(ingested):
    table = pd.read_parquet(ingested.out_dir / "features.parquet")
    assert sorted(table["age_band"]) == ["20-29", "40-49", "60-69", "80-89"]
    assert sorted(table["sex"]) == ["F", "F", "M", "M"]
    device = table[table["source_format"] == "dicom-waveform"].iloc[0]
    assert (device["pr_ms"], device["qrs_ms"], device["qt_ms"]) == (161, 75, 368)
    assert device["interval_source"] == "source"
    assert table["heart_rate_bpm"].between(40, 120).all()


def _personal_values() -> set[str]:
    """Every personal value of the inputs long enough to be searched for."""
    values = {"s0010_re", "test01_00s", "patient001"}
    for name in RECORDS:
        for line in wfdb.rdheader(str(PHYSIONET / name)).comments:
            key, _, value = line.rpartition(":") if ":" in line else ("", "", line)
            for part in re.split(r"<?\w[\w ()/.-]*>?:", line) + [value]:
                values.add(part.strip(" <>:,"))
            if "medication" in key.lower():
                values.update(value.split())
            elif not key:
                values.update(value.split(","))
    for name in DICOM_FILES:
        ds = pydicom.dcmread(get_testdata_file(name))
        for elem in ds.iterall():
            if elem.tag.is_private or elem.VR in ("PN", "DA", "DT", "TM", "LT", "ST"):
                values.update(_texts(elem.value))
            elif elem.VR == "UI" and not str(elem.value).startswith("1.2.840.10008"):
                values.update(_texts(elem.value))
            elif elem.keyword in _PERSONAL_KEYWORDS:
                values.update(_texts(elem.value))
    return {v for v in values if _searchable(v)}


def _kept_public_values() -> set[str]:
    """Values of attributes the basic profile keeps (Manufacturer, ...); they
    are cut out of the output before searching, as their text may contain a
    removed value ('TOSHIBA_MEC' holds the institution name 'TOSHIBA')."""
    kept = set()
    for name in DICOM_FILES:
        for elem in pydicom.dcmread(get_testdata_file(name)).iterall():
            if elem.keyword in ("Manufacturer", "ManufacturerModelName"):
                kept.update(_texts(elem.value))
    return kept


_PERSONAL_KEYWORDS = {
    "PatientID", "PatientAge", "AccessionNumber", "InstitutionName",
    "StationName", "AdmissionID", "StudyID", "OtherPatientIDs",
    "CurrentPatientLocation", "DeviceSerialNumber", "ContrastBolusAgent",
}  # fmt: skip


def _texts(value) -> list[str]:
    if isinstance(value, bytes | bytearray | pydicom.Sequence) or value is None:
        return []
    if isinstance(value, list | pydicom.multival.MultiValue):
        return [str(v) for v in value]
    return [str(value)]


def _searchable(value: str) -> bool:
    # Short digit strings occur by chance in binary signal files and numbers.
    if value.isdigit():
        return len(value) >= 6
    if re.fullmatch(r"-?[\d.]+", value):
        return False  # instrument settings such as '5.000000'; not identifying
    return len(value) >= 4 and value.lower() not in {"n/a", "none", "(none)"}


def test_no_personal_value_of_the_input_survives_in_any_output_byte(ingested):
    values = _personal_values()
    assert {"Aldomet", "Diabetes mellitus", "29-Sep-90", "642341"} <= values
    assert "RITMO SINUSALE" in values and "CompressedSamples^CT1" in values
    kept = [value.lower().encode() for value in _kept_public_values()]
    found = []
    for path in ingested.out_dir.rglob("*"):
        if not path.is_file():
            continue
        content = path.read_bytes().lower()
        for value in kept:
            content = content.replace(value, b"")
        for value in values:
            if value.lower().encode() in content:
                found.append(f"{path.name}: {value!r}")
    assert found == [], "\n".join(found)


def test_written_records_open_with_wfdb_and_equal_the_input(ingested):
    originals = {
        wfdb.rdrecord(str(PHYSIONET / name)).p_signal.shape: name for name in RECORDS
    }
    compared = 0
    for header in (ingested.out_dir / "records").glob("*.hea"):
        record = wfdb.rdrecord(str(header.with_suffix("")))
        assert record.comments[0].startswith("age_band: ")
        name = originals.get(record.p_signal.shape)
        if name is None:
            continue
        original = wfdb.rdrecord(str(PHYSIONET / name)).p_signal
        step = 1.0 / np.asarray(record.adc_gain)
        assert np.all(np.abs(record.p_signal - original) <= step)
        compared += 1
    assert compared == 3


def test_dicom_outputs_follow_the_basic_profile(ingested):
    written = [pydicom.dcmread(p) for p in (ingested.out_dir / "dicom").glob("*.dcm")]
    assert len(written) == 3
    originals = [pydicom.dcmread(get_testdata_file(n)) for n in DICOM_FILES]
    old_uids = {str(ds.SOPInstanceUID) for ds in originals}
    for ds in written:
        assert ds.PatientIdentityRemoved == "YES"
        assert ds.LongitudinalTemporalInformationModified == "MODIFIED"
        codes = {item.CodeValue for item in ds.DeidentificationMethodCodeSequence}
        assert "113100" in codes
        assert not any(elem.tag.is_private for elem in ds.iterall())
        assert str(ds.SOPInstanceUID) not in old_uids
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert "PatientAge" not in ds and ds.PatientBirthDate == ""
    ecg = next(ds for ds in written if ds.Modality == "ECG")
    assert ecg.StudyDate < "20130125"  # shifted back, not removed
    assert ecg.waveform_array(0).shape == (10000, 12)


def test_ages_over_89_are_published_as_90_plus(tmp_path):
    source = tmp_path / "old"
    copy_record("test01_00s", source)
    header = source / "test01_00s.hea"
    header.write_text(header.read_text().replace("<age>: 25", "<age>: 93"))
    out = ingest(source, tmp_path / "out", **LEGAL).out_dir
    row = pd.read_csv(out / "features.csv").iloc[0]
    assert (row["age"], row["age_band"]) == (90, "90+")
    written = next((out / "records").glob("*.hea")).read_text()
    assert "93" not in written and "age_band: 90+" in written


def test_output_folder_that_exists_is_refused_and_left_alone(tmp_path, real_source):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code = main(["ingest", str(real_source), "-o", str(out), *CLI_LEGAL])
    assert code == 2
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


@pytest.mark.parametrize(
    ("bases", "message"),
    [
        (["A6-1-e"], "Art. 9(2) condition"),
        (["A9-2-j"], "Art. 6(1) lawful basis"),
        (["A7-1"], "not a GDPR Art. 6(1) or 9(2) basis"),
    ],
    ids=["art9-missing", "art6-missing", "not-a-basis"],
)
def test_cli_refuses_an_incomplete_legal_basis(tmp_path, capsys, bases, message):
    args = ["ingest", str(PHYSIONET / "test01_00s.hea"), "-o", str(tmp_path / "o")]
    for basis in bases:
        args += ["--legal-basis", basis]
    assert main(args + ["--purpose", "ScientificResearch"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_cli_accepts_full_dpv_iris(tmp_path, capsys):
    args = [
        "ingest", str(PHYSIONET / "test01_00s.hea"), "-o", str(tmp_path / "o"),
        "--legal-basis", "https://w3id.org/dpv/legal/eu/gdpr#A6-1-a",
        "--legal-basis", "https://w3id.org/dpv/legal/eu/gdpr#A9-2-a",
        "--purpose", "https://w3id.org/dpv#AcademicResearch",
    ]  # fmt: skip
    assert main(args) == 0
    assert "1 ECG records" in capsys.readouterr().out
