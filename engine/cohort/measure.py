"""A simulated ECG as the cohort code handles it, and its clinical features.

The engine measures the intervals itself from its ground-truth fiducials
(:func:`engine.simulation.measure_intervals`: medians over conducted beats,
heart rate from the median RR, the frontal axis from the net QRS areas of
leads I and aVF); the cohort code reads them from here, so that fitting,
calibration and the feature tables use one definition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
FIDUCIALS = ("p_onset", "p_offset", "qrs_onset", "qrs_offset", "t_end")
FEATURES = ("heart_rate_bpm", "pr_ms", "qrs_ms", "qt_ms", "qtc_ms", "axis_deg")


@dataclass
class Simulated:
    """One simulated patient's ECG with its ground truth.

    Attributes
    ----------
    signal : ndarray, shape (n_samples, 12), float
        The 12 standard leads in mV, in the order of :data:`LEADS`.
    fs : int
        Sampling frequency in Hz.
    fiducials : dict of str to ndarray of int, each shape (n_beats,)
        Sample index of each fiducial of :data:`FIDUCIALS` per beat; -1 where
        a beat has none (no P wave in atrial fibrillation or an ectopic beat).
    beat_types : ndarray of str, shape (n_beats,)
        ``"N"`` for a conducted beat, ``"V"`` for a ventricular ectopic beat.
    intervals : dict of str to float
        The engine's measurements, keys :data:`FEATURES` (ms, 1/min, degrees);
        NaN where the ECG has no such feature (no PR without P waves).
    """

    signal: np.ndarray
    fs: int
    fiducials: dict[str, np.ndarray]
    beat_types: np.ndarray
    intervals: dict[str, float]


def features(sim: Simulated) -> dict[str, float]:
    """Heart rate, PR, QRS, QT, QTc (Bazett) and frontal axis of one ECG."""
    return {name: float(sim.intervals[name]) for name in FEATURES}
