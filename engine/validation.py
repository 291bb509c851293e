"""Checks of simulated records against physiological norms and textbook
signatures of each pathology, measured the way a reader would measure them.

Used by the test suite on small seeded cohorts and by
``bench/engine_validation.py`` on the full ones.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from engine.delineation import (
    Delineation,
    delineate,
    delineate_12_lead,
    p_wave_consistency,
)
from engine.simulation import LEADS, SINUS, Simulation

logger = logging.getLogger(__name__)

NORMS = {  # AHA adult norms used for the healthy cohort
    "pr_ms": (120.0, 200.0),
    "qrs_ms": (70.0, 110.0),
    "qtc_ms": (350.0, 450.0),
    "axis_deg": (-30.0, 90.0),
}
TERRITORY_LEADS = {
    "AMI": ("V1", "V2", "V3", "V4"),
    "IMI": ("II", "III", "aVF"),
    "LMI": ("I", "aVL", "V5", "V6"),
}


@dataclass(frozen=True)
class Measured:
    """Intervals of one record: ground truth and delineator side by side."""

    truth: dict
    delineated: dict
    delineation: Delineation


def measure(
    sim: Simulation,
    method: str | tuple[str, ...] | None = None,
    lead: str | None = None,
) -> Measured:
    """Ground-truth intervals and the delineator's, side by side.

    Parameters
    ----------
    sim : Simulation
    method : {None, "dwt", "prominence"} or tuple of 5 of them
        neurokit2 method(s), as in :func:`engine.delineation.delineate_12_lead`.
    lead : str, optional
        Delineate this lead alone (with ``method``, "dwt" if None) instead of
        the global 12-lead delineation.
    """
    if lead is None:
        d = delineate_12_lead(sim.signals, sim.fs, method)
    else:
        d = delineate(sim.signals, sim.fs, lead, method or "dwt")
    rr = np.median(d.rr_ms) if len(d.r_peaks) > 1 else math.nan
    qtc = d.qt_ms / math.sqrt(rr / 1000.0) if np.isfinite(rr) else math.nan
    i = sim.intervals
    truth = {"pr_ms": i.pr_ms, "qrs_ms": i.qrs_ms, "qt_ms": i.qt_ms,
             "qtc_ms": i.qtc_ms, "axis_deg": i.axis_deg}  # fmt: skip
    delineated = {"pr_ms": d.pr_ms, "qrs_ms": d.qrs_ms, "qt_ms": d.qt_ms,
                  "qtc_ms": qtc, "axis_deg": _axis(sim, d)}  # fmt: skip
    return Measured(truth, delineated, d)


def _axis(sim: Simulation, d: Delineation) -> float:
    area_i = area_avf = 0.0
    for on, off in d.fiducials[:, 2:4]:
        if np.isfinite(on) and np.isfinite(off) and off > on:
            area_i += sim.signals[int(on) : int(off) + 1, 0].sum()
            area_avf += sim.signals[int(on) : int(off) + 1, 5].sum()
    return math.degrees(math.atan2(area_avf, area_i))


def within_norms(values: dict) -> dict:
    """Per interval, whether the value lies in :data:`NORMS`."""
    return {k: bool(lo <= values[k] <= hi) for k, (lo, hi) in NORMS.items()}


def qrs_windows(sim: Simulation, d: Delineation) -> list[tuple[int, int]]:
    """Delineated QRS windows (onset, offset) of the sinus beats, in samples."""
    windows = []
    for on, off in d.fiducials[:, 2:4]:
        if np.isfinite(on) and np.isfinite(off) and off > on + 2:
            windows.append((int(on), int(off)))
    return windows


def _median_over_beats(sim, windows, lead, fn):
    column = sim.signals[:, LEADS.index(lead)]
    values = [fn(column[on : off + 1] - column[on]) for on, off in windows]
    return float(np.median(values)) if values else math.nan


def lbbb_morphology(sim: Simulation, d: Delineation) -> bool:
    """Broad positive QRS in I and V6, QS or rS (dominant negative) in V1."""
    w = qrs_windows(sim, d)

    def dominant_r(q):
        return q.sum() > 0 and q.max() > 2.0 * abs(q.min())

    def qs_or_rs(q):
        return abs(q.min()) > 3.0 * max(q.max(), 0.0)

    return all(
        _median_over_beats(sim, w, lead, dominant_r) > 0.5 for lead in ("I", "V6")
    ) and (_median_over_beats(sim, w, "V1", qs_or_rs) > 0.5)


def rbbb_morphology(sim: Simulation, d: Delineation) -> bool:
    """Terminal positive R' in V1 and a broad terminal S in I and V6."""
    w = qrs_windows(sim, d)

    def terminal(q):
        return q[int(0.6 * len(q)) :]

    def r_prime(q):
        tail = terminal(q)
        return tail[np.argmax(np.abs(tail))] > 0

    def wide_s(q):
        return terminal(q).mean() < 0

    return _median_over_beats(sim, w, "V1", r_prime) > 0.5 and all(
        _median_over_beats(sim, w, lead, wide_s) > 0.5 for lead in ("I", "V6")
    )


def q_wave_ms(sim: Simulation, d: Delineation, lead: str) -> float:
    """Median duration of the initial negative deflection (0 if none), ms."""

    def duration(q):
        threshold = 0.02 * max(np.abs(q).max(), 1e-9)
        first = np.flatnonzero(np.abs(q) > threshold)
        if first.size == 0 or q[first[0]] > 0:
            return 0.0
        back = np.flatnonzero(q[first[0] :] >= 0)
        end = first[0] + (back[0] if back.size else len(q) - first[0])
        return end * 1000.0 / sim.fs

    return _median_over_beats(sim, qrs_windows(sim, d), lead, duration)


def new_q_waves(
    sim: Simulation,
    d: Delineation,
    normal: Simulation,
    d_normal: Delineation,
    leads: tuple[str, ...],
) -> int:
    """Leads with a Q wave of at least 30 ms that is at least 10 ms longer
    than in the matched patient without the infarct."""
    count = 0
    for lead in leads:
        q, q0 = q_wave_ms(sim, d, lead), q_wave_ms(normal, d_normal, lead)
        count += bool(q >= 30.0 and q > q0 + 10.0)
    return count


def sokolow_lyon_mv(sim: Simulation, d: Delineation) -> float:
    """S in V1 plus the larger R of V5 and V6 (mV), median over beats."""
    w = qrs_windows(sim, d)
    s_v1 = _median_over_beats(sim, w, "V1", lambda q: -min(q.min(), 0.0))
    r_v5 = _median_over_beats(sim, w, "V5", lambda q: max(q.max(), 0.0))
    r_v6 = _median_over_beats(sim, w, "V6", lambda q: max(q.max(), 0.0))
    return s_v1 + max(r_v5, r_v6)


def organised_p_waves(sim: Simulation, d: Delineation) -> bool:
    """P waves that repeat beat after beat with a stable PR."""
    consistency = p_wave_consistency(sim.signals[:, LEADS.index("II")], d)
    pr = (d.fiducials[:, 2] - d.fiducials[:, 0]) * 1000.0 / sim.fs
    pr = pr[np.isfinite(pr)]
    stable = pr.size >= 3 and np.mean(np.abs(pr - np.median(pr)) <= 16.0) >= 0.8
    return bool(consistency > 0.8 and stable)


def rr_cv(d: Delineation) -> float:
    """Coefficient of variation of the detected RR intervals."""
    rr = d.rr_ms
    return float(rr.std() / rr.mean()) if rr.size > 2 else math.nan


def sinus_beats(sim: Simulation) -> int:
    return int(np.sum(sim.beat_type == SINUS))


def truth_delineation(sim: Simulation) -> Delineation:
    """The simulation's own fiducials in the delineator's form (NaN if absent)."""
    fid = sim.fiducials.astype(float)
    fid[fid < 0] = math.nan
    r = np.where(np.isfinite(fid[:, 2]), fid[:, 2], 0).astype(int)
    return Delineation(r, fid, sim.fs)
