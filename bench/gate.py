"""The full release gate against plain sequential anonymeter calls.

A 10,000-row, 12-column feature cohort (the seeded model of the gate's
tests) is gated with ``--n-attacks`` attacks per evaluator (2,000 by
default): privacy (singling out univariate and multivariate, linkability,
inference of the diagnosis), metadata leakage, fidelity, utility and bias,
on ``--jobs`` worker processes. Beside it the same four attacks are run the
plain way, one after the other, with anonymeter 1.1.0's own evaluators. The
ratio is plain anonymeter time over full gate time. The machine's load
average is printed because the cores may be shared.

    .venv/bin/python bench/gate.py                 # 10,000 rows, 2,000 attacks
    .venv/bin/python bench/gate.py -n 2000 -a 500  # a quick look
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import anonymeter.evaluators as anonymeter  # noqa: E402

from catalog.gate import run_gate  # noqa: E402
from tests.gate.cohort import cohort, noisy_copy  # noqa: E402

DEMOGRAPHICS = ["age", "sex", "height_cm", "weight_kg"]


def plain_anonymeter(real, control, synthetic, n_attacks: int, seed: int) -> dict:
    """Each attack with anonymeter's evaluator: (seconds, risk, upper ci)."""
    clinical = [c for c in real.columns if c not in DEMOGRAPHICS]
    aux = [c for c in real.columns if c != "diagnosis"]
    runs = {
        "singling_out_univariate": lambda: anonymeter.SinglingOutEvaluator(
            real, synthetic, n_attacks, control=control, seed=seed
        ).evaluate(mode="univariate"),
        "singling_out_multivariate": lambda: anonymeter.SinglingOutEvaluator(
            real, synthetic, n_attacks, control=control, seed=seed
        ).evaluate(mode="multivariate"),
        "linkability": lambda: anonymeter.LinkabilityEvaluator(
            real, synthetic, (DEMOGRAPHICS, clinical), n_attacks, control=control
        ).evaluate(n_jobs=1),
        "inference:diagnosis": lambda: anonymeter.InferenceEvaluator(
            real, synthetic, aux, "diagnosis", n_attacks=n_attacks, control=control
        ).evaluate(n_jobs=1),
    }
    out = {}
    for name, run in runs.items():
        began = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # anonymeter's sanity-check notices
            risk = run().risk()
        out[name] = (time.perf_counter() - began, risk.value, risk.ci[1])
    return out


def full_gate(real, control, synthetic, n_attacks: int, seed: int, jobs: int):
    began = time.perf_counter()
    report = run_gate(
        real, control, synthetic, seed=seed, n_attacks=n_attacks, n_jobs=jobs
    )
    return time.perf_counter() - began, report


def _row(name: str, plain, gate_seconds, risk) -> str:
    left = f"{plain[0]:8.1f} s {plain[1]:6.3f} {plain[2]:6.3f}" if plain else " " * 24
    right = f"{gate_seconds:8.1f} s" if gate_seconds is not None else " " * 10
    if risk is not None:
        right += f" {risk.risk:6.3f} {risk.ci[1]:6.3f}"
    return f"{name:28s}{left}   {right}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--rows", type=int, default=10_000)
    parser.add_argument("-a", "--n-attacks", type=int, default=2000)
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--noisy", action="store_true", help="gate a noisy copy of the training rows"
    )
    args = parser.parse_args()
    real, control, synthetic = cohort(args.rows, args.seed)
    if args.noisy:
        synthetic = noisy_copy(real, args.seed)
    print(
        f"cohort {args.rows} rows x {real.shape[1]} columns, {args.n_attacks} "
        f"attacks per evaluator, {args.jobs} gate workers, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    gate_seconds, report = full_gate(
        real, control, synthetic, args.n_attacks, args.seed, args.jobs
    )
    plain = plain_anonymeter(real, control, synthetic, args.n_attacks, args.seed)
    risks = {
        r.evaluator + (f":{r.target}" if r.target else ""): r for r in report.privacy
    }
    print(f"\n{'':28s}{'plain anonymeter (sequential)':27s}   full gate (parallel)")
    print(
        f"{'evaluator':28s}{'time':>10s} {'risk':>6s} {'upper':>6s}   "
        f"{'time':>10s} {'risk':>6s} {'upper':>6s}"
    )
    for name, figures in plain.items():
        print(_row(name, figures, report.timings_s.get(name), risks.get(name)))
    for name in ("leakage", "fidelity", "utility", "bias"):
        print(_row(name, None, report.timings_s.get(name), None))
    plain_total = sum(v[0] for v in plain.values())
    print(
        f"\nplain anonymeter, 4 attacks in sequence: {plain_total:6.1f} s"
        f"\nfull gate (privacy, leakage, fidelity, utility, bias): "
        f"{gate_seconds:6.1f} s wall"
        f"\nratio plain anonymeter / full gate: {plain_total / gate_seconds:.2f}"
        f"\nverdict: {'passed' if report.passed else 'blocked'}"
        f"{'' if report.passed else ': ' + '; '.join(report.blocked_by)}"
    )


if __name__ == "__main__":
    main()
