"""``cardiofair db``: database schema migrations."""

from __future__ import annotations

import argparse


def register(sub) -> None:
    parser = sub.add_parser(
        "db",
        help="apply or inspect database migrations",
        description="Manage the database schema with Alembic migrations.",
        epilog="examples:\n  cardiofair db upgrade\n  cardiofair db current\n"
        "  CARDIOFAIR_DATABASE_URL=postgresql://me@db/cardiofair cardiofair db "
        "upgrade",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    up = actions.add_parser("upgrade", help="apply pending migrations")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(func=upgrade)
    cur = actions.add_parser("current", help="print the schema revision")
    cur.set_defaults(func=current)


def _engine():
    from catalog.db.session import make_engine
    from catalog.settings import load_settings

    settings = load_settings()
    if settings.is_sqlite:
        settings.ensure_home()
    return make_engine(settings.database_url)


def upgrade(args: argparse.Namespace) -> int:
    from catalog.db import migrate

    revision = migrate.upgrade(_engine(), args.revision)
    print(f"database at revision {revision}")
    return 0


def current(args: argparse.Namespace) -> int:
    from catalog.db import migrate

    engine = _engine()
    revision = migrate.current_revision(engine)
    head = migrate.head_revision()
    state = "up to date" if revision == head else f"head is {head}"
    print(f"{revision or 'empty'} ({state})")
    return 0
