"""Reading what remote SPARQL stores send back, from answers captured from
Virtuoso 7.2 and the oxigraph server (the live stores are exercised in
``tests/harvest/test_triples.py``)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import httpx
import pyoxigraph
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from catalog.remote_store import RemoteStore, TripleStoreError
from catalog.sparql_engine import (
    VIRTUOSO_DESCRIBE,
    QueryFailed,
    QueryJob,
    QueryRefused,
    QueryTimeout,
    RemoteRunner,
)
from catalog.sparql_results import blank_label

VIRTUOSO = {"Server": "Virtuoso/07.20.3229 (Linux) x86_64-pc-linux-gnu"}
XSD = "http://www.w3.org/2001/XMLSchema#"
VIRTUOSO_SELECT = {
    "head": {"link": [], "vars": ["s", "o"]},
    "results": {
        "distinct": False,
        "ordered": True,
        "bindings": [
            {
                "s": {"type": "bnode", "value": "nodeID://b10000"},
                "o": {
                    "type": "typed-literal",
                    "datatype": XSD + "boolean",
                    "value": "0",
                },
            },
            {
                "s": {"type": "uri", "value": "http://example.org/s"},
                "o": {
                    "type": "typed-literal",
                    "datatype": XSD + "integer",
                    "value": "12",
                },
            },
            {"s": {"type": "uri", "value": "http://example.org/s"}},
        ],
    },
}


def _runner(handler) -> RemoteRunner:
    runner = RemoteRunner("http://store.example/sparql")
    runner._client = httpx.Client(transport=httpx.MockTransport(handler))
    return runner


def _json(document: dict, status: int = 200, headers=None):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status,
            content=json.dumps(document).encode(),
            headers={
                "Content-Type": "application/sparql-results+json",
                **(headers or {}),
            },
        )

    return handler


def _select(form: str = "select", fmt: str = "json") -> QueryJob:
    return QueryJob("SELECT * WHERE { ?s ?o ?p }", form, fmt, row_limit=100)


def test_virtuoso_typed_literals_blank_nodes_and_booleans_are_read():
    answer = _runner(_json(VIRTUOSO_SELECT)).run(_select(), 5.0)
    rows = json.loads(answer.body)["results"]["bindings"]
    assert rows[0]["s"] == {"type": "bnode", "value": blank_label("nodeID://b10000")}
    assert rows[0]["o"] == {
        "type": "literal",
        "value": "false",
        "datatype": XSD + "boolean",
    }
    assert rows[1]["o"] == {
        "type": "literal",
        "value": "12",
        "datatype": XSD + "integer",
    }
    assert rows[2] == {"s": {"type": "uri", "value": "http://example.org/s"}}
    assert not answer.truncated


@pytest.mark.parametrize(
    ("bindings", "expected"),
    [
        ([{"__ASK_RETVAL": {"type": "typed-literal", "value": "1"}}], True),
        ([], False),
    ],
    ids=["one row is true", "no row is false"],
)
def test_virtuoso_ask_tables_become_booleans(bindings, expected):
    document = {"head": {"vars": ["__ASK_RETVAL"]}, "results": {"bindings": bindings}}
    answer = _runner(_json(document)).run(_select("ask"), 5.0)
    assert json.loads(answer.body) == {"head": {}, "boolean": expected}


def test_an_answer_cut_at_the_stores_row_limit_is_marked_truncated():
    handler = _json(VIRTUOSO_SELECT, headers={"X-SPARQL-MaxRows": "3"})
    assert _runner(handler).run(_select(), 5.0).truncated


def test_an_answer_the_store_stopped_at_its_own_time_limit_is_a_timeout():
    headers = {
        "X-SQL-State": "S1TAT",
        "X-SQL-Message": "RC...: Returning incomplete results, query interrupted",
    }
    with pytest.raises(QueryTimeout, match="stopped the query at its own time limit"):
        _runner(_json(VIRTUOSO_SELECT, headers=headers)).run(_select(), 5.0)


def test_a_query_the_store_refuses_is_refused_with_its_reason():
    def handler(request):
        return httpx.Response(
            400, text="Virtuoso 37000 Error SP030: SPARQL compiler, line 2: syntax"
        )

    with pytest.raises(QueryRefused, match="SP030"):
        _runner(handler).run(_select(), 5.0)


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(500, text="SR325: transaction aborted"), "answered 500"),
        (httpx.Response(200, text="<html>busy</html>"), "not JSON"),
        (httpx.Response(200, json={"head": {}}), "lacks the head or results"),
        (httpx.Response(200, json={"boolean": True}), "answered a SELECT query"),
    ],
    ids=["a server error", "html", "no results", "a boolean for a select"],
)
def test_a_failing_or_unreadable_answer_is_a_failure(response, expected):
    with pytest.raises(QueryFailed, match=expected):
        _runner(lambda request: response).run(_select(), 5.0)


def test_a_graph_in_a_format_we_cannot_read_is_a_failure():
    def handler(request):
        return httpx.Response(200, text="{}", headers={"Content-Type": "text/x-nquads"})

    job = QueryJob("CONSTRUCT WHERE { ?s ?p ?o }", "graph", "turtle", 100)
    with pytest.raises(QueryFailed, match="expected one of application/n-triples"):
        _runner(handler).run(job, 5.0)


def test_an_unreachable_store_is_a_failure_and_a_slow_one_a_timeout():
    def refuse(request):
        raise httpx.ConnectError("connection refused")

    def stall(request):
        raise httpx.ReadTimeout("timed out")

    with pytest.raises(QueryFailed, match="unreachable"):
        _runner(refuse).run(_select(), 5.0)
    with pytest.raises(QueryTimeout, match="ran longer than 0.5 s"):
        _runner(stall).run(_select(), 0.5)


def _graph_server(server: str, seen: list[str]):
    def handler(request: httpx.Request) -> httpx.Response:
        query = parse_qs(request.content.decode())["query"][0]
        seen.append(query)
        if query.startswith("ASK"):
            return httpx.Response(
                200, json={"boolean": True}, headers={"Server": server}
            )
        body = b"<http://example.org/s>\t<http://example.org/p>\t_:b10000 .\n"
        headers = {"Content-Type": "text/plain; charset=UTF-8", "Server": server}
        return httpx.Response(200, content=body, headers=headers)

    return handler


@pytest.mark.parametrize(
    ("server", "pragma"),
    [(VIRTUOSO["Server"], True), ("Oxigraph/0.5.13", False)],
    ids=["virtuoso is told how to describe", "other stores are not"],
)
def test_describe_carries_virtuosos_pragma_only_to_virtuoso(server, pragma):
    seen: list[str] = []
    runner = _runner(_graph_server(server, seen))
    job = QueryJob("DESCRIBE <http://example.org/s>", "graph", "ntriples", 100)
    answer = runner.run(job, 5.0)
    construct = QueryJob(
        "CONSTRUCT { ?describe ?p ?o } WHERE {}", "graph", "ntriples", 1
    )
    runner.run(construct, 5.0)
    assert seen[0] == "ASK {}"
    assert seen[1].startswith(VIRTUOSO_DESCRIBE) is pragma
    assert not seen[2].startswith(VIRTUOSO_DESCRIBE)
    triples = list(pyoxigraph.parse(answer.body, format=pyoxigraph.RdfFormat.N_TRIPLES))
    assert len(triples) == 1


@example(["0", "0\n"])  # a pattern anchored with $ let the newline through
@given(st.lists(st.text(min_size=1, max_size=12), min_size=2, max_size=8, unique=True))
def test_blank_node_names_become_distinct_valid_labels(names):
    labels = [blank_label(name) for name in names]
    assert len(set(labels)) == len(names)
    for label in labels:
        assert pyoxigraph.BlankNode(label).value == label


VIRTUOSO_XML = f"""<sparql xmlns="http://www.w3.org/2005/sparql-results#">
 <head><variable name="s"/><variable name="o"/></head>
 <results distinct="false" ordered="true">
  <result>
   <binding name="s"><bnode>nodeID://b10000</bnode></binding>
   <binding name="o"><literal datatype="{XSD}boolean">1</literal></binding>
  </result>
  <result>
   <binding name="s"><uri>http://example.org/s</uri></binding>
   <binding name="o"><literal xml:lang="en">a	b &quot;q&quot; \\ x</literal></binding>
  </result>
 </results>
</sparql>"""


def _xml_then_json(xml: str, seen: list[str]):
    def handler(request: httpx.Request) -> httpx.Response:
        accept = request.headers["accept"]
        seen.append(accept)
        if accept.startswith("application/sparql-results+xml"):
            headers = {"Content-Type": "application/sparql-results+xml; charset=UTF-8"}
            return httpx.Response(200, content=xml.encode(), headers=headers)
        return _json(VIRTUOSO_SELECT)(request)

    return handler


def test_xml_results_are_asked_for_first_and_read_like_json():
    seen: list[str] = []
    answer = _runner(_xml_then_json(VIRTUOSO_XML, seen)).run(_select(), 5.0)
    rows = json.loads(answer.body)["results"]["bindings"]
    assert len(seen) == 1
    assert rows[0]["s"] == {"type": "bnode", "value": blank_label("nodeID://b10000")}
    assert rows[0]["o"] == {
        "type": "literal",
        "value": "true",
        "datatype": XSD + "boolean",
    }
    assert rows[1]["o"] == {
        "type": "literal",
        "value": 'a\tb "q" \\ x',
        "xml:lang": "en",
    }


def test_xml_that_xml_forbids_is_asked_for_again_as_json():
    control = VIRTUOSO_XML.replace("a\tb", "a&#1;b")
    seen: list[str] = []
    answer = _runner(_xml_then_json(control, seen)).run(_select(), 5.0)
    assert seen[1] == "application/sparql-results+json"
    rows = json.loads(answer.body)["results"]["bindings"]
    assert rows[1]["o"]["value"] == "12"


def test_a_graph_listing_cut_by_the_stores_time_limit_stops_the_rebuild():
    partial = {"head": {"vars": ["g"]}, "results": {"bindings": []}}
    handler = _json(
        partial, headers={"X-SQL-State": "S1TAT", "X-SQL-Message": "RC...: timeout"}
    )
    store = RemoteStore("http://store.example/sparql", "http://store.example/sparql")
    store.client = httpx.Client(transport=httpx.MockTransport(handler))
    with pytest.raises(TripleStoreError, match="partial answer"):
        store.replace_all([], "http://catalog.example/")
