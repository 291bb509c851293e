"""schema.org ``Dataset`` JSON-LD for landing pages, with an inline context.

The context is inline (``@vocab`` schema.org) rather than the remote
``https://schema.org/`` URL, so offline readers such as F-UJI and our own
:func:`metadata.jsonld.to_graph` understand it without fetching anything.
"""

from __future__ import annotations

import logging
from typing import Any

from metadata.licences import describe_duo, describe_policy, spdx_licence
from metadata.model import Dataset, Organization, Person, Release

log = logging.getLogger(__name__)

INLINE_CONTEXT = {"@vocab": "https://schema.org/", "@language": "en"}


def _doi_url(identifier: str) -> str:
    return f"https://doi.org/{identifier}"


def _organization(org: Organization) -> dict[str, Any]:
    node: dict[str, Any] = {"@type": "Organization", "name": org.name}
    if org.ror:
        node["@id"] = org.ror
        node["identifier"] = org.ror
    if org.homepage:
        node["url"] = org.homepage
    return node


def _agent(agent: Person | Organization) -> dict[str, Any]:
    if isinstance(agent, Organization):
        return _organization(agent)
    node: dict[str, Any] = {
        "@type": "Person",
        "name": agent.name,
        "givenName": agent.given_name,
        "familyName": agent.family_name,
    }
    if agent.orcid:
        node["@id"] = agent.orcid
        node["identifier"] = agent.orcid
    if agent.affiliation:
        node["affiliation"] = _organization(agent.affiliation)
    return node


def dataset_jsonld(
    dataset: Dataset, release: Release | None = None, base_url: str | None = None
) -> dict[str, Any]:
    """schema.org JSON-LD of a release, or of the concept if ``release`` is None.

    Parameters
    ----------
    dataset : Dataset
        The concept.
    release : Release, optional
        The release the landing page shows.
    base_url : str, optional
        The catalog's base URL, for ``url`` (the landing page); the ``@id`` is
        always the DOI URL.
    """
    identifier = dataset.identifier if release is None else release.identifier
    licence = spdx_licence(dataset.licence.spdx_id)
    doc: dict[str, Any] = {
        "@context": dict(INLINE_CONTEXT),
        "@type": "Dataset",
        "@id": _doi_url(identifier),
        "identifier": {
            "@type": "PropertyValue",
            "propertyID": "DOI",
            "value": identifier,
            "url": _doi_url(identifier),
        },
        "name": dataset.title,
        "description": dataset.description,
        "keywords": list(dataset.keywords),
        "creator": [_agent(agent) for agent in dataset.creators],
        "publisher": _organization(dataset.publisher),
        "license": str(licence.uri),
        "isAccessibleForFree": dataset.access_rights == "PUBLIC",
        "conditionsOfAccess": _conditions(dataset),
    }
    if base_url is not None:
        path = f"{base_url.rstrip('/')}/dataset/{dataset.slug}"
        doc["url"] = path if release is None else f"{path}/v{release.version}"
    if release is None:
        return doc
    doc.update(_release_fields(dataset, release))
    return doc


def _conditions(dataset: Dataset) -> str:
    words = [describe_duo(dataset.duo_codes)]
    if dataset.policy is not None:
        words.insert(0, describe_policy(dataset.policy))
    return " ".join(words)


def _release_fields(dataset: Dataset, release: Release) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "version": str(release.version),
        "datePublished": release.issued.isoformat(),
        "dateModified": release.modified.isoformat(),
        "isPartOf": {"@id": _doi_url(dataset.identifier), "@type": "Dataset"},
        "distribution": [
            {
                "@type": "DataDownload",
                "name": dist.title,
                "contentUrl": dist.download_url or dist.access_url,
                "encodingFormat": dist.media_type,
                "contentSize": f"{dist.byte_size} B",
                "sha256": dist.sha256,
            }
            for dist in release.distributions
        ],
        "variableMeasured": [
            {"@type": "PropertyValue", "name": col.name, "description": col.description}
            for table in release.variables
            for col in table.columns
        ],
        "measurementTechnique": "computer simulation",
    }
    if release.withdrawn:
        fields["creativeWorkStatus"] = "Withdrawn"
        fields["distribution"] = []
    return fields
