"""Fitting a cohort spec to a source's feature table.

Only the training half of the source is looked at: the rows are split by
patient into equal train and control halves (the release gate needs the
control rows as real data the generator never saw), both halves are written
next to the spec, and every distribution, correlation and rule is estimated
from the training rows alone.

What is fitted, in order:

1. class prevalences (one simulable SCP class per record);
2. age (a truncated normal of whole years, or age bands when only bands are
   known) and sex;
3. conditional rules: for each feature, a least-squares fit of the value on
   the class, sex and age; a sex shift or an age slope becomes a rule only
   when its t statistic exceeds :data:`RULE_MIN_T`;
4. marginals of the features after removing the rules' effects, per class
   where a class has at least :data:`MIN_CLASS_ROWS` values;
5. a Gaussian copula over the features' normal scores;
6. the mapping from clinical features to engine parameters, calibrated by
   running the engine over a small design (:mod:`engine.calibrate`);
7. a report comparing features simulated from the fitted spec with the
   training rows.
"""

from __future__ import annotations

import io
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from engine.atomic import sha256_file, write_bytes
from engine.cohort import distributions as dists
from engine.cohort.source import (
    Split,
    read_features,
    split_train_control,
    with_primary_class,
)
from engine.cohort.spec import FEATURE_UNITS, CohortSpec, Rule

log = logging.getLogger(__name__)

MIN_CLASS_ROWS = 30
RULE_MIN_T = 3.0
AGE_REFERENCE_YEARS = 60.0
#: A feature missing in more than this share of a class is omitted for it.
OMIT_MISSING_SHARE = 0.8
#: Plausible ranges (truncation bounds of the fitted marginals).
BOUNDS = {
    "heart_rate_bpm": (30.0, 200.0),
    "pr_ms": (60.0, 400.0),
    "qrs_ms": (50.0, 220.0),
    "qt_ms": (200.0, 650.0),
    "axis_deg": (-180.0, 180.0),
}


@dataclass
class FitInputs:
    """A source read, classed and split, ready to fit."""

    split: Split
    path: Path
    excluded: int


def prepare(source: str | Path, seed: int) -> FitInputs:
    """Read a source's features, keep simulable rows and split them.

    Raises
    ------
    engine.cohort.source.SourceError
        If the table is unusable or too small to split.
    """
    from engine.cohort.source import SourceError

    table, path = read_features(source)
    table, excluded = with_primary_class(table)
    if len(table) < 2 * MIN_CLASS_ROWS:
        raise SourceError(
            f"{path}: only {len(table)} rows have a simulable class; expected at "
            f"least {2 * MIN_CLASS_ROWS} to fit a spec and keep a control half"
        )
    split = split_train_control(table, seed)
    log.info(
        "source %s: %d train, %d control rows (%d without a simulable class, "
        "%d dropped to equalise the halves)",
        path,
        len(split.train),
        len(split.control),
        excluded,
        split.dropped,
    )
    return FitInputs(split, path, excluded)


def fit_prevalences(train: pd.DataFrame) -> dict[str, float]:
    """Class shares of the training rows, rounded so that they sum to one."""
    shares = train["class"].value_counts(normalize=True)
    rounded = {code: round(float(p), 6) for code, p in shares.items()}
    largest = max(rounded, key=rounded.get)
    rounded[largest] = round(rounded[largest] + 1.0 - sum(rounded.values()), 6)
    return rounded


def fit_age(train: pd.DataFrame) -> dists.Distribution:
    """Age in whole years: a truncated normal, or categorical bands."""
    if "age" in train.columns and train["age"].notna().mean() > 0.5:
        age = pd.to_numeric(train["age"], errors="coerce").dropna()
        return dists.TruncatedNormal(
            round(float(age.mean()), 3),
            round(max(float(age.std()), 1.0), 3),
            float(age.min()),
            float(age.max()) + 0.999,
            "year",
        )
    bands = train["age_band"].dropna().astype(str).value_counts(normalize=True)
    probs = {band: round(float(p), 6) for band, p in bands.sort_index().items()}
    first = next(iter(probs))
    probs[first] = round(probs[first] + 1.0 - sum(probs.values()), 6)
    return dists.Categorical(probs, "year")


def fit_sex(train: pd.DataFrame) -> dists.Categorical:
    """Shares of ``F`` and ``M`` among rows whose sex is known."""
    sex = train["sex"].astype(str).str.upper().str[:1]
    sex = sex[sex.isin(["F", "M"])]
    share_f = round(float((sex == "F").mean()), 6) if len(sex) else 0.5
    return dists.Categorical({"F": share_f, "M": round(1.0 - share_f, 6)})


def _ages(train: pd.DataFrame) -> np.ndarray:
    if "age" in train.columns:
        return pd.to_numeric(train["age"], errors="coerce").to_numpy(float)
    lows = train["age_band"].astype(str).str.extract(r"^(\d+)")[0]
    return pd.to_numeric(lows, errors="coerce").to_numpy(float) + 5.0


def fit_rules(train: pd.DataFrame) -> list[Rule]:
    """Sex shifts and age slopes of each feature that the data support.

    For each feature, ordinary least squares of the value on one intercept
    per class, a female indicator and ``age - 60``; a term becomes a rule
    when ``|coefficient / standard error| > RULE_MIN_T``.
    """
    rules = []
    female = (train["sex"].astype(str).str.upper().str[:1] == "F").to_numpy(float)
    age = _ages(train) - AGE_REFERENCE_YEARS
    dummies = pd.get_dummies(train["class"]).to_numpy(float)
    design = np.column_stack([dummies, female, age])
    for feature in FEATURE_UNITS:
        y = train[feature].to_numpy(float)
        ok = np.isfinite(y) & np.isfinite(age)
        coef, se = _ols(design[ok], y[ok])
        if coef is None:
            continue
        n_classes = dummies.shape[1]
        if abs(coef[n_classes] / se[n_classes]) > RULE_MIN_T:
            shift = round(float(coef[n_classes]), 3)
            rules.append(Rule(feature, add=shift, when={"sex": "F"}))
        if abs(coef[n_classes + 1] / se[n_classes + 1]) > RULE_MIN_T:
            slope = round(float(coef[n_classes + 1]), 4)
            rules.append(
                Rule(feature, slope=slope, per="age_years",
                     reference=AGE_REFERENCE_YEARS)
            )  # fmt: skip
    return rules


def _ols(x: np.ndarray, y: np.ndarray):
    keep = x.any(axis=0)
    x = x[:, keep]
    if len(y) <= x.shape[1] + 2:
        return None, None
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    residual = y - x @ coef
    dof = len(y) - x.shape[1]
    sigma2 = float(residual @ residual) / dof
    cov = sigma2 * np.linalg.pinv(x.T @ x)
    full_coef = np.zeros(len(keep))
    full_se = np.full(len(keep), np.inf)
    full_coef[keep] = coef
    full_se[keep] = np.sqrt(np.maximum(np.diag(cov), 1e-300))
    return full_coef, full_se


def remove_rules(train: pd.DataFrame, rules: list[Rule]) -> pd.DataFrame:
    """The training rows with each rule's effect subtracted from its feature."""
    out = train.copy()
    female = (out["sex"].astype(str).str.upper().str[:1] == "F").to_numpy()
    age = _ages(out)
    for rule in rules:
        values = out[rule.target].to_numpy(float)
        if rule.per:
            shift = rule.slope * (
                np.nan_to_num(age, nan=rule.reference) - rule.reference
            )
        else:
            shift = np.where(female, rule.add, 0.0)
        out[rule.target] = values - shift
    return out


def fit_marginal(feature: str, values: np.ndarray) -> dists.Distribution:
    """A log-normal for heart rate, a truncated normal for the others."""
    values = values[np.isfinite(values)]
    unit = FEATURE_UNITS[feature]
    if feature == "heart_rate_bpm":
        logs = np.log(values[values > 0])
        return dists.LogNormal(
            round(float(logs.mean()), 5), round(max(float(logs.std()), 1e-3), 5), unit
        )
    low, high = BOUNDS[feature]
    return dists.TruncatedNormal(
        round(float(values.mean()), 3),
        round(max(float(values.std()), 0.5), 3),
        low,
        high,
        unit,
    )


def fit_marginals(residual: pd.DataFrame):
    """Shared marginals, per-class overrides and omitted features.

    Returns
    -------
    shared : dict
        Feature to distribution over all training rows.
    per_class : dict
        Class to {feature: distribution} where the class has enough values.
    omit : dict
        Class to the features it has (almost) no values for.
    """
    shared, per_class, omit = {}, {}, {}
    for feature in FEATURE_UNITS:
        shared[feature] = fit_marginal(feature, residual[feature].to_numpy(float))
    for code, rows in residual.groupby("class", sort=False):
        own = {}
        for feature in FEATURE_UNITS:
            values = rows[feature].to_numpy(float)
            finite = np.isfinite(values)
            if 1.0 - finite.mean() > OMIT_MISSING_SHARE:
                omit.setdefault(code, []).append(feature)
            elif finite.sum() >= MIN_CLASS_ROWS:
                own[feature] = fit_marginal(feature, values)
        if own:
            per_class[code] = own
    return shared, per_class, omit


def _normal_scores(residual: pd.DataFrame, marginal) -> np.ndarray:
    scores = np.full((len(residual), len(FEATURE_UNITS)), np.nan)
    codes = residual["class"].to_numpy()
    for j, feature in enumerate(FEATURE_UNITS):
        values = residual[feature].to_numpy(float)
        for code in np.unique(codes):
            rows = codes == code
            dist = marginal(code, feature)
            if dist is not None:
                scores[rows, j] = _to_normal(dist, values[rows])
    return scores


def _to_normal(dist: dists.Distribution, x: np.ndarray) -> np.ndarray:
    if isinstance(dist, dists.LogNormal):
        return (np.log(np.maximum(x, 1e-9)) - dist.mu) / dist.sigma
    if isinstance(dist, dists.TruncatedNormal):
        u = dist._frozen().cdf(x)
        return stats.norm.ppf(np.clip(u, 1e-9, 1 - 1e-9))
    raise TypeError(f"no normal score for {dist.kind}")


def fit_copula(residual: pd.DataFrame, marginal) -> np.ndarray:
    """Correlation of the features' normal scores, made positive definite.

    Pairs are correlated over the rows where both are known; the matrix is
    then projected to the nearest correlation matrix with eigenvalues of at
    least 1e-3.
    """
    scores = pd.DataFrame(_normal_scores(residual, marginal))
    matrix = scores.corr(min_periods=MIN_CLASS_ROWS).fillna(0.0).to_numpy()
    np.fill_diagonal(matrix, 1.0)
    values, vectors = np.linalg.eigh(matrix)
    matrix = vectors @ np.diag(np.maximum(values, 1e-3)) @ vectors.T
    d = np.sqrt(np.diag(matrix))
    matrix = matrix / np.outer(d, d)
    return np.round((matrix + matrix.T) / 2.0, 4)


def fit_statistics(train: pd.DataFrame, name: str, seed: int) -> CohortSpec:
    """Every part of the spec that the training rows alone determine.

    The mapping to engine parameters is left empty; see :func:`fit_spec`.
    """
    rules = fit_rules(train)
    residual = remove_rules(train, rules)
    shared, per_class, omit = fit_marginals(residual)
    spec = CohortSpec(
        name=name,
        seed=seed,
        classes=fit_prevalences(train),
        age=fit_age(train),
        sex=fit_sex(train),
        features=shared,
        class_features=per_class,
        omit=omit,
        rules=rules,
    )
    spec.copula_variables = list(FEATURE_UNITS)
    spec.correlation = fit_copula(residual, spec.marginal)
    _check_correlation_rounding(spec)
    return spec


def _check_correlation_rounding(spec: CohortSpec) -> None:
    # Rounding to 4 decimals can, in principle, break positive definiteness.
    if np.linalg.eigvalsh(spec.correlation).min() <= 1e-10:
        spec.correlation = np.round(0.98 * spec.correlation + 0.02 * np.eye(5), 4)


def write_split(split: Split, spec_path: Path) -> dict[str, dict]:
    """Write the train and control rows as Parquet next to the spec.

    Returns
    -------
    dict
        ``{"train": {"path", "sha256", "rows"}, "control": {...}}`` with paths
        relative to the spec's folder.
    """
    out = {}
    for side, rows in (("train", split.train), ("control", split.control)):
        path = spec_path.with_name(f"{spec_path.stem}.{side}.parquet")
        buffer = io.BytesIO()
        rows.drop(columns=["class"]).to_parquet(buffer, index=False)
        write_bytes(path, buffer.getvalue())
        out[side] = {
            "path": path.name,
            "sha256": sha256_file(path),
            "rows": len(rows),
        }
    return out


def feature_means(table: pd.DataFrame) -> dict[str, float]:
    """Mean of each clinical feature over the rows that have it."""
    return {
        f: float(np.nanmean(table[f].to_numpy(float)))
        if table[f].notna().any()
        else math.nan
        for f in FEATURE_UNITS
    }


def check_fit(spec: CohortSpec, train: pd.DataFrame, simulate, n: int, threads: int):
    """Simulate ``n`` patients of the fitted spec and compare with the source.

    Returns
    -------
    dict
        Per feature: the training mean, the simulated mean (ground-truth
        fiducials), their difference in the feature's unit and, except for
        the axis, relative to the training mean; per class: prevalence in
        the training rows and in the simulated cohort.
    """
    from engine.cohort.measure import features as measure_features
    from engine.cohort.sampling import sample_patients

    cohort = sample_patients(spec, n, spec.seed + 1)
    results = simulate(spec, cohort, threads)
    measured = pd.DataFrame(
        [measure_features(r) for r in results if not isinstance(r, Exception)]
    )
    source_means = feature_means(train)
    report = {"patients": n, "features": {}, "classes": {}}
    for feature, source_mean in source_means.items():
        simulated = float(np.nanmean(measured[feature]))
        entry = {
            "source_mean": round(source_mean, 3),
            "simulated_mean": round(simulated, 3),
            "difference": round(simulated - source_mean, 3),
        }
        if feature != "axis_deg":
            relative = (simulated - source_mean) / source_mean
            entry["relative_difference"] = round(relative, 4)
        report["features"][feature] = entry
    shares = cohort["labels"].value_counts(normalize=True)
    for code, p in spec.classes.items():
        report["classes"][code] = {
            "source": round(p, 4),
            "simulated": round(float(shares.get(code, 0.0)), 4),
        }
    return report


def fit_spec(
    source: str | Path,
    out: str | Path,
    *,
    seed: int = 1,
    name: str | None = None,
    calibration_per_class: int = 12,
    check_patients: int = 200,
    threads: int = 1,
    engine_options: dict | None = None,
    duration_s: float = 10.0,
    simulate=None,
) -> tuple[CohortSpec, dict]:
    """Fit a spec to a source and write it, with its train and control splits.

    Parameters
    ----------
    source : path
        Source folder (or feature table file).
    out : path
        Spec file to write (TOML); ``<stem>.train.parquet`` and
        ``<stem>.control.parquet`` are written beside it.
    seed : int
        Seeds the split, the calibration design and the spec.
    name : str, optional
        Cohort name; the source folder's name by default.
    calibration_per_class : int
        Calibration patients per class.
    check_patients : int
        Patients simulated to report how well the fit matches (0: none).
    threads : int
        Engine threads.
    engine_options : dict, optional
        Fixed engine parameters for every patient (e.g. ``grid_spacing_mm``).
    duration_s : float
        Length of each simulated ECG in seconds.
    simulate : callable, optional
        Replaces the engine (tests of the fitting machinery only).

    Returns
    -------
    spec : CohortSpec
    report : dict
        The fit check (see :func:`check_fit`) and the split sizes.
    """
    from engine.cohort.calibration import calibrate
    from engine.cohort.spec import dump

    if simulate is None:
        from engine.cohort.backend import simulate_rows as simulate
    out = Path(out)
    inputs = prepare(source, seed)
    spec = fit_statistics(inputs.split.train, name or Path(source).stem, seed)
    spec.source = str(Path(source).resolve())
    spec.engine_options = dict(engine_options or {})
    spec.duration_s = float(duration_s)
    spec.mapping, _ = calibrate(spec, simulate, calibration_per_class, threads, seed)
    report = {
        "train_rows": len(inputs.split.train),
        "control_rows": len(inputs.split.control),
        "excluded_rows": inputs.excluded,
        "dropped_rows": inputs.split.dropped,
    }
    if check_patients:
        report["check"] = check_fit(
            spec, inputs.split.train, simulate, check_patients, threads
        )
    splits = write_split(inputs.split, out)
    spec.fit = {
        "source_file": str(inputs.path.resolve()),
        "source_sha256": sha256_file(inputs.path),
        "train_rows": report["train_rows"],
        "control_rows": report["control_rows"],
        "excluded_rows": report["excluded_rows"],
        "calibration_runs_per_class": calibration_per_class,
        "splits": splits,
    }
    if "check" in report:
        spec.fit["check"] = report["check"]
    dump(spec, out)
    log.info("wrote cohort spec %s", out)
    return spec, report
