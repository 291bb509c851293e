"""SCP-ECG statements as PTB-XL codes them, and their diagnostic superclasses.

The statement table is PTB-XL's ``scp_statements.csv`` (Wagner et al., Sci
Data 7:154, 2020; CC BY 4.0), bundled so that ingest runs offline.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources
from pathlib import Path

from engine.ingest.errors import InvalidTable

SUPERCLASSES = ("NORM", "MI", "STTC", "CD", "HYP")


@cache
def bundled_statements() -> dict[str, str]:
    """SCP code -> diagnostic superclass ('' for form and rhythm statements)."""
    path = resources.files("engine.ingest") / "data" / "scp_statements.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return _parse(handle, "scp_statements.csv")


def read_statements(path: Path) -> dict[str, str]:
    """Read a source's own ``scp_statements.csv``.

    Raises
    ------
    InvalidTable
        When the file cannot be decoded or lacks a code column.
    """
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return _parse(handle, path)
    except UnicodeDecodeError as exc:
        raise InvalidTable(path, f"not UTF-8 text ({exc.reason})") from exc
    except OSError as exc:
        raise InvalidTable(path, f"cannot read ({exc.strerror})") from exc


def _parse(handle, name) -> dict[str, str]:
    reader = csv.reader(handle)
    header = next(reader, None)
    if not header or "diagnostic_class" not in header:
        raise InvalidTable(
            name, "expected PTB-XL scp_statements columns with 'diagnostic_class'"
        )
    column = header.index("diagnostic_class")
    table = {}
    for row in reader:
        if row and row[0].strip():
            table[row[0].strip()] = row[column].strip() if len(row) > column else ""
    if not table:
        raise InvalidTable(name, "no SCP statements in the table")
    return table


def superclasses(labels) -> list[str]:
    """Sorted diagnostic superclasses of the given SCP codes."""
    table = bundled_statements()
    found = {table.get(code, "") for code in labels}
    return [name for name in SUPERCLASSES if name in found]
