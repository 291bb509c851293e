"""Relational storage: SQLAlchemy models, engine set-up and migrations."""

from catalog.db.models import (
    ApiToken,
    AuditEvent,
    Base,
    Dataset,
    GateReport,
    Organization,
    Release,
    ReleaseFile,
    ReleaseState,
    User,
)
from catalog.db.session import DatabaseError, make_engine, session_factory

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Base",
    "DatabaseError",
    "Dataset",
    "GateReport",
    "Organization",
    "Release",
    "ReleaseFile",
    "ReleaseState",
    "User",
    "make_engine",
    "session_factory",
]
