"""A populated catalog served for real, shared by the web and browser tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from catalog import search
from catalog.app import create_app
from catalog.db.models import (
    Dataset,
    GateReport,
    Organization,
    Release,
    ReleaseFile,
    ReleaseState,
)
from catalog.filestore import FileStore
from catalog.records import version_identifier
from catalog.settings import Settings, load_settings
from tests.support.catalog_data import Populated, populate
from tests.support.server import free_port, live_server

PHYSIONET = Path(__file__).resolve().parents[2] / "data" / "physionet"
WAVEFORM_SLUG = "ptb-record-preview"
GATE_REPORT = {
    "passed": True,
    "reasons": [],
    "privacy": {
        "singling_out": {
            "evaluator": "singling_out",
            "risk": 0.012,
            "ci": [0.0, 0.041],
            "threshold": 0.1,
            "passed": True,
        },
    },
    "limitations": ["Utility was measured on one classifier only."],
}


@dataclass
class Site:
    base: str
    settings: Settings
    made: Populated


def add_waveform_release(session, settings: Settings) -> None:
    """A published release holding one real PTB record (s0010_re) as WFDB.

    The record is the PTB Diagnostic ECG Database's patient001, redistributed
    with wfdb-python's sample data; it gives the preview a real 12-lead trace.
    """
    store = FileStore(settings.files_dir)
    org = session.scalars(select(Organization).order_by(Organization.slug)).first()
    dataset = Dataset(
        slug=WAVEFORM_SLUG,
        organization_id=org.id,
        kind="source",
        title="One PTB Diagnostic ECG record for the waveform preview",
        description="Record s0010_re of the PTB Diagnostic ECG Database (ODC-By).",
        keywords=["ECG", "PTB"],
        themes=["HEAL"],
        access_rights="public",
        license_id="ODC-By-1.0",
        extra={"pathology": "myocardial infarction"},
    )
    session.add(dataset)
    session.flush()
    now = datetime.now(UTC)
    release = Release(
        dataset_id=dataset.id,
        version=1,
        state=ReleaseState.PUBLISHED.value,
        identifier=version_identifier(settings, WAVEFORM_SLUG, 1),
        version_notes="The record as PhysioNet distributes it.",
        metadata_={"creators": [{"name": "Bousseljot, Ralf", "orcid": None}]},
        published_at=now,
    )
    session.add(release)
    session.flush()
    for name, media in (
        ("s0010_re.hea", "text/plain"),
        ("s0010_re.dat", "application/octet-stream"),
    ):
        sha, size = store.put_file(PHYSIONET / name)
        session.add(
            ReleaseFile(
                release_id=release.id,
                path=f"records/{name}",
                sha256=sha,
                size_bytes=size,
                media_type=media,
                role="data",
            )
        )
    session.add(
        GateReport(
            release_id=release.id,
            content_digest="0" * 64,
            passed=True,
            report=GATE_REPORT,
        )
    )


def serve_catalog(home: Path, n_datasets: int):
    """Build the catalog under ``home`` and serve it; a context manager of Site."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = load_settings(
        {"CARDIOFAIR_HOME": str(home), "CARDIOFAIR_BASE_URL": base}
    )
    app = create_app(settings)
    with app.state.sessions() as session:
        made = populate(session, settings, n_datasets=n_datasets)
        add_waveform_release(session, settings)
        search.rebuild(session, settings.base_url)
        session.commit()
    return Site(base, settings, made), live_server(app, port)
