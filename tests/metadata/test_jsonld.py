from __future__ import annotations

import pytest
from rdflib import URIRef
from rdflib.compare import isomorphic

from metadata import jsonld
from metadata.namespaces import RDF, SDO
from metadata.rdf import dataset_graph, release_uri
from metadata.schemaorg import dataset_jsonld


@pytest.fixture(scope="module")
def graph(dataset, releases, base_url):
    return dataset_graph(dataset, releases, base_url)


def test_compacted_document_uses_the_inline_context(graph):
    document = jsonld.compact(graph)
    assert isinstance(document["@context"], dict)
    assert document["@context"]["dcat"] == "http://www.w3.org/ns/dcat#"


def test_framed_release_embeds_its_distributions(graph, dataset, base_url):
    node = str(release_uri(base_url, dataset.slug, 2))
    framed = jsonld.frame(graph, node)
    assert framed["@id"] == node
    assert len(framed["distribution"]) == 2
    assert isomorphic(jsonld.to_graph(framed), graph)


@pytest.mark.parametrize(
    "context",
    [
        "https://schema.org/",
        ["https://w3id.org/cardiofair/context/v1", "http://x.org/c"],
    ],
)
def test_remote_contexts_are_refused(context):
    with pytest.raises(jsonld.RemoteContextRefused, match="not bundled"):
        jsonld.to_graph({"@context": context, "@id": "http://x.org/a", "name": "a"})


def test_the_bundled_context_is_served_by_url():
    document = {
        "@context": jsonld.CONTEXT_URL,
        "@id": "http://x.org/a",
        "title": "A title",
    }
    graph = jsonld.to_graph(document)
    assert len(graph) == 1


def test_schemaorg_is_readable_offline(dataset, releases, base_url):
    document = dataset_jsonld(dataset, releases[1], base_url)
    graph = jsonld.to_graph(document)
    node = URIRef(f"https://doi.org/{releases[1].identifier}")
    assert (node, RDF.type, SDO.Dataset) in graph
    assert str(graph.value(node, SDO.version)) == "2"
    assert len(list(graph.objects(node, SDO.creator))) == 2
    assert str(graph.value(node, SDO.license)) == "http://spdx.org/licenses/CC-BY-4.0"


def test_schemaorg_of_a_withdrawn_release_lists_no_download(dataset, releases):
    document = dataset_jsonld(dataset, releases[0])
    assert document["creativeWorkStatus"] == "Withdrawn"
    assert document["distribution"] == []


def test_schemaorg_of_the_concept_has_no_version(dataset):
    document = dataset_jsonld(dataset)
    assert "version" not in document
    assert document["@id"] == f"https://doi.org/{dataset.identifier}"
