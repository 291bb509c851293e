"""Helpers shared by the sub-commands: settings, storage, sessions."""

from __future__ import annotations

from contextlib import contextmanager

from catalog.settings import Settings, load_settings


def open_database(settings: Settings | None = None):
    """Open (and on the embedded default, migrate) the configured database."""
    from catalog.app import open_database as _open

    return _open(settings or load_settings())


@contextmanager
def session_scope(settings: Settings | None = None):
    """A session committed on success and rolled back on any error."""
    from catalog.db.session import session_factory

    engine = open_database(settings)
    try:
        with session_factory(engine)() as session, session.begin():
            yield session
    finally:
        engine.dispose()
