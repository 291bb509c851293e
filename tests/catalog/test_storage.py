"""Storage on SQLite and PostgreSQL through the same code."""

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from catalog.auth import (
    AuthError,
    InvalidInput,
    audit,
    authenticate,
    create_organization,
    create_user,
    issue_token,
    revoke_token,
)
from catalog.db import migrate
from catalog.db.models import (
    ApiToken,
    AuditEvent,
    Dataset,
    GateReport,
    Release,
    ReleaseFile,
)
from catalog.db.session import DatabaseError, make_engine, session_factory

TABLES = {
    "organization",
    "user_account",
    "api_token",
    "dataset",
    "release",
    "release_file",
    "gate_report",
    "audit_event",
    "alembic_version",
}


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def test_migrations_build_the_schema_from_an_empty_database(database_url):
    engine = make_engine(database_url)
    assert migrate.current_revision(engine) is None
    assert migrate.upgrade(engine) == migrate.head_revision()
    assert TABLES <= set(inspect(engine).get_table_names())
    assert migrate.downgrade(engine, "base") is None
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    assert migrate.upgrade(engine) == migrate.head_revision()
    engine.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_a_dataset_with_release_files_and_gate_report_round_trips(engine):
    sessions = session_factory(engine)
    with sessions() as session, session.begin():
        org = create_organization(session, "cardio-lab", "Cardio Lab")
        ds = Dataset(
            slug="virtual-ecg",
            organization=org,
            title="Virtual 12-lead ECGs",
            keywords=["ECG", "synthetic"],
            extra={"pathologies": ["CLBBB"]},
        )
        release = Release(dataset=ds, version=1, content_digest="ab" * 32)
        release.files.append(
            ReleaseFile(
                path="records/p0001.hea",
                sha256="cd" * 32,
                size_bytes=2**33,
                media_type="text/plain",
            )
        )
        release.gate_reports.append(
            GateReport(content_digest="ab" * 32, passed=True, report={"risk": 0.01})
        )
        session.add(ds)
        audit(session, "cli", "release.create", "release", release.id, why="test")
    with sessions() as session:
        ds = session.scalar(select(Dataset).where(Dataset.slug == "virtual-ecg"))
        assert ds.keywords == ["ECG", "synthetic"]
        assert ds.extra == {"pathologies": ["CLBBB"]}
        (release,) = ds.releases
        assert release.state == "draft"
        assert release.files[0].size_bytes == 2**33
        assert release.gate_reports[0].report == {"risk": 0.01}
        event = session.scalar(select(AuditEvent))
        assert event.detail == {"why": "test"}
        assert event.at.tzinfo is not None or engine.dialect.name == "sqlite"


def test_a_version_number_is_unique_within_a_dataset(engine):
    sessions = session_factory(engine)
    with sessions() as session, session.begin():
        org = create_organization(session, "lab", "Lab")
        ds = Dataset(slug="d", organization=org, title="D")
        session.add_all([ds, Release(dataset=ds, version=1)])
    with pytest.raises(IntegrityError):
        with sessions() as session, session.begin():
            ds = session.scalar(select(Dataset))
            session.add(Release(dataset=ds, version=1))


def test_tokens_are_stored_hashed_and_can_be_revoked(engine):
    sessions = session_factory(engine)
    with sessions() as session, session.begin():
        org = create_organization(session, "lab", "Lab")
        user = create_user(session, "ana@lab.example", "Ana", org, "admin")
        row, secret = issue_token(session, user, "laptop")
        lookup = row.lookup
    with sessions() as session, session.begin():
        stored = session.scalar(select(ApiToken))
        assert secret.split("_", 2)[2] not in (stored.token_hash, stored.lookup)
        principal = authenticate(session, secret)
        assert principal.email == "ana@lab.example"
        assert principal.organization_slug == "lab"
        assert stored.last_used_at is not None
    with sessions() as session, session.begin():
        revoke_token(session, lookup)
    with sessions() as session:
        with pytest.raises(AuthError, match="revoked"):
            authenticate(session, secret)
        with pytest.raises(AuthError, match="not valid"):
            authenticate(session, secret[:-4] + "AAAA")
        with pytest.raises(AuthError, match="malformed"):
            authenticate(session, "Bearer nonsense")
        with pytest.raises(AuthError, match="required"):
            authenticate(session, None)


def test_bad_organisation_and_user_input_is_named(engine):
    sessions = session_factory(engine)
    with sessions() as session:
        with pytest.raises(InvalidInput, match="organisation slug 'Bad Slug'"):
            create_organization(session, "Bad Slug", "x")
        org = create_organization(session, "lab", "Lab")
        with pytest.raises(InvalidInput, match="email 'ana'"):
            create_user(session, "ana", "Ana", org, "admin")
        with pytest.raises(InvalidInput, match="role 'owner'"):
            create_user(session, "ana@lab.example", "Ana", org, "owner")


def test_an_unreachable_database_is_one_clear_error():
    with pytest.raises(DatabaseError) as info:
        make_engine("postgresql+psycopg://nobody:pw@127.0.0.1:1/none")
    message = str(info.value)
    assert message.startswith("CARDIOFAIR_DATABASE_URL=")
    assert "cannot connect" in message
    assert "pw@" not in message and "\n" not in message
