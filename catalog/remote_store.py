"""The catalog's graphs in a remote SPARQL 1.1 store, written with SPARQL 1.1
Update alone so that any store will do (oxigraph server, Virtuoso, ...).

A graph is replaced by ``DROP SILENT GRAPH`` and inserts in one request; the
store is rebuilt graph by graph, and only the graphs under the catalog's own
prefix are ever dropped: a shared store keeps its system graphs and the other
tenants' data.

What goes over the wire is shaped by what stores accept. Triples are written
in N-Triples syntax from pyoxigraph's terms, which is valid SPARQL. Virtuoso
refuses blank nodes in ``INSERT DATA``, so triples with blank nodes go in an
``INSERT { ... } WHERE {}`` template, where its SQL compiler gives up beyond
about 1,300 triples; its parser gives up on a ``GRAPH`` block of about 5,000
triples in ``INSERT DATA``. The limits below stay well inside both. Triples
that share a blank node always travel in one request, since a blank node
label means the same node only within one request.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx
import pyoxigraph

from catalog.sparql_results import (
    RESULTS_ACCEPT,
    RESULTS_JSON,
    Solutions,
    UnreadableAnswer,
    read_results,
    time_limit_stop,
)

log = logging.getLogger(__name__)

#: Triples in one update request (about 1 MB of our N-Triples).
MAX_TRIPLES = 10_000
#: Triples in one ``GRAPH`` block of ``INSERT DATA``.
MAX_BLOCK = 2_000
#: Triples with blank nodes in one request (an ``INSERT ... WHERE {}``).
MAX_TEMPLATE = 500
#: ``DROP SILENT GRAPH`` operations in one request (Virtuoso drops a graph of
#: our size in 10-20 ms, so a request stays within a few seconds).
MAX_DROPS = 100
UPDATE_TIMEOUT_S = 120.0
QUERY_TIMEOUT_S = 60.0
UPDATE_TYPE = "application/sparql-update"


class TripleStoreError(RuntimeError):
    """The triple store cannot be opened or reached, or refused a request."""


def redact(url: str) -> str:
    """``url`` with a password in it hidden, for messages."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


@dataclass
class _Graph:
    """One graph's triples as N-Triples lines: those without blank nodes,
    which may be split anywhere, and groups that share blank nodes, which may
    not."""

    iri: str
    plain: list[str] = field(default_factory=list)
    linked: list[list[str]] = field(default_factory=list)


def _term(term) -> str:
    if isinstance(term, pyoxigraph.BlankNode):
        return f"_:b{term.value}"
    return str(term)


def _graph(iri: str, triples: Iterable) -> _Graph:
    """Sort ``triples`` into plain lines and groups linked by blank nodes."""
    out = _Graph(iri)
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    linked: list[tuple[str, str]] = []
    for triple in triples:
        subject, obj = triple.subject, triple.object
        line = f"{_term(subject)} {triple.predicate} {_term(obj)} ."
        blanks = [
            n.value for n in (subject, obj) if isinstance(n, pyoxigraph.BlankNode)
        ]
        if not blanks:
            out.plain.append(line)
            continue
        if len(blanks) == 2:
            parent[root(blanks[0])] = root(blanks[1])
        linked.append((blanks[0], line))
    groups: dict[str, list[str]] = defaultdict(list)
    for key, line in linked:
        groups[root(key)].append(line)
    out.linked = list(groups.values())
    return out


@dataclass
class _Request:
    drops: list[str] = field(default_factory=list)
    data: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    template: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    n_data: int = 0
    n_template: int = 0

    @property
    def empty(self) -> bool:
        return not (self.drops or self.n_data or self.n_template)

    def text(self) -> str:
        operations = [f"DROP SILENT GRAPH <{iri}>" for iri in self.drops]
        if self.n_data:
            blocks = [
                f"GRAPH <{iri}> {{\n" + "\n".join(lines[i : i + MAX_BLOCK]) + "\n}"
                for iri, lines in self.data.items()
                for i in range(0, len(lines), MAX_BLOCK)
            ]
            operations.append("INSERT DATA {\n" + "\n".join(blocks) + "\n}")
        if self.n_template:
            blocks = [
                f"GRAPH <{iri}> {{\n" + "\n".join(lines) + "\n}"
                for iri, lines in self.template.items()
            ]
            operations.append("INSERT {\n" + "\n".join(blocks) + "\n} WHERE {}")
        return " ;\n".join(operations)


class _Writer:
    """Gathers drops and inserts into update requests of bounded size."""

    def __init__(self, store: RemoteStore):
        self.store = store
        self.request = _Request()
        self.requests = 0

    def drop(self, iri: str) -> None:
        """Drop ``iri`` before anything that is added to it from now on."""
        if iri in self.request.data or iri in self.request.template:
            self.flush()
        self.request.drops.append(iri)
        if len(self.request.drops) >= MAX_DROPS:
            self.flush()

    def add(self, graph: _Graph) -> None:
        lines, start = graph.plain, 0
        while start < len(lines):
            room = MAX_TRIPLES - self.request.n_data - self.request.n_template
            if room <= 0:
                self.flush()
                continue
            chunk = lines[start : start + room]
            self.request.data[graph.iri] += chunk
            self.request.n_data += len(chunk)
            start += len(chunk)
        for group in graph.linked:
            request = self.request
            over = request.n_template + len(group) > MAX_TEMPLATE
            full = request.n_data + request.n_template + len(group) > MAX_TRIPLES
            if (over or full) and not request.empty:
                self.flush()
            self.request.template[graph.iri] += group
            self.request.n_template += len(group)

    def flush(self) -> None:
        if self.request.empty:
            return
        self.store.update(self.request.text())
        self.requests += 1
        self.request = _Request()


def _quads_by_graph(document: bytes, fmt) -> dict[str, list]:
    """The triples of an N-Triples or N-Quads document by graph name, with
    its blank nodes renamed apart from every other document's."""
    graphs: dict[str, list] = defaultdict(list)
    for quad in pyoxigraph.parse(document, format=fmt, rename_blank_nodes=True):
        name = quad.graph_name
        key = "" if isinstance(name, pyoxigraph.DefaultGraph) else name.value
        graphs[key].append(quad)
    return graphs


class RemoteStore:
    """A SPARQL 1.1 store reached over HTTP.

    Parameters
    ----------
    query_url, update_url : str
        The store's query and update endpoints (the same URL on Virtuoso).
    """

    def __init__(self, query_url: str, update_url: str):
        self.query_url = query_url
        self.update_url = update_url
        self.client = httpx.Client(timeout=UPDATE_TIMEOUT_S)

    def ping(self) -> bool:
        """True if a trivial ASK query answers."""
        try:
            response = self.client.post(
                self.query_url,
                data={"query": "ASK {}"},
                headers={"Accept": RESULTS_JSON},
                timeout=5.0,
            )
        except httpx.HTTPError as exc:
            log.warning("SPARQL store %s unreachable: %s", redact(self.query_url), exc)
            return False
        return response.status_code == 200

    def replace_graph(self, iri: str, ntriples: bytes) -> None:
        """Replace the graph ``iri`` with these N-Triples."""
        writer = _Writer(self)
        writer.drop(iri)
        writer.add(self._ntriples(iri, ntriples))
        writer.flush()

    def add_to_graph(self, iri: str, ntriples: bytes) -> None:
        """Add these N-Triples to the graph ``iri``."""
        writer = _Writer(self)
        writer.add(self._ntriples(iri, ntriples))
        writer.flush()

    def drop_graph(self, iri: str) -> None:
        """Drop the graph ``iri`` if it exists."""
        self.update(f"DROP SILENT GRAPH {pyoxigraph.NamedNode(iri)}")

    def _ntriples(self, iri: str, ntriples: bytes) -> _Graph:
        pyoxigraph.NamedNode(iri)  # refuses a malformed graph name
        triples = _quads_by_graph(ntriples, pyoxigraph.RdfFormat.N_TRIPLES)[""]
        return _graph(iri, triples)

    def replace_all(self, documents: Iterable[bytes], prefix: str) -> int:
        """Make the graphs under ``prefix`` those of ``documents`` (N-Quads);
        return the number of documents.

        Each graph is replaced where it stands, so the store answers from the
        old graphs until their new ones arrive; graphs under ``prefix`` that
        no document holds are dropped at the end. A failure part way leaves
        the graphs written so far new, the others as they were, and the
        graphs that should go still there: running the rebuild again
        completes it. Graphs outside ``prefix`` are never touched.

        Raises
        ------
        ValueError
            If a document holds a triple outside a named graph, or a graph
            outside ``prefix``.
        TripleStoreError
            If the store refuses a request or cannot be reached.
        """
        existing = set(self.graphs_under(prefix))
        written: set[str] = set()
        writer = _Writer(self)
        count = 0
        for document in documents:
            count += 1
            graphs = _quads_by_graph(document, pyoxigraph.RdfFormat.N_QUADS)
            for iri, quads in graphs.items():
                if not iri.startswith(prefix):
                    where = f"the graph <{iri}>" if iri else "the default graph"
                    raise ValueError(
                        f"document {count} writes to {where}; every graph of the "
                        f"catalog must start with {prefix}"
                    )
                if iri not in written and iri in existing:
                    writer.drop(iri)
                written.add(iri)
                writer.add(_graph(iri, quads))
        for iri in sorted(existing - written):
            writer.drop(iri)
        writer.flush()
        log.info(
            "SPARQL store: %d graphs written, %d dropped, in %d requests",
            len(written),
            len(existing - written),
            writer.requests,
        )
        return count

    def graphs_under(self, prefix: str) -> list[str]:
        """Every named graph whose IRI starts with ``prefix``, in order.

        One query lists them all (a scan of the store: 1.2 s for 900,000
        quads on Virtuoso). A store that cuts the answer at its own row limit
        and says so (Virtuoso's ``ResultSetMaxRows``, flagged by
        ``X-SPARQL-MaxRows``) is then asked page after page, each page after
        the last name seen, until a page comes back empty.
        """
        start = pyoxigraph.Literal(prefix)
        where = f"GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?g), {start})"
        answer = self.select(f"SELECT DISTINCT ?g WHERE {{ {where}) }}")
        names = sorted(row["g"].value for row in answer if row["g"] is not None)
        if not answer.cut:
            return names
        page, found = max(1, len(names)), []
        while True:
            after = f" && STR(?g) > {pyoxigraph.Literal(found[-1])}" if found else ""
            answer = self.select(
                f"SELECT DISTINCT ?g WHERE {{ {where}{after}) }} "
                f"ORDER BY STR(?g) LIMIT {page}"
            )
            names = [row["g"].value for row in answer if row["g"] is not None]
            if not names:
                return found
            found += names

    def select(self, query: str) -> Solutions:
        """The solutions of a SELECT query.

        Raises
        ------
        TripleStoreError
            If the store refuses the query, cannot be reached, answers with
            something other than SPARQL results, or sends a partial answer.
        """
        response = self._post(
            self.query_url,
            "CARDIOFAIR_SPARQL_QUERY_URL",
            data={"query": query},
            headers={"Accept": RESULTS_ACCEPT},
            timeout=QUERY_TIMEOUT_S,
        )
        stopped = time_limit_stop(response.headers)
        if stopped is not None:
            # A partial list of graphs would leave stale ones behind.
            raise TripleStoreError(
                f"CARDIOFAIR_SPARQL_QUERY_URL={redact(self.query_url)}: the store "
                f"stopped the query at its own time limit and sent a partial "
                f"answer ({stopped}); raise its limit (Virtuoso: "
                "MaxQueryExecutionTime)"
            )
        content_type = response.headers.get("content-type", RESULTS_JSON)
        try:
            answer = read_results(response.content, content_type)
        except UnreadableAnswer as exc:
            raise TripleStoreError(
                f"CARDIOFAIR_SPARQL_QUERY_URL={redact(self.query_url)}: {exc}"
            ) from None
        if not isinstance(answer, Solutions):
            raise TripleStoreError(
                f"CARDIOFAIR_SPARQL_QUERY_URL={redact(self.query_url)}: a SELECT "
                "query was answered with a boolean"
            )
        answer.cut = "x-sparql-maxrows" in response.headers
        return answer

    def update(self, text: str) -> None:
        """Send one SPARQL 1.1 Update request.

        Raises
        ------
        TripleStoreError
            Naming the endpoint and the store's answer, if it refuses the
            request or cannot be reached.
        """
        log.debug("SPARQL update of %d bytes", len(text))
        self._post(
            self.update_url,
            "CARDIOFAIR_SPARQL_UPDATE_URL",
            content=text.encode(),
            headers={"Content-Type": UPDATE_TYPE},
            timeout=UPDATE_TIMEOUT_S,
        )

    def _post(self, url: str, setting: str, **request) -> httpx.Response:
        try:
            response = self.client.post(url, **request)
        except httpx.HTTPError as exc:
            raise TripleStoreError(
                f"{setting}={redact(url)}: the store cannot be reached "
                f"({type(exc).__name__}: {exc})"
            ) from None
        if response.status_code >= 300:
            raise TripleStoreError(
                f"{setting}={redact(url)}: the store answered "
                f"{response.status_code}: {response.text.strip()[:500]}"
            )
        return response

    def close(self) -> None:
        self.client.close()
