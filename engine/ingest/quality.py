"""Signal quality per record and balance of the whole source.

Per record: sampling rate, duration, missing, NaN, flat and clipped leads,
baseline wander and mains noise, measured on the first ``WINDOW_S`` seconds.
Per source: rates and durations, class balance over SCP labels and their
diagnostic superclasses, and demographic balance by sex and age band, with
groups that are small or rare flagged as under-represented.
"""

from __future__ import annotations

import logging
from collections import Counter

import numpy as np
from scipy import signal as sps

from engine.ingest.record import STANDARD_LEADS, EcgRecord

log = logging.getLogger(__name__)

WINDOW_S = 60.0
FLAT_PTP_MV = 0.02  # a lead moving less than this is flat
CLIPPED_SHARE = 0.001  # share of samples pinned at an extreme that means clipping
WANDER_CUTOFF_HZ = 0.5
MAINS_HZ = (50.0, 60.0)
# Groups below either limit are flagged: CMS suppresses cells of 1-10.
SMALL_CELL = 11
RARE_SHARE = 0.10


def record_quality(record: EcgRecord) -> dict:
    """Quality figures of one record (JSON-ready; leads named, no identifiers)."""
    window = record.signal[: int(WINDOW_S * record.fs)]
    nan_share = np.isnan(window).mean(axis=0)
    names = record.lead_names
    quality = {
        "fs_hz": record.fs,
        "duration_s": round(record.duration_s, 3),
        "analysed_s": round(window.shape[0] / record.fs, 3),
        "leads": list(names),
        "missing_leads": [lead for lead in STANDARD_LEADS if lead not in names],
        "nan_leads": [n for n, s in zip(names, nan_share, strict=True) if s == 1.0],
        "nan_fraction": round(float(np.isnan(window).mean()), 6),
        "flat_leads": _flat_leads(window, names),
        "clipped_leads": _clipped_leads(window, names),
        "baseline_wander_mv": _baseline_wander(window, record.fs),
        "mains_noise": _mains_noise(window, record.fs),
    }
    quality["issues"] = _issues(quality)
    return quality


def _flat_leads(window, names) -> list[str]:
    flat = []
    for i, name in enumerate(names):
        finite = window[np.isfinite(window[:, i]), i]
        if finite.size and np.ptp(finite) < FLAT_PTP_MV:
            flat.append(name)
    return flat


def _clipped_leads(window, names) -> dict[str, float]:
    """Leads whose extreme values repeat often: the amplifier's rails."""
    clipped = {}
    for i, name in enumerate(names):
        finite = window[np.isfinite(window[:, i]), i]
        if finite.size < 10 or np.ptp(finite) < FLAT_PTP_MV:
            continue
        share = (
            np.count_nonzero(finite == finite.max())
            + np.count_nonzero(finite == finite.min())
        ) / finite.size
        if share > CLIPPED_SHARE:
            clipped[name] = round(float(share), 4)
    return clipped


def _baseline_wander(window, fs) -> float | None:
    """Median over leads of the RMS (mV) of the content below 0.5 Hz."""
    clean = np.nan_to_num(window, nan=0.0)
    if clean.shape[0] < 4 * fs:
        return None
    b, a = sps.butter(2, WANDER_CUTOFF_HZ / (fs / 2), "low")
    low = sps.filtfilt(b, a, clean, axis=0)
    rms = np.sqrt(((low - low.mean(axis=0)) ** 2).mean(axis=0))
    return round(float(np.median(rms)), 4)


def _mains_noise(window, fs) -> dict | None:
    """Share of 1-100 Hz power within 1 Hz of 50 Hz and of 60 Hz (worst of both)."""
    clean = np.nan_to_num(window, nan=0.0)
    if clean.shape[0] < 2 * fs:
        return None
    freqs, power = sps.welch(clean, fs=fs, nperseg=int(2 * fs), axis=0)
    power = power.mean(axis=1)
    band = (freqs >= 1.0) & (freqs <= min(100.0, fs / 2))
    total = power[band].sum()
    worst = {"frequency_hz": None, "power_share": 0.0}
    for mains in MAINS_HZ:
        if mains + 1 >= fs / 2 or total <= 0:
            continue
        share = float(power[np.abs(freqs - mains) <= 1.0].sum() / total)
        if share > worst["power_share"]:
            worst = {"frequency_hz": mains, "power_share": round(share, 4)}
    return worst


def _issues(quality: dict) -> list[str]:
    issues = []
    for key in ("nan_leads", "flat_leads", "clipped_leads"):
        if quality[key]:
            issues.append(f"{key.replace('_', ' ')}: {', '.join(quality[key])}")
    if quality["nan_fraction"] > 0:
        issues.append(f"NaN samples: {quality['nan_fraction']:.2%}")
    wander = quality["baseline_wander_mv"]
    if wander is not None and wander > 0.1:
        issues.append(f"baseline wander {wander:.2f} mV RMS")
    mains = quality["mains_noise"]
    if mains and mains["power_share"] > 0.05:
        issues.append(
            f"mains noise at {mains['frequency_hz']:.0f} Hz: "
            f"{mains['power_share']:.1%} of power"
        )
    return issues


def source_quality(per_record: dict[str, dict], rows: list[dict]) -> dict:
    """Summary of a source: rates, durations, class and demographic balance.

    Parameters
    ----------
    per_record : dict
        Record id -> ``record_quality`` output.
    rows : list of dict
        The feature table rows (``labels``, ``diagnostic_superclasses``,
        ``sex``, ``age_band``).
    """
    durations = [q["duration_s"] for q in per_record.values()]
    balance = {
        "labels": _counts(code for r in rows for code in _split(r["labels"])),
        "diagnostic_superclasses": _counts(
            name for r in rows for name in _split(r["diagnostic_superclasses"])
        ),
        "sex": _counts(r["sex"] or "unknown" for r in rows),
        "age_band": _counts(r["age_band"] or "unknown" for r in rows),
    }
    return {
        "n_records": len(per_record),
        "fs_hz": dict(Counter(str(q["fs_hz"]) for q in per_record.values())),
        "duration_s": _spread(durations),
        "records_with_issues": sum(1 for q in per_record.values() if q["issues"]),
        "balance": balance,
        "under_represented": _under_represented(balance, len(rows)),
    }


def _split(text: str) -> list[str]:
    return [part for part in (text or "").split(";") if part]


def _counts(values) -> dict[str, int]:
    return dict(sorted(Counter(values).items()))


def _spread(values: list[float]) -> dict | None:
    if not values:
        return None
    return {
        "min": round(min(values), 3),
        "median": round(float(np.median(values)), 3),
        "max": round(max(values), 3),
    }


def _under_represented(balance: dict, n_records: int) -> list[dict]:
    flagged = []
    for dimension in ("sex", "age_band", "diagnostic_superclasses"):
        counts = dict(balance[dimension])
        if dimension == "sex":
            for sex in ("F", "M"):
                counts.setdefault(sex, 0)
        for group, count in sorted(counts.items()):
            if group == "unknown":
                continue
            share = count / n_records if n_records else 0.0
            reason = _reason(count, share)
            if reason:
                flagged.append(
                    {
                        "dimension": dimension,
                        "group": group,
                        "count": count,
                        "share": round(share, 4),
                        "reason": reason,
                    }
                )
    return flagged


def _reason(count: int, share: float) -> str | None:
    if count == 0:
        return "absent"
    if count < SMALL_CELL:
        return f"fewer than {SMALL_CELL} records"
    if share < RARE_SHARE:
        return f"under {RARE_SHARE:.0%} of records"
    return None
