"""Example records for documentation, tests and benchmarks.

They describe nothing real: the organisation and URLs live under
``example.org``, the ORCID iD is ORCID's own test identity (Josiah Carberry)
the checksums are digests of the text ``example {n}``. The health themes are
the MeSH headings Bundle-Branch Block and Electrocardiography, and the coding
system is Wikidata's MeSH descriptor property.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from metadata.model import (
    Activity,
    Catalog,
    CohortSpec,
    Column,
    ContactPoint,
    DataService,
    Dataset,
    Distribution,
    Licence,
    Organization,
    Person,
    Policy,
    QualityMeasurement,
    Release,
    SoftwareAgent,
    Table,
    Withdrawal,
    concept_identifier,
    release_identifier,
)

EXAMPLE_BASE = "https://cardiofair.example.org"
EXAMPLE_PREFIX = "10.5072"
_EPOCH = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def _digest(n: int) -> str:
    return hashlib.sha256(f"example {n}".encode()).hexdigest()


def example_publisher() -> Organization:
    """An example publishing organisation with a contact desk."""
    return Organization(
        name="Example Cardiac Simulation Lab",
        homepage="https://lab.example.org",
        contact=ContactPoint(
            name="Data desk",
            email="data@lab.example.org",
            url="https://lab.example.org/contact",
        ),
    )


def example_dataset(n: int = 0, access_rights: str = "PUBLIC") -> Dataset:
    """Example dataset concept number ``n``."""
    slug = f"synthetic-ecg-{n}"
    return Dataset(
        slug=slug,
        identifier=concept_identifier(EXAMPLE_PREFIX, slug),
        title=f"Synthetic 12-lead ECG cohort {n}",
        description=(
            "Simulated 12-lead ECGs of virtual patients with bundle-branch "
            "blocks and healthy controls, with their parameters and labels."
        ),
        keywords=["ECG", "synthetic data", "bundle-branch block"],
        themes=["HEAL", "TECH"],
        publisher=example_publisher(),
        creators=[
            Person(
                given_name="Josiah",
                family_name="Carberry",
                orcid="https://orcid.org/0000-0002-1825-0097",
            ),
            Person(given_name="Ada", family_name="Example"),
        ],
        contact_point=ContactPoint(email="ecg@lab.example.org"),
        licence=Licence(spdx_id="CC-BY-4.0"),
        access_rights=access_rights,
        policy=Policy.for_research(["HMB", "PUB"]),
        health_categories=["DEVICE", "RESEARCH"],
        health_themes=[
            "http://id.nlm.nih.gov/mesh/D002037",
            "http://id.nlm.nih.gov/mesh/D004562",
        ],
        min_typical_age=18,
        max_typical_age=89,
        population_coverage="Virtual adults drawn from a fitted cohort model.",
        personal_data=[] if access_rights == "PUBLIC" else ["HealthRecord", "Age"],
        legal_basis=["A6-1-e", "A9-2-j"],
        purposes=["ScientificResearch"],
        duo_codes=["HMB", "PUB"],
        coding_systems=["http://www.wikidata.org/entity/P486"],
    )


def example_release(dataset: Dataset, version: int, withdrawn: bool = False) -> Release:
    """Example release ``version`` of ``dataset``."""
    base = f"{EXAMPLE_BASE}/dataset/{dataset.slug}/v{version}"
    issued = _EPOCH + timedelta(days=30 * (version - 1))
    files = [
        Distribution(
            title="WFDB records",
            access_url=base,
            download_url=None if withdrawn else f"{base}/files/records.zip",
            media_type="application/zip",
            byte_size=1_048_576 * version,
            sha256=_digest(version),
            conforms_to="WFDB",
        ),
        Distribution(
            title="Feature table",
            description="One row per virtual patient.",
            access_url=base,
            download_url=None if withdrawn else f"{base}/files/features.parquet",
            media_type="application/vnd.apache.parquet",
            byte_size=20_480,
            sha256=_digest(version + 1000),
            conforms_to="Parquet",
        ),
    ]
    return Release(
        version=version,
        identifier=release_identifier(EXAMPLE_PREFIX, dataset.slug, version),
        issued=issued,
        modified=issued + timedelta(hours=2),
        version_notes=f"Version {version}: 500 virtual patients.",
        distributions=files,
        activity=example_activity(dataset, version),
        quality=example_quality(),
        variables=[example_table()],
        number_of_records=500,
        number_of_unique_individuals=500,
        withdrawn=(
            Withdrawal(
                reason="Superseded after a labelling error.",
                at=issued + timedelta(days=3),
            )
            if withdrawn
            else None
        ),
    )


def example_activity(dataset: Dataset, version: int) -> Activity:
    """The example simulation run behind a release."""
    started = _EPOCH + timedelta(days=30 * (version - 1)) - timedelta(hours=3)
    return Activity(
        started=started,
        ended=started + timedelta(minutes=47),
        cohort_spec=CohortSpec(title="cohort.toml", sha256=_digest(-version)),
        source_dataset=f"{EXAMPLE_BASE}/dataset/source-ptbxl-like",
        engine=SoftwareAgent(name="cardiofair-engine", version="0.1.0"),
        parameters={"n_patients": 500, "fs_hz": 500.0, "pathology": "LBBB"},
        seed=20250301 + version,
    )


def example_quality() -> list[QualityMeasurement]:
    """Example gate scores."""
    return [
        QualityMeasurement(
            metric="singling_out_risk",
            dimension="privacy",
            value=0.021,
            definition="Upper bound of the 95% CI of anonymeter singling-out risk.",
        ),
        QualityMeasurement(
            metric="fidelity_score",
            dimension="fidelity",
            value=0.87,
            definition="sdmetrics quality report overall score.",
        ),
    ]


def example_table() -> Table:
    """The example feature table's variables."""
    return Table(
        title="features",
        columns=[
            Column(
                name="qrs_ms",
                title="QRS duration",
                description="QRS duration in milliseconds.",
                datatype="double",
            ),
            Column(
                name="label",
                title="SCP-ECG statement",
                description="Diagnostic label as a PTB-XL SCP-ECG code.",
                datatype="string",
            ),
        ],
    )


def example_catalog() -> Catalog:
    """The example catalog with its SPARQL and OAI-PMH services."""
    return Catalog(
        title="Example cardiac data catalog",
        description="Synthetic cardiac research data, gated for privacy.",
        publisher=example_publisher(),
        homepage=EXAMPLE_BASE,
        licence=Licence(spdx_id="CC0-1.0"),
        services=[
            DataService(
                slug="sparql",
                title="SPARQL endpoint",
                endpoint_url=f"{EXAMPLE_BASE}/sparql",
                conforms_to=["https://www.w3.org/TR/sparql11-protocol/"],
            ),
            DataService(
                slug="oai-pmh",
                title="OAI-PMH endpoint",
                endpoint_url=f"{EXAMPLE_BASE}/oai",
                conforms_to=["http://www.openarchives.org/OAI/2.0/"],
            ),
        ],
    )
