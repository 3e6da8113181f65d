"""The starter schema: what the data shows, and the data it was inferred from always passes it."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlgitops.errors import DataError
from mlgitops.schema import schema_from_dict, validate_frame
from mlgitops.schema_infer import MAX_CATEGORIES, infer_schema, schema_text


def _frame(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "id": np.arange(n) + 1000,
            "count": rng.integers(-5, 7, n),
            "ratio": rng.normal(0, 0.01, n),
            "colour": rng.choice(["red", "green", "blue"], n),
            "note": [f"free text {i}" for i in range(n)],
            "flag": rng.random(n) < 0.5,
            "maybe": [None if i % 5 == 0 else float(i) for i in range(n)],
            "y": rng.normal(size=n),
        }
    )


def test_the_rules_the_data_shows() -> None:
    frame = _frame()
    columns = infer_schema(frame, source="f", target="y", id_column="id")["columns"]
    assert columns["id"] == {
        "dtype": "integer",
        "unique": True,
        "description": "The row id (data.id_column): pairs rows across models.",
    }  # no range: the next rows get the next ids
    assert columns["count"]["dtype"] == "integer"
    assert (columns["count"]["min"], columns["count"]["max"]) == (
        frame["count"].min(),
        frame["count"].max(),
    )
    ratio = columns["ratio"]
    assert ratio["dtype"] == "number"
    assert ratio["min"] <= frame["ratio"].min() and ratio["max"] >= frame["ratio"].max()
    assert len(repr(ratio["min"]).lstrip("-0.").replace(".", "")) <= 4  # four significant digits
    assert columns["colour"] == {"dtype": "category", "allowed": ["blue", "green", "red"]}
    assert columns["note"] == {"dtype": "string"}  # as many values as rows: not categories
    assert columns["flag"] == {"dtype": "boolean"}
    assert columns["maybe"]["nullable"] is True
    assert columns["y"]["description"] == "The target (data.target)."


def test_a_column_with_no_values_is_nullable_text() -> None:
    frame = pd.DataFrame({"id": range(5), "y": 1.0, "empty": [None] * 5})
    columns = infer_schema(frame, source="f", target="y", id_column="id")["columns"]
    assert columns["empty"] == {"dtype": "string", "nullable": True}


def test_many_distinct_texts_are_strings() -> None:
    frame = pd.DataFrame(
        {"id": range(200), "t": [f"v{i % (MAX_CATEGORIES + 1)}" for i in range(200)]}
    )
    columns = infer_schema(frame, source="f", target="t", id_column="id")["columns"]
    assert columns["t"]["dtype"] == "string"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda f: f.drop(columns=["y"]), "has no column y (the target)"),
        (lambda f: f.assign(id=0), "the id column id must be unique and never missing"),
        (lambda f: f.assign(when=pd.Timestamp("2024-01-01")), "column when holds dates"),
        (lambda f: f.assign(mixed=["a", 1] * 20), "column mixed mixes text with other values"),
    ],
)
def test_what_cannot_be_declared_is_refused(edit, message: str) -> None:
    with pytest.raises(DataError, match=re.escape(message)):
        infer_schema(edit(_frame()), source="f", target="y", id_column="id")


values = st.one_of(
    st.lists(st.integers(-(10**6), 10**6), min_size=30, max_size=30),
    st.lists(
        st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False) | st.none(),
        min_size=30,
        max_size=30,
    ),
    st.lists(
        st.sampled_from(["a", "b", "c d", "1", "yes", ">5"]) | st.none(), min_size=30, max_size=30
    ),
    st.lists(st.booleans(), min_size=30, max_size=30),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(columns=st.lists(values, min_size=1, max_size=4))
def test_the_data_it_was_inferred_from_passes_it(columns: list[list[object]]) -> None:
    frame = pd.DataFrame({f"c{i}": pd.Series(v) for i, v in enumerate(columns)})
    frame.insert(0, "id", range(len(frame)))
    frame["y"] = 1.0
    inferred = infer_schema(frame, source="f", target="y", id_column="id")
    text = schema_text(inferred, source="f", rows=len(frame))
    schema = schema_from_dict(yaml.safe_load(text))  # the written file reads back, strictly
    result = validate_frame(frame, schema, name="f", id_column="id")
    assert result.ok, [v.sentence() for v in result.violations]


def test_inferred_ranges_and_categories_say_they_are_only_what_was_seen() -> None:
    frame = _frame()
    inferred = infer_schema(frame, source="f", target="y", id_column="id")
    lines = schema_text(inferred, source="f", rows=len(frame)).splitlines()
    count = next(i for i, line in enumerate(lines) if line == "  count:")
    assert lines[count + 2] == (
        f"    min: {frame['count'].min()}  # the smallest value seen: lower it to the smallest "
        "valid one"
    )
    assert lines[count + 3].startswith(f"    max: {frame['count'].max()}  # the largest value seen")
    colour = next(line for line in lines if line.startswith("    allowed: [blue, green, red]"))
    assert colour.endswith("# the values seen: add the others that may come")
    # the ranges are the observed ones, not widened (the comments do not change what loads)
    columns = yaml.safe_load("\n".join(lines))["columns"]
    assert (columns["count"]["min"], columns["count"]["max"]) == (
        frame["count"].min(),
        frame["count"].max(),
    )
    assert not any("# " in line for line in lines if line.strip().startswith(("dtype", "id")))
