"""Physiology of a healthy cohort and pathology signatures, by ground truth
and by an independent delineator (neurokit2), printed as one report.

Run: ``.venv/bin/python bench/engine_validation.py [--healthy 200 --each 10]``.
"""

from __future__ import annotations

import argparse
import math

import numpy as np

import engine
from engine import validation as v

INTERVALS = ("pr_ms", "qrs_ms", "qtc_ms", "axis_deg")


def healthy(n: int, threads: int) -> None:
    patients = engine.draw_patients(n, 2026)
    sims = engine.simulate_batch(patients, list(range(n)), 10.0, 500, n_threads=threads)
    for method in ("dwt", "prominence"):
        rows = [v.measure(s, method) for s in sims]
        print(f"\nhealthy cohort, n={n}, delineator neurokit2 {method} on lead II")
        for source in ("truth", "delineated"):
            ok = [v.within_norms(getattr(r, source)) for r in rows]
            share = {k: np.mean([o[k] for o in ok]) for k in INTERVALS}
            every = np.mean([all(o.values()) for o in ok])
            print(f"  {source:10s} within norms: "
                  + "  ".join(f"{k} {share[k]:6.1%}" for k in INTERVALS)
                  + f"  all four {every:6.1%}")  # fmt: skip
        for k in ("pr_ms", "qrs_ms", "qt_ms"):
            diff = np.array([r.delineated[k] - r.truth[k] for r in rows])
            diff = diff[np.isfinite(diff)]
            print(f"  {k:7s} delineator - truth: median {np.median(diff):+6.1f} ms, "
                  f"median |diff| {np.median(np.abs(diff)):5.1f} ms "
                  f"({diff.size} patients)")  # fmt: skip
        truth = np.array([[r.truth[k] for k in INTERVALS] for r in rows])
        print("  truth mean +- sd: " + "  ".join(
            f"{k} {m:6.1f} +- {s:4.1f}"
            for k, m, s in zip(INTERVALS, truth.mean(0), truth.std(0), strict=True)
        ))  # fmt: skip


def pathologies(n: int, threads: int) -> None:
    base = engine.draw_patients(n, 7)
    seeds = list(range(100, 100 + n))
    normal = engine.simulate_batch(base, seeds, 10.0, 500, n_threads=threads)
    normal_d = [v.measure(s).delineation for s in normal]
    print(f"\npathology signatures, {n} patients each (delineator: neurokit2 dwt)")

    def cohort(name):
        extra = engine.PATHOLOGIES[name].overrides
        pats = [engine.VirtualPatient.from_overrides({**b.overrides(), **extra}, [name])
                for b in base]  # fmt: skip
        sims = engine.simulate_batch(pats, seeds, 10.0, 500, n_threads=threads)
        return sims, [v.measure(s) for s in sims]

    def report(name, label, values):
        print(f"  {name:6s} {label:58s} {np.mean(values):6.1%}")

    sims, m = cohort("CLBBB")
    report("CLBBB", "truth QRS >= 120 ms", [r.truth["qrs_ms"] >= 120 for r in m])
    report(
        "CLBBB", "delineated QRS >= 120 ms", [r.delineated["qrs_ms"] >= 120 for r in m]
    )
    report(
        "CLBBB",
        "broad R in I and V6, QS/rS in V1",
        [v.lbbb_morphology(s, r.delineation) for s, r in zip(sims, m, strict=True)],
    )
    sims, m = cohort("CRBBB")
    report("CRBBB", "truth QRS >= 120 ms", [r.truth["qrs_ms"] >= 120 for r in m])
    report(
        "CRBBB", "delineated QRS >= 120 ms", [r.delineated["qrs_ms"] >= 120 for r in m]
    )
    report(
        "CRBBB",
        "terminal R' in V1, wide S in I and V6",
        [v.rbbb_morphology(s, r.delineation) for s, r in zip(sims, m, strict=True)],
    )
    sims, m = cohort("1AVB")
    report("1AVB", "truth PR > 200 ms", [r.truth["pr_ms"] > 200 for r in m])
    report("1AVB", "delineated PR > 200 ms", [r.delineated["pr_ms"] > 200 for r in m])
    sims, m = cohort("AFIB")
    report("AFIB", "no ground-truth P wave", [math.isnan(r.truth["pr_ms"]) for r in m])
    report(
        "AFIB",
        "no organised P wave (delineated)",
        [
            not v.organised_p_waves(s, r.delineation)
            for s, r in zip(sims, m, strict=True)
        ],
    )
    report(
        "AFIB",
        "RR coefficient of variation > 0.15",
        [v.rr_cv(r.delineation) > 0.15 for r in m],
    )
    for name, leads in v.TERRITORY_LEADS.items():
        sims, m = cohort(name)
        hits = []
        for s, r, s0, d0 in zip(sims, m, normal, normal_d, strict=True):
            q = [v.q_wave_ms(s, r.delineation, lead) for lead in leads]
            q0 = [v.q_wave_ms(s0, d0, lead) for lead in leads]
            hits.append(
                sum(a >= 30 and a > b + 10 for a, b in zip(q, q0, strict=True)) >= 2
            )
        report(name, f"new Q >= 30 ms in >= 2 of {'/'.join(leads)}", hits)
    sims, m = cohort("LVH")
    pairs = zip(sims, m, normal, normal_d, strict=True)
    report("LVH", "Sokolow-Lyon voltage above the matched healthy patient",
           [v.sokolow_lyon_mv(s, r.delineation) > v.sokolow_lyon_mv(s0, d0)
            for s, r, s0, d0 in pairs])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--healthy", type=int, default=200)
    parser.add_argument("--each", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    healthy(args.healthy, args.threads)
    pathologies(args.each, args.threads)


if __name__ == "__main__":
    main()
