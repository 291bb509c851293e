"""Publishing survives SIGKILL at random points (issue 8's crash test).

A separate process publishes a batch of passed releases and is killed at
random moments, many times. After every kill each release must be either
fully published (state, identifier, frozen metadata, audit event) or still
exactly as it was, and every file the database names must be in the store
with the right bytes. Then an uninterrupted run publishes the rest.
"""

from __future__ import annotations

import io
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select, text

from catalog.db.models import AuditEvent, Release
from catalog.filestore import FileStore
from catalog.releases import (
    content_digest,
    create_dataset,
    create_release,
    gate_release,
)
from tests.releases.support import copying_gate, feature_table, write_splits

N_RELEASES = 50
BATCH = 5  # releases one publishing process is given
KILLS = {"sqlite": 20, "postgresql": 8}


def _passed_releases(storage, tmp_path) -> list[str]:
    actor = storage.actors.ana
    real, control = write_splits(tmp_path / "source")
    manifest = f'{{"seed": 3, "real_train": "{real}", "control": "{control}"}}'
    with storage.sessions() as session:
        create_dataset(session, actor, "ecg-adults", "Synthetic adult ECGs")
    ids = []
    for n in range(N_RELEASES):
        features = feature_table(1000 + n, n_rows=60).to_csv(index=False).encode()
        signal_bytes = random.Random(n).randbytes(256 * 1024)
        uploads = [
            ("features.csv", io.BytesIO(features)),
            ("manifest.json", io.BytesIO(manifest.encode())),
            (f"records/p{n:04d}.dat", io.BytesIO(signal_bytes)),
        ]
        with storage.sessions() as session:
            release = create_release(
                session, storage.settings, actor, "ecg-adults", uploads=uploads
            )
        with storage.sessions() as session:
            gate_release(
                session, storage.settings, actor, release.id, gate=copying_gate
            )
        ids.append(release.id)
    return ids


def _publisher(env, ids):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CARDIOFAIR_")}
    return subprocess.Popen(
        [sys.executable, "-m", "catalog", "-q", "release", "publish", *ids]
        + ["--as", "ana@lab.example"],
        env={**full_env, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def _kill_somewhere(process, rng: random.Random) -> None:
    lines = rng.choice([0, 1, 1, 2])
    if lines == 0:
        time.sleep(rng.uniform(0.0, 1.5))
    for _ in range(lines):
        if not process.stdout.readline():
            break
        time.sleep(rng.uniform(0.0, 0.03))
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    process.stdout.close()


def _check_consistent(storage) -> int:
    """Assert every release is all-old or all-new; return how many published."""
    store = FileStore(storage.settings.files_dir)
    published = 0
    with storage.sessions() as session:
        for release in session.scalars(select(Release)):
            events = session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(
                    AuditEvent.target_id == release.id,
                    AuditEvent.action == "release.publish",
                    AuditEvent.outcome == "ok",
                )
            )
            pairs = [(f.path, f.sha256) for f in release.files]
            if release.state == "published":
                published += 1
                assert release.identifier == (
                    f"10.5072/cardiofair/ecg-adults.v{release.version}"
                )
                assert release.published_at is not None
                assert "dataset" in release.metadata_
                assert content_digest(pairs, release.metadata_) == (
                    release.content_digest
                )
                assert events == 1
            else:
                assert release.state == "passed"
                assert release.identifier is None and release.published_at is None
                assert "dataset" not in release.metadata_
                assert events == 0
            for entry in release.files:
                assert store.verify(entry.sha256) == entry.size_bytes
        if storage.settings.is_sqlite:
            assert session.scalar(text("PRAGMA integrity_check")) == "ok"
    return published


@pytest.mark.slow
def test_publishing_killed_at_random_points_leaves_old_or_new_state(
    storage, release_env, tmp_path, request
):
    backend = request.node.callspec.params["database_url"]
    rng = random.Random(20261203)
    ids = _passed_releases(storage, tmp_path)
    published_before = 0
    kills = 0
    while kills < KILLS[backend]:
        with storage.sessions() as session:
            waiting = session.scalars(
                select(Release.id).where(Release.state == "passed")
            ).all()
        if not waiting:
            break
        batch = rng.sample(waiting, min(BATCH, len(waiting)))
        _kill_somewhere(_publisher(release_env, batch), rng)
        kills += 1
        published = _check_consistent(storage)
        assert published >= published_before  # nothing published is lost
        published_before = published
    assert kills >= KILLS[backend] // 2, "too few kills landed before all published"

    with storage.sessions() as session:
        waiting = session.scalars(
            select(Release.id).where(Release.state == "passed")
        ).all()
    if waiting:
        finish = _publisher(release_env, waiting)
        finish.communicate(timeout=120)
        assert finish.returncode == 0
    assert _check_consistent(storage) == len(ids)
