"""Request records: checked against a model's input schema, then turned into the model's frame.

The schema in the model's metadata (``input_schema``) is the gate. A record is refused, with one
:class:`FieldError` per problem, when a feature is missing, a value has the wrong JSON type, a
number is outside ``min..max``, a category is not in ``allowed``, a value is null where the schema
does not allow nulls, or the record has a field that is not a feature (unless the schema says
``extra_columns: ignore``, in which case such fields are dropped).

JSON has one number type, so an ``integer`` feature accepts ``39`` and ``39.0`` but not ``39.5``;
``number`` accepts any finite number (``NaN`` and ``Infinity`` are refused: send null for a
missing value); ``boolean`` accepts only ``true``/``false``; ``category`` and ``string`` accept
only strings.

Unseen categories: a value the schema allows is passed to the model even when the model never saw
it in training (a rare category, or one absent from the training split). Handling it is the
model's job: the example pipeline encodes unknown categories as missing (gradient boosting) or as
infrequent (logistic regression), so it answers. If a model raises on a record the schema accepts,
the server answers 500 and says so, because that is a bug in the model or its schema, not in the
request.

The frame handed to the model has the dtypes the training data had: int64 for integer features
without nulls, float64 (NaN for null) for numbers and nullable integers, text as pandas infers it
from strings (its string dtype, or object) with NaN, never None, for null. That is what makes the
served predictions equal the offline ones to the last bit (the smoke test checks it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlgitops.schema import ColumnSpec, Schema

#: A response lists at most this many field errors (the count of all of them is always given).
MAX_REPORTED_ERRORS = 200

#: Error kinds, as they appear in a 422 response.
ERROR_KINDS = ("body", "missing", "type", "range", "category", "null", "unknown_field")

_JSON_TYPE = {
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "category": "a string",
    "string": "a string",
}


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of one record (``record``/``field`` are None for the body)."""

    record: int | None
    field: str | None
    kind: str
    error: str

    def to_dict(self) -> dict[str, Any]:
        return {"record": self.record, "field": self.field, "kind": self.kind, "error": self.error}


def _shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, bool) else str(value).lower()
    return text if len(text) <= 60 else text[:57] + "..."


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_value(value: Any, spec: ColumnSpec) -> tuple[str, str] | None:
    """The (kind, message) of what is wrong with one value, or None when it is fine."""
    if value is None:
        if spec.nullable:
            return None
        return "null", "null is not allowed: this feature must have a value"
    dtype = spec.dtype
    if dtype in ("integer", "number"):
        if not _is_number(value):
            return "type", f"expected {_JSON_TYPE[dtype]}, got {_json_type(value)} {_shown(value)}"
        if isinstance(value, float) and not math.isfinite(value):
            return "type", f"expected a finite number, got {value!r} (send null for missing)"
        if dtype == "integer" and isinstance(value, float) and not value.is_integer():
            return "type", f"expected an integer, got {value!r}"
        lo = -math.inf if spec.min is None else spec.min
        hi = math.inf if spec.max is None else spec.max
        if value < lo or value > hi:
            return "range", f"{value!r} is outside the allowed range {_bound(lo)}..{_bound(hi)}"
    elif dtype == "boolean":
        if not isinstance(value, bool):
            return "type", f"expected true or false, got {_json_type(value)} {_shown(value)}"
    elif not isinstance(value, str):
        return "type", f"expected a string, got {_json_type(value)} {_shown(value)}"
    if spec.allowed is not None and value not in spec.allowed:
        shown = ", ".join(map(str, spec.allowed[:10])) + (", ..." if len(spec.allowed) > 10 else "")
        return "category", f"{_shown(value)} is not an allowed value (one of {shown})"
    return None


def _bound(x: float) -> str:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return str(int(x)) if float(x).is_integer() else repr(x)


class RecordValidator:
    """Checks request records against one model's input schema (built once per model)."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.features = list(schema.columns)
        self._specs = list(schema.columns.items())
        self._known = frozenset(self.features)
        self._ignore_extra = schema.extra_columns == "ignore"

    def check_record(self, index: int, record: Any) -> list[FieldError]:
        """Every problem with one record (an empty list when it is valid)."""
        if not isinstance(record, dict):
            return [
                FieldError(
                    index,
                    None,
                    "type",
                    f"a record must be a JSON object of feature values, got {_json_type(record)}",
                )
            ]
        errors = []
        for name, spec in self._specs:
            if name not in record:
                errors.append(
                    FieldError(
                        index,
                        name,
                        "missing",
                        "missing: every feature must be present"
                        + (" (null stands for a missing value)" if spec.nullable else ""),
                    )
                )
                continue
            problem = check_value(record[name], spec)
            if problem is not None:
                errors.append(FieldError(index, name, *problem))
        if not self._ignore_extra and len(record) > len(self._known) - _missing(errors):
            for name in record:
                if name not in self._known:
                    errors.append(
                        FieldError(
                            index,
                            str(name),
                            "unknown_field",
                            "not a feature of this model; remove it",
                        )
                    )
        return errors

    def check(self, records: list[Any]) -> list[FieldError]:
        """Every problem with every record."""
        errors: list[FieldError] = []
        for i, record in enumerate(records):
            errors.extend(self.check_record(i, record))
        return errors

    def inputs(self, record: dict[str, Any]) -> dict[str, Any]:
        """A valid record's feature values, in feature order (extra fields dropped)."""
        return {name: record[name] for name in self.features}


def _missing(errors: list[FieldError]) -> int:
    return sum(1 for e in errors if e.kind == "missing")


def parse_records(payload: Any, *, max_rows: int) -> tuple[list[Any], list[FieldError]]:
    """The records of a decoded ``/predict`` body ``{"records": [...]}``, or the body's errors."""
    if not isinstance(payload, dict):
        got = _json_type(payload)
        return [], [
            FieldError(None, None, "body", f'the body must be {{"records": [...]}}, got {got}')
        ]
    errors = [
        FieldError(None, str(key), "unknown_field", 'not a known key; send only "records"')
        for key in payload
        if key != "records"
    ]
    if "records" not in payload:
        errors.append(FieldError(None, "records", "missing", 'the body needs "records": [...]'))
        return [], errors
    records = payload["records"]
    if not isinstance(records, list):
        errors.append(
            FieldError(
                None,
                "records",
                "type",
                f"expected an array of records, got {_json_type(records)}"
                + (" (a single record is an array of one)" if isinstance(records, dict) else ""),
            )
        )
        return [], errors
    if not records:
        errors.append(FieldError(None, "records", "body", "there must be at least one record"))
    elif len(records) > max_rows:
        errors.append(
            FieldError(
                None,
                "records",
                "body",
                f"{len(records)} records is more than this server takes in one request "
                f"({max_rows}, serve.max_batch_rows); split the batch",
            )
        )
    return records, errors


def _column(values: list[Any], dtype: str) -> np.ndarray:
    has_null = any(v is None for v in values)
    if dtype == "integer" and not has_null:
        return np.array([int(v) for v in values], dtype="int64")
    if dtype in ("integer", "number"):
        return np.array([np.nan if v is None else float(v) for v in values], dtype="float64")
    if dtype == "boolean" and not has_null:
        return np.array(values, dtype=bool)
    column = np.empty(len(values), dtype=object)
    column[:] = [np.nan if v is None else v for v in values]
    return column


def records_frame(records: list[dict[str, Any]], schema: Schema) -> pd.DataFrame:
    """Valid records as the frame the model takes: one column per feature, training dtypes."""
    return pd.DataFrame(
        {
            name: _column([r[name] for r in records], spec.dtype)
            for name, spec in schema.columns.items()
        }
    )
