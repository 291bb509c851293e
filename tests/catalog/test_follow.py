"""Changes committed by another process reach this process's indexes."""

from datetime import UTC, datetime, timedelta

import pytest

from catalog import releases
from catalog.db import migrate
from catalog.db.models import Dataset, Organization, Release
from catalog.db.session import make_engine, session_factory
from catalog.follow import CHECKPOINT, Follower, read_checkpoint


@pytest.fixture
def sessions(database_url):
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def seen(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(releases, "on_change", [calls.append])
    return calls


def _release(session, version, state, modified_at):
    dataset = session.query(Dataset).one_or_none()
    if dataset is None:
        org = Organization(slug="lab", name="Lab")
        dataset = Dataset(slug="d", organization=org, title="D")
        session.add(dataset)
    release = Release(
        dataset=dataset, version=version, state=state, modified_at=modified_at
    )
    session.add(release)
    session.commit()
    return release.id


def test_a_release_published_elsewhere_runs_the_hooks_once(sessions, seen, tmp_path):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with sessions() as session:
        _release(session, 1, "published", start)
    follower = Follower(sessions, tmp_path, interval_s=60)
    follower.start()
    follower.stop()
    assert follower.step() == 0 and seen == []
    with sessions() as session:
        draft = _release(session, 2, "draft", start + timedelta(minutes=1))
        published = _release(session, 3, "published", start + timedelta(minutes=2))
    assert follower.step() == 1
    assert seen == [published] and draft not in seen
    assert follower.step() == 0
    assert read_checkpoint(tmp_path) == follower.checkpoint
    assert (tmp_path / CHECKPOINT).exists()


def test_changes_made_while_stopped_are_caught_up_at_start(sessions, seen, tmp_path):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with sessions() as session:
        _release(session, 1, "published", start)
    first = Follower(sessions, tmp_path, interval_s=60)
    first.start()
    first.stop()
    with sessions() as session:
        withdrawn = _release(session, 2, "withdrawn", start + timedelta(hours=1))
    second = Follower(sessions, tmp_path, interval_s=60)
    assert second.step() == 1
    assert seen == [withdrawn]
