"""The PTB-XL layout: ``ptbxl_database.csv``, ``scp_statements.csv`` and the
WFDB records under ``records100/`` and ``records500/``.

Only age, sex and the SCP-ECG codes are taken from the database; the report
text, dates, nurse, site, device, height and weight are not carried over.
PTB-XL codes sex as 0 for male and 1 for female and writes 300 for ages over
89. The 500 Hz record is read when present, the 100 Hz one otherwise.
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from engine.ingest.demographics import parse_age
from engine.ingest.errors import IngestError, InvalidTable
from engine.ingest.labels import read_statements
from engine.ingest.record import EcgRecord
from engine.ingest.wfdb_reader import read_wfdb

log = logging.getLogger(__name__)

DATABASE = "ptbxl_database.csv"
STATEMENTS = "scp_statements.csv"
REQUIRED = ("ecg_id", "patient_id", "age", "sex", "scp_codes", "filename_hr")
SEX_CODES = {"0": "M", "1": "F"}


def is_ptbxl_root(folder: Path) -> bool:
    return (folder / DATABASE).is_file()


def read_database(root: Path) -> pd.DataFrame:
    """Read and check ``ptbxl_database.csv``.

    Raises
    ------
    InvalidTable
        When the file is not UTF-8 CSV, is empty, or lacks a required column.
    """
    path = root / DATABASE
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except UnicodeDecodeError as exc:
        raise InvalidTable(path, f"not UTF-8 text ({exc.reason})") from exc
    except pd.errors.EmptyDataError as exc:
        raise InvalidTable(path, "empty file; expected PTB-XL's CSV header") from exc
    except (pd.errors.ParserError, ValueError) as exc:
        raise InvalidTable(path, f"unreadable CSV ({exc})") from exc
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise InvalidTable(
            path, f"missing columns {missing}; expected PTB-XL's {list(REQUIRED)}"
        )
    if table.empty:
        raise InvalidTable(path, "no rows")
    return table


def read_ptbxl(root: str | Path) -> Iterator[EcgRecord | IngestError]:
    """Read a PTB-XL folder, yielding a record or an error for each row.

    Raises
    ------
    InvalidTable
        When the database or the statements table cannot be used at all.
    """
    root = Path(root)
    table = read_database(root)
    statements = read_statements(root / STATEMENTS)
    for _, row in table.iterrows():
        try:
            yield _read_row(root, row, statements)
        except IngestError as exc:
            yield exc


def _read_row(root: Path, row, statements: dict[str, str]) -> EcgRecord:
    where = f"{root / DATABASE} (ecg_id {row['ecg_id']})"
    codes = _scp_codes(where, row["scp_codes"], statements)
    header = _record_header(root, row)
    if header is None:
        raise InvalidTable(where, "record file named in filename_hr/lr not found")
    record = read_wfdb(header, source_format="ptbxl")
    record.patient_key = f"ptbxl:{row['patient_id']}"
    record.age_years = parse_age(row["age"]) if row["age"] else None
    record.sex = SEX_CODES.get(row["sex"].strip().split(".")[0])
    record.labels = tuple(sorted(codes))
    record.deid_actions.append(
        "database columns other than age, sex and scp_codes not carried over"
    )
    return record


def _scp_codes(where: str, text: str, statements: dict[str, str]) -> dict:
    try:
        codes = ast.literal_eval(text)
    except (ValueError, SyntaxError) as exc:
        raise InvalidTable(
            where, "scp_codes is not a dictionary like {'NORM': 100.0}"
        ) from exc
    if not isinstance(codes, dict):
        raise InvalidTable(where, "scp_codes is not a dictionary like {'NORM': 100.0}")
    unknown = sorted(str(c) for c in codes if c not in statements)
    if unknown:
        raise InvalidTable(
            where, f"unknown SCP codes {unknown}; expected codes of scp_statements.csv"
        )
    return codes


def _record_header(root: Path, row) -> Path | None:
    for column in ("filename_hr", "filename_lr"):
        name = str(row.get(column, "") or "").strip()
        if name and (root / f"{name}.hea").is_file():
            return root / f"{name}.hea"
    return None
