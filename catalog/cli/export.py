"""``cardiofair export``: convert a simulation run to other formats."""

from __future__ import annotations

import argparse
import sys

EPILOG = """example:
  cardiofair export dicom out/ -o out-dicom/"""


def register(sub) -> None:
    parser = sub.add_parser(
        "export",
        help="export a simulation run (DICOM)",
        description="Convert the WFDB records of a finished simulation run.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    formats = parser.add_subparsers(dest="format", metavar="FORMAT", required=True)
    dicom = formats.add_parser(
        "dicom", help="12-lead ECG Waveform Storage objects, synthetic identifiers"
    )
    dicom.add_argument("run", help="folder of a finished `cardiofair simulate` run")
    dicom.add_argument("-o", "--output", required=True, help="output folder")
    dicom.set_defaults(func=run_dicom)


def run_dicom(args: argparse.Namespace) -> int:
    from catalog.cli import CliError, CommandFailed
    from engine.dicom import ExportError, export_run

    try:
        summary = export_run(args.run, args.output)
    except ExportError as exc:
        raise CliError(str(exc)) from exc
    for line in summary.failed:
        print(f"cardiofair export: {line}", file=sys.stderr)
    print(f"{args.output}: {len(summary.written)} DICOM files")
    if summary.failed:
        raise CommandFailed(f"{len(summary.failed)} records could not be exported")
    return 0
