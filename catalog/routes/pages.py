"""Web pages for people: home, search, datasets, releases, organisations.

Pages are rendered on the server and need no JavaScript (one small script
adds copy buttons to the citation box). Every page carries the security
headers; every dataset and release page carries FAIR Signposting links and a
schema.org ``Dataset`` in JSON-LD.
"""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from catalog import landing, search
from catalog.ckan_dicts import file_format, licence_title, theme_label
from catalog.db.models import GateReport, Organization
from catalog.deps import SessionDep, SettingsDep
from catalog.filestore import FileStore
from catalog.preview import PreviewUnavailable, render
from catalog.records import DatasetRecord, ReleaseRecord, dataset_record
from catalog.settings import Settings

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)
HERE = Path(__file__).resolve().parent.parent
templates = Jinja2Templates(directory=HERE / "templates")
PAGE_SIZE = 20

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class PageNotFound(LookupError):
    """Nothing to show at this address."""


def _page(
    request: Request,
    name: str,
    context: dict[str, Any],
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    response = templates.TemplateResponse(
        request, name, context, status_code=status, headers=headers
    )
    response.headers.update(SECURITY_HEADERS)
    return response


def _size(n: int) -> str:
    """A byte count for people: 1.2 MB."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


templates.env.filters["size"] = _size
templates.env.filters["theme"] = theme_label
templates.env.globals["facet_titles"] = search.FACETS


# Home and search ----------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep):
    """The home page: what the catalog holds and its newest releases."""
    recent = search.search(session, search.Query(sort="modified", rows=8))
    organisations = session.scalar(select(func.count()).select_from(Organization))
    return _page(
        request,
        "home.html",
        {"recent": recent.docs, "total": recent.total, "organisations": organisations},
    )


def _query_from(request: Request, page: int) -> search.Query:
    params = request.query_params
    include = tuple(
        (name, tuple(sorted(set(params.getlist(name)))))
        for name in search.FACETS
        if params.getlist(name)
    )
    sort = params.get("sort", "relevance")
    if sort not in ("relevance", "title", "modified"):
        sort = "relevance"
    q = params.get("q", "")[:500]
    if sort == "relevance" and not search.fts_match(q):
        sort = "modified"
    return search.Query(
        q=q,
        include=include,
        sort=sort,
        start=(page - 1) * PAGE_SIZE,
        rows=PAGE_SIZE,
    )


def _page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) <= 100_000 else 1


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, session: SessionDep):
    """Search the datasets, narrow them by facets and page through them."""
    page = _page_number(request)
    query = _query_from(request, page)
    result = search.search(session, query, tuple(search.FACETS), facet_limit=12)
    pages = max(1, math.ceil(result.total / PAGE_SIZE))
    return _page(
        request,
        "search.html",
        {
            "query": query,
            "result": result,
            "page": page,
            "pages": pages,
            "chosen": dict(query.include),
            "link": _linker(request),
            "facet_label": _facet_label,
        },
    )


def _linker(request: Request):
    """Build search links that toggle one facet value or change one parameter."""
    base = [(k, v) for k, v in request.query_params.multi_items() if v]

    def link(toggle: tuple[str, str] | None = None, **change: Any) -> str:
        items = [(k, v) for k, v in base if k != "page" and k not in change]
        if toggle is not None:
            if toggle in items:
                items.remove(toggle)
            else:
                items.append(toggle)
        items += [(k, str(v)) for k, v in change.items() if v not in (None, "")]
        return "/search?" + urlencode(items) if items else "/search"

    return link


def _facet_label(name: str, value: str) -> str:
    if name == "theme":
        return theme_label(value)
    if name == "license":
        return licence_title(value)[0]
    if name == "access":
        return value.capitalize()
    return value


# Organisations ------------------------------------------------------------------


@router.get("/organization/{slug}", response_class=HTMLResponse)
def organisation_page(slug: str, request: Request, session: SessionDep):
    """An organisation and the datasets it publishes."""
    org = session.scalar(select(Organization).where(Organization.slug == slug))
    if org is None:
        raise PageNotFound(f"There is no organisation called {slug!r}.")
    page = _page_number(request)
    query = search.Query(
        include=(("organization", (slug,)),),
        sort="title",
        start=(page - 1) * PAGE_SIZE,
        rows=PAGE_SIZE,
    )
    result = search.search(session, query)
    pages = max(1, math.ceil(result.total / PAGE_SIZE))
    return _page(
        request,
        "organization.html",
        {"org": org, "result": result, "page": page, "pages": pages},
    )


# Datasets and releases ----------------------------------------------------------


def _record(session: Session, settings: Settings, slug: str) -> DatasetRecord:
    record = dataset_record(session, slug, settings)
    if record is None or not record.releases:
        raise PageNotFound(f"There is no dataset called {slug!r}.")
    return record


def _version(raw: str) -> int:
    if not re.fullmatch(r"[1-9][0-9]{0,8}", raw):
        raise PageNotFound(f"{raw!r} is not a version number.")
    return int(raw)


def _release(record: DatasetRecord, version: int) -> ReleaseRecord:
    release = record.release(version)
    if release is None:
        raise PageNotFound(f"{record.title} has no version {version}.")
    return release


@router.get("/dataset/{slug}", response_class=HTMLResponse)
def dataset_page(
    slug: str, request: Request, session: SessionDep, settings: SettingsDep
):
    """The dataset's landing page: its newest release, or its tombstone."""
    record = _record(session, settings, slug)
    if record.latest is None:
        return _tombstone(request, record, record.releases[-1], record.uri)
    return _landing(request, session, settings, record, record.latest, record.uri)


@router.get("/dataset/{slug}/v{version}", response_class=HTMLResponse)
def release_page(
    slug: str,
    version: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
):
    """One release of a dataset; a withdrawn release answers with its tombstone."""
    record = _record(session, settings, slug)
    release = _release(record, _version(version))
    if release.withdrawn:
        return _tombstone(request, record, release, release.uri)
    return _landing(request, session, settings, record, release, release.uri)


def _landing(
    request: Request,
    session: Session,
    settings: Settings,
    record: DatasetRecord,
    release: ReleaseRecord,
    anchor: str,
) -> HTMLResponse:
    links = landing.signposts(record, release, anchor)
    report = session.scalar(
        select(GateReport)
        .where(GateReport.release_id == release.id)
        .order_by(GateReport.created_at.desc())
        .limit(1)
    )
    restricted = [f for f in release.files if f.restricted]
    context = {
        "record": record,
        "release": release,
        "anchor": anchor,
        "is_latest": record.latest is not None
        and record.latest.version == release.version,
        "citations": landing.citations(record, release),
        "cite_as": landing.resolvable(release.identifier),
        "json_ld": landing.json_ld(landing.schema_org(record, release)),
        "alternates": landing.ALTERNATES + landing.CITATION_FORMATS,
        "licence": licence_title(release.licence_id),
        "policy": _policy_words(release),
        "access": landing.access_words(release.access_rights),
        "files": [(f, file_format(f.path, f.media_type)) for f in release.public_files],
        "restricted_count": len(restricted),
        "restricted_bytes": sum(f.size_bytes for f in restricted),
        "preview": _has_preview(release),
        "gate": landing.gate_summary(report.report) if report else None,
        "gate_passed": report.passed if report else None,
        "gate_at": report.created_at if report else None,
        "themes": [theme_label(t) for t in release.themes],
    }
    headers = {"Link": landing.link_header(links)}
    return _page(request, "dataset.html", context, headers=headers)


def _policy_words(release: ReleaseRecord) -> list[str]:
    from metadata.licences import describe_licence

    words = []
    try:
        words.append(describe_licence(release.licence_id))
    except ValueError:
        words.append(f"Licence: {release.licence_id}.")
    words.append(
        "You must cite the dataset as shown above and must not attempt to "
        "re-identify any person."
    )
    return words


def _has_preview(release: ReleaseRecord) -> bool:
    return any(f.path.endswith(".hea") for f in release.public_files)


def _tombstone(
    request: Request, record: DatasetRecord, release: ReleaseRecord, anchor: str
) -> HTMLResponse:
    others = [r for r in record.published if r.version != release.version]
    headers = {"Link": f'<{landing.resolvable(release.identifier)}>; rel="cite-as"'}
    return _page(
        request,
        "tombstone.html",
        {"record": record, "release": release, "others": others},
        status=410,
        headers=headers,
    )


@router.get("/dataset/{slug}/linkset")
def dataset_linkset(slug: str, session: SessionDep, settings: SettingsDep):
    """The dataset's FAIR Signposting links as an RFC 9264 linkset."""
    record = _record(session, settings, slug)
    if record.latest is None:
        raise PageNotFound(f"{record.title} has been withdrawn.")
    links = landing.signposts(record, record.latest, record.uri)
    return _linkset(record.uri, links)


@router.get("/dataset/{slug}/v{version}/linkset")
def release_linkset(
    slug: str, version: str, session: SessionDep, settings: SettingsDep
):
    """One release's FAIR Signposting links as an RFC 9264 linkset."""
    record = _record(session, settings, slug)
    release = _release(record, _version(version))
    if release.withdrawn:
        raise PageNotFound(f"Version {release.version} has been withdrawn.")
    return _linkset(release.uri, landing.signposts(record, release, release.uri))


def _linkset(anchor: str, links: list[landing.Link]) -> JSONResponse:
    return JSONResponse(
        landing.linkset(anchor, links), media_type="application/linkset+json"
    )


@router.get("/dataset/{slug}/v{version}/preview.svg")
def preview(slug: str, version: str, session: SessionDep, settings: SettingsDep):
    """The 12-lead preview of the release's first WFDB record, as SVG."""
    record = _record(session, settings, slug)
    release = _release(record, _version(version))
    try:
        svg = render(
            release.public_files,
            FileStore(settings.files_dir),
            settings.home / "previews",
        )
    except PreviewUnavailable as exc:
        raise PageNotFound(str(exc)) from None
    headers = {"Cache-Control": "public, max-age=86400", **SECURITY_HEADERS}
    return Response(svg, media_type="image/svg+xml", headers=headers)


@router.get("/dataset/{slug}/v{version}/files/{path:path}")
def download(
    slug: str, version: str, path: str, session: SessionDep, settings: SettingsDep
):
    """Download a public file of a published release."""
    record = _record(session, settings, slug)
    release = _release(record, _version(version))
    match = next((f for f in release.files if f.path == path), None)
    if release.withdrawn or match is None or match.restricted:
        raise PageNotFound(f"{path} is not a public file of this release.")
    store = FileStore(settings.files_dir)
    if not store.has(match.sha256):
        raise PageNotFound(f"{path} is not in the file store.")
    return FileResponse(
        store.path_for(match.sha256),
        media_type=match.media_type,
        filename=Path(match.path).name,
        headers={"Digest": f"sha-256={match.sha256}", **SECURITY_HEADERS},
    )


# Errors and wiring --------------------------------------------------------------


def _wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/sparql", "/oai")):
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept or "*/*" in accept or not accept


def not_found_page(request: Request, message: str) -> HTMLResponse:
    return _page(request, "error.html", {"message": message}, status=404)


def install(app: FastAPI) -> None:
    """Add the pages, their static files and the HTML 404 page to ``app``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(PageNotFound)
    async def page_not_found(request: Request, exc: PageNotFound):
        return not_found_page(request, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 404 and _wants_html(request):
            return not_found_page(request, "There is nothing at this address.")
        return await http_exception_handler(request, exc)
