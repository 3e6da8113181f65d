"""The served model, and the holder that swaps it atomically.

A :class:`ServedModel` is immutable and complete before anyone can see it: the estimator is loaded,
its validator built and (for a stage version) its smoke test passed. :class:`ModelHolder` keeps a
single reference to the current one; swapping replaces that reference in one assignment. A request
takes the reference once, when it starts, and does everything (validation, prediction, the version
in its answer, its log entry) with that snapshot, so readers never see a half-loaded model and
in-flight requests finish on the model they started on.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from mlgitops.artifact import LoadedModel
from mlgitops.schema import Schema
from mlgitops.scoring import proba_column, score_frame
from mlgitops.serve.records import FieldError, RecordValidator, records_frame


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """A UTC timestamp as fixed-width ISO 8601 (sorts as text)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def predictions(
    model: LoadedModel, schema: Schema, records: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The model's answer for valid records (checked against ``schema``), one dict per record.

    ``label`` is the prediction (the class, or the number for regression); a binary model adds
    ``score`` (probability of the positive class), a multiclass one ``probabilities`` per class.
    """
    frame = records_frame(records, schema)
    scored = score_frame(model, frame, where="the request")
    labels = [_plain(v) for v in scored["y_pred"].tolist()]
    task = model.task
    if task == "regression":
        return [{"label": float(v)} for v in labels]
    if task == "binary":
        scores = scored["score"].to_numpy(dtype="float64").tolist()
        return [{"label": y, "score": s} for y, s in zip(labels, scores, strict=True)]
    classes = model.metadata["classes"]
    columns = {str(c): scored[proba_column(c)].to_numpy(dtype="float64").tolist() for c in classes}
    return [
        {"label": y, "probabilities": {c: p[i] for c, p in columns.items()}}
        for i, y in enumerate(labels)
    ]


@dataclass(frozen=True)
class ServedModel:
    """One model version, ready to answer."""

    model: LoadedModel
    version: str
    source: str
    loaded_at: datetime
    validator: RecordValidator
    stage: str | None = None
    commit: str | None = None
    assignment: str | None = None
    serving_since: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.model.metadata.get("name", "model"))

    @property
    def sha256(self) -> str:
        return str(self.model.metadata.get("model_sha256", ""))

    def check(self, records: list[Any]) -> list[FieldError]:
        return self.validator.check(records)

    def predict(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return predictions(self.model, self.validator.schema, records)

    def describe(self) -> dict[str, Any]:
        """What ``GET /version`` says about this model."""
        return {
            "name": self.name,
            "version": self.version,
            "model_sha256": self.sha256,
            "task": self.model.task,
            "loaded_at": iso(self.loaded_at),
            "serving_since": iso(self.serving_since) if self.serving_since else None,
            "source": self.source,
            "stage": self.stage,
            "commit": self.commit,
            "assignment": self.assignment,
        }


def served_model(
    model: LoadedModel,
    *,
    version: str,
    source: str,
    stage: str | None = None,
    commit: str | None = None,
    assignment: str | None = None,
) -> ServedModel:
    """Prepare ``model`` for serving: its input schema is parsed and its validator built once."""
    return ServedModel(
        model=model,
        version=version,
        source=source,
        loaded_at=utc_now(),
        validator=RecordValidator(model.input_schema),
        stage=stage,
        commit=commit,
        assignment=assignment,
    )


class ModelHolder:
    """The current :class:`ServedModel`; swapped in one assignment, read without a lock."""

    def __init__(self) -> None:
        self._current: ServedModel | None = None
        self._lock = threading.Lock()
        self.swaps = 0

    @property
    def current(self) -> ServedModel | None:
        """The model serving now (a snapshot: hold on to it for the whole request)."""
        return self._current

    def swap(self, new: ServedModel) -> ServedModel | None:
        """Serve ``new`` from now on; return the model it replaced (None for the first one)."""
        with self._lock:
            old = self._current
            self._current = replace(new, serving_since=utc_now())
            if old is not None:
                self.swaps += 1
            return old
