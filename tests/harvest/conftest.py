"""A populated catalog served by the real application, for the harvesters."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from catalog.app import create_app
from catalog.routes import oai
from catalog.settings import Settings, load_settings
from catalog.triple_sync import reindex
from tests.support.catalog_data import Populated, populate
from tests.support.server import free_port, live_server

N_DATASETS = 24
SPARQL_TIMEOUT_S = 2.0
SPARQL_ROW_LIMIT = 500


@dataclass
class Service:
    base: str
    settings: Settings
    populated: Populated
    app: object


def catalog_settings(home: Path, **extra: str) -> Settings:
    env = {
        "CARDIOFAIR_HOME": str(home),
        "CARDIOFAIR_SPARQL_TIMEOUT_S": str(SPARQL_TIMEOUT_S),
        "CARDIOFAIR_SPARQL_ROW_LIMIT": str(SPARQL_ROW_LIMIT),
        **extra,
    }
    return load_settings(env)


def populated_app(settings: Settings, n_datasets: int = N_DATASETS):
    app = create_app(settings)
    with app.state.sessions() as session:
        populated = populate(session, settings, n_datasets, seed=7)
        session.commit()
        reindex(session, settings, app.state.triples)
    return app, populated


@pytest.fixture(scope="session")
def service(tmp_path_factory):
    """The catalog of 24 synthetic datasets on a live server, OAI-PMH pages of 7
    records (and 11 identifiers) so that every list needs resumption."""
    port = free_port()
    settings = catalog_settings(
        tmp_path_factory.mktemp("harvest") / "home",
        CARDIOFAIR_BASE_URL=f"http://127.0.0.1:{port}",
    )
    app, populated = populated_app(settings)
    patch = pytest.MonkeyPatch()
    patch.setattr(oai, "RECORDS_PER_PAGE", 7)
    patch.setattr(oai, "IDENTIFIERS_PER_PAGE", 11)
    with live_server(app, port) as base:
        yield Service(base, settings, populated, app)
    patch.undo()
