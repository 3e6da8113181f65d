"""Evaluation of a model's predictions: metrics, slices and plot data (pure core).

Plot data is written in DVC's ``plots:`` format (a JSON object holding one list of records per
file), so ``dvc plots show`` and ``dvc plots diff`` and DVC's VS Code extension render it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from mlgitops.errors import DataError
from mlgitops.metrics import compute_metrics, positives
from mlgitops.params import EvaluateParams, SliceSpec

RESULT_VERSION = 1
MISSING_LABEL = "(missing)"


@dataclass(frozen=True)
class Evaluation:
    """Metrics, slice metrics, plot data and the smoke-test sample of one evaluation set."""

    metrics: dict[str, Any]
    slices: dict[str, Any]
    plots: dict[str, dict[str, list[dict[str, Any]]]]
    smoke_sample: dict[str, Any]


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe records: numpy scalars become Python ones, missing values None."""
    records = []
    for row in frame.astype(object).where(frame.notna(), None).to_dict(orient="records"):
        records.append({k: v.item() if isinstance(v, np.generic) else v for k, v in row.items()})
    return records


def _shown(frame: pd.DataFrame, mask: np.ndarray, column: str, id_column: str | None) -> str:
    """A few bad rows as text: ``row_id 12: 'maybe'``, or the values alone."""
    bad = frame.loc[mask]
    if id_column is not None and id_column != column and id_column in frame.columns:
        pairs = zip(bad[id_column].head(5), bad[column].head(5), strict=True)
        return ", ".join(f"{id_column} {_plain(i)}: {_plain(v)!r}" for i, v in pairs)
    values = pd.unique(bad[column].astype(object).where(bad[column].notna(), None))[:5]
    return ", ".join("null" if v is None else repr(_plain(v)) for v in values)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def check_evaluation_rows(
    frame: pd.DataFrame,
    *,
    id_column: str,
    target: str,
    task: str,
    classes: list[Any] | None,
    where: str,
) -> None:
    """Refuse evaluation rows the PR gate could not pair, or whose labels the model cannot have.

    The id column must be present, without nulls and unique: the gate pairs the baseline's and the
    candidate's predictions on it. For a classifier, every target value must be one of the model's
    classes: an unknown label (a typo, another coding) would otherwise count as a wrong negative.

    Raises:
        DataError: naming ``where``, the column, the count of bad rows and examples.
    """
    if id_column not in frame.columns:
        raise DataError(
            f"{where} has no id column {id_column} (the model's id_column, data.id_column when it "
            "was trained); the pull-request check pairs the models' predictions on it: add the "
            "column, or retrain with data.id_column naming the data's id."
        )
    ids = frame[id_column]
    checks = [
        (ids.isna().to_numpy(), "is null", "give every row an id"),
        (
            (ids.notna() & ids.duplicated(keep=False)).to_numpy(),
            "is not unique",
            "give every row its own id",
        ),
    ]
    for mask, what, fix in checks:
        if mask.any():
            raise DataError(
                f"{where}: column {id_column} (the row id) {what} on {int(mask.sum())} row(s) "
                f"(e.g. {_shown(frame, mask, id_column, None)}); {fix}, as the pull-request "
                "check pairs rows on it."
            )
    if task == "regression" or classes is None or target not in frame.columns:
        return
    labels = frame[target]
    unknown = (labels.notna() & ~labels.isin(classes)).to_numpy()
    if unknown.any():
        known = ", ".join(repr(c) for c in classes)
        raise DataError(
            f"{where}: column {target} (the target) has {int(unknown.sum())} row(s) with a "
            f"label the model does not know (e.g. {_shown(frame, unknown, target, id_column)}); "
            f"the model's classes are {known}: fix those labels, or retrain on data that has them."
        )


def smoke_sample(
    predictions: pd.DataFrame, frame: pd.DataFrame, features: list[str], rows: int
) -> dict[str, Any]:
    """A few evaluation rows with the offline predictions a deployed model must reproduce.

    The rows are spread over the range of predictions (and include rows with missing values, when
    there are any), so a smoke test exercises more than one branch of the model.
    """
    key = predictions["score"] if "score" in predictions else predictions["y_pred"]
    order = np.argsort(key.to_numpy(), kind="stable")
    chosen = list(order[_thin(len(order), rows)])
    with_nulls = np.flatnonzero(frame[features].isna().any(axis=1).to_numpy())
    for i in with_nulls[: max(1, rows // 10)]:
        if i not in chosen:
            chosen[len(chosen) // 2] = i
    chosen = sorted(set(chosen))
    expected_columns = [
        c for c in predictions.columns if c == "y_pred" or c.startswith(("score", "proba_"))
    ]
    return {
        "schema_version": RESULT_VERSION,
        "features": features,
        "rows": json_records(frame.iloc[chosen][features].reset_index(drop=True)),
        "expected": json_records(predictions.iloc[chosen][expected_columns].reset_index(drop=True)),
    }


def _thin(n: int, points: int) -> np.ndarray:
    """Indices of at most ``points`` evenly spread rows of ``n``, always keeping both ends."""
    if n <= points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, points).round().astype(int))


def _r(x: float) -> float:
    return round(float(x), 6)


def binary_plots(
    y: np.ndarray, score: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, params: EvaluateParams
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """ROC, precision-recall, calibration and confusion data for a binary task."""
    fpr, tpr, roc_thr = skm.roc_curve(y, score)
    keep = _thin(len(fpr), params.plot_points)
    roc = [
        {"fpr": _r(fpr[i]), "tpr": _r(tpr[i]), "threshold": _r(min(roc_thr[i], 1.0))} for i in keep
    ]
    precision, recall, pr_thr = skm.precision_recall_curve(y, score)
    keep = _thin(len(pr_thr), params.plot_points)
    prc = [
        {"precision": _r(precision[i]), "recall": _r(recall[i]), "threshold": _r(pr_thr[i])}
        for i in keep
    ]
    edges = np.linspace(0.0, 1.0, params.calibration_bins + 1)
    which = np.clip(np.digitize(score, edges[1:-1]), 0, params.calibration_bins - 1)
    calibration = []
    for b in range(params.calibration_bins):
        in_bin = which == b
        count = int(in_bin.sum())
        if count:
            calibration.append(
                {
                    "bin": b,
                    "mean_predicted": _r(score[in_bin].mean()),
                    "fraction_positive": _r(y[in_bin].mean()),
                    "count": count,
                }
            )
    return {
        "roc": {"roc": roc},
        "precision_recall": {"prc": prc},
        "calibration": {"calibration": calibration},
        "confusion": confusion_plot(y_true, y_pred),
    }


def confusion_plot(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, list[dict[str, Any]]]:
    """One record per row, as DVC's confusion template expects."""
    return {
        "confusion": [
            {"actual": str(a), "predicted": str(p)} for a, p in zip(y_true, y_pred, strict=True)
        ]
    }


def regression_plots(
    y_true: np.ndarray, y_pred: np.ndarray, params: EvaluateParams
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Predicted against actual values (a thinned scatter, sorted by actual)."""
    order = np.argsort(y_true, kind="stable")
    keep = order[_thin(len(order), params.plot_points)]
    return {
        "predicted_vs_actual": {
            "predicted_vs_actual": [
                {"actual": _r(y_true[i]), "predicted": _r(y_pred[i])} for i in keep
            ]
        }
    }


def slice_labels(values: pd.Series, spec: SliceSpec) -> pd.Series:
    """The slice each row falls in: its value, or its bin for a binned numeric column."""
    if spec.bins is None:
        return values.astype(object).where(values.notna(), MISSING_LABEL).astype(str)
    edges = [-np.inf, *spec.bins, np.inf]
    names = []
    for lo, hi in itertools.pairwise(edges):
        if lo == -np.inf:
            names.append(f"< {hi:g}")
        elif hi == np.inf:
            names.append(f">= {lo:g}")
        else:
            names.append(f"{lo:g} to < {hi:g}")
    binned = pd.cut(pd.to_numeric(values), bins=edges, right=False, labels=names)
    return binned.astype(object).where(binned.notna(), MISSING_LABEL).astype(str)


def _safe_metrics(predictions: pd.DataFrame, **kwargs: Any) -> dict[str, float | None]:
    try:
        return compute_metrics(predictions, **kwargs)
    except DataError:
        # A slice with one class has no AUC or log loss to speak of; accuracy still means something.
        same = predictions["y_true"].to_numpy() == predictions["y_pred"].to_numpy()
        return {"accuracy": float(np.mean(same))}


def slice_metrics(
    predictions: pd.DataFrame,
    frame: pd.DataFrame,
    slices: tuple[SliceSpec, ...],
    min_rows: int,
    **metric_kwargs: Any,
) -> list[dict[str, Any]]:
    """Metrics per slice; slices under ``min_rows`` are reported but marked too small."""
    out = []
    for spec in slices:
        if spec.column not in frame.columns:
            raise DataError(
                f"slice column {spec.column} (evaluate.slices) is not in the evaluation data; "
                "remove it from params.yaml or add the column."
            )
        labels = slice_labels(frame[spec.column].reset_index(drop=True), spec)
        for value in sorted(labels.unique()):
            members = (labels == value).to_numpy()
            rows = int(members.sum())
            sub = predictions.loc[members]
            out.append(
                {
                    "column": spec.column,
                    "value": value,
                    "rows": rows,
                    "too_small": rows < min_rows,
                    "metrics": _safe_metrics(sub, **metric_kwargs),
                }
            )
    return out


def evaluate(
    predictions: pd.DataFrame,
    frame: pd.DataFrame,
    *,
    task: str,
    positive_class: Any,
    classes: list[Any] | None,
    features: list[str],
    params: EvaluateParams,
) -> Evaluation:
    """Evaluate predictions of the rows of ``frame`` (same order)."""
    if "y_true" not in predictions.columns:
        raise DataError("the evaluation data has no target column; evaluation needs labels.")
    if predictions["y_true"].isna().any():
        count = int(predictions["y_true"].isna().sum())
        raise DataError(
            f"the evaluation data has {count} row(s) with a missing target; drop or fix them."
        )
    kwargs = {"task": task, "positive_class": positive_class, "classes": classes}
    metrics = {"rows": len(predictions), **compute_metrics(predictions, **kwargs)}
    y_true = predictions["y_true"].to_numpy()
    y_pred = predictions["y_pred"].to_numpy()
    if task == "binary":
        y = positives(y_true, positive_class)
        plots = binary_plots(
            y, predictions["score"].to_numpy(dtype="float64"), y_true, y_pred, params
        )
    elif task == "multiclass":
        plots = {"confusion": confusion_plot(y_true, y_pred)}
    else:
        plots = regression_plots(y_true.astype("float64"), y_pred.astype("float64"), params)
    slices = {
        "schema_version": RESULT_VERSION,
        "min_rows": params.min_slice_rows,
        "slices": slice_metrics(predictions, frame, params.slices, params.min_slice_rows, **kwargs),
    }
    sample = smoke_sample(predictions, frame.reset_index(drop=True), features, params.smoke_rows)
    return Evaluation(metrics=metrics, slices=slices, plots=plots, smoke_sample=sample)
