"""Independent delineation of simulated ECGs with neurokit2.

The engine knows its own fiducials; this module measures them the way a
reader of the published records would, so that the two can be compared.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass

import numpy as np

from engine.simulation import LEADS

with warnings.catch_warnings():
    # neurokit2 0.2 imports scipy.misc, deprecated since SciPy 1.10; nothing of
    # it is used here.
    warnings.filterwarnings(
        "ignore", message="scipy.misc is deprecated", category=DeprecationWarning
    )
    import neurokit2 as nk

logger = logging.getLogger(__name__)

_KEYS = ("ECG_P_Onsets", "ECG_P_Offsets", "ECG_R_Onsets", "ECG_R_Offsets",
         "ECG_T_Offsets")  # fmt: skip


@dataclass(frozen=True)
class Delineation:
    """Per-beat fiducials found by a delineator, in samples (NaN if missed).

    Attributes
    ----------
    r_peaks : ndarray, shape (n_beats,), int
    fiducials : ndarray, shape (n_beats, 5), float
        P onset, P offset, QRS onset, QRS offset, T end.
    fs : float
    """

    r_peaks: np.ndarray
    fiducials: np.ndarray
    fs: float

    def median_ms(self, start: int, stop: int) -> float:
        """Median over beats of fiducial ``stop`` minus ``start``, in ms."""
        d = self.fiducials[:, stop] - self.fiducials[:, start]
        d = d[np.isfinite(d)]
        return float(np.median(d) * 1000.0 / self.fs) if d.size else math.nan

    @property
    def pr_ms(self) -> float:
        return self.median_ms(0, 2)

    @property
    def qrs_ms(self) -> float:
        return self.median_ms(2, 3)

    @property
    def qt_ms(self) -> float:
        return self.median_ms(2, 4)

    @property
    def rr_ms(self) -> np.ndarray:
        return np.diff(self.r_peaks) * 1000.0 / self.fs


def delineate(
    signals: np.ndarray, fs: float, lead: str = "II", method: str = "dwt"
) -> Delineation:
    """QRS detection by neurokit2 on all leads, then its delineation of one lead.

    Parameters
    ----------
    signals : ndarray, shape (n_samples, 12)
        Leads in mV in :data:`engine.LEADS` order.
    fs : float
        Sampling rate in Hz.
    lead : str
        Lead to delineate.
    method : {"dwt", "prominence", "cwt", "peak"}
        neurokit2's delineation method.

    Returns
    -------
    Delineation
    """
    if lead not in LEADS:
        raise ValueError(f"lead must be one of {LEADS}, got {lead!r}")
    signals = np.asarray(signals, dtype=float)
    signal = signals[:, LEADS.index(lead)]
    r_peaks = _r_peaks(signals, signal, fs)
    _, waves = nk.ecg_delineate(signal, r_peaks, sampling_rate=int(fs), method=method)
    columns = []
    for key in _KEYS:
        values = np.asarray(waves.get(key, [math.nan] * len(r_peaks)), dtype=float)
        columns.append(values[: len(r_peaks)])
    logger.debug("delineated %d beats of lead %s with %s", len(r_peaks), lead, method)
    return Delineation(r_peaks, np.stack(columns, axis=1), float(fs))


def _r_peaks(signals: np.ndarray, signal: np.ndarray, fs: float) -> np.ndarray:
    """QRS complexes found on the spatial velocity of all 12 leads (steep in the
    QRS, gentle in P and T), each placed on the lead's largest deflection."""
    velocity = np.sqrt((np.diff(signals, axis=0) ** 2).sum(axis=1))
    velocity = np.concatenate([[0.0], velocity])
    _, peaks = nk.ecg_peaks(velocity, sampling_rate=int(fs))
    half = int(round(0.05 * fs))
    placed = []
    for peak in np.asarray(peaks["ECG_R_Peaks"], dtype=int):
        lo, hi = max(peak - half, 0), min(peak + half + 1, len(signal))
        placed.append(lo + int(np.argmax(np.abs(signal[lo:hi]))))
    return np.unique(np.asarray(placed, dtype=int))


def p_wave_consistency(signal: np.ndarray, delineation: Delineation) -> float:
    """Median correlation of each beat's pre-QRS window with their mean.

    Organised P waves repeat beat after beat (near 1); fibrillatory waves do
    not. The window is the 200 ms before each detected QRS onset.

    Parameters
    ----------
    signal : ndarray, shape (n_samples,)
    delineation : Delineation

    Returns
    -------
    float
        NaN with fewer than three usable beats.
    """
    width = int(round(0.2 * delineation.fs))
    onsets = delineation.fiducials[:, 2]
    windows = [
        signal[int(q) - width : int(q)]
        for q in onsets
        if np.isfinite(q) and int(q) - width >= 0
    ]
    if len(windows) < 3:
        return math.nan
    stack = np.array(windows)
    stack = stack - stack.mean(axis=1, keepdims=True)
    mean = stack.mean(axis=0)
    corr = [np.corrcoef(w, mean)[0, 1] for w in stack if w.std() > 0]
    return float(np.median(corr)) if corr else math.nan
