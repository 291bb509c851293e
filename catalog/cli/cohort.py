"""``cardiofair cohort``: fit a cohort spec to a source, show a spec, or
write the fabricated demo source."""

from __future__ import annotations

import argparse

EPILOG = """examples:
  cardiofair cohort fit sources/ptbxl -o cohort.toml
  cardiofair cohort fit sources/ptbxl -o cohort.toml --engine-option grid_spacing_mm=2
  cardiofair cohort show cohort.toml
  cardiofair cohort demo-source sources/demo -n 5000

`fit` writes cohort.toml and, beside it, cohort.train.parquet and
cohort.control.parquet: the real rows the spec was fitted on and the equal
number held out for the release gate."""


def register(sub) -> None:
    parser = sub.add_parser(
        "cohort",
        help="fit, check and show cohort specs",
        description="Cohort specs are TOML files describing virtual patients: "
        "class prevalences, distributions of heart rate and intervals, "
        "correlations, rules and the calibrated mapping to engine parameters.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    fit = actions.add_parser("fit", help="fit a spec to a source's feature table")
    fit.add_argument("source", help="source folder (from `cardiofair ingest`)")
    fit.add_argument("-o", "--output", required=True, help="spec file to write")
    fit.add_argument("--seed", type=int, default=1, help="seed (default 1)")
    fit.add_argument("--name", help="cohort name (default: the source's name)")
    fit.add_argument(
        "--calibration-per-class",
        type=int,
        default=12,
        metavar="K",
        help="engine runs per class to calibrate the mapping (default 12)",
    )
    fit.add_argument(
        "--check-patients",
        type=int,
        default=200,
        metavar="M",
        help="patients simulated to report the fit's match (default 200, 0 none)",
    )
    fit.add_argument("--threads", type=int, default=2, help="engine threads")
    fit.add_argument(
        "--duration-s", type=float, default=10.0, help="ECG length (default 10 s)"
    )
    fit.add_argument(
        "--engine-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="fixed engine parameter for every patient (repeatable)",
    )
    fit.set_defaults(func=run_fit)

    show = actions.add_parser("show", help="validate a spec and summarise it")
    show.add_argument("spec", help="spec file (TOML)")
    show.set_defaults(func=run_show)

    demo = actions.add_parser(
        "demo-source", help="write a FABRICATED stand-in source for demonstrations"
    )
    demo.add_argument("output", help="new folder")
    demo.add_argument("-n", type=int, default=5000, help="rows (default 5000)")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=run_demo)


def _engine_options(values: list[str]) -> dict[str, float]:
    from catalog.cli import CliError

    options = {}
    for value in values:
        name, sep, number = value.partition("=")
        try:
            options[name.strip()] = float(number)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise CliError(
                f"--engine-option {value!r}: expected NAME=NUMBER, e.g. "
                "grid_spacing_mm=2"
            )
    return options


def run_fit(args: argparse.Namespace) -> int:
    from catalog.cli import CliError
    from engine.cohort.source import SourceError
    from engine.fit import fit_spec

    if args.calibration_per_class < 4:
        raise CliError("--calibration-per-class must be at least 4")
    if args.threads < 1:
        raise CliError(f"--threads must be at least 1, got {args.threads}")
    if not 0 <= args.seed < 2**63:
        raise CliError(f"--seed must be in [0, 2^63), got {args.seed}")
    try:
        spec, report = fit_spec(
            args.source,
            args.output,
            seed=args.seed,
            name=args.name,
            calibration_per_class=args.calibration_per_class,
            check_patients=args.check_patients,
            threads=args.threads,
            engine_options=_engine_options(args.engine_option),
            duration_s=args.duration_s,
        )
    except (SourceError, ValueError) as exc:
        raise CliError(str(exc)) from exc
    print(
        f"{args.output}: {len(spec.classes)} classes fitted on "
        f"{report['train_rows']} rows; {report['control_rows']} control rows "
        "held out"
    )
    for feature, entry in report.get("check", {}).get("features", {}).items():
        print(
            f"  {feature:15s} source {entry['source_mean']:8.1f}  simulated "
            f"{entry['simulated_mean']:8.1f}"
        )
    return 0


def run_show(args: argparse.Namespace) -> int:
    from catalog.cli import CliError
    from engine.cohort.spec import SpecError, load

    try:
        spec = load(args.spec)
    except SpecError as exc:
        raise CliError(str(exc)) from exc
    print(f"cohort {spec.name} (seed {spec.seed}), {spec.fs_hz} Hz, "
          f"{spec.duration_s:g} s")  # fmt: skip
    print("classes:")
    for code, p in spec.classes.items():
        print(f"  {code:8s} {100 * p:6.2f} %")
    print("features (mean over the classes that have them, before rules):")
    for feature in spec.features:
        weights = {
            code: p
            for code, p in spec.classes.items()
            if spec.marginal(code, feature) is not None
        }
        total = sum(weights.values())
        mean = sum(
            p * spec.marginal(code, feature).expected() for code, p in weights.items()
        ) / max(total, 1e-12)
        print(f"  {feature:15s} {mean:8.1f} {spec.features[feature].unit}")
    for rule in spec.rules:
        print(f"rule: {rule.to_table()}")
    for param, mapping in spec.mapping.items():
        print(f"mapping: {param} <- {mapping.feature} (R^2 {mapping.r2})")
    splits = spec.fit.get("splits", {})
    for side in ("train", "control"):
        if side in splits:
            print(f"{side}: {splits[side]['path']} ({splits[side]['rows']} rows)")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from catalog.cli import CliError
    from engine.demo_source import FABRICATED_NOTICE, write_demo_source

    if args.n < 100:
        raise CliError(f"-n must be at least 100, got {args.n}")
    folder = write_demo_source(args.output, args.n, args.seed)
    print(f"{folder}: {args.n} rows. {FABRICATED_NOTICE}")
    return 0
