"""Read DICOM ECG waveform objects and images.

ECG waveform objects (12-lead, general and ambulatory ECG storage) become an
``EcgRecord`` with the rhythm group's samples in millivolts and the device's
own measurements (PR, QRS, QT, QTc, axis) when it wrote them. Image objects
are carried through de-identification only.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from engine.ingest.demographics import parse_age, parse_sex
from engine.ingest.errors import InvalidDicom
from engine.ingest.record import EcgRecord, standard_lead_name

log = logging.getLogger(__name__)

ECG_WAVEFORM_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.9.1.1": "12-lead ECG Waveform Storage",
    "1.2.840.10008.5.1.4.1.1.9.1.2": "General ECG Waveform Storage",
    "1.2.840.10008.5.1.4.1.1.9.1.3": "Ambulatory ECG Waveform Storage",
}

# SCP-ECG measurement names used by ECG devices -> feature column.
MEASUREMENT_NAMES = {
    "PR Interval": "pr_ms",
    "QRS Duration": "qrs_ms",
    "QT Interval": "qt_ms",
    "QTc Interval": "qtc_ms",
    "QRS Axis": "axis_deg",
    "RR Interval": "rr_ms",
}

_TO_MV = {"uV": 1e-3, "mV": 1.0, "V": 1e3}


@dataclass
class DicomObject:
    """A DICOM object read for de-identification.

    Attributes
    ----------
    origin : str
        Input path, for messages only.
    dataset : Dataset
        The dataset with its file meta information.
    patient_key : str
        Original patient identifier (memory only).
    kind : str
        ``"ecg-waveform"`` or ``"image"``.
    """

    origin: str
    dataset: Dataset
    patient_key: str
    kind: str


def is_dicom_file(path: Path) -> bool:
    """True when the file has the DICM preamble marker or a ``.dcm`` suffix."""
    if path.suffix.lower() in (".dcm", ".dicom"):
        return True
    try:
        with path.open("rb") as handle:
            handle.seek(128)
            return handle.read(4) == b"DICM"
    except OSError:
        return False


def read_dicom(path: str | Path) -> DicomObject:
    """Read a DICOM file and check that it is a supported kind.

    Raises
    ------
    InvalidDicom
        When the file is not DICOM, is truncated, lacks its SOP class, is
        neither an ECG waveform nor an image, or has burned-in annotation.
    """
    path = Path(path)
    ds = _dcmread(path)
    sop_class = str(ds.get("SOPClassUID", ""))
    if not sop_class or "SOPInstanceUID" not in ds:
        raise InvalidDicom(path, "missing SOP Class or SOP Instance UID")
    patient_key = f"dicom:{ds.get('PatientID', '')}:{ds.get('PatientName', '')}"
    if sop_class in ECG_WAVEFORM_CLASSES:
        if "WaveformSequence" not in ds:
            raise InvalidDicom(path, "ECG waveform object without WaveformSequence")
        return DicomObject(str(path), ds, patient_key, "ecg-waveform")
    if "PixelData" in ds:
        if str(ds.get("BurnedInAnnotation", "")).upper() == "YES":
            raise InvalidDicom(
                path,
                "image has burned-in annotation; the basic profile needs pixel "
                "cleaning, which ingest does not do",
            )
        return DicomObject(str(path), ds, patient_key, "image")
    name = getattr(ds.SOPClassUID, "name", sop_class)
    raise InvalidDicom(
        path, f"unsupported SOP class {name}; expected an ECG waveform or an image"
    )


def _dcmread(path: Path) -> Dataset:
    try:
        ds = pydicom.dcmread(path)
        for _ in ds.iterall():  # parse every element now: truncation shows here
            pass
    except InvalidDicomError as exc:
        raise InvalidDicom(path, f"not a DICOM file ({exc})") from exc
    except Exception as exc:  # pydicom raises built-in types on corrupt data
        raise InvalidDicom(
            path, f"corrupt DICOM data ({type(exc).__name__}: {exc})"
        ) from exc
    return ds


def ecg_record(obj: DicomObject) -> EcgRecord:
    """Turn an ECG waveform object into an ``EcgRecord``.

    Raises
    ------
    InvalidDicom
        When no waveform group can be decoded.
    """
    ds = obj.dataset
    index = _rhythm_group(ds)
    group = ds.WaveformSequence[index]
    try:
        raw = ds.waveform_array(index)
    except Exception as exc:  # pydicom's decoder raises built-in types
        raise InvalidDicom(
            obj.origin, f"undecodable waveform data ({type(exc).__name__}: {exc})"
        ) from exc
    fs = float(group.get("SamplingFrequency", 0) or 0)
    if fs <= 0 or raw.ndim != 2 or raw.shape[0] == 0:
        raise InvalidDicom(obj.origin, "waveform group without samples or rate")
    channels = list(group.ChannelDefinitionSequence)
    signal = raw * np.array([_channel_scale(ch) for ch in channels])
    return EcgRecord(
        origin=obj.origin,
        signal=signal,
        fs=fs,
        lead_names=[_lead_name(ch, i) for i, ch in enumerate(channels)],
        source_format="dicom-waveform",
        patient_key=obj.patient_key,
        age_years=_age(ds),
        sex=parse_sex(str(ds.get("PatientSex", ""))),
        measurements=_measurements(ds),
    )


def _rhythm_group(ds: Dataset) -> int:
    """Index of the rhythm group: the first not labelled a median beat."""
    best = 0
    for i, group in enumerate(ds.WaveformSequence):
        label = str(group.get("MultiplexGroupLabel", "")).upper()
        if "MEDIAN" not in label and "AVERAGE" not in label:
            return i
    return best


def _channel_scale(channel: Dataset) -> float:
    """Factor from stored value to millivolts (waveform_array applies the rest)."""
    units = channel.get("ChannelSensitivityUnitsSequence")
    code = str(units[0].CodeValue) if units else "uV"
    return _TO_MV.get(code, 1e-3)


def _lead_name(channel: Dataset, index: int) -> str:
    source = channel.get("ChannelSourceSequence")
    if source and "CodeMeaning" in source[0]:
        return standard_lead_name(str(source[0].CodeMeaning))
    return f"channel {index + 1}"


def _age(ds: Dataset) -> float | None:
    age = parse_age(str(ds.get("PatientAge", "")))
    if age is not None:
        return age
    birth = _date(ds.get("PatientBirthDate"))
    seen = _date(ds.get("StudyDate")) or _date(ds.get("ContentDate"))
    if birth and seen and seen >= birth:
        return (seen - birth).days / 365.25
    return None


def _date(value) -> dt.date | None:
    try:
        return dt.datetime.strptime(str(value or "")[:8], "%Y%m%d").date()
    except ValueError:
        return None


def _measurements(ds: Dataset) -> dict[str, float]:
    found: dict[str, float] = {}
    for item in ds.get("WaveformAnnotationSequence", []):
        names = item.get("ConceptNameCodeSequence")
        if not names or "NumericValue" not in item:
            continue
        column = MEASUREMENT_NAMES.get(str(names[0].get("CodeMeaning", "")))
        try:
            value = float(item.NumericValue)
        except (TypeError, ValueError):
            continue
        if column is None or (value <= 0 and column != "axis_deg"):
            continue
        found.setdefault(column, value)
    if "rr_ms" in found:
        found["heart_rate_bpm"] = 60000.0 / found.pop("rr_ms")
    return found
