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
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

from rdflib import BNode
from sqlalchemy import func, select
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
    visible_datasets_query,
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


#: A catalog with fewer visible datasets than this is rebuilt in-process:
#: starting worker processes costs more than it saves.
PARALLEL_FROM = 2000
#: Datasets handed to a worker process at a time.
CHUNK = 200


@dataclass
class _Built:
    """What one dataset adds to the rebuild: its own graph as N-Quads, the
    N-Triples lines it shares with the catalog's graph, its OAI-PMH rows."""

    nquads: bytes
    shared: list[str]
    rows: list[dict]


def _build(settings: Settings, record: DatasetRecord) -> _Built:
    built = models(record)
    triples = dataset_triples(record, settings, built)
    own, shared = split(record, triples)
    return _Built(
        nquads(own, record.uri).encode(),
        ntriples(shared).splitlines(keepends=True),
        oai_store.rows(settings, record, triples, built),
    )


def _build_chunk(settings: Settings, records: list[DatasetRecord]) -> list[_Built]:
    """:func:`_build` for several records (what a worker process runs)."""
    return [_build(settings, record) for record in records]


class _Rebuild:
    """One pass over every dataset record that yields its named graph as
    N-Quads and stores its OAI-PMH rows on the way; the catalog's graph comes
    last. With ``workers`` above one, records are turned into graphs and rows
    by that many worker processes while this one reads and writes."""

    def __init__(self, session: Session, settings: Settings, workers: int = 1):
        self.session = session
        self.settings = settings
        self.workers = workers
        self.shared = set(ntriples(catalog_triples(settings)).splitlines(True))
        self.rows: list[dict] = []

    def graphs(self) -> Iterator[bytes]:
        for built in self._built():
            self.shared.update(built.shared)
            self.rows += built.rows
            if len(self.rows) >= OAI_BATCH:
                self.flush()
            yield built.nquads
        self.flush()
        catalog = str(catalog_uri(self.settings))
        yield _lines_as_nquads(self.shared, catalog)

    def _built(self) -> Iterator[_Built]:
        records = iter_dataset_records(self.session, self.settings)
        if self.workers <= 1:
            for record in records:
                yield _build(self.settings, record)
            return
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(self.workers, mp_context=context) as pool:
            pending: deque[Future] = deque()
            for chunk in _chunks(records, CHUNK):
                pending.append(pool.submit(_build_chunk, self.settings, chunk))
                if len(pending) > 2 * self.workers:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()

    def flush(self) -> None:
        oai_store.insert_rows(self.session, self.rows)
        self.rows = []


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _lines_as_nquads(lines: Iterable[str], graph_iri: str) -> bytes:
    """N-Triples lines (``s p o .``) as N-Quads in the graph ``graph_iri``."""
    suffix = f" <{graph_iri}> .\n"
    return "".join(line[:-3] + suffix for line in sorted(lines)).encode()


def graph_prefix(settings: Settings) -> str:
    """The start of every graph IRI of this catalog (its dataset graphs and
    the catalog's graph): a shared store's other graphs never start so."""
    return f"{settings.base_url}/"


def reindex(
    session: Session, settings: Settings, store: TripleStore, workers: int | None = None
) -> int:
    """Rebuild the triple store and the stored OAI-PMH records from the
    database; return the number of datasets loaded.

    Parameters
    ----------
    workers : int, optional
        Worker processes that build the graphs and records; by default one
        per CPU for a catalog of at least ``PARALLEL_FROM`` datasets, else
        none (everything in this process).
    """
    if workers is None:
        workers = _default_workers(session)
    oai_store.clear(session)
    graphs = store.replace_all(
        _Rebuild(session, settings, workers).graphs(), graph_prefix(settings)
    )
    session.commit()
    log.info("triples: reindexed %d datasets", graphs - 1)
    return graphs - 1


def _default_workers(session: Session) -> int:
    visible = session.scalar(
        select(func.count()).select_from(visible_datasets_query().subquery())
    )
    return (os.cpu_count() or 1) if visible >= PARALLEL_FROM else 1


def release_hook(
    sessions: sessionmaker[Session], settings: Settings, store: TripleStore
) -> Callable[[str], None]:
    """A callback for ``catalog.releases.on_change``: given a release id, it
    freezes that release's OAI-PMH records and rewrites its dataset's graph."""

    def on_release_change(release_id: str) -> None:
        if store.closed:
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
