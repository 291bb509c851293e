"""A populated catalog for the reliability tests, built once per module.

Besides the seeded synthetic catalog it holds one restricted source published
through the real release lifecycle, so its files sit in the file store and only
the access rules keep them private, and the two organisations of
:func:`tests.releases.support.make_actors` with their tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from catalog import releases, search
from catalog.app import create_app
from catalog.db.models import Dataset, Release, ReleaseFile
from catalog.routes.api_v1 import get_gate
from catalog.settings import Settings, load_settings
from catalog.triple_sync import reindex
from tests.releases.support import (
    Actors,
    copying_gate,
    make_actors,
    publish_folder,
    write_release_folder,
    write_splits,
)
from tests.support.catalog_data import Populated, populate
from tests.support.server import live_server

N_DATASETS = 30
RESTRICTED_SLUG = "restricted-source-ecgs"


@dataclass
class Catalog:
    app: object
    settings: Settings
    made: Populated
    actors: Actors
    restricted_files: list[tuple[str, str]]  # (download path, sha256)

    @property
    def sessions(self):
        return self.app.state.sessions


def reliability_settings(home: Path, **extra: str) -> Settings:
    env = {"CARDIOFAIR_HOME": str(home), "CARDIOFAIR_SPARQL_TIMEOUT_S": "3", **extra}
    return load_settings(env)


def _restricted_source(app, settings: Settings, actors: Actors, work: Path):
    """A restricted source whose files exist in the store; its download paths."""
    with app.state.sessions() as session:
        releases.create_dataset(
            session,
            actors.ana,
            slug=RESTRICTED_SLUG,
            title="Restricted source ECGs (fabricated for the reliability tests)",
            description="Stand-in for hospital recordings: metadata public only.",
            keywords=["ECG"],
            access_rights="restricted",
            kind="source",
        )
    splits = write_splits(work / "splits")
    folder = write_release_folder(work / "restricted", seed=11)
    publish_folder(
        app.state.sessions, settings, actors.ana, RESTRICTED_SLUG, folder, splits
    )
    with app.state.sessions() as session:
        rows = session.execute(
            select(ReleaseFile.path, ReleaseFile.sha256, ReleaseFile.restricted)
            .join(Release)
            .join(Dataset)
            .where(Dataset.slug == RESTRICTED_SLUG)
        ).all()
    assert rows and all(row.restricted for row in rows)
    return [(f"/dataset/{RESTRICTED_SLUG}/v1/files/{r.path}", r.sha256) for r in rows]


def build_catalog(home: Path, work: Path, n_datasets: int = N_DATASETS, **extra):
    settings = reliability_settings(home, **extra)
    app = create_app(settings, migrate=True)
    app.dependency_overrides[get_gate] = lambda: copying_gate
    with app.state.sessions() as session:
        made = populate(session, settings, n_datasets=n_datasets, seed=3)
        session.commit()
    actors = make_actors(app.state.sessions)
    restricted = _restricted_source(app, settings, actors, work)
    with app.state.sessions() as session:
        search.rebuild(session, settings.base_url)
        session.commit()
        reindex(session, settings, app.state.triples)
    return Catalog(app, settings, made, actors, restricted)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    root = tmp_path_factory.mktemp("reliability")
    built = build_catalog(root / "home", root / "work")
    yield built
    built.app.state.sparql.close()
    built.app.state.triples.close()
    built.app.state.engine.dispose()


@pytest.fixture(scope="module")
def client(catalog):
    """An HTTP client of the catalog served on a loopback port."""
    with live_server(catalog.app) as base, httpx.Client(base_url=base) as http:
        yield http
