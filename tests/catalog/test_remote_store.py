"""How the catalog's graphs are written to a remote store: request shapes
(against a recording double) and the listing of the catalog's graphs (against
a private Virtuoso that cuts its answers short)."""

from __future__ import annotations

import re

import httpx
import pytest

from catalog.remote_store import MAX_TEMPLATE, MAX_TRIPLES, RemoteStore

EX = "http://example.org/"
GRAPH = "http://catalog.example/dataset/one"


def _recording_store(bodies: list[str]) -> RemoteStore:
    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content.decode())
        return httpx.Response(200, text="done")

    store = RemoteStore("http://store.example/query", "http://store.example/update")
    store.client = httpx.Client(transport=httpx.MockTransport(handler))
    return store


def _statements(body: str) -> list[str]:
    return [line for line in body.splitlines() if line.endswith(" .")]


def test_a_large_graph_is_replaced_in_bounded_requests_that_keep_blank_nodes_together():
    n_plain, n_chains = MAX_TRIPLES + 10, MAX_TEMPLATE // 2
    lines = [f'<{EX}s{i}> <{EX}v> "{i}" .' for i in range(n_plain)]
    for k in range(n_chains):
        lines += [f"<{EX}o{k}> <{EX}has> _:a{k} .", f'_:a{k} <{EX}deep> "{k}" .']
    bodies: list[str] = []
    _recording_store(bodies).replace_graph(GRAPH, "\n".join(lines).encode())

    assert bodies[0].startswith(f"DROP SILENT GRAPH <{GRAPH}> ;\nINSERT DATA {{")
    assert not any("DROP" in body for body in bodies[1:])
    assert all(len(_statements(body)) <= MAX_TRIPLES for body in bodies)
    assert sum(len(_statements(body)) for body in bodies) == len(lines)
    for body in bodies:
        template = body.split("INSERT {", 1)[1] if "INSERT {" in body else ""
        assert len(_statements(template)) <= MAX_TEMPLATE
        assert "_:" not in body.split("INSERT {", 1)[0]
        opened = set(re.findall(r"<\S+> <\S+has> (_:\w+)", template))
        closed = set(re.findall(r"^(_:\w+) ", template, re.MULTILINE))
        assert opened == closed


def test_a_rebuild_refuses_a_document_outside_the_catalogs_graphs():
    bodies: list[str] = []
    store = _recording_store(bodies)
    store.graphs_under = lambda prefix: []
    document = f"<{EX}s> <{EX}p> <{EX}o> <http://elsewhere.example/g> .\n".encode()
    with pytest.raises(ValueError, match="must start with http://catalog.example/"):
        store.replace_all([document], "http://catalog.example/")
    assert bodies == []


@pytest.mark.parametrize("virtuoso", [{"max_rows": 3}], indirect=True)
def test_the_catalogs_graphs_are_listed_in_full_past_the_stores_row_limit(virtuoso):
    prefix = "http://catalog.example/"
    ours = sorted(f"{prefix}dataset/d{i}" for i in range(8)) + [f"{prefix}catalog"]
    theirs = ["http://catalog.example.org/g", "http://other.example/g"]
    store = RemoteStore(virtuoso.sparql_url, virtuoso.sparql_url)
    blocks = " ".join(f"GRAPH <{g}> {{ <{EX}s> <{EX}p> 1 }}" for g in ours + theirs)
    store.update(f"INSERT DATA {{ {blocks} }}")
    try:
        assert store.graphs_under(prefix) == sorted(ours)
    finally:
        store.close()
