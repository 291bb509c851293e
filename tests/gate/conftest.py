"""Gate reports computed once per scenario and shared by the tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from catalog.gate import run_gate
from tests.gate.cohort import cohort, noisy_copy, with_copied_outliers

DATA = Path(__file__).parent.parent / "data"

#: Rows per table and attacks per evaluator: large enough that a perfect
#: generator's 95% upper bounds stay under the default thresholds.
ROWS, ATTACKS, SEED = 1500, 1000, 7

CLEAN_RECORD = {
    "@context": {
        "dct": "http://purl.org/dc/terms/",
        "dcat": "http://www.w3.org/ns/dcat#",
    },
    "@type": "dcat:Dataset",
    "dct:title": "Synthetic adult 12-lead ECG features",
    "dct:description": "Virtual patients drawn from a cohort model fitted to "
    "adult resting ECGs; intervals in milliseconds, ages in years.",
    "dct:issued": "2026-11-30",
    "dct:creator": {"foaf:name": "Dr. Ada Researcher", "foaf:mbox": "ada@example.org"},
    "dcat:keyword": ["ECG", "synthetic", "QT interval"],
    "dct:temporal": {"dcat:startDate": "2019", "dcat:endDate": "2023"},
    "healthdcatap:numberOfRecords": 1500,
    "populationStatistics": [
        {"sex": "F", "ageGroup": "18-64", "count": 540},
        {"sex": "M", "ageGroup": "18-64", "count": 580},
        {"sex": "F", "ageGroup": "65+", "count": 190},
        {"sex": "M", "ageGroup": "65+", "count": 190},
    ],
    "prov:wasDerivedFrom": {"@id": "https://doi.org/10.13026/C28C71"},
}


@pytest.fixture(scope="session")
def tables():
    return cohort(ROWS, SEED)


@pytest.fixture(scope="session")
def fresh_report(tables):
    real, control, synthetic = tables
    return run_gate(
        real,
        control,
        synthetic,
        metadata=CLEAN_RECORD,
        seed=SEED,
        n_attacks=ATTACKS,
        n_jobs=1,
    )


@pytest.fixture(scope="session")
def noisy_report(tables):
    real, control, _ = tables
    return run_gate(
        real,
        control,
        noisy_copy(real, SEED),
        seed=SEED,
        n_attacks=ATTACKS,
        n_jobs=1,
    )


@pytest.fixture(scope="session")
def outlier_report(tables):
    real, control, synthetic = tables
    return run_gate(
        real,
        control,
        with_copied_outliers(real, synthetic),
        seed=SEED,
        n_attacks=ATTACKS,
        n_jobs=1,
    )


@pytest.fixture(scope="session")
def headers_dir(tmp_path_factory):
    """A release folder holding the real PhysioNet WFDB headers."""
    folder = tmp_path_factory.mktemp("release")
    for header in sorted((DATA / "physionet").glob("*.hea")):
        shutil.copy(header, folder / header.name)
    return folder
