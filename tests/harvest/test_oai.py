"""OAI-PMH 2.0 harvested by sickle, every response checked against the XSDs."""

from __future__ import annotations

import base64
import re
from importlib import resources

import httpx
import pytest
import rdflib
from lxml import etree
from sickle import Sickle
from sickle.oaiexceptions import (
    BadArgument,
    BadResumptionToken,
    BadVerb,
    CannotDisseminateFormat,
    IdDoesNotExist,
    NoRecordsMatch,
)
from sqlalchemy import delete, func, select

from catalog.db.models import Dataset, Release
from catalog.oai_store import oai_record
from metadata import xsd
from metadata.dublincore import OAI_DC
from metadata.namespaces import RDF

OAI = "{http://www.openarchives.org/OAI/2.0/}"
OAI_DATACITE = "http://schema.datacite.org/oai/oai-1.1/"
FORMATS = ("oai_dc", "oai_datacite", "dcat_ap")


@pytest.fixture(scope="module")
def envelope_schema():
    """The bundled OAI-PMH schema with its record wildcard relaxed to ``lax``:
    each embedded record is then checked against its own bundled schema (and
    RDF/XML, which has no XML Schema, is read as RDF)."""
    with resources.as_file(resources.files("metadata.xsd") / "OAI-PMH.xsd") as path:
        tree = etree.parse(str(path))
    for node in tree.iter("{http://www.w3.org/2001/XMLSchema}any"):
        node.set("processContents", "lax")
    return etree.XMLSchema(tree)


def _check_record(record: etree._Element) -> None:
    namespace = etree.QName(record).namespace
    if namespace == OAI_DC:
        xsd.validate(record, "oai_dc")
    elif namespace == OAI_DATACITE:
        xsd.validate(record, "oai_datacite")
        xsd.validate(record.find(f"{{{OAI_DATACITE}}}payload")[0], "datacite")
    elif namespace == str(RDF):
        graph = rdflib.Graph().parse(data=etree.tostring(record), format="xml")
        assert len(graph) > 10
    else:
        pytest.fail(f"unexpected record element {record.tag}")


def _validate(schema, body: bytes) -> etree._Element:
    """Check a response against the envelope schema and every record in it
    against its format's schema."""
    document = etree.fromstring(body)
    if not schema.validate(document):
        pytest.fail(f"invalid OAI-PMH response: {schema.error_log.last_error}")
    for metadata in document.iter(f"{OAI}metadata"):
        _check_record(metadata[0])
    return document


def _harvest_raw(base: str, verb: str, prefix: str, schema) -> list[etree._Element]:
    """Follow the resumption tokens by hand, validating every page."""
    params = {"verb": verb, "metadataPrefix": prefix}
    pages = []
    while True:
        response = httpx.get(f"{base}/oai", params=params)
        assert response.status_code == 200
        pages.append(_validate(schema, response.content))
        token = pages[-1].find(f".//{OAI}resumptionToken")
        if token is None or not token.text:
            return pages
        params = {"verb": verb, "resumptionToken": token.text}


@pytest.mark.parametrize("prefix", FORMATS)
def test_sickle_harvests_every_record_with_resumption(service, prefix):
    sickle = Sickle(f"{service.base}/oai", max_retries=0)
    records = list(sickle.ListRecords(metadataPrefix=prefix, ignore_deleted=False))
    identifiers = [r.header.identifier for r in records]
    assert len(identifiers) == len(set(identifiers)) == service.populated.n_visible
    deleted = {r.header.identifier for r in records if r.header.deleted}
    expected = {
        f"oai:127.0.0.1:{slug}/v{version}"
        for slug, version in service.populated.withdrawn
    }
    assert deleted == expected
    live = [r for r in records if not r.header.deleted]
    assert all(r.metadata for r in live if prefix == "oai_dc")


@pytest.mark.parametrize("verb", ["ListRecords", "ListIdentifiers"])
@pytest.mark.parametrize("prefix", FORMATS)
def test_every_page_and_record_is_valid_against_the_schemas(
    service, envelope_schema, verb, prefix
):
    pages = _harvest_raw(service.base, verb, prefix, envelope_schema)
    assert len(pages) > 2
    last = pages[-1].find(f".//{OAI}resumptionToken")
    assert last.get("completeListSize") == str(service.populated.n_visible)
    cursors = [int(p.find(f".//{OAI}resumptionToken").get("cursor")) for p in pages]
    assert cursors == sorted(cursors) and cursors[0] == 0


def test_dcat_ap_records_are_rdf_in_a_valid_envelope(service, envelope_schema):
    pages = _harvest_raw(service.base, "ListRecords", "dcat_ap", envelope_schema)
    rdf = [
        node
        for page in pages
        for node in page.iter("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}RDF")
    ]
    assert len(rdf) == service.populated.n_published
    graph = rdflib.Graph().parse(data=etree.tostring(rdf[0]), format="xml")
    assert len(graph) > 10


def test_identify_and_formats_and_sets_are_valid(service, envelope_schema):
    for verb in ("Identify", "ListMetadataFormats", "ListSets"):
        body = httpx.get(f"{service.base}/oai", params={"verb": verb}).content
        _validate(envelope_schema, body)
    identify = Sickle(f"{service.base}/oai").Identify()
    assert identify.deletedRecord == "persistent"
    assert identify.granularity == "YYYY-MM-DDThh:mm:ssZ"


def test_post_serves_the_same_verbs(service, envelope_schema):
    for data in (
        {"verb": "Identify"},
        {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"},
    ):
        response = httpx.post(f"{service.base}/oai", data=data)
        document = _validate(envelope_schema, response.content)
        assert document.find(f"{OAI}error") is None


def test_sets_select_by_organisation_and_theme(service):
    sickle = Sickle(f"{service.base}/oai")
    org = service.populated.organisations[0]
    headers = list(
        sickle.ListIdentifiers(
            metadataPrefix="oai_dc", set=f"org:{org}", ignore_deleted=False
        )
    )
    assert headers and all(f"org:{org}" in h.setSpecs for h in headers)
    tech = list(sickle.ListIdentifiers(metadataPrefix="oai_dc", set="theme:TECH"))
    assert tech and all("theme:TECH" in h.setSpecs for h in tech)
    assert len(tech) < service.populated.n_visible


def test_from_and_until_select_by_datestamp(service):
    sickle = Sickle(f"{service.base}/oai")
    every = list(sickle.ListIdentifiers(metadataPrefix="oai_dc", ignore_deleted=False))
    stamps = sorted(h.datestamp for h in every)
    middle = stamps[len(stamps) // 2]
    later = list(
        sickle.ListIdentifiers(
            metadataPrefix="oai_dc", ignore_deleted=False, **{"from": middle}
        )
    )
    assert len(later) == sum(1 for s in stamps if s >= middle)
    earlier = list(
        sickle.ListIdentifiers(
            metadataPrefix="oai_dc", ignore_deleted=False, until=middle
        )
    )
    assert len(earlier) + len(later) - stamps.count(middle) == len(stamps)


def test_get_record_of_a_withdrawn_release_is_a_deleted_header(service):
    slug, version = service.populated.withdrawn[0]
    record = Sickle(f"{service.base}/oai").GetRecord(
        identifier=f"oai:127.0.0.1:{slug}/v{version}", metadataPrefix="oai_dc"
    )
    assert record.header.deleted


ERRORS = [
    ({}, BadVerb),
    ({"verb": "Harvest"}, BadVerb),
    ({"verb": "ListRecords"}, BadArgument),
    ({"verb": "Identify", "extra": "1"}, BadArgument),
    (
        {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2024-13-01"},
        BadArgument,
    ),
    (
        {
            "verb": "ListRecords",
            "metadataPrefix": "oai_dc",
            "from": "2024-01-01",
            "until": "2024-02-01T00:00:00Z",
        },
        BadArgument,
    ),
    ({"verb": "ListRecords", "resumptionToken": "not-a-token"}, BadResumptionToken),
    (
        {"verb": "ListRecords", "resumptionToken": "x", "metadataPrefix": "oai_dc"},
        BadArgument,
    ),
    ({"verb": "ListRecords", "metadataPrefix": "marc21"}, CannotDisseminateFormat),
    (
        {"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": "oai:x:y"},
        IdDoesNotExist,
    ),
    (
        {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2099-01-01"},
        NoRecordsMatch,
    ),
    (
        {"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "colour:red"},
        BadArgument,
    ),
]


@pytest.mark.parametrize(
    ("params", "error"),
    ERRORS,
    ids=[e.__name__ + str(i) for i, (_, e) in enumerate(ERRORS)],
)
def test_bad_requests_get_the_protocol_error_with_http_200(
    service, envelope_schema, params, error
):
    response = httpx.get(f"{service.base}/oai", params=params)
    assert response.status_code == 200
    document = _validate(envelope_schema, response.content)
    code = document.find(f"{OAI}error").get("code")
    assert code[0].upper() + code[1:] == error.__name__
    request = document.find(f"{OAI}request")
    if error in (BadVerb, BadArgument):
        assert dict(request.attrib) == {}


def test_repeated_arguments_are_bad(service, envelope_schema):
    query = "verb=ListRecords&metadataPrefix=oai_dc&metadataPrefix=oai_dc"
    body = httpx.get(f"{service.base}/oai?{query}").content
    code = _validate(envelope_schema, body).find(f"{OAI}error").get("code")
    assert code == "badArgument"


def test_tokens_never_expire_and_carry_their_cursor(service):
    first = httpx.get(
        f"{service.base}/oai",
        params={"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"},
    )
    token = re.search(rb"<resumptionToken[^>]*>([^<]+)<", first.content).group(1)
    again = [
        httpx.get(
            f"{service.base}/oai",
            params={"verb": "ListIdentifiers", "resumptionToken": token.decode()},
        ).content
        for _ in range(2)
    ]
    strip = re.compile(rb"<responseDate>[^<]*</responseDate>")
    assert strip.sub(b"", again[0]) == strip.sub(b"", again[1])
    assert b'cursor="11"' in again[0]


def test_until_the_last_representable_day_lists_everything(service):
    sickle = Sickle(f"{service.base}/oai")
    headers = sickle.ListIdentifiers(
        metadataPrefix="oai_dc", ignore_deleted=False, until="9999-12-31"
    )
    assert len(list(headers)) == service.populated.n_visible


def test_a_token_with_an_infinite_cursor_is_a_bad_token(service, envelope_schema):
    forged = base64.urlsafe_b64encode(b'{"p":"oai_dc","c":Infinity}').decode()
    response = httpx.get(
        f"{service.base}/oai", params={"verb": "ListRecords", "resumptionToken": forged}
    )
    error = _validate(envelope_schema, response.content).find(f"{OAI}error")
    assert error.get("code") == "badResumptionToken"


def test_missing_stored_records_are_rebuilt_when_read(service, envelope_schema):
    slug = service.populated.datasets[3]
    with service.app.state.sessions() as session:
        release_id = session.scalar(
            select(Release.id)
            .join(Dataset)
            .where(Dataset.slug == slug, Release.version == 1)
        )
        session.execute(delete(oai_record).where(oai_record.c.release_id == release_id))
        session.commit()
    params = {
        "verb": "GetRecord",
        "identifier": f"oai:127.0.0.1:{slug}/v1",
        "metadataPrefix": "oai_datacite",
    }
    body = httpx.get(f"{service.base}/oai", params=params).content
    assert _validate(envelope_schema, body).find(f".//{OAI}metadata") is not None
    with service.app.state.sessions() as session:
        stored = session.scalar(
            select(func.count()).where(oai_record.c.release_id == release_id)
        )
    assert stored == 1
