"""Simple Dublin Core (``oai_dc``) records for OAI-PMH harvesters."""

from __future__ import annotations

import logging

from lxml import etree

from metadata.licences import spdx_licence
from metadata.model import Dataset, Person, Release

log = logging.getLogger(__name__)

OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC = "http://purl.org/dc/elements/1.1/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
LOCATION = f"{OAI_DC} http://www.openarchives.org/OAI/2.0/oai_dc.xsd"


def oai_dc_element(dataset: Dataset, release: Release | None = None) -> etree._Element:
    """The ``oai_dc:dc`` element of a release, or of the concept if ``release`` is None.

    The catalog embeds this element in OAI-PMH ``metadata``.
    """
    root = etree.Element(
        f"{{{OAI_DC}}}dc", nsmap={"oai_dc": OAI_DC, "dc": DC, "xsi": XSI}
    )
    root.set(f"{{{XSI}}}schemaLocation", LOCATION)

    def add(tag: str, text: str) -> None:
        etree.SubElement(root, f"{{{DC}}}{tag}").text = text

    title = (
        dataset.title
        if release is None
        else f"{dataset.title} (version {release.version})"
    )
    add("title", title)
    for agent in dataset.creators:
        if isinstance(agent, Person):
            add("creator", f"{agent.family_name}, {agent.given_name}")
        else:
            add("creator", agent.name)
    for keyword in dataset.keywords:
        add("subject", keyword)
    add("description", dataset.description)
    if release is not None:
        add("description", release.version_notes)
        if release.withdrawn:
            add("description", f"Withdrawn: {release.withdrawn.reason}")
    add("publisher", dataset.publisher.name)
    if release is not None:
        add("date", release.issued.date().isoformat())
    elif dataset.issued is not None:
        add("date", dataset.issued.date().isoformat())
    add("type", "Dataset")
    if release is not None:
        for media_type in sorted({d.media_type for d in release.distributions}):
            add("format", media_type)
    identifier = dataset.identifier if release is None else release.identifier
    add("identifier", f"https://doi.org/{identifier}")
    if release is not None:
        add("relation", f"https://doi.org/{dataset.identifier}")
    add("language", "en")
    licence = spdx_licence(dataset.licence.spdx_id)
    add("rights", f"{licence.name} ({licence.uri})")
    return root


def oai_dc_xml(dataset: Dataset, release: Release | None = None) -> bytes:
    """The ``oai_dc`` record as UTF-8 XML bytes."""
    return etree.tostring(
        oai_dc_element(dataset, release), xml_declaration=True, encoding="UTF-8"
    )
