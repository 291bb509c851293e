"""Fixtures shared by every test package."""

from __future__ import annotations

import os

import pytest

from catalog.settings import load_settings
from tests.support import virtuoso as virtuoso_support
from tests.support.postgres import fresh_schema

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
    with fresh_schema(base) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """The same test on the embedded default and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def virtuoso(request, tmp_path):
    """A private Virtuoso 7 in the test's folder (see ``tests/support/virtuoso``);
    indirect parameters are passed on to ``private_virtuoso``.

    Skipped when ``virtuoso-t`` is not installed, unless
    ``CARDIOFAIR_REQUIRE_VIRTUOSO=1`` (as CI sets), where it fails instead.
    """
    if not virtuoso_support.installed():
        reason = "virtuoso-t is not installed (Debian package virtuoso-opensource)"
        if _require("CARDIOFAIR_REQUIRE_VIRTUOSO"):
            pytest.fail(f"{reason} but Virtuoso tests are required")
        pytest.skip(reason)
    options = getattr(request, "param", {})
    folder = tmp_path / "virtuoso"
    with virtuoso_support.private_virtuoso(folder, **options) as instance:
        yield instance
