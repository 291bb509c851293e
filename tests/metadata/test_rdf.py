from __future__ import annotations

import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from metadata import jsonld
from metadata.namespaces import ADMS, DCAT, EU_DATASET_STATUS, PROV
from metadata.rdf import (
    RecordNotFound,
    catalog_graph,
    dataset_graph,
    dataset_triples,
    dataset_uri,
    ntriples,
    read_dataset,
    release_uri,
)


@pytest.fixture(scope="module")
def graph(dataset, releases, base_url):
    return dataset_graph(dataset, releases, base_url)


def test_model_to_jsonld_to_rdf_to_model_is_lossless(dataset, releases, base_url):
    document = jsonld.compact(dataset_graph(dataset, releases, base_url))
    graph = jsonld.to_graph(document)
    assert read_dataset(graph, dataset_uri(base_url, dataset.slug)) == (
        dataset,
        releases,
    )


def test_restricted_source_round_trips(restricted_source, base_url):
    source, source_releases = restricted_source
    graph = dataset_graph(source, source_releases, base_url)
    assert read_dataset(graph, dataset_uri(base_url, source.slug)) == (
        source,
        source_releases,
    )


@pytest.mark.parametrize("fmt", ["turtle", "xml", "nt"])
def test_serialisations_are_isomorphic(graph, fmt):
    text = graph.serialize(format=fmt)
    assert isomorphic(graph, Graph().parse(data=text, format=fmt))


def test_bulk_path_writes_the_same_graph(graph, dataset, releases, base_url):
    triples = dataset_triples(dataset, releases, base_url)
    assert isomorphic(graph, Graph().parse(data=ntriples(triples), format="nt"))
    assert isomorphic(graph, jsonld.to_graph(jsonld.expanded(triples)))


def test_versions_are_linked(graph, dataset, base_url):
    series = dataset_uri(base_url, dataset.slug)
    v1, v2 = (release_uri(base_url, dataset.slug, n) for n in (1, 2))
    assert set(graph.objects(series, DCAT.hasVersion)) == {v1, v2}
    assert (v2, DCAT.previousVersion, v1) in graph
    assert (series, DCAT.hasCurrentVersion, v2) in graph


def test_withdrawn_release_stays_as_a_tombstone(graph, dataset, base_url):
    v1 = release_uri(base_url, dataset.slug, 1)
    assert (v1, ADMS.status, EU_DATASET_STATUS.WITHDRAWN) in graph
    assert (v1, PROV.invalidatedAtTime, None) in graph
    downloads = [str(url) for url in graph.objects(None, DCAT.downloadURL)]
    assert downloads
    assert not [url for url in downloads if url.startswith(f"{v1}/")]


def test_reading_an_absent_dataset_says_so(graph, base_url):
    with pytest.raises(RecordNotFound, match="no-such"):
        read_dataset(graph, dataset_uri(base_url, "no-such"))


def test_catalog_lists_every_release(catalog, dataset, releases, base_url):
    graph = catalog_graph(catalog, [(dataset, releases)], base_url)
    listed = set(graph.objects(None, DCAT.dataset))
    assert listed == {release_uri(base_url, dataset.slug, r.version) for r in releases}
