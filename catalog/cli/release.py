"""``cardiofair release``: draft, gate, publish and withdraw releases.

The command line acts as a named user (``--as EMAIL``, by default the only
admin) and goes through the same operations as the HTTP API, so every
attempt, refused or not, is in the audit log.
"""

from __future__ import annotations

import argparse
import json
from contextlib import contextmanager
from pathlib import Path

from catalog.cli.dataset import add_actor_argument

EXAMPLES = """examples:
  cardiofair release create out/ --dataset synthetic-adult-ecg --notes 'first cohort'
  cardiofair release gate synthetic-adult-ecg/v1 \\
      --real sources/ptb/real_train.parquet --control sources/ptb/control.parquet
  cardiofair release publish synthetic-adult-ecg/v1
  cardiofair release withdraw synthetic-adult-ecg/v1 --reason 'mis-specified cohort'
  cardiofair release list --dataset synthetic-adult-ecg
  cardiofair release show synthetic-adult-ecg/v1 --json

A release is named by its id or as SLUG/vN. The gate reads the source's
training and control splits from --real/--control, or from the paths named
'real_train' and 'control' in the release's manifest.json."""


def register(sub) -> None:
    parser = sub.add_parser(
        "release",
        help="draft, gate, publish and withdraw releases",
        description="Versioned releases: a draft is gated, a passed release is "
        "published (immutable, with an identifier), a published one can be "
        "withdrawn with a reason.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    create = actions.add_parser("create", help="a draft release from a folder")
    create.add_argument("folder", type=Path, help="e.g. the output of 'simulate'")
    create.add_argument("--dataset", required=True, help="the dataset's slug")
    create.add_argument("--notes", default="", help="what changed in this version")
    create.add_argument("--metadata", help="a JSON object of release metadata")
    create.set_defaults(func=create_release)

    gate = actions.add_parser("gate", help="run the gate on a release")
    gate.add_argument("release", help="id or SLUG/vN")
    gate.add_argument("--real", type=Path, help="the source's training split")
    gate.add_argument("--control", type=Path, help="the source's control split")
    gate.add_argument(
        "--secret", action="append", default=[], help="a sensitive column"
    )
    gate.set_defaults(func=gate_release)

    publish = actions.add_parser("publish", help="publish releases that passed")
    publish.add_argument("releases", nargs="+", help="ids or SLUG/vN")
    publish.set_defaults(func=publish_release)

    withdraw = actions.add_parser("withdraw", help="withdraw a published release")
    withdraw.add_argument("release", help="id or SLUG/vN")
    withdraw.add_argument("--reason", required=True)
    withdraw.set_defaults(func=withdraw_release)

    ls = actions.add_parser("list", help="list the organisation's releases")
    ls.add_argument("--dataset", help="only this dataset's releases")
    ls.set_defaults(func=list_releases)

    show = actions.add_parser("show", help="show one release")
    show.add_argument("release", help="id or SLUG/vN")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(func=show_release)

    for action in (create, gate, publish, withdraw, ls, show):
        add_actor_argument(action)


@contextmanager
def operation(actor_email: str | None):
    """A session, the acting user and the settings; refusals become exits.

    Bad input exits with status 2, a refusal (state, organisation) with 1.
    """
    from catalog import releases
    from catalog.cli import CliError, CommandFailed
    from catalog.cli._common import open_database
    from catalog.db.session import session_factory
    from catalog.settings import load_settings

    settings = load_settings()
    engine = open_database(settings)
    try:
        with session_factory(engine)() as session:
            try:
                actor = releases.acting_user(session, actor_email)
                yield session, actor, settings
            except (releases.Forbidden, releases.StateConflict) as exc:
                raise CommandFailed(str(exc)) from None
            except releases.REFUSALS as exc:
                raise CliError(str(exc)) from None
    finally:
        engine.dispose()


def create_release(args: argparse.Namespace) -> int:
    from catalog import releases
    from catalog.cli.dataset import _json_object

    metadata = _json_object(args.metadata, "--metadata")
    with operation(args.actor) as (session, actor, settings):
        release = releases.create_release(
            session,
            settings,
            actor,
            args.dataset,
            folder=args.folder,
            metadata=metadata,
            version_notes=args.notes,
        )
        print(
            f"release {releases.release_label(release)} ({release.id}) created "
            f"as a draft with {len(release.files)} files"
        )
    return 0


def gate_release(args: argparse.Namespace) -> int:
    from catalog import releases
    from catalog.cli import CommandFailed

    with operation(args.actor) as (session, actor, settings):
        report = releases.gate_release(
            session,
            settings,
            actor,
            args.release,
            real=args.real.absolute() if args.real else None,
            control=args.control.absolute() if args.control else None,
            secrets=args.secret,
        )
        reasons = report.report.get("blocked_by") or []
    if not report.passed:
        lines = "\n".join(f"  - {reason}" for reason in reasons)
        raise CommandFailed(f"release {args.release} blocked by the gate\n{lines}")
    print(f"release {args.release} passed the gate ({report.content_digest[:12]})")
    return 0


def publish_release(args: argparse.Namespace) -> int:
    from catalog import releases

    with operation(args.actor) as (session, actor, settings):
        for ref in args.releases:
            release = releases.publish_release(session, settings, actor, ref)
            print(
                f"release {releases.release_label(release)} published as "
                f"{release.identifier}",
                flush=True,
            )
    return 0


def withdraw_release(args: argparse.Namespace) -> int:
    from catalog import releases

    with operation(args.actor) as (session, actor, settings):
        release = releases.withdraw_release(
            session, settings, actor, args.release, args.reason
        )
        print(f"release {releases.release_label(release)} withdrawn")
    return 0


def list_releases(args: argparse.Namespace) -> int:
    from catalog import releases

    with operation(args.actor) as (session, actor, _settings):
        for release in releases.list_releases(session, actor, args.dataset):
            print(
                f"{releases.release_label(release)}\t{release.state}\t"
                f"{release.identifier or '-'}\t{release.id}"
            )
    return 0


def show_release(args: argparse.Namespace) -> int:
    from catalog import releases

    with operation(args.actor) as (session, actor, _settings):
        release = releases.read_release(session, actor, args.release)
        report = releases.latest_gate_report(session, release)
        summary = _summary(release, report)
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
        return 0
    for key in ("release", "id", "state", "identifier", "content_digest", "gate"):
        print(f"{key}: {summary[key]}")
    for entry in summary["files"]:
        print(f"  {entry['path']}\t{entry['size_bytes']}\t{entry['sha256'][:12]}")
    return 0


def _summary(release, report) -> dict:
    from catalog import releases

    gate = "not run"
    if report is not None:
        verdict = "passed" if report.passed else "blocked"
        current = report.content_digest == releases.current_digest(release)
        gate = verdict + ("" if current else " (on earlier content)")
    return {
        "release": releases.release_label(release),
        "id": release.id,
        "state": release.state,
        "identifier": release.identifier,
        "content_digest": release.content_digest,
        "gate": gate,
        "published_at": release.published_at,
        "withdrawn_reason": release.withdrawn_reason,
        "metadata": releases.release_metadata(release),
        "files": [
            {"path": f.path, "sha256": f.sha256, "size_bytes": f.size_bytes}
            for f in release.files
        ],
    }
