"""DICOM export of a simulation run: 12-lead ECG Waveform Storage objects.

Every WFDB record of a finished run becomes one DICOM file (SOP class
1.2.840.10008.5.1.4.1.1.9.1.1) holding the 12 leads as signed 16-bit samples
with a channel sensitivity of 1 uV, so the waveform equals the WFDB record's
digital values. Identifiers are synthetic only: the patient name and ID are
the record name, UIDs are derived from the run's spec digest and the record
name (the same run exports to the same UIDs), and dates are fixed to
1970-01-01 because a virtual patient has no date of examination.
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import wfdb
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from engine.atomic import write_bytes

log = logging.getLogger(__name__)

ECG_12_LEAD_STORAGE = "1.2.840.10008.5.1.4.1.1.9.1.1"
#: SCP-ECG lead codes (coding scheme SCPECG) of the 12 standard leads.
SCPECG_LEADS = {
    "I": ("5.6.3-9-1", "Lead I"),
    "II": ("5.6.3-9-2", "Lead II"),
    "III": ("5.6.3-9-61", "Lead III"),
    "aVR": ("5.6.3-9-62", "aVR, augmented voltage, right"),
    "aVL": ("5.6.3-9-63", "aVL, augmented voltage, left"),
    "aVF": ("5.6.3-9-64", "aVF, augmented voltage, foot"),
    "V1": ("5.6.3-9-3", "Lead V1"),
    "V2": ("5.6.3-9-4", "Lead V2"),
    "V3": ("5.6.3-9-5", "Lead V3"),
    "V4": ("5.6.3-9-6", "Lead V4"),
    "V5": ("5.6.3-9-7", "Lead V5"),
    "V6": ("5.6.3-9-8", "Lead V6"),
}
SYNTHETIC_DATE = "19700101"
SENSITIVITY_UV = 1.0


class ExportError(ValueError):
    """A run folder cannot be exported; the message names the file."""


@dataclass
class ExportSummary:
    """Files written and records that could not be exported."""

    written: list[Path] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def _channel(lead: str) -> Dataset:
    code, meaning = SCPECG_LEADS[lead]
    channel = Dataset()
    channel.ChannelSourceSequence = Sequence([_code(code, "SCPECG", meaning)])
    channel.ChannelSensitivity = SENSITIVITY_UV
    channel.ChannelSensitivityUnitsSequence = Sequence(
        [_code("uV", "UCUM", "microvolt")]
    )
    channel.ChannelSensitivityCorrectionFactor = 1
    channel.ChannelBaseline = 0
    channel.ChannelSampleSkew = 0
    channel.WaveformBitsStored = 16
    return channel


def _waveform(digital_uv: np.ndarray, fs: float, leads: list[str]) -> Dataset:
    group = Dataset()
    group.MultiplexGroupTimeOffset = 0
    group.WaveformOriginality = "DERIVED"
    group.NumberOfWaveformChannels = len(leads)
    group.NumberOfWaveformSamples = digital_uv.shape[0]
    group.SamplingFrequency = fs
    group.MultiplexGroupLabel = "RHYTHM"
    group.ChannelDefinitionSequence = Sequence([_channel(lead) for lead in leads])
    group.WaveformBitsAllocated = 16
    group.WaveformSampleInterpretation = "SS"
    group.WaveformData = digital_uv.astype("<i2").tobytes()
    return group


def _uid(digest: str, record: str, part: str) -> str:
    return generate_uid(entropy_srcs=[digest, record, part])


def to_dataset(record: wfdb.Record, row: dict, digest: str) -> FileDataset:
    """One 12-lead ECG Waveform Storage object from a WFDB record.

    Parameters
    ----------
    record : wfdb.Record
        Read with ``physical=False`` (digital values, 1 unit per uV).
    row : dict
        The record's row of the run's feature table (``age``, ``sex``).
    digest : str
        SHA-256 of the run's spec, seeding the UIDs.
    """
    name = record.record_name
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ECG_12_LEAD_STORAGE
    meta.MediaStorageSOPInstanceUID = _uid(digest, name, "instance")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = ECG_12_LEAD_STORAGE
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = _uid(digest, name, "study")
    ds.SeriesInstanceUID = _uid(digest, name, "series")
    ds.PatientName = f"Synthetic^{name}"
    ds.PatientID = name
    ds.PatientBirthDate = ""
    ds.PatientSex = str(row.get("sex", ""))
    ds.PatientAge = f"{min(int(row['age']), 90):03d}Y" if "age" in row else ""
    ds.PatientIdentityRemoved = "YES"
    ds.StudyDate = ds.ContentDate = SYNTHETIC_DATE
    ds.StudyTime = ds.ContentTime = "000000"
    ds.AcquisitionDateTime = SYNTHETIC_DATE + "000000"
    ds.ReferringPhysicianName = ""
    ds.StudyID = name
    ds.AccessionNumber = ""
    ds.Modality = "ECG"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.Manufacturer = "cardiofair (synthetic)"
    ds.AcquisitionContextSequence = Sequence([])
    gain = np.asarray(record.adc_gain, dtype=float)
    digital_uv = np.rint(record.d_signal * (1000.0 / gain) / SENSITIVITY_UV)
    ds.WaveformSequence = Sequence(
        [_waveform(digital_uv, record.fs, list(record.sig_name))]
    )
    return ds


def _records(run_dir: Path) -> tuple[list[str], str]:
    manifest_path = run_dir / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExportError(
            f"{manifest_path}: missing; expected a finished `cardiofair simulate` run"
        ) from None
    except (OSError, ValueError) as exc:
        raise ExportError(f"{manifest_path}: cannot be read ({exc})") from None
    return [
        entry["path"][: -len(".hea")]
        for entry in manifest.get("files", [])
        if entry.get("path", "").endswith(".hea")
    ], manifest["spec"]["sha256"]


def export_run(run_dir: str | Path, out_dir: str | Path) -> ExportSummary:
    """Write ``OUT/<record>.dcm`` for every record of a finished run.

    A record that cannot be read or converted is reported in
    ``summary.failed`` (one line naming the file) and the export goes on;
    every file is written atomically.

    Raises
    ------
    ExportError
        If ``run_dir`` is not a finished run.
    """
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    records, digest = _records(run_dir)
    try:
        table = pd.read_parquet(run_dir / "features.parquet")
    except Exception as exc:  # pyarrow raises many kinds
        raise ExportError(
            f"{run_dir / 'features.parquet'}: cannot be read ({exc})"
        ) from None
    table = table.set_index("ecg_id")
    summary = ExportSummary()
    for relative in records:
        name = Path(relative).name
        try:
            record = wfdb.rdrecord(str(run_dir / relative), physical=False)
            ds = to_dataset(record, table.loc[name].to_dict(), digest)
            buffer = io.BytesIO()
            ds.save_as(buffer, enforce_file_format=True)
        except Exception as exc:  # wfdb and pydicom raise many kinds
            summary.failed.append(f"{run_dir / relative}.hea: {exc}")
            log.warning("not exported: %s.hea: %s", run_dir / relative, exc)
            continue
        path = out_dir / f"{name}.dcm"
        write_bytes(path, buffer.getvalue())
        summary.written.append(path)
    log.info("exported %d DICOM files to %s", len(summary.written), out_dir)
    return summary
