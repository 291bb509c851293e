from __future__ import annotations

import pytest
from lxml import etree

from metadata import datacite, dublincore, xsd


def test_every_release_is_valid_datacite(dataset, releases):
    for release in releases:
        xsd.validate(datacite.release_xml(dataset, release, releases), "datacite")


def test_concept_is_valid_datacite_and_lists_its_versions(dataset, releases):
    xml = datacite.concept_xml(dataset, releases)
    xsd.validate(xml, "datacite")
    root = etree.fromstring(xml)
    related = root.findall(f".//{{{datacite.NS}}}relatedIdentifier")
    assert [r.text for r in related] == [r.identifier for r in releases]
    assert {r.get("relationType") for r in related} == {"HasVersion"}


def test_withdrawn_release_carries_its_withdrawal_date(dataset, releases):
    root = etree.fromstring(datacite.release_xml(dataset, releases[0], releases))
    kinds = [d.get("dateType") for d in root.iter(f"{{{datacite.NS}}}date")]
    assert "Withdrawn" in kinds


def test_oai_dc_is_valid_for_release_and_concept(dataset, releases):
    for release in [*releases, None]:
        xsd.validate(dublincore.oai_dc_xml(dataset, release), "oai_dc")


def test_an_invalid_record_is_reported(dataset, releases):
    root = etree.fromstring(datacite.release_xml(dataset, releases[1], releases))
    title = root.find(f".//{{{datacite.NS}}}titles")
    title.getparent().remove(title)
    with pytest.raises(xsd.XmlInvalid, match="titles"):
        xsd.validate(root, "datacite")


def test_unknown_schema_is_refused():
    with pytest.raises(ValueError, match="mods"):
        xsd.schema("mods")
