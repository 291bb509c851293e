"""Keep the triple store and the stored OAI-PMH records in step with the
relational records.

Each dataset lives in its own named graph (the dataset's URI), holding the
series, its visible releases and the nodes only they use (distributions,
checksums, attributions, ...). Everything datasets share (the catalog and its
services, organisations, people with an ORCID iD, licences and vocabulary
concepts) is kept once, in the catalog's graph, instead of once per dataset.
SPARQL queries see the union of the graphs as their default graph.

Publishing or withdrawing a release rewrites that one dataset's graph, adds
what it shares to the catalog's graph, and freezes the release's OAI-PMH
records; ``cardiofair reindex`` rebuilds all of them from the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from rdflib import BNode
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from catalog import oai_store
from catalog.db.models import Dataset, Release
from catalog.records import (
    DatasetRecord,
    catalog_triples,
    catalog_uri,
    dataset_record,
    dataset_triples,
    dataset_uri,
    iter_dataset_records,
    models,
)
from catalog.settings import Settings
from catalog.triples import TripleStore
from metadata.rdf import nquads, ntriples

log = logging.getLogger(__name__)

OAI_BATCH = 2000


def split(record: DatasetRecord, triples: set) -> tuple[set, set]:
    """The triples only this dataset has, and those it shares with others.

    A triple is the dataset's own when its subject is a blank node or the
    series, a release or a fragment of either (all under the series URI).
    """
    own, shared = set(), set()
    prefixes = (f"{record.uri}/", f"{record.uri}#")
    for triple in triples:
        subject = triple[0]
        mine = (
            isinstance(subject, BNode)
            or str(subject) == record.uri
            or str(subject).startswith(prefixes)
        )
        (own if mine else shared).add(triple)
    return own, shared


def dataset_ntriples(record: DatasetRecord, settings: Settings) -> bytes:
    """The dataset's named graph as N-Triples (shared nodes left out)."""
    own, _ = split(record, dataset_triples(record, settings))
    return ntriples(own).encode()


def sync_dataset(
    session: Session, settings: Settings, store: TripleStore, slug: str
) -> None:
    """Rewrite one dataset's graph from the database (drop it if nothing is
    visible any more) and add what it shares to the catalog's graph."""
    record = dataset_record(session, slug, settings)
    graph_iri = dataset_uri(settings, slug)
    if record is None or not record.releases:
        store.drop_graph(graph_iri)
        log.info("triples: dropped %s", graph_iri)
        return
    own, shared = split(record, dataset_triples(record, settings))
    store.replace_graph(graph_iri, ntriples(own).encode())
    store.add_to_graph(str(catalog_uri(settings)), ntriples(shared).encode())
    log.info("triples: rewrote %s (%d releases)", graph_iri, len(record.releases))


class _Rebuild:
    """One pass over every dataset record that yields its named graph as
    N-Quads and stores its OAI-PMH rows on the way; the catalog's graph comes
    last."""

    def __init__(self, session: Session, settings: Settings):
        self.session = session
        self.settings = settings
        self.shared = catalog_triples(settings)
        self.rows: list[dict] = []

    def graphs(self) -> Iterator[bytes]:
        for record in iter_dataset_records(self.session, self.settings):
            built = models(record)
            triples = dataset_triples(record, self.settings, built)
            own, shared = split(record, triples)
            self.shared |= shared
            self.rows += oai_store.rows(self.settings, record, triples, built)
            if len(self.rows) >= OAI_BATCH:
                self.flush()
            yield nquads(own, record.uri).encode()
        self.flush()
        catalog = str(catalog_uri(self.settings))
        yield nquads(self.shared, catalog).encode()

    def flush(self) -> None:
        oai_store.insert_rows(self.session, self.rows)
        self.rows = []


def reindex(session: Session, settings: Settings, store: TripleStore) -> int:
    """Rebuild the triple store and the stored OAI-PMH records from the
    database; return the number of datasets loaded."""
    oai_store.clear(session)
    graphs = store.replace_all(_Rebuild(session, settings).graphs())
    session.commit()
    log.info("triples: reindexed %d datasets", graphs - 1)
    return graphs - 1


def release_hook(
    sessions: sessionmaker[Session], settings: Settings, store: TripleStore
) -> Callable[[str], None]:
    """A callback for ``catalog.releases.on_change``: given a release id, it
    freezes that release's OAI-PMH records and rewrites its dataset's graph."""

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
            oai_store.freeze(session, settings, [release_id])
            session.commit()
            sync_dataset(session, settings, store, slug)

    return on_release_change


def on_change_list() -> list[Callable[[str], None]]:
    from catalog import releases

    return releases.on_change
