"""Simulation runs: a cohort spec and a size in, a folder of files out.

Layout of a finished run folder::

    manifest.json        what was made, from what, with SHA-256 of every file
    spec.toml            the spec exactly as it was read
    features.parquet     one row per patient (also features.csv)
    features.csv
    records/00000/p000001.hea, .dat, .atr   WFDB record and its annotations
    ...

Patients are simulated in chunks of :data:`CHUNK_SIZE`. A chunk's files are
written atomically, then its journal (``.run/chunks/NNNNN.json``) records its
feature rows and file digests; a run that is interrupted and started again
with the same spec, size and seed skips every chunk that has a journal. The
tables and the manifest are written last, atomically, and ``.run/`` is then
removed: a folder with a ``manifest.json`` is a complete run.

The engine is reached through one function, :func:`simulate_chunk`, which
runs unchanged on this machine or on a Dask worker
(:mod:`engine.distributed`), so both write the same bytes.
"""

from __future__ import annotations

import io
import json
import logging
import math
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from engine.atomic import sha256_file, write_bytes, write_text
from engine.cohort import spec as cohort_spec
from engine.cohort.labels import diagnostic_class
from engine.cohort.measure import Simulated, features
from engine.cohort.sampling import sample_patients
from engine.cohort.spec import FEATURE_UNITS, CohortSpec
from engine.records import header_comments, record_folder, render

log = logging.getLogger(__name__)

CHUNK_SIZE = 32
FORMAT = "cardiofair-cohort-run/1"
STATE_DIR = ".run"

#: simulate(spec, rows, threads) -> one Simulated or an exception per row.
Simulator = Callable[[CohortSpec, pd.DataFrame, int], list]


class RunError(ValueError):
    """A run cannot start or continue; the message names the file or option."""


@dataclass
class ChunkResult:
    """What one chunk of patients produced.

    Attributes
    ----------
    index : int
        Chunk number.
    rows : list of dict
        One feature row per successfully simulated patient.
    files : dict of str to bytes
        Path relative to the run folder to file content.
    failed : list of dict
        ``{"record", "error"}`` for each patient the engine refused.
    seconds_simulating, seconds_rendering : float
        Wall time in the engine and in encoding the files (WFDB, annotations).
    """

    index: int
    rows: list[dict]
    files: dict[str, bytes]
    failed: list[dict] = field(default_factory=list)
    seconds_simulating: float = 0.0
    seconds_rendering: float = 0.0


@dataclass
class RunSummary:
    """Outcome of :func:`run_cohort`."""

    out_dir: Path
    n_patients: int
    simulated: int
    resumed_chunks: int
    failed: list[dict]
    seconds_simulating: float = 0.0
    seconds_writing: float = 0.0

    def add(self, result: ChunkResult) -> None:
        """Count a finished chunk (its files are written)."""
        self.simulated += len(result.rows)
        self.failed.extend(result.failed)
        self.seconds_simulating += result.seconds_simulating
        self.seconds_writing += result.seconds_rendering


#: The leading columns of features.parquet / .csv; ``target_*``, ``param_*``
#: and ``engine_seed`` follow.
BASE_COLUMNS = [
    "ecg_id", "path", "age", "age_band", "sex", *FEATURE_UNITS, "qtc_ms",
    "labels", "diagnostic_superclasses",
]  # fmt: skip


def _age_band(age: int) -> str:
    if age >= 90:
        return "90+"
    low = age // 10 * 10
    return f"{low}-{low + 9}"


def _feature_row(row: pd.Series, sim: Simulated, folder: str) -> dict:
    measured = features(sim)
    out = {
        # PTB-XL's name for the row key; it names a synthetic file, no person.
        "ecg_id": row["record"],
        "path": f"{folder}/{row['record']}",
        # HIPAA Safe Harbor: ages over 89 are published as 90 ("90+").
        "age": min(int(row["age"]), 90),
        "age_band": _age_band(int(row["age"])),
        "sex": row["sex"],
    }
    for name in (*FEATURE_UNITS, "qtc_ms"):
        value = measured[name]
        out[name] = round(value, 1) if math.isfinite(value) else math.nan
    out["labels"] = row["labels"]
    out["diagnostic_superclasses"] = diagnostic_class(row["labels"])
    for column, value in row.items():
        if column.startswith(("target_", "param_")):
            out[column] = float(value)
    out["engine_seed"] = int(row["engine_seed"])
    return out


def simulate_chunk(
    spec: CohortSpec,
    rows: pd.DataFrame,
    index: int,
    threads: int,
    engine_version: str,
    simulator: Simulator | None = None,
) -> ChunkResult:
    """Simulate one chunk of patients and render their files in memory.

    Parameters
    ----------
    spec : CohortSpec
    rows : DataFrame
        Rows of :func:`engine.cohort.sample_patients` with their original
        index (the patient number).
    index : int
        Chunk number, for the journal.
    threads : int
        Engine threads.
    engine_version : str
        Written into each header.
    simulator : callable, optional
        Replaces the engine (tests of the run machinery only).
    """
    if simulator is None:
        from engine.cohort.backend import simulate_rows as simulator
    start = time.perf_counter()
    results = simulator(spec, rows, threads)
    out = ChunkResult(index, [], {}, seconds_simulating=time.perf_counter() - start)
    start = time.perf_counter()
    for (patient, row), sim in zip(rows.iterrows(), results, strict=True):
        if isinstance(sim, Exception):
            out.failed.append({"record": row["record"], "error": str(sim)})
            continue
        folder = record_folder(int(patient))
        comments = header_comments(row["labels"], engine_version)
        rhythm = "AFIB" if row["labels"] == "AFIB" else "N"
        for name, data in render(row["record"], sim, comments, rhythm).items():
            out.files[f"{folder}/{name}"] = data
        out.rows.append(_feature_row(row, sim, folder))
    out.seconds_rendering = time.perf_counter() - start
    return out


def _journal_path(out_dir: Path, index: int) -> Path:
    return out_dir / STATE_DIR / "chunks" / f"{index:05d}.json"


def write_chunk(out_dir: Path, result: ChunkResult) -> None:
    """Write a chunk's files atomically, then its journal (the commit point).

    Record files are renamed into place without waiting for the disk
    (``fsync`` would cost more than encoding them); the journal is durable
    and holds their digests, and a resumed run checks them
    (:func:`committed_chunks`), so a chunk whose files were lost is redone.
    """
    digests = {}
    for relative, data in result.files.items():
        write_bytes(out_dir / relative, data, durable=False)
        digests[relative] = _sha256(data)
    journal = {"rows": result.rows, "files": digests, "failed": result.failed}
    write_text(_journal_path(out_dir, result.index), json.dumps(journal))


def committed_chunks(out_dir: Path, n_chunks: int, verify: bool) -> set[int]:
    """Chunks whose journal exists and, with ``verify``, whose files still
    have the digests the journal recorded."""
    done = set()
    for index in range(n_chunks):
        path = _journal_path(out_dir, index)
        if not path.exists():
            continue
        if verify:
            files = json.loads(path.read_text(encoding="utf-8"))["files"]
            intact = all(
                (out_dir / rel).is_file() and sha256_file(out_dir / rel) == digest
                for rel, digest in files.items()
            )
            if not intact:
                log.warning("chunk %d of %s changed since it was written; "
                            "simulating it again", index, out_dir)  # fmt: skip
                path.unlink()
                continue
        done.add(index)
    return done


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _run_key(spec_text: str, n: int, seed: int, engine_version: str) -> dict:
    return {
        "spec_sha256": _sha256(spec_text.encode("utf-8")),
        "n_patients": n,
        "seed": seed,
        "engine_version": engine_version,
        "chunk_size": CHUNK_SIZE,
    }


def prepare_folder(out_dir: Path, key: dict) -> bool:
    """Check ``out_dir`` can take this run; return True if it resumes one.

    Raises
    ------
    RunError
        If the folder holds a finished run, a different unfinished run, or
        other files.
    """
    state = out_dir / STATE_DIR / "run.json"
    if out_dir.exists() and not out_dir.is_dir():
        raise RunError(f"{out_dir}: is a file; expected a new or empty folder")
    if (out_dir / "manifest.json").exists():
        raise RunError(
            f"{out_dir}: already holds a finished run (manifest.json); choose "
            "an empty folder"
        )
    if state.exists():
        previous = json.loads(state.read_text(encoding="utf-8"))
        if previous != key:
            changed = next(k for k in key if previous.get(k) != key[k])
            raise RunError(
                f"{out_dir}: holds an unfinished run with a different {changed} "
                f"({previous.get(changed)!r}, now {key[changed]!r}); rerun it "
                "with the same options or choose an empty folder"
            )
        return True
    if out_dir.exists() and any(out_dir.iterdir()):
        raise RunError(f"{out_dir}: is not empty; expected a new or empty folder")
    write_text(state, json.dumps(key, indent=2))
    return False


def chunks(table: pd.DataFrame) -> list[pd.DataFrame]:
    """The patient table cut into chunks of :data:`CHUNK_SIZE` rows."""
    return [table.iloc[i : i + CHUNK_SIZE] for i in range(0, len(table), CHUNK_SIZE)]


def _splits(spec: CohortSpec, spec_path: Path) -> dict | None:
    recorded = spec.fit.get("splits")
    if not recorded:
        return None
    out = {}
    for side in ("train", "control"):
        entry = recorded.get(side, {})
        path = (spec_path.parent / entry.get("path", "")).resolve()
        if not path.is_file():
            raise RunError(
                f"{spec_path}: [fit.splits.{side}] names {path}, which is missing; "
                "the release gate needs it (refit or restore the file)"
            )
        digest = sha256_file(path)
        if digest != entry.get("sha256"):
            raise RunError(
                f"{path}: its SHA-256 differs from [fit.splits.{side}.sha256] in "
                f"{spec_path}; the split changed after fitting"
            )
        out[side] = {"path": str(path), "sha256": digest, "rows": entry.get("rows")}
    return out


def _table_bytes(rows: list[dict]) -> tuple[bytes, bytes]:
    table = pd.DataFrame(rows) if rows else pd.DataFrame(columns=BASE_COLUMNS)
    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False)
    return buffer.getvalue(), table.to_csv(index=False).encode("utf-8")


def finish(
    out_dir: Path, n_chunks: int, spec_text: str, manifest_head: dict
) -> list[dict]:
    """Assemble the tables and manifest from the journals; remove ``.run/``.

    Returns
    -------
    list of dict
        The patients that failed.
    """
    rows, files, failed = [], {}, []
    for index in range(n_chunks):
        journal = json.loads(_journal_path(out_dir, index).read_text("utf-8"))
        rows.extend(journal["rows"])
        files.update(journal["files"])
        failed.extend(journal["failed"])
    parquet, csv = _table_bytes(rows)
    write_bytes(out_dir / "features.parquet", parquet)
    write_bytes(out_dir / "features.csv", csv)
    write_text(out_dir / "spec.toml", spec_text)
    for name, data in (
        ("features.parquet", parquet),
        ("features.csv", csv),
        ("spec.toml", spec_text.encode("utf-8")),
    ):
        files[name] = _sha256(data)
    manifest = dict(manifest_head)
    manifest["simulated"] = len(rows)
    manifest["failed"] = failed
    manifest["files"] = [
        {"path": path, "sha256": digest} for path, digest in sorted(files.items())
    ]
    write_text(out_dir / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    shutil.rmtree(out_dir / STATE_DIR)
    return failed


def _manifest_head(spec: CohortSpec, spec_path: Path, key: dict) -> dict:
    return {
        "format": FORMAT,
        "synthetic": True,
        "cohort": spec.name,
        "n_patients": key["n_patients"],
        "seed": key["seed"],
        "engine_version": key["engine_version"],
        "fs_hz": spec.fs_hz,
        "duration_s": spec.duration_s,
        "leads": ["I", "II", "III", "aVR", "aVL", "aVF"]
        + [f"V{i}" for i in range(1, 7)],
        "adc_gain_per_mv": 1000.0,
        "spec": {
            "file": "spec.toml",
            "sha256": key["spec_sha256"],
            "content": cohort_spec.to_dict(spec),
        },
        "splits": _splits(spec, spec_path),
        "labels": "SCP-ECG statements as in PTB-XL (scp_statements.csv)",
    }


def engine_version() -> str:
    """Version string of the compiled engine."""
    from engine.simulation import version

    return version()


def run_cohort(
    spec_path: str | Path,
    n: int,
    out_dir: str | Path,
    *,
    threads: int = 1,
    seed: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    simulator: Simulator | None = None,
    version: str | None = None,
) -> RunSummary:
    """Simulate ``n`` patients of a spec into ``out_dir``; resume if interrupted.

    Parameters
    ----------
    spec_path : path
        Cohort spec (TOML).
    n : int
        Number of patients.
    out_dir : path
        A new or empty folder, or one holding an unfinished run of the same
        spec, size and seed.
    threads : int
        Engine threads on this machine (ignored with ``scheduler``).
    seed : int, optional
        Overrides the spec's seed.
    scheduler : str, optional
        ``tcp://HOST:PORT`` of a Dask scheduler, or a ``distributed.Client``.
    progress : callable, optional
        Called with (patients done, n) after each chunk.
    simulator : callable, optional
        Replaces the engine; for tests of the run machinery only.
    version : str, optional
        Engine version to record; read from the engine by default.

    Raises
    ------
    RunError, engine.cohort.spec.SpecError
        For a bad spec, option or output folder; nothing is written then.
    """
    if n < 1:
        raise RunError(f"-n must be at least 1, got {n}")
    if threads < 1:
        raise RunError(f"--threads must be at least 1, got {threads}")
    if seed is not None and not 0 <= seed < 2**63:
        raise RunError(f"--seed must be in [0, 2^63), got {seed}")
    spec_path, out_dir = Path(spec_path), Path(out_dir)
    spec = cohort_spec.load(spec_path)
    spec_text = spec_path.read_text(encoding="utf-8")
    seed = spec.seed if seed is None else seed
    version = version or engine_version()
    key = _run_key(spec_text, n, seed, version)
    head = _manifest_head(spec, spec_path, key)
    client = None
    if scheduler is not None:
        from engine.distributed import connect

        client, owned = connect(scheduler)  # before anything is written
    try:
        return _run(spec, spec_text, n, seed, out_dir, key, head, client, threads,
                    version, simulator, progress)  # fmt: skip
    finally:
        if client is not None and owned:
            client.close()


def _run(spec, spec_text, n, seed, out_dir, key, head, client, threads, version,
         simulator, progress) -> RunSummary:  # fmt: skip
    resumed = prepare_folder(out_dir, key)
    table = sample_patients(spec, n, seed)
    parts = chunks(table)
    done = committed_chunks(out_dir, len(parts), verify=resumed)
    todo = [i for i in range(len(parts)) if i not in done]
    summary = RunSummary(out_dir, n, 0, len(parts) - len(todo), [])
    if resumed:
        log.info("resuming %s: %d of %d chunks done", out_dir, summary.resumed_chunks,
                 len(parts))  # fmt: skip
    job = Job(spec, parts, todo, threads, version, simulator, progress, n)
    if client is not None:
        from engine.distributed import run_chunks_on_dask

        run_chunks_on_dask(client, job, out_dir, summary)
    else:
        run_chunks_locally(job, out_dir, summary)
    summary.failed = finish(out_dir, len(parts), spec_text, head)
    for item in summary.failed:
        log.warning("patient %s not simulated: %s", item["record"], item["error"])
    return summary


@dataclass
class Job:
    spec: CohortSpec
    parts: list[pd.DataFrame]
    todo: list[int]
    threads: int
    version: str
    simulator: Simulator | None
    progress: Callable[[int, int], None] | None
    n: int

    def done_patients(self, out_dir: Path) -> int:
        return sum(
            len(p)
            for i, p in enumerate(self.parts)
            if _journal_path(out_dir, i).exists()
        )


def run_chunks_locally(job: Job, out_dir: Path, summary: RunSummary) -> None:
    """Simulate chunks in order on this machine, writing each while the next
    is simulated (the engine releases the GIL, so the two overlap)."""
    with ThreadPoolExecutor(max_workers=1) as writer:
        pending = None
        for index in job.todo:
            result = simulate_chunk(job.spec, job.parts[index], index, job.threads,
                                    job.version, job.simulator)  # fmt: skip
            if pending is not None:
                pending.result()
                report_progress(job, out_dir)
            pending = writer.submit(write_result, out_dir, result, summary)
        if pending is not None:
            pending.result()
            report_progress(job, out_dir)


def write_result(out_dir: Path, result: ChunkResult, summary: RunSummary) -> None:
    start = time.perf_counter()
    write_chunk(out_dir, result)
    result.seconds_rendering += time.perf_counter() - start
    summary.add(result)


def report_progress(job: Job, out_dir: Path) -> None:
    if job.progress is not None:
        job.progress(job.done_patients(out_dir), job.n)
