"""Keep a running service's derived indexes in step with changes made by
other processes.

A release published from the command line, or by another service process on
the same PostgreSQL database, changes the relational records but not this
process's triple store, search index or stored OAI-PMH records. A follower
thread looks for releases changed since its checkpoint every few seconds and
runs the same ``catalog.releases.on_change`` hooks a local publish runs. The
checkpoint is kept in the home folder, so changes made while the service was
stopped are caught up when it starts.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from catalog.db.models import Release, ReleaseState

log = logging.getLogger(__name__)

CHECKPOINT = "index-checkpoint"
VISIBLE = (ReleaseState.PUBLISHED.value, ReleaseState.WITHDRAWN.value)


def read_checkpoint(home: Path) -> datetime | None:
    try:
        text = (home / CHECKPOINT).read_text().strip()
        return datetime.fromisoformat(text)
    except (OSError, ValueError):
        return None


def write_checkpoint(home: Path, moment: datetime | None) -> None:
    """Record ``moment`` atomically (nothing is written for an empty catalog)."""
    if moment is None:
        return
    tmp = home / f".{CHECKPOINT}.tmp"
    tmp.write_text(moment.isoformat())
    tmp.replace(home / CHECKPOINT)


def latest_change(session: Session) -> datetime | None:
    return session.scalar(
        select(func.max(Release.modified_at)).where(Release.state.in_(VISIBLE))
    )


def changed_since(session: Session, moment: datetime) -> list[tuple[str, datetime]]:
    rows = session.execute(
        select(Release.id, Release.modified_at)
        .where(Release.state.in_(VISIBLE), Release.modified_at > moment)
        .order_by(Release.modified_at)
    )
    return [(row.id, row.modified_at) for row in rows]


class Follower:
    """A daemon thread that replays other processes' release changes.

    Parameters
    ----------
    sessions : sessionmaker
        Sessions on the service's database.
    home : Path
        Where the checkpoint is kept.
    interval_s : float
        Seconds between two looks at the database.
    """

    def __init__(self, sessions: sessionmaker[Session], home: Path, interval_s: float):
        self.sessions = sessions
        self.home = home
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.checkpoint = read_checkpoint(home)

    def start(self) -> None:
        if self.checkpoint is None:
            # No checkpoint: the indexes were built with this database
            # (reindex or a fresh home); follow from the newest change.
            with self.sessions() as session:
                self.checkpoint = latest_change(session)
            write_checkpoint(self.home, self.checkpoint)
        self._thread = threading.Thread(
            target=self._loop, name="cardiofair-follower", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:  # a failed look is retried at the next interval
                log.exception("following release changes failed")
            self._stop.wait(self.interval_s)

    def step(self) -> int:
        """Replay the changes since the checkpoint; return how many."""
        from catalog import releases

        with self.sessions() as session:
            if self.checkpoint is None:
                changes = []
                self.checkpoint = latest_change(session)
            else:
                changes = changed_since(session, self.checkpoint)
        for release_id, modified_at in changes:
            releases.notify(release_id)
            self.checkpoint = modified_at
        if changes:
            write_checkpoint(self.home, self.checkpoint)
            log.info("followed %d release changes made elsewhere", len(changes))
        return len(changes)
