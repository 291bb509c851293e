"""``cardiofair ingest``: read a real source, check it and de-identify it."""

from __future__ import annotations

import argparse
import sys


def register(sub) -> None:
    parser = sub.add_parser(
        "ingest",
        help="ingest WFDB, PTB-XL or DICOM data as a de-identified source",
        description=(
            "Read WFDB records, a PTB-XL folder or DICOM files; check quality; "
            "de-identify; write records, features.parquet/.csv, quality.json, "
            "deid_log.json and source.json into a new folder. Bad inputs are "
            "reported one per line and skipped."
        ),
        epilog="example:\n  cardiofair ingest data/physionet -o sources/physionet "
        "--legal-basis A6-1-e --legal-basis A9-2-j --purpose ScientificResearch\n"
        "exit status: 0 all inputs ingested, 1 some inputs rejected (the rest "
        "was written), 2 nothing written",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("path", help="a file or folder to ingest")
    parser.add_argument(
        "-o", "--output", required=True, help="new folder for the source"
    )
    parser.add_argument(
        "--legal-basis",
        action="append",
        required=True,
        metavar="BASIS",
        help="GDPR basis as a DPV IRI or code (A6-1-e, A9-2-j); give both an "
        "Art. 6(1) basis and an Art. 9(2) condition",
    )
    parser.add_argument(
        "--purpose",
        action="append",
        required=True,
        help="DPV purpose IRI or name (ScientificResearch)",
    )
    parser.add_argument("--name", help="source name (default: the folder's name)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from catalog.cli import CliError
    from engine.ingest.errors import IngestError, InvalidManifest
    from engine.ingest.pipeline import ingest

    try:
        result = ingest(
            args.path,
            args.output,
            legal_basis=args.legal_basis,
            purpose=args.purpose,
            name=args.name,
        )
    except (IngestError, InvalidManifest) as exc:
        for problem in getattr(exc, "problems", []):
            print(f"cardiofair ingest: {problem}", file=sys.stderr)
        raise CliError(str(exc)) from exc
    for problem in result.problems:
        print(f"cardiofair ingest: {problem}", file=sys.stderr)
    print(
        f"{result.out_dir}: {result.n_records} ECG records, {result.n_objects} "
        f"DICOM objects, {len(result.problems)} inputs rejected"
    )
    return 1 if result.problems else 0
