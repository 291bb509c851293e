"""The OAI-PMH documents of every visible release, serialised once and stored.

A published release is immutable, so its header and its record in each
metadata format are written when it is published (or withdrawn, which turns
it into a deleted header) and kept in the ``oai_record`` table. A page of
``ListRecords`` is then one keyset query and a concatenation of stored text.
A row whose datestamp no longer matches its release's ``modified_at`` (or a
missing row) is rebuilt when it is read, so the table can never serve a
stale record; ``cardiofair reindex`` rebuilds all of it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

import pyoxigraph
from lxml import etree
from sqlalchemy import (
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
)
from sqlalchemy.orm import Session

from catalog.db.models import Release
from catalog.records import (
    DatasetRecord,
    Models,
    ReleaseRecord,
    dataset_model,
    dataset_records,
    models,
    release_triples,
    utc,
)
from catalog.settings import Settings
from metadata import datacite, dublincore, rdf
from metadata.namespaces import PREFIXES

log = logging.getLogger(__name__)

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
OAI_DATACITE_NS = "http://schema.datacite.org/oai/oai-1.1/"
OAI_DATACITE_XSD = "http://schema.datacite.org/oai/oai-1.1/oai.xsd"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
METADATA_PREFIXES = ("oai_dc", "oai_datacite", "dcat_ap")

oai_record = Table(
    "oai_record",
    MetaData(),
    Column("release_id", String(36), primary_key=True),
    Column("datestamp", DateTime(timezone=True), nullable=False),
    Column("header", Text, nullable=False),
    Column("oai_dc", Text),
    Column("oai_datacite", Text),
    Column("dcat_ap", Text),
)


def host(settings: Settings) -> str:
    return urlsplit(settings.base_url).hostname or "localhost"


def oai_identifier(settings: Settings, slug: str, version: int) -> str:
    return f"oai:{host(settings)}:{slug}/v{version}"


def datestamp_text(moment) -> str:
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


# Serialising ---------------------------------------------------------------


def _text(element: etree._Element) -> str:
    return etree.tostring(element, encoding="unicode")


def header_xml(settings: Settings, record: DatasetRecord, release: ReleaseRecord):
    """The OAI-PMH ``header`` of a release, with its sets."""
    attrs = {"status": "deleted"} if release.withdrawn else {}
    header = etree.Element(f"{{{OAI_NS}}}header", attrs, nsmap={None: OAI_NS})
    identifier = oai_identifier(settings, record.slug, release.version)
    etree.SubElement(header, f"{{{OAI_NS}}}identifier").text = identifier
    stamp = datestamp_text(release.datestamp)
    etree.SubElement(header, f"{{{OAI_NS}}}datestamp").text = stamp
    sets = [f"org:{release.publisher.slug}"]
    sets += [f"theme:{code}" for code in release.themes]
    for spec in sets:
        etree.SubElement(header, f"{{{OAI_NS}}}setSpec").text = spec
    return _text(header)


def _oai_datacite(datacite_bytes: bytes, symbol: str) -> str:
    root = etree.Element(
        f"{{{OAI_DATACITE_NS}}}oai_datacite",
        nsmap={None: OAI_DATACITE_NS, "xsi": XSI_NS},
    )
    root.set(f"{{{XSI_NS}}}schemaLocation", f"{OAI_DATACITE_NS} {OAI_DATACITE_XSD}")
    etree.SubElement(root, f"{{{OAI_DATACITE_NS}}}schemaVersion").text = "4"
    etree.SubElement(root, f"{{{OAI_DATACITE_NS}}}datacentreSymbol").text = symbol
    payload = etree.SubElement(root, f"{{{OAI_DATACITE_NS}}}payload")
    payload.append(etree.fromstring(datacite_bytes))
    return _text(root)


def rdf_xml(triples: Iterable[tuple]) -> str:
    """RDF/XML of rdflib triples, without the XML declaration.

    The triples are put in order first, so that the same graph is always the
    same text, whatever order a set of them comes in.
    """
    lines = sorted(rdf.ntriples(triples).splitlines(keepends=True))
    quads = pyoxigraph.parse(
        "".join(lines).encode(), format=pyoxigraph.RdfFormat.N_TRIPLES
    )
    prefixes = {prefix: str(namespace) for prefix, namespace in PREFIXES.items()}
    body = pyoxigraph.serialize(
        quads, format=pyoxigraph.RdfFormat.RDF_XML, prefixes=prefixes
    )
    return body.decode("utf-8").split("?>", 1)[1].strip()


def documents(
    settings: Settings,
    record: DatasetRecord,
    release: ReleaseRecord,
    triples: set | None = None,
    built: Models | None = None,
) -> dict[str, object]:
    """The ``oai_record`` row of a visible release: its header and, unless it
    was withdrawn, its record in every metadata format (``triples``, the
    dataset's graph, and ``built``, its models, save building them again)."""
    row: dict[str, object] = {
        "release_id": release.id,
        "datestamp": release.datestamp,
        "header": header_xml(settings, record, release),
    }
    if release.withdrawn:
        return row | dict.fromkeys(METADATA_PREFIXES)
    built = built or models(record)
    frozen = dataset_model(record, release)
    version = built.release(release.version)
    citable = datacite.release_xml(frozen, version, list(built.releases))
    described = release_triples(record, release, settings, triples)
    return row | {
        "oai_dc": _text(dublincore.oai_dc_element(frozen, version)),
        "oai_datacite": _oai_datacite(citable, record.organisation.slug.upper()),
        "dcat_ap": rdf_xml(described),
    }


def rows(
    settings: Settings,
    record: DatasetRecord,
    triples: set | None = None,
    built: Models | None = None,
) -> list[dict]:
    """The rows of every visible release of one dataset."""
    built = built or models(record)
    return [documents(settings, record, r, triples, built) for r in record.releases]


# Storing -------------------------------------------------------------------


def freeze(session: Session, settings: Settings, release_ids: Sequence[str]) -> dict:
    """Build and store the rows of these releases; return them by release id.

    Releases that are not visible (drafts, gated, blocked) get no row, and
    any row they had is removed.
    """
    wanted = set(release_ids)
    dataset_ids = session.scalars(
        select(Release.dataset_id).where(Release.id.in_(wanted)).distinct()
    ).all()
    built = {
        release.id: documents(settings, record, release)
        for record in dataset_records(session, settings, dataset_ids)
        for release in record.releases
        if release.id in wanted
    }
    session.execute(delete(oai_record).where(oai_record.c.release_id.in_(wanted)))
    insert_rows(session, list(built.values()))
    log.debug("OAI-PMH: froze %d records", len(built))
    return built


def insert_rows(session: Session, rows: Sequence[dict]) -> None:
    """Store rows, replacing any a concurrent writer stored meanwhile.

    A release's rows are frozen at publication and rebuilt on read when
    missing, so two writers may race to store the same rows: the last one
    wins, and both wrote the same text.
    """
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as upsert
    else:
        session.execute(insert(oai_record), list(rows))
        return
    statement = upsert(oai_record)
    columns = [c.name for c in oai_record.columns if c.name != "release_id"]
    statement = statement.on_conflict_do_update(
        index_elements=["release_id"],
        set_={name: statement.excluded[name] for name in columns},
    )
    session.execute(statement, list(rows))


def clear(session: Session) -> None:
    """Remove every stored row."""
    session.execute(delete(oai_record))
