"""Clinical features of a simulated ECG from its ground-truth fiducials.

The engine reports, for every beat, the sample indices of P onset and
offset, QRS onset and offset and T end. Intervals are the medians over the
beats (ms); heart rate comes from the mean RR between QRS onsets (1/min);
the frontal axis from the net QRS areas of leads I and aVF (degrees).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
FIDUCIALS = ("p_onset", "p_offset", "qrs_onset", "qrs_offset", "t_end")


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
    """

    signal: np.ndarray
    fs: int
    fiducials: dict[str, np.ndarray]
    beat_types: np.ndarray


def _median_ms(stop: np.ndarray, start: np.ndarray, fs: int) -> float:
    ok = (stop >= 0) & (start >= 0)
    if not ok.any():
        return math.nan
    return float(np.median(stop[ok] - start[ok]) * 1000.0 / fs)


def frontal_axis_deg(sim: Simulated) -> float:
    """Frontal QRS axis from the net areas of leads I and aVF over every QRS."""
    lead_i = sim.signal[:, LEADS.index("I")]
    lead_avf = sim.signal[:, LEADS.index("aVF")]
    area_i = area_avf = 0.0
    for on, off in zip(sim.fiducials["qrs_onset"], sim.fiducials["qrs_offset"],
                       strict=True):  # fmt: skip
        if on < 0 or off <= on:
            continue
        area_i += float(lead_i[on : off + 1].sum())
        area_avf += float(lead_avf[on : off + 1].sum())
    if area_i == 0.0 and area_avf == 0.0:
        return math.nan
    return math.degrees(math.atan2(area_avf, area_i))


def features(sim: Simulated) -> dict[str, float]:
    """Heart rate, PR, QRS, QT, QTc (Bazett) and axis of one simulated ECG.

    Only conducted beats (type ``"N"``) enter the intervals; NaN marks a
    feature the ECG does not have (no PR without P waves).
    """
    f = sim.fiducials
    normal = np.asarray(sim.beat_types) == "N"
    pick = {name: np.asarray(f[name])[normal] for name in FIDUCIALS}
    onsets = np.asarray(f["qrs_onset"])
    onsets = onsets[onsets >= 0]
    rr_s = float(np.mean(np.diff(onsets))) / sim.fs if len(onsets) > 1 else math.nan
    qt = _median_ms(pick["t_end"], pick["qrs_onset"], sim.fs)
    return {
        "heart_rate_bpm": 60.0 / rr_s if rr_s > 0 else math.nan,
        "pr_ms": _median_ms(pick["qrs_onset"], pick["p_onset"], sim.fs),
        "qrs_ms": _median_ms(pick["qrs_offset"], pick["qrs_onset"], sim.fs),
        "qt_ms": qt,
        "qtc_ms": qt / math.sqrt(rr_s) if rr_s > 0 else math.nan,
        "axis_deg": frontal_axis_deg(sim),
    }
