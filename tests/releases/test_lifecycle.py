"""The release lifecycle through catalog.releases, on SQLite and PostgreSQL."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from catalog import releases
from catalog.db.models import AuditEvent, GateReport, Release
from catalog.filestore import FileStore
from catalog.releases import (
    Forbidden,
    InvalidRequest,
    StateConflict,
    content_digest,
    create_dataset,
    create_release,
    gate_release,
    publish_release,
    update_release,
    withdraw_release,
)
from tests.releases.support import (
    copying_gate,
    feature_table,
    write_release_folder,
    write_splits,
)


def _events(storage, release_id, action=None):
    with storage.sessions() as session:
        query = select(AuditEvent).where(AuditEvent.target_id == release_id)
        if action:
            query = query.where(AuditEvent.action == action)
        return list(session.scalars(query.order_by(AuditEvent.id)))


def _dataset(storage, slug="ecg-adults", actor=None):
    with storage.sessions() as session:
        return create_dataset(
            session,
            actor or storage.actors.ana,
            slug,
            "Synthetic adult ECGs",
            description="Virtual patients simulated from a fitted cohort.",
            keywords=["ECG", "synthetic"],
            license_id="CC-BY-4.0",
        )


def _draft(storage, tmp_path, seed=7, **kwargs):
    splits = write_splits(tmp_path / "source")
    folder = write_release_folder(tmp_path / f"out-{seed}", seed, splits, **kwargs)
    with storage.sessions() as session:
        return create_release(
            session, storage.settings, storage.actors.ana, "ecg-adults", folder=folder
        )


def _gate(storage, release_id, actor=None):
    with storage.sessions() as session:
        return gate_release(
            session,
            storage.settings,
            actor or storage.actors.ana,
            release_id,
            gate=copying_gate,
        )


def _publish(storage, release_id, actor=None):
    with storage.sessions() as session:
        return publish_release(
            session, storage.settings, actor or storage.actors.ana, release_id
        )


def test_a_release_goes_from_draft_through_the_gate_to_published_and_withdrawn(
    storage, tmp_path
):
    _dataset(storage)
    draft = _draft(storage, tmp_path)
    assert draft.version == 1 and draft.state == "draft"
    assert draft.metadata_["manifest"]["seed"] == 7

    report = _gate(storage, draft.id)
    assert report.passed and report.content_digest == draft.content_digest
    published = _publish(storage, draft.id)
    assert published.state == "published"
    assert published.identifier == "10.5072/cardiofair/ecg-adults.v1"
    assert published.metadata_["dataset"]["title"] == "Synthetic adult ECGs"
    pairs = [(f.path, f.sha256) for f in published.files]
    assert content_digest(pairs, published.metadata_) == published.content_digest

    with storage.sessions() as session:
        withdrawn = withdraw_release(
            session,
            storage.settings,
            storage.actors.ana,
            "ecg-adults/v1",
            "a cohort parameter was mis-specified",
        )
    assert withdrawn.state == "withdrawn"
    assert withdrawn.withdrawn_reason == "a cohort parameter was mis-specified"
    store = FileStore(storage.settings.files_dir)
    assert all(store.has(f.sha256) for f in withdrawn.files)
    actions = [(e.action, e.outcome) for e in _events(storage, draft.id)]
    assert actions == [
        ("release.create", "ok"),
        ("release.gate", "ok"),
        ("release.publish", "ok"),
        ("release.withdraw", "ok"),
    ]


def test_versions_increase_and_stored_files_are_shared(storage, tmp_path):
    _dataset(storage)
    first = _draft(storage, tmp_path, seed=7)
    second = _draft(storage, tmp_path, seed=8)
    assert (first.version, second.version) == (1, 2)
    shared = {f.path: f.sha256 for f in first.files}
    assert {f.path: f.sha256 for f in second.files}["records/p0001.dat"] == (
        shared["records/p0001.dat"]
    )


def test_publishing_without_a_passed_gate_is_refused_and_audited(storage, tmp_path):
    _dataset(storage)
    draft = _draft(storage, tmp_path)
    with pytest.raises(StateConflict, match="has not been through the gate"):
        _publish(storage, draft.id)
    refused = _events(storage, draft.id, "release.publish")
    assert [e.outcome for e in refused] == ["refused"]
    assert "has not been through the gate" in refused[0].reason
    assert refused[0].actor == "ana@lab.example"


def test_a_blocked_release_cannot_be_published(storage, tmp_path):
    _dataset(storage)
    real = feature_table(1)
    draft = _draft(storage, tmp_path, features=real.iloc[:60].copy())
    report = _gate(storage, draft.id)
    assert not report.passed
    with storage.sessions() as session:
        assert session.get(Release, draft.id).state == "blocked"
    with pytest.raises(StateConflict, match="the gate blocked"):
        _publish(storage, draft.id)
    assert _events(storage, draft.id, "release.publish")[0].outcome == "refused"


def test_changing_content_after_the_gate_voids_it(storage, tmp_path):
    _dataset(storage)
    draft = _draft(storage, tmp_path)
    _gate(storage, draft.id)
    extra = tmp_path / "notes.md"
    extra.write_text("Simulated with the default conduction model.\n")
    with storage.sessions() as session, open(extra, "rb") as stream:
        changed = update_release(
            session,
            storage.settings,
            storage.actors.max,
            draft.id,
            uploads=[("notes.md", stream)],
        )
    assert changed.state == "draft"
    assert changed.content_digest != draft.content_digest
    with pytest.raises(StateConflict, match="changed after the gate passed"):
        _publish(storage, draft.id)
    assert _events(storage, draft.id, "release.publish")[-1].outcome == "refused"
    assert _gate(storage, draft.id).passed
    assert _publish(storage, draft.id).state == "published"


def test_changing_dataset_metadata_after_the_gate_voids_it(storage, tmp_path):
    _dataset(storage)
    draft = _draft(storage, tmp_path)
    _gate(storage, draft.id)
    with storage.sessions() as session, session.begin():
        release = session.get(Release, draft.id)
        release.dataset.description = "Now naming a person: Dr Jane Roe."
    with pytest.raises(StateConflict, match="changed after the gate passed"):
        _publish(storage, draft.id)


def test_a_published_release_cannot_be_changed(storage, tmp_path):
    _dataset(storage)
    draft = _draft(storage, tmp_path)
    _gate(storage, draft.id)
    published = _publish(storage, draft.id)
    with storage.sessions() as session, pytest.raises(StateConflict) as caught:
        update_release(
            session,
            storage.settings,
            storage.actors.ana,
            draft.id,
            metadata={"note": "late edit"},
        )
    assert "is published and cannot be changed" in str(caught.value)
    with pytest.raises(StateConflict, match="is published and cannot be changed"):
        _gate(storage, draft.id)
    with pytest.raises(StateConflict, match="is published and cannot be changed"):
        _publish(storage, draft.id)
    with storage.sessions() as session:
        after = session.get(Release, draft.id)
        assert after.metadata_ == published.metadata_
        assert after.content_digest == published.content_digest
    outcomes = [(e.action, e.outcome) for e in _events(storage, draft.id)][-3:]
    assert outcomes == [
        ("release.update", "refused"),
        ("release.gate", "refused"),
        ("release.publish", "refused"),
    ]


def test_another_organisation_is_refused_and_audited(storage, tmp_path):
    _dataset(storage)
    draft = _draft(storage, tmp_path)
    _gate(storage, draft.id)
    with pytest.raises(Forbidden, match="belongs to another organisation"):
        _publish(storage, draft.id, actor=storage.actors.bob)
    event = _events(storage, draft.id, "release.publish")[0]
    assert (event.actor, event.outcome) == ("bob@other.example", "refused")
    with storage.sessions() as session:
        assert session.get(Release, draft.id).state == "passed"


def test_only_published_releases_can_be_withdrawn_and_a_reason_is_required(
    storage, tmp_path
):
    _dataset(storage)
    draft = _draft(storage, tmp_path)
    with storage.sessions() as session, pytest.raises(StateConflict):
        withdraw_release(session, storage.settings, storage.actors.ana, draft.id, "x")
    with storage.sessions() as session, pytest.raises(InvalidRequest, match="reason"):
        withdraw_release(session, storage.settings, storage.actors.ana, draft.id, "")


def test_a_dataset_needs_a_valid_slug_licence_and_access_right(storage):
    cases = [
        ({"slug": "Bad Slug"}, "slug 'Bad Slug'"),
        ({"license_id": "cc-by-4.0"}, "not a current SPDX licence id"),
        ({"access_rights": "secret"}, "access_rights 'secret'"),
        ({"title": "  "}, "title: expected a non-empty text"),
    ]
    for change, message in cases:
        fields = {"slug": "ok-slug", "title": "A title", **change}
        with storage.sessions() as session, pytest.raises(InvalidRequest) as caught:
            create_dataset(session, storage.actors.ana, **fields)
        assert message in str(caught.value)
    _dataset(storage)
    with pytest.raises(StateConflict, match="already exists"):
        _dataset(storage)


def test_bad_release_paths_are_refused_before_anything_is_recorded(storage, tmp_path):
    _dataset(storage)
    for bad in ("../escape.csv", "/abs.csv", "a//b.csv", "a\\b.csv", ""):
        with storage.sessions() as session, pytest.raises(InvalidRequest):
            create_release(
                session,
                storage.settings,
                storage.actors.ana,
                "ecg-adults",
                uploads=[(bad, io.BytesIO(b"age,sex\n"))],
            )
    with storage.sessions() as session:
        assert session.scalars(select(Release)).all() == []


def test_a_gate_report_is_tied_to_the_content_it_judged(storage, tmp_path):
    _dataset(storage)
    draft = _draft(storage, tmp_path)
    _gate(storage, draft.id)
    with storage.sessions() as session:
        reports = session.scalars(select(GateReport)).all()
    assert [r.content_digest for r in reports] == [draft.content_digest]


def test_a_failing_on_change_hook_does_not_undo_a_publication(
    storage, tmp_path, monkeypatch, caplog
):
    seen = []

    def broken(release_id):
        raise RuntimeError("index unavailable")

    monkeypatch.setattr(releases, "on_change", [broken, seen.append])
    _dataset(storage)
    draft = _draft(storage, tmp_path)
    _gate(storage, draft.id)
    assert _publish(storage, draft.id).state == "published"
    assert seen == [draft.id]
    assert "on_change hook" in caplog.text


def test_the_gate_scores_are_published_as_dqv_measurements(storage, tmp_path):
    from rdflib import URIRef

    from catalog import records
    from metadata.namespaces import DQV

    def scoring_gate(inputs):
        verdict = copying_gate(inputs)
        verdict.report["measurements"] = [
            {"metric": "privacy/linkability/ci_upper", "value": 0.02},
            {"metric": "gate/passed", "value": 1},
        ]
        return verdict

    _dataset(storage)
    draft = _draft(storage, tmp_path)
    with storage.sessions() as session:
        gate_release(
            session, storage.settings, storage.actors.ana, draft.id, gate=scoring_gate
        )
    published = _publish(storage, draft.id)
    pairs = [(f.path, f.sha256) for f in published.files]
    assert content_digest(pairs, published.metadata_) == published.content_digest
    with storage.sessions() as session:
        record = records.dataset_record(session, "ecg-adults", storage.settings)
        graph = records.dataset_graph(record, storage.settings)
    release = URIRef(records.release_uri(storage.settings, "ecg-adults", 1))
    values = {
        float(graph.value(m, DQV.value))
        for m in graph.objects(release, DQV.hasQualityMeasurement)
    }
    assert values == {0.02}
