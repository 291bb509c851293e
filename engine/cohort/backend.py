"""The one place where cohort code calls the engine.

A patient row (class, mapped parameters, seed) becomes engine parameter
overrides in three layers, later ones winning:

1. every parameter with a prior spread is drawn from the engine's default
   (healthy) prior, ``normal(default, prior_sd)`` clipped to its range, with
   a generator seeded by the patient's ``engine_seed``: anatomy, torso and
   conduction details differ between patients as they do between people;
2. the spec's fixed ``[engine] options`` (such as ``grid_spacing_mm``) and
   the class's pathology (:data:`engine.cohort.classes.PATHOLOGY`);
3. the parameters the calibrated mapping chose for the patient's targets.

Each patient's parameters are validated on their own, so one invalid patient
is reported and the others are simulated.
"""

from __future__ import annotations

import logging
import math
from functools import cache

import numpy as np
import pandas as pd

from engine.cohort.classes import PATHOLOGY
from engine.cohort.measure import Simulated
from engine.cohort.spec import CohortSpec

log = logging.getLogger(__name__)

FIDUCIAL_ORDER = ("p_onset", "p_offset", "qrs_onset", "qrs_offset", "t_end")
BEAT_TYPES = np.array(["N", "V"])


@cache
def parameter_table() -> dict[str, tuple]:
    """Engine parameters: name to (unit, default, min, max, prior_sd, integer)."""
    from engine import _core

    return {row[0]: tuple(row[1:7]) for row in _core.parameter_specs()}


def prior_draw(seed: int, skip: set[str]) -> dict[str, float]:
    """Parameters drawn from the engine's default prior for one patient."""
    rng = np.random.default_rng([int(seed), 1])
    out = {}
    for name, (_, default, low, high, sd, integer) in parameter_table().items():
        if sd <= 0 or integer:
            continue
        value = float(np.clip(rng.normal(default, sd), low, high))
        if name not in skip:
            out[name] = value
    return out


def patient_overrides(spec: CohortSpec, row: pd.Series) -> dict[str, float]:
    """Engine parameter overrides of one patient row (see module docstring)."""
    mapped = {}
    for column, value in row.items():
        if column.startswith("param_") and math.isfinite(float(value)):
            mapped[column.removeprefix("param_")] = float(value)
    fixed = {**spec.engine_options, **PATHOLOGY.get(row["labels"], {})}
    overrides = prior_draw(int(row["engine_seed"]), set(fixed) | set(mapped))
    overrides.update(fixed)
    overrides.update(mapped)
    return overrides


def _to_simulated(result: dict, fs: int) -> Simulated:
    fiducials = np.asarray(result["fiducials"])
    return Simulated(
        signal=np.asarray(result["signals"]),
        fs=fs,
        fiducials={name: fiducials[:, i] for i, name in enumerate(FIDUCIAL_ORDER)},
        beat_types=BEAT_TYPES[np.asarray(result["beat_type"], dtype=int)],
    )


def simulate_rows(spec: CohortSpec, rows: pd.DataFrame, threads: int) -> list:
    """Simulate patient rows with the engine on ``threads`` threads.

    Returns
    -------
    list
        One :class:`Simulated` per row, in order, or the ``ValueError`` the
        engine raised for that row's parameters.
    """
    from engine import _core

    out: list = [None] * len(rows)
    valid, overrides, seeds = [], [], []
    for i, (_, row) in enumerate(rows.iterrows()):
        params = patient_overrides(spec, row)
        try:
            _core.validate_parameters(params)
        except ValueError as exc:
            out[i] = ValueError(f"{row['record']}: {exc}")
            continue
        valid.append(i)
        overrides.append(params)
        seeds.append(int(row["engine_seed"]))
    if valid:
        results = _core.simulate_batch(
            overrides, seeds, spec.duration_s, float(spec.fs_hz), threads
        )
        for i, result in zip(valid, results, strict=True):
            out[i] = _to_simulated(result, spec.fs_hz)
    return out
