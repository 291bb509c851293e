"""Builders shared by the release tests: storage, actors, release folders."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from catalog import releases
from catalog.auth import create_organization, create_user, issue_token
from catalog.db.models import Release
from catalog.releases import GateInputs, GateVerdict, principal_for
from catalog.settings import Settings

FEATURES = ["age", "sex", "heart_rate_bpm", "qrs_ms", "qt_ms", "label"]


@dataclass
class Actors:
    """Two organisations: ``lab`` (admin Ana, maintainer Max) and ``other``."""

    ana: object
    max: object
    bob: object
    ana_token: str
    bob_token: str


def make_actors(sessions) -> Actors:
    with sessions() as session, session.begin():
        lab = create_organization(session, "lab", "Cardio Lab")
        other = create_organization(session, "other", "Other Lab")
        ana = create_user(session, "ana@lab.example", "Ana", lab, "admin")
        mx = create_user(session, "max@lab.example", "Max", lab, "maintainer")
        bob = create_user(session, "bob@other.example", "Bob", other, "admin")
        _, ana_token = issue_token(session, ana, "tests")
        _, bob_token = issue_token(session, bob, "tests")
        return Actors(
            principal_for(ana),
            principal_for(mx),
            principal_for(bob),
            ana_token,
            bob_token,
        )


def feature_table(seed: int, n_rows: int = 120) -> pd.DataFrame:
    """Feature rows drawn independently from fixed distributions."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(20, 85, n_rows),
            "sex": rng.choice(["F", "M"], n_rows),
            "heart_rate_bpm": rng.normal(70, 10, n_rows).round(1),
            "qrs_ms": rng.normal(95, 12, n_rows).round(1),
            "qt_ms": rng.normal(400, 25, n_rows).round(1),
            "label": rng.choice(["NORM", "LBBB", "MI"], n_rows),
        }
    )


def write_splits(folder: Path, seed: int = 1) -> tuple[Path, Path]:
    """A real training split and a control split, as a source would record."""
    folder.mkdir(parents=True, exist_ok=True)
    real, control = folder / "real_train.csv", folder / "control.csv"
    feature_table(seed).to_csv(real, index=False)
    feature_table(seed + 1).to_csv(control, index=False)
    return real, control


def write_release_folder(
    folder: Path,
    seed: int = 7,
    splits: tuple[Path, Path] | None = None,
    features: pd.DataFrame | None = None,
) -> Path:
    """A simulation output: two records, a feature table and a manifest."""
    (folder / "records").mkdir(parents=True, exist_ok=True)
    table = feature_table(seed + 100) if features is None else features
    table.to_csv(folder / "features.csv", index=False)
    for n in (1, 2):
        (folder / "records" / f"p{n:04d}.hea").write_text(
            f"p{n:04d} 12 500 5000\n# virtual patient {n}\n"
        )
        (folder / "records" / f"p{n:04d}.dat").write_bytes(bytes([n]) * 2048)
    manifest = {
        "spec": {"cohort": "adult-normal", "n": len(table)},
        "seed": seed,
        "engine_version": "0.1.0",
    }
    if splits is not None:
        manifest["source"] = {"real_train": str(splits[0]), "control": str(splits[1])}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def copying_gate(inputs: GateInputs) -> GateVerdict:
    """Test-only gate: blocks when a synthetic row copies a real one exactly.

    It is injected explicitly by lifecycle tests that are about the
    lifecycle, not about the production gate's verdicts.
    """
    real = pd.read_csv(inputs.real)
    synthetic = pd.read_csv(inputs.synthetic)
    copies = len(synthetic.merge(real.drop_duplicates(), how="inner"))
    reasons = [f"{copies} synthetic rows copy real rows"] if copies else []
    return GateVerdict(
        passed=not copies, report={"copied_rows": copies, "blocked_by": reasons}
    )


def publish_folder(
    sessions, settings: Settings, actor, slug: str, folder: Path, splits
) -> Release:
    """Create, gate (with the test-only gate) and publish one release."""
    with sessions() as session:
        release = releases.create_release(session, settings, actor, slug, folder=folder)
        release_id = release.id
    with sessions() as session:
        releases.gate_release(
            session,
            settings,
            actor,
            release_id,
            real=splits[0],
            control=splits[1],
            gate=copying_gate,
        )
    with sessions() as session:
        return releases.publish_release(session, settings, actor, release_id)
