"""anonymeter's multivariate singling-out queries, built and counted as arrays.

anonymeter 1.1.0 builds each candidate query as a polars expression in
Python (a synthetic row, ``n_cols`` of its columns, ``>=`` or ``<=`` towards
the extreme side of the median for numbers, ``==`` for categories) and keeps
those that match exactly one synthetic row. On a 10,000-row cohort that took
about 30 s for 2,000 queries. Here the same generator draws the same random
numbers in the same order, so the same queries come out, but each batch is
a few arrays: ``columns``, ``ops`` and ``values`` of shape (batch, n_cols),
counted against a numeric matrix of the table by a compiled loop that stops
as soon as a candidate matches a second row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import polars as pl
from numba import njit

log = logging.getLogger(__name__)

GE, LE, EQ, NULL = 0, 1, 2, 3


@dataclass
class Queries:
    """Conjunctive queries: row ``i`` asks ``table[columns[i, k]] ops[i, k]
    values[i, k]`` for every ``k``.

    Attributes
    ----------
    columns : ndarray of int64, shape (n_queries, n_cols)
    ops : ndarray of int8, shape (n_queries, n_cols)
        ``GE``, ``LE``, ``EQ`` or ``NULL`` (the value is missing).
    values : ndarray of float64, shape (n_queries, n_cols)
        Numbers, or category codes of :class:`Encoding`.
    """

    columns: np.ndarray
    ops: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.columns)


class Encoding:
    """One float matrix per table: numbers as they are, categories as codes.

    Codes are shared by every table encoded with the same instance; missing
    values are NaN.
    """

    def __init__(self, names: list[str], categorical: set[str]):
        self.names = names
        self.categorical = categorical
        self.codes: dict[str, dict[str, float]] = {c: {} for c in categorical}
        #: Codes of values with a quote: anonymeter escapes the quote in its
        #: query, which then matches nothing; so does ours.
        self.quoted: set[tuple[str, float]] = set()

    def matrix(self, table: pl.DataFrame) -> np.ndarray:
        out = np.empty((table.height, len(self.names)))
        for j, name in enumerate(self.names):
            if name in self.categorical:
                out[:, j] = [self.code(name, v) for v in table[name].to_list()]
            else:
                out[:, j] = table[name].cast(pl.Float64).fill_null(np.nan).to_numpy()
        return out

    def code(self, column: str, value) -> float:
        if value is None:
            return np.nan
        table = self.codes[column]
        text = str(value)
        if text not in table:
            table[text] = float(len(table))
            if "'" in text or '"' in text:
                self.quoted.add((column, table[text]))
        return table[text]


def count_matches(
    queries: Queries, matrix: np.ndarray, limit: int | None = None
) -> np.ndarray:
    """Rows of ``matrix`` each query matches, shape (n_queries,).

    With ``limit``, counting stops there: to tell whether a query singles out
    a row, ``limit=2`` is enough, and most candidates reach it within a few
    rows.
    """
    counts = np.empty(len(queries), dtype=np.int64)
    stop = len(matrix) + 1 if limit is None else limit
    _count(queries.columns, queries.ops, queries.values, matrix, stop, counts)
    return counts


@njit(nogil=True, cache=False)
def _count(columns, ops, values, matrix, limit, counts):
    """Fill ``counts`` (compiled; NaN fails every comparison but NULL)."""
    for i in range(columns.shape[0]):
        n = 0
        for row in range(matrix.shape[0]):
            hit = True
            for k in range(columns.shape[1]):
                x = matrix[row, columns[i, k]]
                op, v = ops[i, k], values[i, k]
                if op == GE:
                    hit = x >= v
                elif op == LE:
                    hit = x <= v
                elif op == EQ:
                    hit = x == v
                else:
                    hit = np.isnan(x)
                if not hit:
                    break
            if hit:
                n += 1
                if n >= limit:
                    break
        counts[i] = n


def multivariate_queries(
    syn: pl.DataFrame,
    encoding: Encoding,
    n_queries: int,
    n_cols: int,
    max_attempts: int,
    rng: np.random.Generator,
    batch_size: int = 1000,
) -> Queries:
    """Queries that single out one row of ``syn``, as anonymeter forms them.

    Parameters
    ----------
    syn : polars.DataFrame
        Distinct synthetic rows.
    encoding : Encoding
        Codes for the categorical columns (extended as values are met).
    n_queries : int
        Queries wanted.
    n_cols : int
        Columns per query.
    max_attempts : int
        Candidate queries tried at most.
    rng : numpy.random.Generator
        Consumed exactly as ``multivariate_singling_out_queries`` does.
    """
    columns = list(syn.columns)
    matrix = encoding.matrix(syn)
    above = _above_median(syn, matrix, encoding)
    batch_size = min(batch_size, max_attempts)
    kept: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    seen: set[bytes] = set()
    attempts = 0
    while len(seen) < n_queries:
        if attempts >= max_attempts:
            log.info("stopped at %d of %d queries", len(seen), n_queries)
            break
        rows = rng.integers(low=0, high=syn.height, size=batch_size)
        picks = [
            rng.choice(columns, size=n_cols, replace=False).tolist()
            for _ in range(batch_size)
        ]
        batch = _from_rows(rows, picks, columns, matrix, above, encoding)
        _keep_singling_out(batch, matrix, n_queries, kept, seen)
        attempts += batch_size
    if not kept:
        empty = np.empty((0, n_cols))
        return Queries(empty.astype(np.int64), empty.astype(np.int8), empty)
    return Queries(*(np.vstack([part[i] for part in kept]) for i in range(3)))


def _above_median(syn: pl.DataFrame, matrix, encoding: Encoding) -> np.ndarray:
    """Per cell, whether a numeric value lies above its column's median."""
    medians = syn.median().to_dicts()[0]
    above = np.zeros(matrix.shape, dtype=bool)
    for j, name in enumerate(encoding.names):
        if name not in encoding.categorical and medians[name] is not None:
            with np.errstate(invalid="ignore"):
                above[:, j] = matrix[:, j] > medians[name]
    return above


def _from_rows(rows, picks, columns, matrix, above, encoding: Encoding):
    """Queries from synthetic rows and chosen columns (sorted by name)."""
    index = {name: j for j, name in enumerate(columns)}
    cols = np.array([[index[c] for c in sorted(p)] for p in picks], dtype=np.int64)
    values = matrix[rows[:, None], cols]
    ops = np.where(above[rows[:, None], cols], GE, LE).astype(np.int8)
    is_category = np.isin(cols, [index[c] for c in encoding.categorical])
    ops[is_category] = EQ
    ops[np.isnan(values)] = NULL
    for i, k in zip(*np.nonzero(is_category), strict=False):
        if (columns[cols[i, k]], values[i, k]) in encoding.quoted:
            values[i, k] = -1.0
    return cols, ops, values


def _keep_singling_out(batch, matrix, n_queries, kept, seen) -> None:
    """Append the batch's new queries that match exactly one row, in order."""
    cols, ops, values = batch
    counts = count_matches(Queries(cols, ops, values), matrix, limit=2)
    take = []
    for i in np.flatnonzero(counts == 1):
        key = cols[i].tobytes() + ops[i].tobytes() + np.nan_to_num(values[i]).tobytes()
        if key in seen:
            continue
        seen.add(key)
        take.append(i)
        if len(seen) >= n_queries:
            break
    if take:
        kept.append((cols[take], ops[take], values[take]))
