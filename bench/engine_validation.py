"""Acceptance of the engine's physiology, printed as one report.

Healthy cohort from default priors: intervals within adult norms by ground
truth and by an independent delineator (neurokit2, global 12-lead
measurement), and the delineator's agreement with the truth; then each
pathology's textbook signature, read by the delineator.

Run: ``.venv/bin/python bench/engine_validation.py [--healthy 200 --each 10]``.
"""

from __future__ import annotations

import argparse
import math

import numpy as np

import engine
from engine import validation as v

INTERVALS = ("pr_ms", "qrs_ms", "qtc_ms", "axis_deg")
AGREEMENT_MS = 10.0  # goal: |median(delineator - truth)| within this
SHARE = 0.95  # goal: share of patients within norms, or showing a signature


def norms_line(label: str, values: list[dict]) -> str:
    ok = [v.within_norms(x) for x in values]
    share = {k: np.mean([o[k] for o in ok]) for k in INTERVALS}
    every = np.mean([all(o.values()) for o in ok])
    verdict = "met" if every >= SHARE else "NOT met"
    return (f"  {label:34s} " + "  ".join(f"{k} {share[k]:6.1%}" for k in INTERVALS)
            + f"  all four {every:6.1%} ({verdict})")  # fmt: skip


def agreement_lines(rows: list[v.Measured]) -> list[str]:
    lines = []
    for k in ("pr_ms", "qrs_ms", "qt_ms"):
        diff = np.array([r.delineated[k] - r.truth[k] for r in rows])
        diff = diff[np.isfinite(diff)]
        median = np.median(diff)
        verdict = "met" if abs(median) <= AGREEMENT_MS else "NOT met"
        lines.append(
            f"    {k:7s} delineator - truth: median {median:+6.1f} ms ({verdict}), "
            f"q10 {np.percentile(diff, 10):+6.1f}, q90 {np.percentile(diff, 90):+6.1f} "
            f"({diff.size} patients)"
        )
    return lines


def healthy(n: int, compare: int, threads: int) -> None:
    patients = engine.draw_patients(n, 2026)
    sims = engine.simulate_batch(patients, list(range(n)), 10.0, 500, n_threads=threads)
    rows = [v.measure(s) for s in sims]
    print(f"\nhealthy cohort, n={n}, goal >= {SHARE:.0%} within norms")
    print(norms_line("ground truth", [r.truth for r in rows]))
    print(norms_line("neurokit2, 12-lead global", [r.delineated for r in rows]))
    print("  agreement, neurokit2 12-lead global (P and QRS onsets by "
          "prominence, QRS and T ends by dwt):")  # fmt: skip
    for line in agreement_lines(rows):
        print(line)
    truth = np.array([[r.truth[k] for k in INTERVALS] for r in rows])
    print("  truth mean +- sd: " + "  ".join(
        f"{k} {m:6.1f} +- {s:4.1f}"
        for k, m, s in zip(INTERVALS, truth.mean(0), truth.std(0), strict=True)
    ))  # fmt: skip
    print(f"  other readings, first {compare} patients:")
    for label, kwargs in (
        ("12-lead global, dwt only", {"method": "dwt"}),
        (
            "12-lead global, QRS end by prominence",
            {"method": ("prominence",) * 4 + ("dwt",)},
        ),
        ("12-lead global, prominence only", {"method": "prominence"}),
        ("lead II alone, dwt", {"method": "dwt", "lead": "II"}),
        ("lead II alone, prominence", {"method": "prominence", "lead": "II"}),
    ):
        other = [v.measure(s, **kwargs) for s in sims[:compare]]
        print(norms_line(label, [r.delineated for r in other]))
        for line in agreement_lines(other):
            print(line)


class Pathologies:
    """Cohorts of the same base patients with one pathology each."""

    def __init__(self, n: int, threads: int):
        self.base = engine.draw_patients(n, 7)
        self.seeds = list(range(100, 100 + n))
        self.threads = threads
        self.normal = self.simulate("NORM")

    def simulate(self, name: str) -> list[tuple[engine.Simulation, v.Measured]]:
        extra = engine.PATHOLOGIES[name].overrides
        patients = [
            engine.VirtualPatient.from_overrides({**b.overrides(), **extra}, [name])
            for b in self.base
        ]
        sims = engine.simulate_batch(
            patients, self.seeds, 10.0, 500, n_threads=self.threads
        )
        return [(s, v.measure(s)) for s in sims]


def report(name: str, label: str, hits: list[bool]) -> None:
    share = np.mean(hits)
    verdict = "met" if share >= SHARE else "NOT met"
    print(f"  {name:6s} {label:56s} {share:6.1%} ({verdict})")


def pathologies(n: int, threads: int) -> None:
    c = Pathologies(n, threads)
    print(f"\npathology signatures, {n} patients each, read by neurokit2 12-lead "
          "global delineation (truth for reference)")  # fmt: skip
    for name, morphology, label in (
        ("CLBBB", v.lbbb_morphology, "broad R in I and V6, QS/rS in V1"),
        ("CRBBB", v.rbbb_morphology, "terminal R' in V1, wide S in I and V6"),
    ):
        m = c.simulate(name)
        truth = [r.truth["qrs_ms"] for _, r in m]
        read = [r.delineated["qrs_ms"] for _, r in m]
        print(f"  {name:6s} QRS ms truth {np.median(truth):5.0f}, "
              f"delineated {np.nanmedian(read):5.0f} (medians)")  # fmt: skip
        report(name, "truth QRS >= 120 ms", [x >= 120 for x in truth])
        report(name, "delineated QRS >= 120 ms", [x >= 120 for x in read])
        report(name, label, [morphology(s, r.delineation) for s, r in m])
    m = c.simulate("1AVB")
    report("1AVB", "truth PR > 200 ms", [r.truth["pr_ms"] > 200 for _, r in m])
    report(
        "1AVB", "delineated PR > 200 ms", [r.delineated["pr_ms"] > 200 for _, r in m]
    )
    m = c.simulate("AFIB")
    report(
        "AFIB", "no ground-truth P wave", [math.isnan(r.truth["pr_ms"]) for _, r in m]
    )
    report("AFIB", "no organised P wave (delineated)",
           [not v.organised_p_waves(s, r.delineation) for s, r in m])  # fmt: skip
    report("AFIB", "RR coefficient of variation > 0.15",
           [v.rr_cv(r.delineation) > 0.15 for _, r in m])  # fmt: skip
    for name, leads in v.TERRITORY_LEADS.items():
        m = c.simulate(name)
        hits = [
            v.new_q_waves(s, r.delineation, s0, r0.delineation, leads) >= 2
            for (s, r), (s0, r0) in zip(m, c.normal, strict=True)
        ]
        report(name, f"new Q >= 30 ms in >= 2 of {'/'.join(leads)}", hits)
    m = c.simulate("LVH")
    report("LVH", "Sokolow-Lyon voltage above the matched healthy patient",
           [v.sokolow_lyon_mv(s, r.delineation) > v.sokolow_lyon_mv(s0, r0.delineation)
            for (s, r), (s0, r0) in zip(m, c.normal, strict=True)])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--healthy", type=int, default=200)
    parser.add_argument("--compare", type=int, default=50,
                        help="healthy patients also read by other methods")  # fmt: skip
    parser.add_argument("--each", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    healthy(args.healthy, min(args.compare, args.healthy), args.threads)
    pathologies(args.each, args.threads)


if __name__ == "__main__":
    main()
