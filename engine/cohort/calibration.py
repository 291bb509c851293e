"""Calibrating the clinical-feature to engine-parameter mapping by simulation.

The mapping is not guessed: a small design of virtual patients per class,
with each mapped parameter spread uniformly over a range, is run through the
engine; the features measured on the simulated ECGs (ground-truth fiducials)
are regressed on the parameters. For each mapping the model is

    feature = a_class + b_class * g(param) + sum_j c_j * covariate_j

(``g`` the identity or the reciprocal) is fitted by least squares over all
classes at once with one intercept per class and a pooled slope; each class
then gets its own slope where its points resolve one (|t| >=
:data:`MIN_SLOPE_T`), and keeps the pooled slope otherwise.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.cohort.measure import features
from engine.cohort.spec import CohortSpec, Mapping

log = logging.getLogger(__name__)

MIN_SLOPE_T = 3.0
OUTLIER_MADS = 4.0


@dataclass(frozen=True)
class Target:
    """One engine parameter driven by one clinical feature.

    ``design`` is the range swept during calibration; ``limits`` the range
    the engine accepts (the mapping clips to it). QT depends on more than the
    action-potential duration: it starts at QRS onset, so it grows with the
    QRS duration, and it adapts to the RR interval; both enter as covariates.
    """

    param: str
    feature: str
    design: tuple[float, float]
    limits: tuple[float, float]
    covariates: tuple[str, ...] = ()
    transform: str = "linear"


TARGETS = (
    Target("heart_rate_bpm", "heart_rate_bpm", (45.0, 120.0), (30.0, 180.0)),
    Target("av_delay_ms", "pr_ms", (50.0, 260.0), (40.0, 400.0)),
    Target("cv_fibre_m_per_s", "qrs_ms", (0.3, 1.1), (0.2, 1.2),
           transform="reciprocal"),
    Target("apd_ms", "qt_ms", (210.0, 400.0), (180.0, 450.0), ("rr_ms", "qrs_ms")),
    Target("heart_axis_frontal_deg", "axis_deg", (-10.0, 100.0), (-10.0, 100.0)),
)  # fmt: skip


def design(spec: CohortSpec, per_class: int, seed: int) -> pd.DataFrame:
    """Calibration patients: ``per_class`` per class of the spec.

    Each mapped parameter is spread over its design range by a Latin
    hypercube (one draw per stratum, strata shuffled per parameter), so the
    parameters are uncorrelated and every part of each range is covered.

    Returns
    -------
    DataFrame
        ``record``, ``labels``, ``param_<name>`` and ``engine_seed`` columns,
        plus ``age`` and ``sex`` placeholders the simulator ignores.
    """
    rng = np.random.default_rng(seed)
    parts = []
    for code in spec.classes:
        part = {"labels": [code] * per_class}
        for target in TARGETS:
            low, high = target.design
            u = (rng.permutation(per_class) + rng.random(per_class)) / per_class
            part[f"param_{target.param}"] = low + (high - low) * u
        parts.append(pd.DataFrame(part))
    table = pd.concat(parts, ignore_index=True)
    table.insert(0, "record", [f"cal{i:05d}" for i in range(len(table))])
    table["age"] = 60
    table["sex"] = "M"
    table["engine_seed"] = rng.integers(0, 2**31 - 1, size=len(table))
    return table


def measure(results: list, table: pd.DataFrame) -> pd.DataFrame:
    """Measured features of each calibration patient (NaN where it failed)."""
    rows = []
    for sim in results:
        if isinstance(sim, Exception):
            rows.append(dict.fromkeys(("heart_rate_bpm", "pr_ms", "qrs_ms",
                                       "qt_ms", "axis_deg"), np.nan))  # fmt: skip
        else:
            rows.append(features(sim))
    return pd.concat([table.reset_index(drop=True), pd.DataFrame(rows)], axis=1)


def _fit_one(target: Target, data: pd.DataFrame, classes: list[str]) -> Mapping | None:
    from engine.cohort.sampling import covariate

    y = data[target.feature].to_numpy(float)
    x = data[f"param_{target.param}"].to_numpy(float)
    if target.transform == "reciprocal":
        x = 1.0 / x
    covs = [covariate(data, name, prefix="") for name in target.covariates]
    ok = np.isfinite(y) & np.all([np.isfinite(c) for c in covs], axis=0)
    labels = data["labels"].to_numpy()
    present = [code for code in classes if (ok & (labels == code)).any()]
    ok = _without_outliers(ok, y, x, covs, labels, present)
    dummies = [(labels[ok] == code).astype(float) for code in present]
    coef, se, r2 = _lstsq(np.column_stack([*dummies, x[ok]] + [c[ok] for c in covs]),
                          y[ok])  # fmt: skip
    k = len(present)
    slope, slope_se, coef_covs = coef[k], se[k], coef[k + 1 :]
    if not abs(slope) > MIN_SLOPE_T * slope_se:
        log.warning(
            "%s does not respond to %s in the engine (slope %.3g +- %.3g); the "
            "parameter is left at its default",
            target.feature, target.param, slope, slope_se,
        )  # fmt: skip
        return None
    adjusted = y - sum((c * b for c, b in zip(covs, coef_covs, strict=True)), 0.0)
    by_class = {}
    for code, a_shared in zip(present, coef[:k], strict=True):
        rows = ok & (labels == code)
        pair = (a_shared, slope)
        if rows.sum() >= 4:
            (a, b), se_class, _ = _lstsq(
                np.column_stack([np.ones(rows.sum()), x[rows]]), adjusted[rows]
            )
            if abs(b) > MIN_SLOPE_T * se_class[1]:
                pair = (a, b)
        by_class[code] = (round(float(pair[0]), 4), round(float(pair[1]), 6))
    weights = np.array([(ok & (labels == c)).sum() for c in present], dtype=float)
    return Mapping(
        param=target.param,
        feature=target.feature,
        intercept=round(float(np.average(coef[:k], weights=weights)), 4),
        slope=round(float(slope), 6),
        low=target.limits[0],
        high=target.limits[1],
        covariates={
            name: round(float(b), 6)
            for name, b in zip(target.covariates, coef_covs, strict=True)
        },
        by_class=by_class,
        r2=round(float(r2), 4),
        transform=target.transform,
    )


def _without_outliers(ok, y, x, covs, labels, present) -> np.ndarray:
    """``ok`` without points whose residual from a first fit exceeds
    :data:`OUTLIER_MADS` robust standard deviations.

    A few simulated ECGs measure far off (a frontal axis near +-180 degrees
    when the net QRS areas of I and aVF are both small); one such point would
    otherwise tilt a slope fitted on a dozen.
    """
    dummies = [(labels[ok] == code).astype(float) for code in present]
    design = np.column_stack([*dummies, x[ok]] + [c[ok] for c in covs])
    coef, _, _ = _lstsq(design, y[ok])
    residual = y[ok] - design @ coef
    spread = 1.4826 * np.median(np.abs(residual - np.median(residual)))
    keep = ok.copy()
    if spread > 0:
        keep[np.flatnonzero(ok)[np.abs(residual) > OUTLIER_MADS * spread]] = False
    dropped = int(ok.sum() - keep.sum())
    if dropped:
        log.info("calibration: %d outlying point(s) left out", dropped)
    return keep


def _lstsq(x: np.ndarray, y: np.ndarray):
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    residual = y - x @ coef
    dof = max(len(y) - x.shape[1], 1)
    sigma2 = float(residual @ residual) / dof
    se = np.sqrt(np.maximum(np.diag(sigma2 * np.linalg.pinv(x.T @ x)), 0.0))
    total = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float(residual @ residual) / total if total > 0 else 0.0
    return coef, se, r2


def fit_mapping(measured: pd.DataFrame, classes: list[str]) -> dict[str, Mapping]:
    """One :class:`Mapping` per engine parameter of :data:`TARGETS`.

    Parameters
    ----------
    measured : DataFrame
        :func:`design` rows joined with their measured features.
    classes : list of str
    """
    out = {}
    for target in TARGETS:
        mapping = _fit_one(target, measured, classes)
        if mapping is not None:
            out[target.param] = mapping
            log.info("calibrated %s from %s: R^2 %.3f", target.param,
                     target.feature, mapping.r2)  # fmt: skip
    return out


def calibrate(spec: CohortSpec, simulate, per_class: int, threads: int, seed: int):
    """Run the design through ``simulate`` and fit the mapping.

    Returns
    -------
    mapping : dict of str to Mapping
    measured : DataFrame
        The design with its measured features (for reports).
    """
    table = design(spec, per_class, seed)
    results = simulate(spec, table, threads)
    measured = measure(results, table)
    failed = sum(isinstance(r, Exception) for r in results)
    if failed:
        log.warning("%d of %d calibration patients failed", failed, len(table))
    return fit_mapping(measured, list(spec.classes)), measured
