"""A corpus of broken inputs: each gives one clear line, the batch goes on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from catalog.cli import main
from engine.ingest.pipeline import ingest
from tests.ingest.conftest import CLI_LEGAL, LEGAL, build_ptbxl, copy_record


def _record(folder: Path) -> Path:
    return copy_record("test01_00s", folder)


def _edit_header(folder: Path, old: str, new: str) -> Path:
    header = _record(folder)
    header.write_text(header.read_text().replace(old, new, 1))
    return header


def truncated_dat(folder):
    _record(folder)
    data = folder / "test01_00s.dat"
    data.write_bytes(data.read_bytes()[:16000])
    return data


def longer_dat(folder):
    _record(folder)
    data = folder / "test01_00s.dat"
    data.write_bytes(data.read_bytes() + bytes(4000))
    return data


def header_longer_than_file(folder):
    _edit_header(folder, "500 4000", "500 5000")
    return folder / "test01_00s.dat"


def unknown_format(folder):
    return _edit_header(folder, ".dat 16 ", ".dat 17 ")


def format_212_over_16_bit_data(folder):
    header = _record(folder)
    header.write_text(header.read_text().replace(".dat 16 ", ".dat 212 "))
    return folder / "test01_00s.dat"


def checksum_mismatch(folder):
    _record(folder)
    data = folder / "test01_00s.dat"
    content = bytearray(data.read_bytes())
    content[100] ^= 0x40
    data.write_bytes(bytes(content))
    return folder / "test01_00s.hea"


def missing_dat(folder):
    _record(folder)
    (folder / "test01_00s.dat").unlink()
    return folder / "test01_00s.dat"


def garbage_header(folder):
    header = folder / "noise.hea"
    header.write_text("this is not\na WFDB header at all\n")
    return header


def empty_header(folder):
    header = folder / "blank.hea"
    header.write_text("")
    return header


def zero_rate(folder):
    return _edit_header(folder, "test01_00s 4 500 4000", "test01_00s 4 0 4000")


def no_signals(folder):
    header = folder / "nosig.hea"
    header.write_text("nosig 0 500 4000\n")
    return header


def orphan_dat(folder):
    data = folder / "lonely.dat"
    data.write_bytes(bytes(800))
    return data


def empty_folder(folder):
    return folder


def random_bytes_dcm(folder):
    path = folder / "noise.dcm"
    path.write_bytes(b"\x00\x13garbage" * 50)
    return path


def empty_dcm(folder):
    path = folder / "zero.dcm"
    path.write_bytes(b"")
    return path


def truncated_dicom(folder):
    path = folder / "cut.dcm"
    data = Path(get_testdata_file("waveform_ecg.dcm")).read_bytes()
    path.write_bytes(data[:2000])
    return path


def _save(ds: Dataset, path: Path, sop_class: str) -> Path:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.save_as(path, enforce_file_format=True)
    return path


def dicom_without_sop_class(folder):
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    del ds.SOPClassUID
    path = folder / "nosop.dcm"
    ds.save_as(path)
    return path


def unsupported_sop_class(folder):
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"  # Basic Text SR
    ds.SOPInstanceUID = generate_uid()
    ds.PatientName = "Doe^Jane"
    return _save(ds, folder / "report.dcm", ds.SOPClassUID)


def burned_in_annotation(folder):
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.BurnedInAnnotation = "YES"
    path = folder / "burned.dcm"
    ds.save_as(path)
    return path


def waveform_without_samples(folder):
    ds = pydicom.dcmread(get_testdata_file("waveform_ecg.dcm"))
    del ds.WaveformSequence
    path = folder / "nowave.dcm"
    ds.save_as(path)
    return path


def _ptbxl(folder) -> Path:
    return build_ptbxl(folder / "ptbxl")


def csv_not_utf8(folder):
    root = _ptbxl(folder)
    (root / "ptbxl_database.csv").write_bytes(
        b"ecg_id,age\n\xff\xfe\x00\x81,\xc3\x28\n"
    )
    return root / "ptbxl_database.csv"


def csv_missing_columns(folder):
    root = _ptbxl(folder)
    (root / "ptbxl_database.csv").write_text("ecg_id,age\n1,56\n")
    return root / "ptbxl_database.csv"


def csv_empty(folder):
    root = _ptbxl(folder)
    (root / "ptbxl_database.csv").write_text("")
    return root / "ptbxl_database.csv"


def csv_ragged(folder):
    root = _ptbxl(folder)
    database = root / "ptbxl_database.csv"
    database.write_text(database.read_text() + '3,"unclosed,quote\n4,5,6,7\n')
    return database


def _ptbxl_row(folder, **changes) -> Path:
    row = {"scp_codes": "{'NORM': 100.0}", "ecg_id": 1}
    row.update(changes)
    codes = row["scp_codes"]
    rows = [(row["ecg_id"], 1.0, "56.0", "1", codes, "text")]
    root = build_ptbxl(folder / "ptbxl", rows=rows)
    if changes.get("drop_record"):
        shutil.rmtree(root / "records500")
        shutil.rmtree(root / "records100")
    return root / "ptbxl_database.csv"


def unknown_scp_code(folder):
    return _ptbxl_row(folder, scp_codes="{'NOTACODE': 100.0}")


def malformed_scp_codes(folder):
    return _ptbxl_row(folder, scp_codes="NORM=100")


def ptbxl_record_missing(folder):
    return _ptbxl_row(folder, drop_record=True)


def statements_missing(folder):
    root = _ptbxl(folder)
    (root / "scp_statements.csv").unlink()
    return root / "scp_statements.csv"


BROKEN = [
    (truncated_dat, "truncated signal file"),
    (longer_dat, "header disagrees with signal file"),
    (header_longer_than_file, "truncated signal file"),
    (unknown_format, "unknown storage format '17'"),
    (format_212_over_16_bit_data, "header disagrees with signal file"),
    (checksum_mismatch, "checksum of signal"),
    (missing_dat, "signal file named in the header is missing"),
    (garbage_header, "malformed WFDB header"),
    (empty_header, "malformed WFDB header"),
    (zero_rate, "sampling frequency must be positive"),
    (no_signals, "header declares no signals"),
    (orphan_dat, "signal file without a WFDB header"),
    (empty_folder, "empty folder"),
    (random_bytes_dcm, "not a DICOM file"),
    (empty_dcm, "not a DICOM file"),
    (truncated_dicom, "corrupt DICOM data"),
    (dicom_without_sop_class, "missing SOP Class"),
    (unsupported_sop_class, "unsupported SOP class"),
    (burned_in_annotation, "burned-in annotation"),
    (waveform_without_samples, "without WaveformSequence"),
    (csv_not_utf8, "not UTF-8"),
    (csv_missing_columns, "missing columns"),
    (csv_empty, "empty file"),
    (csv_ragged, "unreadable CSV"),
    (unknown_scp_code, "unknown SCP codes ['NOTACODE']"),
    (malformed_scp_codes, "scp_codes is not a dictionary"),
    (ptbxl_record_missing, "record file named in filename_hr/lr not found"),
    (statements_missing, "cannot read"),
]


def _batch_with_one_good_record(tmp_path, make) -> tuple[Path, Path]:
    batch = tmp_path / "batch"
    copy_record("100", batch / "good")
    broken = batch / "broken"
    broken.mkdir(parents=True)
    return batch, make(broken)


@pytest.mark.parametrize(
    ("make", "message"), BROKEN, ids=[make.__name__ for make, _ in BROKEN]
)
def test_broken_input_gives_one_line_and_the_batch_goes_on(tmp_path, make, message):
    batch, culprit = _batch_with_one_good_record(tmp_path, make)
    result = ingest(batch, tmp_path / "out", **LEGAL)
    assert result.n_records == 1
    assert len(result.problems) == 1
    line = str(result.problems[0])
    assert line.startswith(str(culprit)), line
    assert message in line
    assert "\n" not in line and "Traceback" not in line


def test_corpus_in_one_batch_reports_every_file_and_leaves_nothing_partial(
    tmp_path, capsys
):
    batch = tmp_path / "batch"
    copy_record("100", batch / "good")
    culprits = []
    for make, _ in BROKEN:
        folder = batch / make.__name__
        folder.mkdir(parents=True)
        culprits.append(str(make(folder)))
    args = ["ingest", str(batch), "-o", str(tmp_path / "out"), *CLI_LEGAL]
    assert main(args) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == len(BROKEN) >= 20
    for culprit in culprits:
        assert sum(culprit in line for line in lines) == 1, culprit
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch", "out"]


def test_batch_of_only_broken_inputs_writes_nothing(tmp_path, capsys):
    batch = tmp_path / "batch"
    for make in (truncated_dat, random_bytes_dcm):
        folder = batch / make.__name__
        folder.mkdir(parents=True)
        make(folder)
    args = ["ingest", str(batch), "-o", str(tmp_path / "out"), *CLI_LEGAL]
    assert main(args) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and "no usable input" in lines[-1]
    assert [p.name for p in tmp_path.iterdir()] == ["batch"]
