"""Fidelity of the synthetic table to the real one, with sdmetrics.

The quality report scores column shapes and pairwise trends; the diagnostic
report checks validity and structure. A high quality score does not mean the
data is useful for a task (a score of 0.94 has been seen beside a
train-on-synthetic AUC of 0.47): utility is judged separately.

Memorisation is measured here rather than with sdmetrics'
``DCROverfittingProtection``, which draws its real and synthetic subsamples
independently (so a noisy copy can pass) and took over a minute on 10,000
rows: for a seeded subsample of synthetic rows only, the share whose closest
real row is a training row rather than a control row (0.5 when the generator
has not memorised; training and control have the same size).
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
from sdmetrics.reports import DiagnosticReport, QualityReport

from catalog.gate.neighbors import nearest
from catalog.gate.privacy import task_rng

log = logging.getLogger(__name__)

#: Synthetic rows checked for memorisation.
MEMORISATION_ROWS = 2000


def sdmetrics_metadata(numeric: list[str], categorical: list[str]) -> dict:
    """The metadata sdmetrics' reports expect, for one table of features."""
    columns = {c: {"sdtype": "numerical"} for c in numeric}
    columns.update({c: {"sdtype": "categorical"} for c in categorical})
    return {"tables": {"features": {"columns": columns}}}


def fidelity(
    real_train: pd.DataFrame,
    control: pd.DataFrame,
    synthetic: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    seed: int,
    n_threads: int = 1,
) -> dict:
    """Quality, diagnostic and memorisation scores.

    Returns
    -------
    dict
        ``quality`` (0-1, with ``column_shapes`` and ``column_pair_trends``),
        ``column_scores`` (shape score per column), ``diagnostic`` (0-1),
        and ``memorisation``: ``closer_to_train`` share and ``n_rows``.
    """
    metadata = sdmetrics_metadata(numeric, categorical)
    quality, diagnostic = QualityReport(), DiagnosticReport()
    real, syn = {"features": real_train}, {"features": synthetic}
    with warnings.catch_warnings():
        # sdmetrics warns about constant columns and pandas idioms; the
        # scores it returns are what the report shows.
        warnings.simplefilter("ignore")
        quality.generate(real, syn, metadata, verbose=False)
        diagnostic.generate(real, syn, metadata, verbose=False)
    properties = quality.get_properties().set_index("Property")["Score"]
    shapes = quality.get_details("Column Shapes")
    return {
        "quality": _number(quality.get_score()),
        "column_shapes": _number(properties.get("Column Shapes")),
        "column_pair_trends": _number(properties.get("Column Pair Trends")),
        "column_scores": {
            str(row["Column"]): _number(row["Score"]) for _, row in shapes.iterrows()
        },
        "diagnostic": _number(diagnostic.get_score()),
        "memorisation": memorisation(
            real_train, control, synthetic, numeric, categorical, seed, n_threads
        ),
    }


def memorisation(
    real_train: pd.DataFrame,
    control: pd.DataFrame,
    synthetic: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    seed: int,
    n_threads: int = 1,
) -> dict:
    """Share of synthetic rows closer to a training row than to a control row.

    Ties count half. ``real_train`` and ``control`` must have the same size.
    """
    rng = task_rng(seed, "memorisation")
    n = min(MEMORISATION_ROWS, len(synthetic))
    rows = synthetic.iloc[np.sort(rng.choice(len(synthetic), n, replace=False))]
    _, to_train = nearest(rows, real_train, numeric, categorical, n_threads)
    _, to_control = nearest(rows, control, numeric, categorical, n_threads)
    closer = np.mean(to_train < to_control) + 0.5 * np.mean(to_train == to_control)
    return {
        "closer_to_train": float(closer),
        "exact_copies": int(np.sum(to_train == 0)),
        "n_rows": n,
    }


def _number(value) -> float | None:
    if value is None or pd.isna(value):
        return None
    return float(value)
