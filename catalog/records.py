"""From relational rows to catalog records and their RDF.

This is the one place where the service reads datasets, releases and files
out of the database and turns them into something to publish. Every public
output (web pages, DCAT, SPARQL triples, OAI-PMH, citations) starts from the
frozen records built here, so that they all say the same thing.

Only releases that were published are visible: drafts, gated and blocked
releases never leave this module. A withdrawn release stays visible as a
tombstone (no files, its reason and date). Restricted files are kept on the
record for the owner's pages but never appear in :func:`release_graph`.

What a release's frozen ``metadata`` may hold (every key optional; the
dataset's own columns fill what is missing): ``title``, ``description``,
``keywords``, ``themes``, ``licence`` (an SPDX id), ``access_rights``,
``creators`` (a list of ``{"name", "orcid", "affiliation"}``) and
``n_records`` (how many records the release holds); and ``dataset``, the
snapshot of the dataset's fields that publication freezes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from catalog.db.models import Dataset, Organization, Release, ReleaseState
from catalog.settings import Settings
from metadata import model
from metadata.namespaces import (
    ADMS,
    DCAT,
    DCTERMS,
    EU_ACCESS_RIGHT,
    EU_DATA_THEME,
    EU_DATASET_STATUS,
    FOAF,
    IANA_MEDIA,
    RDF,
    RDFS,
    SKOS,
    SPDX,
    SPDX_LICENCES,
    VCARD,
    XSD,
    bind_prefixes,
)

log = logging.getLogger(__name__)

VISIBLE_STATES = (ReleaseState.PUBLISHED.value, ReleaseState.WITHDRAWN.value)

# Labels of the EU data themes and access rights the catalog uses; the
# DCAT-AP shapes want every linked concept typed and labelled.
THEME_LABELS = {
    "HEAL": "Health",
    "TECH": "Science and technology",
    "SOCI": "Population and society",
    "EDUC": "Education, culture and sport",
    "GOVE": "Government and public sector",
}
ACCESS_RIGHTS = {
    "public": (EU_ACCESS_RIGHT.PUBLIC, "public"),
    "restricted": (EU_ACCESS_RIGHT.RESTRICTED, "restricted"),
    "non-public": (EU_ACCESS_RIGHT.NON_PUBLIC, "non-public"),
}
SHA256 = SPDX.checksumAlgorithm_sha256
ORCID_BASE = "https://orcid.org/"


def utc(moment: datetime | None) -> datetime | None:
    """The same instant as an aware UTC datetime (SQLite returns naive ones)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def dataset_uri(settings: Settings, slug: str) -> str:
    return f"{settings.base_url}/dataset/{slug}"


def release_uri(settings: Settings, slug: str, version: int) -> str:
    return f"{settings.base_url}/dataset/{slug}/v{version}"


def concept_identifier(settings: Settings, slug: str) -> str:
    """The persistent identifier of a dataset: all of its versions."""
    return f"{settings.id_prefix}/{slug}"


def version_identifier(settings: Settings, slug: str, version: int) -> str:
    """The persistent identifier of one release, ``{prefix}/{slug}.v{N}``."""
    return f"{settings.id_prefix}/{slug}.v{version}"


@dataclass(frozen=True)
class OrganisationRecord:
    id: str
    slug: str
    name: str
    description: str
    homepage: str | None
    email: str | None
    ror: str | None
    uri: str


@dataclass(frozen=True)
class Creator:
    name: str
    orcid: str | None = None
    affiliation: str | None = None


@dataclass(frozen=True)
class FileRecord:
    path: str
    sha256: str
    size_bytes: int
    media_type: str
    role: str
    restricted: bool
    download_url: str


@dataclass(frozen=True)
class ReleaseRecord:
    """One visible release (published, or withdrawn as a tombstone)."""

    id: str
    dataset_id: str
    dataset_slug: str
    version: int
    state: str
    identifier: str
    uri: str
    title: str
    description: str
    keywords: tuple[str, ...]
    themes: tuple[str, ...]
    licence_id: str
    access_rights: str
    creators: tuple[Creator, ...]
    files: tuple[FileRecord, ...]
    version_notes: str
    n_records: int | None
    published_at: datetime
    modified_at: datetime
    withdrawn_at: datetime | None
    withdrawn_reason: str | None
    publisher: OrganisationRecord

    @property
    def withdrawn(self) -> bool:
        return self.state == ReleaseState.WITHDRAWN.value

    @property
    def public_files(self) -> tuple[FileRecord, ...]:
        """Files anyone may list and download; none once withdrawn."""
        if self.withdrawn:
            return ()
        return tuple(f for f in self.files if not f.restricted)

    @property
    def datestamp(self) -> datetime:
        """When this record last changed (its publication or withdrawal): the
        row's ``modified_at``, which OAI-PMH pages by."""
        return self.modified_at


@dataclass(frozen=True)
class DatasetRecord:
    """A dataset with its visible releases, oldest first."""

    id: str
    slug: str
    uri: str
    identifier: str
    kind: str
    title: str
    description: str
    keywords: tuple[str, ...]
    themes: tuple[str, ...]
    access_rights: str
    licence_id: str
    organisation: OrganisationRecord
    created_at: datetime
    modified_at: datetime
    releases: tuple[ReleaseRecord, ...]

    @property
    def published(self) -> tuple[ReleaseRecord, ...]:
        return tuple(r for r in self.releases if not r.withdrawn)

    @property
    def latest(self) -> ReleaseRecord | None:
        """The newest published release, if any."""
        published = self.published
        return published[-1] if published else None

    def release(self, version: int) -> ReleaseRecord | None:
        for release in self.releases:
            if release.version == version:
                return release
        return None


def organisation_record(org: Organization, settings: Settings) -> OrganisationRecord:
    return OrganisationRecord(
        id=org.id,
        slug=org.slug,
        name=org.name,
        description=org.description or "",
        homepage=org.homepage,
        email=org.email,
        ror=org.ror,
        uri=f"{settings.base_url}/organization/{org.slug}",
    )


def _creators(raw: Any) -> tuple[Creator, ...]:
    creators = []
    for item in raw or ():
        if isinstance(item, dict) and item.get("name"):
            creators.append(
                Creator(item["name"], item.get("orcid"), item.get("affiliation"))
            )
    return tuple(creators)


def _file_record(file, release_link: str) -> FileRecord:
    return FileRecord(
        path=file.path,
        sha256=file.sha256,
        size_bytes=int(file.size_bytes),
        media_type=file.media_type,
        role=file.role,
        restricted=bool(file.restricted),
        download_url=f"{release_link}/files/{file.path}",
    )


def _frozen_fields(frozen: dict[str, Any], dataset: Dataset) -> dict[str, Any]:
    """Descriptive fields as frozen at publication: the release's own keys
    first, then the dataset snapshot taken at publication, then the dataset's
    current columns."""
    snapshot = frozen.get("dataset") or {}
    live = {
        "title": dataset.title,
        "description": dataset.description or "",
        "keywords": dataset.keywords or (),
        "themes": dataset.themes or (),
        "licence": dataset.license_id,
        "access_rights": dataset.access_rights,
    }
    fields = {}
    for key, current in live.items():
        old_key = "license_id" if key == "licence" else key
        fields[key] = frozen.get(key) or snapshot.get(old_key) or current
    return fields


def release_record(
    release: Release,
    dataset: Dataset,
    publisher: OrganisationRecord,
    settings: Settings,
) -> ReleaseRecord:
    """The record of one visible release of ``dataset``.

    Raises
    ------
    ValueError
        If the release was never published (drafts are not public).
    """
    if release.state not in VISIBLE_STATES:
        raise ValueError(
            f"release {release.id}: state {release.state!r} is not public; "
            f"expected one of {', '.join(VISIBLE_STATES)}"
        )
    raw = release.metadata_ or {}
    frozen = _frozen_fields(raw, dataset)
    link = release_uri(settings, dataset.slug, release.version)
    published_at = utc(release.published_at) or utc(release.created_at)
    return ReleaseRecord(
        id=release.id,
        dataset_id=dataset.id,
        dataset_slug=dataset.slug,
        version=release.version,
        state=release.state,
        identifier=release.identifier
        or version_identifier(settings, dataset.slug, release.version),
        uri=link,
        title=frozen["title"],
        description=frozen["description"],
        keywords=tuple(frozen["keywords"]),
        themes=tuple(frozen["themes"]),
        licence_id=frozen["licence"],
        access_rights=frozen["access_rights"],
        creators=_creators(raw.get("creators")),
        files=tuple(_file_record(f, link) for f in release.files),
        version_notes=release.version_notes or "",
        n_records=raw.get("n_records"),
        published_at=published_at,
        modified_at=utc(release.modified_at),
        withdrawn_at=utc(release.withdrawn_at),
        withdrawn_reason=release.withdrawn_reason,
        publisher=publisher,
    )


def build_dataset_record(dataset: Dataset, settings: Settings) -> DatasetRecord:
    """The record of a dataset whose organisation, releases and files are loaded."""
    organisation = organisation_record(dataset.organization, settings)
    releases = tuple(
        release_record(r, dataset, organisation, settings)
        for r in sorted(dataset.releases, key=lambda r: r.version)
        if r.state in VISIBLE_STATES
    )
    return DatasetRecord(
        id=dataset.id,
        slug=dataset.slug,
        uri=dataset_uri(settings, dataset.slug),
        identifier=concept_identifier(settings, dataset.slug),
        kind=dataset.kind,
        title=dataset.title,
        description=dataset.description or "",
        keywords=tuple(dataset.keywords or ()),
        themes=tuple(dataset.themes or ()),
        access_rights=dataset.access_rights,
        licence_id=dataset.license_id,
        organisation=organisation,
        created_at=utc(dataset.created_at),
        modified_at=utc(dataset.modified_at),
        releases=releases,
    )


def _loaded():
    return (
        selectinload(Dataset.organization),
        selectinload(Dataset.releases).selectinload(Release.files),
    )


def dataset_record(
    session: Session, dataset: Dataset | str, settings: Settings
) -> DatasetRecord | None:
    """The record of a dataset given as a row or a slug; None if there is none.

    A dataset with no visible release is still returned (its ``releases`` is
    empty); callers decide whether to show it.
    """
    slug = dataset if isinstance(dataset, str) else dataset.slug
    row = session.scalars(
        select(Dataset).where(Dataset.slug == slug).options(*_loaded())
    ).one_or_none()
    return None if row is None else build_dataset_record(row, settings)


def dataset_records(
    session: Session, settings: Settings, ids: Sequence[str]
) -> list[DatasetRecord]:
    """Records of the datasets with these ids, in the order given."""
    if not ids:
        return []
    rows = session.scalars(
        select(Dataset).where(Dataset.id.in_(list(ids))).options(*_loaded())
    ).all()
    by_id = {row.id: row for row in rows}
    return [build_dataset_record(by_id[i], settings) for i in ids if i in by_id]


def iter_dataset_records(
    session: Session, settings: Settings, batch: int = 500
) -> Iterable[DatasetRecord]:
    """Every dataset with at least one visible release, by slug, in batches."""
    last = ""
    while True:
        ids = session.scalars(
            select(Dataset.id)
            .where(Dataset.slug > last, _has_visible_release())
            .order_by(Dataset.slug)
            .limit(batch)
        ).all()
        if not ids:
            return
        records = dataset_records(session, settings, ids)
        yield from records
        last = records[-1].slug
        session.expunge_all()


def _has_visible_release():
    return Dataset.releases.any(Release.state.in_(VISIBLE_STATES))


def visible_datasets_query():
    """A select of the datasets that have at least one visible release."""
    return select(Dataset).where(_has_visible_release())


# RDF ---------------------------------------------------------------------


def _date(moment: datetime) -> Literal:
    return Literal(moment.replace(microsecond=0).isoformat(), datatype=XSD.dateTime)


def add_organisation(graph: Graph, org: OrganisationRecord) -> URIRef:
    """Describe the organisation as a ``foaf:Organization`` publisher."""
    node = URIRef(org.uri)
    graph.add((node, RDF.type, FOAF.Organization))
    graph.add((node, RDF.type, FOAF.Agent))
    graph.add((node, FOAF.name, Literal(org.name)))
    if org.homepage:
        graph.add((node, FOAF.homepage, URIRef(org.homepage)))
        graph.add((URIRef(org.homepage), RDF.type, FOAF.Document))
    if org.email:
        graph.add((node, FOAF.mbox, URIRef(f"mailto:{org.email}")))
    return node


def _add_contact(graph: Graph, subject: URIRef, org: OrganisationRecord) -> None:
    if not org.email:
        return
    contact = URIRef(f"{org.uri}#contact")
    graph.add((subject, DCAT.contactPoint, contact))
    graph.add((contact, RDF.type, VCARD.Kind))
    graph.add((contact, VCARD.fn, Literal(org.name)))
    graph.add((contact, VCARD.hasEmail, URIRef(f"mailto:{org.email}")))


def _add_concepts(
    graph: Graph, subject: URIRef, themes: Iterable[str], keywords: Iterable[str]
) -> None:
    for code in themes:
        theme = EU_DATA_THEME[code]
        graph.add((subject, DCAT.theme, theme))
        graph.add((theme, RDF.type, SKOS.Concept))
        graph.add((theme, SKOS.prefLabel, Literal(THEME_LABELS.get(code, code), "en")))
    for word in keywords:
        graph.add((subject, DCAT.keyword, Literal(word, lang="en")))


def _add_access_rights(graph: Graph, subject: URIRef, level: str) -> None:
    node, label = ACCESS_RIGHTS.get(level, ACCESS_RIGHTS["restricted"])
    graph.add((subject, DCTERMS.accessRights, node))
    graph.add((node, RDF.type, DCTERMS.RightsStatement))
    graph.add((node, RDFS.label, Literal(label, lang="en")))


def _add_creator(graph: Graph, subject: URIRef, creator: Creator) -> None:
    node = URIRef(ORCID_BASE + creator.orcid) if creator.orcid else BNode()
    graph.add((subject, DCTERMS.creator, node))
    graph.add((node, RDF.type, FOAF.Person))
    graph.add((node, RDF.type, FOAF.Agent))
    graph.add((node, FOAF.name, Literal(creator.name)))


def _add_distribution(
    graph: Graph, release: ReleaseRecord, file: FileRecord, licence: URIRef
) -> None:
    node = URIRef(f"{release.uri}#file-{file.sha256[:16]}")
    graph.add((URIRef(release.uri), DCAT.distribution, node))
    graph.add((node, RDF.type, DCAT.Distribution))
    graph.add((node, DCTERMS.title, Literal(file.path)))
    graph.add((node, DCAT.accessURL, URIRef(release.uri)))
    graph.add((node, DCAT.downloadURL, URIRef(file.download_url)))
    graph.add(
        (node, DCAT.byteSize, Literal(file.size_bytes, datatype=XSD.nonNegativeInteger))
    )
    media = IANA_MEDIA[file.media_type]
    graph.add((node, DCAT.mediaType, media))
    graph.add((media, RDF.type, DCTERMS.MediaType))
    graph.add((node, DCTERMS.license, licence))
    checksum = URIRef(f"{node}-sha256")
    graph.add((node, SPDX.checksum, checksum))
    graph.add((checksum, RDF.type, SPDX.Checksum))
    graph.add((checksum, SPDX.algorithm, SHA256))
    graph.add((SHA256, RDF.type, SPDX.ChecksumAlgorithm))
    graph.add(
        (checksum, SPDX.checksumValue, Literal(file.sha256, datatype=XSD.hexBinary))
    )


def _add_licence(graph: Graph, licence_id: str) -> URIRef:
    licence = SPDX_LICENCES[licence_id]
    graph.add((licence, RDF.type, DCTERMS.LicenseDocument))
    graph.add((licence, DCTERMS.identifier, Literal(licence_id)))
    return licence


def add_release(graph: Graph, dataset: DatasetRecord, release: ReleaseRecord) -> URIRef:
    """Describe one release as a ``dcat:Dataset`` that is a version of the concept.

    A withdrawn release keeps its identity, title and withdrawal only, with the
    EU dataset status ``WITHDRAWN``; it lists no distribution.
    """
    node = URIRef(release.uri)
    graph.add((node, RDF.type, DCAT.Dataset))
    graph.add((node, DCTERMS.isVersionOf, URIRef(dataset.uri)))
    graph.add((node, DCTERMS.identifier, Literal(release.identifier)))
    graph.add((node, DCTERMS.title, Literal(release.title, lang="en")))
    graph.add((node, DCAT.version, Literal(str(release.version))))
    graph.add((node, DCTERMS.issued, _date(release.published_at)))
    graph.add((node, DCTERMS.publisher, add_organisation(graph, release.publisher)))
    if release.version > 1:
        previous = release_uri_from(dataset.uri, release.version - 1)
        graph.add((node, DCAT.previousVersion, previous))
    if release.withdrawn:
        _add_tombstone(graph, node, release)
        return node
    graph.add((node, DCTERMS.description, Literal(release.description, lang="en")))
    graph.add((node, DCTERMS.modified, _date(release.modified_at)))
    if release.version_notes:
        graph.add((node, ADMS.versionNotes, Literal(release.version_notes, lang="en")))
    _add_concepts(graph, node, release.themes, release.keywords)
    _add_access_rights(graph, node, release.access_rights)
    _add_contact(graph, node, release.publisher)
    for creator in release.creators:
        _add_creator(graph, node, creator)
    licence = _add_licence(graph, release.licence_id)
    for file in release.public_files:
        _add_distribution(graph, release, file, licence)
    return node


def _add_tombstone(graph: Graph, node: URIRef, release: ReleaseRecord) -> None:
    status = EU_DATASET_STATUS.WITHDRAWN
    graph.add((node, ADMS.status, status))
    graph.add((status, RDF.type, SKOS.Concept))
    graph.add((status, SKOS.prefLabel, Literal("withdrawn", lang="en")))
    graph.add((node, DCTERMS.modified, _date(release.datestamp)))
    reason = release.withdrawn_reason or "no reason given"
    words = f"This release was withdrawn: {reason}"
    graph.add((node, DCTERMS.description, Literal(words, lang="en")))


def release_uri_from(dataset_link: str, version: int) -> URIRef:
    return URIRef(f"{dataset_link}/v{version}")


def add_dataset(graph: Graph, record: DatasetRecord) -> URIRef:
    """Describe the dataset (the concept) and every visible release of it."""
    node = URIRef(record.uri)
    graph.add((node, RDF.type, DCAT.Dataset))
    graph.add((node, DCTERMS.identifier, Literal(record.identifier)))
    graph.add((node, DCTERMS.title, Literal(record.title, lang="en")))
    graph.add((node, DCTERMS.description, Literal(record.description, lang="en")))
    graph.add((node, DCTERMS.publisher, add_organisation(graph, record.organisation)))
    graph.add((node, DCTERMS.issued, _date(record.created_at)))
    graph.add((node, DCTERMS.modified, _date(_concept_modified(record))))
    _add_concepts(graph, node, record.themes, record.keywords)
    _add_access_rights(graph, node, record.access_rights)
    _add_contact(graph, node, record.organisation)
    for release in record.releases:
        graph.add((node, DCAT.hasVersion, URIRef(release.uri)))
        add_release(graph, record, release)
    latest = record.latest
    if latest is not None:
        graph.add((node, DCAT.hasCurrentVersion, URIRef(latest.uri)))
        graph.add((node, DCAT.version, Literal(str(latest.version))))
    return node


def _concept_modified(record: DatasetRecord) -> datetime:
    stamps = [record.modified_at] + [r.datestamp for r in record.releases]
    return max(s for s in stamps if s is not None)


def new_graph() -> Graph:
    return bind_prefixes(Graph())


def dataset_graph(record: DatasetRecord) -> Graph:
    """The dataset and all its visible releases, as one RDF graph."""
    graph = new_graph()
    add_dataset(graph, record)
    return graph


def release_graph(record: DatasetRecord, release: ReleaseRecord) -> Graph:
    """One release, with a short description of the dataset it is a version of."""
    graph = new_graph()
    add_release(graph, record, release)
    concept = URIRef(record.uri)
    graph.add((concept, RDF.type, DCAT.Dataset))
    graph.add((concept, DCTERMS.title, Literal(record.title, lang="en")))
    graph.add((concept, DCAT.hasVersion, URIRef(release.uri)))
    return graph


def catalog_uri(settings: Settings) -> URIRef:
    return URIRef(f"{settings.base_url}/catalog")


def add_catalog(graph: Graph, settings: Settings) -> URIRef:
    """Describe the catalog itself and the platform that publishes it."""
    node = catalog_uri(settings)
    publisher = URIRef(f"{settings.base_url}/#publisher")
    graph.add((node, RDF.type, DCAT.Catalog))
    graph.add((node, DCTERMS.title, Literal("cardiofair", lang="en")))
    graph.add(
        (
            node,
            DCTERMS.description,
            Literal(
                "Synthetic cardiac research datasets, gated for privacy "
                "before release.",
                lang="en",
            ),
        )
    )
    graph.add((node, DCTERMS.publisher, publisher))
    homepage = URIRef(f"{settings.base_url}/")
    graph.add((node, FOAF.homepage, homepage))
    graph.add((homepage, RDF.type, FOAF.Document))
    graph.add((publisher, RDF.type, FOAF.Agent))
    graph.add((publisher, FOAF.name, Literal("cardiofair")))
    return node


# The metadata model ------------------------------------------------------

_ACCESS_CODES = {"public": "PUBLIC", "restricted": "RESTRICTED"}


def _person(creator: Creator) -> model.Person | model.Organization:
    family, _, given = creator.name.partition(",")
    if not given.strip():
        return model.Organization(name=creator.name)
    orcid = f"https://orcid.org/{creator.orcid}" if creator.orcid else None
    return model.Person(
        given_name=given.strip(), family_name=family.strip(), orcid=orcid
    )


def organisation_model(org: OrganisationRecord) -> model.Organization:
    contact = None
    if org.email or org.homepage:
        contact = model.ContactPoint(name=org.name, email=org.email, url=org.homepage)
    ror = org.ror or None
    return model.Organization(
        name=org.name, ror=ror, homepage=org.homepage, contact=contact
    )


def dataset_model(record: DatasetRecord) -> model.Dataset:
    """The dataset as :class:`metadata.model.Dataset`.

    Creators come from the latest release (the dataset's columns hold none);
    the health categories from the dataset's ``extra`` (``RESEARCH`` when
    unset).

    Raises
    ------
    pydantic.ValidationError
        Naming the field, if a stored value breaks the model's rules.
    """
    publisher = organisation_model(record.organisation)
    latest = record.latest or (record.releases[-1] if record.releases else None)
    creators = [_person(c) for c in (latest.creators if latest else ())]
    contact = publisher.contact or model.ContactPoint(url=record.uri)
    return model.Dataset(
        slug=record.slug,
        identifier=record.identifier,
        title=record.title,
        description=record.description or record.title,
        keywords=list(record.keywords) or [record.kind],
        themes=list(record.themes) or ["HEAL"],
        publisher=publisher,
        creators=creators or [publisher],
        contact_point=contact,
        licence=model.Licence(spdx_id=record.licence_id),
        access_rights=_ACCESS_CODES.get(record.access_rights, "NON_PUBLIC"),
        health_categories=["RESEARCH"],
        issued=record.created_at,
    )


def release_model(release: ReleaseRecord) -> model.Release:
    """The release as :class:`metadata.model.Release`, public files only.

    A withdrawn release keeps its distributions' descriptions without download
    links, as the model asks.

    Raises
    ------
    ValueError
        If the release has no public file (the model needs one distribution).
    """
    files = [f for f in release.files if not f.restricted]
    if not files:
        raise ValueError(
            f"release {release.identifier}: no public file to describe as a "
            "distribution"
        )
    distributions = [
        model.Distribution(
            title=f.path,
            access_url=release.uri,
            download_url=None if release.withdrawn else f.download_url,
            media_type=f.media_type,
            byte_size=f.size_bytes,
            sha256=f.sha256,
        )
        for f in files
    ]
    withdrawal = None
    if release.withdrawn:
        withdrawal = model.Withdrawal(
            reason=release.withdrawn_reason or "withdrawn", at=release.withdrawn_at
        )
    return model.Release(
        version=release.version,
        identifier=release.identifier,
        issued=release.published_at,
        modified=max(release.modified_at, release.published_at),
        version_notes=release.version_notes or f"Version {release.version}.",
        distributions=distributions,
        number_of_records=release.n_records,
        withdrawn=withdrawal,
    )
