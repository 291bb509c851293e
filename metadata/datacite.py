"""DataCite Metadata Schema kernel 4 XML for a release or a dataset concept.

The output validates against the bundled ``metadata.xsd`` (see
:func:`metadata.xsd.validate`). A release is related to its concept with
``IsVersionOf`` and to its neighbours with ``IsNewVersionOf`` /
``IsPreviousVersionOf``; the concept lists its releases with ``HasVersion``.
"""

from __future__ import annotations

import logging

from lxml import etree

from metadata.licences import spdx_licence
from metadata.model import Dataset, Organization, Person, Release

log = logging.getLogger(__name__)

NS = "http://datacite.org/schema/kernel-4"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
LOCATION = f"{NS} http://schema.datacite.org/meta/kernel-4/metadata.xsd"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def _el(parent, tag: str, text: str | None = None, **attrs) -> etree._Element:
    element = etree.SubElement(
        parent, f"{{{NS}}}{tag}", {k: v for k, v in attrs.items() if v}
    )
    if text is not None:
        element.text = text
    return element


def _root() -> etree._Element:
    root = etree.Element(f"{{{NS}}}resource", nsmap={None: NS, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", LOCATION)
    return root


def _creator(parent, agent: Person | Organization) -> None:
    creator = _el(parent, "creator")
    if isinstance(agent, Person):
        name = f"{agent.family_name}, {agent.given_name}"
        _el(creator, "creatorName", name, nameType="Personal")
        _el(creator, "givenName", agent.given_name)
        _el(creator, "familyName", agent.family_name)
        if agent.orcid:
            _el(
                creator,
                "nameIdentifier",
                agent.orcid,
                nameIdentifierScheme="ORCID",
                schemeURI="https://orcid.org",
            )
        if agent.affiliation:
            _affiliation(creator, agent.affiliation)
    else:
        _el(creator, "creatorName", agent.name, nameType="Organizational")
        if agent.ror:
            _el(
                creator,
                "nameIdentifier",
                agent.ror,
                nameIdentifierScheme="ROR",
                schemeURI="https://ror.org",
            )


def _affiliation(parent, org: Organization) -> None:
    if org.ror:
        _el(
            parent,
            "affiliation",
            org.name,
            affiliationIdentifier=org.ror,
            affiliationIdentifierScheme="ROR",
            schemeURI="https://ror.org",
        )
    else:
        _el(parent, "affiliation", org.name)


def _common(root, dataset: Dataset, year: int) -> None:
    creators = _el(root, "creators")
    for agent in dataset.creators:
        _creator(creators, agent)
    titles = _el(root, "titles")
    _el(titles, "title", dataset.title, **{XML_LANG: "en"})
    publisher = dataset.publisher
    _el(
        root,
        "publisher",
        publisher.name,
        publisherIdentifier=publisher.ror,
        publisherIdentifierScheme="ROR" if publisher.ror else None,
        schemeURI="https://ror.org" if publisher.ror else None,
    )
    _el(root, "publicationYear", str(year))
    _el(root, "resourceType", "Synthetic data", resourceTypeGeneral="Dataset")
    subjects = _el(root, "subjects")
    for keyword in dataset.keywords:
        _el(subjects, "subject", keyword)
    _el(root, "language", "en")
    rights_list = _el(root, "rightsList")
    licence = spdx_licence(dataset.licence.spdx_id)
    _el(
        rights_list,
        "rights",
        licence.name,
        rightsURI=str(licence.uri),
        rightsIdentifier=licence.id.lower(),
        rightsIdentifierScheme="SPDX",
        schemeURI="https://spdx.org/licenses/",
    )
    descriptions = _el(root, "descriptions")
    _el(descriptions, "description", dataset.description, descriptionType="Abstract")


def release_xml(dataset: Dataset, release: Release, releases: list[Release]) -> bytes:
    """DataCite XML of one release.

    Parameters
    ----------
    dataset : Dataset
        The concept the release belongs to.
    release : Release
        The release described.
    releases : list of Release
        All releases of the dataset, to link the neighbours of ``release``.
    """
    root = _root()
    _el(root, "identifier", release.identifier, identifierType="DOI")
    _common(root, dataset, release.year)
    dates = _el(root, "dates")
    _el(dates, "date", release.issued.date().isoformat(), dateType="Issued")
    _el(dates, "date", release.modified.date().isoformat(), dateType="Updated")
    if release.withdrawn:
        _el(
            dates, "date", release.withdrawn.at.date().isoformat(), dateType="Withdrawn"
        )
    related = _el(root, "relatedIdentifiers")
    _el(
        related,
        "relatedIdentifier",
        dataset.identifier,
        relatedIdentifierType="DOI",
        relationType="IsVersionOf",
    )
    earlier = [r for r in releases if r.version < release.version]
    later = [r for r in releases if r.version > release.version]
    neighbours = (
        (max(earlier, key=lambda r: r.version) if earlier else None, "IsNewVersionOf"),
        (min(later, key=lambda r: r.version) if later else None, "IsPreviousVersionOf"),
    )
    for neighbour, relation in neighbours:
        if neighbour is not None:
            _el(
                related,
                "relatedIdentifier",
                neighbour.identifier,
                relatedIdentifierType="DOI",
                relationType=relation,
            )
    sizes = _el(root, "sizes")
    formats = _el(root, "formats")
    for dist in release.distributions:
        _el(sizes, "size", f"{dist.byte_size} bytes")
        _el(formats, "format", dist.media_type)
    _el(root, "version", str(release.version))
    descriptions = root.find(f"{{{NS}}}descriptions")
    _el(descriptions, "description", release.version_notes, descriptionType="Other")
    if release.withdrawn:
        note = f"Withdrawn: {release.withdrawn.reason}"
        _el(descriptions, "description", note, descriptionType="Other")
    return _bytes(root)


def concept_xml(dataset: Dataset, releases: list[Release]) -> bytes:
    """DataCite XML of the concept (all versions), linking every release."""
    root = _root()
    _el(root, "identifier", dataset.identifier, identifierType="DOI")
    years = [r.year for r in releases]
    year = min(years) if years else (dataset.issued.year if dataset.issued else None)
    if year is None:
        raise ValueError(
            f"dataset {dataset.slug!r}: a concept DOI needs a publication year; "
            "give the dataset an issued date or at least one release"
        )
    _common(root, dataset, year)
    if releases:
        related = _el(root, "relatedIdentifiers")
        for release in sorted(releases, key=lambda r: r.version):
            _el(
                related,
                "relatedIdentifier",
                release.identifier,
                relatedIdentifierType="DOI",
                relationType="HasVersion",
            )
    return _bytes(root)


def _bytes(root: etree._Element) -> bytes:
    return etree.tostring(
        root, xml_declaration=True, encoding="UTF-8", pretty_print=True
    )
