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
from mlgitops.schema import ColumnSpec, Schema, validate_frame


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


def feature_rules(model: LoadedModel, *, strict: bool) -> Schema:
    """The rules the feature columns are checked against before the model sees them.

    Strict: the model's whole ``input_schema`` (dtypes, nulls, ranges, allowed values), for
    labelled data that should look like the training data. Otherwise only the dtypes: values of
    another type are what the model cannot take at all, while out-of-range values or new
    categories are what a drift check exists to score and measure. The row count and the other
    columns of the frame (id, target, logged outputs) are never the model's business.
    """
    schema = model.input_schema
    if strict:
        columns = schema.columns
    else:
        columns = {n: ColumnSpec(dtype=c.dtype, nullable=True) for n, c in schema.columns.items()}
    return Schema(min_rows=0, extra_columns="ignore", columns=columns)


def check_inputs(
    model: LoadedModel,
    frame: pd.DataFrame,
    where: str,
    *,
    strict: bool = False,
    max_examples: int = 5,
) -> None:
    """Raise :class:`DataError` when the feature columns break the model's input schema.

    The message names the file (``where``), and per broken rule the column, the rule, the count
    of bad rows and a few examples.
    """
    check_features(model, frame, where)
    id_column = model.metadata.get("id_column")
    result = validate_frame(
        frame,
        feature_rules(model, strict=strict),
        name=where,
        id_column=id_column if id_column in frame.columns else None,
        max_examples=max_examples,
    )
    if not result.ok:
        broken = "; ".join(v.sentence() for v in result.violations)
        raise DataError(
            f"{where} does not match the model's input schema: {broken}; fix those values (or "
            "the pipeline that wrote them), or retrain the model on data of this schema."
        )


def score_frame(
    model: LoadedModel, frame: pd.DataFrame, *, where: str = "data", strict: bool = False
) -> pd.DataFrame:
    """Score ``frame`` with ``model`` into a predictions frame (pure apart from the model call).

    The features are checked first (:func:`check_inputs`; ``strict`` checks every rule of the
    input schema, otherwise only the dtypes), so bad values end in a :class:`DataError` naming
    ``where``, the column and the rows, not in a traceback from inside the model.
    """
    meta = model.metadata
    check_inputs(model, frame, where, strict=strict)
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
