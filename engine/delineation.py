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
_OFFSETS = (1, 3, 4)  # columns of _KEYS that end a wave


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


# neurokit2 method read for each fiducial in the 12-lead delineation, by what
# each algorithm locates. dwt searches a QRS onset between the P peak and a Q
# wave that many leads lack, so on these signals its onsets fall in the flat PR
# segment; prominence takes the bases of the P and R waves (onsets), but its
# right bases are the S nadir within 50 ms of the R peak and a T base up to
# 100 ms past the T peak, so it cannot measure a QRS much wider than 100 ms and
# places T ends in the flat TP segment. QRS and T ends are therefore dwt's.
GLOBAL_METHODS: tuple[str, ...] = ("prominence", "prominence", "prominence",
                                   "dwt", "dwt")  # fmt: skip


def delineate_12_lead(
    signals: np.ndarray, fs: float, method: str | tuple[str, ...] | None = None
) -> Delineation:
    """Global fiducials of every beat from all 12 leads.

    Each lead is delineated by neurokit2; per beat, the global onsets (P, QRS)
    are the second-earliest of the leads' onsets and the global offsets (QRS,
    T end) the second-latest of their offsets. This is the rule of 12-lead
    measurement programs (the earliest onset and latest offset in any lead),
    made robust to one misread lead.

    Parameters
    ----------
    signals : ndarray, shape (n_samples, 12)
        Leads in mV in :data:`engine.LEADS` order.
    fs : float
        Sampling rate in Hz.
    method : {None, "dwt", "prominence"} or tuple of 5 of them
        neurokit2 method for every fiducial, one per fiducial (P onset, P
        offset, QRS onset, QRS offset, T end), or None for
        :data:`GLOBAL_METHODS`.

    Returns
    -------
    Delineation
        Global P onset, P offset, QRS onset, QRS offset and T end per beat.
    """
    sources = _methods(method)
    signals = np.asarray(signals, dtype=float)
    if signals.ndim != 2 or signals.shape[1] != len(LEADS):
        raise ValueError(
            f"signals must have shape (n_samples, 12), got {signals.shape}"
        )
    peaks = _qrs_complexes(signals, fs)
    per_lead = {m: _lead_fiducials(signals, fs, peaks, m) for m in set(sources)}
    fiducials = np.full((len(peaks), len(_KEYS)), math.nan)
    for k, m in enumerate(sources):
        fiducials[:, k] = _robust_extreme(per_lead[m][:, :, k], latest=k in _OFFSETS)
    logger.debug("delineated %d beats on 12 leads", len(peaks))
    return Delineation(peaks, fiducials, float(fs))


def _methods(method) -> tuple[str, ...]:
    if method is None:
        return GLOBAL_METHODS
    sources = (method,) * len(_KEYS) if isinstance(method, str) else tuple(method)
    if len(sources) != len(_KEYS) or not set(sources) <= {"dwt", "prominence"}:
        raise ValueError(
            "method must be None, 'dwt', 'prominence' or a tuple of 5 of them, "
            f"got {method!r}"
        )
    return sources


def _lead_fiducials(
    signals: np.ndarray, fs: float, peaks: np.ndarray, method: str
) -> np.ndarray:
    """Fiducials of shape (12, n_beats, 5) found by ``method`` on each lead."""
    out = np.full((signals.shape[1], len(peaks), len(_KEYS)), math.nan)
    for lead in range(signals.shape[1]):
        signal = signals[:, lead]
        if not np.any(signal):
            continue
        placed = _on_largest_deflection(signal, peaks, fs)
        with warnings.catch_warnings():
            # A lead whose largest deflection is a trough has an R "peak" of
            # zero prominence; its bases are still the wave's bounds.
            warnings.filterwarnings("ignore", "some peaks have a prominence of 0")
            _, waves = nk.ecg_delineate(
                signal, placed, sampling_rate=int(fs), method=method
            )
        for k, key in enumerate(_KEYS):
            values = np.asarray(waves.get(key, []), dtype=float)[: len(peaks)]
            out[lead, : values.size, k] = values
    return out


def _robust_extreme(values: np.ndarray, latest: bool) -> np.ndarray:
    """Per beat (column), the second-earliest or second-latest finite value of
    the leads (rows); NaN with fewer than three leads."""
    ordered = np.sort(-values if latest else values, axis=0)  # NaN sort last
    count = np.isfinite(values).sum(axis=0)
    chosen = np.where(count >= 3, ordered[1], math.nan)
    return -chosen if latest else chosen


def _qrs_complexes(signals: np.ndarray, fs: float) -> np.ndarray:
    """QRS complexes found on the spatial velocity of all 12 leads (steep in the
    QRS, gentle in P and T), in samples."""
    velocity = np.sqrt((np.diff(signals, axis=0) ** 2).sum(axis=1))
    velocity = np.concatenate([[0.0], velocity])
    _, peaks = nk.ecg_peaks(velocity, sampling_rate=int(fs))
    return np.unique(np.asarray(peaks["ECG_R_Peaks"], dtype=int))


def _r_peaks(signals: np.ndarray, signal: np.ndarray, fs: float) -> np.ndarray:
    """QRS complexes of all 12 leads, each placed on the lead's largest
    deflection."""
    return np.unique(_on_largest_deflection(signal, _qrs_complexes(signals, fs), fs))


def _on_largest_deflection(
    signal: np.ndarray, peaks: np.ndarray, fs: float
) -> np.ndarray:
    """Each peak moved to the largest absolute value within 50 ms of it."""
    half = int(round(0.05 * fs))
    placed = []
    for peak in peaks:
        lo, hi = max(peak - half, 0), min(peak + half + 1, len(signal))
        placed.append(lo + int(np.argmax(np.abs(signal[lo:hi]))))
    return np.asarray(placed, dtype=int)


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
