"""SPARQL 1.1 Protocol driven by SPARQLWrapper, and its refusals."""

from __future__ import annotations

import csv
import io
import threading
import time

import httpx
import pytest
import rdflib
from pyoxigraph import RdfFormat, parse
from SPARQLWrapper import CSV, JSON, JSONLD, N3, POST, TSV, TURTLE, XML, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

from tests.harvest.conftest import SPARQL_ROW_LIMIT, SPARQL_TIMEOUT_S

DATASETS = """
PREFIX dcat: <http://www.w3.org/ns/dcat#>
PREFIX dct: <http://purl.org/dc/terms/>
SELECT ?dataset ?title WHERE {
  ?dataset a dcat:DatasetSeries ; dct:title ?title ; dcat:hasVersion ?release .
} GROUP BY ?dataset ?title ORDER BY ?dataset
"""
ASK_WITHDRAWN = """
PREFIX adms: <http://www.w3.org/ns/adms#>
ASK { ?release adms:status ?status }
"""
CONSTRUCT = """
PREFIX dcat: <http://www.w3.org/ns/dcat#>
PREFIX dct: <http://purl.org/dc/terms/>
CONSTRUCT { ?d dct:title ?t } WHERE { ?d a dcat:Dataset ; dct:title ?t }
"""
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


def _client(service, fmt, method):
    client = SPARQLWrapper(f"{service.base}/sparql")
    client.setReturnFormat(fmt)
    client.setMethod(method)
    return client


def _rows(fmt, result) -> list:
    if fmt == JSON:
        return result["results"]["bindings"]
    if fmt == XML:
        return result.getElementsByTagName("result")
    text = result.decode()
    delimiter = "," if fmt == CSV else "\t"
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))[1:]


@pytest.mark.parametrize("method", ["GET", POST])
@pytest.mark.parametrize("fmt", [JSON, XML, CSV, TSV])
def test_select_in_every_result_format(service, fmt, method):
    client = _client(service, fmt, method)
    client.setQuery(DATASETS)
    rows = _rows(fmt, client.queryAndConvert())
    assert len(rows) == len(service.populated.datasets)


@pytest.mark.parametrize("method", ["GET", POST])
@pytest.mark.parametrize("fmt", [JSON, XML])
def test_ask_in_json_and_xml(service, fmt, method):
    client = _client(service, fmt, method)
    client.setQuery(ASK_WITHDRAWN)
    result = client.queryAndConvert()
    value = (
        result["boolean"]
        if fmt == JSON
        else result.getElementsByTagName("boolean")[0].firstChild.data == "true"
    )
    assert value is True


@pytest.mark.parametrize("method", ["GET", POST])
@pytest.mark.parametrize("fmt", [TURTLE, N3, XML, JSONLD])
def test_construct_in_every_rdf_format(service, fmt, method):
    client = _client(service, fmt, method)
    client.setQuery(CONSTRUCT)
    # Read the raw answer and parse it with pyoxigraph: SPARQLWrapper's RDF
    # conversion and rdflib's JSON-LD parser build a ConjunctiveGraph, which
    # rdflib 7 deprecates (a warning, hence an error here).
    raw = client.query().response.read()
    parse_as = {
        TURTLE: RdfFormat.TURTLE,
        N3: RdfFormat.TURTLE,
        XML: RdfFormat.RDF_XML,
        JSONLD: RdfFormat.JSON_LD,
    }[fmt]
    titles = {quad.subject for quad in parse(raw, format=parse_as)}
    assert len(titles) >= len(service.populated.datasets)


def test_describe_gives_the_dataset(service):
    uri = f"{service.settings.base_url}/dataset/{service.populated.datasets[0]}"
    response = httpx.get(
        f"{service.base}/sparql",
        params={"query": f"DESCRIBE <{uri}>"},
        headers={"Accept": "application/n-triples"},
    )
    assert response.status_code == 200
    graph = rdflib.Graph().parse(data=response.text, format="nt")
    assert (rdflib.URIRef(uri), None, None) in graph


def test_post_of_a_raw_query(service):
    response = httpx.post(
        f"{service.base}/sparql",
        content=ASK_WITHDRAWN,
        headers={
            "Content-Type": "application/sparql-query",
            "Accept": "application/sparql-results+json",
        },
    )
    assert response.json()["boolean"] is True


def test_row_limit_cuts_the_results_and_says_so(service):
    response = httpx.get(
        f"{service.base}/sparql",
        params={"query": "SELECT * WHERE { ?s ?p ?o }"},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert len(response.json()["results"]["bindings"]) == SPARQL_ROW_LIMIT
    assert response.headers["X-Row-Limit"] == str(SPARQL_ROW_LIMIT)


@pytest.mark.parametrize(
    ("params", "content_type", "body", "status", "words"),
    [
        ({"query": "SELEC ?x"}, None, None, 400, "malformed SPARQL query"),
        ({}, None, None, 400, "missing the 'query' parameter"),
        ({"query": "INSERT DATA { <a:b> <a:c> <a:d> }"}, None, None, 400, "read-only"),
        ({"update": "CLEAR ALL"}, None, None, 400, "read-only"),
        (
            {"query": "SELECT * { SERVICE <http://127.0.0.1:9/s> { ?s ?p ?o } }"},
            None,
            None,
            400,
            "SERVICE",
        ),
        ({}, "application/sparql-update", "CLEAR ALL", 400, "read-only"),
        ({}, "text/plain", "ASK {}", 415, "unsupported Content-Type"),
        ({"query": ["ASK {}", "ASK {}"]}, None, None, 400, "given 2 times"),
    ],
    ids=[
        "malformed query",
        "no query",
        "update as query",
        "update parameter",
        "federated query",
        "update by POST",
        "unknown body type",
        "query given twice",
    ],
)
def test_bad_requests_get_a_readable_error(
    service, params, content_type, body, status, words
):
    if body is None:
        response = httpx.get(f"{service.base}/sparql", params=params)
    else:
        response = httpx.post(
            f"{service.base}/sparql",
            params=params,
            content=body,
            headers={"Content-Type": content_type},
        )
    assert response.status_code == status
    assert words in response.text


def test_sparqlwrapper_sees_a_malformed_query_as_bad_format(service):
    client = _client(service, JSON, "GET")
    client.setQuery("SELECT ?x WHERE { ?x")
    with pytest.raises(QueryBadFormed):
        client.query()


def test_unacceptable_format_is_406_listing_the_choices(service):
    response = httpx.get(
        f"{service.base}/sparql",
        params={"query": "ASK {}"},
        headers={"Accept": "image/png"},
    )
    assert response.status_code == 406
    assert "application/sparql-results+json" in response.text


def test_runaway_query_is_stopped_while_other_requests_are_served(service):
    outcome = {}

    def runaway():
        started = time.monotonic()
        response = httpx.get(
            f"{service.base}/sparql", params={"query": RUNAWAY}, timeout=60
        )
        outcome["status"] = response.status_code
        outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=runaway)
    thread.start()
    time.sleep(0.3)
    served = []
    while thread.is_alive():
        started = time.monotonic()
        answer = httpx.get(
            f"{service.base}/oai", params={"verb": "Identify"}, timeout=5
        )
        assert answer.status_code == 200
        served.append(time.monotonic() - started)
        time.sleep(0.1)
    thread.join()
    assert outcome["status"] == 503
    assert SPARQL_TIMEOUT_S <= outcome["seconds"] < SPARQL_TIMEOUT_S + 5
    assert served and max(served) < 1.0
    after = httpx.get(
        f"{service.base}/sparql",
        params={"query": ASK_WITHDRAWN},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert after.json()["boolean"] is True
