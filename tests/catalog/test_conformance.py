"""Publish-time SHACL validation in a child process."""

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF

from catalog.conformance import violations
from metadata import examples, rdf


def test_a_conforming_record_has_no_violations_and_a_broken_one_has():
    dataset = examples.example_dataset(0)
    good = rdf.dataset_graph(
        dataset, [examples.example_release(dataset, 1)], examples.EXAMPLE_BASE
    )
    bad = Graph()
    node = URIRef("https://example.org/dataset/broken")
    bad.add((node, RDF.type, DCAT.Dataset))
    bad.add((node, DCTERMS.identifier, Literal("broken")))
    found = violations(good.serialize(format="nt"), ["dcat-ap-3.0.1"])
    assert found == {"dcat-ap-3.0.1": []}
    found = violations(bad.serialize(format="nt"), ["dcat-ap-3.0.1"])
    assert any("title" in message for message in found["dcat-ap-3.0.1"])
