"""The one place where cohort code calls the engine.

A patient row (class, mapped parameters, seed) becomes a
:class:`engine.VirtualPatient` in three layers, later ones winning:

1. every parameter with a prior spread is drawn from the engine's default
   (healthy) prior (:func:`engine.draw_patients`) with a generator seeded by
   the patient's ``engine_seed``: anatomy, torso and conduction details
   differ between patients as they do between people;
2. the spec's fixed ``[engine] options`` (such as ``grid_spacing_mm``), and
   over them the pathology of the patient's class (:data:`engine.PATHOLOGIES`,
   through :data:`engine.cohort.classes.ENGINE_PATHOLOGY`), which defines
   the class;
3. the parameters the calibrated mapping chose for the patient's targets.

Each patient is validated on its own, so an invalid patient is reported and
the others are simulated.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd

from engine.cohort.classes import ENGINE_PATHOLOGY
from engine.cohort.measure import FIDUCIALS, Simulated
from engine.cohort.spec import CohortSpec

log = logging.getLogger(__name__)

BEAT_TYPES = np.array(["N", "V"])


def virtual_patient(spec: CohortSpec, row: pd.Series):
    """The :class:`engine.VirtualPatient` of one patient row.

    Raises
    ------
    ValueError
        If a parameter is out of the engine's range (the message names it).
    """
    from engine.patient import PATHOLOGIES, draw_patients

    mapped = {}
    for column, value in row.items():
        if column.startswith("param_") and math.isfinite(float(value)):
            mapped[column.removeprefix("param_")] = float(value)
    rng = np.random.default_rng([int(row["engine_seed"]), 1])
    pathology = ENGINE_PATHOLOGY[row["labels"]]
    preset = PATHOLOGIES[pathology].overrides
    options = {k: v for k, v in spec.engine_options.items() if k not in preset}
    (patient,) = draw_patients(
        1, rng, pathologies=[pathology], overrides={**options, **mapped}
    )
    return patient


def _to_simulated(sim) -> Simulated:
    fiducials = np.asarray(sim.fiducials)
    return Simulated(
        signal=np.asarray(sim.signals),
        fs=int(sim.fs),
        fiducials={name: fiducials[:, i] for i, name in enumerate(FIDUCIALS)},
        beat_types=BEAT_TYPES[np.asarray(sim.beat_type, dtype=int)],
        intervals=dict(vars(sim.intervals)),
    )


def simulate_rows(spec: CohortSpec, rows: pd.DataFrame, threads: int) -> list:
    """Simulate patient rows with the engine on ``threads`` threads.

    Returns
    -------
    list
        One :class:`Simulated` per row, in order, or the ``ValueError`` the
        engine raised for that row's parameters.
    """
    from engine.simulation import simulate_batch

    out: list = [None] * len(rows)
    valid, patients, seeds = [], [], []
    for i, (_, row) in enumerate(rows.iterrows()):
        try:
            patients.append(virtual_patient(spec, row))
        except (ValueError, TypeError) as exc:
            out[i] = ValueError(f"{row['record']}: {exc}")
            continue
        valid.append(i)
        seeds.append(int(row["engine_seed"]))
    if valid:
        results = simulate_batch(
            patients, seeds, spec.duration_s, float(spec.fs_hz), threads
        )
        for i, result in zip(valid, results, strict=True):
            out[i] = _to_simulated(result)
    return out
