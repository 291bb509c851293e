"""Nearest synthetic neighbours under anonymeter's mixed-type distance.

anonymeter 1.1.0 finds neighbours one query at a time (a numba loop and a
full sort per query). The distance here is the same, computed the same way
(numeric columns divided by their range over both tables and summed as
absolute differences in column order, then one per differing category), but
for blocks of queries at once with NumPy, and keeping only the closest
candidate. Ties go to the lowest candidate index.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

#: Queries per block; a block holds ``BLOCK x n_candidates`` float64 values.
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
        stop = start + BLOCK
        dist = _block_distance(q_num[start:stop], c_num, q_cat[start:stop], c_cat)
        best = np.argmin(dist, axis=1)
        return best, dist[np.arange(len(best)), best]

    if n_threads > 1 and len(starts) > 1:
        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            parts = list(pool.map(block, starts))
    else:
        parts = [block(start) for start in starts]
    if not parts:
        return np.empty(0, dtype=np.int64), np.empty(0)
    index = np.concatenate([p[0] for p in parts]).astype(np.int64)
    return index, np.concatenate([p[1] for p in parts])


def _block_distance(
    q_num: np.ndarray, c_num: np.ndarray, q_cat: np.ndarray, c_cat: np.ndarray
) -> np.ndarray:
    """Distances of a block of queries to every candidate, shape (b, n)."""
    dist = np.zeros((len(q_num), len(c_num)))
    for j in range(q_num.shape[1]):
        step = np.abs(q_num[:, j, None] - c_num[None, :, j])
        step[np.isnan(step)] = 1.0
        dist += step
    for j in range(q_cat.shape[1]):
        dist += q_cat[:, j, None] != c_cat[None, :, j]
    return dist
