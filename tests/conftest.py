"""Fixtures shared by every test package."""

from __future__ import annotations

import os
import secrets
from urllib.parse import quote

import pytest

from catalog.settings import load_settings

POSTGRES_ENV = "CARDIOFAIR_TEST_POSTGRES_URL"


def _require(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


@pytest.fixture
def env(tmp_path):
    """A clean CARDIOFAIR_* environment with its home in a temporary folder."""
    return {"CARDIOFAIR_HOME": str(tmp_path / "home")}


@pytest.fixture
def settings(env):
    return load_settings(env)


@pytest.fixture
def postgres_url():
    """A PostgreSQL URL pointing at a fresh, empty schema, dropped afterwards.

    Skipped when ``CARDIOFAIR_TEST_POSTGRES_URL`` is unset, unless
    ``CARDIOFAIR_REQUIRE_POSTGRES=1`` (as CI sets), where it fails instead.
    """
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        if _require("CARDIOFAIR_REQUIRE_POSTGRES"):
            pytest.fail(f"{POSTGRES_ENV} is unset but PostgreSQL tests are required")
        pytest.skip(f"{POSTGRES_ENV} is unset")
    import psycopg

    schema = f"cf_test_{secrets.token_hex(6)}"
    plain = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    try:
        yield url
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """The same test on the embedded default and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("postgres_url")
