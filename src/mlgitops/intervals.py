"""Confidence intervals for one model's metrics on its evaluation predictions (pure core).

The model card reports each metric with an interval, for the one model being released (the PR
check's paired tests compare two). Methods:

- accuracy: Wilson's score interval for a binomial proportion;
- roc_auc (binary): DeLong's variance of the AUC, a Wald interval clipped to [0, 1];
- every other metric: a seeded percentile bootstrap over evaluation rows. Each metric is a
  smooth function of per-row column means (log loss and Brier score are means of per-row
  losses; F1 is a function of the true-positive, false-positive and false-negative rates; RMSE
  and R² of squared errors and moments), so a resample costs one mean per column.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from mlgitops.metrics import compute_metrics, positives, proba_matrix
from mlgitops.stats.bootstrap import paired_bootstrap

_EPS = 1e-15
# Resamples drawn at once: bounds the memory of the index matrix (chunk x rows).


@dataclass(frozen=True)
class MetricInterval:
    """A metric's value on the evaluation rows and its confidence interval."""

    name: str
    value: float
    low: float
    high: float
    method: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "method": self.method,
        }


def wilson_interval(successes: int, n: int, confidence: float) -> tuple[float, float]:
    """Wilson's score interval for a proportion ``successes / n``."""
    if n <= 0:
        raise ValueError("a proportion needs at least one trial")
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def delong_interval(y: np.ndarray, score: np.ndarray, confidence: float) -> tuple[float, float]:
    """A Wald interval for one ROC AUC with DeLong's variance (clipped to [0, 1])."""
    truth = y.astype(bool)
    pos, neg = score[truth], score[~truth]
    n_pos, n_neg = len(pos), len(neg)
    if n_pos < 2 or n_neg < 2:
        raise ValueError("the AUC interval needs at least two rows of each class")
    rank_all = stats.rankdata(np.concatenate([pos, neg]))
    rank_pos = stats.rankdata(pos)
    rank_neg = stats.rankdata(neg)
    v10 = (rank_all[:n_pos] - rank_pos) / n_neg
    v01 = 1.0 - (rank_all[n_pos:] - rank_neg) / n_pos
    auc = float(v10.mean())
    se = math.sqrt(v10.var(ddof=1) / n_pos + v01.var(ddof=1) / n_neg)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    return max(0.0, auc - z * se), min(1.0, auc + z * se)


def bootstrap_interval(
    values: np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray],
    *,
    resamples: int,
    confidence: float,
    seed: int,
) -> tuple[float, float]:
    """Percentile interval of ``statistic(column means)`` over row resamples with replacement.

    The resampling is :func:`mlgitops.stats.bootstrap.paired_bootstrap`'s (exact multinomial
    cells, the gate's own engine), applied to one model's per-row values.

    Args:
        values: Per-row values, shape (n, p).
        statistic: Vectorised map from means, shape (B, p), to the metric, shape (B,).
        resamples: Number of resamples.
        confidence: Level of the interval.
        seed: Seed of ``numpy.random.default_rng``: the same inputs give the same interval.
    """
    result = paired_bootstrap(
        values, statistic, seed=seed, n_resamples=resamples, confidence=confidence
    )
    return float(result.ci_low), float(result.ci_high)


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    denominator = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, 2 * tp / np.where(denominator > 0, denominator, 1), 0.0)


def _binary_columns(
    predictions: pd.DataFrame, positive_class: Any
) -> dict[str, tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]]:
    y = positives(predictions["y_true"], positive_class).astype(float)
    yhat = positives(predictions["y_pred"], positive_class).astype(float)
    score = np.clip(predictions["score"].to_numpy(dtype="float64"), _EPS, 1 - _EPS)
    loss = -(y * np.log(score) + (1 - y) * np.log(1 - score))
    brier = (score - y) ** 2
    tp, fp, fn = y * yhat, (1 - y) * yhat, y * (1 - yhat)
    return {
        "f1_score": (np.column_stack([tp, fp, fn]), lambda m: _f1(m[:, 0], m[:, 1], m[:, 2])),
        "log_loss": (loss[:, None], lambda m: m[:, 0]),
        "brier_score_loss": (brier[:, None], lambda m: m[:, 0]),
    }


def _multiclass_columns(
    predictions: pd.DataFrame, classes: list[Any]
) -> dict[str, tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]]:
    y_true = predictions["y_true"].to_numpy()
    y_pred = predictions["y_pred"].to_numpy()
    proba = np.clip(proba_matrix(predictions, classes), _EPS, 1.0)
    proba = proba / proba.sum(axis=1, keepdims=True)
    index = {c: i for i, c in enumerate(classes)}
    rows = np.arange(len(y_true))
    truth_index = np.array([index.get(v, -1) for v in y_true])
    known = truth_index >= 0
    loss = np.zeros(len(y_true))
    loss[known] = -np.log(proba[rows[known], truth_index[known]])
    columns = []
    for c in classes:
        t, p = (y_true == c).astype(float), (y_pred == c).astype(float)
        columns.extend([t * p, (1 - t) * p, t * (1 - p)])
    k = len(classes)

    def macro_f1(m: np.ndarray) -> np.ndarray:
        return np.mean(
            [_f1(m[:, 3 * i], m[:, 3 * i + 1], m[:, 3 * i + 2]) for i in range(k)], axis=0
        )

    return {
        "f1_score": (np.column_stack(columns), macro_f1),
        "log_loss": (loss[:, None], lambda m: m[:, 0]),
    }


def _regression_columns(
    predictions: pd.DataFrame,
) -> dict[str, tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]]:
    y = predictions["y_true"].to_numpy(dtype="float64")
    e = predictions["y_pred"].to_numpy(dtype="float64") - y

    def r2(m: np.ndarray) -> np.ndarray:
        variance = m[:, 2] - m[:, 1] ** 2
        with np.errstate(invalid="ignore", divide="ignore"):
            return 1 - m[:, 0] / variance

    return {
        "mean_absolute_error": (np.abs(e)[:, None], lambda m: m[:, 0]),
        "root_mean_squared_error": ((e * e)[:, None], lambda m: np.sqrt(m[:, 0])),
        "r2_score": (np.column_stack([e * e, y, y * y]), r2),
    }


def metric_intervals(
    predictions: pd.DataFrame,
    *,
    task: str,
    positive_class: Any,
    classes: list[Any] | None,
    confidence: float,
    resamples: int,
    seed: int,
) -> tuple[MetricInterval, ...]:
    """Every metric of ``task`` on ``predictions`` with its interval, in report order."""
    point = compute_metrics(predictions, task=task, positive_class=positive_class, classes=classes)
    n = len(predictions)
    if task == "binary":
        columns = _binary_columns(predictions, positive_class)
    elif task == "multiclass":
        columns = _multiclass_columns(predictions, list(classes or []))
    else:
        columns = _regression_columns(predictions)
    found = []
    for offset, (name, value) in enumerate(point.items()):
        if name == "accuracy":
            if task == "binary":
                correct = positives(predictions["y_true"], positive_class) == positives(
                    predictions["y_pred"], positive_class
                )
            else:
                correct = predictions["y_true"].to_numpy() == predictions["y_pred"].to_numpy()
            low, high = wilson_interval(int(np.sum(correct)), n, confidence)
            method = "Wilson score"
        elif name == "roc_auc":
            y = positives(predictions["y_true"], positive_class)
            score = predictions["score"].to_numpy(dtype="float64")
            low, high = delong_interval(y, score, confidence)
            method = "DeLong"
        else:
            values, statistic = columns[name]
            low, high = bootstrap_interval(
                values, statistic, resamples=resamples, confidence=confidence, seed=seed + offset
            )
            method = f"bootstrap ({resamples} resamples, seed {seed + offset})"
        found.append(MetricInterval(name, float(value), low, high, method))
    return tuple(found)
