"""Speed of the electrophysiology engine, printed side by side.

Per patient, a 10 s 12-lead ECG at 500 Hz: the C++ engine, the NumPy
reference of the same model and ``neurokit2.ecg_simulate(method="multileads")``;
then 1,000 patients on 2 threads. Run: ``.venv/bin/python bench/engine.py``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

import engine
from engine import reference

with warnings.catch_warnings():
    # neurokit2 0.2 imports the deprecated scipy.misc at import time.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    import neurokit2 as nk


def median_seconds(fn, repeats: int) -> tuple[float, float]:
    """Median wall time and median CPU time of this process, in seconds."""
    wall, cpu = [], []
    for i in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn(i)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--reference-repeats", type=int, default=1)
    parser.add_argument("--cohort", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    patient = engine.VirtualPatient.from_overrides()
    first = engine.simulate(patient, 10.0, 500, seed=0)
    print(f"engine {engine.version()}: {first.n_ventricular_nodes} ventricular and "
          f"{first.n_atrial_nodes} atrial nodes at "
          f"{patient['grid_spacing_mm']} mm")  # fmt: skip

    cpp = median_seconds(lambda i: engine.simulate(patient, 10.0, 500, seed=i),
                         args.repeats)  # fmt: skip
    ref = median_seconds(lambda i: reference.simulate(patient, 10.0, 500.0, i),
                         args.reference_repeats)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # neurokit2's own deprecations
        peer = median_seconds(
            lambda i: nk.ecg_simulate(duration=10, sampling_rate=500,
                                      method="multileads", random_state=i),
            args.repeats,
        )  # fmt: skip

    print(f"machine load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("per patient, 10 s 12-lead ECG at 500 Hz (medians; all single-threaded):")
    print("                          wall        cpu    ratio (wall / cpu)   goal")
    goals = {"NumPy reference": 50.0, "neurokit2 multileads": 5.0}
    for name, (wall, cpu) in (("C++ engine", cpp), ("NumPy reference", ref),
                              ("neurokit2 multileads", peer)):  # fmt: skip
        goal = goals.get(name)
        verdict = ""
        if goal is not None:
            met = wall / cpp[0] >= goal
            verdict = f"  >= {goal:.0f}x: {'met' if met else 'MISSED'}"
        print(f"  {name:21s} {wall:8.3f} s {cpu:8.3f} s   "
              f"{wall / cpp[0]:6.1f}x / {cpu / cpp[1]:6.1f}x{verdict}")  # fmt: skip

    patients = engine.draw_patients(args.cohort, 2026)
    start, start_cpu = time.perf_counter(), time.process_time()
    engine.simulate_batch(patients, list(range(args.cohort)), 10.0, 500,
                          n_threads=args.threads)  # fmt: skip
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - start_cpu
    verdict = "met" if elapsed < 120.0 * args.cohort / 1000 else "MISSED"
    print(
        f"{args.cohort} patients on {args.threads} threads: wall {elapsed:.1f} s, "
        f"cpu {cpu:.1f} s (cpu / {args.threads} = {cpu / args.threads:.1f} s); "
        f"goal for 1,000 patients < 120 s: {verdict}"
    )
    print(f"machine load average: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
