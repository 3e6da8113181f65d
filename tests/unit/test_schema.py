"""Schema validation: every generated violation is caught with its count; valid frames pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlgitops.errors import ConfigError
from mlgitops.schema import Schema, load_schema, validate_frame

SCHEMA = Schema.model_validate(
    {
        "min_rows": 3,
        "columns": {
            "id": {"dtype": "integer", "unique": True},
            "n": {"dtype": "integer", "min": 0, "max": 100},
            "x": {"dtype": "number", "nullable": True, "min": -1.0, "max": 1.0},
            "y": {"dtype": "number"},
            "c": {"dtype": "category", "allowed": ("a", "b", "c")},
            "s": {"dtype": "string", "nullable": True},
            "b": {"dtype": "boolean"},
        },
    }
)


@st.composite
def valid_frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(3, 40))
    ids = draw(st.lists(st.integers(0, 10_000), min_size=n, max_size=n, unique=True))
    return pd.DataFrame(
        {
            "id": np.array(ids, dtype="int64"),
            "n": draw(st.lists(st.integers(0, 100), min_size=n, max_size=n)),
            "x": draw(
                st.lists(st.none() | st.floats(-1.0, 1.0, allow_nan=False), min_size=n, max_size=n)
            ),
            "y": draw(
                st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=n, max_size=n)
            ),
            "c": draw(st.lists(st.sampled_from("abc"), min_size=n, max_size=n)),
            "s": draw(st.lists(st.none() | st.text(max_size=5), min_size=n, max_size=n)),
            "b": draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        }
    ).astype({"x": "float64", "y": "float64"})


@given(valid_frames())
@settings(max_examples=60, deadline=None)
def test_every_valid_frame_passes(frame: pd.DataFrame) -> None:
    result = validate_frame(frame, SCHEMA, name="t", id_column="id")
    assert result.ok, [v.sentence() for v in result.violations]


def _inject(frame: pd.DataFrame, kind: str, rows: list[int]) -> tuple[pd.DataFrame, str, str, int]:
    """Break ``rows`` of ``frame`` in one way; return the frame, column, rule and bad-row count."""
    f = frame.copy()
    if kind == "null":
        f["n"] = f["n"].astype("float64")
        f.loc[rows, "n"] = np.nan
        return f, "n", "not_null", len(rows)
    if kind == "range_high":
        f.loc[rows, "n"] = 101
        return f, "n", "range", len(rows)
    if kind == "range_low":
        f.loc[rows, "x"] = -1.5
        return f, "x", "range", len(rows)
    if kind == "unseen_category":
        f["c"] = f["c"].astype(object)
        f.loc[rows, "c"] = "zzz"
        return f, "c", "allowed", len(rows)
    if kind == "wrong_dtype":
        f["n"] = f["n"].astype(object)
        f.loc[rows, "n"] = "lots"
        return f, "n", "dtype", len(rows)
    if kind == "fractional_integer":
        f["n"] = f["n"].astype("float64")
        f.loc[rows, "n"] = 2.5
        return f, "n", "dtype", len(rows)
    if kind == "text_in_category":
        f["c"] = f["c"].astype(object)
        f.loc[rows, "c"] = 7
        return f, "c", "dtype", len(rows)
    if kind == "infinite_unbounded":
        # no min/max: before, nothing looked at the values of a float column at all
        f.loc[rows, "y"] = [np.inf if i % 2 else -np.inf for i in rows]
        return f, "y", "finite", len(rows)
    if kind == "infinite_bounded":
        # reported once, as not finite, and not a second time as out of range
        f.loc[rows, "x"] = np.inf
        return f, "x", "finite", len(rows)
    if kind == "null_in_category":
        f["c"] = f["c"].astype(object)
        f.loc[rows, "c"] = None
        return f, "c", "not_null", len(rows)
    if kind == "number_in_string":
        f["s"] = f["s"].astype(object)
        f.loc[rows, "s"] = 5
        return f, "s", "dtype", len(rows)
    if kind == "text_in_boolean":
        f["b"] = f["b"].astype(object)
        f.loc[rows, "b"] = "yes"
        return f, "b", "dtype", len(rows)
    if kind == "min_rows":
        kept = f.iloc[rows[: 1 + len(rows) % 2]]
        return kept, "(table)", "min_rows", len(kept)
    if kind == "duplicate_id":
        # every row in ``rows`` takes the id of the first one: all of them become duplicates
        f.loc[rows, "id"] = f.loc[rows[0], "id"]
        return f, "id", "unique", len(rows) if len(rows) > 1 else 0
    if kind == "missing_column":
        return f.drop(columns=["c"]), "c", "missing_column", len(f)
    if kind == "extra_column":
        f["surprise"] = 1
        return f, "surprise", "unexpected_column", len(f)
    raise AssertionError(kind)


KINDS = [
    "null",
    "range_high",
    "range_low",
    "unseen_category",
    "wrong_dtype",
    "fractional_integer",
    "text_in_category",
    "infinite_unbounded",
    "infinite_bounded",
    "null_in_category",
    "number_in_string",
    "text_in_boolean",
    "min_rows",
    "duplicate_id",
    "missing_column",
    "extra_column",
]


@given(valid_frames(), st.sampled_from(KINDS), st.data())
@settings(max_examples=250, deadline=None)
def test_every_generated_violation_is_caught_with_its_count(
    frame: pd.DataFrame, kind: str, data: st.DataObject
) -> None:
    rows = data.draw(
        st.lists(st.integers(0, len(frame) - 1), min_size=2, max_size=len(frame), unique=True)
    )
    broken, column, rule, count = _inject(frame, kind, sorted(rows))
    result = validate_frame(broken, SCHEMA, name="t", id_column="id", max_examples=3)
    found = [(v.column, v.rule, v.count) for v in result.violations]
    # exactly the injected violation: the right column and rule, every bad row, nothing else
    assert found == [(column, rule, count)]
    assert not result.ok
    violation = next(v for v in result.violations if (v.column, v.rule) == (column, rule))
    assert len(violation.examples) <= 3


@pytest.mark.parametrize("value", [np.inf, -np.inf])
@pytest.mark.parametrize("bounded", [False, True])
def test_infinity_is_not_a_number_a_column_may_hold(value: float, bounded: bool) -> None:
    spec = {"dtype": "number", **({"min": 0, "max": 10} if bounded else {})}
    schema = Schema.model_validate(
        {"min_rows": 0, "columns": {"id": {"dtype": "integer"}, "v": spec}}
    )
    frame = pd.DataFrame({"id": [1, 2, 3], "v": [1.0, value, 2.0]})
    (violation,) = validate_frame(frame, schema, name="t", id_column="id").violations
    assert (violation.column, violation.rule, violation.count) == ("v", "finite", 1)
    assert violation.examples == ({"row": 2, "value": str(value)},)


def test_null_examples_show_as_null() -> None:
    schema = Schema.model_validate(
        {"min_rows": 0, "columns": {"id": {"dtype": "integer"}, "v": {"dtype": "number"}}}
    )
    frame = pd.DataFrame({"id": [10, 11], "v": [np.nan, 1.0]})
    (violation,) = validate_frame(frame, schema, name="t", id_column="id").violations
    assert violation.examples == ({"row": 10, "value": None},)
    assert "(e.g. row 10: null)" in violation.sentence()
    assert "nan" not in violation.sentence()
    (by_value,) = validate_frame(frame[["v"]], schema.subset(["v"]), name="t").violations
    assert by_value.sentence().endswith("1 row (e.g. null)")


def test_too_few_rows(adult: pd.DataFrame) -> None:
    schema = load_schema(Path(__file__).resolve().parents[2] / "data" / "schema.yaml")
    result = validate_frame(adult.head(10), schema, name="tiny", id_column="row_id")
    assert [(v.rule, v.count) for v in result.violations] == [("min_rows", 10)]


def test_the_example_data_matches_its_schema(adult: pd.DataFrame, root: Path) -> None:
    schema = load_schema(root / "data" / "schema.yaml")
    assert validate_frame(adult, schema, name="adult", id_column="row_id").ok


def test_examples_point_at_row_ids(adult: pd.DataFrame, root: Path) -> None:
    schema = load_schema(root / "data" / "schema.yaml")
    broken = adult.head(2000).copy()
    broken.loc[[5, 9], "age"] = 150
    (violation,) = validate_frame(broken, schema, name="b", id_column="row_id").violations
    assert violation.to_dict() == {
        "column": "age",
        "rule": "range",
        "expected": "values in 17..100",
        "count": 2,
        "examples": [{"row": 5, "value": 150}, {"row": 9, "value": 150}],
    }
    assert "column age: range (expected values in 17..100): 2 rows (e.g. row 5: 150" in (
        violation.sentence()
    )


def test_fingerprint_ignores_descriptions_but_not_rules() -> None:
    raw = SCHEMA.model_dump(exclude_none=True)
    described = Schema.model_validate(
        {**raw, "columns": {**raw["columns"], "n": {**raw["columns"]["n"], "description": "n"}}}
    )
    narrowed = Schema.model_validate(
        {**raw, "columns": {**raw["columns"], "n": {**raw["columns"]["n"], "max": 50}}}
    )
    assert described.fingerprint() == SCHEMA.fingerprint()
    assert narrowed.fingerprint() != SCHEMA.fingerprint()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("min_rows: 1\ncolumns: {a: {dtype: integer, allowed: []}}\n", "allowed must list"),
        ("min_rows: 1\ncolumns: {a: {dtype: category, min: 0}}\n", "min and max apply only"),
        ("min_rows: 1\ncolumns: {a: {dtype: int}}\n", r"columns\.a\.dtype = 'int' is invalid"),
        ("min_rows: 1\ncolumns: {}\n", "at least one column"),
    ],
)
def test_bad_schema_files(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "schema.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=expected):
        load_schema(path)
