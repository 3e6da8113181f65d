"""Scoring rows with a model into the per-row predictions frame every later step pairs on.

Columns: the id column, ``y_true`` (when the target is present), ``y_pred``, and scores: ``score``
(probability of the positive class) for a binary task, ``proba_<class>`` per class for a multiclass
task, none for regression.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlgitops.artifact import LoadedModel
from mlgitops.errors import DataError


def proba_column(label: Any) -> str:
    """The predictions column holding the probability of ``label`` (multiclass)."""
    return f"proba_{label}"


def check_features(model: LoadedModel, frame: pd.DataFrame, where: str) -> None:
    """Raise :class:`DataError` when ``frame`` lacks any of the model's input features."""
    missing = [f for f in model.features if f not in frame.columns]
    if missing:
        raise DataError(
            f"{where} lacks the model's input column(s) {', '.join(missing)}; "
            "the data does not match the model's input schema."
        )


def score_frame(model: LoadedModel, frame: pd.DataFrame, *, where: str = "data") -> pd.DataFrame:
    """Score ``frame`` with ``model`` into a predictions frame (pure apart from the model call)."""
    meta = model.metadata
    check_features(model, frame, where)
    id_column = meta["id_column"]
    target = meta["target"]
    out = pd.DataFrame(index=frame.index)
    if id_column in frame.columns:
        out[id_column] = frame[id_column].to_numpy()
    if target in frame.columns:
        out["y_true"] = frame[target].to_numpy()
    x = frame[model.features]
    estimator = model.estimator
    if meta["task"] == "regression":
        out["y_pred"] = np.asarray(estimator.predict(x), dtype="float64")
        return out.reset_index(drop=True)
    proba = np.asarray(estimator.predict_proba(x), dtype="float64")
    classes = list(estimator.classes_)
    out["y_pred"] = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
    if meta["task"] == "binary":
        positive = meta["positive_class"]
        if positive not in classes:
            raise DataError(
                f"the model's classes {classes} do not include data.positive_class {positive!r}."
            )
        out["score"] = proba[:, classes.index(positive)]
    else:
        for i, label in enumerate(classes):
            out[proba_column(label)] = proba[:, i]
    out = out.reset_index(drop=True)
    if out["y_pred"].map(type).nunique() == 1 and isinstance(classes[0], str):
        out["y_pred"] = out["y_pred"].astype(str)
    return out
