"""``cardiofair reindex``: rebuild the derived indexes from the database."""

from __future__ import annotations

import argparse
import time


def register(sub) -> None:
    parser = sub.add_parser(
        "reindex",
        help="rebuild the triple store, search index and OAI records",
        description=(
            "Empty the triple store (the embedded one under CARDIOFAIR_HOME, or "
            "the SPARQL 1.1 store at CARDIOFAIR_SPARQL_URL) and load every "
            "dataset again from the relational records; rebuild the search "
            "index and the stored OAI-PMH records likewise. The embedded store "
            "cannot be rebuilt while 'cardiofair serve' holds it open."
        ),
        epilog="examples:\n  cardiofair reindex\n"
        "  CARDIOFAIR_SPARQL_URL=http://127.0.0.1:7878 cardiofair reindex",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from catalog import search
    from catalog.cli._common import session_scope
    from catalog.follow import latest_change, write_checkpoint
    from catalog.settings import load_settings
    from catalog.triple_sync import reindex
    from catalog.triples import TripleStore

    settings = load_settings()
    settings.ensure_home()
    started = time.monotonic()
    store = TripleStore(
        None if settings.sparql_url else settings.triples_dir, settings.sparql_url
    )
    try:
        with session_scope(settings) as session:
            count = reindex(session, settings, store)
        with session_scope(settings) as session:
            search.rebuild(session, settings.base_url)
            write_checkpoint(settings.home, latest_change(session))
    finally:
        store.close()
    where = settings.sparql_url or settings.triples_dir
    print(
        f"reindexed {count} datasets into {where} in {time.monotonic() - started:.1f} s"
    )
    return 0
