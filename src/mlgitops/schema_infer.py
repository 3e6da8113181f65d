"""A starter schema inferred from data (pure core), for ``mlgitops init`` to write and a person to
review.

What the data shows becomes a rule: the dtype of each column (integer, number, boolean, category
for text with few distinct values, string otherwise), whether it has missing values, the range of
numbers (rounded outwards to four significant digits, so every value seen stays inside), the
values of categories, and uniqueness of the id. A rule learnt from a sample can be too tight for
tomorrow's data: the server refuses values outside the declared range with 422. Ranges are not
widened by a guessed margin (only a person knows that an age may reach 120 but a share not 1.01);
instead the header of the file says to review it, and every inferred range and category list
says beside it that it is only what the data showed.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import numpy as np
import pandas as pd

from mlgitops.errors import DataError
from mlgitops.yamlsplice import yaml_scalar

#: Text columns with at most this many distinct values are categories (others are strings).
MAX_CATEGORIES = 50
SIGNIFICANT_DIGITS = 4
#: Beside each rule that is only what the sample showed, in the written file.
OBSERVED = {
    "min": "the smallest value seen: lower it to the smallest valid one",
    "max": "the largest value seen: raise it to the largest valid one",
    "allowed": "the values seen: add the others that may come",
}


def _outward(value: float, rounding: str) -> float | int:
    """``value`` rounded to a few significant digits, away from the data (floor or ceiling)."""
    if value == 0 or not math.isfinite(value):
        return value
    d = Decimal(repr(float(value)))
    quantum = Decimal(1).scaleb(d.adjusted() - (SIGNIFICANT_DIGITS - 1))
    rounded = d.quantize(quantum, rounding=rounding)
    return float(rounded)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def column_rules(series: pd.Series, *, unique: bool) -> dict[str, Any]:
    """The rules one column's values show."""
    name = str(series.name)
    present = series.dropna()
    rules: dict[str, Any] = {}
    if pd.api.types.is_bool_dtype(series) or (
        len(present) and present.map(lambda v: isinstance(v, bool | np.bool_)).all()
    ):
        rules["dtype"] = "boolean"
    elif pd.api.types.is_integer_dtype(series):
        rules["dtype"] = "integer"
    elif pd.api.types.is_float_dtype(series):
        rules["dtype"] = "number"
    elif pd.api.types.is_datetime64_any_dtype(series) or pd.api.types.is_timedelta64_dtype(series):
        raise DataError(
            f"column {name} holds dates or durations, which a schema cannot declare; convert it "
            "to a number or text in your prepare stage, or leave it out of the data."
        )
    else:
        texts = present.map(lambda v: isinstance(v, str))
        if not texts.all():
            other = type(present[~texts].iloc[0]).__name__
            raise DataError(
                f"column {name} mixes text with other values ({other}); make it one type in your "
                "prepare stage."
            )
        distinct = pd.unique(present)
        few = 0 < len(distinct) <= MAX_CATEGORIES and len(distinct) <= max(2, len(present) // 2)
        rules["dtype"] = "category" if few and not unique else "string"
    if series.isna().any():
        rules["nullable"] = True
    # An id's range is no rule: the next rows get the next ids.
    if rules["dtype"] in ("integer", "number") and len(present) and not unique:
        lo, hi = _plain(present.min()), _plain(present.max())
        if rules["dtype"] == "integer":
            rules["min"], rules["max"] = int(lo), int(hi)
        else:
            rules["min"] = _outward(float(lo), ROUND_FLOOR)
            rules["max"] = _outward(float(hi), ROUND_CEILING)
    if rules["dtype"] == "category":
        rules["allowed"] = sorted((_plain(v) for v in pd.unique(present)), key=str)
    if unique:
        rules["unique"] = True
    return rules


def infer_schema(
    frame: pd.DataFrame, *, source: str, target: str, id_column: str
) -> dict[str, Any]:
    """The schema ``frame`` shows, as the mapping ``data/schema.yaml`` holds.

    Raises:
        DataError: the target or id column is missing, the id is not unique or has missing
            values, or a column's values cannot be declared.
    """
    for role, column in (("target", target), ("id column", id_column)):
        if column not in frame.columns:
            raise DataError(
                f"{source} has no column {column} (the {role}); pass the right --data file or "
                "the right column name."
            )
    ids = frame[id_column]
    if ids.isna().any() or ids.duplicated().any():
        raise DataError(
            f"{source}: the id column {id_column} must be unique and never missing (the PR check "
            "pairs rows on it); add a stable row id in your prepare stage."
        )
    if frame[target].isna().any():
        raise DataError(f"{source}: the target {target} has missing values; drop those rows.")
    columns = {}
    for name in frame.columns:
        rules = column_rules(frame[name], unique=name == id_column)
        if name == id_column:
            rules["description"] = "The row id (data.id_column): pairs rows across models."
        elif name == target:
            rules["description"] = "The target (data.target)."
        columns[str(name)] = rules
    return {
        "min_rows": max(1, len(frame) // 10),
        "extra_columns": "error",
        "columns": columns,
    }


def schema_text(schema: dict[str, Any], *, source: str, rows: int) -> str:
    """The YAML file, with a header saying where it came from and what to review."""
    lines = [
        f"# The declared schema of the data, inferred by `mlgitops init` from {rows} rows of "
        f"{source}.",
        "# REVIEW IT: each rule below is only what that sample showed. `mlgitops validate` checks",
        "# every split against it, and the server refuses records outside it (422), so widen",
        "# ranges (min/max: the observed minimum and maximum, not widened) and category lists",
        "# (allowed) to what your data may hold, and mark columns that may be missing as nullable.",
        "# Rules: dtype (integer, number, boolean, category, string), nullable, min/max, allowed,",
        "# unique; min_rows for each split.",
        f"min_rows: {schema['min_rows']}",
        f"extra_columns: {schema['extra_columns']}",
        "columns:",
    ]
    for name, rules in schema["columns"].items():
        lines.append(f"  {yaml_scalar(name)}:")
        for key, value in rules.items():
            if isinstance(value, list):
                shown = "[" + ", ".join(yaml_scalar(v) for v in value) + "]"
            else:
                shown = yaml_scalar(value)
            line = f"    {key}: {shown}"
            lines.append(f"{line}  # {OBSERVED[key]}" if key in OBSERVED else line)
    return "\n".join(lines) + "\n"
