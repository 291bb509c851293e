"""``cardiofair simulate``: simulate a cohort of virtual patients."""

from __future__ import annotations

import argparse
import sys
import time

EPILOG = """examples:
  cardiofair simulate cohort.toml -n 1000 -o out/
  cardiofair simulate cohort.toml -n 10000 -o out/ --threads 2 --seed 7
  cardiofair simulate cohort.toml -n 100000 -o out/ --scheduler tcp://10.0.0.5:8786

An interrupted run resumes when the same command is given again. The output
is byte-identical whether it runs on local threads or a Dask cluster.
CARDIOFAIR_DASK_SCHEDULER sets a default --scheduler."""


def register(sub) -> None:
    parser = sub.add_parser(
        "simulate",
        help="simulate virtual patients from a cohort spec",
        description="Draw patients from a cohort spec, simulate their 12-lead "
        "ECGs and write WFDB records with ground-truth annotations, "
        "features.parquet/.csv and manifest.json.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("spec", help="cohort spec (TOML)")
    parser.add_argument("-n", type=int, required=True, help="number of patients")
    parser.add_argument("-o", "--output", required=True, help="output folder")
    parser.add_argument(
        "--threads", type=int, default=2, help="engine threads (default 2)"
    )
    parser.add_argument("--scheduler", help="Dask scheduler tcp://HOST:PORT")
    parser.add_argument("--seed", type=int, help="overrides the spec's seed")
    parser.set_defaults(func=run)


class _Progress:
    """A one-line progress bar on a terminal; silent otherwise."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.enabled = sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        rate = done / max(time.monotonic() - self.start, 1e-9)
        width = 30
        filled = int(width * done / total)
        bar = "#" * filled + "-" * (width - filled)
        end = "\n" if done >= total else ""
        print(f"\r[{bar}] {done}/{total} patients, {rate:.1f}/s", end=end,
              file=sys.stderr, flush=True)  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from catalog.cli import CliError, CommandFailed
    from catalog.settings import load_settings
    from engine.cohort.spec import SpecError
    from engine.run import RunError, run_cohort

    scheduler = args.scheduler or load_settings().dask_scheduler
    try:
        summary = run_cohort(
            args.spec,
            args.n,
            args.output,
            threads=args.threads,
            seed=args.seed,
            scheduler=scheduler,
            progress=_Progress(),
        )
    except (SpecError, RunError) as exc:
        raise CliError(str(exc)) from exc
    for item in summary.failed:
        print(f"cardiofair simulate: {item['record']}: {item['error']}",
              file=sys.stderr)  # fmt: skip
    print(f"{summary.out_dir}: {summary.n_patients - len(summary.failed)} of "
          f"{summary.n_patients} patients written")  # fmt: skip
    if summary.failed:
        raise CommandFailed(f"{len(summary.failed)} patients could not be simulated")
    return 0
