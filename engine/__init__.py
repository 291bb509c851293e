"""The cardiofair engine: virtual patients, cohorts, simulation runs, formats.

The electrophysiology engine itself is C++ (``engine._core``); the names
below are its Python face.
"""

from engine.patient import (
    PARAMETERS,
    PATHOLOGIES,
    Parameter,
    Pathology,
    VirtualPatient,
    draw_patients,
)
from engine.simulation import (
    FIDUCIALS,
    LEADS,
    Intervals,
    Simulation,
    measure_intervals,
    simulate,
    simulate_batch,
    version,
)

__all__ = [
    "FIDUCIALS",
    "LEADS",
    "PARAMETERS",
    "PATHOLOGIES",
    "Intervals",
    "Parameter",
    "Pathology",
    "Simulation",
    "VirtualPatient",
    "draw_patients",
    "measure_intervals",
    "simulate",
    "simulate_batch",
    "version",
]
