"""DCAT-AP 3 and HealthDCAT-AP graphs of datasets, releases and the catalog.

A dataset concept is a ``dcat:DatasetSeries`` at ``{base}/dataset/{slug}``;
each release is a ``dcat:Dataset`` at ``{base}/dataset/{slug}/v{N}``, in the
series, linked to it with ``dcat:hasVersion`` / ``dcat:isVersionOf`` and to
its predecessor with ``dcat:previousVersion``. A withdrawn release stays in
the graph with ``adms:status`` WITHDRAWN and the withdrawal as a PROV
invalidation, so a harvester sees a tombstone rather than a hole.

Every linked concept (theme, access right, media type, licence, ...) is
typed and labelled in the graph itself, as the DCAT-AP shapes require.

:func:`read_dataset` is the inverse of :func:`dataset_graph`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from metadata import vocab
from metadata.licences import duo_term, spdx_licence, spdx_licence_by_uri
from metadata.model import (
    Activity,
    Catalog,
    CohortSpec,
    Column,
    ContactPoint,
    DataService,
    Dataset,
    Distribution,
    Licence,
    Organization,
    Person,
    Policy,
    QualityMeasurement,
    Release,
    Rule,
    SoftwareAgent,
    Table,
    Withdrawal,
    check_versions,
    latest_release,
)
from metadata.namespaces import (
    ADMS,
    CSVW,
    CV,
    DCAT,
    DCATAP,
    DCTERMS,
    DPV,
    DQV,
    ELI,
    FOAF,
    HEALTHDCATAP,
    IANA_MEDIA,
    ODRL2,
    PROV,
    RDF,
    RDFS,
    RELATORS,
    SDO,
    SKOS,
    SPDX,
    VCARD,
    XSD,
    bind_prefixes,
)

log = logging.getLogger(__name__)

STANDARDS: dict[str, tuple[URIRef, str]] = {
    "WFDB": (URIRef("https://wfdb.io/spec/"), "WFDB format specification"),
    "DICOM": (
        URIRef("https://www.dicomstandard.org/current"),
        "DICOM PS3 (waveform IODs)",
    ),
    "CSV": (URIRef("https://www.rfc-editor.org/rfc/rfc4180"), "RFC 4180 CSV"),
    "Parquet": (
        URIRef("https://parquet.apache.org/docs/file-format/"),
        "Apache Parquet file format",
    ),
}
SHA256 = SPDX.checksumAlgorithm_sha256
CREATOR_ROLE = RELATORS.cre


# --------------------------------------------------------------------------
# URIs


def dataset_uri(base_url: str, slug: str) -> URIRef:
    """URI of a dataset concept."""
    return URIRef(f"{base_url.rstrip('/')}/dataset/{slug}")


def release_uri(base_url: str, slug: str, version: int) -> URIRef:
    """URI of one release of a dataset."""
    return URIRef(f"{base_url.rstrip('/')}/dataset/{slug}/v{version}")


def catalog_uri(base_url: str) -> URIRef:
    """URI of the catalog."""
    return URIRef(f"{base_url.rstrip('/')}/catalog")


def policy_profile(base_url: str) -> URIRef:
    """The project's ODRL profile, which adds ``reidentify`` and ``link``."""
    return URIRef(f"{base_url.rstrip('/')}/ns/odrl")


def _slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "agent"


# --------------------------------------------------------------------------
# Writer


class _Writer:
    """Adds metadata records to one graph; shared nodes are written once."""

    def __init__(self, base_url: str, sink: Graph | set | None = None):
        self.base = base_url.rstrip("/")
        self.g = sink if sink is not None else bind_prefixes(Graph())

    def add(self, s: Node, p: URIRef, o: Node | str | int | float | None) -> None:
        if o is None:
            return
        if not isinstance(o, Node):
            o = Literal(o)
        self.g.add((s, p, o))

    def concept(self, term: vocab.Term, *types: URIRef) -> URIRef:
        self.g.add((term.iri, RDF.type, SKOS.Concept))
        for rdf_type in types:
            self.g.add((term.iri, RDF.type, rdf_type))
        self.g.add((term.iri, SKOS.prefLabel, Literal(term.label, lang="en")))
        return term.iri

    def legislation(self, subject: Node, iris: Iterable[str]) -> None:
        for iri in iris:
            node = URIRef(iri)
            self.g.add((node, RDF.type, ELI.LegalResource))
            self.g.add((subject, DCATAP.applicableLegislation, node))

    # agents -------------------------------------------------------------

    def organization(self, org: Organization) -> URIRef:
        slug = org.slug or _slugify(org.name)
        node = URIRef(org.ror or f"{self.base}/organization/{slug}")
        self.g.add((node, RDF.type, FOAF.Agent))
        self.g.add((node, RDF.type, FOAF.Organization))
        self.g.add((node, FOAF.name, Literal(org.name)))
        if org.homepage:
            page = URIRef(org.homepage)
            self.g.add((page, RDF.type, FOAF.Document))
            self.g.add((node, FOAF.homepage, page))
        if org.contact:
            contact = self.contact(URIRef(f"{node}#contact"), org.contact)
            self.g.add((node, CV.contactPoint, contact))
            self.g.add((node, DCAT.contactPoint, contact))
        return node

    def person(self, person: Person) -> Node:
        node = URIRef(person.orcid) if person.orcid else BNode()
        self.g.add((node, RDF.type, FOAF.Agent))
        self.g.add((node, RDF.type, FOAF.Person))
        self.g.add((node, FOAF.name, Literal(person.name)))
        self.g.add((node, FOAF.givenName, Literal(person.given_name)))
        self.g.add((node, FOAF.familyName, Literal(person.family_name)))
        if person.affiliation:
            org = self.organization(person.affiliation)
            self.g.add((node, SDO.affiliation, org))
        return node

    def agent(self, agent: Person | Organization) -> Node:
        if isinstance(agent, Person):
            return self.person(agent)
        return self.organization(agent)

    def contact(self, node: URIRef, contact: ContactPoint) -> URIRef:
        """A contact point that satisfies both vCard and Core Vocabulary readers."""
        self.g.add((node, RDF.type, VCARD.Kind))
        self.g.add((node, RDF.type, CV.ContactPoint))
        self.add(node, VCARD.fn, contact.name)
        if contact.email:
            self.g.add((node, VCARD.hasEmail, URIRef(f"mailto:{contact.email}")))
            self.g.add((node, CV.email, Literal(contact.email)))
        if contact.url:
            self.g.add((node, VCARD.hasURL, URIRef(contact.url)))
            self.g.add((node, CV.contactPage, URIRef(contact.url)))
        return node

    # licence and policy -------------------------------------------------

    def licence(self, licence: Licence) -> URIRef:
        entry = spdx_licence(licence.spdx_id)
        self.g.add((entry.uri, RDF.type, DCTERMS.LicenseDocument))
        self.g.add((entry.uri, RDFS.label, Literal(entry.name)))
        self.g.add((entry.uri, DCTERMS.identifier, Literal(entry.id)))
        return entry.uri

    def policy(self, node: URIRef, policy: Policy, assigner: Node, target: Node):
        if (node, RDF.type, ODRL2.Offer) in self.g:
            return node
        self.g.add((node, RDF.type, ODRL2.Offer))
        self.g.add((node, RDF.type, ODRL2.Policy))
        self.g.add((node, ODRL2.profile, policy_profile(self.base)))
        self.g.add((node, ODRL2.assigner, assigner))
        self.g.add((node, ODRL2.target, target))
        for kind, rules in (
            (ODRL2.permission, policy.permissions),
            (ODRL2.prohibition, policy.prohibitions),
            (ODRL2.obligation, policy.duties),
        ):
            for i, rule in enumerate(rules, start=1):
                rule_node = URIRef(f"{node}-{_local(kind)}-{i}")
                self.g.add((node, kind, self.rule(rule_node, rule)))
        return node

    def rule(self, node: URIRef, rule: Rule) -> URIRef:
        self.g.add((node, ODRL2.action, self.action(rule.action)))
        if rule.purposes:
            constraint = URIRef(f"{node}-purpose")
            self.g.add((node, ODRL2.constraint, constraint))
            self.g.add((constraint, ODRL2.leftOperand, ODRL2.purpose))
            self.g.add((constraint, ODRL2.operator, ODRL2.isAnyOf))
            for code in rule.purposes:
                term = self.concept(duo_term(code))
                self.g.add((constraint, ODRL2.rightOperand, term))
        return node

    def action(self, action: str) -> URIRef:
        if action in ("reidentify", "link"):
            return URIRef(f"{policy_profile(self.base)}#{action}")
        return ODRL2[action]

    # dataset and releases -----------------------------------------------

    def series(self, dataset: Dataset, releases: list[Release]) -> URIRef:
        node = dataset_uri(self.base, dataset.slug)
        self.g.add((node, RDF.type, DCAT.DatasetSeries))
        self.g.add((node, DCTERMS.identifier, Literal(dataset.identifier)))
        self.g.add((node, DCTERMS.title, Literal(dataset.title)))
        self.g.add((node, DCTERMS.description, Literal(dataset.description)))
        self.g.add((node, DCTERMS.publisher, self.organization(dataset.publisher)))
        self.g.add((node, DCAT.contactPoint, self.dataset_contact(dataset)))
        self.add(node, DCTERMS.issued, _datetime(dataset.issued))
        self.legislation(node, dataset.applicable_legislation)
        for release in releases:
            self.g.add((node, DCAT.hasVersion, self.release_node(dataset, release)))
        if releases:
            self.g.add((node, DCAT.first, self.release_node(dataset, releases[0])))
            self.g.add((node, DCAT.last, self.release_node(dataset, releases[-1])))
        current = latest_release(releases)
        if current is not None:
            current_node = self.release_node(dataset, current)
            self.g.add((node, DCAT.hasCurrentVersion, current_node))
        return node

    def release_node(self, dataset: Dataset, release: Release) -> URIRef:
        return release_uri(self.base, dataset.slug, release.version)

    def dataset_contact(self, dataset: Dataset) -> URIRef:
        node = URIRef(f"{dataset_uri(self.base, dataset.slug)}#contact")
        return self.contact(node, dataset.contact_point)

    def release(
        self,
        dataset: Dataset,
        release: Release,
        series: URIRef,
        previous: int | None = None,
    ) -> URIRef:
        node = self.release_node(dataset, release)
        self.g.add((node, RDF.type, DCAT.Dataset))
        self.g.add((node, DCAT.inSeries, series))
        self.g.add((node, DCAT.isVersionOf, series))
        self.release_core(node, dataset, release, previous)
        self.release_people(node, dataset)
        self.release_rights(node, dataset)
        self.release_health(node, dataset, release)
        for i, dist in enumerate(release.distributions):
            dist_node = URIRef(f"{node}#distribution-{i + 1}")
            self.g.add((node, DCAT.distribution, dist_node))
            self.distribution(dist_node, dist, dataset)
        if release.activity is not None:
            self.activity(node, release.activity)
        for measurement in release.quality:
            self.quality(node, measurement)
        if release.withdrawn is not None:
            self.withdrawal(node, release.withdrawn)
        return node

    def release_core(
        self, node: URIRef, dataset: Dataset, release: Release, previous: int | None
    ):
        g = self.g
        g.add((node, DCTERMS.identifier, Literal(release.identifier)))
        g.add((node, DCTERMS.title, Literal(dataset.title)))
        g.add((node, DCTERMS.description, Literal(dataset.description)))
        g.add((node, DCAT.version, Literal(str(release.version))))
        g.add((node, ADMS.versionNotes, Literal(release.version_notes)))
        g.add((node, DCTERMS.issued, _datetime(release.issued)))
        g.add((node, DCTERMS.modified, _datetime(release.modified)))
        if previous is not None:
            g.add(
                (
                    node,
                    DCAT.previousVersion,
                    release_uri(self.base, dataset.slug, previous),
                )
            )
        for keyword in dataset.keywords:
            g.add((node, DCAT.keyword, Literal(keyword)))
        for code in dataset.themes:
            g.add((node, DCAT.theme, self.concept(vocab.DATA_THEMES[code])))
        dataset_type = vocab.RESOURCE_TYPES["Dataset"]
        g.add((node, DCTERMS.type, self.concept(dataset_type)))
        provenance = URIRef(f"{dataset_uri(self.base, dataset.slug)}#provenance")
        g.add((provenance, RDF.type, DCTERMS.ProvenanceStatement))
        g.add((provenance, RDFS.label, Literal(dataset.provenance)))
        g.add((node, DCTERMS.provenance, provenance))
        status = "WITHDRAWN" if release.withdrawn else "COMPLETED"
        g.add((node, ADMS.status, self.concept(vocab.DATASET_STATUS[status])))

    def release_people(self, node: URIRef, dataset: Dataset) -> None:
        g = self.g
        g.add((node, DCTERMS.publisher, self.organization(dataset.publisher)))
        g.add((node, DCAT.contactPoint, self.dataset_contact(dataset)))
        g.add((CREATOR_ROLE, RDF.type, DCAT.Role))
        g.add((CREATOR_ROLE, RDFS.label, Literal("creator", lang="en")))
        for position, creator in enumerate(dataset.creators, start=1):
            agent = self.agent(creator)
            g.add((node, DCTERMS.creator, agent))
            attribution = URIRef(f"{node}#creator-{position}")
            g.add((attribution, RDF.type, PROV.Attribution))
            g.add((attribution, PROV.agent, agent))
            g.add((attribution, DCAT.hadRole, CREATOR_ROLE))
            g.add((attribution, SDO.position, Literal(position)))
            g.add((node, PROV.qualifiedAttribution, attribution))

    def release_rights(self, node: URIRef, dataset: Dataset) -> None:
        g = self.g
        access = vocab.ACCESS_RIGHTS[dataset.access_rights]
        g.add(
            (node, DCTERMS.accessRights, self.concept(access, DCTERMS.RightsStatement))
        )
        self.legislation(node, dataset.applicable_legislation)
        for code in dataset.duo_codes:
            term = self.concept(duo_term(code), DCTERMS.RightsStatement)
            g.add((term, SKOS.notation, Literal(code)))
            g.add((node, DCTERMS.rights, term))
        if dataset.policy is not None:
            policy = self.dataset_policy(dataset)
            g.add((node, ODRL2.hasPolicy, policy))

    def dataset_policy(self, dataset: Dataset) -> URIRef:
        concept = dataset_uri(self.base, dataset.slug)
        node = URIRef(f"{concept}#policy")
        publisher = self.organization(dataset.publisher)
        return self.policy(node, dataset.policy, publisher, concept)

    def release_health(self, node: URIRef, dataset: Dataset, release: Release):
        g = self.g
        for code in dataset.health_categories:
            term = self.concept(vocab.HEALTH_CATEGORIES[code])
            g.add((node, HEALTHDCATAP.healthCategory, term))
        for iri in dataset.health_themes:
            g.add((node, HEALTHDCATAP.healthTheme, URIRef(iri)))
        g.add((node, HEALTHDCATAP.hdab, self.organization(dataset.hdab)))
        counts = (
            (HEALTHDCATAP.minTypicalAge, dataset.min_typical_age),
            (HEALTHDCATAP.maxTypicalAge, dataset.max_typical_age),
            (HEALTHDCATAP.numberOfRecords, release.number_of_records),
            (
                HEALTHDCATAP.numberOfUniqueIndividuals,
                release.number_of_unique_individuals,
            ),
        )
        for predicate, value in counts:
            if value is not None:
                g.add(
                    (node, predicate, Literal(value, datatype=XSD.nonNegativeInteger))
                )
        self.add(node, HEALTHDCATAP.populationCoverage, dataset.population_coverage)
        for table, predicate, codes in (
            (vocab.PERSONAL_DATA, DPV.hasPersonalData, dataset.personal_data),
            (vocab.LEGAL_BASES, DPV.hasLegalBasis, dataset.legal_basis),
            (vocab.PURPOSES, DPV.hasPurpose, dataset.purposes),
        ):
            for code in codes:
                g.add((node, predicate, self.concept(table[code])))
        for iri in dataset.coding_systems:
            g.add((node, HEALTHDCATAP.hasCodingSystem, URIRef(iri)))
        structured = Literal(bool(release.variables))
        g.add((node, HEALTHDCATAP.hasStructuredData, structured))
        if release.variables:
            g.add(
                (
                    node,
                    HEALTHDCATAP.hasVariables,
                    self.variables(node, dataset, release),
                )
            )

    def variables(self, node: URIRef, dataset: Dataset, release: Release) -> URIRef:
        group = URIRef(f"{node}#variables")
        self.g.add((group, RDF.type, CSVW.TableGroup))
        self.g.add((group, DCTERMS.title, Literal(f"Variables of {dataset.title}")))
        for t, table in enumerate(release.variables, start=1):
            table_node = URIRef(f"{node}#table-{t}")
            self.g.add((group, CSVW.table, table_node))
            self.table(table_node, table)
        return group

    def table(self, node: URIRef, table: Table) -> None:
        self.g.add((node, RDF.type, CSVW.Table))
        self.g.add((node, DCTERMS.title, Literal(table.title)))
        if table.url:
            self.g.add((node, CSVW.url, URIRef(table.url)))
        for c, column in enumerate(table.columns, start=1):
            column_node = URIRef(f"{node}-column-{c}")
            self.g.add((node, CSVW.column, column_node))
            self.column(column_node, column)

    def column(self, node: URIRef, column: Column) -> None:
        g = self.g
        g.add((node, RDF.type, CSVW.Column))
        g.add((node, CSVW.name, Literal(column.name)))
        # Release 8 of HealthDCAT-AP reads csvw:title, release 5 csvw:titles.
        g.add((node, CSVW.title, Literal(column.title)))
        g.add((node, CSVW.titles, Literal(column.title)))
        g.add((node, DCTERMS.description, Literal(column.description)))
        g.add((node, CSVW.datatype, Literal(column.datatype)))
        if column.property_url:
            g.add((node, CSVW.propertyUrl, URIRef(column.property_url)))

    def distribution(self, node: URIRef, dist: Distribution, dataset: Dataset):
        g = self.g
        g.add((node, RDF.type, DCAT.Distribution))
        g.add((node, DCTERMS.title, Literal(dist.title)))
        self.add(node, DCTERMS.description, dist.description)
        g.add((node, DCAT.accessURL, URIRef(dist.access_url)))
        if dist.download_url:
            g.add((node, DCAT.downloadURL, URIRef(dist.download_url)))
        media = IANA_MEDIA[dist.media_type]
        g.add((media, RDF.type, DCTERMS.MediaType))
        g.add((media, RDFS.label, Literal(dist.media_type)))
        g.add((node, DCAT.mediaType, media))
        g.add(
            (
                node,
                DCAT.byteSize,
                Literal(dist.byte_size, datatype=XSD.nonNegativeInteger),
            )
        )
        g.add(
            (
                node,
                SPDX.checksum,
                self.checksum(URIRef(f"{node}-checksum"), dist.sha256),
            )
        )
        if dist.conforms_to:
            g.add((node, DCTERMS.conformsTo, self.standard(dist.conforms_to)))
        g.add((node, DCTERMS.license, self.licence(dataset.licence)))
        if dataset.policy is not None:
            g.add((node, ODRL2.hasPolicy, self.dataset_policy(dataset)))
        self.legislation(node, dataset.applicable_legislation)

    def checksum(self, node: URIRef, sha256: str) -> URIRef:
        self.g.add((node, RDF.type, SPDX.Checksum))
        self.g.add((SHA256, RDF.type, SPDX.ChecksumAlgorithm))
        self.g.add((node, SPDX.algorithm, SHA256))
        self.g.add((node, SPDX.checksumValue, Literal(sha256, datatype=XSD.hexBinary)))
        return node

    def standard(self, name: str) -> URIRef:
        iri, title = STANDARDS[name]
        self.g.add((iri, RDF.type, DCTERMS.Standard))
        self.g.add((iri, DCTERMS.title, Literal(title)))
        self.g.add((iri, SKOS.notation, Literal(name)))
        return iri

    def activity(self, release: URIRef, activity: Activity) -> None:
        g = self.g
        node = URIRef(f"{release}#generation")
        g.add((release, PROV.wasGeneratedBy, node))
        g.add((node, RDF.type, PROV.Activity))
        g.add((node, RDFS.label, Literal(activity.label)))
        g.add((node, PROV.startedAtTime, _datetime(activity.started)))
        g.add((node, PROV.endedAtTime, _datetime(activity.ended)))
        g.add((node, PROV.used, self.cohort_spec(release, activity.cohort_spec)))
        source = URIRef(activity.source_dataset)
        g.add((source, RDF.type, PROV.Entity))
        g.add((node, PROV.used, source))
        g.add((release, PROV.wasDerivedFrom, source))
        g.add((node, PROV.wasAssociatedWith, self.software(release, activity.engine)))
        for name, value in activity.parameters.items():
            self.parameter(node, URIRef(f"{release}#parameter-{name}"), name, value)
        self.parameter(node, URIRef(f"{release}#seed"), "seed", activity.seed)

    def cohort_spec(self, release: URIRef, spec: CohortSpec) -> URIRef:
        node = URIRef(f"{release}#cohort-spec")
        self.g.add((node, RDF.type, PROV.Entity))
        self.g.add((node, DCTERMS.title, Literal(spec.title)))
        self.g.add(
            (
                node,
                SPDX.checksum,
                self.checksum(URIRef(f"{node}-checksum"), spec.sha256),
            )
        )
        if spec.url:
            self.g.add((node, SDO.url, URIRef(spec.url)))
        return node

    def software(self, release: URIRef, engine: SoftwareAgent) -> URIRef:
        node = URIRef(f"{release}#engine")
        self.g.add((node, RDF.type, PROV.SoftwareAgent))
        self.g.add((node, FOAF.name, Literal(engine.name)))
        self.g.add((node, SDO.softwareVersion, Literal(engine.version)))
        if engine.url:
            self.g.add((node, SDO.url, URIRef(engine.url)))
        return node

    def parameter(self, activity: URIRef, node: URIRef, name: str, value) -> None:
        self.g.add((activity, PROV.used, node))
        self.g.add((node, RDF.type, PROV.Entity))
        self.g.add((node, RDFS.label, Literal(name)))
        self.g.add((node, PROV.value, Literal(value)))

    def quality(self, release: URIRef, measurement: QualityMeasurement) -> None:
        g = self.g
        node = URIRef(f"{release}#quality-{measurement.metric}")
        metric = URIRef(f"{self.base}/quality/metric/{measurement.metric}")
        dimension = URIRef(f"{self.base}/quality/dimension/{measurement.dimension}")
        g.add((release, DQV.hasQualityMeasurement, node))
        g.add((node, RDF.type, DQV.QualityMeasurement))
        g.add((node, DQV.computedOn, release))
        g.add((node, DQV.isMeasurementOf, metric))
        g.add((node, DQV.value, Literal(float(measurement.value))))
        g.add((metric, RDF.type, DQV.Metric))
        g.add((metric, SKOS.notation, Literal(measurement.metric)))
        g.add((metric, SKOS.definition, Literal(measurement.definition)))
        g.add((metric, DQV.expectedDataType, XSD.double))
        g.add((metric, DQV.inDimension, dimension))
        g.add((dimension, RDF.type, DQV.Dimension))
        g.add((dimension, SKOS.notation, Literal(measurement.dimension)))

    def withdrawal(self, release: URIRef, withdrawal: Withdrawal) -> None:
        node = URIRef(f"{release}#withdrawal")
        self.g.add((release, PROV.wasInvalidatedBy, node))
        self.g.add((release, PROV.invalidatedAtTime, _datetime(withdrawal.at)))
        self.g.add((node, RDF.type, PROV.Activity))
        self.g.add((node, RDFS.label, Literal("withdrawal")))
        self.g.add((node, DCTERMS.description, Literal(withdrawal.reason)))
        self.g.add((node, PROV.endedAtTime, _datetime(withdrawal.at)))

    # catalog ------------------------------------------------------------

    def catalog(self, catalog: Catalog) -> URIRef:
        g = self.g
        node = catalog_uri(self.base)
        g.add((node, RDF.type, DCAT.Catalog))
        g.add((node, DCTERMS.title, Literal(catalog.title)))
        g.add((node, DCTERMS.description, Literal(catalog.description)))
        g.add((node, DCTERMS.publisher, self.organization(catalog.publisher)))
        if catalog.homepage:
            page = URIRef(catalog.homepage)
            g.add((page, RDF.type, FOAF.Document))
            g.add((node, FOAF.homepage, page))
        if catalog.licence:
            g.add((node, DCTERMS.license, self.licence(catalog.licence)))
        self.legislation(node, catalog.applicable_legislation)
        for service in catalog.services:
            g.add((node, DCAT.service, self.service(service)))
        return node

    def service(self, service: DataService) -> URIRef:
        g = self.g
        node = URIRef(f"{self.base}/service/{service.slug}")
        g.add((node, RDF.type, DCAT.DataService))
        g.add((node, DCTERMS.title, Literal(service.title)))
        self.add(node, DCTERMS.description, service.description)
        g.add((node, DCAT.endpointURL, URIRef(service.endpoint_url)))
        if service.endpoint_description:
            g.add(
                (node, DCAT.endpointDescription, URIRef(service.endpoint_description))
            )
        for iri in service.conforms_to:
            g.add((URIRef(iri), RDF.type, DCTERMS.Standard))
            g.add((node, DCTERMS.conformsTo, URIRef(iri)))
        return node


def _local(iri: URIRef) -> str:
    return re.split(r"[/#]", str(iri))[-1]


def _datetime(value) -> Literal | None:
    if value is None:
        return None
    return Literal(value.isoformat(), datatype=XSD.dateTime)


def dataset_graph(
    dataset: Dataset, releases: list[Release], base_url: str, graph: Graph | None = None
) -> Graph:
    """The DCAT-AP / HealthDCAT-AP graph of a dataset and its releases.

    Parameters
    ----------
    dataset : Dataset
        The concept.
    releases : list of Release
        Its public releases, withdrawn ones included; each version once (a
        version never published leaves a gap).
    base_url : str
        The catalog's base URL; URIs are ``{base}/dataset/{slug}[/v{N}]``.
    graph : Graph, optional
        Add to this graph instead of a new one.

    Raises
    ------
    ValueError
        If a version appears twice.
    """
    ordered = check_versions(releases)
    writer = _Writer(base_url, graph)
    series = writer.series(dataset, ordered)
    for previous, release in zip([None, *ordered], ordered, strict=False):
        version = previous.version if previous is not None else None
        writer.release(dataset, release, series, version)
    return writer.g


def dataset_triples(
    dataset: Dataset, releases: list[Release], base_url: str
) -> set[tuple[Node, URIRef, Node]]:
    """The triples of :func:`dataset_graph` as a plain set, without a graph.

    The fast path for bulk publishing: no store, no index, no serialiser.
    Blank nodes (people without an ORCID iD) are fresh on every call.
    """
    ordered = check_versions(releases)
    triples: set[tuple[Node, URIRef, Node]] = set()
    writer = _Writer(base_url, triples)
    series = writer.series(dataset, ordered)
    for previous, release in zip([None, *ordered], ordered, strict=False):
        version = previous.version if previous is not None else None
        writer.release(dataset, release, series, version)
    return triples


# --------------------------------------------------------------------------
# N-Triples and N-Quads

#: Characters an IRI may not hold in N-Triples (the set rdflib refuses too).
_BAD_IRI = re.compile(r'[<>" {}|\\^`]')
_NEEDS_ESCAPE = re.compile(r'["\\\n\r]')
_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})
#: Python's words for the special floating-point values, and XML Schema's.
_SPECIAL_FLOATS = {"inf": "INF", "-inf": "-INF", "+inf": "INF", "nan": "NaN"}
_FLOAT_TYPES = (XSD.double, XSD.float)


def nt_term(term: Node) -> str:
    """One RDF term in N-Triples syntax.

    Literals are always written on one line (line breaks escaped as ``\\n``),
    as N-Triples and N-Quads require.

    Raises
    ------
    ValueError
        For an IRI holding a space or one of the characters N-Triples
        cannot carry in an IRI.
    """
    kind = type(term)
    if kind is URIRef or (kind is not Literal and isinstance(term, URIRef)):
        if _BAD_IRI.search(term):
            raise ValueError(
                f"{str(term)!r} is not an IRI N-Triples can hold: percent-encode "
                'any of <>" {}|\\^` in it'
            )
        return f"<{term}>"
    if kind is Literal or isinstance(term, Literal):
        return _nt_literal(term)
    if isinstance(term, BNode):
        return f"_:{term}"
    return term.n3()


def _nt_literal(literal: Literal) -> str:
    lexical = str.__str__(literal)
    if _NEEDS_ESCAPE.search(lexical):
        lexical = lexical.translate(_ESCAPES)
    if literal.language:
        return f'"{lexical}"@{literal.language}'
    datatype = literal.datatype
    if datatype is None:
        return f'"{lexical}"'
    if datatype in _FLOAT_TYPES:
        lexical = _SPECIAL_FLOATS.get(lexical.lower(), lexical)
    return f'"{lexical}"^^<{datatype}>'


def ntriples(triples: Iterable[tuple[Node, URIRef, Node]]) -> str:
    """N-Triples text of any iterable of triples, one line each.

    Raises
    ------
    ValueError
        For an IRI N-Triples cannot hold (see :func:`nt_term`).
    """
    term = nt_term
    return "".join(f"{term(s)} {term(p)} {term(o)} .\n" for s, p, o in triples)


def nquads(triples: Iterable[tuple[Node, URIRef, Node]], graph: str) -> str:
    """N-Quads text of triples placed in the named graph ``graph`` (an IRI).

    Raises
    ------
    ValueError
        For an IRI N-Quads cannot hold (see :func:`nt_term`).
    """
    term = nt_term
    name = term(URIRef(graph))
    return "".join(f"{term(s)} {term(p)} {term(o)} {name} .\n" for s, p, o in triples)


def catalog_graph(
    catalog: Catalog,
    datasets_with_releases: Iterable[tuple[Dataset, list[Release]]],
    base_url: str,
) -> Graph:
    """The whole catalog: the catalog node, its services, every dataset.

    Every release is listed with ``dcat:dataset`` and served by each service.
    """
    writer = _Writer(base_url)
    node = writer.catalog(catalog)
    services = [URIRef(f"{writer.base}/service/{s.slug}") for s in catalog.services]
    for dataset, releases in datasets_with_releases:
        dataset_graph(dataset, releases, base_url, writer.g)
        for release in releases:
            release_node = writer.release_node(dataset, release)
            writer.g.add((node, DCAT.dataset, release_node))
            for service in services:
                writer.g.add((service, DCAT.servesDataset, release_node))
    return writer.g


# --------------------------------------------------------------------------
# Reader


class RecordNotFound(LookupError):
    """The graph holds no dataset at the URI asked for."""


def read_dataset(graph: Graph, uri: str) -> tuple[Dataset, list[Release]]:
    """Read a dataset concept and its releases back from a graph.

    Parameters
    ----------
    graph : Graph
        A graph written by :func:`dataset_graph` (possibly after a round
        trip through another serialisation).
    uri : str
        The dataset's URI, ``{base}/dataset/{slug}``.

    Raises
    ------
    RecordNotFound
        If ``uri`` is not a ``dcat:DatasetSeries`` in ``graph``.
    pydantic.ValidationError
        If the graph's values do not make a valid record.
    """
    series = URIRef(uri)
    if (series, RDF.type, DCAT.DatasetSeries) not in graph:
        raise RecordNotFound(f"no dataset series {uri} in the graph")
    reader = _Reader(graph)
    release_nodes = sorted(graph.objects(series, DCAT.hasVersion), key=reader.version)
    if not release_nodes:
        raise RecordNotFound(f"dataset series {uri} has no release to read")
    slug = str(series).rstrip("/").rsplit("/", 1)[1]
    dataset = reader.dataset(series, release_nodes[-1], slug)
    releases = [reader.release(node) for node in release_nodes]
    return dataset, releases


_ORG_SLUG = re.compile(r"/organization/([a-z0-9](?:[a-z0-9-]*[a-z0-9])?)$")


class _Reader:
    def __init__(self, graph: Graph):
        self.g = graph

    def one(self, s: Node, p: URIRef):
        return self.g.value(s, p)

    def text(self, s: Node, p: URIRef) -> str | None:
        value = self.g.value(s, p)
        return None if value is None else str(value)

    def py(self, s: Node, p: URIRef):
        value = self.g.value(s, p)
        return None if value is None else value.toPython()

    def codes(self, s: Node, p: URIRef, table: dict[str, vocab.Term]) -> list[str]:
        return [vocab.by_iri(table, iri).code for iri in self.g.objects(s, p)]

    def iris(self, s: Node, p: URIRef) -> list[str]:
        return [str(o) for o in self.g.objects(s, p)]

    def version(self, node: Node) -> int:
        return int(self.g.value(node, DCAT.version))

    def dataset(self, series: URIRef, node: URIRef, slug: str) -> Dataset:
        g = self.g
        first_dist = next(iter(g.objects(node, DCAT.distribution)))
        licence = spdx_licence_by_uri(g.value(first_dist, DCTERMS.license))
        access = vocab.by_iri(vocab.ACCESS_RIGHTS, g.value(node, DCTERMS.accessRights))
        policy_node = g.value(node, ODRL2.hasPolicy)
        return Dataset(
            slug=slug,
            identifier=self.text(series, DCTERMS.identifier),
            title=self.text(series, DCTERMS.title),
            description=self.text(series, DCTERMS.description),
            keywords=self.iris(node, DCAT.keyword),
            themes=self.codes(node, DCAT.theme, vocab.DATA_THEMES),
            publisher=self.organization(g.value(series, DCTERMS.publisher)),
            creators=self.creators(node),
            contact_point=self.contact(g.value(series, DCAT.contactPoint)),
            licence=Licence(spdx_id=licence.id),
            access_rights=access.code,
            policy=None if policy_node is None else self.policy(policy_node),
            health_categories=self.codes(
                node, HEALTHDCATAP.healthCategory, vocab.HEALTH_CATEGORIES
            ),
            health_themes=self.iris(node, HEALTHDCATAP.healthTheme),
            hdab=self.organization(g.value(node, HEALTHDCATAP.hdab)),
            min_typical_age=self.py(node, HEALTHDCATAP.minTypicalAge),
            max_typical_age=self.py(node, HEALTHDCATAP.maxTypicalAge),
            population_coverage=self.text(node, HEALTHDCATAP.populationCoverage),
            personal_data=self.codes(node, DPV.hasPersonalData, vocab.PERSONAL_DATA),
            legal_basis=self.codes(node, DPV.hasLegalBasis, vocab.LEGAL_BASES),
            purposes=self.codes(node, DPV.hasPurpose, vocab.PURPOSES),
            duo_codes=[
                duo_term(str(iri)).code for iri in g.objects(node, DCTERMS.rights)
            ],
            coding_systems=self.iris(node, HEALTHDCATAP.hasCodingSystem),
            provenance=self.text(g.value(node, DCTERMS.provenance), RDFS.label),
            applicable_legislation=self.iris(series, DCATAP.applicableLegislation),
            issued=self.py(series, DCTERMS.issued),
        )

    def organization(self, node: Node) -> Organization:
        g = self.g
        contact = g.value(node, CV.contactPoint)
        ror = str(node) if str(node).startswith("https://ror.org/") else None
        homepage = g.value(node, FOAF.homepage)
        name = self.text(node, FOAF.name)
        return Organization(
            name=name,
            slug=self.organization_slug(node, name),
            ror=ror,
            homepage=None if homepage is None else str(homepage),
            contact=None if contact is None else self.contact(contact),
        )

    def organization_slug(self, node: Node, name: str) -> str | None:
        """The slug in a catalog organisation URI, unless the name implies it."""
        match = _ORG_SLUG.search(str(node))
        if match is None or match.group(1) == _slugify(name):
            return None
        return match.group(1)

    def person(self, node: Node) -> Person:
        affiliation = self.g.value(node, SDO.affiliation)
        return Person(
            given_name=self.text(node, FOAF.givenName),
            family_name=self.text(node, FOAF.familyName),
            orcid=str(node) if isinstance(node, URIRef) else None,
            affiliation=None if affiliation is None else self.organization(affiliation),
        )

    def creators(self, node: URIRef) -> list[Person | Organization]:
        attributions = sorted(
            self.g.objects(node, PROV.qualifiedAttribution),
            key=lambda a: int(self.g.value(a, SDO.position)),
        )
        creators = []
        for attribution in attributions:
            agent = self.g.value(attribution, PROV.agent)
            if (agent, RDF.type, FOAF.Person) in self.g:
                creators.append(self.person(agent))
            else:
                creators.append(self.organization(agent))
        return creators

    def contact(self, node: Node) -> ContactPoint:
        url = self.g.value(node, CV.contactPage)
        return ContactPoint(
            name=self.text(node, VCARD.fn),
            email=self.text(node, CV.email),
            url=None if url is None else str(url),
        )

    def policy(self, node: Node) -> Policy:
        return Policy(
            permissions=self.rules(node, ODRL2.permission),
            prohibitions=self.rules(node, ODRL2.prohibition),
            duties=self.rules(node, ODRL2.obligation),
        )

    def rules(self, node: Node, kind: URIRef) -> list[Rule]:
        rules = []
        for rule in self.g.objects(node, kind):
            action = str(self.g.value(rule, ODRL2.action))
            action = re.split(r"[/#]", action)[-1]
            purposes = [
                duo_term(str(iri)).code
                for constraint in self.g.objects(rule, ODRL2.constraint)
                for iri in self.g.objects(constraint, ODRL2.rightOperand)
            ]
            rules.append(Rule(action=action, purposes=purposes))
        return rules

    def release(self, node: URIRef) -> Release:
        g = self.g
        distributions = sorted(g.objects(node, DCAT.distribution), key=_index)
        activity = g.value(node, PROV.wasGeneratedBy)
        withdrawal = g.value(node, PROV.wasInvalidatedBy)
        group = g.value(node, HEALTHDCATAP.hasVariables)
        tables = (
            [] if group is None else sorted(g.objects(group, CSVW.table), key=_index)
        )
        return Release(
            version=self.version(node),
            identifier=self.text(node, DCTERMS.identifier),
            issued=self.py(node, DCTERMS.issued),
            modified=self.py(node, DCTERMS.modified),
            version_notes=self.text(node, ADMS.versionNotes),
            distributions=[self.distribution(d) for d in distributions],
            activity=None if activity is None else self.activity(node, activity),
            quality=[
                self.quality(q) for q in g.objects(node, DQV.hasQualityMeasurement)
            ],
            variables=[self.table(t) for t in tables],
            number_of_records=self.py(node, HEALTHDCATAP.numberOfRecords),
            number_of_unique_individuals=self.py(
                node, HEALTHDCATAP.numberOfUniqueIndividuals
            ),
            withdrawn=None if withdrawal is None else self.withdrawal(withdrawal),
        )

    def distribution(self, node: Node) -> Distribution:
        g = self.g
        standard = g.value(node, DCTERMS.conformsTo)
        download = g.value(node, DCAT.downloadURL)
        return Distribution(
            title=self.text(node, DCTERMS.title),
            description=self.text(node, DCTERMS.description),
            access_url=self.text(node, DCAT.accessURL),
            download_url=None if download is None else str(download),
            media_type=self.text(g.value(node, DCAT.mediaType), RDFS.label),
            byte_size=self.py(node, DCAT.byteSize),
            sha256=self.checksum(node),
            conforms_to=None
            if standard is None
            else self.text(standard, SKOS.notation),
        )

    def checksum(self, node: Node) -> str:
        checksum = self.g.value(node, SPDX.checksum)
        return str(self.g.value(checksum, SPDX.checksumValue)).lower()

    def activity(self, release: URIRef, node: Node) -> Activity:
        g = self.g
        parameters = {}
        seed = None
        for used in g.objects(node, PROV.used):
            fragment = str(used).rsplit("#", 1)[-1]
            if fragment == "seed" and str(used).startswith(str(release)):
                seed = self.py(used, PROV.value)
            elif fragment.startswith("parameter-") and str(used).startswith(
                str(release)
            ):
                parameters[self.text(used, RDFS.label)] = self.py(used, PROV.value)
        spec = URIRef(f"{release}#cohort-spec")
        engine = g.value(node, PROV.wasAssociatedWith)
        engine_url = g.value(engine, SDO.url)
        spec_url = g.value(spec, SDO.url)
        return Activity(
            label=self.text(node, RDFS.label),
            started=self.py(node, PROV.startedAtTime),
            ended=self.py(node, PROV.endedAtTime),
            cohort_spec=CohortSpec(
                title=self.text(spec, DCTERMS.title),
                sha256=self.checksum(spec),
                url=None if spec_url is None else str(spec_url),
            ),
            source_dataset=self.text(release, PROV.wasDerivedFrom),
            engine=SoftwareAgent(
                name=self.text(engine, FOAF.name),
                version=self.text(engine, SDO.softwareVersion),
                url=None if engine_url is None else str(engine_url),
            ),
            parameters=dict(sorted(parameters.items())),
            seed=seed,
        )

    def quality(self, node: Node) -> QualityMeasurement:
        metric = self.g.value(node, DQV.isMeasurementOf)
        dimension = self.g.value(metric, DQV.inDimension)
        return QualityMeasurement(
            metric=self.text(metric, SKOS.notation),
            dimension=self.text(dimension, SKOS.notation),
            value=self.py(node, DQV.value),
            definition=self.text(metric, SKOS.definition),
        )

    def table(self, node: Node) -> Table:
        columns = sorted(self.g.objects(node, CSVW.column), key=_index)
        url = self.g.value(node, CSVW.url)
        return Table(
            title=self.text(node, DCTERMS.title),
            url=None if url is None else str(url),
            columns=[self.column(c) for c in columns],
        )

    def column(self, node: Node) -> Column:
        property_url = self.g.value(node, CSVW.propertyUrl)
        return Column(
            name=self.text(node, CSVW.name),
            title=self.text(node, CSVW.title),
            description=self.text(node, DCTERMS.description),
            datatype=self.text(node, CSVW.datatype),
            property_url=None if property_url is None else str(property_url),
        )

    def withdrawal(self, node: Node) -> Withdrawal:
        return Withdrawal(
            reason=self.text(node, DCTERMS.description),
            at=self.py(node, PROV.endedAtTime),
        )


def _index(node: Node) -> int:
    """The trailing number of a fragment such as ``#distribution-3``."""
    return int(re.search(r"(\d+)$", str(node)).group(1))
