"""A FABRICATED stand-in source for demonstrations and tests.

No real person is behind any row. The table imitates the *published
population statistics* of PTB-XL (Wagner et al., Sci Data 7:154, 2020: about
21,800 records, 52% male, median age about 62 years, the statement counts
below) with the interval norms collected in the project's field notes (PR
158 +- 34 ms, QRS 85 +- 8 ms, rate-adjusted QT 413 +- 14 ms, RR 882 ms, axis
-30 to +90 degrees). Per-class shifts (a long PR in 1AVB, a broad QRS in
bundle-branch block, a left axis in LAFB, no PR in AFIB) are textbook
assumptions, not measurements. The metadata written beside the table says
all this, so nothing downstream can mistake it for a real source.

The layout matches what ``cardiofair ingest`` writes for a source folder:
``features.parquet``, ``features.csv``, ``quality.json`` and ``source.json``.
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from engine.atomic import write_bytes, write_text
from engine.cohort.labels import diagnostic_class

log = logging.getLogger(__name__)

#: Approximate PTB-XL record counts of the statements the demo uses
#: (one primary statement per fabricated record).
STATEMENT_COUNTS = {
    "NORM": 9528,
    "IMI": 2685,
    "ASMI": 2363,
    "LVH": 2137,
    "LAFB": 1626,
    "AFIB": 1514,
    "PVC": 1146,
    "1AVB": 797,
    "CRBBB": 542,
    "CLBBB": 536,
    "LAO/LAE": 427,
    "LMI": 201,
}


@dataclass(frozen=True)
class ClassNorms:
    """Assumed per-class means and SDs: PR, QRS, QTc in ms, axis in degrees,
    heart rate in 1/min, age in years."""

    pr: tuple[float, float] | None = (158.0, 22.0)
    qrs: tuple[float, float] = (88.0, 9.0)
    qtc: tuple[float, float] = (413.0, 16.0)
    axis: tuple[float, float] = (45.0, 28.0)
    hr: tuple[float, float] = (68.0, 11.0)
    age: tuple[float, float] = (58.0, 17.0)


NORMS = {
    "NORM": ClassNorms(age=(52.0, 17.0)),
    "IMI": ClassNorms(qrs=(94.0, 11.0), qtc=(428.0, 22.0), axis=(-15.0, 35.0),
                      age=(66.0, 12.0)),
    "ASMI": ClassNorms(qrs=(96.0, 11.0), qtc=(430.0, 22.0), axis=(30.0, 35.0),
                       age=(65.0, 12.0)),
    "LMI": ClassNorms(qrs=(96.0, 11.0), qtc=(430.0, 22.0), axis=(60.0, 35.0),
                      age=(66.0, 12.0)),
    "LVH": ClassNorms(pr=(166.0, 24.0), qrs=(100.0, 10.0), qtc=(428.0, 20.0),
                      axis=(15.0, 30.0), age=(64.0, 13.0)),
    "LAFB": ClassNorms(qrs=(102.0, 9.0), qtc=(422.0, 18.0), axis=(-55.0, 12.0),
                       age=(68.0, 12.0)),
    "AFIB": ClassNorms(pr=None, qrs=(92.0, 11.0), qtc=(430.0, 22.0),
                       axis=(35.0, 35.0), hr=(92.0, 20.0), age=(72.0, 11.0)),
    "PVC": ClassNorms(age=(64.0, 14.0)),
    "1AVB": ClassNorms(pr=(236.0, 26.0), qrs=(94.0, 10.0), qtc=(420.0, 20.0),
                       age=(68.0, 12.0)),
    "CRBBB": ClassNorms(qrs=(140.0, 12.0), qtc=(435.0, 22.0), axis=(60.0, 40.0),
                        age=(68.0, 13.0)),
    "CLBBB": ClassNorms(pr=(172.0, 26.0), qrs=(152.0, 14.0), qtc=(462.0, 25.0),
                        axis=(-10.0, 35.0), age=(70.0, 11.0)),
    "LAO/LAE": ClassNorms(pr=(178.0, 24.0), age=(63.0, 13.0)),
}  # fmt: skip

#: Share of men among the records, and assumed sex and age effects on QTc.
MALE_SHARE = 0.52
QTC_FEMALE_SHIFT_MS = 10.0
QTC_PER_YEAR_MS = 0.25
MISSING_SHARE = 0.02

FABRICATED_NOTICE = (
    "FABRICATED demonstration source: every row was drawn at random from "
    "published PTB-XL population statistics and textbook interval norms. "
    "It describes no real person and must not be used as clinical evidence."
)


def _draw_class(rng: np.random.Generator, code: str, n: int) -> pd.DataFrame:
    norms = NORMS[code]
    sex = np.where(rng.random(n) < MALE_SHARE, "M", "F")
    age = np.clip(np.round(rng.normal(*norms.age, n)), 18, 95)
    hr_mean, hr_sd = norms.hr
    sigma = np.sqrt(np.log1p((hr_sd / hr_mean) ** 2))
    hr = np.exp(rng.normal(np.log(hr_mean) - 0.5 * sigma**2, sigma, n))
    qtc = rng.normal(*norms.qtc, n)
    qtc += np.where(sex == "F", QTC_FEMALE_SHIFT_MS, 0.0)
    qtc += QTC_PER_YEAR_MS * (age - 60.0)
    rr_s = 60.0 / hr
    pr = np.full(n, np.nan) if norms.pr is None else rng.normal(*norms.pr, n)
    return pd.DataFrame(
        {
            "age": age.astype(int),
            "sex": sex,
            "heart_rate_bpm": hr.round(1),
            "pr_ms": np.round(pr),
            "qrs_ms": np.round(rng.normal(*norms.qrs, n)),
            "qt_ms": np.round(qtc * np.sqrt(rr_s)),
            "qtc_ms": np.round(qtc),
            "axis_deg": np.round(np.clip(rng.normal(*norms.axis, n), -179, 180)),
            "labels": code,
        }
    )


def _finish(table: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    table = table.sample(frac=1.0, random_state=rng.integers(2**31)).reset_index(
        drop=True
    )
    for column in ("pr_ms", "qrs_ms", "qt_ms", "axis_deg"):
        table.loc[rng.random(len(table)) < MISSING_SHARE, column] = np.nan
    table["age"] = table["age"].clip(upper=90)
    band = (table["age"] // 10 * 10).astype(int)
    table["age_band"] = np.where(
        table["age"] >= 90, "90+", band.astype(str) + "-" + (band + 9).astype(str)
    )
    table.insert(0, "record_id", [f"demo-{i + 1:05d}" for i in range(len(table))])
    table.insert(
        1, "patient_id", [f"demo-patient-{i + 1:05d}" for i in range(len(table))]
    )
    table.insert(2, "source_format", "fabricated")
    table["diagnostic_superclasses"] = table["labels"].map(diagnostic_class)
    table["interval_source"] = "fabricated"
    columns = [
        "record_id", "patient_id", "source_format", "age", "age_band", "sex",
        "heart_rate_bpm", "pr_ms", "qrs_ms", "qt_ms", "qtc_ms", "axis_deg",
        "labels", "diagnostic_superclasses", "interval_source",
    ]  # fmt: skip
    return table[columns]


def fabricate_table(n: int, seed: int = 0) -> pd.DataFrame:
    """Draw ``n`` fabricated feature rows, one per record and patient.

    Parameters
    ----------
    n : int
        Number of rows (at least 100 so that every class is present).
    seed : int

    Returns
    -------
    DataFrame
        The columns of an ingested source's feature table; intervals in ms,
        heart rate in 1/min, axis in degrees, age in whole years capped at 90.
    """
    if n < 100:
        raise ValueError(f"a demo source needs at least 100 rows, got {n}")
    rng = np.random.default_rng(seed)
    total = sum(STATEMENT_COUNTS.values())
    codes = list(STATEMENT_COUNTS)
    counts = rng.multinomial(n, [STATEMENT_COUNTS[c] / total for c in codes])
    parts = [
        _draw_class(rng, code, k) for code, k in zip(codes, counts, strict=True) if k
    ]
    return _finish(pd.concat(parts, ignore_index=True), rng)


def _quality(table: pd.DataFrame) -> dict:
    return {
        "fabricated": True,
        "records": len(table),
        "class_balance": table["labels"].value_counts().sort_index().to_dict(),
        "sex_balance": table["sex"].value_counts().sort_index().to_dict(),
        "age_bands": table["age_band"].value_counts().sort_index().to_dict(),
        "missing": {c: int(table[c].isna().sum()) for c in table.columns},
    }


def write_demo_source(folder: str | Path, n: int = 5000, seed: int = 0) -> Path:
    """Write a fabricated source folder (features, quality, source metadata).

    Every file is written atomically; ``source.json`` carries
    ``"fabricated": true`` and :data:`FABRICATED_NOTICE`.

    Returns
    -------
    Path
        The folder.
    """
    folder = Path(folder)
    table = fabricate_table(n, seed)
    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False)
    write_bytes(folder / "features.parquet", buffer.getvalue())
    write_text(folder / "features.csv", table.to_csv(index=False))
    write_text(folder / "quality.json", json.dumps(_quality(table), indent=2) + "\n")
    source = {
        "name": "fabricated-ptbxl-like-demo",
        "fabricated": True,
        "notice": FABRICATED_NOTICE,
        "records": len(table),
        "seed": seed,
        "based_on": [
            "PTB-XL population statistics (Wagner et al., Sci Data 7:154, 2020)",
            "interval norms: WHI (PR 158+-34, QRS 85+-8, QTc 413+-14 ms), "
            "MedalCare-XL means (QT 402, RR 882 ms)",
        ],
        "statement_counts": STATEMENT_COUNTS,
    }
    write_text(folder / "source.json", json.dumps(source, indent=2) + "\n")
    log.info("wrote a fabricated demo source of %d rows to %s", len(table), folder)
    return folder
