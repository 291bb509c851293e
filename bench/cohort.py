"""Patients per second of a cohort run: local threads and a two-worker Dask
cluster, in one run, with the share of time spent writing files.

A fabricated demo source is fitted once (the fit is not timed); the same
spec is then simulated twice into fresh folders:

* locally with ``--threads`` engine threads (files are written by a
  background thread while the next chunk is simulated);
* on a ``dask.distributed.LocalCluster`` of two workers with one thread
  each (in-process workers unless ``--processes``).

"writing" is the time spent encoding WFDB records and annotations and writing
every file, summed over chunks; the goal is under 10% of the engine's
simulation time. The two outputs are compared byte for byte.

    .venv/bin/python bench/cohort.py                       # 200 patients, 1 mm grid
    .venv/bin/python bench/cohort.py -n 400 --grid-spacing-mm 2
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.demo_source import write_demo_source  # noqa: E402
from engine.fit import fit_spec  # noqa: E402
from engine.run import run_cohort  # noqa: E402


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _timed(label: str, spec: Path, n: int, out: Path, **options) -> dict:
    start = time.perf_counter()
    summary = run_cohort(spec, n, out, **options)
    wall = time.perf_counter() - start
    return {
        "label": label,
        "wall_s": wall,
        "patients_per_s": summary.simulated / wall,
        "simulating_s": summary.seconds_simulating,
        "writing_s": summary.seconds_writing,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="patients per run")
    parser.add_argument("--threads", type=int, default=2, help="local threads")
    parser.add_argument(
        "--grid-spacing-mm", type=float, default=1.0, help="engine grid (1.0 default)"
    )
    parser.add_argument(
        "--processes", action="store_true", help="Dask workers as processes"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from distributed import LocalCluster

    # distributed sets its own loggers to INFO when imported.
    logging.getLogger("distributed").setLevel(logging.WARNING)

    with tempfile.TemporaryDirectory(prefix="cardiofair-bench-") as tmp:
        tmp = Path(tmp)
        source = write_demo_source(tmp / "source", 2000, 0)
        spec = tmp / "cohort.toml"
        fit_spec(source, spec, calibration_per_class=6, check_patients=0,
                 threads=args.threads,
                 engine_options={"grid_spacing_mm": args.grid_spacing_mm})  # fmt: skip
        local = _timed("local threads", spec, args.n, tmp / "local",
                       threads=args.threads)  # fmt: skip
        with LocalCluster(n_workers=2, threads_per_worker=1,
                          processes=args.processes,
                          dashboard_address=None) as cluster:  # fmt: skip
            dask = _timed("dask, 2 workers", spec, args.n, tmp / "dask",
                          scheduler=cluster.scheduler_address)  # fmt: skip
        identical = _files(tmp / "local") == _files(tmp / "dask")

    print(f"cohort run: {args.n} patients, 10 s 12-lead ECG at 500 Hz, "
          f"grid {args.grid_spacing_mm} mm, 2 cores")  # fmt: skip
    print(f"{'':18s}{'patients/s':>12s}{'wall s':>9s}{'engine s':>10s}"
          f"{'writing s':>11s}{'writing/engine':>16s}")  # fmt: skip
    for row in (local, dask):
        share = row["writing_s"] / row["simulating_s"]
        print(
            f"{row['label']:18s}{row['patients_per_s']:12.2f}{row['wall_s']:9.1f}"
            f"{row['simulating_s']:10.1f}{row['writing_s']:11.2f}{share:15.1%}"
        )
    ratio = dask["patients_per_s"] / local["patients_per_s"]
    print(f"dask / local: {ratio:.2f}x; outputs byte-identical: {identical}")
    print("goal: writing under 10% of engine time")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
