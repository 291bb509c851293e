"""The triple store behind SPARQL: pyoxigraph on disk, or a remote SPARQL 1.1
store over HTTP when ``CARDIOFAIR_SPARQL_URL`` is set."""

from __future__ import annotations

import logging
from pathlib import Path

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

    def close(self) -> None:
        if self.store is not None:
            self.store.flush()
            self.store = None
