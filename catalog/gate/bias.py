"""Bias: class balance and demographic representation against the source.

Each group of a label or demographic column (ages in ten-year bands) is
compared by its share of the synthetic rows against its share of the real
training rows. A group whose share falls below ``UNDER`` times its real share
is named as under-represented; above ``OVER`` times, over-represented.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

UNDER = 0.8
OVER = 1.25

#: Groups with fewer real rows, or a smaller share, are listed but not judged:
#: their synthetic share is too noisy to call them under-represented.
MIN_ROWS = 30
MIN_SHARE = 0.01


def bias(
    real_train: pd.DataFrame,
    synthetic: pd.DataFrame,
    columns: list[str],
    numeric: list[str],
) -> dict:
    """Representation of each group of ``columns`` in the synthetic rows.

    Returns
    -------
    dict
        ``columns``: per column, its groups with ``real_share``,
        ``synthetic_share`` and ``ratio``, and the total variation distance
        ``tvd``; ``under_represented`` and ``over_represented``: lists of
        ``"column=group"``; ``min_ratio`` over judged groups.
    """
    per_column, under, over, ratios = {}, [], [], []
    for column in columns:
        real, syn = _groups(real_train[column], synthetic[column], column in numeric)
        shares = _shares(real, syn)
        per_column[column] = {
            "groups": shares,
            "tvd": 0.5
            * sum(abs(g["real_share"] - g["synthetic_share"]) for g in shares.values()),
        }
        for group, g in shares.items():
            small = g["real_share"] * len(real_train) < MIN_ROWS
            if small or g["real_share"] < MIN_SHARE:
                continue
            ratios.append(g["ratio"])
            if g["ratio"] < UNDER:
                under.append(f"{column}={group}")
            elif g["ratio"] > OVER:
                over.append(f"{column}={group}")
    return {
        "columns": per_column,
        "under_represented": under,
        "over_represented": over,
        "min_ratio": min(ratios) if ratios else None,
    }


def _groups(real: pd.Series, syn: pd.Series, is_numeric: bool):
    if not is_numeric:
        return (s.fillna("<missing>").astype(str) for s in (real, syn))
    low = np.floor(np.nanmin(real) / 10) * 10
    high = np.ceil(np.nanmax(real) / 10) * 10 + 10
    edges = np.arange(low, high + 1, 10)
    edges[0], edges[-1] = -np.inf, np.inf

    def band(values: pd.Series) -> pd.Series:
        cut = pd.cut(values, edges, right=False, labels=_band_labels(edges))
        return cut.astype(str).replace("nan", "<missing>")

    return band(real), band(syn)


def _band_labels(edges: np.ndarray) -> list[str]:
    labels = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=False):
        if np.isinf(lo):
            labels.append(f"<{hi:g}")
        elif np.isinf(hi):
            labels.append(f">={lo:g}")
        else:
            labels.append(f"{lo:g}-{hi - 1:g}")
    return labels


def _shares(real: pd.Series, syn: pd.Series) -> dict:
    real_share = real.value_counts(normalize=True)
    syn_share = syn.value_counts(normalize=True)
    out = {}
    for group in sorted(set(real_share.index) | set(syn_share.index)):
        r = float(real_share.get(group, 0.0))
        s = float(syn_share.get(group, 0.0))
        out[str(group)] = {
            "real_share": r,
            "synthetic_share": s,
            "ratio": s / r if r > 0 else None,
        }
    return out
