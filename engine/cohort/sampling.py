"""Drawing virtual patients from a cohort spec with one seeded generator.

The whole cohort table is drawn up front (it is small: one row per patient)
from ``numpy.random.default_rng(seed)``, in a fixed order of draws, so that a
seed and a cohort size determine every row whatever machine or shard later
simulates it. Each row carries its own ``engine_seed`` for the simulation.
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd
from scipy import stats

from engine.cohort import distributions as dists
from engine.cohort.spec import FEATURE_UNITS, CohortSpec, Mapping, Rule

log = logging.getLogger(__name__)

#: Ages are whole years, pooled above this value (HIPAA Safe Harbor: 90+).
AGE_CAP_YEARS = 90
_BAND = re.compile(r"^(\d+)-(\d+)$|^(\d+)\+$")


def record_name(index: int) -> str:
    """The WFDB record name of patient ``index`` (0-based): ``p000001`` ..."""
    return f"p{index + 1:06d}"


def _ages(dist: dists.Distribution, u: np.ndarray, u_within: np.ndarray):
    if isinstance(dist, dists.Categorical):
        bands = dist.ppf(u)
        low = np.empty(len(u))
        high = np.empty(len(u))
        for i, band in enumerate(bands):
            m = _BAND.match(band)
            if m.group(3) is not None:
                low[i], high[i] = int(m.group(3)), AGE_CAP_YEARS
            else:
                low[i], high[i] = int(m.group(1)), int(m.group(2))
        years = low + np.floor(u_within * (high - low + 1))
    else:
        years = np.floor(dist.ppf(u))
    return np.clip(years, 0, AGE_CAP_YEARS).astype(np.int64)


def stratified_uniforms(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` uniforms with exactly one in each interval ``[i/n, (i+1)/n)``, in
    random order.

    Drawing categories through these keeps every category's count within one
    of ``n * p``, so a cohort's class mix matches the spec's prevalences
    instead of scattering around them by sampling noise.
    """
    return (rng.permutation(n) + rng.random(n)) / n


def _normal_scores(spec: CohortSpec, rng: np.random.Generator, n: int):
    # Independent standard normals for every feature; the copula variables
    # are then mixed by the Cholesky factor of their correlation matrix.
    names = list(FEATURE_UNITS)
    z = rng.standard_normal((n, len(names)))
    if spec.copula_variables:
        columns = [names.index(v) for v in spec.copula_variables]
        factor = np.linalg.cholesky(spec.correlation)
        z[:, columns] = z[:, columns] @ factor.T
    return {name: z[:, i] for i, name in enumerate(names)}


def _targets(spec: CohortSpec, codes: np.ndarray, scores: dict) -> dict:
    out = {}
    for feature, z in scores.items():
        u = stats.norm.cdf(z)
        values = np.full(len(codes), np.nan)
        for code in spec.classes:
            rows = codes == code
            dist = spec.marginal(code, feature)
            if dist is not None and rows.any():
                values[rows] = dist.ppf(u[rows])
        out[feature] = values
    return out


def _rule_mask(rule: Rule, table: pd.DataFrame) -> np.ndarray:
    mask = np.ones(len(table), dtype=bool)
    for name, value in rule.when.items():
        column = "labels" if name == "class" else name
        mask &= table[column].to_numpy() == value
    return mask


def apply_rules(rules: list[Rule], table: pd.DataFrame) -> None:
    """Add each rule's shift to its ``target_*`` column, in place.

    A constant rule adds ``add`` where its conditions hold; a slope rule adds
    ``slope * (age_years - reference)``. Missing targets stay missing.
    """
    for rule in rules:
        column = f"target_{rule.target}"
        mask = _rule_mask(rule, table)
        if rule.per:
            ages = table["age"].to_numpy(float)
            shift = rule.slope * (ages - rule.reference)
        else:
            shift = np.full(len(table), rule.add)
        table[column] = table[column].to_numpy() + np.where(mask, shift, 0.0)


def covariate(table: pd.DataFrame, name: str, prefix: str = "target_"):
    """Values of a mapping covariate: a feature column, or ``rr_ms`` derived
    from the heart rate (ms)."""
    if name == "rr_ms":
        return 60000.0 / table[f"{prefix}heart_rate_bpm"].to_numpy(float)
    return table[f"{prefix}{name}"].to_numpy(float)


def invert_mapping(mapping: Mapping, table: pd.DataFrame) -> np.ndarray:
    """Engine parameter values that should give each row's target feature.

    Solves ``target = intercept + slope * g(param) + sum(c * x)`` for
    ``param`` with the row's class-specific coefficients where the mapping
    has them, and clips to the parameter's ``[low, high]``. A reciprocal
    mapping whose target lies beyond what any parameter reaches gets the
    nearest limit. Rows without a target get NaN (the engine's default for
    that class is kept).
    """
    target = table[f"target_{mapping.feature}"].to_numpy(float)
    intercept = np.full(len(table), mapping.intercept)
    slope = np.full(len(table), mapping.slope)
    codes = table["labels"].to_numpy()
    for code, (a, b) in mapping.by_class.items():
        intercept[codes == code] = a
        slope[codes == code] = b
    covariate_sum = np.zeros(len(table))
    for name, coef in mapping.covariates.items():
        covariate_sum += coef * covariate(table, name)
    g = (target - intercept - covariate_sum) / slope
    if mapping.transform == "reciprocal":
        with np.errstate(divide="ignore"):
            param = np.where(g > 0, 1.0 / np.where(g > 0, g, 1.0), mapping.high)
        param = np.where(np.isnan(g), np.nan, param)
    else:
        param = g
    return np.clip(param, mapping.low, mapping.high)


def sample_patients(spec: CohortSpec, n: int, seed: int | None = None) -> pd.DataFrame:
    """Draw ``n`` virtual patients.

    Parameters
    ----------
    spec : CohortSpec
    n : int
        Number of patients, at least 1.
    seed : int, optional
        Overrides ``spec.seed``.

    Returns
    -------
    DataFrame, one row per patient
        ``record``, ``age`` (whole years), ``sex``, ``labels`` (the SCP code of the
        patient's class), ``target_<feature>`` (clinical targets: ms, 1/min,
        degrees), ``param_<name>`` (engine parameters from the mapping) and
        ``engine_seed``.
    """
    if n < 1:
        raise ValueError(f"the number of patients must be at least 1, got {n}")
    rng = np.random.default_rng(spec.seed if seed is None else seed)
    codes = dists.Categorical(spec.classes).ppf(stratified_uniforms(rng, n))
    sexes = spec.sex.ppf(stratified_uniforms(rng, n))
    ages = _ages(spec.age, rng.random(n), rng.random(n))
    targets = _targets(spec, codes, _normal_scores(spec, rng, n))
    engine_seeds = rng.integers(0, 2**31 - 1, size=n, dtype=np.int64)

    table = pd.DataFrame(
        {
            "record": [record_name(i) for i in range(n)],
            "age": ages,
            "sex": sexes.astype(str),
            "labels": codes.astype(str),
        }
    )
    for feature, values in targets.items():
        table[f"target_{feature}"] = values
    apply_rules(spec.rules, table)
    for param, mapping in spec.mapping.items():
        table[f"param_{param}"] = invert_mapping(mapping, table)
    table["engine_seed"] = engine_seeds
    log.debug("drew %d patients with seed %s", n, seed)
    return table
