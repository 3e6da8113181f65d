"""Holm and Benjamini-Hochberg adjustments agree with statsmodels to 1e-12."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlgitops.stats.multiple import benjamini_hochberg, holm

multitest = pytest.importorskip("statsmodels.stats.multitest")

# Mixes arbitrary floats with values that stress ties and the ends of [0, 1].
p_value = st.one_of(
    st.floats(min_value=0.0, max_value=1.0, allow_nan=False),
    st.sampled_from([0.0, 1.0, 0.01, 0.05, 0.5, 1e-300, 5e-324]),
)
p_vectors = st.lists(p_value, min_size=1, max_size=60)


@pytest.fixture(scope="module")
def frozen_heap() -> Iterator[None]:
    # statsmodels' Holm branch calls gc.collect() on every call; freezing the objects that
    # already exist keeps each collection cheap.
    gc.freeze()
    yield
    gc.unfreeze()


@settings(max_examples=400, deadline=None)
@given(p_vectors)
def test_holm_equals_statsmodels(frozen_heap: None, p_values: list[float]) -> None:
    expected = multitest.multipletests(p_values, method="holm")[1]
    np.testing.assert_allclose(holm(p_values), expected, rtol=0, atol=1e-12)


@settings(max_examples=400, deadline=None)
@given(p_vectors)
def test_benjamini_hochberg_equals_statsmodels(p_values: list[float]) -> None:
    expected = multitest.multipletests(p_values, method="fdr_bh")[1]
    np.testing.assert_allclose(benjamini_hochberg(p_values), expected, rtol=0, atol=1e-12)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([0.0, 0.01, 0.02, 0.5, 1.0]), min_size=1, max_size=30))
def test_tied_p_values_get_equal_adjustments(p_values: list[float]) -> None:
    p = np.asarray(p_values)
    for adjust in (holm, benjamini_hochberg):
        adjusted = adjust(p)
        for value in np.unique(p):
            assert np.ptp(adjusted[p == value]) == 0.0


@settings(max_examples=200, deadline=None)
@given(p_vectors)
def test_adjusted_values_are_ordered_and_bounded(p_values: list[float]) -> None:
    p = np.asarray(p_values)
    order = np.argsort(p, kind="stable")
    for adjust in (holm, benjamini_hochberg):
        adjusted = adjust(p)
        assert np.all(adjusted >= p)
        assert np.all(adjusted <= 1.0)
        assert np.all(np.diff(adjusted[order]) >= 0.0)
    # Holm controls the family-wise error rate, so it is never less conservative than BH.
    assert np.all(holm(p) >= benjamini_hochberg(p) - 1e-15)


def test_single_p_value_is_unchanged() -> None:
    assert holm([0.03]).tolist() == [0.03]
    assert benjamini_hochberg([0.03]).tolist() == [0.03]


def test_known_values() -> None:
    p = [0.01, 0.04, 0.03, 0.2]
    np.testing.assert_allclose(holm(p), [0.04, 0.09, 0.09, 0.2])
    np.testing.assert_allclose(
        benjamini_hochberg(p), [0.04, 0.05333333333333334, 0.05333333333333334, 0.2]
    )


def test_empty_input_gives_empty_array() -> None:
    for adjust in (holm, benjamini_hochberg):
        result = adjust([])
        assert isinstance(result, np.ndarray)
        assert result.shape == (0,)


@pytest.mark.parametrize("bad", [[0.1, float("nan")], [1.5], [-0.1], [[0.1, 0.2]]])
def test_invalid_p_values_raise(bad: list) -> None:
    for adjust in (holm, benjamini_hochberg):
        with pytest.raises(ValueError, match="p_values"):
            adjust(bad)
