"""Dataset and release URIs answering in the format a client asks for.

``/dataset/{slug}`` is the dataset (all its versions) and
``/dataset/{slug}/v{N}`` one release; both give HTML (rendered by
:mod:`catalog.routes.pages`), the RDF formats,
DataCite XML, BibTeX, RIS and CSL-JSON, chosen by suffix, ``?format=`` or
``Accept`` (see :mod:`catalog.negotiation`). A withdrawn release answers
410 Gone with its tombstone metadata in the format asked for.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from catalog.formats import bibtex, csl_json, datacite_xml, ris
from catalog.negotiation import FORMATS, NotAcceptable, decide_format, split_suffix
from catalog.records import (
    DatasetRecord,
    ReleaseRecord,
    dataset_graph,
    dataset_record,
    release_graph,
)
from catalog.routes.dcat import serialise

log = logging.getLogger(__name__)

router = APIRouter(tags=["datasets"])

RDF_KEYS = ("jsonld", "turtle", "rdfxml", "ntriples")
CITATIONS = {
    "datacite": datacite_xml,
    "bibtex": bibtex,
    "ris": ris,
    "csljson": csl_json,
}


def offered_formats() -> list:
    """The formats of a dataset or release URI, HTML (the default) first."""
    return list(FORMATS)


def _html(request: Request, slug: str, version: str | None) -> Response:
    """The web page, rendered by :mod:`catalog.routes.pages`.

    ``version`` is passed on as written: the pages answer an unknown dataset
    or a malformed version with the HTML 404 page.
    """
    from catalog.routes import pages

    settings = request.app.state.settings
    with request.app.state.sessions() as session:
        if version is None:
            response = pages.dataset_page(slug, request, session, settings)
        else:
            response = pages.release_page(slug, version, request, session, settings)
    response.headers["Vary"] = "Accept"
    return response


def _not_found(what: str) -> PlainTextResponse:
    return PlainTextResponse(
        f"{what} does not exist in this catalog\n", status_code=404
    )


def _answer(
    request: Request, record: DatasetRecord, release: ReleaseRecord | None, fmt
):
    gone = release.withdrawn if release is not None else record.latest is None
    status = 410 if gone else 200
    headers = {"Vary": "Accept", "Link": _alternates(record, release)}
    settings = request.app.state.settings
    if fmt.key in RDF_KEYS:
        if release is None:
            graph = dataset_graph(record, settings)
        else:
            graph = release_graph(record, release, settings)
        body = serialise(graph, fmt.key)
    else:
        body = CITATIONS[fmt.key](record, release)
    return Response(
        body, status_code=status, media_type=fmt.media_type, headers=headers
    )


def _alternates(record: DatasetRecord, release: ReleaseRecord | None) -> str:
    uri = release.uri if release else record.uri
    return ", ".join(
        f'<{uri}{f.suffix}>; rel="alternate"; type="{f.media_type}"'
        for f in FORMATS
        if f.key in RDF_KEYS
    )


def _decide(request: Request, suffix_format):
    return decide_format(
        offered_formats(),
        request.headers.get("accept"),
        request.query_params.get("format"),
        suffix_format,
    )


@router.get("/dataset/{name}")
def dataset(request: Request, name: str) -> Response:
    """A dataset (all its versions) as HTML, RDF, DataCite XML or a citation."""
    slug, suffix_format = split_suffix(name, offered_formats())
    try:
        fmt = _decide(request, suffix_format)
    except NotAcceptable as exc:
        return PlainTextResponse(exc.listing(), status_code=406)
    if fmt.key == "html":
        return _html(request, slug, None)
    with request.app.state.sessions() as session:
        record = dataset_record(session, slug, request.app.state.settings)
    if record is None or not record.releases:
        return _not_found(f"dataset '{slug}'")
    return _answer(request, record, None, fmt)


@router.get("/dataset/{slug}/v{name}")
def release(request: Request, slug: str, name: str) -> Response:
    """One release as HTML, RDF, DataCite XML or a citation; 410 if withdrawn."""
    number, suffix_format = split_suffix(name, offered_formats())
    label = f"v{number}"
    try:
        fmt = _decide(request, suffix_format)
    except NotAcceptable as exc:
        return PlainTextResponse(exc.listing(), status_code=406)
    if fmt.key == "html":
        return _html(request, slug, number)
    if not (number.isdigit() and number[0] != "0" and len(number) < 10):
        return _not_found(f"release '{slug}/v{name}'")
    with request.app.state.sessions() as session:
        record = dataset_record(session, slug, request.app.state.settings)
    found = record.release(int(number)) if record is not None else None
    if found is None:
        return _not_found(f"release '{slug}/{label}'")
    return _answer(request, record, found, fmt)
