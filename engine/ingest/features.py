"""One row of the source's feature table per ECG record.

Intervals come from the source's own measurements where it has them (an ECG
device's PR, QRS, QT in a DICOM object) and from delineation otherwise.
Delineated intervals are published only when two methods agree (see
``engine.ingest.delineation``); otherwise the value is left empty and the
disagreement is reported, because a wrong interval would bias the cohort
fitted to this table.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from engine.ingest import delineation
from engine.ingest.demographics import age_band, capped_age
from engine.ingest.labels import superclasses
from engine.ingest.record import EcgRecord

log = logging.getLogger(__name__)

COLUMNS = [
    "record_id",
    "patient_id",
    "source_format",
    "age",
    "age_band",
    "sex",
    "heart_rate_bpm",
    "pr_ms",
    "qrs_ms",
    "qt_ms",
    "qtc_ms",
    "axis_deg",
    "labels",
    "diagnostic_superclasses",
    "interval_source",
]

# Largest difference (ms) between two delineators still counted as agreement.
TOLERANCE_MS = {"pr_ms": 40.0, "qrs_ms": 30.0, "qt_ms": 50.0}
# Values outside these ranges are measurement failures, not physiology.
PLAUSIBLE = {
    "heart_rate_bpm": (20.0, 300.0),
    "pr_ms": (50.0, 450.0),
    "qrs_ms": (40.0, 250.0),
    "qt_ms": (180.0, 700.0),
    "qtc_ms": (250.0, 750.0),
    "axis_deg": (-180.0, 180.0),
}


def measure(record: EcgRecord) -> tuple[dict[str, float], list[str]]:
    """Heart rate, intervals and axis of a record, with any disagreements.

    Parameters
    ----------
    record : EcgRecord

    Returns
    -------
    values : dict
        ``heart_rate_bpm``, ``pr_ms``, ``qrs_ms``, ``qt_ms``, ``qtc_ms``,
        ``axis_deg`` and ``interval_source``; NaN where unknown.
    notes : list of str
        One line per interval the methods disagreed on or that was implausible.
    """
    delineated, notes = _delineate(record)
    values = dict(delineated)
    source = "delineation"
    if record.measurements:
        source = "source"
        for key, value in record.measurements.items():
            _note_difference(key, value, delineated.get(key), notes)
            values[key] = value
    if "qtc_ms" not in record.measurements:
        values["qtc_ms"] = bazett_qtc(values["qt_ms"], values["heart_rate_bpm"])
    _drop_implausible(values, notes)
    values["interval_source"] = source
    return values, notes


def _delineate(record: EcgRecord) -> tuple[dict[str, float], list[str]]:
    usable = _usable_leads(record)
    empty = dict.fromkeys(PLAUSIBLE, float("nan"))
    if not usable:
        return empty, ["no usable lead to delineate"]
    window = delineation.analysis_window(record.signal[:, usable], record.fs)
    if window.shape[0] < record.fs * 2:
        return empty, ["record shorter than 2 s; not delineated"]
    names = [record.lead_names[i] for i in usable]
    filtered = delineation.band_pass(window, record.fs)
    peaks = delineation.r_peaks(
        filtered[:, _reference_lead(filtered, names)], record.fs
    )
    global_ = delineation.median_beat_intervals(filtered, record.fs, peaks, names)
    per_lead = delineation.dwt_intervals(filtered, record.fs, peaks)
    values, notes = _cross_check(global_, per_lead)
    values["heart_rate_bpm"] = delineation.heart_rate_bpm(peaks, record.fs)
    values["axis_deg"] = global_["axis_deg"]
    return values, notes


def _usable_leads(record: EcgRecord) -> list[int]:
    usable = []
    for i in range(record.signal.shape[1]):
        lead = record.signal[:, i]
        finite = lead[np.isfinite(lead)]
        if finite.size > record.fs and np.ptp(finite) > 0.02:
            usable.append(i)
    return usable


def _reference_lead(filtered: np.ndarray, names: list[str]) -> int:
    for name in ("II", "MLII", "V5", "I"):
        if name in names:
            return names.index(name)
    return int(np.argmax(np.ptp(filtered, axis=0)))


def _cross_check(global_, per_lead) -> tuple[dict[str, float], list[str]]:
    values: dict[str, float] = {}
    notes = []
    for key, tolerance in TOLERANCE_MS.items():
        a, b = global_[key], per_lead[key]
        if math.isfinite(a) and math.isfinite(b) and abs(a - b) > tolerance:
            notes.append(
                f"{key}: delineators disagree (median beat {a:.0f}, dwt {b:.0f}); "
                "left empty"
            )
            values[key] = float("nan")
        elif math.isfinite(a) and math.isfinite(b):
            values[key] = (a + b) / 2
        else:
            values[key] = float("nan")
            if math.isfinite(a) or math.isfinite(b):
                notes.append(f"{key}: only one delineator found it; left empty")
    return values, notes


def _note_difference(key, reported, delineated, notes) -> None:
    tolerance = TOLERANCE_MS.get(key)
    if tolerance and delineated is not None and math.isfinite(delineated):
        if abs(reported - delineated) > tolerance:
            notes.append(
                f"{key}: source reports {reported:.0f}, delineation gives "
                f"{delineated:.0f}; source value kept"
            )


def _drop_implausible(values: dict[str, float], notes: list[str]) -> None:
    for key, (low, high) in PLAUSIBLE.items():
        value = values.get(key, float("nan"))
        if math.isfinite(value) and not low <= value <= high:
            notes.append(f"{key}: {value:.0f} outside [{low:.0f}, {high:.0f}]; dropped")
            values[key] = float("nan")


def bazett_qtc(qt_ms: float, heart_rate_bpm: float) -> float:
    """QT corrected by Bazett's formula, QT / sqrt(RR in seconds)."""
    if not (math.isfinite(qt_ms) and math.isfinite(heart_rate_bpm)):
        return float("nan")
    return qt_ms / math.sqrt(60.0 / heart_rate_bpm)


def feature_row(
    record: EcgRecord, record_id: str, patient_id: str, values: dict
) -> dict:
    """The published row: pseudonyms, generalised demographics, rounded values."""
    row = {
        "record_id": record_id,
        "patient_id": patient_id,
        "source_format": record.source_format,
        "age": capped_age(record.age_years),
        "age_band": age_band(record.age_years),
        "sex": record.sex,
        "labels": ";".join(record.labels),
        "diagnostic_superclasses": ";".join(superclasses(record.labels)),
        "interval_source": values["interval_source"],
    }
    for key in PLAUSIBLE:
        value = values.get(key, float("nan"))
        row[key] = round(value, 1) if math.isfinite(value) else None
    return {column: row[column] for column in COLUMNS}
