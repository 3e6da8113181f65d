"""The declared schema of the data, and validation of a frame against it (pure core).

A schema file (YAML) declares the columns, each with a dtype and optional rules: null policy,
numeric range, allowed categories, uniqueness; plus the minimum number of rows.
:func:`validate_frame` returns
every violation with the number of bad rows and a few examples, so a user can find them.

Rules reported: ``min_rows``, ``missing_column``, ``unexpected_column``, ``not_null``, ``dtype``,
``finite`` (``inf`` or ``-inf`` in an ``integer`` or ``number`` column, with or without
``min``/``max``: a missing value must be null, and no model or metric takes infinity), ``range``
(finite values outside ``min..max``), ``allowed`` and ``unique``. Null examples show as ``null``.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from mlgitops.params import Section, parse, read_yaml

SCHEMA_VERSION = 1

Dtype = Literal["integer", "number", "boolean", "category", "string"]
Scalar = str | int | float | bool


class ColumnSpec(Section):
    """The rules for one column."""

    dtype: Dtype
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    allowed: tuple[Scalar, ...] | None = None
    unique: bool = False
    description: str | None = None

    @model_validator(mode="after")
    def _rules_fit_dtype(self) -> ColumnSpec:
        numeric = self.dtype in ("integer", "number")
        if (self.min is not None or self.max is not None) and not numeric:
            raise ValueError("min and max apply only to integer and number columns")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not exceed max")
        if self.allowed is not None and len(self.allowed) == 0:
            raise ValueError("allowed must list at least one value")
        return self


class Schema(Section):
    """A declared schema: the columns, their rules, and the minimum number of rows."""

    min_rows: int = Field(ge=0)
    extra_columns: Literal["error", "ignore"] = "error"
    columns: dict[str, ColumnSpec]

    @model_validator(mode="after")
    def _has_columns(self) -> Schema:
        if not self.columns:
            raise ValueError("a schema must declare at least one column")
        return self

    def subset(self, names: list[str]) -> Schema:
        """The schema restricted to ``names`` (in that order), e.g. a model's input features."""
        return Schema(
            min_rows=self.min_rows,
            extra_columns=self.extra_columns,
            columns={n: self.columns[n] for n in names},
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict that round-trips through :func:`schema_from_dict`."""
        return json.loads(self.model_dump_json(exclude_none=True))

    def fingerprint(self) -> str:
        """A stable hash of the rules (descriptions excluded), to tell whether a schema changed."""
        rules = self.model_dump(exclude_none=True)
        for spec in rules["columns"].values():
            spec.pop("description", None)
        canonical = json.dumps(rules, sort_keys=True, separators=(",", ":"), default=list)
        return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def load_schema(path: str | os.PathLike[str]) -> Schema:
    """Read and check a schema file."""
    p = Path(path)
    return parse(read_yaml(p), Schema, p)


def schema_from_dict(raw: dict[str, Any], origin: str = "schema") -> Schema:
    """Rebuild a schema from :meth:`Schema.to_dict` output (e.g. a model's metadata)."""
    return parse(raw, Schema, Path(origin))


@dataclass(frozen=True)
class Violation:
    """One rule broken by some rows of one column."""

    column: str
    rule: str
    expected: str
    count: int
    examples: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "rule": self.rule,
            "expected": self.expected,
            "count": self.count,
            "examples": list(self.examples),
        }

    def sentence(self) -> str:
        """The violation as a short human sentence."""
        shown = ", ".join(
            f"row {_shown(e['row'])}: {_shown(e['value'])}" if "row" in e else _shown(e["value"])
            for e in self.examples
        )
        rows = "row" if self.count == 1 else "rows"
        tail = f" (e.g. {shown})" if shown else ""
        head = f"column {self.column}: {self.rule} (expected {self.expected})"
        return f"{head}: {self.count} {rows}{tail}"


@dataclass(frozen=True)
class ValidationResult:
    """Everything validation found in one data set."""

    name: str
    rows: int
    violations: tuple[Violation, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rows": self.rows,
            "ok": self.ok,
            "violations": [v.to_dict() for v in self.violations],
        }


def _shown(value: Any) -> str:
    """An example value as a sentence shows it: text quoted, numbers bare, a missing value null."""
    return "null" if value is None else repr(value)


def _json_scalar(value: Any) -> Any:
    """A value as JSON can hold it: a missing value (None, NaN, NA, NaT) is None, ``inf`` text."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _examples(
    frame: pd.DataFrame, mask: pd.Series, column: str, id_column: str | None, limit: int
) -> tuple[dict[str, Any], ...]:
    bad = frame.loc[mask]
    if id_column and id_column in frame.columns and id_column != column:
        bad = bad.head(limit)
        return tuple(
            {"row": _json_scalar(r), "value": _json_scalar(v)}
            for r, v in zip(bad[id_column], bad[column], strict=True)
        )
    values = pd.unique(bad[column])[:limit]
    return tuple({"value": _json_scalar(v)} for v in values)


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _dtype_mask(series: pd.Series, dtype: Dtype) -> pd.Series | None:
    """Rows whose value does not have the declared type; None when the whole column is fine.

    Returns a boolean mask over non-null rows (null handling is the null policy's job).
    """
    present = series.notna()
    if dtype in ("integer", "number"):
        if pd.api.types.is_bool_dtype(series):
            return present
        if pd.api.types.is_numeric_dtype(series):
            if dtype == "number":
                return None
            if pd.api.types.is_integer_dtype(series):
                return None
            values = series.to_numpy(dtype="float64", na_value=np.nan)
            return present & pd.Series(~np.isclose(values, np.round(values)), index=series.index)
        numeric = pd.to_numeric(series, errors="coerce")
        unparseable = present & numeric.isna()
        if dtype == "integer":
            fractional = present & numeric.notna() & (numeric != numeric.round())
            unparseable = unparseable | fractional
        # The values that do not parse are the culprits; when all parse, the column is numbers
        # stored as text, which is wrong on every row.
        return unparseable if unparseable.any() else present
    if dtype == "boolean":
        if pd.api.types.is_bool_dtype(series):
            return None
        return present & ~series.map(lambda v: isinstance(v, bool | np.bool_))
    # category and string: text values
    if pd.api.types.is_string_dtype(series) and not pd.api.types.is_object_dtype(series):
        return None
    if isinstance(series.dtype, pd.CategoricalDtype):
        return present & ~series.astype(object).map(_is_text)
    return present & ~series.map(_is_text)


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "inf" if x > 0 else "-inf"
    return str(int(x)) if float(x).is_integer() else repr(x)


def validate_frame(
    frame: pd.DataFrame,
    schema: Schema,
    *,
    name: str,
    id_column: str | None = None,
    max_examples: int = 5,
) -> ValidationResult:
    """Check ``frame`` against ``schema`` and return every violation found.

    Args:
        frame: The data to check.
        schema: The declared schema.
        name: What the data is called in the report (usually its path).
        id_column: The row id column, used to point at bad rows in the examples.
        max_examples: How many examples to keep per violation.
    """
    found: list[Violation] = []
    n = len(frame)
    if n < schema.min_rows:
        found.append(Violation("(table)", "min_rows", f"at least {schema.min_rows} rows", n, ()))
    for column in schema.columns:
        if column not in frame.columns:
            found.append(Violation(column, "missing_column", "the column to be present", n))
    if schema.extra_columns == "error":
        for column in frame.columns:
            if column not in schema.columns:
                found.append(
                    Violation(
                        str(column),
                        "unexpected_column",
                        "only declared columns (declare it, or set extra_columns: ignore)",
                        n,
                    )
                )

    def add(column: str, rule: str, expected: str, mask: pd.Series) -> None:
        count = int(mask.sum())
        if count:
            found.append(
                Violation(
                    column,
                    rule,
                    expected,
                    count,
                    _examples(frame, mask, column, id_column, max_examples),
                )
            )

    for column, spec in schema.columns.items():
        if column not in frame.columns:
            continue
        series = frame[column]
        nulls = series.isna()
        if not spec.nullable:
            add(column, "not_null", "no missing values", nulls)
        bad_type = _dtype_mask(series, spec.dtype)
        if bad_type is not None and bad_type.any():
            add(column, "dtype", f"{spec.dtype} values", bad_type)
            continue  # range and category checks are meaningless on mistyped values
        present = ~nulls
        if spec.dtype in ("integer", "number"):
            values = pd.to_numeric(series, errors="coerce")
            if pd.api.types.is_float_dtype(values):
                infinite = pd.Series(np.isinf(values.to_numpy(dtype="float64")), index=series.index)
                add(column, "finite", "finite numbers, not inf or -inf", infinite)
                present = present & ~infinite  # reported once, as not finite, not again as range
            if spec.min is not None or spec.max is not None:
                lo = -np.inf if spec.min is None else spec.min
                hi = np.inf if spec.max is None else spec.max
                bounds = f"{_fmt(lo)}..{_fmt(hi)}"
                outside = present & ((values < lo) | (values > hi))
                add(column, "range", f"values in {bounds}", outside)
        if spec.allowed is not None:
            outside = present & ~series.map(_json_scalar).isin(spec.allowed)
            shown = ", ".join(map(str, spec.allowed[:8])) + (
                ", ..." if len(spec.allowed) > 8 else ""
            )
            add(column, "allowed", f"one of {shown}", outside)
        if spec.unique:
            add(column, "unique", "unique values", present & series.duplicated(keep=False))
    return ValidationResult(name=name, rows=n, violations=tuple(found))


def validation_report(results: list[ValidationResult], schema: Schema) -> dict[str, Any]:
    """The JSON document the validate stage writes."""
    return {
        "schema_version": SCHEMA_VERSION,
        "schema_hash": schema.fingerprint(),
        "ok": all(r.ok for r in results),
        "datasets": [r.to_dict() for r in results],
    }
