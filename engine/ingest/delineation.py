"""Two independent ways of measuring ECG intervals, so they can check each other.

Delineators disagree, sometimes by a factor of two on the same signal. The
first method here works on the median beat of all leads together: QRS onset
and offset where the spatial velocity leaves and returns to its quiet level,
P onset and T end by the tangent to the spatial magnitude. The second is
neurokit2's wavelet (dwt) delineator run per lead, beat by beat, with the
median taken over beats and then over leads.

Both return intervals in milliseconds; NaN where a method found nothing.
"""

from __future__ import annotations

import logging
import warnings

import neurokit2 as nk
import numpy as np
from scipy import signal as sps

log = logging.getLogger(__name__)

WINDOW_S = 10.0
QRS_THRESHOLD = 0.05  # share of peak spatial velocity that bounds the QRS
MIN_BEATS = 3


def analysis_window(signal: np.ndarray, fs: float) -> np.ndarray:
    """The first ``WINDOW_S`` seconds, the part both methods measure."""
    return signal[: int(WINDOW_S * fs)]


def band_pass(signal: np.ndarray, fs: float) -> np.ndarray:
    """0.5-40 Hz zero-phase filter of each column; NaN set to zero first."""
    high = min(40.0, 0.45 * fs)
    b, a = sps.butter(2, [0.5 / (fs / 2), high / (fs / 2)], "band")
    clean = np.nan_to_num(signal, nan=0.0)
    padlen = min(3 * max(len(a), len(b)), clean.shape[0] - 1)
    return sps.filtfilt(b, a, clean, axis=0, padlen=padlen)


def r_peaks(lead: np.ndarray, fs: float) -> np.ndarray:
    """R-peak sample indices found by neurokit2 on one filtered lead."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            _, info = nk.ecg_peaks(lead, sampling_rate=int(round(fs)))
        except (ValueError, IndexError) as exc:
            log.debug("no R peaks: %s", exc)
            return np.array([], dtype=int)
    for item in caught:
        log.debug("neurokit2 while finding R peaks: %s", item.message)
    return np.asarray(info["ECG_R_Peaks"], dtype=int)


def heart_rate_bpm(peaks: np.ndarray, fs: float) -> float:
    """Median heart rate from R peaks; NaN with fewer than two peaks."""
    if len(peaks) < 2:
        return float("nan")
    return float(60.0 / np.median(np.diff(peaks) / fs))


def median_beat_intervals(
    filtered: np.ndarray, fs: float, peaks: np.ndarray, lead_names: list[str]
) -> dict[str, float]:
    """Intervals and QRS axis from the multi-lead median beat.

    Parameters
    ----------
    filtered : ndarray, shape (n_samples, n_leads)
        Band-passed signals in mV.
    fs : float
        Sampling frequency in Hz.
    peaks : ndarray of int
        R-peak sample indices.
    lead_names : list of str
        Names of the columns, used to find leads I, II, III and aVF.

    Returns
    -------
    dict
        ``pr_ms``, ``qrs_ms``, ``qt_ms`` and ``axis_deg``; NaN where not found.
    """
    result = dict.fromkeys(("pr_ms", "qrs_ms", "qt_ms", "axis_deg"), float("nan"))
    template, r0 = _median_beat(filtered, fs, peaks)
    if template is None:
        return result
    onset, offset = _qrs_bounds(template, fs, r0)
    if onset is None:
        return result
    ms = 1000.0 / fs
    result["qrs_ms"] = (offset - onset) * ms
    base = np.median(template[max(0, onset - _n(fs, 20)) : onset + 1], axis=0)
    magnitude = np.sqrt(((template - base) ** 2).sum(axis=1))
    result["qt_ms"] = (_t_end(magnitude, fs, r0, offset, onset) - onset) * ms
    result["pr_ms"] = (onset - _p_onset(magnitude, fs, onset)) * ms
    result["axis_deg"] = _axis(template - base, onset, offset, lead_names)
    return result


def _n(fs: float, milliseconds: float) -> int:
    return int(round(milliseconds * fs / 1000.0))


def _median_beat(filtered, fs, peaks):
    before, after = _n(fs, 400), _n(fs, 700)
    beats = [
        filtered[p - before : p + after]
        for p in peaks
        if p - before >= 0 and p + after <= filtered.shape[0]
    ]
    if len(beats) < MIN_BEATS:
        return None, before
    return np.median(np.stack(beats), axis=0), before


def _qrs_bounds(template, fs, r0):
    velocity = np.sqrt((np.gradient(template, axis=0) ** 2).sum(axis=1))
    search = slice(r0 - _n(fs, 60), r0 + _n(fs, 60))
    peak = search.start + int(np.argmax(velocity[search]))
    threshold = QRS_THRESHOLD * velocity[peak]
    if threshold <= 0:
        return None, None
    onset = peak
    while onset > r0 - _n(fs, 150) and velocity[onset] > threshold:
        onset -= 1
    above = np.flatnonzero(velocity[peak : peak + _n(fs, 150)] > threshold)
    return onset, peak + int(above[-1])


def _t_end(magnitude, fs, r0, qrs_offset, qrs_onset):
    start, stop = qrs_offset + _n(fs, 60), min(len(magnitude) - 1, r0 + _n(fs, 600))
    if stop - start < 3:
        return float("nan")
    slope = np.gradient(magnitude)
    t_peak = start + int(np.argmax(magnitude[start:stop]))
    if stop - t_peak < 2:
        return float("nan")
    steepest = t_peak + int(np.argmin(slope[t_peak:stop]))
    if slope[steepest] >= 0:
        return float("nan")
    return steepest + (magnitude[steepest] - magnitude[qrs_onset]) / -slope[steepest]


def _p_onset(magnitude, fs, qrs_onset):
    start, stop = qrs_onset - _n(fs, 300), qrs_onset - _n(fs, 30)
    if start < 0 or stop - start < 3:
        return float("nan")
    p_peak = start + int(np.argmax(magnitude[start:stop]))
    if p_peak - start < 2:
        return float("nan")
    slope = np.gradient(magnitude)
    steepest = start + int(np.argmax(slope[start:p_peak]))
    if slope[steepest] <= 0:
        return float("nan")
    return steepest - (magnitude[steepest] - magnitude[qrs_onset]) / slope[steepest]


def _axis(template, onset, offset, lead_names):
    """Frontal QRS axis from the net QRS areas of leads I and aVF."""
    lead_i = _lead_area(template, onset, offset, lead_names, "I")
    avf = _lead_area(template, onset, offset, lead_names, "aVF")
    if np.isnan(avf):
        ii = _lead_area(template, onset, offset, lead_names, "II")
        iii = _lead_area(template, onset, offset, lead_names, "III")
        avf = (ii + iii) / 2 if not np.isnan(iii) else ii - lead_i / 2
    if np.isnan(lead_i) or np.isnan(avf):
        return float("nan")
    return float(np.degrees(np.arctan2(avf, lead_i)))


def _lead_area(template, onset, offset, lead_names, name):
    if name not in lead_names:
        return float("nan")
    return float(template[onset : offset + 1, lead_names.index(name)].sum())


def dwt_intervals(
    filtered: np.ndarray, fs: float, peaks: np.ndarray
) -> dict[str, float]:
    """PR, QRS and QT from neurokit2's dwt delineator, lead by lead.

    Each lead's fiducials are paired with the R peak they belong to by time
    windows (neurokit2's lists are not always aligned beat by beat); the median
    over beats is taken per lead and then over leads.
    """
    per_lead = [
        _dwt_one_lead(filtered[:, i], fs, peaks) for i in range(filtered.shape[1])
    ]
    result = {}
    for key in ("pr_ms", "qrs_ms", "qt_ms"):
        values = [lead[key] for lead in per_lead if np.isfinite(lead[key])]
        result[key] = float(np.median(values)) if values else float("nan")
    return result


def _dwt_one_lead(lead, fs, peaks):
    empty = dict.fromkeys(("pr_ms", "qrs_ms", "qt_ms"), float("nan"))
    if len(peaks) < MIN_BEATS or np.ptp(lead) == 0:
        return empty
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            _, waves = nk.ecg_delineate(
                lead, peaks, sampling_rate=int(round(fs)), method="dwt"
            )
        except (ValueError, IndexError, ZeroDivisionError) as exc:
            log.debug("dwt delineation failed: %s", exc)
            return empty
    for item in caught:
        log.debug("neurokit2 while delineating: %s", item.message)
    points = {
        key: np.asarray([v for v in values if np.isfinite(v)], dtype=float)
        for key, values in waves.items()
    }
    beats = np.array([_beat_intervals(points, fs, p) for p in peaks[1:-1]])
    if beats.size == 0:
        return empty
    medians = [_finite_median(beats[:, k]) for k in range(3)]
    return dict(zip(("pr_ms", "qrs_ms", "qt_ms"), medians, strict=True))


def _beat_intervals(points, fs, peak):
    def last(key, lo, hi):
        found = points.get(key, np.array([]))
        found = found[(found >= peak + _n(fs, lo)) & (found < peak + _n(fs, hi))]
        return found[-1] if len(found) else np.nan

    def first(key, lo, hi):
        found = points.get(key, np.array([]))
        found = found[(found >= peak + _n(fs, lo)) & (found < peak + _n(fs, hi))]
        return found[0] if len(found) else np.nan

    p_on = last("ECG_P_Onsets", -350, -60)
    q_on = last("ECG_R_Onsets", -120, 0)
    q_off = first("ECG_R_Offsets", 0, 150)
    t_off = first("ECG_T_Offsets", 150, 650)
    ms = 1000.0 / fs
    return ((q_on - p_on) * ms, (q_off - q_on) * ms, (t_off - q_on) * ms)


def _finite_median(values):
    values = values[np.isfinite(values)]
    return float(np.median(values)) if len(values) else float("nan")
