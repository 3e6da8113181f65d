"""Record checks and the frame handed to the model (pure, no server)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from mlgitops.schema import schema_from_dict
from mlgitops.serve.records import RecordValidator, check_value, parse_records, records_frame

SCHEMA = schema_from_dict(
    {
        "min_rows": 1,
        "columns": {
            "n": {"dtype": "integer", "min": 0, "max": 10},
            "x": {"dtype": "number", "nullable": True},
            "flag": {"dtype": "boolean"},
            "c": {"dtype": "category", "nullable": True, "allowed": ["a", "b"]},
        },
    }
)


def test_json_numbers_follow_the_schema_types() -> None:
    spec = SCHEMA.columns
    assert check_value(3, spec["n"]) is None
    assert check_value(3.0, spec["n"]) is None  # JSON has one number type
    assert check_value(3.5, spec["n"])[0] == "type"
    assert check_value(float("nan"), spec["x"])[0] == "type"
    assert check_value(float("inf"), spec["x"])[0] == "type"
    assert check_value(None, spec["x"]) is None
    assert check_value(1, spec["flag"])[0] == "type"
    assert check_value(True, spec["n"])[0] == "type"
    assert check_value(11, spec["n"]) == ("range", "11 is outside the allowed range 0..10")


def test_the_frame_has_the_training_dtypes() -> None:
    records = [
        {"n": 1, "x": 0.5, "flag": True, "c": "a"},
        {"n": 2.0, "x": None, "flag": False, "c": None},
    ]
    assert RecordValidator(SCHEMA).check(records) == []
    frame = records_frame(records, SCHEMA)
    assert list(frame.columns) == ["n", "x", "flag", "c"]
    assert frame["n"].dtype == "int64" and frame["n"].tolist() == [1, 2]
    assert frame["x"].dtype == "float64" and np.isnan(frame["x"][1])
    assert frame["flag"].dtype == bool
    assert pd.api.types.is_string_dtype(frame["c"]) and frame["c"][0] == "a"
    # Missing text is NaN (never None), as the imputers and encoders expect.
    assert frame["c"].to_numpy()[1] is not None and pd.isna(frame["c"][1])


def test_extra_fields_are_dropped_when_the_schema_ignores_them() -> None:
    lenient = SCHEMA.model_copy(update={"extra_columns": "ignore"})
    record = {"n": 1, "x": 0.5, "flag": True, "c": "a", "id": 9}
    assert RecordValidator(lenient).check([record]) == []
    assert RecordValidator(lenient).inputs(record) == {"n": 1, "x": 0.5, "flag": True, "c": "a"}
    [error] = RecordValidator(SCHEMA).check([record])
    assert (error.record, error.field, error.kind) == (0, "id", "unknown_field")


def test_a_batch_over_the_limit_is_refused() -> None:
    _, errors = parse_records({"records": [{}] * 3}, max_rows=2)
    assert [e.field for e in errors] == ["records"] and "split the batch" in errors[0].error


@given(
    n=st.one_of(st.integers(-5, 15), st.floats(allow_nan=True), st.text(max_size=3), st.none()),
    c=st.one_of(st.sampled_from(["a", "b", "z"]), st.integers(), st.none()),
)
def test_a_record_is_refused_exactly_when_a_value_breaks_its_rule(n, c) -> None:
    record = {"n": n, "x": 1.0, "flag": False, "c": c}
    errors = RecordValidator(SCHEMA).check([record])
    n_ok = (
        isinstance(n, int | float)
        and not isinstance(n, bool)
        and np.isfinite(n)
        and float(n).is_integer()
        and 0 <= n <= 10
    )
    c_ok = c is None or c in ("a", "b")
    expected = {name for name, ok in (("n", n_ok), ("c", c_ok)) if not ok}
    assert {e.field for e in errors} == expected
    if not errors:
        assert records_frame([record], SCHEMA).shape == (1, 4)
