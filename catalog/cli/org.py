"""``cardiofair org``: organisations that publish datasets."""

from __future__ import annotations

import argparse


def register(sub) -> None:
    parser = sub.add_parser(
        "org",
        help="create and list organisations",
        description="Organisations own datasets; maintainers act for one.",
        epilog="examples:\n"
        "  cardiofair org add cardio-lab --name 'Cardio Lab' "
        "--email data@cardio-lab.example\n"
        "  cardiofair org list",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="create an organisation")
    add.add_argument("slug")
    add.add_argument("--name", default="")
    add.add_argument("--email", help="contact e-mail for data requests")
    add.add_argument("--homepage")
    add.add_argument("--ror", help="ROR identifier, e.g. https://ror.org/02mhbdp94")
    add.add_argument("--description", default="")
    add.add_argument(
        "--gate-threshold",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="this organisation's own gate threshold, e.g. inference=0.2 "
        "(repeatable; the rest come from CARDIOFAIR_GATE_*)",
    )
    add.set_defaults(func=add_org)
    ls = actions.add_parser("list", help="list organisations")
    ls.set_defaults(func=list_orgs)


def add_org(args: argparse.Namespace) -> int:
    from catalog.auth import InvalidInput, audit, create_organization
    from catalog.cli import CliError
    from catalog.cli._common import session_scope

    thresholds = _thresholds(args.gate_threshold)
    try:
        with session_scope() as session:
            org = create_organization(
                session,
                args.slug,
                args.name,
                email=args.email,
                homepage=args.homepage,
                ror=args.ror,
                description=args.description,
                gate_thresholds=thresholds,
            )
            audit(session, "cli", "organization.create", "organization", org.id)
    except InvalidInput as exc:
        raise CliError(str(exc)) from None
    print(f"organisation {args.slug} created")
    return 0


def _thresholds(pairs: list[str]) -> dict[str, float]:
    """Parse ``NAME=VALUE`` pairs against the gate's threshold names."""
    from dataclasses import fields

    from catalog.cli import CliError
    from catalog.settings import GateThresholds

    names = {f.name for f in fields(GateThresholds)}
    chosen = {}
    for pair in pairs:
        name, _, raw = pair.partition("=")
        if name not in names:
            raise CliError(
                f"--gate-threshold {pair!r}: expected NAME=VALUE with NAME one of "
                f"{', '.join(sorted(names))}"
            )
        try:
            value = float(raw)
        except ValueError:
            raise CliError(
                f"--gate-threshold {pair!r}: expected a number after '='"
            ) from None
        if not 0.0 <= value <= (1000 if name == "small_count_k" else 1.0):
            raise CliError(f"--gate-threshold {pair!r}: the value is out of range")
        chosen[name] = int(value) if name == "small_count_k" else value
    return chosen


def list_orgs(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from catalog.cli._common import session_scope
    from catalog.db.models import Organization

    with session_scope() as session:
        for org in session.scalars(select(Organization).order_by(Organization.slug)):
            print(f"{org.slug}\t{org.name}")
    return 0
