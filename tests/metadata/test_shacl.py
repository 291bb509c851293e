"""Every record the tests produce must have 0 violations; the shapes must bite."""

from __future__ import annotations

import pytest
from rdflib import Literal

from metadata import shacl
from metadata.namespaces import DCTERMS, HEALTHDCATAP, XSD
from metadata.rdf import catalog_graph, dataset_graph, release_uri


@pytest.fixture(scope="module")
def published(dataset, releases, base_url):
    return dataset_graph(dataset, releases, base_url)


@pytest.mark.parametrize("profile", ["dcat-ap-3.0.1", "healthdcat-ap-r8"])
def test_published_synthetic_dataset_conforms(published, profile):
    assert shacl.violations(published, profile) == []


@pytest.mark.parametrize("profile", ["dcat-ap-3.0.1", "healthdcat-ap-r5"])
def test_restricted_source_conforms(restricted_source, base_url, profile):
    source, source_releases = restricted_source
    graph = dataset_graph(source, source_releases, base_url)
    assert shacl.violations(graph, profile) == []


@pytest.mark.parametrize("profile", ["dcat-ap-3.0.1", "healthdcat-ap-r8"])
def test_catalog_conforms(catalog, dataset, releases, base_url, profile):
    graph = catalog_graph(catalog, [(dataset, releases)], base_url)
    conforms, report = shacl.validate(graph, profile)
    assert conforms, report


def test_a_missing_title_is_a_violation(published, dataset, base_url):
    broken = published.__class__() + published
    broken.remove((release_uri(base_url, dataset.slug, 2), DCTERMS.title, None))
    messages = shacl.violations(broken, "dcat-ap-3.0.1")
    assert any(str(DCTERMS.title) in m for m in messages)


def test_restricted_access_fails_the_public_profile(restricted_source, base_url):
    source, source_releases = restricted_source
    graph = dataset_graph(source, source_releases, base_url)
    messages = shacl.violations(graph, "healthdcat-ap-r8")
    assert any(str(DCTERMS.accessRights) in m for m in messages)


def test_restated_structured_data_rule_still_applies(published, dataset, base_url):
    broken = published.__class__() + published
    node = release_uri(base_url, dataset.slug, 2)
    broken.remove((node, HEALTHDCATAP.hasVariables, None))
    assert (node, HEALTHDCATAP.hasStructuredData, Literal(True)) in broken
    assert shacl.violations(broken, "healthdcat-ap-r8")


def test_typical_age_must_be_a_non_negative_integer(published, dataset, base_url):
    broken = published.__class__() + published
    node = release_uri(base_url, dataset.slug, 2)
    broken.set((node, HEALTHDCATAP.minTypicalAge, Literal("18", datatype=XSD.string)))
    messages = shacl.violations(broken, "healthdcat-ap-r8")
    assert any(str(HEALTHDCATAP.minTypicalAge) in m for m in messages)


def test_unknown_profile_is_refused():
    with pytest.raises(shacl.UnknownProfile, match="dcat-ap-9"):
        shacl.shapes_graph("dcat-ap-9")


def test_profile_follows_access_rights():
    assert shacl.profile_for("PUBLIC") == "healthdcat-ap-r8"
    assert shacl.profile_for("NON_PUBLIC") == "healthdcat-ap-r5"
