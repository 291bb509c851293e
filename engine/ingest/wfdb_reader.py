"""Read WFDB records, checking the header against its signal files first.

``wfdb.rdrecord`` trusts the header: a truncated ``.dat`` file or a header
that declares the wrong length or format comes back as a short read, a
reshape error or silently wrong samples. Each record is therefore checked
before it is read: known storage format, signal files present, file sizes
matching the declared length, and the header's checksums matching the data.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import wfdb

from engine.ingest.demographics import from_header_comments
from engine.ingest.errors import InvalidRecord
from engine.ingest.record import EcgRecord, standard_lead_name

log = logging.getLogger(__name__)

# Bytes per sample of each uncompressed WFDB storage format.
BYTES_PER_SAMPLE = {
    "8": 1.0,
    "16": 2.0,
    "24": 3.0,
    "32": 4.0,
    "61": 2.0,
    "80": 1.0,
    "160": 2.0,
    "212": 1.5,
    "310": 4.0 / 3.0,
    "311": 4.0 / 3.0,
}
# FLAC-compressed formats: readable, but their size says nothing about length.
COMPRESSED_FORMATS = {"508", "516", "524"}


def read_header(header_path: Path):
    """Parse a ``.hea`` file with wfdb, turning its failures into InvalidRecord."""
    record_name = str(header_path.with_suffix(""))
    try:
        header = wfdb.rdheader(record_name)
    except FileNotFoundError as exc:
        raise InvalidRecord(header_path, f"cannot open header: {exc}") from exc
    except Exception as exc:  # wfdb raises many types on malformed headers
        raise InvalidRecord(
            header_path, f"malformed WFDB header ({type(exc).__name__}: {exc})"
        ) from exc
    if isinstance(header, wfdb.MultiRecord):
        raise InvalidRecord(
            header_path,
            "multi-segment WFDB records are not supported; expected a "
            "single-segment record",
        )
    return header


def check_header(header_path: Path, header) -> None:
    """Check the header's own consistency: signals, rate, formats.

    Raises
    ------
    InvalidRecord
        When the header declares no signals, a non-positive sampling rate or
        an unknown storage format.
    """
    if not header.n_sig:
        raise InvalidRecord(header_path, "header declares no signals")
    if not header.fs or header.fs <= 0:
        raise InvalidRecord(
            header_path, f"sampling frequency must be positive, got {header.fs}"
        )
    for name, fmt in zip(header.sig_name, header.fmt, strict=True):
        if fmt not in BYTES_PER_SAMPLE and fmt not in COMPRESSED_FORMATS:
            known = ", ".join(sorted(BYTES_PER_SAMPLE, key=int))
            raise InvalidRecord(
                header_path,
                f"signal {name!r} has unknown storage format {fmt!r}; "
                f"expected one of {known}",
            )


def check_signal_files(header_path: Path, header) -> None:
    """Compare each signal file's size with what the header declares.

    Raises
    ------
    InvalidRecord
        When a signal file is missing, shorter than the declared length
        (truncated) or longer (the header disagrees with the file).
    """
    folder = header_path.parent
    for file_name, signals in _signals_by_file(header).items():
        path = folder / file_name
        if not path.is_file():
            raise InvalidRecord(path, "signal file named in the header is missing")
        formats = {header.fmt[i] for i in signals}
        if len(formats) != 1:
            raise InvalidRecord(
                path, f"one signal file holds several formats {sorted(formats)}"
            )
        fmt = formats.pop()
        if fmt in COMPRESSED_FORMATS or header.sig_len is None:
            continue
        _check_size(path, header, signals, fmt)


def _signals_by_file(header) -> dict[str, list[int]]:
    files: dict[str, list[int]] = {}
    for i, name in enumerate(header.file_name):
        files.setdefault(name, []).append(i)
    return files


def _check_size(path: Path, header, signals: list[int], fmt: str) -> None:
    frames = sum((header.samps_per_frame or [1] * header.n_sig)[i] for i in signals)
    offset = (header.byte_offset or [None])[signals[0]] or 0
    samples = frames * header.sig_len
    if fmt in ("310", "311"):
        expected = offset + math.ceil(samples / 3) * 4
    else:
        expected = offset + math.ceil(samples * BYTES_PER_SAMPLE[fmt])
    actual = path.stat().st_size
    held = int((actual - offset) / BYTES_PER_SAMPLE[fmt]) // max(frames, 1)
    if actual < expected:
        raise InvalidRecord(
            path,
            f"truncated signal file: {actual} bytes hold {held} samples per "
            f"signal, header declares {header.sig_len} (expected {expected} "
            f"bytes in format {fmt})",
        )
    if actual > expected + 1:
        raise InvalidRecord(
            path,
            f"header disagrees with signal file: {actual} bytes hold {held} "
            f"samples per signal, header declares {header.sig_len} (expected "
            f"{expected} bytes in format {fmt})",
        )


def read_signals(header_path: Path, header) -> tuple[np.ndarray, list[str]]:
    """Read the digital samples, verify checksums, return physical millivolts.

    Returns
    -------
    signal : ndarray, shape (n_samples, n_leads)
        Physical values in mV, NaN where a sample was invalid.
    units : list of str
        The units the header gave, one per lead.

    Raises
    ------
    InvalidRecord
        When wfdb cannot read the samples or a checksum disagrees.
    """
    record_name = str(header_path.with_suffix(""))
    try:
        record = wfdb.rdrecord(record_name, physical=False)
    except Exception as exc:  # wfdb's own errors are of many built-in types
        raise InvalidRecord(
            header_path, f"unreadable signal data ({type(exc).__name__}: {exc})"
        ) from exc
    _check_checksums(header_path, record)
    signal = record.dac(return_res=64)
    if signal is None or signal.ndim != 2 or signal.shape[0] == 0:
        raise InvalidRecord(header_path, "record holds no samples")
    return _to_millivolts(header_path, signal, record.units), list(record.units)


def _check_checksums(header_path: Path, record) -> None:
    if not record.checksum:
        return
    computed = record.calc_checksum()
    for name, declared, actual in zip(
        record.sig_name, record.checksum, computed, strict=True
    ):
        if declared is not None and (declared - actual) % 65536 != 0:
            raise InvalidRecord(
                header_path,
                f"header disagrees with signal file: checksum of signal {name!r} "
                f"is {actual % 65536}, header declares {declared % 65536}",
            )


_TO_MV = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "v": 1e3}


def _to_millivolts(path: Path, signal: np.ndarray, units: list[str]) -> np.ndarray:
    out = np.array(signal, dtype=np.float64)
    for i, unit in enumerate(units):
        scale = _TO_MV.get((unit or "mV").strip().lower())
        if scale is None:
            log.debug("%s: lead %d has unit %r; kept unscaled", path, i, unit)
            continue
        out[:, i] *= scale
    return out


def read_wfdb(header_path: str | Path, source_format: str = "wfdb") -> EcgRecord:
    """Read and check one WFDB record.

    Parameters
    ----------
    header_path : str or Path
        The record's ``.hea`` file.
    source_format : str
        Recorded in the returned record (``"wfdb"`` or ``"ptbxl"``).

    Returns
    -------
    EcgRecord
        Signals in mV with age and sex parsed from the header comments; the
        comments themselves are not carried over.

    Raises
    ------
    InvalidRecord
        With the file and problem, for every check described in this module.
    """
    header_path = Path(header_path)
    header = read_header(header_path)
    check_header(header_path, header)
    check_signal_files(header_path, header)
    signal, _ = read_signals(header_path, header)
    comments = list(header.comments or [])
    age, sex = from_header_comments(comments)
    record = EcgRecord(
        origin=str(header_path),
        signal=signal,
        fs=float(header.fs),
        lead_names=[standard_lead_name(n) for n in header.sig_name],
        source_format=source_format,
        patient_key=f"wfdb:{header_path.resolve().with_suffix('')}",
        age_years=age,
        sex=sex,
    )
    _note_header_changes(record, header, comments)
    return record


def _note_header_changes(record: EcgRecord, header, comments: list[str]) -> None:
    record.deid_actions.append("record name replaced by a pseudonym")
    if comments:
        record.deid_actions.append(
            f"{len(comments)} header comment lines removed; only age (capped, "
            "banded) and sex kept from them"
        )
    if header.base_date is not None or header.base_time is not None:
        record.deid_actions.append("base date and time removed from the record line")
