"""The reference profile of a model: what the drift check compares production batches with.

Built once per model by the ``profile`` pipeline stage and stored beside it (``paths.profile``, a
DVC output), so the scheduled drift check needs neither the training data nor a retrain:

- **features**: each model input summarised from the *training* rows (the data the model learned
  from), with :func:`mlgitops.stats.drift.numeric_reference` (sorted values for the
  Kolmogorov-Smirnov test and the Wasserstein distance, PSI bins on reference quantiles) or
  :func:`mlgitops.stats.drift.categorical_reference` (category counts);
- **outputs**: the model's scores and predicted labels on the *evaluation* rows. Not on the
  training rows: a model's scores on the rows it was fitted to are more confident than on rows it
  has never seen (a boosted model's training-row scores pile up near 0 and 1), so every
  production batch, which the model has never seen either, would look drifted against them. The
  evaluation rows are unseen data from the training distribution: exactly what a batch without
  drift looks like;
- **performance**: the evaluation metrics with their standard errors, the "training-time"
  performance a labelled batch is compared with.

Numeric reference samples are capped at ``profile.max_reference_values`` values per feature (a
seeded simple random sample without replacement; ``n``, mean, std and the PSI bins still use every
training row). The KS test stays exactly calibrated, since the subsample is itself an i.i.d.
sample of the training distribution; what the cap costs is power, through the test's effective
size ``m n / (m + n)``: with the default cap m = 10,000 against the 24,421 training rows, a
500-row batch keeps 98 % of its effective size (476 instead of 490), a 10,000-row batch 70 %
(5,000 instead of 7,096). Both sides at most 10,000 also keeps scipy's exact KS p-value.

The document is JSON (``"schema_version"``), with no pickle anywhere: numbers, strings and lists.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlgitops.errors import DataError
from mlgitops.metric_names import higher_is_better
from mlgitops.params import ProfileParams
from mlgitops.stats.drift import (
    CategoricalReference,
    NumericReference,
    categorical_reference,
    numeric_reference,
)

PROFILE_SCHEMA_VERSION = 1

NUMERIC_DTYPES = ("integer", "number")

#: Level of the interval whose half-width is one standard error (normal approximation).
ONE_SIGMA = 0.6826894921370859

Reference = NumericReference | CategoricalReference


def feature_kind(dtype: str) -> str:
    """``numeric`` for integer and number columns, ``categorical`` for the rest."""
    return "numeric" if dtype in NUMERIC_DTYPES else "categorical"


def numeric_values(series: pd.Series) -> np.ndarray:
    """A column as float64 with NaN for missing values (what the numeric tests take).

    A float64 column is returned without a copy (under pandas' copy-on-write a read-only view of
    the frame's data, which the tests only read): at 1M rows that is 8 MB per column saved.
    """
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "fiu":
        # NumPy numbers have no missing value other than NaN: no coercion, no mask to apply.
        return series.to_numpy(dtype=np.float64)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _counted_natively(dtype: Any) -> bool:
    """Whether pandas' value counts of this dtype give exactly the categories of the object path.

    True for strings (Arrow or Python storage), integers, booleans and categoricals whose
    categories are not mixed Python objects: there, pandas' hash table and Python's ``==``
    agree on which values are the same category. Floats (0.0 and -0.0, NaN payloads) and object
    columns (1 and True are one key to Python) take the object path, whose result is the
    definition.
    """
    if isinstance(dtype, pd.CategoricalDtype):
        categories = dtype.categories
        return categories.dtype != object or categories.inferred_type == "string"
    if isinstance(dtype, pd.StringDtype):
        return True
    if isinstance(dtype, pd.ArrowDtype) and pd.api.types.is_string_dtype(dtype):
        return True
    # NumPy, masked (Int64, boolean) and Arrow integers and booleans.
    return dtype.kind in "biu"


def _object_values(series: pd.Series) -> np.ndarray:
    values = series.astype(object).to_numpy(copy=True)
    values[series.isna().to_numpy()] = None
    return values


def category_values(series: pd.Series) -> np.ndarray:
    """A column as Python objects with None for missing values (what the categorical tests take).

    Strings, integers, booleans and categoricals are factorised first, so the object array
    holds one pointer per row to one Python object per category instead of one new object per
    row (``astype(object)`` on Arrow strings builds a million ``str``s for a million rows).
    The values are the same either way.
    """
    if not _counted_natively(series.dtype):
        return _object_values(series)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    labels = np.empty(len(uniques) + 1, dtype=object)
    labels[:-1] = uniques.astype(object)
    labels[-1] = None  # code -1 (missing) picks the last label
    return labels[codes]


def category_counts(series: pd.Series) -> dict[Any, int]:
    """Rows per category, with the missing values counted under ``None``.

    What :func:`mlgitops.stats.drift.categorical_reference` and
    :func:`~mlgitops.stats.drift.categorical_drift` take as a mapping, equal to what they count
    from :func:`category_values` (same categories, same Python types, same counts), without
    building an object array: pandas counts strings, integers, booleans and categoricals in
    its own hash table (Arrow's for Arrow strings), 5 to 10 times faster at 1M rows.
    """
    if not _counted_natively(series.dtype):
        return dict(Counter(_object_values(series).tolist()))
    counted = series.value_counts(dropna=False, sort=False)
    counts: dict[Any, int] = {}
    nulls = 0
    for key, count in zip(counted.index.tolist(), counted.tolist(), strict=True):
        if not count:
            continue  # a categorical's unused categories
        if key is None or key is pd.NA or key != key:  # None, NA, NaN and NaT are missing
            nulls += count
        else:
            counts[key] = count
    if nulls:
        counts[None] = nulls
    return counts


def summarise(values: pd.Series, kind: str, params: ProfileParams) -> Reference:
    """The stored reference of one column."""
    if kind == "numeric":
        return numeric_reference(
            numeric_values(values),
            params.psi_bins,
            max_values=params.max_reference_values,
            seed=params.seed,
        )
    return categorical_reference(category_counts(values))


def _compact(reference: Reference) -> dict[str, Any]:
    data = reference.to_dict()
    if isinstance(reference, NumericReference):
        # Integer-valued features (ages, counts) are written without ".0": a third smaller file.
        data["values"] = [int(v) if float(v).is_integer() else v for v in data["values"]]
    return data


def _reference_from(kind: str, data: Mapping[str, Any]) -> Reference:
    if kind == "numeric":
        return NumericReference.from_dict(data)
    return CategoricalReference.from_dict(data)


@dataclass(frozen=True)
class ColumnReference:
    """The reference of one model input or output.

    Attributes:
        name: The column (a feature name, or ``score`` / ``prediction`` for outputs).
        kind: ``numeric`` or ``categorical``: which test the drift check runs.
        dtype: The schema dtype (features) or what the output is (outputs).
        reference: The summary the tests take.
    """

    name: str
    kind: str
    dtype: str
    reference: Reference

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "dtype": self.dtype,
            "reference": _compact(self.reference),
        }


@dataclass(frozen=True)
class MetricReference:
    """A metric on the evaluation rows with its standard error."""

    name: str
    value: float
    se: float
    method: str

    @property
    def higher_is_better(self) -> bool:
        return higher_is_better(self.name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "se": self.se,
            "higher_is_better": self.higher_is_better,
            "method": self.method,
        }


@dataclass(frozen=True)
class Profile:
    """Everything the drift check knows about the model and its data.

    Attributes:
        model: name, task, target, positive_class, classes, id_column, model_sha256,
            schema_hash (from the model's metadata).
        input_schema: The model's input schema (``Schema.to_dict``), to validate batches with.
        training_rows: Rows the features were profiled from.
        evaluation_rows: Rows the outputs and the performance were profiled from.
        features: One reference per model input, in the model's order.
        outputs: References of the model's outputs on the evaluation rows.
        performance: Evaluation metrics with standard errors.
        settings: The profile params used.
    """

    model: dict[str, Any]
    input_schema: dict[str, Any]
    training_rows: int
    evaluation_rows: int
    features: tuple[ColumnReference, ...]
    outputs: tuple[ColumnReference, ...]
    performance: tuple[MetricReference, ...]
    settings: dict[str, Any]

    @property
    def task(self) -> str:
        return str(self.model["task"])

    def feature(self, name: str) -> ColumnReference:
        for column in self.features:
            if column.name == name:
                return column
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": PROFILE_SCHEMA_VERSION,
            "model": self.model,
            "input_schema": self.input_schema,
            "training_rows": self.training_rows,
            "evaluation_rows": self.evaluation_rows,
            "settings": self.settings,
            "features": [f.to_dict() for f in self.features],
            "outputs": [o.to_dict() for o in self.outputs],
            "performance": [m.to_dict() for m in self.performance],
        }


MODEL_KEYS = (
    "name",
    "task",
    "target",
    "positive_class",
    "classes",
    "id_column",
    "model_sha256",
    "schema_hash",
)


def output_columns(task: str, predictions: pd.DataFrame) -> dict[str, pd.Series]:
    """The outputs the drift check tests, from a predictions frame (``score_frame``'s shape).

    Binary: ``score`` (probability of the positive class) and ``prediction`` (the label).
    Multiclass: ``score`` (probability of the predicted class, as the prediction log keeps it:
    a ``score`` column when there is one, else the largest ``proba_<class>``) and
    ``prediction``. Regression: ``prediction`` (a number).
    """
    if task == "regression":
        return {"prediction": predictions["y_pred"]}
    if task == "binary" or "score" in predictions.columns:
        score = predictions["score"]
    else:
        proba = [c for c in predictions.columns if str(c).startswith("proba_")]
        score = predictions[proba].max(axis=1)
    return {"score": score, "prediction": predictions["y_pred"]}


def output_kind(task: str, name: str) -> tuple[str, str]:
    """(kind, description) of an output column."""
    if name == "score":
        what = "probability of the positive class" if task == "binary" else "top probability"
        return "numeric", what
    if task == "regression":
        return "numeric", "predicted value"
    return "categorical", "predicted label"


def build_profile(
    train: pd.DataFrame,
    predictions: pd.DataFrame,
    metadata: Mapping[str, Any],
    params: ProfileParams,
) -> Profile:
    """Profile the training rows' features and the model's outputs on the evaluation rows.

    Args:
        train: The training split (every model feature present).
        predictions: The model's predictions on the evaluation split (``score_frame`` output,
            with ``y_true``).
        metadata: The model's metadata (``LoadedModel.metadata``).
        params: The ``profile`` section.

    Returns:
        The profile.

    Raises:
        DataError: a feature is missing from the training rows, or the evaluation predictions
            have no labels.
    """
    features = [(f["name"], f["dtype"]) for f in metadata["features"]]
    missing = [name for name, _ in features if name not in train.columns]
    if missing:
        raise DataError(
            f"the training split lacks the model's feature(s) {', '.join(missing)}; profile the "
            "split the model was trained on."
        )
    if "y_true" not in predictions.columns:
        raise DataError(
            "the evaluation split has no target column, so its performance cannot be profiled; "
            "profile the labelled evaluation split."
        )
    # Here, not at the top: the intervals need scikit-learn's metrics, whose import takes seconds
    # and which the drift job (reading a profile, testing a batch) never uses.
    from mlgitops.intervals import metric_intervals

    task = str(metadata["task"])
    feature_refs = tuple(
        ColumnReference(
            name, feature_kind(dtype), dtype, summarise(train[name], feature_kind(dtype), params)
        )
        for name, dtype in features
    )
    outputs = []
    for name, values in output_columns(task, predictions).items():
        kind, what = output_kind(task, name)
        outputs.append(ColumnReference(name, kind, what, summarise(values, kind, params)))
    intervals = metric_intervals(
        predictions,
        task=task,
        positive_class=metadata.get("positive_class"),
        classes=metadata.get("classes"),
        confidence=ONE_SIGMA,
        resamples=params.bootstrap_resamples,
        seed=params.seed,
    )
    performance = tuple(
        MetricReference(m.name, m.value, (m.high - m.low) / 2, m.method) for m in intervals
    )
    return Profile(
        model={key: metadata.get(key) for key in MODEL_KEYS},
        input_schema=dict(metadata["input_schema"]),
        training_rows=len(train),
        evaluation_rows=len(predictions),
        features=feature_refs,
        outputs=tuple(outputs),
        performance=performance,
        settings=params.model_dump(),
    )


def _columns(raw: Any, where: str) -> tuple[ColumnReference, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise ValueError(f"{where} must be a list")
    found = []
    for item in raw:
        kind = item["kind"]
        if kind not in ("numeric", "categorical"):
            raise ValueError(f"{where}: kind {kind!r} is neither numeric nor categorical")
        found.append(
            ColumnReference(
                str(item["name"]),
                kind,
                str(item["dtype"]),
                _reference_from(kind, item["reference"]),
            )
        )
    return tuple(found)


def profile_from_dict(raw: Any, origin: str) -> Profile:
    """Rebuild a profile from its JSON document.

    Raises:
        DataError: the document is of another format version, or incomplete or inconsistent.
    """
    if not isinstance(raw, Mapping):
        raise DataError(f"profile {origin} is not a JSON object; re-run the profile stage.")
    version = raw.get("schema_version")
    if version != PROFILE_SCHEMA_VERSION:
        raise DataError(
            f"profile {origin} has format version {version!r}, this mlgitops reads "
            f"{PROFILE_SCHEMA_VERSION}; re-run the profile stage (dvc repro) with this version."
        )
    try:
        return Profile(
            model={key: raw["model"].get(key) for key in MODEL_KEYS},
            input_schema=dict(raw["input_schema"]),
            training_rows=int(raw["training_rows"]),
            evaluation_rows=int(raw["evaluation_rows"]),
            features=_columns(raw["features"], "features"),
            outputs=_columns(raw["outputs"], "outputs"),
            performance=tuple(
                MetricReference(str(m["name"]), float(m["value"]), float(m["se"]), str(m["method"]))
                for m in raw["performance"]
            ),
            settings=dict(raw["settings"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        reason = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise DataError(
            f"profile {origin} is incomplete or inconsistent ({reason}); re-run the profile stage."
        ) from exc
