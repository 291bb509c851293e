"""The whole catalog in DCAT at ``/catalog``, paged with Hydra, and a dump.

Each page holds the catalog node and a slice of the datasets (ordered by
slug) with all their visible releases, plus a ``hydra:PartialCollectionView``
whose ``first``, ``previous``, ``next`` and ``last`` links a harvester follows
until there is no ``next``. ``/catalog/dump`` streams everything at once as
N-Triples.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import (
    HTMLResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from rdflib import Literal, Namespace, URIRef
from sqlalchemy import func, select

from catalog.db.models import Dataset
from catalog.negotiation import BY_KEY, NotAcceptable, decide_format, split_suffix
from catalog.records import (
    catalog_graph,
    catalog_triples,
    catalog_uri,
    dataset_records,
    dataset_triples,
    iter_dataset_records,
    visible_datasets_query,
)
from metadata.namespaces import DCAT, RDF, XSD
from metadata.rdf import ntriples

log = logging.getLogger(__name__)

router = APIRouter(tags=["harvesting"])

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
RDF_FORMATS = ("turtle", "jsonld", "rdfxml", "ntriples")
OFFERED = [BY_KEY[key] for key in ("html", *RDF_FORMATS)]
RDFLIB_NAMES = {
    "turtle": "turtle",
    "jsonld": "json-ld",
    "rdfxml": "pretty-xml",
    "ntriples": "nt",
}


class BadPaging(ValueError):
    """A page or page size that is not a positive integer in range."""


def _positive(raw: str | None, name: str, default: int, upper: int) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= upper:
        raise BadPaging(f"'{name}' must be an integer from 1 to {upper}; got {raw!r}")
    return int(raw)


def serialise(graph, fmt: str) -> bytes:
    """A graph in one of the RDF formats (JSON-LD compacted with our prefixes,
    from a local context: nothing is fetched)."""
    if fmt == "jsonld":
        context = {prefix: str(ns) for prefix, ns in graph.namespaces() if prefix}
        return graph.serialize(format="json-ld", context=context, encoding="utf-8")
    return graph.serialize(format=RDFLIB_NAMES[fmt], encoding="utf-8")


def _page_link(base: str, page: int, size: int) -> URIRef:
    suffix = "" if size == DEFAULT_PAGE_SIZE else f"&page_size={size}"
    return URIRef(f"{base}/catalog?page={page}{suffix}")


def _add_view(graph, base: str, page: int, size: int, total: int) -> None:
    catalog = URIRef(f"{base}/catalog")
    view = _page_link(base, page, size)
    last = max(1, -(-total // size))
    graph.bind("hydra", HYDRA)
    graph.add((catalog, HYDRA.totalItems, Literal(total, datatype=XSD.integer)))
    graph.add((catalog, HYDRA.view, view))
    graph.add((view, RDF.type, HYDRA.PartialCollectionView))
    graph.add((view, HYDRA.first, _page_link(base, 1, size)))
    graph.add((view, HYDRA.last, _page_link(base, last, size)))
    graph.add((view, HYDRA.itemsPerPage, Literal(size, datatype=XSD.integer)))
    if page > 1:
        graph.add((view, HYDRA.previous, _page_link(base, page - 1, size)))
    if page < last:
        graph.add((view, HYDRA.next, _page_link(base, page + 1, size)))


def catalog_page(session, settings, page: int, size: int):
    """The DCAT graph of one page of the catalog, with its Hydra view.

    Raises
    ------
    LookupError
        If ``page`` is past the last page.
    """
    total = session.scalar(
        select(func.count()).select_from(visible_datasets_query().subquery())
    )
    if page > 1 and (page - 1) * size >= total:
        raise LookupError(f"page {page} is past the last page of the catalog")
    ids = session.scalars(
        visible_datasets_query()
        .with_only_columns(Dataset.id)
        .order_by(Dataset.slug)
        .offset((page - 1) * size)
        .limit(size)
    ).all()
    graph = catalog_graph(settings, dataset_records(session, settings, ids))
    _add_view(graph, settings.base_url, page, size, total)
    return graph


def _html(settings, page: int, size: int) -> HTMLResponse:
    links = "".join(
        f'<li><a href="{escape(settings.base_url)}/catalog?page={page}&amp;'
        f'page_size={size}&amp;format={key}">{BY_KEY[key].media_type}</a></li>'
        for key in RDF_FORMATS
    )
    body = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<title>cardiofair catalog in DCAT</title></head><body>"
        "<h1>The catalog in DCAT</h1>"
        f'<p>Browse the datasets on the <a href="/search">search page</a>; '
        f"machines can read page {page} of the catalog as:</p><ul>{links}</ul>"
        '<p>The complete catalog: <a href="/catalog/dump">N-Triples dump</a>.</p>'
        "</body></html>"
    )
    return HTMLResponse(body)


@router.get("/catalog")
def catalog(request: Request) -> Response:
    """The catalog in DCAT, one page of datasets at a time (Hydra paging)."""
    return _catalog(request, None)


@router.get("/catalog.{suffix}")
def catalog_with_suffix(request: Request, suffix: str) -> Response:
    """The catalog in the RDF format its suffix names (``.ttl``, ``.jsonld``, ...)."""
    _, fmt = split_suffix(f"catalog.{suffix}", OFFERED[1:])
    if fmt is None:
        return _not_acceptable(
            NotAcceptable(f"no format has suffix .{suffix}", OFFERED)
        )
    return _catalog(request, fmt)


def _catalog(request: Request, suffix_format) -> Response:
    settings = request.app.state.settings
    params = request.query_params
    try:
        page = _positive(params.get("page"), "page", 1, 10_000_000)
        size = _positive(
            params.get("page_size"), "page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
        )
        fmt = decide_format(
            OFFERED, request.headers.get("accept"), params.get("format"), suffix_format
        )
    except BadPaging as exc:
        return PlainTextResponse(f"{exc}\n", status_code=400)
    except NotAcceptable as exc:
        return _not_acceptable(exc)
    if fmt.key == "html":
        return _html(settings, page, size)
    with request.app.state.sessions() as session:
        try:
            graph = catalog_page(session, settings, page, size)
        except LookupError as exc:
            return PlainTextResponse(f"{exc}\n", status_code=404)
    log.info("DCAT catalog page %d (%d per page) served as %s", page, size, fmt.key)
    return Response(
        serialise(graph, fmt.key), media_type=fmt.media_type, headers={"Vary": "Accept"}
    )


def _not_acceptable(exc: NotAcceptable) -> PlainTextResponse:
    return PlainTextResponse(exc.listing(), status_code=406)


def _dump(sessions, settings) -> Iterator[bytes]:
    yield ntriples(catalog_triples(settings)).encode()
    node = catalog_uri(settings)
    with sessions() as session:
        for record in iter_dataset_records(session, settings):
            triples = dataset_triples(record, settings)
            for release in record.releases:
                triples.add((node, DCAT.dataset, URIRef(release.uri)))
            yield ntriples(triples).encode()


@router.get("/catalog/dump")
def catalog_dump(request: Request) -> StreamingResponse:
    """The complete catalog in one N-Triples document, streamed."""
    log.info("DCAT dump started")
    return StreamingResponse(
        _dump(request.app.state.sessions, request.app.state.settings),
        media_type="application/n-triples",
        headers={"Content-Disposition": 'inline; filename="cardiofair-catalog.nt"'},
    )
