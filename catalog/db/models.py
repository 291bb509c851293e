"""SQLAlchemy 2 models of the catalog's records.

The relational records are the source of truth; the triple store and the
search index are derived from them and can be rebuilt at any time.
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


def _created():
    return mapped_column(DateTime(timezone=True), default=utcnow)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Role(enum.StrEnum):
    ADMIN = "admin"
    MAINTAINER = "maintainer"


class ReleaseState(enum.StrEnum):
    DRAFT = "draft"
    PASSED = "passed"  # gated, every blocking check passed
    BLOCKED = "blocked"  # gated, at least one blocking check failed
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


class Organization(Base):
    __tablename__ = "organization"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    homepage: Mapped[str | None] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(300))
    ror: Mapped[str | None] = mapped_column(String(100))
    gate_thresholds: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = _created()

    users: Mapped[list[User]] = relationship(back_populates="organization")
    datasets: Mapped[list[Dataset]] = relationship(back_populates="organization")


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(300), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    orcid: Mapped[str | None] = mapped_column(String(19))
    role: Mapped[str] = mapped_column(String(20), default=Role.MAINTAINER.value)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organization.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = _created()

    organization: Mapped[Organization] = relationship(back_populates="users")
    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")


class ApiToken(Base):
    """An API token: only its SHA-256 hash is stored; the secret is shown once."""

    __tablename__ = "api_token"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("user_account.id"))
    organization_id: Mapped[str] = mapped_column(ForeignKey("organization.id"))
    name: Mapped[str] = mapped_column(String(200), default="")
    lookup: Mapped[str] = mapped_column(String(16), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = _created()
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(back_populates="tokens")


class Dataset(Base):
    """A dataset: the concept that all its releases are versions of."""

    __tablename__ = "dataset"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organization.id"))
    kind: Mapped[str] = mapped_column(String(20), default="synthetic")
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[list[Any]] = mapped_column(default=list)
    themes: Mapped[list[Any]] = mapped_column(default=list)
    access_rights: Mapped[str] = mapped_column(String(20), default="public")
    license_id: Mapped[str] = mapped_column(String(100), default="CC-BY-4.0")
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = _created()
    modified_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    organization: Mapped[Organization] = relationship(back_populates="datasets")
    releases: Mapped[list[Release]] = relationship(
        back_populates="dataset", order_by="Release.version"
    )

    __table_args__ = (Index("ix_dataset_modified", "modified_at"),)


class Release(Base):
    """One version of a dataset; immutable once published."""

    __tablename__ = "release"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("dataset.id"))
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20), default=ReleaseState.DRAFT.value)
    identifier: Mapped[str | None] = mapped_column(String(300))
    version_notes: Mapped[str] = mapped_column(Text, default="")
    content_digest: Mapped[str | None] = mapped_column(String(64))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    created_at: Mapped[datetime] = _created()
    modified_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)

    dataset: Mapped[Dataset] = relationship(back_populates="releases")
    files: Mapped[list[ReleaseFile]] = relationship(
        back_populates="release", order_by="ReleaseFile.path"
    )
    gate_reports: Mapped[list[GateReport]] = relationship(
        back_populates="release", order_by="GateReport.created_at"
    )

    __table_args__ = (
        UniqueConstraint("dataset_id", "version", name="uq_release_version"),
        Index("ix_release_modified", "modified_at"),
    )


class ReleaseFile(Base):
    """A file of a release, stored once under its SHA-256."""

    __tablename__ = "release_file"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    release_id: Mapped[str] = mapped_column(ForeignKey("release.id"))
    path: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(30), default="data")
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)

    release: Mapped[Release] = relationship(back_populates="files")

    __table_args__ = (UniqueConstraint("release_id", "path", name="uq_release_path"),)


class GateReport(Base):
    """The outcome of one gate run on one exact release content."""

    __tablename__ = "gate_report"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    release_id: Mapped[str] = mapped_column(ForeignKey("release.id"))
    content_digest: Mapped[str] = mapped_column(String(64))
    passed: Mapped[bool] = mapped_column(Boolean)
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = _created()

    release: Mapped[Release] = relationship(back_populates="gate_reports")


class AuditEvent(Base):
    """Who did what to which record, when, and whether it was allowed."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = _created()
    actor: Mapped[str] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(50))
    target_type: Mapped[str] = mapped_column(String(30))
    target_id: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(20), default="ok")
    reason: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (Index("ix_audit_target", "target_type", "target_id"),)


class SearchDoc(Base):
    """The search index's copy of one findable dataset, derived and rebuildable.

    ``package`` holds the dataset's complete CKAN package dict and ``card`` the
    few fields a result list shows, so that one page of results is one query.
    The full-text part lives beside it: an FTS5 table ``search_fts`` on SQLite,
    a ``tsv`` column with a GIN index on PostgreSQL (see migration 0002).
    """

    __tablename__ = "search_doc"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("dataset.id", ondelete="CASCADE"), unique=True
    )
    name: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    organization: Mapped[str] = mapped_column(String(100))
    metadata_created: Mapped[datetime] = mapped_column(DateTime)
    metadata_modified: Mapped[datetime] = mapped_column(DateTime)
    package: Mapped[dict[str, Any]] = mapped_column(default=dict)
    card: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (
        Index("ix_search_doc_modified", "metadata_modified"),
        Index("ix_search_doc_title", "title"),
        Index("ix_search_doc_org", "organization"),
        {"sqlite_autoincrement": True},
    )


class SearchFacet(Base):
    """One facet value of one indexed dataset (a keyword, a licence ...)."""

    __tablename__ = "search_facet"

    facet: Mapped[str] = mapped_column(String(30), primary_key=True)
    value: Mapped[str] = mapped_column(String(300), primary_key=True)
    doc_id: Mapped[int] = mapped_column(
        ForeignKey("search_doc.id", ondelete="CASCADE"), primary_key=True
    )

    __table_args__ = (Index("ix_search_facet_doc", "doc_id"),)


class SearchState(Base):
    """A counter bumped on every index change; cached facet counts key on it."""

    __tablename__ = "search_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger, default=0)
