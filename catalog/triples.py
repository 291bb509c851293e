"""The triple store behind SPARQL: pyoxigraph on disk, or a remote SPARQL 1.1
store over HTTP when ``CARDIOFAIR_SPARQL_QUERY_URL`` and
``CARDIOFAIR_SPARQL_UPDATE_URL`` (or ``CARDIOFAIR_SPARQL_URL``) are set."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from pathlib import Path

import pyoxigraph

from catalog.remote_store import RemoteStore, TripleStoreError, redact
from catalog.settings import Settings

__all__ = ["TripleStore", "TripleStoreError"]

log = logging.getLogger(__name__)


class TripleStore:
    """A handle on the catalog's triples.

    Parameters
    ----------
    path : Path, optional
        Folder of the embedded on-disk store; in memory if neither this nor
        the endpoints are given.
    query_url, update_url : str, optional
        Query and update endpoints of a remote SPARQL 1.1 store; given
        together, they override ``path``.
    """

    def __init__(
        self,
        path: Path | None = None,
        query_url: str | None = None,
        update_url: str | None = None,
    ):
        self.path = path
        self.query_url = query_url
        self.update_url = update_url
        self.store: pyoxigraph.Store | None = None
        self.remote: RemoteStore | None = None
        if query_url is not None and update_url is not None:
            self.remote = RemoteStore(query_url, update_url)
        elif path is None:
            self.store = pyoxigraph.Store()
        else:
            try:
                path.mkdir(parents=True, exist_ok=True)
                self.store = pyoxigraph.Store(str(path))
            except OSError as exc:
                raise TripleStoreError(
                    f"cannot open the triple store at {path}: {exc}"
                ) from None

    @classmethod
    def for_settings(cls, settings: Settings) -> TripleStore:
        """The store the settings name: remote if its endpoints are set, else
        the embedded one under the home folder."""
        if settings.sparql_remote:
            return cls(None, settings.sparql_query_url, settings.sparql_update_url)
        return cls(settings.triples_dir)

    @property
    def is_remote(self) -> bool:
        return self.remote is not None

    @property
    def location(self) -> str:
        """Where the triples are, for messages."""
        if self.update_url is not None:
            return redact(self.update_url)
        return str(self.path)

    def ping(self) -> bool:
        """True if a trivial ASK query answers."""
        if self.remote is not None:
            return self.remote.ping()
        return self.store is not None and bool(self.store.query("ASK { }"))

    @property
    def generation_file(self) -> Path | None:
        """A file whose content changes after every write (for query workers)."""
        if self.path is None:
            return None
        return self.path.with_name(self.path.name + ".generation")

    def generation(self) -> str:
        """The current write generation of the on-disk store ("" if none yet)."""
        marker = self.generation_file
        try:
            return marker.read_text() if marker is not None else ""
        except FileNotFoundError:
            return ""

    def _changed(self) -> None:
        if self.store is not None:
            self.store.flush()
        marker = self.generation_file
        if marker is not None:
            marker.write_text(uuid.uuid4().hex)

    def replace_graph(self, graph_iri: str, ntriples: bytes) -> None:
        """Replace the named graph ``graph_iri`` with these N-Triples.

        Raises
        ------
        TripleStoreError
            If the remote store refuses the write or cannot be reached.
        """
        if self.remote is not None:
            self.remote.replace_graph(graph_iri, ntriples)
            return
        graph = pyoxigraph.NamedNode(graph_iri)
        if self.store.contains_named_graph(graph):
            self.store.remove_graph(graph)
        self.store.load(ntriples, format=pyoxigraph.RdfFormat.N_TRIPLES, to_graph=graph)
        self._changed()

    def add_to_graph(self, graph_iri: str, ntriples: bytes) -> None:
        """Add these N-Triples to the named graph ``graph_iri`` (kept if there).

        Raises
        ------
        TripleStoreError
            If the remote store refuses the write or cannot be reached.
        """
        if self.remote is not None:
            self.remote.add_to_graph(graph_iri, ntriples)
            return
        graph = pyoxigraph.NamedNode(graph_iri)
        self.store.load(ntriples, format=pyoxigraph.RdfFormat.N_TRIPLES, to_graph=graph)
        self._changed()

    def drop_graph(self, graph_iri: str) -> None:
        """Remove the named graph ``graph_iri`` if it exists.

        Raises
        ------
        TripleStoreError
            If the remote store refuses the write or cannot be reached.
        """
        if self.remote is not None:
            self.remote.drop_graph(graph_iri)
            return
        graph = pyoxigraph.NamedNode(graph_iri)
        if self.store.contains_named_graph(graph):
            self.store.remove_graph(graph)
        self._changed()

    def replace_all(
        self, documents: Iterable[bytes], graph_prefix: str, batch: int = 500
    ) -> int:
        """Replace the catalog's graphs by these N-Quads documents (one per
        named graph, usually); return the number of documents loaded.

        The embedded store is the catalog's alone: it is emptied and loaded.
        In a remote store only the graphs whose IRI starts with
        ``graph_prefix`` are replaced or dropped, each where it stands (see
        :meth:`catalog.remote_store.RemoteStore.replace_all` for the state a
        failure leaves).

        Raises
        ------
        TripleStoreError
            If the remote store refuses a write or cannot be reached.
        """
        if self.remote is not None:
            return self.remote.replace_all(documents, graph_prefix)
        self.store.clear()
        count = 0
        pending: list[bytes] = []
        for document in documents:
            pending.append(document)
            count += 1
            if len(pending) >= batch:
                self.store.bulk_load(
                    b"".join(pending), format=pyoxigraph.RdfFormat.N_QUADS
                )
                pending = []
        if pending:
            self.store.bulk_load(b"".join(pending), format=pyoxigraph.RdfFormat.N_QUADS)
        self._changed()
        return count

    def close(self) -> None:
        if self.store is not None:
            self.store.flush()
            self.store = None
        if self.remote is not None:
            self.remote.close()
            self.remote = None

    @property
    def closed(self) -> bool:
        return self.store is None and self.remote is None
