"""The cohort spec: a TOML file a scientist can read and edit.

A spec says who the virtual patients are (demographics, class prevalences as
SCP-ECG statements, distributions of heart rate and intervals with units),
how those features depend on each other (a Gaussian copula and explicit
conditional rules), how clinical targets become engine parameters (a mapping
calibrated by running the engine) and which seed draws the cohort.

Layout (every table is optional unless marked)::

    [cohort]                      # required: name, seed
    [engine]                      # fs_hz, duration_s, options (passed on)
    [demographics.age_years]      # a distribution table
    [demographics.sex]            # categorical over "F" and "M"
    [classes]                     # required: SCP code = prevalence
    [features.NAME]               # marginal of a feature for every class
    [class_features.CODE.NAME]    # marginal for one class (overrides)
    [class_features.CODE]         # omit = ["pr_ms"]: no target for that class
    [copula]                      # variables = [...], correlation = [[...]]
    [[rules]]                     # conditional shifts of one feature
    [mapping.PARAM]               # engine parameter from a clinical feature
    [fit]                         # provenance written by ``cohort fit``

:func:`load` raises :class:`SpecError` naming the file and the key for every
mistake; :func:`dump` writes a spec back in the same layout.
"""

from __future__ import annotations

import logging
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tomli_w

from engine.cohort import distributions as dists
from engine.cohort.labels import statements

log = logging.getLogger(__name__)

#: Clinical features a spec may give distributions for, with their units.
FEATURE_UNITS = {
    "heart_rate_bpm": "1/min",
    "pr_ms": "ms",
    "qrs_ms": "ms",
    "qt_ms": "ms",
    "axis_deg": "deg",
}
DEMOGRAPHICS = ("age_years", "sex")
SEXES = ("F", "M")
TRANSFORMS = ("linear", "reciprocal")
_AGE_BAND = re.compile(r"^(\d{1,3})-(\d{1,3})$|^(\d{1,3})\+$")
_SECTIONS = (
    "cohort",
    "engine",
    "demographics",
    "classes",
    "features",
    "class_features",
    "copula",
    "rules",
    "mapping",
    "fit",
)


class SpecError(ValueError):
    """A spec is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class Rule:
    """A conditional shift of one feature.

    Either a constant ``add`` applied when every ``when`` condition holds
    (``when = {sex = "F"}`` or ``{class = "CLBBB"}``), or a linear term
    ``slope * (per - reference)`` in the target's unit per unit of ``per``.
    """

    target: str
    add: float = 0.0
    when: dict[str, str] = field(default_factory=dict)
    slope: float = 0.0
    per: str = ""
    reference: float = 0.0

    def to_table(self) -> dict:
        table: dict = {"target": self.target}
        if self.per:
            table.update(slope=self.slope, per=self.per, reference=self.reference)
        else:
            table["add"] = self.add
        if self.when:
            table["when"] = dict(self.when)
        return table


@dataclass(frozen=True)
class Mapping:
    """How a clinical feature depends on one engine parameter.

    The engine's measured feature is modelled as ``intercept + slope * g(param)
    + sum(covariates[x] * x)``, where ``g`` is the identity (``transform =
    "linear"``) or ``1 / param`` (``"reciprocal"``, as QRS duration depends on
    conduction velocity); covariates are features or ``rr_ms`` (60000 / heart
    rate). Simulation inverts the model to pick the parameter that gives a
    patient's target. ``by_class`` holds per-class ``(intercept, slope)``
    pairs where a pathology changes the relation.
    """

    param: str
    feature: str
    intercept: float
    slope: float
    low: float
    high: float
    covariates: dict[str, float] = field(default_factory=dict)
    by_class: dict[str, tuple[float, float]] = field(default_factory=dict)
    r2: float | None = None
    transform: str = "linear"

    def to_table(self) -> dict:
        table: dict = {
            "feature": self.feature,
            "transform": self.transform,
            "intercept": self.intercept,
            "slope": self.slope,
            "low": self.low,
            "high": self.high,
        }
        if self.covariates:
            table["covariates"] = dict(self.covariates)
        if self.r2 is not None:
            table["r2"] = self.r2
        if self.by_class:
            table["class"] = {
                code: {"intercept": a, "slope": b}
                for code, (a, b) in self.by_class.items()
            }
        return table


@dataclass
class CohortSpec:
    """A parsed and validated cohort spec; see the module docstring."""

    name: str
    seed: int
    classes: dict[str, float]
    age: dists.Distribution
    sex: dists.Categorical
    features: dict[str, dists.Distribution]
    class_features: dict[str, dict[str, dists.Distribution]] = field(
        default_factory=dict
    )
    omit: dict[str, list[str]] = field(default_factory=dict)
    copula_variables: list[str] = field(default_factory=list)
    correlation: np.ndarray | None = None
    rules: list[Rule] = field(default_factory=list)
    mapping: dict[str, Mapping] = field(default_factory=dict)
    fs_hz: int = 500
    duration_s: float = 10.0
    engine_options: dict = field(default_factory=dict)
    description: str = ""
    source: str = ""
    fit: dict = field(default_factory=dict)

    def marginal(self, code: str, feature: str) -> dists.Distribution | None:
        """The distribution of ``feature`` for class ``code``, or None if omitted."""
        if feature in self.omit.get(code, ()):
            return None
        return self.class_features.get(code, {}).get(feature) or self.features.get(
            feature
        )


def _fail(where: str, key: str, message: str) -> SpecError:
    return SpecError(f"{where}: [{key}] {message}")


def _table(doc: dict, key: str, where: str, required: bool = False) -> dict:
    value = doc.get(key)
    if value is None:
        if required:
            raise _fail(where, key, "is missing; expected a table")
        return {}
    if not isinstance(value, dict):
        raise _fail(where, key, f"must be a table, got {type(value).__name__}")
    return value


def _distribution(table, key: str, where: str) -> dists.Distribution:
    try:
        return dists.from_table(table)
    except dists.DistributionError as exc:
        raise _fail(where, key, str(exc)) from None


def _parse_cohort(doc: dict, where: str) -> tuple[str, int, str, str]:
    cohort = _table(doc, "cohort", where, required=True)
    name = cohort.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _fail(where, "cohort.name", "must be a non-empty string")
    seed = cohort.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise _fail(
            where, "cohort.seed", f"must be an integer in [0, 2^63), got {seed!r}"
        )
    description = cohort.get("description", "")
    source = cohort.get("source", "")
    for key, value in (("description", description), ("source", source)):
        if not isinstance(value, str):
            raise _fail(where, f"cohort.{key}", f"must be a string, got {value!r}")
    return name.strip(), seed, description, source


def _parse_engine(doc: dict, where: str) -> tuple[int, float, dict]:
    table = _table(doc, "engine", where)
    fs = table.get("fs_hz", 500)
    if fs not in (500, 1000):
        raise _fail(where, "engine.fs_hz", f"must be 500 or 1000, got {fs!r}")
    duration = table.get("duration_s", 10.0)
    if (
        isinstance(duration, bool)
        or not isinstance(duration, (int, float))
        or not 1.0 <= duration <= 60.0
    ):
        raise _fail(
            where, "engine.duration_s", f"must be a number in [1, 60], got {duration!r}"
        )
    options = table.get("options", {})
    if not isinstance(options, dict):
        raise _fail(where, "engine.options", "must be a table of engine options")
    for name, value in options.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(
                where,
                f"engine.options.{name}",
                f"must be a number (an engine parameter's value), got {value!r}",
            )
    return int(fs), float(duration), dict(options)


def _parse_classes(doc: dict, where: str) -> dict[str, float]:
    classes = _table(doc, "classes", where, required=True)
    if not classes:
        raise _fail(where, "classes", "is empty; expected SCP code = prevalence")
    known = statements()
    out = {}
    for code, value in classes.items():
        if code not in known:
            raise _fail(
                where,
                f"classes.{code}",
                "is not an SCP-ECG statement of PTB-XL (e.g. NORM, 1AVB, CLBBB)",
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(where, f"classes.{code}", f"must be a number, got {value!r}")
        if not 0.0 <= value <= 1.0:
            raise _fail(where, f"classes.{code}", f"must be in [0, 1], got {value}")
        out[code] = float(value)
    total = sum(out.values())
    if abs(total - 1.0) > 1e-6:
        raise _fail(where, "classes", f"prevalences must sum to 1, got {total:.6g}")
    return out


def _parse_age(table: dict, where: str) -> dists.Distribution:
    age = _distribution(table, "demographics.age_years", where)
    if isinstance(age, dists.Categorical):
        for band in age.categories:
            if not _AGE_BAND.match(band):
                raise _fail(
                    where,
                    f"demographics.age_years.probabilities.{band}",
                    "must be an age band such as '40-49' or '90+'",
                )
    return age


def _parse_demographics(doc: dict, where: str):
    table = _table(doc, "demographics", where)
    for key in table:
        if key not in DEMOGRAPHICS:
            raise _fail(
                where,
                f"demographics.{key}",
                f"is not known; expected {' or '.join(DEMOGRAPHICS)}",
            )
    age_table = table.get(
        "age_years", {"distribution": "uniform", "low": 18.0, "high": 90.0}
    )
    age = _parse_age(age_table, where)
    sex_table = table.get(
        "sex", {"distribution": "categorical", "probabilities": {"F": 0.5, "M": 0.5}}
    )
    sex = _distribution(sex_table, "demographics.sex", where)
    if not isinstance(sex, dists.Categorical) or not set(sex.categories) <= set(SEXES):
        raise _fail(
            where, "demographics.sex", "must be categorical over the codes 'F' and 'M'"
        )
    return age, sex


def _parse_feature_tables(table: dict, key: str, where: str):
    out = {}
    for name, value in table.items():
        if name == "omit":
            continue
        if name not in FEATURE_UNITS:
            raise _fail(
                where,
                f"{key}.{name}",
                f"is not a known feature; expected one of {', '.join(FEATURE_UNITS)}",
            )
        dist = _distribution(value, f"{key}.{name}", where)
        if isinstance(dist, dists.Categorical):
            raise _fail(where, f"{key}.{name}", "must be a continuous distribution")
        out[name] = dist
    return out


def _parse_class_features(doc: dict, classes: dict, where: str):
    table = _table(doc, "class_features", where)
    per_class, omit = {}, {}
    for code, sub in table.items():
        if code not in classes:
            raise _fail(
                where, f"class_features.{code}", "names a class missing from [classes]"
            )
        if not isinstance(sub, dict):
            raise _fail(where, f"class_features.{code}", "must be a table")
        per_class[code] = _parse_feature_tables(sub, f"class_features.{code}", where)
        dropped = sub.get("omit", [])
        if not isinstance(dropped, list) or any(
            name not in FEATURE_UNITS for name in dropped
        ):
            raise _fail(
                where,
                f"class_features.{code}.omit",
                f"must be a list of features among {', '.join(FEATURE_UNITS)}",
            )
        if dropped:
            omit[code] = list(dropped)
    return per_class, omit


def _parse_copula(doc: dict, where: str):
    table = _table(doc, "copula", where)
    if not table:
        return [], None
    names = table.get("variables")
    if not isinstance(names, list) or not names:
        raise _fail(where, "copula.variables", "must be a non-empty list of features")
    for name in names:
        if name not in FEATURE_UNITS:
            raise _fail(
                where, "copula.variables", f"'{name}' is not a continuous feature"
            )
    if len(set(names)) != len(names):
        raise _fail(where, "copula.variables", "lists a feature twice")
    try:
        matrix = np.asarray(table.get("correlation"), dtype=float)
    except (TypeError, ValueError):
        message = "must be a matrix of numbers"
        raise _fail(where, "copula.correlation", message) from None
    k = len(names)
    if matrix.shape != (k, k):
        raise _fail(
            where,
            "copula.correlation",
            f"must be {k} x {k} (one row per variable), got shape {matrix.shape}",
        )
    _check_correlation(matrix, where)
    return list(names), matrix


def _check_correlation(matrix: np.ndarray, where: str) -> None:
    if not np.allclose(matrix, matrix.T, atol=1e-9):
        raise _fail(where, "copula.correlation", "must be symmetric")
    if not np.allclose(np.diag(matrix), 1.0):
        raise _fail(where, "copula.correlation", "must have ones on the diagonal")
    if np.any(np.abs(matrix) > 1.0):
        raise _fail(where, "copula.correlation", "entries must lie in [-1, 1]")
    if np.linalg.eigvalsh(matrix).min() <= 1e-10:
        raise _fail(where, "copula.correlation", "must be positive definite")


def _parse_rule(raw, i: int, classes: dict, where: str) -> Rule:
    key = f"rules[{i}]"
    if not isinstance(raw, dict):
        raise _fail(where, key, "must be a table")
    allowed = {"target", "add", "when", "slope", "per", "reference"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise _fail(where, f"{key}.{unknown[0]}", "is not a rule key")
    target = raw.get("target")
    if target not in FEATURE_UNITS:
        raise _fail(
            where, f"{key}.target", f"must be one of {', '.join(FEATURE_UNITS)}"
        )
    when = raw.get("when", {})
    if not isinstance(when, dict):
        raise _fail(where, f"{key}.when", 'must be a table such as {sex = "F"}')
    for name, value in when.items():
        if name == "sex" and value in SEXES:
            continue
        if name == "class" and value in classes:
            continue
        raise _fail(
            where,
            f"{key}.when.{name}",
            'expected sex = "F" / "M" or class = a code from [classes]',
        )
    if ("add" in raw) == ("slope" in raw):
        raise _fail(where, key, "needs exactly one of 'add' or 'slope'")
    numbers = {}
    for name in ("add", "slope", "reference"):
        value = raw.get(name, 0.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(where, f"{key}.{name}", f"must be a number, got {value!r}")
        numbers[name] = float(value)
    per = raw.get("per", "")
    if "slope" in raw and per != "age_years":
        raise _fail(where, f"{key}.per", 'a slope rule needs per = "age_years"')
    return Rule(target, numbers["add"], dict(when), numbers["slope"], per,
                numbers["reference"])  # fmt: skip


def _number(table: dict, key: str, name: str, where: str) -> float:
    value = table.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(where, f"{key}.{name}", f"must be a number, got {value!r}")
    if not math.isfinite(value):
        raise _fail(where, f"{key}.{name}", f"must be finite, got {value!r}")
    return float(value)


def _parse_mapping(doc: dict, classes: dict, where: str) -> dict[str, Mapping]:
    out = {}
    for param, table in _table(doc, "mapping", where).items():
        key = f"mapping.{param}"
        if not isinstance(table, dict):
            raise _fail(where, key, "must be a table")
        feature = table.get("feature")
        if feature not in FEATURE_UNITS:
            raise _fail(
                where, f"{key}.feature", f"must be one of {', '.join(FEATURE_UNITS)}"
            )
        numbers = {
            name: _number(table, key, name, where)
            for name in ("intercept", "slope", "low", "high")
        }
        if abs(numbers["slope"]) < 1e-12:
            raise _fail(where, f"{key}.slope", "must not be zero")
        if not numbers["low"] < numbers["high"]:
            raise _fail(where, f"{key}.low", "must be below 'high'")
        for sub in ("covariates", "class"):
            if not isinstance(table.get(sub, {}), dict):
                raise _fail(where, f"{key}.{sub}", "must be a table")
        covariates = {
            name: _number(table.get("covariates", {}), f"{key}.covariates", name, where)
            for name in table.get("covariates", {})
        }
        for name in covariates:
            if name not in (*FEATURE_UNITS, "rr_ms"):
                raise _fail(
                    where, f"{key}.covariates.{name}", "is not a feature or rr_ms"
                )
        transform = table.get("transform", "linear")
        if transform not in TRANSFORMS:
            raise _fail(
                where, f"{key}.transform", f"must be one of {', '.join(TRANSFORMS)}"
            )
        by_class = {}
        for code, pair in table.get("class", {}).items():
            if code not in classes or not isinstance(pair, dict):
                raise _fail(where, f"{key}.class.{code}", "must name a spec class")
            a = _number(pair, f"{key}.class.{code}", "intercept", where)
            b = _number(pair, f"{key}.class.{code}", "slope", where)
            if abs(b) < 1e-12:
                raise _fail(where, f"{key}.class.{code}.slope", "must not be zero")
            by_class[code] = (a, b)
        r2 = table.get("r2")
        out[param] = Mapping(param, feature, numbers["intercept"], numbers["slope"],
                             numbers["low"], numbers["high"], covariates, by_class,
                             None if r2 is None else float(r2),
                             transform)  # fmt: skip
    return out


def _check_coverage(spec: CohortSpec, where: str) -> None:
    # Every class must have a marginal (shared or its own) for every feature
    # that is not omitted for it, or patients of that class cannot be drawn.
    for code in spec.classes:
        for feature in FEATURE_UNITS:
            if feature in spec.omit.get(code, ()):
                continue
            if spec.marginal(code, feature) is None:
                raise _fail(
                    where,
                    f"features.{feature}",
                    f"is missing and class {code} has no own distribution for it",
                )


def from_dict(doc: dict, where: str = "<spec>") -> CohortSpec:
    """Validate a parsed TOML document and build the spec.

    Parameters
    ----------
    doc : dict
        The document as :mod:`tomllib` returns it.
    where : str
        How errors name the input (usually the file path).

    Raises
    ------
    SpecError
        Naming ``where`` and the first offending key.
    """
    for key in doc:
        if key not in _SECTIONS:
            raise _fail(
                where, key, f"is not a spec section; expected {', '.join(_SECTIONS)}"
            )
    name, seed, description, source = _parse_cohort(doc, where)
    fs, duration, options = _parse_engine(doc, where)
    classes = _parse_classes(doc, where)
    age, sex = _parse_demographics(doc, where)
    features = _parse_feature_tables(_table(doc, "features", where), "features", where)
    class_features, omit = _parse_class_features(doc, classes, where)
    variables, correlation = _parse_copula(doc, where)
    raw_rules = doc.get("rules", [])
    if not isinstance(raw_rules, list):
        raise _fail(where, "rules", "must be an array of tables ([[rules]])")
    rules = [_parse_rule(r, i, classes, where) for i, r in enumerate(raw_rules)]
    spec = CohortSpec(
        name=name, seed=seed, classes=classes, age=age, sex=sex, features=features,
        class_features=class_features, omit=omit, copula_variables=variables,
        correlation=correlation, rules=rules,
        mapping=_parse_mapping(doc, classes, where), fs_hz=fs, duration_s=duration,
        engine_options=options, description=description, source=source,
        fit=_table(doc, "fit", where),
    )  # fmt: skip
    _check_coverage(spec, where)
    return spec


def load(path: str | Path) -> CohortSpec:
    """Read and validate a spec file.

    Raises
    ------
    SpecError
        If the file cannot be read, is not TOML, or breaks a rule of the
        layout; the message names the file, the key and what was expected.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        message = "no such file; expected a cohort spec (TOML)"
        raise SpecError(f"{path}: {message}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot be read ({exc})") from None
    return loads(text, where=str(path))


def loads(text: str, where: str = "<spec>") -> CohortSpec:
    """Parse and validate a spec from TOML text; see :func:`load`."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{where}: not valid TOML ({exc})") from None
    return from_dict(doc, where)


def to_dict(spec: CohortSpec) -> dict:
    """The spec as a TOML-ready document in the layout of the module docstring."""
    cohort = {"name": spec.name, "seed": spec.seed}
    if spec.description:
        cohort["description"] = spec.description
    if spec.source:
        cohort["source"] = spec.source
    doc: dict = {"cohort": cohort}
    doc["engine"] = {"fs_hz": spec.fs_hz, "duration_s": spec.duration_s}
    if spec.engine_options:
        doc["engine"]["options"] = dict(spec.engine_options)
    doc["demographics"] = {
        "age_years": dists.to_table(spec.age),
        "sex": dists.to_table(spec.sex),
    }
    doc["classes"] = dict(spec.classes)
    doc["features"] = {k: dists.to_table(d) for k, d in spec.features.items()}
    class_features = {}
    for code in spec.classes:
        own = spec.class_features.get(code, {})
        sub = {k: dists.to_table(d) for k, d in own.items()}
        if spec.omit.get(code):
            sub["omit"] = list(spec.omit[code])
        if sub:
            class_features[code] = sub
    if class_features:
        doc["class_features"] = class_features
    if spec.copula_variables:
        doc["copula"] = {
            "variables": list(spec.copula_variables),
            "correlation": [[float(x) for x in row] for row in spec.correlation],
        }
    if spec.rules:
        doc["rules"] = [rule.to_table() for rule in spec.rules]
    if spec.mapping:
        doc["mapping"] = {p: m.to_table() for p, m in spec.mapping.items()}
    if spec.fit:
        doc["fit"] = spec.fit
    return doc


HEADER = (
    "# cardiofair cohort spec: edit freely, then `cardiofair cohort show` checks it.\n"
    "# Units: intervals in ms, heart rate in 1/min, axis in degrees, age in years.\n"
)


def dumps(spec: CohortSpec) -> str:
    """The spec as TOML text, starting with a short explanatory header."""
    return HEADER + tomli_w.dumps(to_dict(spec))


def dump(spec: CohortSpec, path: str | Path) -> None:
    """Write the spec to ``path`` atomically (a temporary file, then rename)."""
    from engine.atomic import write_text

    write_text(Path(path), dumps(spec))
