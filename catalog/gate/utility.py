"""Utility: train on synthetic, test on real, against train on real.

For each label column a gradient-boosted classifier is fitted once on the
synthetic rows and once on the real training rows, and both are scored on
the control rows neither has seen. The ratio of the two macro-F1 scores says
how much of the real data's usefulness for that task the synthetic data
keeps.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import balanced_accuracy_score, f1_score
from threadpoolctl import threadpool_limits

log = logging.getLogger(__name__)


def utility(
    real_train: pd.DataFrame,
    control: pd.DataFrame,
    synthetic: pd.DataFrame,
    labels: list[str],
    categorical: list[str],
    seed: int,
) -> dict:
    """Train-on-synthetic-test-on-real against train-on-real, per label.

    Parameters
    ----------
    real_train, control, synthetic : pandas.DataFrame
        Harmonised tables.
    labels : list of str
        Categorical columns to predict from all the others.
    categorical : list of str
        Categorical columns (coded for the classifier).
    seed : int
        Seed of the classifiers.

    Returns
    -------
    dict
        Per label: ``tstr_f1``, ``trtr_f1`` (macro F1 on control),
        ``tstr_balanced_accuracy``, ``trtr_balanced_accuracy`` and ``ratio``
        (``tstr_f1 / trtr_f1``); ``min_ratio`` over labels.
    """
    per_label = {}
    for label in labels:
        per_label[label] = _one_label(
            real_train, control, synthetic, label, categorical, seed
        )
    ratios = [v["ratio"] for v in per_label.values() if v["ratio"] is not None]
    return {"labels": per_label, "min_ratio": min(ratios) if ratios else None}


def _one_label(real_train, control, synthetic, label, categorical, seed) -> dict:
    features = [c for c in real_train.columns if c != label]
    coded = _code([real_train, control, synthetic], features, categorical)
    x_real, x_control, x_syn = coded
    y_real, y_control, y_syn = (
        t[label].fillna("<missing>").astype(str)
        for t in (real_train, control, synthetic)
    )
    mask = [c in categorical for c in features]
    scores = {}
    for name, x, y in (("tstr", x_syn, y_syn), ("trtr", x_real, y_real)):
        if y.nunique() < 2:
            scores[name] = (0.0, 0.0)
            continue
        model = HistGradientBoostingClassifier(
            categorical_features=np.array(mask) if any(mask) else None,
            random_state=seed,
        )
        # One OpenMP thread: the gate already runs evaluators side by side,
        # and oversubscribed OpenMP threads spin (30 times slower measured).
        with threadpool_limits(limits=1):
            model.fit(x, y)
            predicted = model.predict(x_control)
        with warnings.catch_warnings():
            # A class the model never predicts has no precision; it scores 0.
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            scores[name] = (
                float(f1_score(y_control, predicted, average="macro")),
                float(balanced_accuracy_score(y_control, predicted)),
            )
    tstr, trtr = scores["tstr"], scores["trtr"]
    return {
        "tstr_f1": tstr[0],
        "trtr_f1": trtr[0],
        "tstr_balanced_accuracy": tstr[1],
        "trtr_balanced_accuracy": trtr[1],
        "ratio": tstr[0] / trtr[0] if trtr[0] > 0 else None,
    }


def _code(tables, features, categorical) -> list[np.ndarray]:
    """Numbers as they are; categories as shared integer codes (-1 missing)."""
    out = [t[features].copy() for t in tables]
    for column in features:
        if column not in categorical:
            continue
        values = pd.concat([t[column] for t in tables]).dropna().astype(str)
        levels = sorted(values.unique())
        for t in out:
            codes = pd.Categorical(t[column].astype("string"), categories=levels)
            t[column] = np.where(codes.codes < 0, np.nan, codes.codes)
    return [t.to_numpy(dtype=float) for t in out]
