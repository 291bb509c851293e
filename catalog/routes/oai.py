"""OAI-PMH 2.0 at ``/oai``: every release is an item; withdrawn ones stay as
deleted records.

Lists are paged by keyset on ``(modified_at, id)`` of the release rows, and a
resumption token carries that position, the request's arguments, the cursor
and the complete list size. Tokens hold no server state, so they never expire
and page 10,000 costs what page 1 costs. Errors are OAI-PMH error elements with
HTTP 200, as the protocol asks.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import Response
from lxml import etree
from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from catalog import oai_store
from catalog.db.models import Dataset, Organization, Release
from catalog.oai_store import (
    OAI_DATACITE_NS,
    OAI_DATACITE_XSD,
    OAI_NS,
    XSI_NS,
    datestamp_text,
    host,
    oai_record,
)
from catalog.records import THEME_LABELS, VISIBLE_STATES, utc
from catalog.settings import Settings

log = logging.getLogger(__name__)

router = APIRouter(tags=["harvesting"])

OAI_XSD = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RECORDS_PER_PAGE = 200
IDENTIFIERS_PER_PAGE = 1000
GRANULARITY = "YYYY-MM-DDThh:mm:ssZ"


@dataclass(frozen=True)
class MetadataFormat:
    prefix: str
    schema: str
    namespace: str


FORMATS = {
    "oai_dc": MetadataFormat(
        "oai_dc",
        "http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
        "http://www.openarchives.org/OAI/2.0/oai_dc/",
    ),
    "oai_datacite": MetadataFormat("oai_datacite", OAI_DATACITE_XSD, OAI_DATACITE_NS),
    "dcat_ap": MetadataFormat(
        "dcat_ap", "http://www.openarchives.org/OAI/2.0/rdf.xsd", RDF_NS
    ),
}
VERBS = {
    "Identify": (set(), set()),
    "ListMetadataFormats": (set(), {"identifier"}),
    "ListSets": (set(), set()),
    "GetRecord": ({"identifier", "metadataPrefix"}, set()),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set"}),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set"}),
}
PAGED = ("ListIdentifiers", "ListRecords")


class OaiError(Exception):
    """An OAI-PMH error condition: its code and a readable message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


# Arguments ---------------------------------------------------------------


def _arguments(pairs: list[tuple[str, str]]) -> dict[str, str]:
    args: dict[str, str] = {}
    for key, value in pairs:
        if key in args:
            code = "badVerb" if key == "verb" else "badArgument"
            raise OaiError(code, f"the argument '{key}' is repeated")
        args[key] = value
    return args


def _check_verb(args: dict[str, str]) -> str:
    verb = args.get("verb")
    if verb is None:
        raise OaiError("badVerb", "the 'verb' argument is missing")
    if verb not in VERBS:
        raise OaiError("badVerb", f"'{verb}' is not an OAI-PMH verb")
    required, optional = VERBS[verb]
    given = set(args) - {"verb"}
    if "resumptionToken" in given and verb in (*PAGED, "ListSets"):
        if given != {"resumptionToken"}:
            raise OaiError("badArgument", "resumptionToken is an exclusive argument")
        return verb
    unknown = given - required - optional
    if unknown:
        raise OaiError(
            "badArgument",
            f"illegal argument(s) for {verb}: {', '.join(sorted(unknown))}",
        )
    missing = required - given
    if missing:
        raise OaiError(
            "badArgument", f"{verb} needs the argument(s) {', '.join(sorted(missing))}"
        )
    return verb


def _format(prefix: str) -> MetadataFormat:
    if prefix not in FORMATS:
        raise OaiError(
            "cannotDisseminateFormat",
            f"metadataPrefix '{prefix}' is not supported; use one of "
            f"{', '.join(FORMATS)}",
        )
    return FORMATS[prefix]


def parse_datestamp(value: str, name: str) -> tuple[datetime, str]:
    """A UTC datestamp at day or second granularity, and that granularity."""
    for pattern, granularity in (
        ("%Y-%m-%dT%H:%M:%SZ", "second"),
        ("%Y-%m-%d", "day"),
    ):
        try:
            moment = datetime.strptime(value, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
        if granularity == "day" and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            continue
        return moment, granularity
    raise OaiError(
        "badArgument",
        f"'{name}' must be YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ; got '{value}'",
    )


@dataclass(frozen=True)
class ListRequest:
    """What a list request asks for and where its next page starts."""

    prefix: str
    start: datetime | None = None
    end: datetime | None = None  # exclusive
    set_spec: str | None = None
    cursor: int = 0
    total: int | None = None
    after: tuple[datetime, str] | None = None

    def token(self, after: tuple[datetime, str], cursor: int, total: int) -> str:
        state = {
            "p": self.prefix,
            "f": self.start.isoformat() if self.start else None,
            "u": self.end.isoformat() if self.end else None,
            "s": self.set_spec,
            "c": cursor,
            "n": total,
            "d": after[0].isoformat(),
            "i": after[1],
        }
        text = json.dumps(state, separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def list_request(args: dict[str, str]) -> ListRequest:
    if "resumptionToken" in args:
        return _from_token(args["resumptionToken"])
    fmt = _format(args["metadataPrefix"])
    start = end = None
    granularities = set()
    if "from" in args:
        start, granularity = parse_datestamp(args["from"], "from")
        granularities.add(granularity)
    if "until" in args:
        until, granularity = parse_datestamp(args["until"], "until")
        granularities.add(granularity)
        step = timedelta(days=1) if granularity == "day" else timedelta(seconds=1)
        # The last representable day has no end to exclude: leave it open.
        end = until + step if until < datetime.max.replace(tzinfo=UTC) - step else None
    if len(granularities) > 1:
        raise OaiError("badArgument", "'from' and 'until' have different granularities")
    if start and end and start >= end:
        raise OaiError("badArgument", "'from' is later than 'until'")
    set_spec = args.get("set")
    if set_spec is not None:
        _check_set_spec(set_spec)
    return ListRequest(fmt.prefix, start, end, set_spec)


def _from_token(token: str) -> ListRequest:
    try:
        padded = token + "=" * (-len(token) % 4)
        state = json.loads(base64.urlsafe_b64decode(padded.encode()))
        request = ListRequest(
            prefix=_format(state["p"]).prefix,
            start=datetime.fromisoformat(state["f"]) if state["f"] else None,
            end=datetime.fromisoformat(state["u"]) if state["u"] else None,
            set_spec=state["s"],
            cursor=int(state["c"]),
            total=int(state["n"]),
            after=(datetime.fromisoformat(state["d"]), str(state["i"])),
        )
        if request.set_spec is not None:
            _check_set_spec(request.set_spec, "badResumptionToken")
    except (ValueError, KeyError, TypeError, OverflowError, binascii.Error, OaiError):
        raise OaiError(
            "badResumptionToken",
            "the resumptionToken is not one this repository issued",
        ) from None
    return request


SET_RE = re.compile(r"^(org|theme)(:[A-Za-z0-9\-_.]+)?$")


def _check_set_spec(spec: str, code: str = "badArgument") -> None:
    if not SET_RE.match(spec):
        raise OaiError(code, f"'{spec}' is not a set of this repository (see ListSets)")


# Queries -----------------------------------------------------------------


def _filtered(query, request: ListRequest):
    query = query.where(Release.state.in_(VISIBLE_STATES))
    if request.start is not None:
        query = query.where(Release.modified_at >= request.start)
    if request.end is not None:
        query = query.where(Release.modified_at < request.end)
    if request.set_spec is None:
        return query
    kind, _, value = request.set_spec.partition(":")
    query = query.join(Dataset, Dataset.id == Release.dataset_id)
    if not value:
        return query
    if kind == "org":
        query = query.join(Organization, Organization.id == Dataset.organization_id)
        return query.where(Organization.slug == value)
    # Themes are a JSON list of EU data-theme codes; the codes are plain
    # capitals, so matching the quoted code in the list's text is exact.
    return query.where(cast(Dataset.themes, String).like(f'%"{value}"%'))


def _count(session: Session, request: ListRequest) -> int:
    return session.scalar(_filtered(select(func.count(Release.id)), request)) or 0


def _stored(columns: list[str]):
    """A select of releases with their stored OAI-PMH text (None if missing)."""
    return (
        select(
            Release.id,
            Release.modified_at,
            oai_record.c.datestamp,
            *(oai_record.c[name] for name in columns),
        )
        .select_from(Release)
        .outerjoin(oai_record, oai_record.c.release_id == Release.id)
    )


def _page(session: Session, request: ListRequest, size: int, columns) -> list:
    query = _filtered(_stored(columns), request)
    if request.after is not None:
        moment, last_id = request.after
        query = query.where(
            (Release.modified_at > moment)
            | ((Release.modified_at == moment) & (Release.id > last_id))
        )
    query = query.order_by(Release.modified_at, Release.id).limit(size + 1)
    return list(session.execute(query).all())


def _texts(session: Session, settings: Settings, rows, columns) -> list[tuple]:
    """The stored text of each row's columns, rebuilding missing or stale rows."""
    stale = [
        row.id
        for row in rows
        if row.datestamp is None or utc(row.datestamp) != utc(row.modified_at)
    ]
    fresh = {}
    if stale:
        fresh = oai_store.freeze(session, settings, stale)
        session.commit()
        log.info("OAI-PMH: rebuilt %d stored records", len(fresh))
    texts = []
    for row in rows:
        if row.id in fresh:
            texts.append(tuple(fresh[row.id][name] for name in columns))
        else:
            texts.append(tuple(getattr(row, name) for name in columns))
    return texts


# XML ---------------------------------------------------------------------


# Characters XML 1.0 cannot carry; an argument may hold them.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` with every character XML cannot carry replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def _e(parent, name: str, text: str | None = None, **attrs):
    element = etree.SubElement(parent, f"{{{OAI_NS}}}{name}", attrs)
    if text is not None:
        element.text = xml_text(text)
    return element


def _envelope(base: str, args: dict[str, str], echo: bool):
    root = etree.Element(f"{{{OAI_NS}}}OAI-PMH", nsmap={None: OAI_NS, "xsi": XSI_NS})
    root.set(f"{{{XSI_NS}}}schemaLocation", f"{OAI_NS} {OAI_XSD}")
    _e(root, "responseDate", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    request = _e(root, "request", base)
    if echo:
        for key, value in args.items():
            request.set(key, xml_text(value))
    return root


def _parse_identifier(settings: Settings, identifier: str) -> tuple[str, int]:
    match = re.fullmatch(
        rf"oai:{re.escape(host(settings))}:([a-z0-9][a-z0-9-]*)/v([1-9]\d{{0,6}})",
        identifier,
    )
    if match is None:
        raise OaiError(
            "idDoesNotExist", f"'{identifier}' is not an item of this repository"
        )
    return match.group(1), int(match.group(2))


# Stored records are spliced into the serialised response where this comment
# stands: a page is a concatenation of text, not a tree of parsed records.
SPLICE = "stored records"


def _record_text(header: str, body: str | None) -> str:
    if body is None:
        return f"<record>{header}</record>"
    return f"<record>{header}<metadata>{body}</metadata></record>"


# Verbs -------------------------------------------------------------------


def identify(root, session: Session, settings: Settings, args) -> None:
    earliest = session.scalar(
        select(func.min(Release.modified_at)).where(Release.state.in_(VISIBLE_STATES))
    )
    email = session.scalar(
        select(Organization.email).where(Organization.email.is_not(None)).limit(1)
    )
    node = _e(root, "Identify")
    _e(node, "repositoryName", "cardiofair: synthetic cardiac research data")
    _e(node, "baseURL", f"{settings.base_url}/oai")
    _e(node, "protocolVersion", "2.0")
    _e(node, "adminEmail", email or f"catalog@{host(settings)}")
    stamp = earliest or datetime(2000, 1, 1, tzinfo=UTC)
    _e(node, "earliestDatestamp", datestamp_text(stamp))
    _e(node, "deletedRecord", "persistent")
    _e(node, "granularity", GRANULARITY)


def list_metadata_formats(root, session: Session, settings: Settings, args) -> None:
    if "identifier" in args:
        _find(session, settings, args["identifier"])
    node = _e(root, "ListMetadataFormats")
    for fmt in FORMATS.values():
        item = _e(node, "metadataFormat")
        _e(item, "metadataPrefix", fmt.prefix)
        _e(item, "schema", fmt.schema)
        _e(item, "metadataNamespace", fmt.namespace)


def list_sets(root, session: Session, settings: Settings, args) -> None:
    if "resumptionToken" in args:
        raise OaiError("badResumptionToken", "ListSets is complete in one response")
    node = _e(root, "ListSets")
    _set(node, "org", "Organisations")
    for slug, name in session.execute(
        select(Organization.slug, Organization.name).order_by(Organization.slug)
    ):
        _set(node, f"org:{slug}", name)
    _set(node, "theme", "EU data themes")
    for code, label in sorted(THEME_LABELS.items()):
        _set(node, f"theme:{code}", label)


def _set(parent, spec: str, name: str) -> None:
    item = _e(parent, "set")
    _e(item, "setSpec", spec)
    _e(item, "setName", name)


def _find(session: Session, settings: Settings, identifier: str):
    """The release row (with its stored text) that ``identifier`` names."""
    slug, version = _parse_identifier(settings, identifier)
    columns = ["header", *FORMATS]
    row = session.execute(
        _stored(columns)
        .join(Dataset, Dataset.id == Release.dataset_id)
        .where(
            Dataset.slug == slug,
            Release.version == version,
            Release.state.in_(VISIBLE_STATES),
        )
    ).one_or_none()
    if row is None:
        raise OaiError(
            "idDoesNotExist", f"'{identifier}' is not an item of this repository"
        )
    return dict(zip(columns, _texts(session, settings, [row], columns)[0], strict=True))


def get_record(root, session: Session, settings: Settings, args) -> str:
    prefix = _format(args["metadataPrefix"]).prefix
    found = _find(session, settings, args["identifier"])
    _e(root, "GetRecord").append(etree.Comment(SPLICE))
    return _record_text(found["header"], found[prefix])


def list_items(root, session: Session, settings: Settings, args, verb: str) -> str:
    request = list_request(args)
    records = verb == "ListRecords"
    size = RECORDS_PER_PAGE if records else IDENTIFIERS_PER_PAGE
    columns = ["header", request.prefix] if records else ["header"]
    rows = _page(session, request, size, columns)
    if not rows:
        raise OaiError("noRecordsMatch", "no item matches these arguments")
    total = request.total if request.total is not None else _count(session, request)
    more = len(rows) > size
    rows = rows[:size]
    node = _e(root, verb)
    node.append(etree.Comment(SPLICE))
    if request.after is not None or more:
        _resumption(node, request, rows, more, total)
    texts = _texts(session, settings, rows, columns)
    log.debug("%s: %d items from cursor %d", verb, len(rows), request.cursor)
    if records:
        return "".join(_record_text(*text) for text in texts)
    return "".join(text[0] for text in texts)


def _resumption(node, request: ListRequest, rows, more: bool, total: int) -> None:
    token = _e(
        node, "resumptionToken", completeListSize=str(total), cursor=str(request.cursor)
    )
    if more:
        last = rows[-1]
        after = (utc(last.modified_at), last.id)
        token.text = request.token(after, request.cursor + len(rows), total)


HANDLERS = {
    "Identify": identify,
    "ListMetadataFormats": list_metadata_formats,
    "ListSets": list_sets,
    "GetRecord": get_record,
}


def respond(
    session: Session, settings: Settings, pairs: list[tuple[str, str]]
) -> bytes:
    """The complete OAI-PMH response document for one request's arguments."""
    base = f"{settings.base_url}/oai"
    try:
        args = _arguments(pairs)
        verb = _check_verb(args)
    except OaiError as exc:
        root = _envelope(base, {}, echo=False)
        _e(root, "error", str(exc), code=exc.code)
        return _serialise(root)
    root = _envelope(base, args, echo=True)
    try:
        if verb in PAGED:
            spliced = list_items(root, session, settings, args, verb)
            log.info("OAI-PMH %s served", verb)
        else:
            spliced = HANDLERS[verb](root, session, settings, args)
    except OaiError as exc:
        root = _envelope(base, args, echo=exc.code not in ("badVerb", "badArgument"))
        _e(root, "error", str(exc), code=exc.code)
        spliced = None
    return _serialise(root, spliced)


def _serialise(root, spliced: str | None = None) -> bytes:
    body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    if spliced is None:
        return body
    return body.replace(f"<!--{SPLICE}-->".encode(), spliced.encode("utf-8"), 1)


def _reply(body: bytes) -> Response:
    return Response(body, media_type="text/xml; charset=utf-8")


@router.get("/oai")
def oai_get(request: Request) -> Response:
    """OAI-PMH 2.0 request by GET (all six verbs)."""
    pairs = list(request.query_params.multi_items())
    with request.app.state.sessions() as session:
        return _reply(respond(session, request.app.state.settings, pairs))


@router.post("/oai")
async def oai_post(request: Request) -> Response:
    """OAI-PMH 2.0 request by POST of an urlencoded form (all six verbs)."""
    body = await request.body()
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        pairs = [("verb", "")]
    settings = request.app.state.settings
    sessions = request.app.state.sessions

    def run() -> bytes:
        with sessions() as session:
            return respond(session, settings, pairs)

    return _reply(await run_in_threadpool(run))
