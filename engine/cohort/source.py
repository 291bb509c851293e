"""Reading a source's feature table and splitting it for fitting and the gate.

A source folder, as ``cardiofair ingest`` writes it, holds ``features.parquet``
(or ``features.csv``) with one row per record: ``record_id``, ``patient_id``,
``age`` and/or ``age_band``, ``sex``, ``heart_rate_bpm``, ``pr_ms``,
``qrs_ms``, ``qt_ms``, ``qtc_ms``, ``axis_deg`` and ``labels`` (SCP codes
joined by ``;``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from engine.cohort.classes import primary_class
from engine.cohort.spec import FEATURE_UNITS

log = logging.getLogger(__name__)

REQUIRED = ("sex", "labels", *FEATURE_UNITS)


class SourceError(ValueError):
    """A source folder or feature table cannot be used; names the file."""


def feature_file(source: str | Path) -> Path:
    """The feature table of a source folder (Parquet preferred) or the file itself.

    Raises
    ------
    SourceError
        If neither ``features.parquet`` nor ``features.csv`` exists.
    """
    source = Path(source)
    if source.is_file():
        return source
    for name in ("features.parquet", "features.csv"):
        if (source / name).is_file():
            return source / name
    if not source.exists():
        raise SourceError(f"{source}: no such folder; expected an ingested source")
    raise SourceError(
        f"{source}: no features.parquet or features.csv; expected the folder "
        "written by `cardiofair ingest`"
    )


def read_features(source: str | Path) -> tuple[pd.DataFrame, Path]:
    """Read and check a source's feature table.

    Returns
    -------
    table : DataFrame
        The rows, with numeric feature columns as float (NaN where unknown).
    path : Path
        The file read.

    Raises
    ------
    SourceError
        If the file cannot be read, lacks a required column or a column has
        values of the wrong kind.
    """
    path = feature_file(source)
    try:
        if path.suffix == ".parquet":
            table = pd.read_parquet(path)
        else:
            table = pd.read_csv(path, dtype={"labels": str, "sex": str})
    except Exception as exc:  # pyarrow and the CSV parser raise many kinds
        raise SourceError(
            f"{path}: cannot be read as a feature table ({exc})"
        ) from None
    missing = [c for c in REQUIRED if c not in table.columns]
    if "age" not in table.columns and "age_band" not in table.columns:
        missing.append("age or age_band")
    if missing:
        raise SourceError(
            f"{path}: missing column '{missing[0]}'; expected {', '.join(REQUIRED)} "
            "and age or age_band"
        )
    for column in FEATURE_UNITS:
        try:
            table[column] = pd.to_numeric(table[column], errors="raise").astype(float)
        except (TypeError, ValueError):
            raise SourceError(
                f"{path}: column '{column}' holds non-numeric values; expected "
                f"numbers in {FEATURE_UNITS[column]}"
            ) from None
    if table.empty:
        raise SourceError(f"{path}: the feature table has no rows")
    return table, path


def with_primary_class(table: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Rows that have a simulable class, with that class in column ``class``.

    Returns
    -------
    table : DataFrame
        The kept rows (index reset).
    excluded : int
        Rows none of whose labels the engine can simulate.
    """
    codes = table["labels"].fillna("").map(primary_class)
    keep = codes != ""
    out = table.loc[keep].copy()
    out["class"] = codes[keep].to_numpy()
    return out.reset_index(drop=True), int((~keep).sum())


@dataclass
class Split:
    """The training rows a spec is fitted on and the control rows it never sees.

    ``len(train) == len(control)``; records of one patient never fall on both
    sides. ``dropped`` counts rows left out to make the sizes equal.
    """

    train: pd.DataFrame
    control: pd.DataFrame
    dropped: int


def split_train_control(table: pd.DataFrame, seed: int) -> Split:
    """Split rows into equal-sized train and control halves by patient.

    Patients (``patient_id``, else ``record_id``, else the row) are shuffled
    with ``seed`` and dealt to the smaller side in turn; the larger side is
    then trimmed at random to the size of the smaller.
    """
    rng = np.random.default_rng(seed)
    key = next((c for c in ("patient_id", "record_id") if c in table.columns), None)
    groups = table[key].astype(str).to_numpy() if key else np.arange(len(table))
    unique = np.unique(groups)
    order = rng.permutation(len(unique))
    sides = {True: [], False: []}
    sizes = {True: 0, False: 0}
    counts = pd.Series(groups).value_counts()
    for patient in unique[order]:
        side = sizes[True] <= sizes[False]
        sides[side].append(patient)
        sizes[side] += int(counts[patient])
    train = table[np.isin(groups, sides[True])]
    control = table[np.isin(groups, sides[False])]
    size = min(len(train), len(control))
    dropped = len(train) + len(control) - 2 * size
    train = train.sample(n=size, random_state=rng.integers(2**31)).sort_index()
    control = control.sample(n=size, random_state=rng.integers(2**31)).sort_index()
    return Split(train.reset_index(drop=True), control.reset_index(drop=True), dropped)
