"""A seeded generative model of ECG feature tables, and the planted leaks.

Patients are drawn from correlated normals (a latent ``cardiac`` factor
drives rate, intervals and the diagnosis), rounded the way ECG machines
report them (whole years, beats per minute, milliseconds, degrees). All
values are invented; no row describes a real person.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DIAGNOSES = np.array(["NORM", "MI", "STTC", "CD", "HYP"])

COLUMNS = [
    "age",
    "sex",
    "height_cm",
    "weight_kg",
    "heart_rate_bpm",
    "p_duration_ms",
    "pr_ms",
    "qrs_ms",
    "qt_ms",
    "qtc_ms",
    "axis_deg",
    "diagnosis",
]


def draw(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Draw ``n`` independent virtual patients, shape (n, 12)."""
    female = rng.random(n) < 0.48
    age = np.clip(rng.normal(61, 14, n), 18, 89)
    cardiac = rng.normal(0, 1, n) + 0.02 * (age - 61)
    height = np.where(female, 163, 177) + rng.normal(0, 7, n)
    weight = 25 * (height / 100) ** 2 + rng.normal(0, 11, n) + 0.1 * (age - 61)
    heart_rate = np.clip(72 + 9 * rng.normal(0, 1, n) + 3 * cardiac, 38, 150)
    rr_s = 60 / heart_rate
    pr = 158 + 20 * rng.normal(0, 1, n) + 6 * cardiac + 0.3 * (age - 61)
    qrs = 92 + 10 * rng.normal(0, 1, n) + 5 * cardiac - 4 * female
    qtc = 415 + 17 * rng.normal(0, 1, n) + 8 * cardiac + 9 * female
    qt = qtc * np.sqrt(rr_s)
    axis = 40 + 28 * rng.normal(0, 1, n) - 0.4 * (age - 61) - 6 * cardiac
    p_duration = 100 + 11 * rng.normal(0, 1, n) + 0.15 * (age - 61)
    diagnosis = _diagnosis(cardiac, qrs, rng)
    return pd.DataFrame(
        {
            "age": np.round(age).astype(int),
            "sex": np.where(female, "F", "M"),
            "height_cm": np.round(height).astype(int),
            "weight_kg": np.round(weight).astype(int),
            "heart_rate_bpm": np.round(heart_rate).astype(int),
            "p_duration_ms": np.round(p_duration).astype(int),
            "pr_ms": np.round(pr).astype(int),
            "qrs_ms": np.round(qrs).astype(int),
            "qt_ms": np.round(qt).astype(int),
            "qtc_ms": np.round(qtc).astype(int),
            "axis_deg": np.round(axis).astype(int),
            "diagnosis": diagnosis,
        }
    )


def _diagnosis(cardiac: np.ndarray, qrs: np.ndarray, rng: np.random.Generator):
    logits = np.column_stack(
        [
            1.2 - 0.9 * cardiac,
            -0.6 + 0.6 * cardiac,
            -0.4 + 0.4 * cardiac,
            -1.0 + 0.08 * (qrs - 92),
            -1.2 + 0.5 * cardiac,
        ]
    )
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    u = rng.random(len(cardiac))[:, None]
    return DIAGNOSES[(p.cumsum(axis=1) < u).sum(axis=1).clip(0, 4)]


def cohort(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Training rows, control rows and fresh synthetic rows, ``n`` each."""
    rng = np.random.default_rng(seed)
    return draw(n, rng), draw(n, rng), draw(n, rng)


def noisy_copy(train: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The training rows with a little noise: what an overfitted model emits."""
    rng = np.random.default_rng(seed)
    out = train.copy()
    for column in out.columns:
        if pd.api.types.is_numeric_dtype(out[column]):
            jitter = rng.integers(-1, 2, len(out))
            out[column] = out[column] + jitter
    return out.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def with_copied_outliers(
    train: pd.DataFrame, synthetic: pd.DataFrame, share: float = 0.05
) -> pd.DataFrame:
    """Fresh synthetic rows where the most unusual training rows are pasted in.

    The training rows furthest from the centre (largest sum of squared
    z-scores) replace as many synthetic rows: a generator that memorised its
    outliers.
    """
    numeric = train.select_dtypes("number")
    z = (numeric - numeric.mean()) / numeric.std()
    k = int(round(share * len(synthetic)))
    outliers = train.loc[(z**2).sum(axis=1).nlargest(k).index]
    out = pd.concat([synthetic.iloc[k:], outliers], ignore_index=True)
    return out.reset_index(drop=True)
