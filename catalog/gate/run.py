"""``run_gate``: every evaluator on one release, and the verdict.

The evaluators are independent, so they run side by side in worker
processes (anonymeter's query generation holds the GIL); each draws from its
own generator derived from the gate's seed, so the report does not depend
on how the work was scheduled or on ``n_jobs``.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from catalog.gate import bias as bias_mod
from catalog.gate import fidelity as fidelity_mod
from catalog.gate import leakage, privacy
from catalog.gate import utility as utility_mod
from catalog.gate.report import GateReport, summarise
from catalog.gate.tables import (
    Columns,
    GateInputError,
    assign_roles,
    check_tables,
    harmonise,
)
from catalog.settings import GateThresholds

log = logging.getLogger(__name__)


def run_gate(
    real_train: pd.DataFrame,
    control: pd.DataFrame,
    synthetic: pd.DataFrame,
    metadata: Any = None,
    files_dir: str | Path | None = None,
    secrets: Iterable[str] = (),
    thresholds: GateThresholds | None = None,
    seed: int = 0,
    n_attacks: int = 2000,
    demographics: Iterable[str] | None = None,
    n_jobs: int | None = None,
) -> GateReport:
    """Gate a synthetic feature table and the metadata published with it.

    Parameters
    ----------
    real_train : pandas.DataFrame
        The real rows the generator was fitted on (anonymeter's ori).
    control : pandas.DataFrame
        Real rows held out from fitting, same columns. If it and
        ``real_train`` differ in size the larger is subsampled to the smaller.
    synthetic : pandas.DataFrame
        The rows to be published, same columns.
    metadata : dict, list, str or Path, optional
        The release's metadata record, parsed or as a JSON-LD file.
    files_dir : str or Path, optional
        The folder of files to be published (WFDB, DICOM, CSV, Parquet ...).
    secrets : iterable of str
        Sensitive columns besides the diagnosis labels (the categorical
        columns that are not demographics), each attacked by inference.
    thresholds : GateThresholds, optional
        The largest acceptable upper ci bound per risk and the optional
        minimum fidelity, utility and representation; library defaults when
        omitted (the command line reads ``CARDIOFAIR_GATE_*``).
    seed : int
        Fixes every random draw: equal inputs and seed give an equal report.
    n_attacks : int
        Attacks per evaluator (queries for singling out, targets for
        linkability and inference); capped by the rows available.
    demographics : iterable of str, optional
        Columns an attacker knows; by default age, sex and similar names.
    n_jobs : int, optional
        Worker processes; 1 runs everything in this process. Defaults to the
        number of CPUs.

    Returns
    -------
    GateReport

    Raises
    ------
    GateInputError
        If the tables, columns or arguments are not usable.
    leakage.LeakageInputError
        If the metadata record or a release file cannot be read.
    """
    started = time.perf_counter()
    thresholds = thresholds or GateThresholds()
    if n_attacks < 10:
        raise GateInputError(f"n_attacks={n_attacks}: expected at least 10")
    columns = check_tables(real_train, control, synthetic)
    (ori, ctrl, syn), numeric, categorical = harmonise(
        [real_train, control, synthetic], columns
    )
    roles = assign_roles(numeric, categorical, secrets, demographics)
    ori, ctrl, notes = _equal_sizes(ori, ctrl, seed)
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    findings = _scan(metadata, files_dir, synthetic, thresholds.small_count_k)
    timings["leakage"] = time.perf_counter() - t0

    tasks = _tasks(ori, ctrl, syn, roles, seed, n_attacks)
    results = _execute(tasks, n_jobs)
    for name, (_, seconds) in results.items():
        timings[name] = seconds
    risks = [results[n][0] for n in results if n.startswith(_PRIVACY)]
    _judge(risks, thresholds)
    report = GateReport(
        passed=False,
        blocked_by=[],
        privacy=risks,
        findings=findings,
        fidelity=results["fidelity"][0],
        utility=results["utility"][0],
        bias=results["bias"][0],
        inputs=_inputs(real_train, control, synthetic, roles, notes),
        thresholds=asdict(thresholds),
        seed=seed,
        n_attacks=n_attacks,
    )
    report.blocked_by = _reasons(report, thresholds)
    report.passed = not report.blocked_by
    report.summary, report.limitations = summarise(report)
    timings["total"] = time.perf_counter() - started
    report.timings_s = {k: round(v, 3) for k, v in timings.items()}
    log.info(
        "release gate %s in %.1f s%s",
        "passed" if report.passed else "blocked",
        timings["total"],
        "" if report.passed else ": " + "; ".join(report.blocked_by),
    )
    return report


_PRIVACY = ("singling_out", "linkability", "inference")


def _equal_sizes(ori: pd.DataFrame, ctrl: pd.DataFrame, seed: int):
    """Subsample the larger of training and control to the smaller's size."""
    if len(ori) == len(ctrl):
        return ori, ctrl, []
    rng = privacy.task_rng(seed, "equal-sizes")
    n = min(len(ori), len(ctrl))
    which = "training" if len(ori) > n else "control"
    note = (
        f"The {which} table ({max(len(ori), len(ctrl))} rows) was subsampled to "
        f"{n} rows to match the other: anonymeter overstates singling out when "
        "the control set is smaller than the training set."
    )
    if len(ori) > n:
        ori = ori.iloc[sorted(rng.choice(len(ori), n, replace=False))]
    else:
        ctrl = ctrl.iloc[sorted(rng.choice(len(ctrl), n, replace=False))]
    return ori.reset_index(drop=True), ctrl.reset_index(drop=True), [note]


def _scan(metadata, files_dir, synthetic, k) -> list[leakage.Finding]:
    if isinstance(metadata, str | Path):
        metadata = leakage.read_metadata(metadata)
    return leakage.scan_release(
        metadata=metadata,
        files_dir=files_dir,
        tables={"synthetic table": synthetic},
        k=k,
    )


def _tasks(ori, ctrl, syn, roles: Columns, seed: int, n_attacks: int) -> list:
    """(name, function, keyword arguments), the longest first."""
    common = {"ori": ori, "syn": syn, "control": ctrl, "seed": seed}
    tables = {"real_train": ori, "control": ctrl, "synthetic": syn}
    aux = (roles.demographics, roles.clinical)
    tasks = [
        (
            "singling_out_multivariate",
            privacy.singling_out,
            {**common, "mode": "multivariate", "n_attacks": n_attacks},
        ),
        (
            "linkability",
            privacy.linkability,
            {
                **common,
                "aux_cols": aux,
                "numeric": roles.numeric,
                "n_attacks": n_attacks,
            },
        ),
    ]
    for secret in roles.secrets:
        tasks.append(
            (
                f"inference:{secret}",
                privacy.inference,
                {
                    **common,
                    "secret": secret,
                    "numeric": roles.numeric,
                    "n_attacks": n_attacks,
                },
            )
        )
    labels = [s for s in roles.secrets if s in roles.categorical]
    tasks += [
        (
            "fidelity",
            fidelity_mod.fidelity,
            {
                **tables,
                "numeric": roles.numeric,
                "categorical": roles.categorical,
                "seed": seed,
            },
        ),
        (
            "utility",
            utility_mod.utility,
            {
                **tables,
                "labels": labels,
                "categorical": roles.categorical,
                "seed": seed,
            },
        ),
        (
            "singling_out_univariate",
            privacy.singling_out,
            {**common, "mode": "univariate", "n_attacks": n_attacks},
        ),
        (
            "bias",
            bias_mod.bias,
            {
                "real_train": ori,
                "synthetic": syn,
                "columns": list(dict.fromkeys(roles.demographics + labels)),
                "numeric": roles.numeric,
            },
        ),
    ]
    return tasks


def _timed(function, kwargs: dict):
    started = time.perf_counter()
    result = function(**kwargs)
    return result, time.perf_counter() - started


def _execute(tasks: list, n_jobs: int | None) -> dict[str, tuple[Any, float]]:
    n_jobs = n_jobs or os.cpu_count() or 1
    if n_jobs <= 1:
        threads = os.cpu_count() or 1
        out = {}
        for name, function, kwargs in tasks:
            if "n_threads" in function.__code__.co_varnames:
                kwargs = {**kwargs, "n_threads": threads}
            out[name] = _timed(function, kwargs)
        return out
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=n_jobs, mp_context=context) as pool:
        futures = {
            name: pool.submit(_timed, function, kwargs)
            for name, function, kwargs in tasks
        }
        return {name: future.result() for name, future in futures.items()}


def _judge(risks: list[privacy.RiskResult], thresholds: GateThresholds) -> None:
    for risk in risks:
        if risk.evaluator == "singling_out_univariate":
            risk.judge(thresholds.singling_out_univariate)
        elif risk.evaluator == "singling_out_multivariate":
            risk.judge(thresholds.singling_out)
        elif risk.evaluator == "linkability":
            risk.judge(thresholds.linkability)
        else:
            risk.judge(thresholds.inference)


def _reasons(report: GateReport, thresholds: GateThresholds) -> list[str]:
    reasons = []
    for r in report.privacy:
        if not r.passed:
            name = r.evaluator + (f" of {r.target!r}" if r.target else "")
            reasons.append(
                f"{name} risk {r.risk:.3f}, upper 95% bound {r.ci[1]:.3f} "
                f"above {r.threshold}"
            )
    high = [f for f in report.findings if f.severity == leakage.HIGH]
    if high:
        rules = sorted({f.rule for f in high})
        reasons.append(
            f"metadata leakage: {len(high)} high-severity findings ({', '.join(rules)})"
        )
    reasons += _minimums(report, thresholds)
    return reasons


def _minimums(report: GateReport, thresholds: GateThresholds) -> list[str]:
    checks = (
        (
            "fidelity quality",
            report.fidelity.get("quality"),
            thresholds.fidelity_min_score,
        ),
        (
            "utility ratio",
            report.utility.get("min_ratio"),
            thresholds.utility_min_ratio,
        ),
        (
            "representation ratio",
            report.bias.get("min_ratio"),
            thresholds.bias_min_ratio,
        ),
    )
    return [
        f"{name} {value:.3f} below the minimum {minimum}"
        for name, value, minimum in checks
        if minimum > 0 and value is not None and value < minimum
    ]


def _inputs(real_train, control, synthetic, roles: Columns, notes) -> dict:
    return {
        "rows": {
            "real": len(real_train),
            "control": len(control),
            "synthetic": len(synthetic),
        },
        "columns": {
            "numeric": roles.numeric,
            "categorical": roles.categorical,
            "demographics": roles.demographics,
            "clinical": roles.clinical,
            "secrets": roles.secrets,
        },
        "notes": notes,
    }
