"""Ingest a source: find its inputs, read, check, de-identify and write them.

The output folder holds::

    records/<record_id>.hea, .dat   de-identified WFDB records (16-bit, mV)
    dicom/<record_id>.dcm           de-identified DICOM objects
    features.parquet, features.csv  one row per ECG record
    quality.json                    per record and for the source
    deid_log.json                   what was changed, never the values
    source.json                     name, legal basis, purpose, counts, files

It is written to a hidden temporary folder beside the target and renamed
into place at the end, so an interrupted or failed ingest leaves nothing.
A bad input is reported and skipped; the rest of the batch goes on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import wfdb

from engine.ingest import dicom_reader, ptbxl
from engine.ingest.demographics import age_band
from engine.ingest.dicom_deid import DicomDeidentifier
from engine.ingest.errors import EmptySource, IngestError, InvalidDicom
from engine.ingest.features import COLUMNS, feature_row, measure
from engine.ingest.manifest import check_name, legal_basis_iris, purpose_iris
from engine.ingest.pseudonyms import Pseudonyms
from engine.ingest.quality import record_quality, source_quality
from engine.ingest.record import EcgRecord
from engine.ingest.wfdb_reader import read_wfdb

log = logging.getLogger(__name__)

FORMAT_NAMES = {"wfdb": "WFDB", "ptbxl": "PTB-XL", "dicom": "DICOM"}


@dataclass
class IngestResult:
    """What an ingest produced.

    Attributes
    ----------
    out_dir : Path
        The finished output folder.
    n_records : int
        ECG records in the feature table.
    n_objects : int
        De-identified DICOM objects written (waveforms and images).
    problems : list of IngestError
        Inputs that were skipped, each naming its file and problem.
    """

    out_dir: Path
    n_records: int
    n_objects: int
    problems: list[IngestError] = field(default_factory=list)


def discover(path: Path) -> Iterator[tuple[str, Path] | IngestError]:
    """Yield ``(kind, path)`` for each input under ``path``, or an error.

    Kinds are ``"wfdb"`` (a header file), ``"dicom"`` and ``"ptbxl"`` (a
    folder with ``ptbxl_database.csv``, whose records are not listed again).
    Empty folders and signal files without a header are reported as errors.
    """
    if path.is_file():
        yield _classify_file(path)
        return
    for folder, subfolders, files in os.walk(path):
        folder_path = Path(folder)
        subfolders.sort()
        if ptbxl.is_ptbxl_root(folder_path):
            subfolders.clear()
            yield ("ptbxl", folder_path)
            continue
        if not files and not subfolders:
            yield EmptySource(folder_path, "empty folder")
            continue
        yield from _classify_folder_files(folder_path, sorted(files))


def _classify_file(path: Path) -> tuple[str, Path] | IngestError:
    if path.suffix == ".hea":
        return ("wfdb", path)
    if path.name == ptbxl.DATABASE:
        return ("ptbxl", path.parent)
    if dicom_reader.is_dicom_file(path):
        return ("dicom", path)
    return EmptySource(path, "not a WFDB header, a DICOM file or a PTB-XL database")


def _classify_folder_files(folder: Path, files: list[str]):
    headers = {Path(name).stem for name in files if name.endswith(".hea")}
    for name in files:
        path = folder / name
        if name.endswith(".hea"):
            yield ("wfdb", path)
        elif name.endswith(".dat") and path.stem not in headers:
            if not _named_by_a_header(folder, name):
                yield EmptySource(path, "signal file without a WFDB header")
        elif dicom_reader.is_dicom_file(path):
            yield ("dicom", path)
        else:
            log.debug("skipped %s: not an input kind", path)


def _named_by_a_header(folder: Path, dat_name: str) -> bool:
    for header in folder.glob("*.hea"):
        try:
            if dat_name in header.read_text(errors="replace"):
                return True
        except OSError:
            continue
    return False


class _SourceWriter:
    """Writes records into the temporary output folder as they are read."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pseudonyms = Pseudonyms()
        self.dicom_deid = DicomDeidentifier(self.pseudonyms)
        self.rows: list[dict] = []
        self.quality: dict[str, dict] = {}
        self.deid: dict[str, list[str]] = {}
        self.formats: Counter[str] = Counter()
        self.n_objects = 0
        (folder / "records").mkdir()
        (folder / "dicom").mkdir()

    def add_record(self, record: EcgRecord, record_id: str | None = None) -> None:
        record_id = record_id or self.pseudonyms.record_id()
        patient_id = self.pseudonyms.patient_id(record.patient_key)
        values, notes = measure(record)
        row = feature_row(record, record_id, patient_id, values)
        quality = record_quality(record)
        quality["measurement_notes"] = notes
        self._write_wfdb(record, record_id, row)
        self.rows.append(row)
        self.quality[record_id] = quality
        self.deid.setdefault(record_id, []).extend(record.deid_actions)
        self.formats[record.source_format] += 1

    def _write_wfdb(self, record: EcgRecord, record_id: str, row: dict) -> None:
        comments = [f"sex: {row['sex'] or 'unknown'}"]
        comments.insert(0, f"age_band: {age_band(record.age_years) or 'unknown'}")
        if row["labels"]:
            comments.append(f"labels: {row['labels']}")
        n_leads = record.signal.shape[1]
        wfdb.wrsamp(
            record_id,
            fs=record.fs,
            units=["mV"] * n_leads,
            sig_name=list(record.lead_names),
            p_signal=record.signal,
            fmt=["16"] * n_leads,
            comments=comments,
            write_dir=str(self.folder / "records"),
        )

    def add_dicom(self, obj: dicom_reader.DicomObject) -> None:
        record = dicom_reader.ecg_record(obj) if obj.kind == "ecg-waveform" else None
        record_id = self.pseudonyms.record_id()
        actions = self.dicom_deid.apply(obj.dataset, obj.patient_key)
        try:
            obj.dataset.save_as(self.folder / "dicom" / f"{record_id}.dcm")
        except (ValueError, TypeError, AttributeError) as exc:
            raise InvalidDicom(obj.origin, f"cannot be written back ({exc})") from exc
        self.deid[record_id] = ["DICOM " + line for line in actions]
        self.n_objects += 1
        if record is not None:
            self.add_record(record, record_id)
        else:
            self.quality[record_id] = _image_quality(obj)
            self.formats["dicom"] += 1

    def finish(self, name, legal_basis, purpose, problems) -> None:
        self.rows.sort(key=lambda row: row["record_id"])
        table = pd.DataFrame(self.rows, columns=COLUMNS).astype({"age": "Int64"})
        table.to_parquet(self.folder / "features.parquet", index=False)
        table.to_csv(self.folder / "features.csv", index=False)
        records = {k: v for k, v in self.quality.items() if "fs_hz" in v}
        quality = {
            "source": source_quality(records, self.rows),
            "records": dict(sorted(self.quality.items())),
        }
        _write_json(self.folder / "quality.json", quality)
        _write_json(self.folder / "deid_log.json", self._deid_log())
        source = {
            "name": name,
            "legal_basis": legal_basis,
            "purpose": purpose,
            "record_count": len(self.rows),
            "object_count": self.n_objects,
            "formats": sorted(FORMAT_NAMES[_family(k)] for k in self._families()),
            "rejected_inputs": len(problems),
            "ingested": dt.date.today().isoformat(),
            "files": _file_list(self.folder),
        }
        _write_json(self.folder / "source.json", source)

    def _families(self) -> set[str]:
        return {_family(kind) for kind in self.formats}

    def _deid_log(self) -> dict:
        summary = Counter(line for lines in self.deid.values() for line in lines)
        return {
            "methods": [
                "WFDB: record names replaced by random pseudonyms; header "
                "comments reduced to age band, sex and labels; base date and "
                "time removed",
                "DICOM: PS3.15 Annex E basic profile, UIDs remapped, dates "
                "shifted per patient, times emptied, private elements and "
                "free text removed",
                "ages over 89 reported as 90+",
            ],
            "summary": dict(sorted(summary.items())),
            "records": dict(sorted(self.deid.items())),
        }


def _family(kind: str) -> str:
    return "dicom" if kind.startswith("dicom") else kind


def _image_quality(obj: dicom_reader.DicomObject) -> dict:
    ds = obj.dataset
    return {
        "kind": "image",
        "modality": str(ds.get("Modality", "")),
        "rows": int(ds.get("Rows", 0) or 0),
        "columns": int(ds.get("Columns", 0) or 0),
        "frames": int(ds.get("NumberOfFrames", 1) or 1),
    }


def _write_json(path: Path, content) -> None:
    path.write_text(json.dumps(content, indent=2, allow_nan=False) + "\n")


def _file_list(folder: Path) -> dict[str, dict]:
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        files[path.relative_to(folder).as_posix()] = {
            "bytes": path.stat().st_size,
            "sha256": digest,
        }
    return files


def ingest(
    path: str | Path,
    out_dir: str | Path,
    *,
    legal_basis: list[str],
    purpose: list[str],
    name: str | None = None,
) -> IngestResult:
    """Ingest every input under ``path`` into the new folder ``out_dir``.

    Parameters
    ----------
    path : str or Path
        A WFDB header, a DICOM file, a PTB-XL folder or a folder of any of them.
    out_dir : str or Path
        Output folder; must not exist yet.
    legal_basis : list of str
        GDPR Art. 6(1) and Art. 9(2) bases (see ``engine.ingest.manifest``).
    purpose : list of str
        DPV purposes.
    name : str, optional
        Source name; the output folder's name by default.

    Returns
    -------
    IngestResult

    Raises
    ------
    InvalidManifest
        When the legal basis, purpose or name is not accepted.
    IngestError
        When ``out_dir`` exists, ``path`` does not, or no input is usable;
        nothing is written then.
    """
    path, out_dir = Path(path), Path(out_dir)
    bases, purposes = legal_basis_iris(legal_basis), purpose_iris(purpose)
    name = check_name(name or out_dir.name)
    if out_dir.exists():
        raise IngestError(out_dir, "output folder already exists; choose a new one")
    if not path.exists():
        raise EmptySource(path, "no such file or folder")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(
        tempfile.mkdtemp(
            prefix=f".{out_dir.name}.", suffix=".partial", dir=out_dir.parent
        )
    )
    try:
        writer, problems = _read_all(path, temporary)
        if not writer.rows and not writer.n_objects:
            error = EmptySource(path, _nothing_usable(problems))
            error.problems = problems
            raise error
        writer.finish(name, bases, purposes, problems)
        os.rename(temporary, out_dir)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    log.info("ingested %d records from %s into %s", len(writer.rows), path, out_dir)
    return IngestResult(out_dir, len(writer.rows), writer.n_objects, problems)


def _read_all(path: Path, folder: Path) -> tuple[_SourceWriter, list[IngestError]]:
    writer = _SourceWriter(folder)
    problems: list[IngestError] = []
    for found in discover(path):
        if isinstance(found, IngestError):
            problems.append(found)
            continue
        kind, input_path = found
        for problem in _read_one(writer, kind, input_path):
            log.debug("skipped: %s", problem)
            problems.append(problem)
    return writer, problems


def _read_one(writer: _SourceWriter, kind: str, path: Path) -> list[IngestError]:
    try:
        if kind == "wfdb":
            writer.add_record(read_wfdb(path))
        elif kind == "dicom":
            writer.add_dicom(dicom_reader.read_dicom(path))
        else:
            return _read_ptbxl(writer, path)
    except IngestError as exc:
        return [exc]
    return []


def _read_ptbxl(writer: _SourceWriter, root: Path) -> list[IngestError]:
    problems = []
    for item in ptbxl.read_ptbxl(root):
        if isinstance(item, IngestError):
            problems.append(item)
        else:
            writer.add_record(item)
    return problems


def _nothing_usable(problems: list[IngestError]) -> str:
    if problems:
        return f"no usable input; {len(problems)} inputs rejected"
    return "no WFDB header, DICOM file or PTB-XL database found"
