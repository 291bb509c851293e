"""Simulate virtual patients: 12-lead ECGs with ground-truth fiducials.

The numerics run in the C++ core with the GIL released; this module checks
inputs, converts patients and wraps the results. Summary intervals are
measured from the simulation's own fiducials, not from a delineator.
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from engine import _core
from engine.patient import VirtualPatient

logger = logging.getLogger(__name__)

LEADS: tuple[str, ...] = (
    "I", "II", "III", "aVR", "aVL", "aVF",
    "V1", "V2", "V3", "V4", "V5", "V6",
)  # fmt: skip
FIDUCIALS: tuple[str, ...] = ("p_on", "p_off", "qrs_on", "qrs_off", "t_end")
SINUS, PREMATURE_VENTRICULAR = 0, 1
_MAX_SEED = 2**64 - 1


@dataclass(frozen=True)
class Intervals:
    """Median intervals over the beats of a record, from ground truth.

    Attributes
    ----------
    pr_ms, qrs_ms, qt_ms, qtc_ms : float
        PR (P onset to QRS onset), QRS duration, QT (QRS onset to T end) and
        QT corrected by Bazett with the preceding RR; NaN when no beat has
        the fiducials (PR in atrial fibrillation).
    axis_deg : float
        Frontal QRS axis from the net QRS areas of leads I and aVF.
    heart_rate_bpm : float
        60000 / median RR.
    """

    pr_ms: float
    qrs_ms: float
    qt_ms: float
    qtc_ms: float
    axis_deg: float
    heart_rate_bpm: float


@dataclass(frozen=True)
class Simulation:
    """One simulated record.

    Attributes
    ----------
    signals : ndarray, shape (n_samples, 12), float64
        Lead voltages in mV, leads in :data:`LEADS` order.
    fs : float
        Sampling rate in Hz.
    fiducials : ndarray, shape (n_beats, 5), int
        Per beat P onset, P offset, QRS onset, QRS offset and T end, in
        samples (:data:`FIDUCIALS` order); -1 where absent or outside.
    beat_type : ndarray, shape (n_beats,), int
        0 conducted sinus beat, 1 premature ventricular beat.
    rr_ms : ndarray, shape (n_beats,), float64
        Interval from the previous ventricular beat to this one, in ms.
    intervals : Intervals
    patient : VirtualPatient
    seed : int
    n_ventricular_nodes, n_atrial_nodes : int
    engine_version : str
    """

    signals: np.ndarray
    fs: float
    fiducials: np.ndarray
    beat_type: np.ndarray
    rr_ms: np.ndarray
    intervals: Intervals
    patient: VirtualPatient
    seed: int
    n_ventricular_nodes: int
    n_atrial_nodes: int
    engine_version: str

    @property
    def leads(self) -> tuple[str, ...]:
        return LEADS


def version() -> str:
    """Version string of the compiled engine, for provenance records."""
    return _core.engine_version()


def measure_intervals(
    signals: np.ndarray,
    fiducials: np.ndarray,
    beat_type: np.ndarray,
    rr_ms: np.ndarray,
    fs: float,
) -> Intervals:
    """Median PR, QRS, QT, QTc and frontal axis from ground-truth fiducials.

    Parameters
    ----------
    signals : ndarray, shape (n_samples, 12)
        Leads in mV (I is column 0, aVF column 5).
    fiducials : ndarray, shape (n_beats, 5)
        Samples, -1 where absent.
    beat_type : ndarray, shape (n_beats,)
    rr_ms : ndarray, shape (n_beats,)
    fs : float
        Sampling rate in Hz.

    Returns
    -------
    Intervals
    """
    ms = 1000.0 / fs
    fid = np.asarray(fiducials)
    sinus = np.asarray(beat_type) == SINUS
    p_on, _, qrs_on, qrs_off, t_end = fid.T

    def median(values: np.ndarray, valid: np.ndarray) -> float:
        return float(np.median(values[valid])) if valid.any() else math.nan

    has_qrs = sinus & (qrs_on >= 0) & (qrs_off >= 0)
    has_t = sinus & (qrs_on >= 0) & (t_end >= 0)
    qt = (t_end - qrs_on) * ms
    qtc = qt / np.sqrt(np.asarray(rr_ms) / 1000.0)
    area_i = area_avf = 0.0
    for on, off in fid[has_qrs][:, 2:4]:
        area_i += float(signals[on : off + 1, 0].sum())
        area_avf += float(signals[on : off + 1, 5].sum())
    axis = math.degrees(math.atan2(area_avf, area_i)) if has_qrs.any() else math.nan
    return Intervals(
        pr_ms=median((qrs_on - p_on) * ms, sinus & (p_on >= 0) & (qrs_on >= 0)),
        qrs_ms=median((qrs_off - qrs_on) * ms, has_qrs),
        qt_ms=median(qt, has_t),
        qtc_ms=median(qtc, has_t),
        axis_deg=axis,
        heart_rate_bpm=60000.0 / float(np.median(rr_ms)) if len(rr_ms) else math.nan,
    )


def _as_patient(patient) -> VirtualPatient:
    if isinstance(patient, VirtualPatient):
        return patient
    if isinstance(patient, Mapping):
        return VirtualPatient.from_overrides(patient)
    raise TypeError(
        "patient must be a VirtualPatient or a mapping of parameter values, "
        f"got {type(patient).__name__}"
    )


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    if not 0 <= int(seed) <= _MAX_SEED:
        raise ValueError(f"seed must be in [0, 2**64 - 1], got {seed}")
    return int(seed)


def _check_recording(duration_s, fs) -> tuple[float, float]:
    for name, value in (("duration_s", duration_s), ("fs", fs)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    return float(duration_s), float(fs)


def _wrap(raw: dict, patient: VirtualPatient, seed: int, fs: float) -> Simulation:
    signals = raw["signals"]
    return Simulation(
        signals=signals,
        fs=fs,
        fiducials=raw["fiducials"],
        beat_type=raw["beat_type"],
        rr_ms=raw["rr_ms"],
        intervals=measure_intervals(
            signals, raw["fiducials"], raw["beat_type"], raw["rr_ms"], fs
        ),
        patient=patient,
        seed=seed,
        n_ventricular_nodes=int(raw["n_ventricular_nodes"]),
        n_atrial_nodes=int(raw["n_atrial_nodes"]),
        engine_version=_core.engine_version(),
    )


def simulate(
    patient: VirtualPatient | Mapping[str, float],
    duration_s: float = 10.0,
    fs: float = 500.0,
    seed: int = 0,
) -> Simulation:
    """Simulate one patient's 12-lead ECG.

    Parameters
    ----------
    patient : VirtualPatient or mapping of str to float
        The patient, or parameter overrides to build one from.
    duration_s : float
        Record length in seconds, in (0, 600].
    fs : float
        Sampling rate in Hz, in [100, 5000] (500 and 1000 are usual).
    seed : int
        In [0, 2**64 - 1]; with the patient it fixes the output bit for bit
        (electrode jitter, RR variability, fibrillatory waves, noise).

    Returns
    -------
    Simulation

    Raises
    ------
    ValueError
        For parameters or recording settings out of range.
    MemoryError
        When the grid would not fit in available memory.
    """
    patient = _as_patient(patient)
    seed = _check_seed(seed)
    duration_s, fs = _check_recording(duration_s, fs)
    raw = _core.simulate(dict(patient.values), duration_s, fs, seed)
    return _wrap(raw, patient, seed, fs)


def simulate_batch(
    patients: Sequence[VirtualPatient | Mapping[str, float]],
    seeds: Sequence[int],
    duration_s: float = 10.0,
    fs: float = 500.0,
    n_threads: int = 2,
) -> list[Simulation]:
    """Simulate many patients on C++ threads, the GIL released.

    The result for a patient and seed is bit-identical whatever ``n_threads``.

    Parameters
    ----------
    patients : sequence of VirtualPatient or mappings
    seeds : sequence of int
        One seed per patient.
    duration_s, fs : float
        As in :func:`simulate`.
    n_threads : int
        Worker threads (>= 1).

    Returns
    -------
    list of Simulation
        In the order of ``patients``.
    """
    patients = [_as_patient(p) for p in patients]
    seeds = [_check_seed(s) for s in seeds]
    if len(seeds) != len(patients):
        raise ValueError(
            f"seeds must have one entry per patient: {len(seeds)} seeds for "
            f"{len(patients)} patients"
        )
    if isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral):
        raise TypeError(f"n_threads must be an integer, got {type(n_threads).__name__}")
    if n_threads < 1:
        raise ValueError(f"n_threads must be at least 1, got {n_threads}")
    duration_s, fs = _check_recording(duration_s, fs)
    raws = _core.simulate_batch(
        [dict(p.values) for p in patients], seeds, duration_s, fs, int(n_threads)
    )
    logger.debug("simulated %d patients on %d threads", len(patients), n_threads)
    return [_wrap(r, p, s, fs) for r, p, s in zip(raws, patients, seeds, strict=True)]
