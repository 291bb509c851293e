"""``cardiofair dataset``: create and list datasets."""

from __future__ import annotations

import argparse
import json


def register(sub) -> None:
    parser = sub.add_parser(
        "dataset",
        help="create and list datasets",
        description="A dataset is the concept all its releases are versions of; "
        "it belongs to the acting user's organisation.",
        epilog="examples:\n"
        "  cardiofair dataset create synthetic-adult-ecg "
        "--title 'Synthetic adult 12-lead ECGs' \\\n"
        "      --keyword ECG --keyword synthetic --license CC-BY-4.0 "
        "--as ana@cardio-lab.example\n"
        "  cardiofair dataset list",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create a dataset")
    create.add_argument("slug", help="lower-case letters, digits and hyphens")
    create.add_argument("--title", required=True)
    create.add_argument("--description", default="")
    create.add_argument("--keyword", action="append", default=[], dest="keywords")
    create.add_argument("--theme", action="append", default=[], dest="themes")
    create.add_argument("--access", default="public", choices=["public", "restricted"])
    create.add_argument("--license", default="CC-BY-4.0", help="an SPDX licence id")
    create.add_argument("--kind", default="synthetic", choices=["synthetic", "source"])
    create.add_argument("--extra", help="a JSON object of further fields")
    add_actor_argument(create)
    create.set_defaults(func=create_dataset)
    ls = actions.add_parser("list", help="list datasets")
    ls.set_defaults(func=list_datasets)


def add_actor_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--as",
        dest="actor",
        metavar="EMAIL",
        help="the user acting (default: the only admin, if there is one)",
    )


def create_dataset(args: argparse.Namespace) -> int:
    from catalog import releases
    from catalog.cli.release import operation

    extra = _json_object(args.extra, "--extra")
    with operation(args.actor) as (session, actor, _settings):
        dataset = releases.create_dataset(
            session,
            actor,
            args.slug,
            args.title,
            description=args.description,
            keywords=args.keywords,
            themes=args.themes,
            access_rights=args.access,
            license_id=args.license,
            kind=args.kind,
            extra=extra,
        )
        print(f"dataset {dataset.slug} created for {actor.organization_slug}")
    return 0


def _json_object(text: str | None, option: str) -> dict | None:
    from catalog.cli import CliError

    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"{option}: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise CliError(f"{option}: expected a JSON object")
    return value


def list_datasets(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from catalog.cli._common import session_scope
    from catalog.db.models import Dataset

    with session_scope() as session:
        for dataset in session.scalars(select(Dataset).order_by(Dataset.slug)):
            print(
                f"{dataset.slug}\t{dataset.organization.slug}\t{dataset.kind}\t"
                f"{dataset.access_rights}\t{len(dataset.releases)} releases\t"
                f"{dataset.title}"
            )
    return 0
