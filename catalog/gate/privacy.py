"""Re-identification risk of a synthetic table, measured with anonymeter.

Three attacks follow the EU criteria for anonymisation: singling out
(univariate and multivariate queries), linkability (joining a person's
demographics to their clinical features through the synthetic rows) and
inference (guessing a sensitive column from the others). Each attack is run
against the training rows (``ori``) and against the ``control`` rows the
generator never saw; the risk is the excess success on ``ori``,
``(attack - control) / (1 - control)``, with anonymeter's 95% interval.

anonymeter 1.1.0 supplies the singling-out queries (the univariate ones
directly; the multivariate ones are drawn the same way in
:mod:`catalog.gate.queries`, as arrays) and the risk with its ci. The
neighbour searches of linkability and inference use anonymeter's distance
(:mod:`catalog.gate.neighbors`). Four corrections, measured on our cohorts:

- the singling-out risk is divided by the number of queries actually formed,
  not by the ``n_attacks`` requested (the univariate attack forms only a few
  hundred, so its risk shrank as ``n_attacks`` grew);
- the inference baseline pairs each target with a random synthetic row by
  position (anonymeter re-indexes by label, which loses most guesses);
- a numeric secret is hit when the guess lies within 5% of the true value's
  scale; anonymeter divides by the guess, so every negative guess (an ECG
  axis) counted as a hit, and without ``regression=True`` it compared floats
  for exact equality;
- every draw comes from one seeded generator, so a verdict is reproducible.

``ori`` and ``control`` must have the same number of rows (the caller
subsamples): with fewer control rows a perfect generator looks risky.
"""

from __future__ import annotations

import logging
import operator
import warnings
import zlib
from dataclasses import dataclass, field
from functools import reduce

# anonymeter.evaluators must be imported before anonymeter.neighbors: the
# other order is a circular import in anonymeter 1.1.0.
import anonymeter.evaluators  # noqa: F401
import numpy as np
import pandas as pd
import polars as pl
from anonymeter.evaluators.singling_out_evaluator import (
    univariate_singling_out_queries,
)
from anonymeter.stats.confidence import EvaluationResults

from catalog.gate.neighbors import nearest
from catalog.gate.queries import Encoding, count_matches, multivariate_queries

log = logging.getLogger(__name__)

#: Relative tolerance within which a numeric secret counts as guessed.
TOLERANCE = 0.05

#: Columns combined by one multivariate singling-out query.
N_COLS = 3

#: Candidate queries tried per multivariate query wanted before giving up (a
#: 10,000-row cohort needed about 70; anonymeter stops at 10 million in all).
ATTEMPTS_PER_QUERY = 500

#: Query batches evaluated by polars at once.
_QUERY_CHUNK = 500

_NUMERIC_OPS = (
    operator.eq,
    operator.ne,
    operator.lt,
    operator.gt,
    operator.le,
    operator.ge,
)
_CATEGORY_OPS = (operator.eq, operator.ne)


@dataclass
class RiskResult:
    """One attack's outcome.

    Attributes
    ----------
    evaluator : str
        ``singling_out_univariate``, ``singling_out_multivariate``,
        ``linkability`` or ``inference``.
    target : str or None
        The secret column of an inference attack.
    risk : float
        Excess success on ``ori`` over ``control``, in [0, 1].
    ci : tuple of float
        95% confidence interval of the risk.
    n_attacks : int
        Attacks made (queries formed, targets attacked).
    n_success, n_control, n_baseline : int
        Successes against ``ori``, against ``control``, and of the random
        baseline attacker.
    attack_rate, control_rate, baseline_rate : float
        The corresponding success rates.
    threshold : float or None
        Largest acceptable upper bound of the ci, set by :func:`judge`.
    notes : list of str
        What a reader should know about this measurement.
    """

    evaluator: str
    target: str | None
    risk: float
    ci: tuple[float, float]
    n_attacks: int
    n_success: int
    n_control: int
    n_baseline: int
    attack_rate: float
    control_rate: float
    baseline_rate: float
    threshold: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.threshold is None or self.ci[1] <= self.threshold

    def judge(self, threshold: float) -> RiskResult:
        self.threshold = threshold
        return self

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["ci"] = [self.ci[0], self.ci[1]]
        out["passed"] = self.passed
        return out


def task_rng(seed: int, key: str) -> np.random.Generator:
    """A generator for one attack, fixed by the gate's seed and the attack."""
    return np.random.default_rng([seed, zlib.crc32(key.encode())])


def _score(
    evaluator: str,
    target: str | None,
    n_attacks: tuple[int, int, int],
    n_success: int,
    n_control: int,
    n_baseline: int,
) -> RiskResult:
    """Turn counts into a risk and ci with anonymeter's statistics."""
    notes = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = EvaluationResults(
            n_attacks=n_attacks,
            n_success=int(n_success),
            n_baseline=int(n_baseline),
            n_control=int(n_control),
            confidence_level=0.95,
        )
        risk = results.risk()
    for warning in caught:
        notes.append(f"anonymeter: {warning.message}")
    return RiskResult(
        evaluator=evaluator,
        target=target,
        risk=float(risk.value),
        ci=(float(risk.ci[0]), float(risk.ci[1])),
        n_attacks=n_attacks[0],
        n_success=int(n_success),
        n_control=int(n_control),
        n_baseline=int(n_baseline),
        attack_rate=n_success / n_attacks[0],
        control_rate=n_control / n_attacks[2],
        baseline_rate=n_baseline / n_attacks[1],
        notes=notes,
    )


# ---------------------------------------------------------------- singling out


def singling_out(
    ori: pd.DataFrame,
    syn: pd.DataFrame,
    control: pd.DataFrame,
    mode: str,
    n_attacks: int,
    seed: int,
    n_cols: int = N_COLS,
) -> RiskResult:
    """Singling-out risk: queries that isolate one synthetic row, tried on ori.

    Parameters
    ----------
    ori, syn, control : pandas.DataFrame
        Training, synthetic and control rows, harmonised, ``len(ori) ==
        len(control)``.
    mode : {"univariate", "multivariate"}
        Queries on one column (rare values, extremes) or on ``n_cols``.
    n_attacks : int
        Queries requested; fewer may exist, and the risk uses those formed.
    seed : int
        The gate's seed.

    Returns
    -------
    RiskResult
    """
    rng = task_rng(seed, f"singling_out_{mode}")
    syn_pl, ori_pl, control_pl = (_distinct(t) for t in (syn, ori, control))
    if mode == "multivariate":
        width = min(n_cols, syn.shape[1])
        return _multivariate(syn_pl, ori_pl, control_pl, syn, n_attacks, width, rng)
    queries = _univariate_queries(syn_pl, n_attacks, rng)
    baseline = _random_queries(syn, n_attacks, 1, rng)
    counts = (
        _count_singled_out(ori_pl, queries),
        _count_singled_out(control_pl, queries),
        _count_singled_out(ori_pl, baseline),
    )
    return _singling_out_result(
        "singling_out_univariate", len(queries), n_attacks, len(baseline), counts
    )


def _singling_out_result(
    evaluator: str,
    n_queries: int,
    n_attacks: int,
    n_random: int,
    counts: tuple[int, int, int],
) -> RiskResult:
    """Risk relative to the ``n_queries`` formed, not the ``n_attacks`` asked."""
    n_success, n_control, n_baseline = counts
    if n_queries == 0:
        return _no_queries(evaluator, n_baseline, n_random)
    result = _score(
        evaluator,
        None,
        (n_queries, n_random, n_queries),
        n_success,
        n_control,
        n_baseline,
    )
    if n_queries < n_attacks:
        result.notes.append(
            f"{n_queries} of {n_attacks} requested queries single out a "
            "synthetic row; the risk is relative to the queries formed"
        )
    return result


def _multivariate(syn_pl, ori_pl, control_pl, syn, n_attacks, width, rng):
    """The multivariate attack with anonymeter's queries built as arrays."""
    categorical = {c for c in syn.columns if not pd.api.types.is_float_dtype(syn[c])}
    encoding = Encoding(list(syn.columns), categorical)
    # More queries than synthetic rows cannot be found in a small table
    # without exhausting every attempt; anonymeter's cap is 10 million.
    wanted = min(n_attacks, syn_pl.height)
    queries = multivariate_queries(
        syn_pl, encoding, wanted, width, ATTEMPTS_PER_QUERY * wanted, rng
    )
    baseline = _random_queries(syn, n_attacks, width, rng)
    n_success = int(np.sum(count_matches(queries, encoding.matrix(ori_pl)) == 1))
    n_control = int(np.sum(count_matches(queries, encoding.matrix(control_pl)) == 1))
    n_baseline = _count_singled_out(ori_pl, baseline)
    return _singling_out_result(
        "singling_out_multivariate",
        len(queries),
        n_attacks,
        len(baseline),
        (n_success, n_control, n_baseline),
    )


def _univariate_queries(
    syn: pl.DataFrame, n_attacks: int, rng: np.random.Generator
) -> list[pl.Expr]:
    """Every univariate query that singles out, then a seeded choice of them.

    anonymeter shuffles its candidates before keeping the first
    ``n_attacks``, but polars lists rare values in no fixed order, so the
    same seed could keep different queries. All are taken, put in a fixed
    order, and drawn from there.
    """
    every = univariate_singling_out_queries(syn, syn.height * syn.width * 2, rng)
    every.sort(key=str)
    if len(every) <= n_attacks:
        return every
    chosen = np.sort(rng.choice(len(every), n_attacks, replace=False))
    return [every[i] for i in chosen]


def _distinct(table: pd.DataFrame) -> pl.DataFrame:
    """Distinct rows as polars, as anonymeter's singling-out evaluator uses."""
    return pl.from_pandas(table).unique(maintain_order=True)


def _no_queries(evaluator: str, n_baseline: int, n_random: int) -> RiskResult:
    return RiskResult(
        evaluator=evaluator,
        target=None,
        risk=0.0,
        ci=(0.0, 0.0),
        n_attacks=0,
        n_success=0,
        n_control=0,
        n_baseline=n_baseline,
        attack_rate=0.0,
        control_rate=0.0,
        baseline_rate=n_baseline / max(n_random, 1),
        notes=["no query singles out a synthetic row; nothing to attack with"],
    )


def _count_singled_out(table: pl.DataFrame, queries: list[pl.Expr]) -> int:
    """How many queries match exactly one row of ``table``."""
    hits = 0
    for start in range(0, len(queries), _QUERY_CHUNK):
        chunk = queries[start : start + _QUERY_CHUNK]
        counts = table.select(
            [q.cast(pl.Int64).sum().alias(f"q{i}") for i, q in enumerate(chunk)]
        ).row(0)
        hits += sum(1 for c in counts if c == 1)
    return hits


def _random_queries(
    syn: pd.DataFrame, n_queries: int, width: int, rng: np.random.Generator
) -> list[pl.Expr]:
    """The baseline attacker: random values of random columns, random operators."""
    columns = list(syn.columns)
    numeric = {c for c in columns if pd.api.types.is_float_dtype(syn[c])}
    queries = []
    for _ in range(n_queries):
        chosen = sorted(rng.choice(columns, size=width, replace=False).tolist())
        parts = []
        for column in chosen:
            value = syn[column].iloc[int(rng.integers(len(syn)))]
            ops = _NUMERIC_OPS if column in numeric else _CATEGORY_OPS
            op = ops[int(rng.integers(len(ops)))]
            if value is None or (isinstance(value, float) and np.isnan(value)):
                part = pl.col(column).is_null()
                part = part if op is operator.eq else ~part
            else:
                part = op(pl.col(column), value)
            parts.append(part)
        queries.append(reduce(operator.and_, parts))
    return queries


# ---------------------------------------------------------------- linkability


def linkability(
    ori: pd.DataFrame,
    syn: pd.DataFrame,
    control: pd.DataFrame,
    aux_cols: tuple[list[str], list[str]],
    numeric: list[str],
    n_attacks: int,
    seed: int,
    n_threads: int = 1,
) -> RiskResult:
    """Linkability risk: do a target's two halves share a nearest synthetic row?

    Parameters
    ----------
    ori, syn, control : pandas.DataFrame
        Training, synthetic and control rows, harmonised.
    aux_cols : tuple of two lists of str
        The columns of each half (demographics, clinical features).
    numeric : list of str
        Which columns are numeric; the others are compared as categories.
    n_attacks : int
        Targets to attack; capped at ``len(ori)`` and ``len(control)``.
    seed : int
        The gate's seed.
    n_threads : int
        Threads for the neighbour search.

    Returns
    -------
    RiskResult
    """
    rng = task_rng(seed, "linkability")
    n = min(n_attacks, len(ori), len(control))
    ori_targets = ori.iloc[rng.choice(len(ori), n, replace=False)]
    control_targets = control.iloc[rng.choice(len(control), n, replace=False)]
    n_success = _count_links(ori_targets, syn, aux_cols, numeric, n_threads)
    n_control = _count_links(control_targets, syn, aux_cols, numeric, n_threads)
    first, second = rng.integers(len(syn), size=(2, n))
    n_baseline = int(np.sum(first == second))
    result = _score("linkability", None, (n, n, n), n_success, n_control, n_baseline)
    if n < n_attacks:
        result.notes.append(
            f"{n} targets attacked instead of {n_attacks}: the training and "
            "control tables hold no more"
        )
    return result


def _count_links(
    targets: pd.DataFrame,
    syn: pd.DataFrame,
    aux_cols: tuple[list[str], list[str]],
    numeric: list[str],
    n_threads: int,
) -> int:
    closest = []
    for columns in aux_cols:
        num = [c for c in columns if c in numeric]
        cat = [c for c in columns if c not in numeric]
        index, _ = nearest(targets, syn, num, cat, n_threads=n_threads)
        closest.append(index)
    return int(np.sum(closest[0] == closest[1]))


# ---------------------------------------------------------------- inference


def inference(
    ori: pd.DataFrame,
    syn: pd.DataFrame,
    control: pd.DataFrame,
    secret: str,
    numeric: list[str],
    n_attacks: int,
    seed: int,
    n_threads: int = 1,
) -> RiskResult:
    """Inference risk: guess ``secret`` from the nearest synthetic row.

    The attacker knows every other column of a target, finds the closest
    synthetic row on those and reads its ``secret``. A categorical secret is
    guessed when equal; a numeric one when within ``TOLERANCE`` of the true
    value (of ``|value|`` for positive quantities, of the column's standard
    deviation when the column takes negative values or zero, such as the axis).

    Parameters
    ----------
    ori, syn, control : pandas.DataFrame
        Training, synthetic and control rows, harmonised.
    secret : str
        The sensitive column.
    numeric : list of str
        Which columns are numeric.
    n_attacks : int
        Targets to attack; capped at ``len(ori)`` and ``len(control)``.
    seed : int
        The gate's seed.
    n_threads : int
        Threads for the neighbour search.

    Returns
    -------
    RiskResult
    """
    rng = task_rng(seed, f"inference:{secret}")
    n = min(n_attacks, len(ori), len(control))
    derived = determining_columns(ori, secret)
    aux = [c for c in syn.columns if c != secret and c not in derived]
    num = [c for c in aux if c in numeric]
    cat = [c for c in aux if c not in numeric]
    scale = _tolerance_scale(ori[secret]) if secret in numeric else False

    def hits(targets: pd.DataFrame, guesses: np.ndarray) -> int:
        return int(np.sum(_guessed(guesses, targets[secret].to_numpy(), scale)))

    ori_targets = ori.iloc[rng.choice(len(ori), n, replace=False)]
    control_targets = control.iloc[rng.choice(len(control), n, replace=False)]
    secrets = syn[secret].to_numpy()
    ori_index, _ = nearest(ori_targets, syn, num, cat, n_threads=n_threads)
    control_index, _ = nearest(control_targets, syn, num, cat, n_threads=n_threads)
    random_index = rng.integers(len(syn), size=n)
    result = _score(
        "inference",
        secret,
        (n, n, n),
        hits(ori_targets, secrets[ori_index]),
        hits(control_targets, secrets[control_index]),
        hits(ori_targets, secrets[random_index]),
    )
    if n < n_attacks:
        result.notes.append(
            f"{n} targets attacked instead of {n_attacks}: the training and "
            "control tables hold no more"
        )
    if derived:
        result.notes.append(
            f"{', '.join(derived)} determine {secret} in the real rows (as an "
            "age fixes its age band, or a diagnosis its class) and were left "
            "out of what the attacker knows: whoever knows them knows the "
            "secret without the synthetic data"
        )
    return result


def determining_columns(ori: pd.DataFrame, secret: str) -> list[str]:
    """Columns whose value fixes ``secret`` in the real rows.

    A column counts when every one of its values occurs with a single value
    of ``secret`` and it takes fewer distinct values than half the rows (a
    column unique to each row fixes everything and says nothing).
    """
    found = []
    for column in ori.columns:
        if column == secret:
            continue
        values = ori[column]
        if values.nunique(dropna=False) >= len(ori) / 2:
            continue
        spread = ori.groupby(values, dropna=False)[secret].nunique(dropna=False)
        if len(spread) and int(spread.max()) <= 1:
            found.append(column)
    return found


def _tolerance_scale(values: pd.Series) -> float | None:
    """``None`` for a positive quantity (relative tolerance), else its std."""
    present = values.dropna()
    if len(present) and (present > 0).all():
        return None
    return float(present.std()) if len(present) > 1 else 1.0


def _guessed(
    guesses: np.ndarray, truth: np.ndarray, scale: float | None | bool
) -> np.ndarray:
    """Which guesses hit; both missing counts as a hit, as in anonymeter.

    ``scale`` is ``False`` for a category (equality), ``None`` for a positive
    quantity (tolerance relative to the true value), else the absolute scale.
    """
    both_missing = pd.isna(guesses) & pd.isna(truth)
    if scale is False:
        return both_missing | (guesses == truth)
    guesses, truth = guesses.astype(float), truth.astype(float)
    allowed = TOLERANCE * (np.abs(truth) if scale is None else scale)
    with np.errstate(invalid="ignore"):
        return both_missing | (np.abs(guesses - truth) <= allowed)
