"""A test double for the engine, for tests of the run machinery only.

It draws a plain deterministic waveform whose fiducials follow the row's
engine parameters. It is not a model of the heart: tests of physiology,
prevalences, interval means and file round-trips use the real engine.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.cohort.measure import Simulated

DEFAULTS = {
    "param_heart_rate_bpm": 70.0,
    "param_av_delay_ms": 110.0,
    "param_apd_ms": 290.0,
}


def simulate_rows(spec, rows: pd.DataFrame, threads: int) -> list:
    """One :class:`Simulated` per row; a row with ``param_apd_ms`` < 0 fails."""
    out = []
    fs = spec.fs_hz
    n = int(round(spec.duration_s * fs))
    for _, row in rows.iterrows():
        row = row.fillna(value={c: d for c, d in DEFAULTS.items() if c in row})
        apd = row.get("param_apd_ms", 290.0)
        if apd < 0:
            out.append(ValueError(f"apd_ms must be in [180, 450], got {apd}"))
            continue
        rng = np.random.default_rng(int(row["engine_seed"]))
        hr = row.get("param_heart_rate_bpm", 70.0)
        rr = int(round(60.0 / hr * fs))
        onsets = np.arange(fs // 4, n - rr, rr)
        pr = int(round(row.get("param_av_delay_ms", 110.0) * fs / 1000 + 25))
        qrs = int(round(0.09 * fs))
        t_end = int(round(apd * 1.35 * fs / 1000))
        t = np.arange(n)
        base = sum(np.exp(-(((t - o - qrs // 2) / 6.0) ** 2)) for o in onsets)
        gains = rng.normal(1.0, 0.2, 12)
        signal = np.outer(base, gains) + rng.normal(0, 0.01, (n, 12))
        fid = {
            "p_onset": onsets - pr,
            "p_offset": onsets - pr + int(0.1 * fs),
            "qrs_onset": onsets,
            "qrs_offset": onsets + qrs,
            "t_end": np.minimum(onsets + t_end, n - 1),
        }
        ms = 1000.0 / fs
        rr_s = rr / fs
        intervals = {
            "heart_rate_bpm": 60.0 / rr_s,
            "pr_ms": pr * ms,
            "qrs_ms": qrs * ms,
            "qt_ms": t_end * ms,
            "qtc_ms": t_end * ms / np.sqrt(rr_s),
            "axis_deg": 45.0,
        }
        beats = np.array(["N"] * len(onsets))
        out.append(Simulated(signal, fs, fid, beats, intervals))
    return out
