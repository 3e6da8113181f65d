"""Metrics of a predictions frame, named as scikit-learn names them (pure core).

The name says the direction: names ending in ``_score`` and ``accuracy``/``roc_auc`` are better when
higher; names ending in ``_loss`` or ``_error`` are better when lower.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from mlgitops.errors import DataError
from mlgitops.metric_names import TASK_METRICS, higher_is_better  # noqa: F401 (re-exported)


def positives(y_true: pd.Series | np.ndarray, positive_class: Any) -> np.ndarray:
    """The binary truth as 0/1, from labels and the positive class."""
    return (np.asarray(y_true) == positive_class).astype(np.int8)


def proba_matrix(predictions: pd.DataFrame, classes: list[Any]) -> np.ndarray:
    """The class-probability matrix of a multiclass predictions frame, in ``classes`` order."""
    return predictions[[f"proba_{c}" for c in classes]].to_numpy(dtype="float64")


def compute_metrics(
    predictions: pd.DataFrame,
    *,
    task: str,
    positive_class: Any = None,
    classes: list[Any] | None = None,
) -> dict[str, float]:
    """Every metric of ``task`` for a predictions frame with ``y_true`` and ``y_pred``.

    Raises:
        DataError: a classification evaluation set with a single class, where AUC and friends
            are undefined.
    """
    y_true = predictions["y_true"].to_numpy()
    y_pred = predictions["y_pred"].to_numpy()
    if task == "regression":
        y_true = y_true.astype("float64")
        y_pred = y_pred.astype("float64")
        return {
            "mean_absolute_error": float(skm.mean_absolute_error(y_true, y_pred)),
            "root_mean_squared_error": float(np.sqrt(skm.mean_squared_error(y_true, y_pred))),
            "r2_score": float(skm.r2_score(y_true, y_pred)) if len(y_true) > 1 else 0.0,
        }
    present = pd.unique(y_true)
    if len(present) < 2:
        raise DataError(
            f"the evaluation set has only one class ({present[0]!r}); classification metrics "
            "need both classes, use a larger or stratified evaluation split."
        )
    if task == "binary":
        y = positives(y_true, positive_class)
        yhat = positives(y_pred, positive_class)
        score = predictions["score"].to_numpy(dtype="float64")
        return {
            "accuracy": float(skm.accuracy_score(y, yhat)),
            "roc_auc": float(skm.roc_auc_score(y, score)),
            "f1_score": float(skm.f1_score(y, yhat, zero_division=0.0)),
            "log_loss": float(skm.log_loss(y, score, labels=[0, 1])),
            "brier_score_loss": float(skm.brier_score_loss(y, score, pos_label=1)),
        }
    if classes is None:
        raise ValueError("multiclass metrics need the model's classes")
    proba = proba_matrix(predictions, classes)
    return {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "f1_score": float(
            skm.f1_score(y_true, y_pred, average="macro", labels=classes, zero_division=0.0)
        ),
        "log_loss": float(skm.log_loss(y_true, proba, labels=classes)),
    }
