"""A synthetic catalog for tests and benchmarks.

Every value is made up and says so: organisations are "Synthetic ... Lab",
creators are fictional people with ORCID iDs whose check digit is valid but
that belong to nobody we know, files are content hashes of generated names.
One seeded generator decides everything, so a seed always gives the same
catalog.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.orm import Session

from catalog.db.models import (
    Dataset,
    Organization,
    Release,
    ReleaseFile,
    ReleaseState,
    new_id,
)
from catalog.records import version_identifier
from catalog.settings import Settings

ORGANISATIONS = (
    ("north-synthetic-ecg-lab", "North Synthetic ECG Lab"),
    ("virtual-heart-consortium", "Virtual Heart Consortium (synthetic)"),
    ("demo-cardiology-institute", "Demo Cardiology Institute"),
)
PATHOLOGIES = (
    "normal sinus rhythm",
    "left bundle branch block",
    "right bundle branch block",
    "first-degree AV block",
    "anterior myocardial infarction",
    "left ventricular hypertrophy",
    "atrial fibrillation",
)
LICENCES = ("CC-BY-4.0", "CC0-1.0", "CC-BY-NC-4.0")
GIVEN = ("Ada", "Bram", "Chiara", "Dmitri", "Elif", "Farah", "Goran", "Hana")
FAMILY = ("Example", "Testwell", "Placeholder", "Mockford", "Sample", "Fictus")
START = datetime(2023, 1, 2, 9, 0, 0, tzinfo=UTC)


@dataclass
class Populated:
    """What :func:`populate` made, for assertions."""

    organisations: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    restricted: list[str] = field(default_factory=list)
    withdrawn: list[tuple[str, int]] = field(default_factory=list)
    n_published: int = 0

    @property
    def n_visible(self) -> int:
        """Published plus withdrawn releases: the OAI-PMH items."""
        return self.n_published + len(self.withdrawn)


def orcid_check_digit(base: str) -> str:
    """ISO 7064 MOD 11-2 check character of the 15 ORCID digits."""
    total = 0
    for digit in base:
        total = (total + int(digit)) * 2
    result = (12 - total % 11) % 11
    return "X" if result == 10 else str(result)


def fake_orcid(rng: random.Random) -> str:
    base = "0000000" + "".join(str(rng.randrange(10)) for _ in range(8))
    digits = base + orcid_check_digit(base)
    return "-".join(digits[i : i + 4] for i in range(0, 16, 4))


def _creators(rng: random.Random) -> list[dict]:
    return [
        {
            "name": f"{rng.choice(FAMILY)}, {rng.choice(GIVEN)}",
            "orcid": fake_orcid(rng),
            "affiliation": "Synthetic data team",
        }
        for _ in range(rng.randint(1, 3))
    ]


def _files(rng: random.Random, release_id: str, restricted: bool) -> list[dict]:
    names = [
        ("features.csv", "text/csv", "data"),
        ("records.zip", "application/zip", "data"),
        ("manifest.json", "application/json", "documentation"),
    ]
    rows = []
    for name, media, role in names:
        digest = hashlib.sha256(f"{release_id}/{name}".encode()).hexdigest()
        rows.append(
            {
                "id": new_id(),
                "release_id": release_id,
                "path": name,
                "sha256": digest,
                "size_bytes": rng.randint(2_000, 900_000_000),
                "media_type": media,
                "role": role,
                "restricted": restricted and role == "data",
            }
        )
    return rows


def _dataset_row(rng, index: int, org_ids: list[str], moment: datetime) -> dict:
    pathology = PATHOLOGIES[index % len(PATHOLOGIES)]
    restricted = index % 5 == 4
    n_patients = rng.choice((500, 1_000, 2_000, 10_000))
    kind = "source" if restricted else "synthetic"
    title = (
        f"Restricted source ECGs, {pathology} (demo {index:06d})"
        if restricted
        else f"Synthetic 12-lead ECG cohort: {pathology} ({n_patients} virtual "
        f"patients, set {index:06d})"
    )
    return {
        "id": new_id(),
        "slug": f"{'source' if restricted else 'synthetic'}-ecg-{index:06d}",
        "organization_id": org_ids[index % len(org_ids)],
        "kind": kind,
        "title": title,
        "description": (
            f"Stand-in for a restricted source of 12-lead ECGs with {pathology}: "
            "its metadata is public, its data files are not. Made up for tests."
            if restricted
            else f"Simulated 12-lead ECGs at 500 Hz of virtual patients with "
            f"{pathology}, produced by the cardiofair engine for tests. No "
            "record describes a real person."
        ),
        "keywords": ["ECG", "synthetic data", pathology],
        "themes": ["HEAL"] if index % 3 else ["HEAL", "TECH"],
        "access_rights": "restricted" if restricted else "public",
        "license_id": LICENCES[index % len(LICENCES)],
        "extra": {"pathology": pathology, "n_patients": n_patients},
        "created_at": moment,
        "modified_at": moment,
    }


def _release_rows(rng, dataset: dict, moment: datetime, withdraw: bool):
    releases, files = [], []
    n_versions = rng.randint(2 if withdraw else 1, 3)
    for version in range(1, n_versions + 1):
        moment += timedelta(days=rng.randint(3, 60), seconds=rng.randint(0, 86399))
        release_id = new_id()
        state = ReleaseState.PUBLISHED.value
        withdrawn_at = reason = None
        if withdraw and version == 1:
            state = ReleaseState.WITHDRAWN.value
            withdrawn_at = moment + timedelta(days=2, microseconds=123_456)
            reason = "Superseded after a labelling error in the demo generator."
        releases.append(
            {
                "id": release_id,
                "dataset_id": dataset["id"],
                "version": version,
                "state": state,
                "identifier": None,
                "version_notes": f"Version {version}: regenerated with seed {version}.",
                "content_digest": hashlib.sha256(release_id.encode()).hexdigest(),
                "metadata_": {
                    "creators": _creators(rng),
                    "n_records": dataset["extra"]["n_patients"],
                },
                "created_at": moment,
                "modified_at": withdrawn_at or moment + timedelta(microseconds=654_321),
                "published_at": moment + timedelta(microseconds=654_321),
                "withdrawn_at": withdrawn_at,
                "withdrawn_reason": reason,
            }
        )
        files += _files(rng, release_id, dataset["access_rights"] != "public")
    return releases, files


def populate(
    session: Session, settings: Settings, n_datasets: int = 24, seed: int = 7
) -> Populated:
    """Fill an empty database with a synthetic catalog.

    Parameters
    ----------
    n_datasets : int
        How many datasets; each has one to three releases and every fifth is
        a restricted source whose data files are restricted. The dataset with
        index 1 has its first release withdrawn (a tombstone).
    seed : int
        Seed of the one generator behind every value.

    The session is flushed, not committed.
    """
    rng = random.Random(seed)
    out = Populated()
    org_rows = [
        {
            "id": new_id(),
            "slug": slug,
            "name": name,
            "description": f"{name}: demo.",
            "homepage": f"https://example.org/{slug}",
            "email": f"data@{slug}.example",
            "ror": None,
            "gate_thresholds": {},
            "created_at": START,
        }
        for slug, name in ORGANISATIONS
    ]
    session.execute(insert(Organization), org_rows)
    out.organisations = [row["slug"] for row in org_rows]
    org_ids = [row["id"] for row in org_rows]
    datasets, releases, files = [], [], []
    for index in range(n_datasets):
        moment = START + timedelta(minutes=7 * index, seconds=index % 59)
        dataset = _dataset_row(rng, index, org_ids, moment)
        rows, file_rows = _release_rows(rng, dataset, moment, withdraw=index == 1)
        for row in rows:
            row["identifier"] = version_identifier(
                settings, dataset["slug"], row["version"]
            )
            if row["state"] == ReleaseState.WITHDRAWN.value:
                out.withdrawn.append((dataset["slug"], row["version"]))
            else:
                out.n_published += 1
        dataset["modified_at"] = rows[-1]["modified_at"]
        datasets.append(dataset)
        releases += rows
        files += file_rows
        out.datasets.append(dataset["slug"])
        if dataset["access_rights"] != "public":
            out.restricted.append(dataset["slug"])
    _insert(session, Dataset, datasets)
    _insert(session, Release, releases)
    _insert(session, ReleaseFile, files)
    session.flush()
    return out


def _insert(session: Session, model, rows: list[dict], chunk: int = 5_000) -> None:
    for start in range(0, len(rows), chunk):
        session.execute(insert(model), rows[start : start + chunk])
