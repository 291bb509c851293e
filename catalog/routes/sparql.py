"""SPARQL 1.1 Protocol at ``/sparql``: read-only queries over the catalog.

Queries arrive by GET ``?query=``, by POST of a form, or by POST of
``application/sparql-query``. The result format follows the ``Accept`` header;
the ``format``, ``output`` and ``results`` parameters that SPARQLWrapper and
other clients add are honoured when they name a format that fits the query.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from catalog.negotiation import bare_media_type, parse_accept
from catalog.sparql_engine import (
    GRAPH_TYPES,
    RESULT_TYPES,
    QueryAnswer,
    QueryFailed,
    QueryJob,
    QueryRefused,
    QueryTimeout,
    query_form,
)

log = logging.getLogger(__name__)

router = APIRouter(tags=["harvesting"])

FORM_TYPE = "application/x-www-form-urlencoded"
QUERY_TYPE = "application/sparql-query"
UPDATE_TYPE = "application/sparql-update"
FORMAT_PARAMETERS = ("format", "output", "results")

# Names clients put in ?format= (and friends), by query form.
RESULT_NAMES = {
    "json": "json",
    "application/sparql-results+json": "json",
    "application/json": "json",
    "xml": "xml",
    "application/sparql-results+xml": "xml",
    "csv": "csv",
    "text/csv": "csv",
    "tsv": "tsv",
    "text/tab-separated-values": "tsv",
}
GRAPH_NAMES = {
    "turtle": "turtle",
    "ttl": "turtle",
    "n3": "turtle",
    "text/turtle": "turtle",
    "nt": "ntriples",
    "ntriples": "ntriples",
    "n-triples": "ntriples",
    "application/n-triples": "ntriples",
    "xml": "rdfxml",
    "rdf": "rdfxml",
    "rdf+xml": "rdfxml",
    "rdfxml": "rdfxml",
    "application/rdf+xml": "rdfxml",
    "json": "jsonld",
    "json-ld": "jsonld",
    "jsonld": "jsonld",
    "application/ld+json": "jsonld",
}
# Media types accepted in the Accept header, beyond the canonical ones.
RESULT_ACCEPT = {
    **{media: key for key, media in RESULT_TYPES.items()},
    "application/json": "json",
    "application/xml": "xml",
    "text/xml": "xml",
}
GRAPH_ACCEPT = {
    **{media: key for key, (media, _) in GRAPH_TYPES.items()},
    "application/turtle": "turtle",
    "application/x-turtle": "turtle",
    "text/rdf+n3": "turtle",
    "text/n3": "turtle",
    "text/plain": "ntriples",
    "application/xml": "rdfxml",
    "text/xml": "rdfxml",
    "application/json": "jsonld",
    "application/x-json+ld": "jsonld",
}


class AnswerCache:
    """The latest answers of the embedded store, valid for one write generation.

    Harvesters ask the same few queries again and again, and the triples only
    change when a release is published or withdrawn (which changes the
    store's generation and so empties the cache).
    """

    def __init__(self, size: int = 256, max_body_bytes: int = 1_000_000):
        self.size = size
        self.max_body_bytes = max_body_bytes
        self.generation: str | None = None
        self.answers: OrderedDict[QueryJob, QueryAnswer] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, generation: str, job: QueryJob) -> QueryAnswer | None:
        with self.lock:
            if generation != self.generation:
                self.generation = generation
                self.answers.clear()
                return None
            answer = self.answers.get(job)
            if answer is not None:
                self.answers.move_to_end(job)
            return answer

    def put(self, generation: str, job: QueryJob, answer: QueryAnswer) -> None:
        if len(answer.body) > self.max_body_bytes:
            return
        with self.lock:
            if generation != self.generation:
                return
            self.answers[job] = answer
            if len(self.answers) > self.size:
                self.answers.popitem(last=False)


def _run(app, job: QueryJob, timeout_s: float) -> QueryAnswer:
    """Answer ``job`` from the cache when the embedded store has not changed."""
    triples = app.state.triples
    if triples.generation_file is None:
        return app.state.sparql.run(job, timeout_s)
    cache = getattr(app.state, "sparql_answers", None)
    if cache is None:
        cache = app.state.sparql_answers = AnswerCache()
    generation = triples.generation()
    answer = cache.get(generation, job)
    if answer is None:
        answer = app.state.sparql.run(job, timeout_s)
        cache.put(generation, job, answer)
    return answer


class ProtocolError(ValueError):
    """A request that breaks the SPARQL 1.1 Protocol; carries its status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _error(status: int, message: str) -> PlainTextResponse:
    return PlainTextResponse(message + "\n", status_code=status)


def choose_format(form: str, params: list[tuple[str, str]], accept: str) -> str:
    """The result format for a query of ``form``.

    Raises
    ------
    ProtocolError
        406 when neither a format parameter nor the Accept header names a
        format this endpoint can give for the query.
    """
    names = GRAPH_NAMES if form == "graph" else RESULT_NAMES
    for key, value in params:
        if key in FORMAT_PARAMETERS and value.strip().lower() in names:
            return names[value.strip().lower()]
    accepted = GRAPH_ACCEPT if form == "graph" else RESULT_ACCEPT
    default = "turtle" if form == "graph" else "json"
    ranges = parse_accept(accept)
    if not ranges:
        return default
    for media_range, _ in ranges:
        if media_range in ("*/*", "application/*", "text/*"):
            return default
        if media_range in accepted:
            return accepted[media_range]
    offered = sorted(set(accepted))
    raise ProtocolError(
        406,
        "none of the accepted types fits this query; available: " + ", ".join(offered),
    )


async def _read_request(request: Request) -> tuple[str, list[tuple[str, str]]]:
    """The query text and every parameter (URL and form) of a request."""
    params = list(request.query_params.multi_items())
    if request.method == "GET":
        return _single(params, "query"), params
    media_type = bare_media_type(request.headers.get("content-type", ""))
    body = await request.body()
    if media_type == QUERY_TYPE:
        return _decode(body), params
    if media_type == FORM_TYPE:
        try:
            params += parse_qsl(
                _decode(body), keep_blank_values=True, strict_parsing=False
            )
        except ValueError as exc:
            raise ProtocolError(400, f"the form body does not parse: {exc}") from None
        return _single(params, "query"), params
    if media_type == UPDATE_TYPE:
        raise ProtocolError(
            400, "SPARQL updates are refused: this endpoint is read-only"
        )
    raise ProtocolError(
        415,
        f"unsupported Content-Type {media_type or '(none)'!r}; send "
        f"{QUERY_TYPE} or {FORM_TYPE}",
    )


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(400, "the request body is not UTF-8") from None


def _single(params: list[tuple[str, str]], name: str) -> str:
    if any(key == "update" for key, _ in params):
        raise ProtocolError(
            400, "SPARQL updates are refused: this endpoint is read-only"
        )
    values = [value for key, value in params if key == name]
    if not values:
        raise ProtocolError(400, f"missing the '{name}' parameter: send ?query=SPARQL")
    if len(values) > 1:
        raise ProtocolError(
            400, f"the '{name}' parameter was given {len(values)} times"
        )
    return values[0]


def _job(request: Request, query: str, params, form: str) -> QueryJob:
    settings = request.app.state.settings
    fmt = choose_format(form, params, request.headers.get("accept", ""))
    return QueryJob(
        query=query,
        form=form,
        format=fmt,
        row_limit=settings.sparql_row_limit,
        default_graphs=tuple(v for k, v in params if k == "default-graph-uri"),
        named_graphs=tuple(v for k, v in params if k == "named-graph-uri"),
    )


async def _answer(request: Request) -> Response:
    settings = request.app.state.settings
    try:
        query, params = await _read_request(request)
        job = _job(request, query, params, query_form(query))
        result = await run_in_threadpool(
            _run, request.app, job, settings.sparql_timeout_s
        )
    except ProtocolError as exc:
        return _error(exc.status, str(exc))
    except QueryRefused as exc:
        return _error(400, str(exc))
    except QueryTimeout as exc:
        return _error(503, f"{exc}; narrow the query or add a LIMIT")
    except QueryFailed as exc:
        log.error("SPARQL store failed: %s", exc)
        return _error(503, f"the triple store could not answer: {exc}")
    headers = {"Vary": "Accept"}
    if result.truncated:
        headers["X-Row-Limit"] = str(settings.sparql_row_limit)
    log.debug("SPARQL %s answered as %s", job.form, result.media_type)
    return Response(result.body, media_type=result.media_type, headers=headers)


@router.get("/sparql")
async def sparql_get(request: Request) -> Response:
    """SPARQL 1.1 query by GET (``?query=``); read-only."""
    return await _answer(request)


@router.post("/sparql")
async def sparql_post(request: Request) -> Response:
    """SPARQL 1.1 query by POST (form or ``application/sparql-query``); read-only."""
    return await _answer(request)
