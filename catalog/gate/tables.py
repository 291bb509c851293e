"""Feature tables the gate compares: reading, checking and column roles.

The gate works on feature tables with one row per patient (age, sex, heart
rate, PR, QRS, QT, QTc, axis, labels ...). Three tables take part: the real
rows the generator was fitted on (``real_train``, anonymeter's *ori*), real
rows it never saw (``control``) and the ``synthetic`` rows to be published.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

#: Column names that describe a person's demographics rather than the heart.
DEMOGRAPHIC_NAMES = re.compile(
    r"^(age|age_?years|sex|gender|race|ethnicity|ethnic_group|height(_cm)?"
    r"|weight(_kg)?|bmi|country|region|site)$",
    re.IGNORECASE,
)

#: A numeric column with at most this many distinct values is a category.
MAX_CODES = 20


class GateInputError(ValueError):
    """A table, column or argument given to the gate is not usable."""


@dataclass(frozen=True)
class Columns:
    """Roles of the columns shared by the three tables.

    Attributes
    ----------
    numeric : list of str
        Columns compared as numbers (intervals in ms, age in years ...).
    categorical : list of str
        Columns compared by equality (sex, diagnosis labels, small codes).
    demographics : list of str
        Auxiliary columns an attacker is assumed to know about a person.
    clinical : list of str
        The remaining auxiliary columns (the ECG features).
    secrets : list of str
        Sensitive columns whose values an inference attack tries to learn.
    """

    numeric: list[str]
    categorical: list[str]
    demographics: list[str]
    clinical: list[str]
    secrets: list[str]

    @property
    def all(self) -> list[str]:
        return self.numeric + self.categorical


def read_table(path: str | Path, role: str) -> pd.DataFrame:
    """Read a CSV or Parquet feature table.

    Parameters
    ----------
    path : str or Path
        A ``.csv`` or ``.parquet`` file with a header row.
    role : str
        What the table is (``real``, ``control``, ``synthetic``), for messages.

    Raises
    ------
    GateInputError
        If the file is missing, unreadable, empty or not CSV/Parquet.
    """
    path = Path(path)
    if not path.is_file():
        raise GateInputError(f"{role} table {path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            table = pd.read_parquet(path)
        elif suffix in (".csv", ".tsv", ".txt"):
            table = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
        else:
            raise GateInputError(
                f"{role} table {path}: expected a .csv or .parquet file"
            )
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        if isinstance(exc, GateInputError):
            raise
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise GateInputError(
            f"{role} table {path}: cannot be read ({reason}); expected a CSV "
            "file with a header row or a Parquet file"
        ) from None
    log.debug("read %s table %s: %d rows, %d columns", role, path, *table.shape)
    return table


def check_tables(
    real_train: pd.DataFrame,
    control: pd.DataFrame,
    synthetic: pd.DataFrame,
    min_rows: int = 50,
) -> list[str]:
    """Check that the three tables can be compared, and name their columns.

    Parameters
    ----------
    real_train, control, synthetic : pandas.DataFrame
        The feature tables, one row per patient.
    min_rows : int
        Fewest rows each table must have for the attacks to mean anything.

    Returns
    -------
    list of str
        The shared columns, in the order of ``real_train``.

    Raises
    ------
    GateInputError
        If a table is too small, columns differ or a column is empty.
    """
    tables = {"real": real_train, "control": control, "synthetic": synthetic}
    for role, table in tables.items():
        if not isinstance(table, pd.DataFrame):
            raise GateInputError(
                f"{role} table: expected a pandas DataFrame, got {type(table).__name__}"
            )
        if len(table) < min_rows:
            raise GateInputError(
                f"{role} table has {len(table)} rows; expected at least {min_rows}"
            )
        duplicated = table.columns[table.columns.duplicated()].tolist()
        if duplicated:
            raise GateInputError(f"{role} table repeats columns {duplicated}")
    columns = [str(c) for c in real_train.columns]
    for role in ("control", "synthetic"):
        _same_columns(columns, [str(c) for c in tables[role].columns], role)
    for role, table in tables.items():
        empty = [c for c in table.columns if table[c].isna().all()]
        if empty:
            raise GateInputError(
                f"{role} table: columns {empty} hold no values; expected "
                "at least one value per column"
            )
    return columns


def _same_columns(expected: list[str], got: list[str], role: str) -> None:
    missing = [c for c in expected if c not in got]
    extra = [c for c in got if c not in expected]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"lacks {missing}")
        if extra:
            parts.append(f"has extra {extra}")
        raise GateInputError(
            f"{role} table {' and '.join(parts)}; expected the columns of the "
            "real table"
        )


def harmonise(
    tables: Sequence[pd.DataFrame], columns: list[str]
) -> tuple[list[pd.DataFrame], list[str], list[str]]:
    """Give the tables one dtype per column and split numbers from categories.

    A column is numeric when every table parses it as numbers and it has more
    than ``MAX_CODES`` distinct values; otherwise it is categorical and its
    values become strings (missing values stay missing).

    Returns
    -------
    tables : list of pandas.DataFrame
        Copies with a fresh ``RangeIndex`` and the shared columns only.
    numeric, categorical : list of str
        The column names of each kind.

    Raises
    ------
    GateInputError
        If a column is numeric in one table and text in another.
    """
    out = [t.loc[:, columns].reset_index(drop=True).copy() for t in tables]
    numeric, categorical = [], []
    for column in columns:
        kinds = [_is_number_column(t[column]) for t in out]
        if any(kinds) and not all(kinds):
            roles = ["real", "control", "synthetic"]
            text = [r for r, k in zip(roles, kinds, strict=False) if not k]
            raise GateInputError(
                f"column {column!r} holds numbers in some tables but text in "
                f"{text}; expected the same kind of value in every table"
            )
        distinct = pd.concat([t[column] for t in out]).nunique(dropna=True)
        if all(kinds) and distinct > MAX_CODES:
            numeric.append(column)
            for t in out:
                t[column] = pd.to_numeric(t[column]).astype(float)
            _finite(out, column)
        else:
            categorical.append(column)
            for t in out:
                t[column] = _as_text(t[column])
    return out, numeric, categorical


def _finite(tables: Sequence[pd.DataFrame], column: str) -> None:
    for role, table in zip(("real", "control", "synthetic"), tables, strict=False):
        if np.isinf(table[column].to_numpy()).any():
            raise GateInputError(
                f"{role} table: column {column!r} holds infinite values; expected "
                "finite numbers or empty cells"
            )


def _is_number_column(values: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(values):
        return False
    return bool(pd.api.types.is_numeric_dtype(values))


def _as_text(values: pd.Series) -> pd.Series:
    """Categories as strings; integral floats lose their ``.0``."""
    if pd.api.types.is_float_dtype(values):
        whole = values.dropna()
        if (whole == np.round(whole)).all():
            values = values.astype("Int64")
    text = values.astype("string").astype(object)
    return text.where(values.notna(), None)


def assign_roles(
    numeric: list[str],
    categorical: list[str],
    secrets: Iterable[str] | None = None,
    demographics: Iterable[str] | None = None,
) -> Columns:
    """Decide which columns are demographics, clinical features and secrets.

    Parameters
    ----------
    numeric, categorical : list of str
        The columns of each kind, from :func:`harmonise`.
    secrets : iterable of str, optional
        Sensitive columns marked by the maintainer. The categorical columns
        that are not demographics (the diagnosis labels) are always secrets.
    demographics : iterable of str, optional
        Columns an attacker is assumed to know; by default those named like
        age, sex, gender, ethnicity, height, weight.

    Raises
    ------
    GateInputError
        If a named column does not exist, or the roles leave an attack
        without auxiliary columns.
    """
    names = numeric + categorical
    if demographics is None:
        demo = [c for c in names if DEMOGRAPHIC_NAMES.match(c)]
    else:
        demo = _known(demographics, names, "demographic column")
    clinical = [c for c in names if c not in demo]
    labels = [c for c in categorical if c not in demo]
    marked = _known(secrets or [], names, "secret column")
    chosen = list(dict.fromkeys(labels + marked))
    if len(names) < 2:
        raise GateInputError(
            f"the tables share {len(names)} column; expected at least 2"
        )
    if not demo or not clinical:
        kind = "demographic" if not demo else "clinical"
        raise GateInputError(
            f"no {kind} columns among {names}; expected both demographics "
            "(age, sex ...) and clinical features for the linkability attack; "
            "name the demographics explicitly"
        )
    return Columns(numeric, categorical, demo, clinical, chosen)


def _known(requested: Iterable[str], names: list[str], what: str) -> list[str]:
    out = []
    for name in requested:
        if name not in names:
            raise GateInputError(
                f"{what} {name!r} is not in the tables; expected one of {names}"
            )
        out.append(name)
    return out
