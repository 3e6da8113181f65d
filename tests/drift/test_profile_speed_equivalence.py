"""The fast column conversions of drift_profile give exactly what the object path gave.

``category_counts`` (pandas' value counts) and ``category_values`` (factorised) replaced
``series.astype(object)`` on every categorical column; ``numeric_values`` skips the coercion of
NumPy numbers. The references written to the profile and the drift results must not move: the
old conversions are kept here, verbatim, as the definition.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mlgitops.drift_profile import category_counts, category_values, numeric_values
from mlgitops.stats.drift import categorical_drift, categorical_reference


def old_category_values(series: pd.Series) -> np.ndarray:
    values = series.astype(object).to_numpy(copy=True)
    values[series.isna().to_numpy()] = None
    return values


def old_numeric_values(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


WORDS = ["b", "a", None, "ä", "a", "", "c", None, "a", "b"]
UNSEEN = ["a", "z", None, "b", "zz", "a", "z", "ä", "", "new"]


def _series(kind: str, values: list) -> pd.Series:
    if kind == "arrow_str":  # pandas 3's default for text, what read_parquet returns
        return pd.Series(values, dtype="str")
    if kind == "python_str":
        return pd.Series(values, dtype=pd.StringDtype("python"))
    if kind == "arrow_dtype":
        return pd.Series(values, dtype=pd.ArrowDtype(pa.string()))
    if kind == "object":
        return pd.Series([np.nan if v == "" else v for v in values], dtype=object)
    if kind == "categorical":
        series = pd.Series(values, dtype="category")
        return series.cat.add_categories(["never used"])  # an unused category counts 0
    raise AssertionError(kind)


TEXT_KINDS = ["arrow_str", "python_str", "arrow_dtype", "object", "categorical"]

OTHER_COLUMNS = {
    "bool": pd.Series([True, False, True, True]),
    "boolean_with_na": pd.Series([True, None, False, True], dtype="boolean"),
    "int64": pd.Series([3, 1, 3, 2, 3]),
    "Int64_with_na": pd.Series([3, None, 1, 3], dtype="Int64"),
    "arrow_int_with_na": pd.Series([3, None, 1, 3], dtype=pd.ArrowDtype(pa.int64())),
    "int_categories": pd.Series([3, 1, None, 3], dtype="Int64").astype("category"),
    "float_signed_zero": pd.Series([0.0, -0.0, 1.5, np.nan, 1.5]),
    "mixed_objects": pd.Series([1, True, 1.0, "1", None, np.nan, pd.NA, "x"], dtype=object),
    "object_categories": pd.Series(pd.Categorical([1, "a", 1, None], categories=[1, "a"])),
    "datetimes": pd.Series(pd.to_datetime(["2024-01-01", None, "2024-01-01", "2024-01-02"])),
    "empty_str": pd.Series([], dtype="str"),
    "all_null_str": pd.Series([None, None], dtype="str"),
}


def _typed(values) -> list[tuple[type, object]]:
    return [(type(v), v) for v in values]


def _columns() -> list[tuple[str, pd.Series]]:
    found = [(kind, _series(kind, WORDS)) for kind in TEXT_KINDS]
    return found + list(OTHER_COLUMNS.items())


@pytest.mark.parametrize(("name", "series"), _columns(), ids=[n for n, _ in _columns()])
def test_category_values_and_counts_equal_the_object_path(name: str, series: pd.Series) -> None:
    old = old_category_values(series)
    new = category_values(series)
    assert new.dtype == object and new.shape == old.shape
    # Same values with the same Python types (None for every kind of missing value).
    assert _typed(new.tolist()) == _typed(old.tolist())
    if old.size == 0:
        assert category_counts(series) == {}
        return
    from_values = categorical_reference(old)
    from_counts = categorical_reference(category_counts(series))
    assert from_counts.to_dict() == from_values.to_dict()
    assert _typed(from_counts.categories) == _typed(from_values.categories)


@pytest.mark.parametrize("kind", TEXT_KINDS)
def test_drift_results_are_unchanged_with_nulls_and_unseen_categories(kind: str) -> None:
    rng = np.random.default_rng(7)
    ref = _series(kind, [WORDS[i] for i in rng.integers(0, len(WORDS), 3_000)])
    cur = _series(kind, [UNSEEN[i] for i in rng.integers(0, len(UNSEEN), 2_000)])
    reference = categorical_reference(old_category_values(ref))
    assert categorical_reference(category_counts(ref)) == reference
    old = categorical_drift(reference, old_category_values(cur), 5, min_rows=10)
    for current in (category_counts(cur), category_values(cur)):
        new = categorical_drift(reference, current, 5, min_rows=10)
        assert new.to_dict() == old.to_dict()
    assert old.n_unseen == 3 and old.null_test is not None  # the case is the one meant


@pytest.mark.parametrize(
    "series",
    [
        pd.Series([1.5, np.nan, -0.0, np.inf, 2.0]),
        pd.Series([1.5, 2.5], dtype="float32"),
        pd.Series([3, 1, 2]),
        pd.Series([3, 1, 2], dtype="uint8"),
        pd.Series([3, None, 2], dtype="Int64"),
        pd.Series([1.5, None], dtype="Float64"),
        pd.Series([1.5, None], dtype=pd.ArrowDtype(pa.float64())),
        pd.Series([True, False]),
        pd.Series(["1.5", "x", None], dtype="str"),
        pd.Series([1, "2", None, 3.5], dtype=object),
    ],
    ids=lambda s: str(s.dtype),
)
def test_numeric_values_equal_the_coercing_path(series: pd.Series) -> None:
    new = numeric_values(series)
    old = old_numeric_values(series)
    assert new.dtype == np.float64
    np.testing.assert_array_equal(new, old)  # NaN where NaN, bit-equal elsewhere
    assert np.array_equal(np.signbit(new), np.signbit(old))


def test_a_float_column_is_not_copied() -> None:
    frame = pd.DataFrame({"x": np.arange(5, dtype=np.float64)})
    assert np.shares_memory(numeric_values(frame["x"]), frame["x"].to_numpy())
