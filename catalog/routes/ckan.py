"""The CKAN Action API, read-only, so that ``ckanapi`` and CKAN's harvester work.

Both ``/api/3/action/NAME`` and ``/api/action/NAME`` answer GET (query
parameters) and POST (a JSON object or a form). Every answer is CKAN's
envelope; every refusal is CKAN's error type with its HTTP status. Unknown
parameters are ignored, as CKAN does.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import Text, cast, func, or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from catalog import __version__, search
from catalog.ckan_dicts import group_dict, license_dict, organization_dict
from catalog.db.models import Organization, SearchDoc
from catalog.deps import SessionDep, SettingsDep

log = logging.getLogger(__name__)

router = APIRouter(tags=["CKAN Action API"])

CKAN_API_VERSION = "2.10.0"
DEFAULT_ROWS = 10

#: CKAN field names in ``fq``, ``sort`` and ``facet.field`` -> our facets.
FIELDS = {
    "organization": "organization",
    "owner_org": "organization",
    "groups": "theme",
    "tags": "keyword",
    "license_id": "license",
    "res_format": "format",
    "access_rights": "access",
    "pathology": "pathology",
}

#: CKAN actions that change records: refused, this API is read-only.
WRITE_ACTIONS = re.compile(
    r"^(package|resource|organization|group|member|user|tag|vocabulary|"
    r"dataset_purge|bulk|api_token|package_relationship)_?\w*_"
    r"(create|update|patch|delete|purge|revise|reorder|revoke)$"
    r"|^(package|resource|organization|group|dataset)_(create|update|patch|"
    r"delete|purge|revise)$"
)


class ActionError(Exception):
    """A CKAN error: its ``__type``, HTTP status and body fields."""

    def __init__(self, kind: str, status: int, **fields):
        super().__init__(kind)
        self.kind = kind
        self.status = status
        self.fields = fields


@dataclass(frozen=True)
class RawJSON:
    """A result that is JSON text already, passed into the envelope as it is.

    Search results are stored as the JSON of complete package dictionaries;
    splicing that text saves decoding and encoding every package.
    """

    text: str


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def splice(fields: dict, name: str, raw: str) -> str:
    """``fields`` as a JSON object with one more member, ``name``, holding JSON text."""
    head = _dumps(fields)
    comma = "," if fields else ""
    return f"{head[:-1]}{comma}{_dumps(name)}:{raw}}}"


def not_found(what: str = "Not found") -> ActionError:
    return ActionError("Not Found Error", 404, message=what)


def invalid(field: str, problem: str) -> ActionError:
    return ActionError("Validation Error", 409, **{field: [problem]})


def bad_search(problem: str) -> ActionError:
    return ActionError(
        "Search Query Error", 400, message=f"Search Query is invalid: {problem}"
    )


# Parameters -------------------------------------------------------------------


async def _params(request: Request) -> dict:
    params = dict(request.query_params)
    if request.method != "POST":
        return params
    body = await request.body()
    if not body.strip():
        return params
    kind = request.headers.get("content-type", "")
    if kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
        return params
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ActionError(
            "Bad Request", 400, message="Bad request - JSON Error: invalid JSON"
        ) from None
    if not isinstance(data, dict):
        raise ActionError(
            "Bad Request",
            400,
            message="Bad request - JSON Error: request data must be an object",
        )
    params.update(data)
    return params


#: Largest offset or limit accepted: databases keep them in 64 bits at most.
MAX_INT = 2**31 - 1


def _int(params: dict, name: str, default: int, lo: int = 0) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError, OverflowError):
        raise invalid(name, "Invalid integer") from None
    if value < lo:
        raise invalid(name, f"Must be a natural number of at least {lo}")
    if value > MAX_INT:
        raise invalid(name, f"Must be at most {MAX_INT}")
    return value


def _bool(params: dict, name: str, default: bool = False) -> bool:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    return str(raw).lower() in ("true", "1", "yes", "on")


def _text(params: dict, name: str) -> str:
    raw = params.get(name)
    if raw is None:
        return ""
    if not isinstance(raw, str | int | float):
        raise invalid(name, "Must be a string")
    return str(raw)


def _required(params: dict, name: str = "id") -> str:
    value = _text(params, name).strip()
    if not value:
        raise invalid(name, "Missing value")
    return value


# fq ---------------------------------------------------------------------------

_CLAUSE = re.compile(
    r"\s*(?P<op>OR\b|AND\b|&&|\|\|)?\s*(?P<sign>[-+!])?(?P<field>[\w.]+):"
    r'(?P<value>\[[^\]]*\]|\{[^}]*\}|"(?:[^"\\]|\\.)*"|\([^)]*\)|[^\s()]+)\s*'
)


def parse_fq(fq: str) -> tuple[list, list, datetime | None, datetime | None]:
    """Translate CKAN's ``fq`` into facet filters and a modification range.

    Supported: ``field:value``, ``field:"value"``, ``field:(a OR b)``,
    ``-field:value``, clauses on the same field joined by ``OR``, other clauses
    joined by ``AND`` or a space, and ``metadata_modified:[FROM TO UNTIL]``
    with ``*`` for an open end.

    Raises
    ------
    ActionError
        A Search Query Error naming what could not be understood.
    """
    groups: list[list] = []  # [sign, facet, values]
    since = until = None
    pos = 0
    fq = fq.strip()
    while pos < len(fq):
        match = _CLAUSE.match(fq, pos)
        if match is None:
            raise bad_search(f"cannot parse fq at {fq[pos : pos + 40]!r}")
        pos = match.end()
        field, value = match["field"], match["value"]
        negative = match["sign"] in ("-", "!")
        if field == "metadata_modified":
            if negative or match["op"] in ("OR", "||"):
                raise bad_search("metadata_modified must be a plain range clause")
            since, until = _range(value)
            continue
        if field not in FIELDS:
            raise bad_search(f"unknown field {field!r} in fq")
        facet = FIELDS[field]
        values = _values(value)
        if match["op"] in ("OR", "||") and groups:
            last = groups[-1]
            if last[0] != negative or last[1] != facet:
                raise bad_search("OR joins clauses on one field only")
            last[2].extend(values)
        else:
            groups.append([negative, facet, values])
    include = [(f, tuple(v)) for neg, f, v in groups if not neg]
    exclude = [(f, tuple(v)) for neg, f, v in groups if neg]
    return include, exclude, since, until


def _values(raw: str) -> list[str]:
    if raw.startswith("("):
        parts = re.split(r"\s+OR\s+", raw[1:-1].strip())
        return [_unquote(p.strip()) for p in parts if p.strip()]
    return [_unquote(raw)]


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    return raw


def _range(raw: str) -> tuple[datetime | None, datetime | None]:
    parts = raw[1:-1].split(" TO ")
    if not raw.startswith(("[", "{")) or len(parts) != 2:
        raise bad_search(f"expected metadata_modified:[FROM TO UNTIL], got {raw!r}")
    return _moment(parts[0]), _moment(parts[1])


def _moment(raw: str) -> datetime | None:
    raw = raw.strip()
    if raw == "*":
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise bad_search(
            f"{raw!r} is not a date such as 2024-05-01T09:00:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise bad_search(f"{raw!r} is outside the years 1 to 9999 in UTC") from None


_SORT_KEYS = {
    "id": "id",
    "name": "name",
    "title_string": "title",
    "title": "title",
    "metadata_modified": "modified",
    "metadata_created": "created",
    "score": "relevance",
}


def parse_sort(raw: str) -> tuple[str, bool | None]:
    """The first key of CKAN's ``sort`` (``id asc``, ``metadata_modified desc``)."""
    first = raw.split(",")[0].split()
    if not first:
        return "relevance", None
    key = first[0]
    direction = first[1].lower() if len(first) > 1 else "asc"
    if key not in _SORT_KEYS or direction not in ("asc", "desc"):
        raise bad_search(f"cannot sort by {raw!r}")
    return _SORT_KEYS[key], direction == "desc"


# Actions ----------------------------------------------------------------------


def package_list(session: Session, params: dict, base_url: str):
    limit = _int(params, "limit", 0) or None
    return search.package_names(session, _int(params, "offset", 0), limit)


def package_show(session: Session, params: dict, base_url: str):
    key = _required(params, "id")
    stmt = select(cast(SearchDoc.package, Text)).where(
        or_(SearchDoc.name == key, SearchDoc.dataset_id == key)
    )
    package = session.scalar(stmt)
    if package is None:
        raise not_found()
    return RawJSON(package)


def package_search(session: Session, params: dict, base_url: str):
    query, facet_fields, facet_limit = _search_query(params)
    facets = tuple(FIELDS[f] for f in facet_fields)
    try:
        result = search.search(
            session, query, facets, facet_limit, field_name="package", raw=True
        )
    except search.SearchError as exc:
        raise bad_search(str(exc)) from None
    plain = {}
    rich = {}
    for field, facet in zip(facet_fields, facets, strict=True):
        counts = result.facets[facet]
        plain[field] = dict(counts)
        items = [{"name": v, "display_name": v, "count": n} for v, n in counts]
        rich[field] = {"title": field, "items": items}
    fields = {
        "count": result.total,
        "sort": params.get("sort") or "score desc, metadata_modified desc",
        "facets": plain,
        "search_facets": rich,
    }
    return RawJSON(splice(fields, "results", f"[{','.join(result.docs)}]"))


def _search_query(params: dict) -> tuple[search.Query, list[str], int]:
    q = _text(params, "q").strip()
    if q in ("*:*", "*"):
        q = ""
    fq_parts = [_text(params, "fq")]
    fq_list = params.get("fq_list") or []
    if isinstance(fq_list, str):
        fq_list = [fq_list]
    fq_parts += [str(item) for item in fq_list]
    include, exclude, since, until = parse_fq(" ".join(p for p in fq_parts if p))
    sort, descending = parse_sort(_text(params, "sort"))
    if sort == "relevance" and not q:
        sort, descending = "modified", True
    rows = min(_int(params, "rows", DEFAULT_ROWS), search.MAX_ROWS)
    query = search.Query(
        q=q,
        include=tuple(include),
        exclude=tuple(exclude),
        modified_since=since,
        modified_until=until,
        sort=sort,
        descending=descending,
        start=_int(params, "start", 0),
        rows=rows,
    )
    return query, _facet_fields(params), _int(params, "facet.limit", 50, lo=-1)


def _facet_fields(params: dict) -> list[str]:
    raw = params.get("facet.field")
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise invalid("facet.field", "Must be a JSON list of field names") from None
    if not isinstance(raw, list) or not all(isinstance(f, str) for f in raw):
        raise invalid("facet.field", "Must be a JSON list of field names")
    unknown = [f for f in raw if f not in FIELDS]
    if unknown:
        raise bad_search(f"cannot facet on {unknown[0]!r}")
    return raw


def _org_counts(session: Session) -> dict[str, int]:
    return dict(search.facet_values(session, "organization"))


def organization_list(session: Session, params: dict, base_url: str):
    stmt = select(Organization).order_by(Organization.slug)
    wanted = params.get("organizations")
    if isinstance(wanted, list):
        stmt = stmt.where(Organization.slug.in_([str(w) for w in wanted]))
    stmt = stmt.offset(_int(params, "offset", 0))
    limit = _int(params, "limit", 0)
    if limit:
        stmt = stmt.limit(limit)
    orgs = session.scalars(stmt).all()
    if not _bool(params, "all_fields"):
        return [org.slug for org in orgs]
    counts = _org_counts(session)
    return [organization_dict(org, counts.get(org.slug, 0)) for org in orgs]


def organization_show(session: Session, params: dict, base_url: str):
    key = _required(params, "id")
    org = session.scalar(
        select(Organization).where(
            or_(Organization.slug == key, Organization.id == key)
        )
    )
    if org is None:
        raise not_found()
    count = session.scalar(
        select(func.count()).where(SearchDoc.organization == org.slug)
    )
    out = organization_dict(org, count)
    out["users"] = []
    if _bool(params, "include_datasets"):
        stmt = (
            select(SearchDoc.package)
            .where(SearchDoc.organization == org.slug)
            .order_by(SearchDoc.name)
            .limit(1000)
        )
        out["packages"] = list(session.scalars(stmt))
    return out


def group_list(session: Session, params: dict, base_url: str):
    themes = _themes(session)
    names = sorted(themes)
    start = _int(params, "offset", 0)
    limit = _int(params, "limit", 0) or None
    names = names[start : start + limit if limit else None]
    if not _bool(params, "all_fields"):
        return names
    return [group_dict(n, themes[n][0], themes[n][1]) for n in names]


def group_show(session: Session, params: dict, base_url: str):
    key = _required(params, "id")
    themes = _themes(session)
    if key not in themes:
        raise not_found()
    theme, count = themes[key]
    out = group_dict(key, theme, count)
    if _bool(params, "include_datasets"):
        query = search.Query(include=(("theme", (key,)),), sort="name", rows=1000)
        out["packages"] = search.search(session, query, field_name="package").docs
    return out


def _themes(session: Session) -> dict[str, tuple[str, int]]:
    """Theme group names -> (the theme, number of datasets under it)."""
    return {name: (name, n) for name, n in search.facet_values(session, "theme")}


def license_list(session: Session, params: dict, base_url: str):
    from metadata.licences import DATA_LICENCES

    used = [value for value, _ in search.facet_values(session, "license")]
    ids = list(DATA_LICENCES) + [i for i in used if i not in DATA_LICENCES]
    return [license_dict(i) for i in ids]


def status_show(session: Session, params: dict, base_url: str):
    return {
        "site_title": "cardiofair",
        "site_description": "FAIR catalog of synthetic cardiac research data",
        "site_url": base_url,
        "ckan_version": CKAN_API_VERSION,
        "cardiofair_version": __version__,
        "error_emails_to": None,
        "locale_default": "en",
        "extensions": [],
    }


ACTIONS: dict[str, Callable] = {
    f.__name__: f
    for f in (
        package_list,
        package_show,
        package_search,
        organization_list,
        organization_show,
        group_list,
        group_show,
        license_list,
        status_show,
    )
}


# Routes -----------------------------------------------------------------------


def _envelope(base_url: str, name: str, **body) -> dict:
    return {"help": f"{base_url}/api/3/action/help_show?name={name}", **body}


async def _run(name: str, request: Request, session: Session, base_url: str):
    try:
        if name not in ACTIONS:
            if WRITE_ACTIONS.match(name):
                raise ActionError(
                    "Authorization Error",
                    403,
                    message="Access denied: this CKAN API is read-only; "
                    "maintainers publish through /api/v1",
                )
            raise ActionError(
                "Bad Request",
                400,
                message=f"Bad request - Action name not known: {name}",
            )
        params = await _params(request)
        result = await run_in_threadpool(ACTIONS[name], session, params, base_url)
    except ActionError as exc:
        error = {"__type": exc.kind, **exc.fields}
        log.debug("ckan %s refused: %s", name, error)
        body = _envelope(base_url, name, success=False, error=error)
        return _json(_dumps(body), exc.status)
    envelope = _envelope(base_url, name, success=True)
    if isinstance(result, RawJSON):
        return _json(splice(envelope, "result", result.text))
    return _json(_dumps({**envelope, "result": result}))


def _json(body: str, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="application/json")


@router.get("/api/3/action/{name}", operation_id="ckan_action_v3_get")
@router.post("/api/3/action/{name}", operation_id="ckan_action_v3_post")
async def action_v3(
    name: str, request: Request, session: SessionDep, settings: SettingsDep
):
    """Call a CKAN action (read-only): package_search, package_show and others."""
    return await _run(name, request, session, settings.base_url)


@router.get("/api/action/{name}", operation_id="ckan_action_get")
@router.post("/api/action/{name}", operation_id="ckan_action_post")
async def action(
    name: str, request: Request, session: SessionDep, settings: SettingsDep
):
    """Call a CKAN action at the unversioned path that ckanapi uses."""
    return await _run(name, request, session, settings.base_url)
