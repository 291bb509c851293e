from __future__ import annotations

import math

import pyoxigraph
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic

from metadata import jsonld
from metadata.namespaces import ADMS, DCAT, DCTERMS, DQV, EU_DATASET_STATUS, PROV, XSD
from metadata.rdf import (
    RecordNotFound,
    catalog_graph,
    dataset_graph,
    dataset_triples,
    dataset_uri,
    nquads,
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


LITERALS = st.one_of(
    st.builds(Literal, st.text()),
    st.builds(
        Literal,
        st.text(),
        lang=st.sampled_from(["en", "de", "fr"]),
    ),
    st.builds(Literal, st.integers()),
    st.builds(Literal, st.booleans()),
    st.builds(Literal, st.floats(allow_nan=False, allow_infinity=False)),
    st.builds(Literal, st.text(), datatype=st.just(XSD.token)),
)


@given(LITERALS)
def test_ntriples_writes_every_literal_on_one_line_as_the_parsers_read_it(literal):
    triple = (URIRef("https://example.org/a"), DCTERMS.description, literal)
    text = ntriples([triple])
    assert text.count("\n") == 1
    (quad,) = pyoxigraph.parse(text.encode(), format=pyoxigraph.RdfFormat.N_TRIPLES)
    assert quad.object.value == str(literal)
    assert quad.object.language == literal.language
    assert set(Graph().parse(data=text, format="nt")) == {triple}


@pytest.mark.parametrize(
    ("value", "lexical"), [(math.inf, "INF"), (-math.inf, "-INF"), (math.nan, "NaN")]
)
def test_ntriples_writes_special_doubles_in_xml_schema_words(value, lexical):
    text = ntriples([(URIRef("https://example.org/a"), DQV.value, Literal(value))])
    (quad,) = pyoxigraph.parse(text.encode(), format=pyoxigraph.RdfFormat.N_TRIPLES)
    assert quad.object.value == lexical
    assert quad.object.datatype.value == str(XSD.double)


def test_nquads_puts_the_triples_in_the_named_graph(graph):
    text = nquads(graph, "https://example.org/graph")
    quads = list(pyoxigraph.parse(text.encode(), format=pyoxigraph.RdfFormat.N_QUADS))
    assert len(quads) == len(graph)
    assert {q.graph_name.value for q in quads} == {"https://example.org/graph"}


def test_ntriples_refuses_an_iri_it_cannot_hold():
    bad = URIRef("https://example.org/a b")
    with pytest.raises(ValueError, match="'https://example.org/a b' is not an IRI"):
        ntriples([(bad, DCTERMS.title, Literal("x"))])
