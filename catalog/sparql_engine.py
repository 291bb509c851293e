"""Running read-only SPARQL queries with a time limit and a row limit.

pyoxigraph cannot interrupt a query once it runs, and a thread cannot be
killed, so queries on the embedded store run in worker processes that open
the store read-only; a query that outlives its time limit is stopped by
killing its worker, and a fresh worker takes its place. Workers reopen the
store when its write generation changes (after a publish, a withdrawal or a
reindex). With a remote store the query is forwarded over HTTP and the
remote server's own time limit applies as well as ours.

Every query is checked here first: a malformed query, an update or a
``SERVICE`` call (which would make the server fetch arbitrary URLs) is
refused with :class:`QueryRefused` and a message a person can act on.
"""

from __future__ import annotations

import io
import logging
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from urllib.parse import urlencode
from xml.sax.saxutils import escape, quoteattr

import httpx
import pyoxigraph

from catalog.negotiation import bare_media_type
from catalog.sparql_results import (
    GRAPH_ACCEPT,
    RESULTS_ACCEPT,
    RESULTS_JSON,
    XML_TYPES,
    UnreadableAnswer,
    read_graph,
    read_results,
    time_limit_stop,
)

log = logging.getLogger(__name__)

RESULT_TYPES = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}
GRAPH_TYPES = {
    "turtle": ("text/turtle", pyoxigraph.RdfFormat.TURTLE),
    "ntriples": ("application/n-triples", pyoxigraph.RdfFormat.N_TRIPLES),
    "rdfxml": ("application/rdf+xml", pyoxigraph.RdfFormat.RDF_XML),
    "jsonld": ("application/ld+json", pyoxigraph.RdfFormat.JSON_LD),
}
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
SPARQL_RESULTS_NS = "http://www.w3.org/2005/sparql-results#"
FORM_TYPE = "application/x-www-form-urlencoded"
UPDATE_WORDS = r"INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH"


class QueryRefused(ValueError):
    """The query is malformed or asks for something this endpoint refuses."""


class QueryTimeout(RuntimeError):
    """The query ran past the time limit and was stopped."""


class QueryFailed(RuntimeError):
    """The store could not answer (unreachable, or failed while reading)."""


@dataclass(frozen=True)
class QueryJob:
    query: str
    form: str  # "select", "ask" or "graph" (CONSTRUCT and DESCRIBE)
    format: str  # a key of RESULT_TYPES or GRAPH_TYPES
    row_limit: int
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()


@dataclass(frozen=True)
class QueryAnswer:
    media_type: str
    body: bytes
    truncated: bool = False


# Checking ----------------------------------------------------------------

_STRIP = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""'
    r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\n]|\\.)*"'
    r"|'(?:[^'\\\n]|\\.)*'"
    r"|<[^<>\"{}|^`\\\s]*>"
    r"|#[^\n]*",
)
_EMPTY_STORE = pyoxigraph.Store()
_EMPTY_LOCK = threading.Lock()


def _code_only(query: str) -> str:
    """The query with strings, IRIs and comments blanked, to look for keywords."""
    return _STRIP.sub(" ", query)


def query_form(query: str) -> str:
    """Check ``query`` and return its form: ``select``, ``ask`` or ``graph``.

    Raises
    ------
    QueryRefused
        For an empty or malformed query, an update, or a ``SERVICE`` clause.
    """
    if not query.strip():
        raise QueryRefused("the query is empty; send a SPARQL 1.1 query")
    code = _code_only(query)
    if re.search(r"\bSERVICE\b", code, re.IGNORECASE):
        raise QueryRefused(
            "SERVICE (federated query) is not allowed on this endpoint; "
            "query the other endpoint yourself"
        )
    try:
        with _EMPTY_LOCK:
            result = _EMPTY_STORE.query(query)
    except SyntaxError as exc:
        if _looks_like_update(code):
            raise QueryRefused(
                "SPARQL updates are refused: this endpoint is read-only"
            ) from None
        raise QueryRefused(f"malformed SPARQL query: {exc}") from None
    if isinstance(result, pyoxigraph.QuerySolutions):
        return "select"
    if isinstance(result, pyoxigraph.QueryTriples):
        return "graph"
    return "ask"


def _looks_like_update(code: str) -> bool:
    body = re.sub(r"^\s*(?:(?:PREFIX\s+\S*\s*:?\s*|BASE\s+)\s*)*", "", code, flags=re.I)
    return re.match(rf"\s*({UPDATE_WORDS})\b", body, re.IGNORECASE) is not None


# Serialising -------------------------------------------------------------


def _json_term(term) -> dict:
    if isinstance(term, pyoxigraph.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, pyoxigraph.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, pyoxigraph.Literal):
        out = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value != XSD_STRING:
            out["datatype"] = term.datatype.value
        return out
    return {"type": "triple", "value": str(term)}


def _xml_term(term) -> str:
    if isinstance(term, pyoxigraph.NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, pyoxigraph.BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    if isinstance(term, pyoxigraph.Literal):
        if term.language:
            lang = quoteattr(term.language)
            return f"<literal xml:lang={lang}>{escape(term.value)}</literal>"
        if term.datatype.value != XSD_STRING:
            datatype = quoteattr(term.datatype.value)
            return f"<literal datatype={datatype}>{escape(term.value)}</literal>"
        return f"<literal>{escape(term.value)}</literal>"
    return f"<literal>{escape(str(term))}</literal>"


def _csv_cell(term) -> str:
    if term is None:
        return ""
    text = f"_:{term.value}" if isinstance(term, pyoxigraph.BlankNode) else term.value
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def solutions_body(fmt: str, names: list[str], rows: list[list]) -> bytes:
    """SELECT results in one of the four SPARQL result formats."""
    if fmt == "json":
        import json

        bindings = [
            {n: _json_term(t) for n, t in zip(names, row, strict=True) if t is not None}
            for row in rows
        ]
        doc = {"head": {"vars": names}, "results": {"bindings": bindings}}
        return json.dumps(doc, ensure_ascii=False).encode()
    if fmt == "xml":
        out = io.StringIO()
        out.write(f'<?xml version="1.0"?>\n<sparql xmlns="{SPARQL_RESULTS_NS}"><head>')
        out.writelines(f"<variable name={quoteattr(n)}/>" for n in names)
        out.write("</head><results>")
        for row in rows:
            out.write("<result>")
            for name, term in zip(names, row, strict=True):
                if term is not None:
                    out.write(
                        f"<binding name={quoteattr(name)}>{_xml_term(term)}</binding>"
                    )
            out.write("</result>")
        out.write("</results></sparql>\n")
        return out.getvalue().encode()
    if fmt == "csv":
        lines = [",".join(names)]
        lines += [",".join(_csv_cell(t) for t in row) for row in rows]
        return ("\r\n".join(lines) + "\r\n").encode()
    lines = ["\t".join(f"?{n}" for n in names)]
    lines += ["\t".join("" if t is None else str(t) for t in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def boolean_body(fmt: str, value: bool) -> bytes:
    """ASK results; CSV and TSV carry a one-cell table named ``_askResult``."""
    word = "true" if value else "false"
    if fmt == "json":
        return f'{{"head": {{}}, "boolean": {word}}}'.encode()
    if fmt == "xml":
        return (
            f'<?xml version="1.0"?>\n<sparql xmlns="{SPARQL_RESULTS_NS}">'
            f"<head/><boolean>{word}</boolean></sparql>\n"
        ).encode()
    return f"_askResult\r\n{word}\r\n".encode()


def answer(job: QueryJob, result) -> QueryAnswer:
    """Serialise a pyoxigraph result for ``job``, cutting it at the row limit."""
    if job.form == "ask":
        return QueryAnswer(
            RESULT_TYPES[job.format], boolean_body(job.format, bool(result))
        )
    if job.form == "select":
        names = [v.value for v in result.variables]
        rows, truncated = _take(([s[n] for n in names] for s in result), job.row_limit)
        body = solutions_body(job.format, names, rows)
        return QueryAnswer(RESULT_TYPES[job.format], body, truncated)
    triples, truncated = _take(iter(result), job.row_limit)
    media_type, rdf_format = GRAPH_TYPES[job.format]
    body = pyoxigraph.serialize(triples, format=rdf_format) or b""
    return QueryAnswer(media_type, body, truncated)


def _take(items, limit: int) -> tuple[list, bool]:
    taken = []
    for item in items:
        if len(taken) == limit:
            return taken, True
        taken.append(item)
    return taken, False


# Executing ---------------------------------------------------------------


def run_on_store(store: pyoxigraph.Store, job: QueryJob) -> QueryAnswer:
    """Run ``job`` on an open store (datasets' graphs as the default graph)."""
    options: dict = {"use_default_graph_as_union": not job.default_graphs}
    if job.default_graphs:
        options["default_graph"] = [pyoxigraph.NamedNode(g) for g in job.default_graphs]
    if job.named_graphs:
        options["named_graphs"] = [pyoxigraph.NamedNode(g) for g in job.named_graphs]
    return answer(job, store.query(job.query, **options))


def _generation(marker: str | None) -> str:
    try:
        return Path(marker).read_text() if marker else ""
    except FileNotFoundError:
        return ""


# A read-only store is a snapshot of the on-disk files at open time; when the
# service compacts the store the snapshot's files may vanish. The query is then
# run again on a freshly opened snapshot.
_STALE_SNAPSHOT = ("IO error", "Corruption", "No such file")


def _query_fresh(store_path: str, store: pyoxigraph.Store | None, job: QueryJob):
    """Run ``job``; return its answer and the store it was answered from."""
    attempts = 6
    for attempt in range(attempts):
        try:
            if store is None:
                store = pyoxigraph.Store.read_only(store_path)
            return run_on_store(store, job), store
        except (RuntimeError, OSError) as exc:
            if attempt == attempts - 1 or not any(
                t in str(exc) for t in _STALE_SNAPSHOT
            ):
                raise
            store = None
            time.sleep(0.05 * (attempt + 1))
    raise RuntimeError("unreachable: the last attempt either returns or raises")


def _worker(conn, store_path: str, marker: str | None) -> None:
    """Answer jobs from ``conn`` until it closes (runs in a child process)."""
    store, seen = None, None
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            current = _generation(marker)
            if current != seen:
                store, seen = None, current
            result, store = _query_fresh(store_path, store, job)
            reply = ("ok", result)
        except SyntaxError as exc:
            reply = ("refused", f"malformed SPARQL query: {exc}")
        except Exception as exc:  # noqa: BLE001 - reported to the parent as text
            reply = ("failed", f"{type(exc).__name__}: {exc}")
        conn.send(reply)


@dataclass
class _Worker:
    process: subprocess.Popen
    conn: Connection


def _spawn_worker(store_path: Path, marker: Path | None) -> _Worker:
    """Start ``python -m catalog.sparql_engine`` talking over a socket pair.

    A plain subprocess, not ``multiprocessing``: the worker never re-imports
    the parent's main module, whatever script started the service.
    """
    parent, child = socket.socketpair()
    package_root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (package_root, env.get("PYTHONPATH", "")) if p
    )
    command = [
        sys.executable,
        "-m",
        "catalog.sparql_engine",
        str(child.fileno()),
        str(store_path),
        str(marker or ""),
    ]
    process = subprocess.Popen(
        command, pass_fds=(child.fileno(),), env=env, stdin=subprocess.DEVNULL
    )
    child.close()
    return _Worker(process, Connection(parent.detach()))


@dataclass
class LocalRunner:
    """Worker processes over the embedded on-disk store.

    Parameters
    ----------
    store_path : Path
        Folder of the pyoxigraph store, opened read-only by each worker.
    generation_file : Path, optional
        File whose content changes after each write (see ``TripleStore``).
    size : int
        How many queries may run at once.
    """

    store_path: Path
    generation_file: Path | None = None
    size: int = 2
    _idle: queue.Queue = field(default_factory=queue.Queue, init=False)
    _started: int = field(default=0, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def _spawn(self) -> _Worker:
        return _spawn_worker(self.store_path, self.generation_file)

    def _acquire(self, timeout_s: float) -> _Worker:
        with self._lock:
            if self._started < self.size and self._idle.empty():
                self._started += 1
                return self._spawn()
        try:
            return self._idle.get(timeout=timeout_s)
        except queue.Empty:
            raise QueryTimeout(
                f"every query worker stayed busy for {timeout_s:g} s"
            ) from None

    def _replace(self, worker: _Worker) -> None:
        worker.process.kill()
        worker.process.wait(timeout=5)
        worker.conn.close()
        with self._lock:
            self._started -= 1

    def run(self, job: QueryJob, timeout_s: float) -> QueryAnswer:
        """Run ``job``; stop it and raise :class:`QueryTimeout` after ``timeout_s``."""
        worker = self._acquire(timeout_s)
        try:
            worker.conn.send(job)
            ready = worker.conn.poll(timeout_s)
            status, payload = worker.conn.recv() if ready else ("timeout", None)
        except (EOFError, OSError) as exc:
            self._replace(worker)
            raise QueryFailed(f"the query worker stopped ({exc})") from None
        if status == "timeout":
            log.warning("SPARQL query stopped after %.1f s", timeout_s)
            self._replace(worker)
            raise QueryTimeout(
                f"the query ran longer than {timeout_s:g} s and was stopped"
            )
        self._idle.put(worker)
        if status == "refused":
            raise QueryRefused(payload)
        if status == "failed":
            raise QueryFailed(payload)
        return payload

    def close(self) -> None:
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                return
            self._replace(worker)


@dataclass
class InProcessRunner:
    """Queries on an in-memory store, in the calling thread (no time limit);
    for stores that exist only in this process."""

    store: pyoxigraph.Store

    def run(self, job: QueryJob, timeout_s: float) -> QueryAnswer:
        try:
            return run_on_store(self.store, job)
        except SyntaxError as exc:
            raise QueryRefused(f"malformed SPARQL query: {exc}") from None

    def close(self) -> None:
        pass


#: Virtuoso answers DESCRIBE over the default graph with no triples unless told
#: how to describe; this pragma of its own describes from every graph, as the
#: embedded store does (the subject's triples and its blank nodes' in turn).
VIRTUOSO_DESCRIBE = 'define sql:describe-mode "CBD"\n'
_DESCRIBE = re.compile(r"(?<![?$:\w])DESCRIBE\b", re.IGNORECASE)


@dataclass
class RemoteRunner:
    """Queries forwarded to a remote SPARQL 1.1 store's query endpoint.

    Answers are read by :mod:`catalog.sparql_results`, which takes what real
    stores send, and written out again by :func:`answer` in the client's
    format, cut at the row limit.
    """

    query_url: str
    _client: httpx.Client = field(default_factory=httpx.Client, init=False)
    _virtuoso: bool | None = field(default=None, init=False)

    def run(self, job: QueryJob, timeout_s: float) -> QueryAnswer:
        """Run ``job`` on the store.

        Raises
        ------
        QueryRefused
            If the store refuses the query (400).
        QueryTimeout
            If no answer came within ``timeout_s``, or the store stopped the
            query at its own time limit and sent part of the answer.
        QueryFailed
            If the store cannot be reached, fails, or answers with something
            that cannot be read.
        """
        text = job.query
        if job.form == "graph" and _DESCRIBE.search(_code_only(text)):
            if self._is_virtuoso(timeout_s):
                text = VIRTUOSO_DESCRIBE + text
        response = self._post(job, text, timeout_s)
        try:
            result = _read(job, response)
        except UnreadableAnswer as exc:
            content_type = response.headers.get("content-type", "")
            if bare_media_type(content_type) not in XML_TYPES:
                raise QueryFailed(
                    f"the SPARQL store's answer is unreadable: {exc}"
                ) from None
            # Virtuoso writes control characters in literals as character
            # references that XML 1.0 forbids; its JSON carries them.
            response = self._post(job, text, timeout_s, RESULTS_JSON)
            try:
                result = _read(job, response)
            except UnreadableAnswer as exc:
                raise QueryFailed(
                    f"the SPARQL store's answer is unreadable: {exc}"
                ) from None
        reply = answer(job, result)
        if "x-sparql-maxrows" in response.headers:
            # The store cut the answer at its own row limit.
            reply = QueryAnswer(reply.media_type, reply.body, truncated=True)
        return reply

    def _post(
        self, job: QueryJob, text: str, timeout_s: float, accept: str | None = None
    ) -> httpx.Response:
        if accept is None:
            accept = GRAPH_ACCEPT if job.form == "graph" else RESULTS_ACCEPT
        data = [("query", text)]
        data += [("default-graph-uri", g) for g in job.default_graphs]
        data += [("named-graph-uri", g) for g in job.named_graphs]
        try:
            response = self._client.post(
                self.query_url,
                content=urlencode(data),
                headers={"Accept": accept, "Content-Type": FORM_TYPE},
                timeout=timeout_s,
            )
        except httpx.TimeoutException:
            raise QueryTimeout(
                f"the query ran longer than {timeout_s:g} s and was stopped"
            ) from None
        except httpx.HTTPError as exc:
            raise QueryFailed(f"the SPARQL store is unreachable ({exc})") from None
        self._virtuoso = "virtuoso" in response.headers.get("server", "").lower()
        if response.status_code == 400:
            raise QueryRefused(
                f"the SPARQL store refused the query: {response.text.strip()[:500]}"
            )
        if response.status_code != 200:
            raise QueryFailed(
                f"the SPARQL store answered {response.status_code}: "
                f"{response.text.strip()[:200]}"
            )
        return response

    def _is_virtuoso(self, timeout_s: float) -> bool:
        """Whether the store is Virtuoso, by its Server header (asked once)."""
        if self._virtuoso is None:
            self._post(QueryJob("ASK {}", "ask", "json", 1), "ASK {}", timeout_s)
        return bool(self._virtuoso)

    def close(self) -> None:
        self._client.close()


def _read(job: QueryJob, response: httpx.Response):
    """The result in ``response``, as :func:`answer` takes it.

    Raises
    ------
    QueryTimeout
        If the store flags the answer as cut short by its own time limit.
    QueryFailed
        If the answer does not fit the query's form.
    UnreadableAnswer
        If the answer does not parse.
    """
    stopped = time_limit_stop(response.headers)
    if stopped is not None:
        raise QueryTimeout(
            f"the SPARQL store stopped the query at its own time limit ({stopped})"
        )
    content_type = response.headers.get("content-type", "")
    if job.form == "graph":
        return read_graph(response.content, content_type)
    result = read_results(response.content, content_type)
    if (job.form == "ask") != isinstance(result, bool):
        raise QueryFailed(
            f"the SPARQL store answered a {job.form.upper()} query with "
            f"{'a boolean' if isinstance(result, bool) else 'solutions'}"
        )
    return result


def make_runner(triples) -> LocalRunner | InProcessRunner | RemoteRunner:
    """The runner that fits a :class:`catalog.triples.TripleStore`."""
    if triples.is_remote:
        return RemoteRunner(triples.query_url)
    if triples.path is None:
        return InProcessRunner(triples.store)
    return LocalRunner(triples.path, triples.generation_file)


if __name__ == "__main__":
    # A query worker: argv is the socket's file descriptor, the store folder
    # and the generation file (empty for none). The function is taken from the
    # imported module so that what it sends unpickles in the parent.
    from catalog import sparql_engine

    sparql_engine._worker(
        Connection(int(sys.argv[1])), sys.argv[2], sys.argv[3] or None
    )
