"""The FastAPI application: wires settings, storage and the routers."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI

from catalog import __version__, search
from catalog.db.session import make_engine, session_factory
from catalog.follow import Follower
from catalog.security import SecurityMiddleware
from catalog.settings import Settings, load_settings
from catalog.triples import TripleStore

log = logging.getLogger(__name__)


def open_database(settings: Settings, migrate: bool | None = None):
    """Open the database, migrating the embedded default.

    Parameters
    ----------
    migrate : bool, optional
        Apply pending migrations; by default only on SQLite, the embedded
        default. A PostgreSQL schema is upgraded with ``cardiofair db upgrade``
        and the service refuses to start on an out-of-date schema.
    """
    from catalog.db import migrate as migrations

    settings.ensure_home()
    engine = make_engine(settings.database_url)
    if migrate if migrate is not None else settings.is_sqlite:
        migrations.upgrade(engine)
    elif migrations.current_revision(engine) != migrations.head_revision():
        raise_schema_out_of_date(engine)
    return engine


def open_storage(settings: Settings, migrate: bool | None = None):
    """Open the database and the triple store."""
    engine = open_database(settings, migrate)
    return engine, TripleStore.for_settings(settings)


def raise_schema_out_of_date(engine) -> None:
    from catalog.db.migrate import current_revision, head_revision
    from catalog.db.session import DatabaseError

    raise DatabaseError(
        f"CARDIOFAIR_DATABASE_URL: the database schema is at revision "
        f"{current_revision(engine)!r}, expected {head_revision()!r}; "
        "run 'cardiofair db upgrade'"
    )


def create_app(
    settings: Settings | None = None,
    *,
    migrate: bool | None = None,
    follow_interval_s: float = 2.0,
):
    """Build the application; storage is opened here, before serving.

    Parameters
    ----------
    follow_interval_s : float
        Seconds between looks for releases changed by other processes (the
        command line, other service processes); 0 turns following off.
    """
    settings = settings or load_settings()
    engine, triples = open_storage(settings, migrate)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        follower = None
        if follow_interval_s > 0:
            follower = Follower(app.state.sessions, settings.home, follow_interval_s)
            follower.start()
        yield
        if follower is not None:
            follower.stop()
        search.unfollow(app.state.search_hook)
        triples.close()
        engine.dispose()

    app = FastAPI(
        title="cardiofair",
        version=__version__,
        summary="FAIR catalog of synthetic cardiac research data",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.triples = triples
    app.state.search_hook = search.follow_releases(
        app.state.sessions, settings.base_url
    )
    _include_routers(app)
    app.add_middleware(SecurityMiddleware)
    return app


def _include_routers(app: FastAPI) -> None:
    from catalog.routes import api_v1, ckan, datasets, dcat, health, oai, pages, sparql

    app.include_router(health.router)
    app.include_router(ckan.router)
    app.include_router(api_v1.router)
    _install_harvesting(app, datasets, dcat, oai, sparql)
    pages.install(app)


def _install_harvesting(app: FastAPI, *modules) -> None:
    """SPARQL, OAI-PMH, DCAT and content negotiation, and the triple-store sync.

    The negotiating dataset routes come before the pages, which render their
    HTML form.
    """
    from catalog import releases
    from catalog.sparql_engine import make_runner
    from catalog.triple_sync import release_hook

    app.state.sparql = make_runner(app.state.triples)
    releases.on_change.append(
        release_hook(app.state.sessions, app.state.settings, app.state.triples)
    )
    for module in modules:
        app.include_router(module.router)
    serve = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with serve(app) as state:
            yield state
        app.state.sparql.close()

    app.router.lifespan_context = lifespan
