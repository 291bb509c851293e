"""Real records and PTB-XL-shaped folders built from them."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest
import wfdb
from pydicom.data import get_testdata_file

from engine.ingest.pipeline import ingest

PHYSIONET = Path(__file__).parents[2] / "data" / "physionet"
RECORDS = ("100", "s0010_re", "test01_00s")
DICOM_FILES = ("waveform_ecg.dcm", "CT_small.dcm", "MR_small.dcm")
STATEMENTS = Path(__file__).parents[2] / "engine/ingest/data/scp_statements.csv"
LEGAL = dict(legal_basis=["A6-1-e", "A9-2-j"], purpose=["ScientificResearch"])
CLI_LEGAL = ["--legal-basis", "A6-1-e", "--legal-basis", "A9-2-j"]
CLI_LEGAL += ["--purpose", "ScientificResearch"]


def copy_record(name: str, folder: Path) -> Path:
    """Copy one real record's files into ``folder``; return its header path."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in PHYSIONET.glob(f"{name}.*"):
        shutil.copy(path, folder / path.name)
    return folder / f"{name}.hea"


@pytest.fixture(scope="session")
def real_source(tmp_path_factory) -> Path:
    """The three PhysioNet records and pydicom's ECG, CT and MR files."""
    folder = tmp_path_factory.mktemp("real") / "input"
    for name in RECORDS:
        copy_record(name, folder)
    for name in DICOM_FILES:
        shutil.copy(get_testdata_file(name), folder / name)
    return folder


@pytest.fixture(scope="session")
def ingested(real_source, tmp_path_factory):
    """One ingest of the real source, shared by the tests that read its output."""
    out = tmp_path_factory.mktemp("out") / "physionet"
    return ingest(real_source, out, **LEGAL)


def twelve_lead_signals() -> list[tuple[np.ndarray, float]]:
    """Two real 12-lead ECGs (mV, 1000 Hz, 10 s): PTB's s0010_re and the DICOM."""
    ptb = wfdb.rdrecord(
        str(PHYSIONET / "s0010_re"), sampto=10000, channels=list(range(12))
    )
    ds = pydicom.dcmread(get_testdata_file("waveform_ecg.dcm"))
    return [(ptb.p_signal, 1000.0), (ds.waveform_array(0) / 1000.0, 1000.0)]


LEADS = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]

PTBXL_ROWS = [
    # ecg_id, patient_id, age, sex, scp_codes, report
    (
        1,
        15709.0,
        "56.0",
        "1",
        "{'NORM': 100.0, 'SR': 0.0}",
        "sinusrhythmus normales ekg",
    ),
    (2, 13243.0, "300.0", "0", "{'IMI': 80.0, 'ABQRS': 0.0}", "inferiorer infarkt alt"),
]


def build_ptbxl(root: Path, rows=PTBXL_ROWS) -> Path:
    """A PTB-XL-shaped folder: database, statements, records100/ and records500/."""
    signals = twelve_lead_signals()
    entries = []
    for (ecg_id, patient, age, sex, codes, report), (signal, fs) in zip(
        rows, signals, strict=False
    ):
        name_hr = f"records500/00000/{ecg_id:05d}_hr"
        name_lr = f"records100/00000/{ecg_id:05d}_lr"
        for name, step in ((name_hr, 2), (name_lr, 10)):
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            wfdb.wrsamp(
                Path(name).name, fs=fs / step, units=["mV"] * 12, sig_name=LEADS,
                p_signal=signal[::step], fmt=["16"] * 12,
                write_dir=str((root / name).parent),
            )  # fmt: skip
        entries.append(
            {
                "ecg_id": ecg_id, "patient_id": patient, "age": age, "sex": sex,
                "height": "", "weight": "63.0", "nurse": "2.0", "site": "0.0",
                "device": "CS-12   E", "recording_date": "1984-11-09 09:17:34",
                "report": report, "scp_codes": codes, "heart_axis": "",
                "strat_fold": 3, "filename_lr": name_lr, "filename_hr": name_hr,
            }
        )  # fmt: skip
    pd.DataFrame(entries).to_csv(root / "ptbxl_database.csv", index=False)
    shutil.copy(STATEMENTS, root / "scp_statements.csv")
    return root
