"""``cardiofair reindex``: rebuild the derived indexes from the database."""

from __future__ import annotations

import argparse
import time


def register(sub) -> None:
    parser = sub.add_parser(
        "reindex",
        help="rebuild the triple store, search index and OAI records",
        description=(
            "Rebuild the triple store, the search index and the stored OAI-PMH "
            "records from the relational records. The embedded store "
            "under CARDIOFAIR_HOME is emptied and loaded; it cannot be rebuilt "
            "while 'cardiofair serve' holds it open. A remote SPARQL 1.1 store "
            "(CARDIOFAIR_SPARQL_QUERY_URL and CARDIOFAIR_SPARQL_UPDATE_URL, or "
            "CARDIOFAIR_SPARQL_URL for {url}/query and {url}/update) is written "
            "with SPARQL 1.1 Update only: each of the catalog's graphs (those "
            "under CARDIOFAIR_BASE_URL) is replaced where it stands, graphs of "
            "datasets no longer visible are dropped at the end, and no other "
            "graph is touched. If a remote rebuild fails part way, the graphs "
            "written so far are new, the rest are as they were: run it again."
        ),
        epilog="examples:\n  cardiofair reindex\n"
        "  CARDIOFAIR_SPARQL_URL=http://127.0.0.1:7878 cardiofair reindex\n"
        "  CARDIOFAIR_SPARQL_QUERY_URL=http://127.0.0.1:8890/sparql \\\n"
        "  CARDIOFAIR_SPARQL_UPDATE_URL=http://127.0.0.1:8890/sparql "
        "cardiofair reindex",
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
    store = TripleStore.for_settings(settings)
    try:
        with session_scope(settings) as session:
            count = reindex(session, settings, store)
        with session_scope(settings) as session:
            search.rebuild(session, settings.base_url)
            write_checkpoint(settings.home, latest_change(session))
        where = store.location
    finally:
        store.close()
    print(
        f"reindexed {count} datasets into {where} in {time.monotonic() - started:.1f} s"
    )
    return 0
