"""The triple store follows the records: release hooks, reindex, remote store."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from catalog import releases
from catalog.app import create_app
from catalog.cli import main
from catalog.db.models import Dataset, Release, ReleaseState
from catalog.oai_store import oai_record
from catalog.triple_sync import reindex
from metadata.namespaces import EU_DATASET_STATUS
from tests.harvest.conftest import catalog_settings, populated_app
from tests.support.server import free_port, live_server, wait_for

WITHDRAWN = EU_DATASET_STATUS.WITHDRAWN
COUNT_RELEASES = """
PREFIX dcat: <http://www.w3.org/ns/dcat#>
SELECT (COUNT(DISTINCT ?r) AS ?n) WHERE { ?r dcat:isVersionOf ?d }
"""


def _count(base: str) -> int:
    response = httpx.get(
        f"{base}/sparql",
        params={"query": COUNT_RELEASES},
        headers={"Accept": "application/sparql-results+json"},
    )
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


def test_remote_store_is_filled_and_queried_over_http(tmp_path, oxigraph_server):
    settings = catalog_settings(
        tmp_path / "home", CARDIOFAIR_SPARQL_URL=oxigraph_server
    )
    app, populated = populated_app(settings, n_datasets=8)
    with live_server(app) as base:
        assert _count(base) == populated.n_visible
        bad = httpx.get(f"{base}/sparql", params={"query": "SELECT ?x WHERE {"})
        assert bad.status_code == 400


def test_withdrawal_reaches_the_triples_through_the_release_hook(tmp_path):
    settings = catalog_settings(tmp_path / "home")
    app, populated = populated_app(settings, n_datasets=6)
    slug = populated.datasets[0]
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
        release_id = release.id
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
