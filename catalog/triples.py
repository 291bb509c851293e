"""The triple store behind SPARQL: pyoxigraph on disk, or a remote SPARQL 1.1
store over HTTP when ``CARDIOFAIR_SPARQL_URL`` is set."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote

import httpx
import pyoxigraph

log = logging.getLogger(__name__)


class TripleStoreError(RuntimeError):
    """The triple store cannot be opened or reached."""


class TripleStore:
    """A handle on the catalog's triples.

    Parameters
    ----------
    path : Path, optional
        Folder of the embedded on-disk store.
    sparql_url : str, optional
        Base URL of a remote SPARQL 1.1 store (``{url}/query``, ``{url}/update``
        and ``{url}/store`` as the Graph Store Protocol); overrides ``path``.
    """

    def __init__(self, path: Path | None = None, sparql_url: str | None = None):
        self.path = path
        self.sparql_url = sparql_url
        self.store: pyoxigraph.Store | None = None
        if sparql_url is None:
            if path is None:
                self.store = pyoxigraph.Store()
            else:
                try:
                    path.mkdir(parents=True, exist_ok=True)
                    self.store = pyoxigraph.Store(str(path))
                except OSError as exc:
                    raise TripleStoreError(
                        f"cannot open the triple store at {path}: {exc}"
                    ) from None

    @property
    def is_remote(self) -> bool:
        return self.sparql_url is not None

    def ping(self) -> bool:
        """True if a trivial ASK query answers."""
        if self.store is not None:
            return bool(self.store.query("ASK { }"))
        try:
            response = httpx.post(
                f"{self.sparql_url}/query",
                data={"query": "ASK {}"},
                headers={"Accept": "application/sparql-results+json"},
                timeout=5.0,
            )
        except httpx.HTTPError as exc:
            log.warning("SPARQL store %s unreachable: %s", self.sparql_url, exc)
            return False
        return response.status_code == 200

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
        if self.store is None:
            self._remote("PUT", graph_iri, ntriples, "application/n-triples")
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
        if self.store is None:
            self._remote("POST", graph_iri, ntriples, "application/n-triples")
            return
        graph = pyoxigraph.NamedNode(graph_iri)
        self.store.load(ntriples, format=pyoxigraph.RdfFormat.N_TRIPLES, to_graph=graph)
        self._changed()

    def drop_graph(self, graph_iri: str) -> None:
        """Remove the named graph ``graph_iri`` if it exists."""
        if self.store is None:
            self._remote("DELETE", graph_iri, None, None, missing_ok=True)
            return
        graph = pyoxigraph.NamedNode(graph_iri)
        if self.store.contains_named_graph(graph):
            self.store.remove_graph(graph)
        self._changed()

    def replace_all(self, documents: Iterable[bytes], batch: int = 500) -> int:
        """Empty the store and load every N-Quads document (one per named
        graph, usually); return the number of documents loaded."""
        count = 0
        if self.store is not None:
            self.store.clear()
        else:
            self._update("CLEAR ALL")
        pending: list[bytes] = []
        for document in documents:
            pending.append(document)
            count += 1
            if len(pending) >= batch:
                self._load_nquads(b"".join(pending))
                pending = []
        if pending:
            self._load_nquads(b"".join(pending))
        self._changed()
        return count

    def _load_nquads(self, data: bytes) -> None:
        if self.store is not None:
            self.store.bulk_load(data, format=pyoxigraph.RdfFormat.N_QUADS)
            return
        self._http("POST", f"{self.sparql_url}/store", data, "application/n-quads")

    def _update(self, update: str) -> None:
        self._http(
            "POST",
            f"{self.sparql_url}/update",
            update.encode(),
            "application/sparql-update",
        )

    def _remote(
        self,
        method: str,
        graph_iri: str,
        body: bytes | None,
        media_type: str | None,
        missing_ok: bool = False,
    ) -> None:
        url = f"{self.sparql_url}/store?graph={quote(graph_iri, safe='')}"
        self._http(method, url, body, media_type, missing_ok)

    def _http(self, method, url, body, media_type, missing_ok=False) -> None:
        headers = {"Content-Type": media_type} if media_type else {}
        try:
            response = httpx.request(
                method, url, content=body, headers=headers, timeout=60.0
            )
        except httpx.HTTPError as exc:
            raise TripleStoreError(
                f"CARDIOFAIR_SPARQL_URL={self.sparql_url}: {method} failed ({exc})"
            ) from None
        if response.status_code == 404 and missing_ok:
            return
        if response.status_code >= 300:
            raise TripleStoreError(
                f"CARDIOFAIR_SPARQL_URL={self.sparql_url}: {method} {url} answered "
                f"{response.status_code}: {response.text[:200]}"
            )

    def close(self) -> None:
        if self.store is not None:
            self.store.flush()
            self.store = None
