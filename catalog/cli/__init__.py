"""The ``cardiofair`` command line.

Each sub-command lives in its own module with a ``register(subparsers)``
function. Logging is configured here and nowhere else. Exit status: 0 done,
1 refused or failed (a blocked gate, a failed check), 2 bad input or
configuration.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from catalog import __version__

log = logging.getLogger("cardiofair")

# Modules under catalog.cli, in the order --help lists them.
COMMANDS = [
    "serve",
    "db",
    "org",
    "user",
    "dataset",
    "release",
    "gate",
    "ingest",
    "cohort",
    "simulate",
    "export",
    "reindex",
    "demo",
]


class CliError(Exception):
    """A bad argument or input: printed as one line, exit status 2."""

    exit_code = 2


class CommandFailed(Exception):
    """The command ran but its outcome is a refusal: exit status 1."""

    exit_code = 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cardiofair",
        description=(
            "Collect cardiac data, synthesise virtual patients, gate and "
            "publish FAIR releases."
        ),
        epilog="Configuration comes from CARDIOFAIR_* environment variables; "
        "see README.md.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output"
    )
    parser.add_argument(
        "-q", "--quiet", action="count", default=0, help="less log output"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"catalog.cli.{name}")
        module.register(sub)
    return parser


def configure_logging(verbose: int, quiet: int) -> None:
    """Our packages log at INFO by default, libraries at WARNING; each ``-v``
    lowers both by one level and each ``-q`` raises them."""
    shift = 10 * (quiet - verbose)
    ours = max(logging.DEBUG, min(logging.INFO + shift, logging.CRITICAL))
    libraries = max(logging.DEBUG, min(logging.WARNING + shift, logging.CRITICAL))
    logging.basicConfig(
        level=libraries,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for name in ("cardiofair", "catalog", "engine", "metadata"):
        logging.getLogger(name).setLevel(ours)


def main(argv: list[str] | None = None) -> int:
    from catalog.db.session import DatabaseError
    from catalog.settings import SettingsError
    from catalog.triples import TripleStoreError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    configure_logging(args.verbose, args.quiet)
    try:
        return int(args.func(args) or 0)
    except (CliError, CommandFailed) as exc:
        print(f"cardiofair {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except (SettingsError, DatabaseError, TripleStoreError) as exc:
        print(f"cardiofair {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"cardiofair {args.command}: interrupted", file=sys.stderr)
        return 130


def run() -> None:
    sys.exit(main())
