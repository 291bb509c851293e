"""The maintainers' API driven over HTTP against the running service."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from catalog.app import create_app
from catalog.auth import revoke_token
from catalog.routes.api_v1 import get_gate
from catalog.settings import load_settings
from tests.releases.support import (
    copying_gate,
    make_actors,
    write_release_folder,
    write_splits,
)
from tests.support.server import live_server


@dataclass
class Api:
    client: httpx.Client
    actors: object
    home: Path
    sessions: object

    def __iter__(self):
        return iter((self.client, self.actors, self.home))


@pytest.fixture
def api(release_env):
    """A live service with two organisations and a test-only gate."""
    settings = load_settings({**release_env, "CARDIOFAIR_MAX_UPLOAD_MB": "1"})
    app = create_app(settings, migrate=True)
    app.dependency_overrides[get_gate] = lambda: copying_gate
    actors = make_actors(app.state.sessions)
    with live_server(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield Api(client, actors, settings.home, app.state.sessions)
    app.state.engine.dispose()


def _auth(token):
    return {"Authorization": f"Bearer {token}"}


def _files(folder: Path):
    return [
        ("files", (p.relative_to(folder).as_posix(), p.read_bytes()))
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    ]


def _dataset(client, token, slug="ecg-adults"):
    body = {
        "slug": slug,
        "title": "Synthetic adult ECGs",
        "description": "Virtual patients simulated from a fitted cohort.",
        "keywords": ["ECG"],
        "license_id": "CC-BY-4.0",
    }
    return client.post("/api/v1/datasets", json=body, headers=_auth(token))


def _upload(client, token, home, tmp_path, slug="ecg-adults"):
    write_splits(home / "sources")
    folder = write_release_folder(tmp_path / "out")
    return client.post(
        f"/api/v1/datasets/{slug}/releases",
        files=_files(folder),
        data={"version_notes": "first cohort"},
        headers=_auth(token),
    )


def _gate(client, token, release_id):
    body = {"real": "sources/real_train.csv", "control": "sources/control.csv"}
    return client.post(
        f"/api/v1/releases/{release_id}/gate", json=body, headers=_auth(token)
    )


def test_a_maintainer_publishes_and_withdraws_a_release_over_http(api, tmp_path):
    client, actors, home = api
    token = actors.ana_token
    created = _dataset(client, token)
    assert created.status_code == 201, created.text
    assert created.json()["identifier"] == "10.5072/cardiofair/ecg-adults"

    upload = _upload(client, token, home, tmp_path)
    assert upload.status_code == 201, upload.text
    release = upload.json()
    paths = [f["path"] for f in release["files"]]
    assert "records/p0001.hea" in paths and "features.csv" in paths
    assert release["state"] == "draft" and release["version"] == 1

    gated = _gate(client, token, release["id"])
    assert gated.status_code == 200, gated.text
    assert gated.json()["state"] == "passed" and gated.json()["gate"]["current"]

    published = client.post(
        f"/api/v1/releases/{release['id']}/publish", headers=_auth(token)
    )
    assert published.status_code == 200, published.text
    assert published.json()["identifier"] == "10.5072/cardiofair/ecg-adults.v1"

    withdrawn = client.post(
        f"/api/v1/releases/{release['id']}/withdraw",
        json={"reason": "superseded by a corrected cohort"},
        headers=_auth(token),
    )
    assert withdrawn.json()["state"] == "withdrawn"
    shown = client.get(f"/api/v1/releases/{release['id']}", headers=_auth(token))
    assert shown.json()["withdrawn_reason"] == "superseded by a corrected cohort"
    audit = client.get("/api/v1/datasets/ecg-adults/audit", headers=_auth(token))
    actions = [(e["action"], e["outcome"]) for e in reversed(audit.json())]
    assert actions == [
        ("dataset.create", "ok"),
        ("release.create", "ok"),
        ("release.gate", "ok"),
        ("release.publish", "ok"),
        ("release.withdraw", "ok"),
    ]


def _audit(client, token):
    response = client.get("/api/v1/datasets/ecg-adults/audit", headers=_auth(token))
    return response.json()


def test_tokens_that_are_missing_malformed_revoked_or_foreign_are_refused(
    api, tmp_path
):
    client, actors, home = api
    _dataset(client, actors.ana_token)
    release_id = _upload(client, actors.ana_token, home, tmp_path).json()["id"]
    publish = f"/api/v1/releases/{release_id}/publish"

    missing = client.post(publish)
    assert missing.status_code == 401
    assert missing.json() == {
        "detail": "an API token is required (Authorization: Bearer cf_...)"
    }
    malformed = client.post(publish, headers=_auth("not-a-token"))
    assert malformed.status_code == 401
    assert "malformed" in malformed.json()["detail"]
    foreign = client.post(publish, headers=_auth(actors.bob_token))
    assert foreign.status_code == 403
    assert "belongs to another organisation" in foreign.json()["detail"]

    with api.sessions() as session, session.begin():
        revoke_token(session, actors.bob_token.split("_")[1])
    revoked = client.post(publish, headers=_auth(actors.bob_token))
    assert revoked.status_code == 401
    assert revoked.json() == {"detail": "the API token has been revoked"}

    refused = [
        (e["actor"], e["reason"])
        for e in _audit(client, actors.ana_token)
        if e["outcome"] == "refused" and e["action"] == "release.publish"
    ]
    reasons = [reason for _, reason in refused]
    assert any("required" in r for r in reasons)
    assert any("malformed" in r for r in reasons)
    assert any("revoked" in r for r in reasons)
    assert any(actor == "bob@other.example" for actor, _ in refused)


def test_state_conflicts_are_409_and_audited(api, tmp_path):
    client, actors, home = api
    token = actors.ana_token
    _dataset(client, token)
    release_id = _upload(client, token, home, tmp_path).json()["id"]
    publish = f"/api/v1/releases/{release_id}/publish"

    ungated = client.post(publish, headers=_auth(token))
    assert ungated.status_code == 409
    assert "has not been through the gate" in ungated.json()["detail"]

    _gate(client, token, release_id)
    changed = client.post(
        f"/api/v1/releases/{release_id}/files",
        files=[("files", ("notes.md", b"Methods in brief.\n"))],
        headers=_auth(token),
    )
    assert changed.status_code == 200 and changed.json()["state"] == "draft"
    stale = client.post(publish, headers=_auth(token))
    assert stale.status_code == 409
    assert "changed after the gate passed" in stale.json()["detail"]

    _gate(client, token, release_id)
    assert client.post(publish, headers=_auth(token)).status_code == 200
    late = client.patch(
        f"/api/v1/releases/{release_id}",
        json={"metadata": {"note": "late edit"}},
        headers=_auth(token),
    )
    assert late.status_code == 409
    assert "is published and cannot be changed" in late.json()["detail"]
    refused = [e["reason"] for e in _audit(client, token) if e["outcome"] == "refused"]
    assert len(refused) == 3


def test_bad_input_is_422_unknown_records_404_and_large_uploads_413(api, tmp_path):
    client, actors, home = api
    token = actors.ana_token
    bad = client.post(
        "/api/v1/datasets",
        json={"slug": "x", "title": "t", "license_id": "MIT-ish"},
        headers=_auth(token),
    )
    assert bad.status_code == 422
    assert "not a current SPDX licence id" in bad.json()["detail"]
    missing_field = client.post(
        "/api/v1/datasets", json={"slug": "x"}, headers=_auth(token)
    )
    assert missing_field.status_code == 422
    assert missing_field.json()["detail"] == "title: Field required"

    _dataset(client, token)
    escape = client.post(
        "/api/v1/datasets/ecg-adults/releases",
        files=[("files", ("../../etc/passwd", b"x"))],
        headers=_auth(token),
    )
    assert escape.status_code == 422 and "file path" in escape.json()["detail"]
    bad_json = client.post(
        "/api/v1/datasets/ecg-adults/releases",
        files=[("files", ("a.csv", b"x"))],
        data={"metadata": "{not json"},
        headers=_auth(token),
    )
    assert bad_json.status_code == 422 and "metadata" in bad_json.json()["detail"]

    unknown = client.get("/api/v1/releases/no-such-release", headers=_auth(token))
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "release 'no-such-release' does not exist"}

    big = b"0" * (1024 * 1024 + 1)
    too_large = client.post(
        "/api/v1/datasets/ecg-adults/releases",
        files=[("files", ("big.dat", big))],
        headers=_auth(token),
    )
    assert too_large.status_code == 413
    assert "larger than the limit" in too_large.json()["detail"]

    def chunks():  # no Content-Length: the limit must hold while streaming
        yield (
            b'--b\r\nContent-Disposition: form-data; name="files"; '
            b'filename="big.dat"\r\n\r\n'
        )
        for _ in range(4):
            yield b"x" * (400 * 1024)

    streamed = client.post(
        "/api/v1/datasets/ecg-adults/releases",
        content=chunks(),
        headers={**_auth(token), "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert streamed.status_code == 413
    shown = client.get("/api/v1/datasets/ecg-adults", headers=_auth(token))
    assert shown.json()["releases"] == []


def test_no_secret_leaves_through_the_api(api, tmp_path):
    client, actors, home = api
    _dataset(client, actors.ana_token)
    body = json.dumps(
        [
            client.get(
                "/api/v1/datasets/ecg-adults", headers=_auth(actors.ana_token)
            ).json(),
            _audit(client, actors.ana_token),
        ]
    )
    secret = actors.ana_token.split("_", 2)[2]
    assert secret not in body
