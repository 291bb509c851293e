"""Virtual patients: the parameter table, pathology presets and prior draws.

Every parameter has a name, a unit, a default, an allowed range and the spread
of its default (healthy) prior; the table lives in the C++ core and is read
here, so the engine and its users cannot disagree about it. Values are
validated in C++: an out-of-range value raises
``ValueError("<name> must be in [lo, hi], got X")``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from engine import _core

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Parameter:
    """One virtual-patient parameter.

    Attributes
    ----------
    name, unit, description : str
    default, min, max : float
        Default value and the closed allowed range.
    prior_sd : float
        Standard deviation of the default prior (a normal truncated to the
        range); 0 means the parameter is fixed at its default.
    integer : bool
        Whether only whole numbers are allowed (flags and choices).
    """

    name: str
    unit: str
    default: float
    min: float
    max: float
    prior_sd: float
    integer: bool
    description: str


PARAMETERS: tuple[Parameter, ...] = tuple(
    Parameter(*row) for row in _core.parameter_specs()
)
PARAMETER_BY_NAME: Mapping[str, Parameter] = MappingProxyType(
    {p.name: p for p in PARAMETERS}
)


@dataclass(frozen=True)
class Pathology:
    """A pathology as a documented change of parameters.

    Attributes
    ----------
    name : str
        Label of the pathology, the PTB-XL SCP-ECG statement code when one
        exists (``scp_code`` is then the same string).
    scp_code : str or None
        PTB-XL SCP-ECG code to label records with; None when PTB-XL has none.
    overrides : Mapping[str, float]
        Parameter values set by the pathology.
    mechanism : str
        What the change represents and where the model stops.
    """

    name: str
    scp_code: str | None
    overrides: Mapping[str, float]
    mechanism: str


def _pathology(name, scp_code, overrides, mechanism):
    return Pathology(name, scp_code, MappingProxyType(dict(overrides)), mechanism)


PATHOLOGIES: Mapping[str, Pathology] = MappingProxyType(
    {
        p.name: p
        for p in (
            _pathology("NORM", "NORM", {}, "normal sinus rhythm"),
            _pathology(
                "1AVB",
                "1AVB",
                {"av_delay_ms": 170.0},
                "AV delay lengthened so that PR exceeds 200 ms",
            ),
            _pathology(
                "CLBBB",
                "CLBBB",
                {"lbbb": 1.0},
                "no LV root sites and no LV fast endocardium: the LV is "
                "activated through the septum from the RV",
            ),
            _pathology(
                "CRBBB",
                "CRBBB",
                {"rbbb": 1.0},
                "no RV root site and no RV fast endocardium: the RV is "
                "activated through the septum from the LV",
            ),
            _pathology(
                "LAFB",
                "LAFB",
                {"lafb": 1.0},
                "no LV anterior root site and no fast endocardium in the "
                "anterior-superior LV",
            ),
            _pathology(
                "AMI",
                "AMI",
                {"infarct_territory": 1.0, "infarct_transmurality": 1.0},
                "anterior (LAD) scar removed from the tissue, slow border zone; "
                "transmurality adjustable",
            ),
            _pathology(
                "IMI",
                "IMI",
                {"infarct_territory": 2.0, "infarct_transmurality": 1.0},
                "inferior (RCA) scar removed from the tissue, slow border zone",
            ),
            _pathology(
                "LMI",
                "LMI",
                {"infarct_territory": 3.0, "infarct_transmurality": 1.0},
                "lateral (LCX) scar removed from the tissue, slow border zone",
            ),
            _pathology(
                "LVH",
                "LVH",
                {"lv_wall_mm": 15.0, "lv_radius_mm": 25.0, "apd_ms": 305.0},
                "thicker, larger LV wall with longer APD; no fibrosis or strain",
            ),
            _pathology(
                "LAO/LAE",
                "LAO/LAE",
                {"la_radius_mm": 27.0, "cv_atrial_m_per_s": 0.8},
                "larger, slower-conducting left atrium",
            ),
            _pathology(
                "IAB",
                None,
                {"cv_bachmann_m_per_s": 0.1},
                "Bachmann's bundle nearly blocked; the LA is reached through "
                "the interatrial junction (PTB-XL has no code for it)",
            ),
            _pathology(
                "AFIB",
                "AFIB",
                {"atrial_fibrillation": 1.0},
                "focal atrial waves from random sites at irregular intervals "
                "(no re-entry) and an irregularly irregular RR",
            ),
            _pathology(
                "PVC",
                "PVC",
                {"pvc_every_n_beats": 4.0},
                "every fourth beat starts early from an ectopic ventricular site "
                "without fast-endocardial spread, followed by a full pause",
            ),
        )
    }
)


def _pathology_overrides(pathologies: Iterable[str]) -> dict[str, float]:
    merged: dict[str, float] = {}
    for name in pathologies:
        if name not in PATHOLOGIES:
            raise ValueError(
                f"unknown pathology {name!r}; expected one of {sorted(PATHOLOGIES)}"
            )
        merged.update(PATHOLOGIES[name].overrides)
    return merged


def _as_float(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    return float(value)


@dataclass(frozen=True)
class VirtualPatient:
    """A validated, complete set of parameter values.

    Attributes
    ----------
    values : Mapping[str, float]
        Every parameter of :data:`PARAMETERS` by name, in its unit.
    pathologies : tuple of str
        Names from :data:`PATHOLOGIES` applied before the overrides.
    """

    values: Mapping[str, float]
    pathologies: tuple[str, ...] = field(default=())

    @classmethod
    def from_overrides(
        cls,
        overrides: Mapping[str, float] | None = None,
        pathologies: Iterable[str] = (),
    ) -> VirtualPatient:
        """Build a patient from defaults, pathology presets, then overrides.

        Parameters
        ----------
        overrides : mapping of str to float, optional
            Parameter values by name; they win over pathology presets.
        pathologies : iterable of str
            Pathology names (keys of :data:`PATHOLOGIES`), e.g. ``["CLBBB"]``.

        Raises
        ------
        ValueError
            For an unknown parameter or pathology, or a value out of range.
        TypeError
            For a value that is not a number.
        """
        pathologies = (
            (pathologies,) if isinstance(pathologies, str) else tuple(pathologies)
        )
        merged = _pathology_overrides(pathologies)
        for name, value in (overrides or {}).items():
            merged[str(name)] = _as_float(str(name), value)
        _core.validate_parameters(merged)
        values = {p.name: p.default for p in PARAMETERS}
        values.update(merged)
        return cls(MappingProxyType(values), pathologies)

    def __getitem__(self, name: str) -> float:
        return self.values[name]

    def overrides(self) -> dict[str, float]:
        """The values that differ from the defaults, by name."""
        return {
            name: value
            for name, value in self.values.items()
            if value != PARAMETER_BY_NAME[name].default
        }

    @property
    def labels(self) -> tuple[str, ...]:
        """PTB-XL SCP-ECG codes of the patient's pathologies (NORM if none)."""
        codes = [PATHOLOGIES[p].scp_code for p in self.pathologies]
        codes = [c for c in codes if c is not None and c != "NORM"]
        return tuple(codes) if codes else ("NORM",)


def draw_patients(
    n: int,
    seed: int | np.random.Generator,
    pathologies: Iterable[str] = (),
    overrides: Mapping[str, float] | None = None,
) -> list[VirtualPatient]:
    """Draw patients from the default priors.

    Each parameter with ``prior_sd > 0`` is drawn from a normal around its
    default, truncated to its range by redrawing; pathology presets and then
    ``overrides`` replace drawn values.

    Parameters
    ----------
    n : int
        Number of patients (>= 0).
    seed : int or numpy.random.Generator
        Seed of the draws, or a generator passed down by the caller.
    pathologies : iterable of str
        Pathologies applied to every patient.
    overrides : mapping, optional
        Values applied to every patient.

    Returns
    -------
    list of VirtualPatient
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    pathologies = (pathologies,) if isinstance(pathologies, str) else tuple(pathologies)
    patients = []
    for _ in range(n):
        drawn: dict[str, float] = {}
        for p in PARAMETERS:
            if p.prior_sd <= 0.0:
                continue
            value = rng.normal(p.default, p.prior_sd)
            while not p.min <= value <= p.max:
                value = rng.normal(p.default, p.prior_sd)
            drawn[p.name] = float(value)
        drawn.update(_pathology_overrides(pathologies))
        drawn.update(overrides or {})
        patients.append(VirtualPatient.from_overrides(drawn))
    logger.debug("drew %d patients with pathologies %s", n, pathologies)
    return [VirtualPatient(p.values, pathologies) for p in patients]
