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

import hashlib
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rdflib import Graph, URIRef
from rdflib.term import Node
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from catalog.db.models import Dataset, Organization, Release, ReleaseState
from catalog.settings import Settings
from metadata import model, rdf
from metadata.namespaces import bind_prefixes

log = logging.getLogger(__name__)

VISIBLE_STATES = (ReleaseState.PUBLISHED.value, ReleaseState.WITHDRAWN.value)

# Labels of the EU data themes the catalog offers as facets and OAI-PMH sets.
THEME_LABELS = {
    "HEAL": "Health",
    "TECH": "Science and technology",
    "SOCI": "Population and society",
    "EDUC": "Education, culture and sport",
    "GOVE": "Government and public sector",
}
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
    # The gate's scores frozen at publication: (metric, value) pairs.
    quality: tuple[tuple[str, float], ...] = ()

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
        quality=_quality(raw.get("quality")),
    )


def _quality(raw: Any) -> tuple[tuple[str, float], ...]:
    pairs = []
    for item in raw or ():
        if isinstance(item, dict) and isinstance(item.get("value"), int | float):
            pairs.append((str(item.get("metric")), float(item["value"])))
    return tuple(pairs)


_DIMENSIONS = ("privacy", "leakage", "fidelity", "utility", "bias")


def quality_model(metric: str, value: float) -> model.QualityMeasurement | None:
    """A gate score such as ``privacy/linkability/ci_upper`` as a DQV
    measurement, or None for scores outside the five dimensions."""
    dimension = metric.split("/", 1)[0]
    if dimension not in _DIMENSIONS:
        return None
    return model.QualityMeasurement(
        metric=re.sub(r"[^a-z0-9]+", "_", metric.lower()).strip("_"),
        dimension=dimension,
        value=value,
        definition=f"Release gate score {metric}, computed before publication.",
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


# The metadata model ------------------------------------------------------

# A restricted dataset's files are released only under an agreement with
# the data holder: HealthDCAT-AP calls that NON_PUBLIC (its release-5 shapes
# for non-public health data require exactly that value).
_ACCESS_CODES = {"public": "PUBLIC", "restricted": "NON_PUBLIC"}


def _person(creator: Creator) -> model.Person | model.Organization:
    family, _, given = creator.name.partition(",")
    if not given.strip():
        return model.Organization(name=creator.name)
    orcid = f"{ORCID_BASE}{creator.orcid}" if creator.orcid else None
    affiliation = (
        model.Organization(name=creator.affiliation) if creator.affiliation else None
    )
    return model.Person(
        given_name=given.strip(),
        family_name=family.strip(),
        orcid=orcid,
        affiliation=affiliation,
    )


def organisation_model(org: OrganisationRecord) -> model.Organization:
    # HealthDCAT-AP asks every publisher for a contact point: an e-mail
    # address or a contact page; the organisation's catalog page is the
    # fallback, and it says how to reach the publisher.
    contact = model.ContactPoint(
        name=org.name, email=org.email, url=org.homepage or org.uri
    )
    ror = org.ror or None
    return model.Organization(
        name=org.name, slug=org.slug, ror=ror, homepage=org.homepage, contact=contact
    )


def dataset_model(
    record: DatasetRecord, release: ReleaseRecord | None = None
) -> model.Dataset:
    """The dataset as :class:`metadata.model.Dataset`, seen from one release.

    The descriptive fields (title, description, keywords, themes, licence,
    access, creators, publisher) are those frozen in ``release``; without one,
    those of the latest published release (the newest release if all were
    withdrawn). Health categories are ``RESEARCH``.

    Raises
    ------
    pydantic.ValidationError
        Naming the field, if a stored value breaks the model's rules.
    """
    seen = release or record.latest or record.releases[-1]
    publisher = organisation_model(seen.publisher)
    creators = [_person(c) for c in seen.creators]
    contact = publisher.contact or model.ContactPoint(url=record.uri)
    return model.Dataset(
        slug=record.slug,
        identifier=record.identifier,
        title=seen.title,
        description=seen.description or seen.title,
        keywords=list(seen.keywords) or [record.kind],
        themes=list(seen.themes) or ["HEAL"],
        publisher=publisher,
        creators=creators or [publisher],
        contact_point=contact,
        licence=model.Licence(spdx_id=seen.licence_id),
        access_rights=_ACCESS_CODES.get(seen.access_rights, "NON_PUBLIC"),
        health_categories=["RESEARCH"],
        issued=record.created_at,
    )


def release_model(release: ReleaseRecord) -> model.Release:
    """The release as :class:`metadata.model.Release`, public files only.

    A withdrawn release keeps its distributions' descriptions without download
    links, as the model asks. A release whose files are all restricted (a real
    source) is described by one distribution without a download link: its
    access URL is the landing page that says how to request access.
    """
    files = [f for f in release.files if not f.restricted]
    if not files:
        return _release(release, [restricted_distribution(release)])
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
    return _release(release, distributions)


def restricted_distribution(release: ReleaseRecord) -> model.Distribution:
    """One distribution standing for files that are released only on request.

    No file is named; the checksum is that of the sorted list of the files'
    SHA-256 sums, so a requester can check what they receive.
    """
    listing = "".join(sorted(f"{f.sha256}\n" for f in release.files))
    return model.Distribution(
        title=f"{len(release.files)} restricted files, available on request",
        description="Released under a data access agreement with the publisher.",
        access_url=release.uri,
        download_url=None,
        media_type="application/octet-stream",
        byte_size=sum(f.size_bytes for f in release.files),
        sha256=hashlib.sha256(listing.encode()).hexdigest(),
    )


def _release(
    release: ReleaseRecord, distributions: list[model.Distribution]
) -> model.Release:
    withdrawal = None
    if release.withdrawn:
        withdrawal = model.Withdrawal(
            reason=release.withdrawn_reason or "withdrawn",
            at=release.withdrawn_at or release.modified_at,
        )
    return model.Release(
        version=release.version,
        identifier=release.identifier,
        issued=release.published_at,
        modified=max(release.modified_at, release.published_at),
        version_notes=release.version_notes or f"Version {release.version}.",
        distributions=distributions,
        number_of_records=release.n_records,
        quality=[
            q
            for q in (quality_model(m, v) for m, v in release.quality)
            if q is not None
        ],
        withdrawn=withdrawal,
    )


@dataclass(frozen=True)
class Models:
    """A dataset record in the metadata model: the concept as its latest
    release shows it, and every visible release."""

    dataset: model.Dataset
    releases: tuple[model.Release, ...]

    def release(self, version: int) -> model.Release:
        return next(r for r in self.releases if r.version == version)


def models(record: DatasetRecord) -> Models:
    """The metadata models of a record with at least one visible release."""
    releases = tuple(release_model(r) for r in record.releases)
    return Models(dataset_model(record), releases)


# RDF ---------------------------------------------------------------------
# Every graph is written by metadata.rdf (DCAT-AP 3 with HealthDCAT-AP).


def dataset_triples(
    record: DatasetRecord, settings: Settings, built: Models | None = None
) -> set:
    """The dataset series and all its visible releases, as a set of triples
    (``built``, the record's :func:`models`, saves building them again)."""
    built = built or models(record)
    return rdf.dataset_triples(built.dataset, list(built.releases), settings.base_url)


def dataset_graph(record: DatasetRecord, settings: Settings) -> Graph:
    """The dataset series and all its visible releases, as one RDF graph."""
    graph = new_graph()
    graph += dataset_triples(record, settings)
    return graph


def release_triples(
    record: DatasetRecord,
    release: ReleaseRecord,
    settings: Settings,
    triples: set | None = None,
) -> set:
    """One release and every node it describes, cut from the dataset's graph.

    What is reachable from the release without passing through the series or
    a sibling release (those are only linked). ``triples``, the dataset's
    graph from :func:`dataset_triples`, saves building it again.
    """
    if triples is None:
        triples = dataset_triples(record, settings)
    return reachable(triples, URIRef(release.uri), _siblings(record, release))


def _siblings(record: DatasetRecord, release: ReleaseRecord) -> set[URIRef]:
    others = {URIRef(r.uri) for r in record.releases if r.id != release.id}
    return others | {URIRef(record.uri)}


def reachable(triples: Iterable[tuple], start: Node, stops: set[Node]) -> set:
    """The triples whose subject is reachable from ``start`` by following
    objects, never entering a node of ``stops``."""
    by_subject: dict[Node, list[tuple]] = {}
    for triple in triples:
        by_subject.setdefault(triple[0], []).append(triple)
    kept: set = set()
    seen, todo = {start}, [start]
    while todo:
        for triple in by_subject.get(todo.pop(), ()):
            kept.add(triple)
            node = triple[2]
            if node in by_subject and node not in seen and node not in stops:
                seen.add(node)
                todo.append(node)
    return kept


def release_graph(
    record: DatasetRecord, release: ReleaseRecord, settings: Settings
) -> Graph:
    """One release as an RDF graph (see :func:`release_triples`)."""
    graph = new_graph()
    graph += release_triples(record, release, settings)
    return graph


def new_graph() -> Graph:
    return bind_prefixes(Graph())


def catalog_uri(settings: Settings) -> URIRef:
    return rdf.catalog_uri(settings.base_url)


def catalog_model(settings: Settings) -> model.Catalog:
    """The catalog, its publisher and the harvesting services it offers."""
    base = settings.base_url
    publisher = model.Organization(
        name="cardiofair",
        homepage=f"{base}/",
        contact=model.ContactPoint(name="cardiofair", url=f"{base}/"),
    )
    services = [
        model.DataService(
            slug=slug,
            title=title,
            endpoint_url=f"{base}/{path}",
            conforms_to=[standard],
        )
        for slug, title, path, standard in _SERVICES
    ]
    return model.Catalog(
        title="cardiofair",
        description="Synthetic cardiac research datasets, gated for privacy "
        "before release.",
        publisher=publisher,
        homepage=f"{base}/",
        services=services,
    )


_SERVICES = (
    (
        "sparql",
        "SPARQL 1.1 endpoint",
        "sparql",
        "https://www.w3.org/TR/sparql11-protocol/",
    ),
    ("oai-pmh", "OAI-PMH 2.0 endpoint", "oai", "http://www.openarchives.org/OAI/2.0/"),
)


def catalog_graph(settings: Settings, records: Iterable[DatasetRecord]) -> Graph:
    """The catalog node, its services and these datasets with their releases."""
    pairs = []
    for record in records:
        built = models(record)
        pairs.append((built.dataset, list(built.releases)))
    graph = rdf.catalog_graph(catalog_model(settings), pairs, settings.base_url)
    return bind_prefixes(graph)


def catalog_triples(settings: Settings) -> set:
    """The catalog node and its services alone, as a set of triples."""
    return set(rdf.catalog_graph(catalog_model(settings), (), settings.base_url))
