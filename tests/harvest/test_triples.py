"""The triple store follows the records: release hooks, reindex, remote store."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pyoxigraph
import pytest
from sqlalchemy import select

from catalog import releases
from catalog.app import create_app
from catalog.cli import main
from catalog.db.models import Dataset, Release, ReleaseState
from catalog.oai_store import oai_record
from catalog.remote_store import MAX_BLOCK, MAX_TEMPLATE, MAX_TRIPLES
from catalog.sparql_engine import (
    QueryAnswer,
    QueryJob,
    RemoteRunner,
    query_form,
    run_on_store,
)
from catalog.triple_sync import reindex
from catalog.triples import TripleStore
from metadata.namespaces import EU_DATASET_STATUS
from tests.harvest.conftest import catalog_settings, populated_app
from tests.support.server import free_port, live_server, wait_for

WITHDRAWN = EU_DATASET_STATUS.WITHDRAWN
RESULTS_JSON = "application/sparql-results+json"
#: A graph of another tenant of a shared store, outside the catalog's IRIs.
FOREIGN = "http://other-tenant.example/graph"
RELEASES = "?r <http://www.w3.org/ns/dcat#isVersionOf> ?d"


def _count(base: str, graph: str | None = None) -> int:
    """Releases seen through /sparql, in all graphs or in the graph ``graph``."""
    pattern = RELEASES if graph is None else f"GRAPH <{graph}> {{ {RELEASES} }}"
    query = f"SELECT (COUNT(DISTINCT ?r) AS ?n) WHERE {{ {pattern} }}"
    response = _sparql(base, query)
    assert response.status_code == 200, response.text
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


@pytest.fixture
def oxigraph_server(tmp_path):
    """The ``oxigraph`` server from PyPI on a free port, union default graph."""
    port = free_port()
    binary = Path(sys.executable).with_name("oxigraph")
    process = subprocess.Popen(
        [
            str(binary),
            "serve",
            "--location",
            str(tmp_path / "oxigraph"),
            "--bind",
            f"127.0.0.1:{port}",
            "--union-default-graph",
            "--timeout-s",
            "5",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/query")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(params=["oxigraph", "virtuoso"])
def remote_store(request) -> dict[str, str]:
    """Settings naming a remote store: the oxigraph server by its base URL,
    or Virtuoso by its one endpoint for queries and updates."""
    if request.param == "oxigraph":
        return {"CARDIOFAIR_SPARQL_URL": request.getfixturevalue("oxigraph_server")}
    return request.getfixturevalue("virtuoso").env()


def _sparql(base: str, query: str, accept: str = RESULTS_JSON) -> httpx.Response:
    return httpx.get(
        f"{base}/sparql", params={"query": query}, headers={"Accept": accept}
    )


def _ask(base: str, query: str) -> bool:
    response = _sparql(base, query)
    assert response.status_code == 200, response.text
    return response.json()["boolean"]


def _withdraw_first_release(app, slug: str) -> str:
    with app.state.sessions() as session:
        release = session.scalars(
            select(Release)
            .join(Dataset)
            .where(Dataset.slug == slug, Release.version == 1)
        ).one()
        release.state = ReleaseState.WITHDRAWN.value
        release.withdrawn_at = datetime.now(UTC)
        release.withdrawn_reason = "A test withdrawal."
        session.commit()
        return release.id


def _graph_triples(base: str, query: str, accept: str) -> set:
    response = _sparql(base, query, accept)
    assert response.status_code == 200, response.text
    rdf_format = pyoxigraph.RdfFormat.from_media_type(accept)
    quads = pyoxigraph.parse(response.content, format=rdf_format)
    return {(q.subject, q.predicate, q.object) for q in quads}


def test_a_remote_store_serves_the_catalog_and_follows_its_changes(
    tmp_path, remote_store
):
    settings = catalog_settings(tmp_path / "home", **remote_store)
    stale = f"{settings.base_url}/dataset/no-longer-in-the-catalog"
    store = TripleStore.for_settings(settings)
    store.remote.update(
        f'INSERT DATA {{ GRAPH <{FOREIGN}> {{ <{FOREIGN}/s> <{FOREIGN}/p> "kept" }}'
        f' GRAPH <{stale}> {{ <{stale}> <{FOREIGN}/p> "stale" }} }}'
    )
    store.close()
    app, populated = populated_app(settings, n_datasets=8)
    withdrawn, dropped = populated.datasets[0], populated.datasets[2]
    status = (
        "PREFIX adms: <http://www.w3.org/ns/adms#> ASK { "
        f"<{settings.base_url}/dataset/{withdrawn}/v1> adms:status <{WITHDRAWN}> }}"
    )
    dropped_graph = f"{settings.base_url}/dataset/{dropped}"
    with live_server(app) as base:
        assert _count(base) == populated.n_visible
        assert _ask(base, f'ASK {{ GRAPH <{FOREIGN}> {{ ?s ?p "kept" }} }}')
        assert not _ask(base, f"ASK {{ GRAPH <{stale}> {{ ?s ?p ?o }} }}")

        assert not _ask(base, status)
        release_id = _withdraw_first_release(app, withdrawn)
        for hook in list(releases.on_change):
            hook(release_id)
        assert _ask(base, status)
        assert _count(base) == populated.n_visible

        in_dropped = _count(base, dropped_graph)
        assert in_dropped > 0
        app.state.triples.drop_graph(dropped_graph)
        assert _count(base) == populated.n_visible - in_dropped

        bad = httpx.get(f"{base}/sparql", params={"query": "SELECT ?x WHERE {"})
        assert bad.status_code == 400
        assert bad.text.startswith("malformed SPARQL query")

        series = f"{settings.base_url}/dataset/{populated.datasets[3]}"
        graph = _graph_triples(
            base,
            f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{series}> {{ ?s ?p ?o }} }}",
            "text/turtle",
        )
        assert len(graph) > 20
        described = _graph_triples(
            base, f"DESCRIBE <{series}>", "application/n-triples"
        )
        assert pyoxigraph.NamedNode(series) in {s for s, _, _ in described}
        assert described <= graph

        with app.state.sessions() as session:
            reindex(session, settings, app.state.triples)
        assert _count(base) == populated.n_visible
        assert _ask(base, f'ASK {{ GRAPH <{FOREIGN}> {{ ?s ?p "kept" }} }}')


def test_withdrawal_reaches_the_triples_through_the_release_hook(tmp_path):
    settings = catalog_settings(tmp_path / "home")
    app, populated = populated_app(settings, n_datasets=6)
    slug = populated.datasets[0]
    release_id = _withdraw_first_release(app, slug)
    ask = (
        "PREFIX adms: <http://www.w3.org/ns/adms#> ASK { "
        f"<{settings.base_url}/dataset/{slug}/v1> adms:status <{WITHDRAWN}> }}"
    )
    with live_server(app) as base:
        before = httpx.get(f"{base}/sparql", params={"query": ask}).json()
        for hook in list(releases.on_change):
            hook(release_id)
        after = httpx.get(f"{base}/sparql", params={"query": ask}).json()
    assert before["boolean"] is False
    assert after["boolean"] is True


def test_reindex_command_rebuilds_the_store(tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    settings = catalog_settings(home)
    app, populated = populated_app(settings, n_datasets=5)
    app.state.triples.store.clear()
    app.state.triples.close()
    monkeypatch.setenv("CARDIOFAIR_HOME", str(home))
    assert main(["reindex"]) == 0
    assert f"reindexed {len(populated.datasets)} datasets" in capsys.readouterr().out
    with live_server(create_app(catalog_settings(home))) as base:
        assert _count(base) == populated.n_visible


def _rebuilt(app, workers: int) -> tuple[set, list]:
    """Quads and stored OAI-PMH rows after a rebuild by ``workers``."""
    settings = app.state.settings
    with app.state.sessions() as session:
        reindex(session, settings, app.state.triples, workers=workers)
        rows = session.execute(select(oai_record).order_by("release_id")).all()
    quads = set(app.state.triples.store.quads_for_pattern(None, None, None, None))
    return quads, [tuple(row) for row in rows]


def test_worker_processes_rebuild_the_same_triples_and_records(tmp_path):
    app, _ = populated_app(catalog_settings(tmp_path / "home"), n_datasets=9)
    quads, rows = _rebuilt(app, workers=1)
    assert len(quads) > 1000 and len(rows) > 9
    assert _rebuilt(app, workers=2) == (quads, rows)
    graphs = {q.graph_name.value for q in quads}
    assert len(graphs) == 10  # nine datasets and the catalog
    app.state.triples.close()


TRICKY = [
    pyoxigraph.Literal("quotes \" and ' and a backslash \\ in one"),
    pyoxigraph.Literal("a line\nbreak, a\ttab, a \r return and \x01 a control"),
    pyoxigraph.Literal("Ünïcödé 心電図 \U0001f493 beyond the BMP"),
    pyoxigraph.Literal("électrocardiogramme", language="fr"),
    pyoxigraph.Literal("}} ; DROP ALL ; INSERT DATA {{"),
]


def _select(runner: RemoteRunner, query: str) -> list[dict]:
    job = QueryJob(query, "select", "json", row_limit=100_000)
    return json.loads(runner.run(job, 30.0).body)["results"]["bindings"]


def test_large_graphs_blank_nodes_and_odd_literals_reach_the_store_intact(
    tmp_path, remote_store
):
    """More triples than one request carries, chains of blank nodes beyond
    what one template request takes, and literals that need escaping."""
    settings = catalog_settings(tmp_path / "home", **remote_store)
    store = TripleStore.for_settings(settings)
    graph = f"{settings.base_url}/dataset/large"
    ex = "http://example.org/"
    n_plain = MAX_TRIPLES + MAX_BLOCK + 345
    n_chains = MAX_TEMPLATE // 3 * 2 + 7
    lines = [f'<{ex}s{i}> <{ex}value> "{i}" .' for i in range(n_plain)]
    lines += [f"<{ex}tricky> <{ex}says> {literal} ." for literal in TRICKY]
    for k in range(n_chains):
        lines += [
            f"<{ex}owner{k}> <{ex}has> _:a{k} .",
            f"_:a{k} <{ex}next> _:b{k} .",
            f'_:b{k} <{ex}deep> "chain {k}" .',
        ]
    store.replace_graph(graph, "\n".join(lines).encode())
    runner = RemoteRunner(settings.sparql_query_url)
    try:
        count = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
        assert _select(runner, count)[0]["n"]["value"] == str(len(lines))
        chains = _select(
            runner,
            f"SELECT ?owner ?deep WHERE {{ ?owner <{ex}has> ?a . "
            f"?a <{ex}next> ?b . ?b <{ex}deep> ?deep }}",
        )
        assert sorted((r["owner"]["value"], r["deep"]["value"]) for r in chains) == (
            sorted((f"{ex}owner{k}", f"chain {k}") for k in range(n_chains))
        )
        said = _select(runner, f"SELECT ?o WHERE {{ <{ex}tricky> <{ex}says> ?o }}")
        assert sorted((r["o"]["value"], r["o"].get("xml:lang")) for r in said) == (
            sorted((t.value, t.language) for t in TRICKY)
        )

        store.replace_graph(graph, f'<{ex}s> <{ex}value> "only" .'.encode())
        assert _select(runner, count)[0]["n"]["value"] == "1"
        store.drop_graph(graph)
        assert _select(runner, count)[0]["n"]["value"] == "0"
    finally:
        runner.close()
        store.close()


COMPARED_QUERIES = [
    """SELECT ?r ?modified WHERE { ?r dcat:isVersionOf ?d ; dct:modified ?modified }
    ORDER BY DESC(?modified) ?r LIMIT 25""",
    "SELECT ?p (COUNT(?d) AS ?n) WHERE { ?d a dcat:DatasetSeries ; dct:publisher ?p }"
    " GROUP BY ?p",
    """SELECT ?d ?issued WHERE { ?d a dcat:DatasetSeries ; dct:issued ?issued }
    ORDER BY ?d LIMIT 5 OFFSET 3""",
    """SELECT ?dist ?url ?size ?open WHERE { ?r dcat:distribution ?dist .
    ?dist dcat:downloadURL ?url ; dcat:byteSize ?size .
    OPTIONAL { ?r <http://healthdataportal.eu/ns/health#hasStructuredData> ?open } }""",
    'SELECT ?d WHERE { ?d dcat:keyword ?k FILTER(CONTAINS(STR(?k), "block")) }',
    "ASK { ?d a dcat:DatasetSeries }",
]


def _bindings(answer: QueryAnswer) -> object:
    document = json.loads(answer.body)
    if "boolean" in document:
        return document["boolean"]
    rows = document["results"]["bindings"]
    return sorted(json.dumps(_same_integers(row), sort_keys=True) for row in rows)


def _same_integers(row: dict) -> dict:
    # The embedded store keeps xsd:nonNegativeInteger as xsd:integer.
    for cell in row.values():
        if cell.get("datatype", "").endswith("#nonNegativeInteger"):
            cell["datatype"] = cell["datatype"].replace("nonNegativeInteger", "integer")
    return row


def test_a_remote_store_answers_as_the_embedded_one(tmp_path, remote_store):
    settings = catalog_settings(tmp_path / "home")
    app, _ = populated_app(settings, n_datasets=12)
    remote = TripleStore.for_settings(
        catalog_settings(tmp_path / "home", **remote_store)
    )
    with app.state.sessions() as session:
        reindex(session, settings, remote)
    runner = RemoteRunner(remote.query_url)
    prologue = "PREFIX dcat: <http://www.w3.org/ns/dcat#>\n"
    prologue += "PREFIX dct: <http://purl.org/dc/terms/>\n"
    try:
        for query in COMPARED_QUERIES:
            text = prologue + query
            job = QueryJob(text, query_form(text), "json", row_limit=10_000)
            theirs = _bindings(runner.run(job, 30.0))
            ours = _bindings(run_on_store(app.state.triples.store, job))
            assert theirs == ours, query
            assert theirs not in ([], False), query
    finally:
        runner.close()
        remote.close()
        app.state.triples.close()


SLOW_QUERY = """SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f
FILTER(REGEX(CONCAT(STR(?c), STR(?f)), "x+y+z+$")) }"""


def test_a_slow_remote_query_is_stopped_at_our_time_limit(tmp_path, remote_store):
    settings = catalog_settings(
        tmp_path / "home", CARDIOFAIR_SPARQL_TIMEOUT_S="0.2", **remote_store
    )
    app, _ = populated_app(settings, n_datasets=6)
    with live_server(app) as base:
        response = _sparql(base, SLOW_QUERY)
    assert response.status_code == 503
    assert response.text.startswith("the query ran longer than 0.2 s")
