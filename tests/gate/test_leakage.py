"""The metadata-leakage scan: each rule fires where it should, and only there."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog.gate.leakage import (
    LeakageInputError,
    scan_dicom,
    scan_files,
    scan_metadata,
    scan_release,
    scan_table,
    scan_text,
    scan_wfdb_header,
)
from tests.gate.conftest import CLEAN_RECORD, DATA

K = 11


def _high_rules(findings) -> set[str]:
    return {f.rule for f in findings if f.severity == "high"}


@pytest.mark.parametrize("record", ["100", "s0010_re", "test01_00s"])
def test_each_real_physionet_header_alone_is_a_high_finding(record, tmp_path):
    shutil.copy(DATA / "physionet" / f"{record}.hea", tmp_path)
    findings = scan_files(tmp_path, K)
    assert "wfdb.comment-demographics" in _high_rules(findings)
    assert all(f.where.startswith(f"{record}.hea") for f in findings)


def test_the_ptb_header_shows_dates_clinical_history_and_line_numbers():
    findings = scan_wfdb_header(DATA / "physionet" / "s0010_re.hea", "s0010_re.hea", K)
    by_rule = {f.rule: f for f in findings}
    assert by_rule["wfdb.comment-date"].where == (
        "s0010_re.hea lines 20, 29, 34, 59-61"
    )
    assert "wfdb.comment-clinical" in by_rule
    assert "01/10/1990" not in by_rule["wfdb.comment-date"].evidence


def test_a_wfdb_base_date_on_the_record_line_blocks(tmp_path):
    header = tmp_path / "rec.hea"
    header.write_text(
        "rec 1 500 5000 10:31:07 14/03/2021\nrec.dat 16 200 16 0 0 0 0 I\n"
    )
    rules = {f.rule: f.severity for f in scan_wfdb_header(header, "rec.hea", K)}
    assert rules == {"wfdb.base-date": "high", "wfdb.base-time": "medium"}


def test_a_header_describing_signals_only_is_clean(tmp_path):
    header = tmp_path / "syn.hea"
    header.write_text(
        "syn 2 500 5000\nsyn.dat 16 200 16 0 0 0 0 I\nsyn.dat 16 200 16 0 0 0 0 II\n"
    )
    assert scan_wfdb_header(header, "syn.hea", K) == []


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("ECGs of Mrs. Jane Holloway, aged 71", "identifier.person-name"),
        ("recorded from patient John Carver in 2019", "identifier.person-name"),
        ("write to j.carver@hospital.example for access", "identifier.email"),
        ("call +49 30 1234 5678", "identifier.phone"),
        ("MRN: 00482913", "identifier.record-number"),
        ("lives at 12 Elm Grove Road", "identifier.address"),
        ("postcode SW1A 1AA", "quasi.small-area"),
        ("recorded at lat 52.52001, lon 13.40495", "quasi.small-area"),
        ("admitted on 2021-03-14", "quasi.exact-date"),
        ("admission 29-Sep-90", "quasi.exact-date"),
        ("seen on March 14, 2021", "quasi.exact-date"),
        ("a 94-year-old woman", "quasi.age-over-89"),
        ("3 patients had a pacemaker", "count.small"),
        ("(n = 7)", "count.small"),
    ],
)
def test_text_rules_fire_on_planted_identifiers(text, rule):
    assert rule in _high_rules(scan_text(text, "$.description", K))


@pytest.mark.parametrize(
    "text",
    [
        "Virtual patients from a cohort model; QT 380-460 ms, rate 50-100 bpm.",
        "Recorded between 2019 and 2023 in 1,500 adults.",
        "12 leads at 500 Hz, 10 s per record, 1000-2000 samples",
        "11 patients or more per cell",
        "waveforms of SOP class 1.2.840.10008.5.1.4.1.1.9.1.1",
        "AUC 0.912 and 0.874 on 1,003 patients",
    ],
)
def test_ordinary_descriptions_raise_nothing(text):
    assert list(scan_text(text, "$.description", K)) == []


def test_clean_metadata_has_no_high_finding():
    assert _high_rules(scan_metadata(CLEAN_RECORD, K)) == set()


def test_authors_and_the_record_timestamps_are_not_leaks():
    record = {
        "dct:creator": [{"foaf:name": "Dr. Ada Researcher", "foaf:mbox": "a@b.org"}],
        "dcat:contactPoint": {"vcard:hasTelephone": "+49 30 1234 5678"},
        "dct:issued": "2026-11-30",
        "dct:modified": "2026-12-01T10:00:00Z",
    }
    assert scan_metadata(record, K) == []


def test_nested_paths_name_the_field():
    record = {"distribution": [{"dct:description": "ECG of Mr. Paul Brandt"}]}
    (finding,) = scan_metadata(record, K)
    assert finding.where == "metadata $.distribution[0].dct:description"
    assert finding.fix


def test_a_published_count_of_3_and_a_unique_combination_block():
    record = {
        "populationStatistics": [
            {"sex": "F", "ageGroup": "80-89", "diagnosis": "CLBBB", "count": 1},
            {"sex": "M", "ageGroup": "80-89", "count": 3},
            {"sex": "M", "ageGroup": "18-64", "count": 400},
        ]
    }
    findings = scan_metadata(record, K)
    assert [(f.where, f.rule) for f in findings] == [
        ("metadata $.populationStatistics[0].count", "count.unique-combination"),
        ("metadata $.populationStatistics[1].count", "count.small"),
    ]


def test_source_record_ids_in_provenance_block():
    record = {
        "prov:wasDerivedFrom": [
            {"@id": "https://physionet.org/content/ptbdb/1.0.0/patient001/s0010_re"}
        ]
    }
    assert "provenance.source-record-id" in _high_rules(scan_metadata(record, K))


def test_ages_over_89_in_fields_and_columns_block():
    assert "quasi.age-over-89" in _high_rules(scan_metadata({"maxAge": 97}, K))
    table = pd.DataFrame({"age": [45, 71, 93], "qt_ms": [400, 410, 420]})
    assert _high_rules(scan_table(table, "features.csv", K)) == {"quasi.age-over-89"}
    top_coded = pd.DataFrame({"age": [45, 71, 90], "qt_ms": [400, 410, 420]})
    assert _high_rules(scan_table(top_coded, "features.csv", K)) == set()


def test_identifier_columns_and_values_in_tables_block():
    table = pd.DataFrame(
        {
            "patient_name": ["A B", "C D"],
            "note": ["contact x@y.org", "fine"],
            "admission_date": ["2021-03-14", "2021-04-02"],
        }
    )
    findings = scan_table(table, "extra.csv", K)
    assert {(f.where, f.rule) for f in findings} >= {
        ("extra.csv column 'patient_name'", "identifier.column"),
        ("extra.csv column 'note'", "identifier.email"),
        ("extra.csv column 'admission_date'", "quasi.exact-date"),
    }


def test_dicom_attributes_follow_the_annex_e_basic_profile(tmp_path):
    pydicom = pytest.importorskip("pydicom")
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.9.1.1"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    path = tmp_path / "ecg.dcm"
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.PatientName = "Holloway^Jane"
    ds.PatientBirthDate = "19500314"
    ds.StudyDate = "20210314"
    ds.PatientSex = "F"
    ds.save_as(path, enforce_file_format=True)
    assert pydicom.dcmread(path).PatientName == "Holloway^Jane"
    by_rule = {f.rule: f for f in scan_dicom(path, "ecg.dcm")}
    assert by_rule["dicom.PatientName"].severity == "high"
    assert "action Z" in by_rule["dicom.PatientName"].fix
    assert by_rule["dicom.PatientSex"].severity == "medium"
    assert "dicom.deidentification-not-recorded" in by_rule
    assert "Holloway" not in by_rule["dicom.PatientName"].evidence


def test_a_release_folder_is_scanned_by_file_kind(tmp_path):
    (tmp_path / "records").mkdir()
    shutil.copy(DATA / "physionet" / "100.hea", tmp_path / "records")
    (tmp_path / "records" / "100.dat").write_bytes(b"\x00\x01" * 50)
    (tmp_path / "README.md").write_text("Contact: jane@hospital.example\n")
    (tmp_path / "record.jsonld").write_text(json.dumps({"description": "n = 4"}))
    findings = scan_release(files_dir=tmp_path, k=K)
    wheres = {f.where.split(" ")[0] for f in findings}
    assert wheres == {"records/100.hea", "README.md", "record.jsonld"}
    assert findings[0].severity == "high"


def test_unreadable_inputs_are_named(tmp_path):
    with pytest.raises(LeakageInputError, match="no such folder"):
        scan_files(tmp_path / "missing", K)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(LeakageInputError, match=r"bad.json: not valid JSON"):
        scan_files(tmp_path, K)


@given(st.text(max_size=300))
def test_any_text_is_scanned_without_error_and_evidence_is_masked(text):
    for finding in scan_text(text, "$.x", K):
        assert finding.severity in ("high", "medium", "low")
        assert len(finding.evidence) <= 80


def test_creators_with_their_orcid_are_expected_in_metadata():
    record = {
        "creators": [
            {
                "name": "Josiah Carberry",
                "orcid": "0000-0002-1825-0097",
                "affiliation": "Brown University",
            }
        ]
    }
    assert scan_metadata(record, K) == []
    leaked = {"description": "Call the patient on 0000-0002-1825-0097."}
    assert [f.rule for f in scan_metadata(leaked, K)] == ["identifier.phone"]
