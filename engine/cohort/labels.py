"""SCP-ECG statements as PTB-XL uses them: the labels of synthetic records.

``engine/ingest/data/scp_statements.csv`` is PTB-XL 1.0's
``scp_statements.csv`` (Wagner et al., Sci Data 7:154, 2020; CC BY 4.0),
copied verbatim.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

# One copy of the table for the whole engine, beside the ingest that reads it.
_TABLE = Path(__file__).parents[1] / "ingest" / "data" / "scp_statements.csv"


@cache
def statements() -> dict[str, dict[str, str]]:
    """Every SCP-ECG statement code with its row of the PTB-XL table."""
    with _TABLE.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        code_column = reader.fieldnames[0]
        return {row[code_column]: row for row in reader}


def diagnostic_class(code: str) -> str:
    """The diagnostic superclass (NORM, MI, STTC, CD, HYP) of ``code``, or ""."""
    return statements().get(code, {}).get("diagnostic_class", "")


def description(code: str) -> str:
    """The plain-language description of ``code``."""
    return statements()[code]["description"]
