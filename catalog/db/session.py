"""Database engines and sessions for SQLite (WAL) and PostgreSQL."""

from __future__ import annotations

import logging

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from catalog.settings import PREFIX, _redact

log = logging.getLogger(__name__)


class DatabaseError(RuntimeError):
    """The configured database cannot be reached or used."""


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` and check that the database answers.

    Raises
    ------
    DatabaseError
        With one line naming ``CARDIOFAIR_DATABASE_URL`` (password redacted).
    """
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True, pool_size=10)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (ArgumentError, NoSuchModuleError, SQLAlchemyError, ValueError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise DatabaseError(
            f"{PREFIX}DATABASE_URL={_redact(url)!r}: cannot connect ({reason})"
        ) from None
    log.debug("connected to %s", _redact(url))
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def ping(engine: Engine) -> bool:
    """True if the database answers a trivial query."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError:
        return False
