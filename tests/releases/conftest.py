"""Storage and actors for the release tests, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from catalog.app import open_database
from catalog.db.session import session_factory
from catalog.settings import Settings, load_settings
from tests.releases.support import Actors, make_actors


@dataclass
class Storage:
    settings: Settings
    sessions: object
    actors: Actors


@pytest.fixture
def release_env(database_url, tmp_path):
    """CARDIOFAIR_* variables of a fresh home on the parametrised database."""
    return {
        "CARDIOFAIR_HOME": str(tmp_path / "home"),
        "CARDIOFAIR_DATABASE_URL": database_url,
    }


@pytest.fixture
def storage(release_env):
    """A migrated database with two organisations and their users."""
    settings = load_settings(release_env)
    engine = open_database(settings, migrate=True)
    sessions = session_factory(engine)
    try:
        yield Storage(settings, sessions, make_actors(sessions))
    finally:
        engine.dispose()
