"""``cardiofair gate``: the release gate on any synthetic feature table.

Works on data made elsewhere too: give the real training rows, real rows
held out from training, the synthetic rows, and optionally the metadata
record and the folder of files to be published. Exit status 0 passed,
1 blocked, 2 bad input.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from catalog.cli import CliError, CommandFailed

log = logging.getLogger(__name__)


def register(sub) -> None:
    parser = sub.add_parser(
        "gate",
        help="score a synthetic table's re-identification risk and metadata leaks",
        description="Run the release gate on a synthetic feature table:\n"
        "  privacy   anonymeter singling out, linkability and inference against\n"
        "            real rows held out from training (the control set)\n"
        "  leakage   metadata record and release files (WFDB, DICOM, tables)\n"
        "  fidelity  sdmetrics quality and diagnostic reports\n"
        "  utility   train on synthetic, test on real, against train on real\n"
        "  bias      class balance and demographic representation\n"
        "Exit status 0 passed, 1 blocked, 2 bad input.",
        epilog="example:\n  cardiofair gate --real train.csv --control control.csv "
        "--synthetic syn.csv \\\n    --metadata record.jsonld --files out/ "
        "--secret qtc_ms --report gate.json --html gate.html\n\n"
        "Thresholds come from CARDIOFAIR_GATE_* variables; see "
        "docs/decisions/0003-gate-thresholds.md.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--real",
        type=Path,
        required=True,
        metavar="TRAIN.csv",
        help="real rows the generator was fitted on (CSV/Parquet)",
    )
    parser.add_argument(
        "--control",
        type=Path,
        required=True,
        metavar="CONTROL.csv",
        help="real rows held out from fitting, same columns",
    )
    parser.add_argument(
        "--synthetic",
        type=Path,
        required=True,
        metavar="SYN.csv",
        help="the synthetic rows to be published, same columns",
    )
    parser.add_argument(
        "--metadata",
        type=Path,
        metavar="RECORD.jsonld",
        help="the metadata record to scan for leaks",
    )
    parser.add_argument(
        "--files",
        type=Path,
        metavar="DIR",
        help="folder of files to be published (WFDB, DICOM ...)",
    )
    parser.add_argument(
        "--secret",
        action="append",
        default=[],
        metavar="COL",
        help="a sensitive column to attack by inference "
        "(repeatable; diagnosis labels are always attacked)",
    )
    parser.add_argument(
        "--demographic",
        action="append",
        metavar="COL",
        help="a column an attacker knows (repeatable; default: "
        "age, sex and similar names)",
    )
    parser.add_argument(
        "--report",
        type=Path,
        required=True,
        metavar="OUT.json",
        help="where to write the JSON report",
    )
    parser.add_argument(
        "--html",
        type=Path,
        metavar="OUT.html",
        help="also write the report as an HTML page",
    )
    parser.add_argument(
        "--seed", type=_natural, default=0, help="seed of every random draw (default 0)"
    )
    parser.add_argument(
        "--n-attacks",
        type=_natural,
        default=2000,
        help="attacks per evaluator (default 2000)",
    )
    parser.add_argument(
        "--jobs",
        type=_natural,
        default=None,
        help="worker processes (default: one per CPU)",
    )
    parser.set_defaults(func=gate)


def _natural(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number >= 0")
    return value


def gate(args: argparse.Namespace) -> int:
    from catalog.gate import GateInputError, LeakageInputError, read_table, run_gate
    from catalog.settings import load_settings

    thresholds = load_settings().gate
    for target in (args.report, args.html):
        if target is not None and not target.parent.is_dir():
            raise CliError(f"{target}: folder {target.parent} does not exist")
    if args.files is not None and not args.files.is_dir():
        raise CliError(f"--files {args.files}: no such folder")
    try:
        report = run_gate(
            read_table(args.real, "real"),
            read_table(args.control, "control"),
            read_table(args.synthetic, "synthetic"),
            metadata=args.metadata,
            files_dir=args.files,
            secrets=args.secret,
            thresholds=thresholds,
            seed=args.seed,
            n_attacks=args.n_attacks,
            demographics=args.demographic,
            n_jobs=args.jobs,
        )
    except (GateInputError, LeakageInputError) as exc:
        raise CliError(str(exc)) from None
    _write(args.report, report.to_json())
    if args.html is not None:
        _write(args.html, report.to_html())
    if not report.passed:
        reasons = "\n".join(f"  - {r}" for r in report.blocked_by)
        raise CommandFailed(f"blocked (report in {args.report})\n{reasons}")
    print(f"passed (report in {args.report})")
    return 0


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"{path}: cannot be written ({exc.strerror})") from None
