"""One release judged by the production gate, catalog.gate.run_gate."""

from __future__ import annotations

import pytest

from catalog.releases import (
    StateConflict,
    create_dataset,
    create_release,
    gate_release,
    publish_release,
)
from tests.releases.support import feature_table, write_release_folder, write_splits


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_real_gate_blocks_a_release_that_copies_the_training_rows(
    storage, tmp_path
):
    pytest.importorskip("catalog.gate.run")
    real, control = write_splits(tmp_path / "source", seed=1)
    copied = feature_table(1)  # the very rows of the training split
    folder = write_release_folder(tmp_path / "out", 7, (real, control), copied)
    actor = storage.actors.ana
    with storage.sessions() as session:
        create_dataset(session, actor, "ecg-adults", "Synthetic adult ECGs")
        release = create_release(
            session, storage.settings, actor, "ecg-adults", folder=folder
        )
    with storage.sessions() as session:
        report = gate_release(session, storage.settings, actor, release.id)
    assert not report.passed
    assert report.content_digest == release.content_digest
    assert report.report["blocked_by"], report.report
    assert {r["evaluator"] for r in report.report["privacy"]} >= {"linkability"}
    with storage.sessions() as session, pytest.raises(StateConflict, match="blocked"):
        publish_release(session, storage.settings, actor, release.id)
