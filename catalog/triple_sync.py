"""Keep the triple store in step with the relational records.

Each dataset lives in its own named graph (the dataset's URI), holding the
dataset and all its visible releases; SPARQL queries see the union of the
graphs as their default graph. Publishing or withdrawing a release rewrites
that one graph; ``cardiofair reindex`` rebuilds every graph from the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from catalog.db.models import Dataset, Release
from catalog.records import (
    DatasetRecord,
    add_catalog,
    add_dataset,
    dataset_record,
    dataset_uri,
    iter_dataset_records,
)
from catalog.settings import Settings
from catalog.triples import TripleStore

log = logging.getLogger(__name__)


class TripleSet(set):
    """A set of triples that the graph builders of :mod:`catalog.records` can
    fill like an rdflib graph, without the cost of indexing them."""

    def ntriples(self) -> bytes:
        lines = [f"{s.n3()} {p.n3()} {o.n3()} .\n" for s, p, o in self]
        return "".join(sorted(lines)).encode()


def dataset_ntriples(record: DatasetRecord) -> bytes:
    """The dataset's named graph as N-Triples."""
    triples = TripleSet()
    add_dataset(triples, record)
    return triples.ntriples()


def catalog_ntriples(settings: Settings) -> bytes:
    """The catalog's own description, kept in a graph of its own."""
    triples = TripleSet()
    add_catalog(triples, settings)
    return triples.ntriples()


def sync_dataset(
    session: Session, settings: Settings, store: TripleStore, slug: str
) -> None:
    """Rewrite one dataset's graph from the database (drop it if nothing is
    visible any more)."""
    record = dataset_record(session, slug, settings)
    graph_iri = dataset_uri(settings, slug)
    if record is None or not record.releases:
        store.drop_graph(graph_iri)
        log.info("triples: dropped %s", graph_iri)
        return
    store.replace_graph(graph_iri, dataset_ntriples(record))
    log.info("triples: rewrote %s (%d releases)", graph_iri, len(record.releases))


def _all_graphs(session: Session, settings: Settings) -> Iterator[tuple[str, bytes]]:
    yield f"{settings.base_url}/catalog", catalog_ntriples(settings)
    for record in iter_dataset_records(session, settings):
        yield record.uri, dataset_ntriples(record)


def reindex(session: Session, settings: Settings, store: TripleStore) -> int:
    """Rebuild the whole store from the database; return the datasets loaded."""
    graphs = store.replace_all(_all_graphs(session, settings))
    log.info("triples: reindexed %d datasets", graphs - 1)
    return graphs - 1


def release_hook(
    sessions: sessionmaker[Session], settings: Settings, store: TripleStore
) -> Callable[[str], None]:
    """A callback for ``catalog.releases.on_change``: given a release id, it
    rewrites the graph of that release's dataset."""

    def on_release_change(release_id: str) -> None:
        if store.store is None and not store.is_remote:
            # The application that registered this hook has shut down.
            on_change_list().remove(on_release_change)
            return
        with sessions() as session:
            slug = session.scalar(
                select(Dataset.slug)
                .join(Release, Release.dataset_id == Dataset.id)
                .where(Release.id == release_id)
            )
            if slug is None:
                log.warning("triples: no release %s to sync", release_id)
                return
            sync_dataset(session, settings, store, slug)

    return on_release_change


def on_change_list() -> list[Callable[[str], None]]:
    from catalog import releases

    return releases.on_change
