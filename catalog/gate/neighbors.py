"""Nearest synthetic neighbours under anonymeter's mixed-type distance.

anonymeter 1.1.0 finds neighbours one query at a time: a numba loop fills
all distances, then sorts them, and joblib dispatches each query as its own
task. The distance here is the same, computed in the same order (numeric
columns divided by their range over both tables, absolute differences summed
column by column, then one per differing category), so the distances are
equal to the last bit; but only the closest candidate is kept while
scanning, and blocks of queries share threads. Ties go to the lowest
candidate index.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from numba import njit

log = logging.getLogger(__name__)

#: Queries per block handed to one thread.
BLOCK = 256


def encode(
    queries: pd.DataFrame,
    candidates: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Scale numeric columns and code categories consistently in both tables.

    Returns
    -------
    q_num, c_num : ndarray of float64, shapes (n_queries, n_numeric) and
        (n_candidates, n_numeric)
        Values divided by the column's range over both tables.
    q_cat, c_cat : ndarray of int64
        Category codes shared by both tables; a missing value is a code of
        its own.
    """
    q_num = queries[numeric].to_numpy(dtype=float)
    c_num = candidates[numeric].to_numpy(dtype=float)
    if numeric:
        both = np.vstack([q_num, c_num])
        spread = np.nanmax(both, axis=0) - np.nanmin(both, axis=0)
        spread[~(spread > 0)] = 1.0
        q_num, c_num = q_num / spread, c_num / spread
    q_cat = np.empty((len(queries), len(categorical)), dtype=np.int64)
    c_cat = np.empty((len(candidates), len(categorical)), dtype=np.int64)
    for j, column in enumerate(categorical):
        values = pd.concat([queries[column], candidates[column]]).fillna("\0")
        codes, _ = pd.factorize(values.astype(str))
        q_cat[:, j], c_cat[:, j] = codes[: len(queries)], codes[len(queries) :]
    return q_num, c_num, q_cat, c_cat


def nearest(
    queries: pd.DataFrame,
    candidates: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    n_threads: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Find each query's closest candidate.

    Parameters
    ----------
    queries : pandas.DataFrame, shape (n_queries, n_columns)
        Records whose neighbour is sought (targets of an attack).
    candidates : pandas.DataFrame, shape (n_candidates, n_columns)
        Records searched (usually the synthetic table).
    numeric, categorical : list of str
        The columns to compare, by kind.
    n_threads : int
        Threads sharing the blocks of queries (NumPy releases the GIL).

    Returns
    -------
    index : ndarray of int64, shape (n_queries,)
        Position in ``candidates`` of each query's closest record.
    distance : ndarray of float64, shape (n_queries,)
        The distance to it. A missing numeric value is at distance 1 from
        anything.
    """
    q_num, c_num, q_cat, c_cat = encode(queries, candidates, numeric, categorical)
    starts = range(0, len(queries), BLOCK)

    def block(start: int) -> tuple[np.ndarray, np.ndarray]:
        stop = min(start + BLOCK, len(queries))
        best = np.empty(stop - start, dtype=np.int64)
        best_dist = np.empty(stop - start)
        _closest(q_num[start:stop], c_num, q_cat[start:stop], c_cat, best, best_dist)
        return best, best_dist

    if n_threads > 1 and len(starts) > 1:
        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            parts = list(pool.map(block, starts))
    else:
        parts = [block(start) for start in starts]
    if not parts:
        return np.empty(0, dtype=np.int64), np.empty(0)
    index = np.concatenate([p[0] for p in parts]).astype(np.int64)
    return index, np.concatenate([p[1] for p in parts])


@njit(nogil=True, cache=False)
def _closest(q_num, c_num, q_cat, c_cat, best, best_dist):
    """Fill ``best`` and ``best_dist`` for each query row (compiled)."""
    n_num, n_cat = q_num.shape[1], q_cat.shape[1]
    for i in range(q_num.shape[0]):
        lowest, where = np.inf, 0
        for j in range(c_num.shape[0]):
            d = 0.0
            for k in range(n_num):
                step = abs(q_num[i, k] - c_num[j, k])
                d += 1.0 if np.isnan(step) else step
            for k in range(n_cat):
                if q_cat[i, k] != c_cat[j, k]:
                    d += 1.0
            if d < lowest:
                lowest, where = d, j
        best[i], best_dist[i] = where, lowest
