"""Drift tests agree with scipy, report explicit statuses, and stay JSON-safe."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial.distance import jensenshannon
from statsmodels.stats.proportion import proportions_ztest

from mlgitops.stats.drift import (
    FLAG_ALL_NULL_CURRENT,
    FLAG_ALL_NULL_REFERENCE,
    FLAG_CONSTANT_REFERENCE,
    FLAG_NEW_NULLS,
    FLAG_TOO_FEW_ROWS,
    FLAG_UNSEEN_CATEGORIES,
    STATUS_OK,
    CategoricalReference,
    NumericReference,
    categorical_drift,
    categorical_reference,
    expected_psi,
    numeric_drift,
    numeric_reference,
)


def _examples(n: int) -> settings:
    # Derandomised and without an example database: the same examples on every run.
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


def _sample(seed: int, n: int, kind: str, shift: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "normal":
        return rng.normal(shift, 1.0, n)
    if kind == "ties":  # coarse rounding: many ties inside and across the samples
        return np.round(rng.normal(shift, 1.0, n), 1)
    if kind == "scores":  # model scores in [0, 1] rounded to 2 decimals
        return np.round(1 / (1 + np.exp(-rng.normal(shift, 1.5, n))), 2)
    return rng.integers(0, 4, n).astype(float) + shift  # "discrete": 4 values only


def _strict_json(result: object) -> str:
    return json.dumps(result.to_dict(), allow_nan=False)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------
# Numeric: agreement with scipy
# --------------------------------------------------------------------------------------------


def _check_against_scipy(ref_values: np.ndarray, cur: np.ndarray) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = numeric_drift(numeric_reference(ref_values), cur, min_rows=1)
    expected = stats.ks_2samp(ref_values, cur)
    assert result.status in (STATUS_OK, FLAG_CONSTANT_REFERENCE)
    assert result.ks_statistic == pytest.approx(expected.statistic, abs=1e-12, rel=0)
    assert result.p_value == pytest.approx(expected.pvalue, abs=1e-12, rel=0)
    w = stats.wasserstein_distance(ref_values, cur)
    assert result.wasserstein == pytest.approx(w, rel=1e-9, abs=1e-12)
    std = float(np.std(ref_values))
    if np.ptp(ref_values) > 0:
        assert result.wasserstein_normalized == pytest.approx(w / std, rel=1e-9, abs=1e-12)
    else:
        assert result.wasserstein_normalized is None
    _strict_json(result)


KINDS = st.sampled_from(["normal", "ties", "scores", "discrete"])


@_examples(150)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_ref=st.integers(1, 400),
    n_cur=st.integers(1, 400),
    kind=KINDS,
    shift=st.sampled_from([0.0, 0.1, 0.5, 3.0]),
)
def test_ks_and_wasserstein_equal_scipy_small_and_tied(seed, n_ref, n_cur, kind, shift):
    _check_against_scipy(_sample(seed, n_ref, kind), _sample(seed + 1, n_cur, kind, shift))


@_examples(25)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_ref=st.integers(10_001, 40_000),
    n_cur=st.integers(1, 40_000),
    kind=KINDS,
    shift=st.sampled_from([0.0, 0.02, 0.05, 1.0]),
    swap=st.booleans(),
)
def test_ks_and_wasserstein_equal_scipy_asymptotic_regime(seed, n_ref, n_cur, kind, shift, swap):
    # Above 10,000 on either side ks_2samp(method="auto") switches to the asymptotic p-value,
    # which numeric_drift computes from its own merge; swap puts the large sample on either side.
    a, b = _sample(seed, n_ref, kind), _sample(seed + 1, n_cur, kind, shift)
    ref, cur = (b, a) if swap else (a, b)
    _check_against_scipy(ref, cur)


@pytest.mark.parametrize(
    ("n_ref", "n_cur"), [(10_000, 10_000), (10_000, 10_001), (9_999, 10_000), (10_001, 3)]
)
def test_ks_equals_scipy_at_the_exact_asymptotic_boundary(n_ref, n_cur):
    _check_against_scipy(_sample(1, n_ref, "normal"), _sample(2, n_cur, "normal", 0.03))


def test_subsampled_reference_keeps_full_statistics_and_is_deterministic():
    values = _sample(3, 50_000, "normal")
    ref = numeric_reference(values, max_values=5_000, seed=7)
    again = numeric_reference(values, max_values=5_000, seed=7)
    assert ref.values.size == 5_000 and np.array_equal(ref.values, again.values)
    assert ref.n == 50_000 and ref.mean == pytest.approx(np.mean(values))
    assert set(ref.values.tolist()) <= set(values.tolist())
    cur = _sample(4, 3_000, "normal")
    result = numeric_drift(ref, cur)
    assert result.p_value == pytest.approx(stats.ks_2samp(ref.values, cur).pvalue, abs=1e-12)


def test_reference_round_trips_through_json():
    values = np.concatenate([_sample(5, 1_000, "ties"), [np.nan, np.inf]])
    ref = numeric_reference(values, psi_bins=7)
    back = NumericReference.from_dict(json.loads(json.dumps(ref.to_dict(), allow_nan=False)))
    assert back == ref and np.array_equal(back.values, ref.values)
    assert ref.n_null == 2
    cur = _sample(6, 500, "ties")
    assert numeric_drift(back, cur) == numeric_drift(ref, cur)

    cat = categorical_reference(["a", "b", "b", None, 3, np.int64(3), True])
    cat_back = CategoricalReference.from_dict(json.loads(json.dumps(cat.to_dict())))
    assert cat_back == cat
    assert cat.counts == (2, 2, 1, 1) and cat.n_null == 1


# --------------------------------------------------------------------------------------------
# Numeric: PSI
# --------------------------------------------------------------------------------------------


def test_psi_matches_hand_computation_with_smoothing():
    ref = numeric_reference(np.arange(1.0, 11.0), psi_bins=2)  # edge at the median: (-inf, 5]
    assert ref.psi_edges == (5.0,) and ref.psi_shares == (0.5, 0.5)
    cur = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 1.0, 1.0, 1.0])  # 8 / 4
    q = np.array([8 / 12, 4 / 12])
    expected = float(np.sum((q - 0.5) * np.log(q / 0.5)))
    result = numeric_drift(ref, cur)
    assert result.psi == pytest.approx(expected, rel=1e-12)
    assert result.psi_bins == 2

    # An empty current bin gets share 1e-4 before renormalising.
    result = numeric_drift(ref, np.ones(20))
    q = np.array([1.0, 1e-4]) / 1.0001
    assert result.psi == pytest.approx(float(np.sum((q - 0.5) * np.log(q / 0.5))), rel=1e-12)


def test_psi_bins_collapse_on_ties_and_expected_psi_formula():
    ref = numeric_reference(np.array([0.0] * 90 + [1.0] * 10), psi_bins=10)
    assert ref.psi_edges == (0.0,) and len(ref.psi_shares) == 2
    assert expected_psi(1_000, 4_000, 10) == pytest.approx(9 * (1 / 1_000 + 1 / 4_000))
    with pytest.raises(ValueError, match="n_cur"):
        expected_psi(10, 0, 10)


# --------------------------------------------------------------------------------------------
# Categorical: agreement with scipy
# --------------------------------------------------------------------------------------------


def _pooled_table(result, ref: CategoricalReference, cur_counts: dict) -> np.ndarray:
    pooled = set(result.pooled)
    names = list(dict.fromkeys(list(ref.categories) + list(cur_counts)))
    ref_counts = dict(zip(ref.categories, ref.counts, strict=True))
    columns = [
        [ref_counts.get(c, 0), cur_counts.get(c, 0)]
        for c in names
        if c not in pooled and ref_counts.get(c, 0) + cur_counts.get(c, 0) > 0
    ]
    if pooled:
        columns.append(
            [sum(ref_counts.get(c, 0) for c in pooled), sum(cur_counts.get(c, 0) for c in pooled)]
        )
    return np.array(columns, dtype=float).T


@_examples(150)
@given(
    seed=st.integers(0, 2**32 - 1),
    k=st.integers(2, 60),
    n_ref=st.integers(1, 3_000),
    n_cur=st.integers(1, 3_000),
    zipf=st.floats(0.0, 2.0),
    extra=st.integers(0, 5),
)
def test_chi_square_equals_chi2_contingency_on_the_pooled_table(seed, k, n_ref, n_cur, zipf, extra):
    rng = np.random.default_rng(seed)
    shares = 1 / np.arange(1, k + 1) ** zipf
    shares /= shares.sum()
    ref_values = rng.choice(k, size=n_ref, p=shares)
    # ``extra`` categories that only the current batch has.
    cur_shares = np.concatenate([shares, np.full(extra, 0.01)])
    cur_values = rng.choice(k + extra, size=n_cur, p=cur_shares / cur_shares.sum())
    ref = categorical_reference(ref_values)
    cur_counts = dict(zip(*np.unique(cur_values, return_counts=True), strict=True))
    cur_counts = {int(c): int(n) for c, n in cur_counts.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = categorical_drift(ref, cur_values, min_rows=1, max_listed=10**6)
    assert result == categorical_drift(ref, cur_counts, min_rows=1, max_listed=10**6)
    _strict_json(result)

    p = np.array(
        [dict(zip(ref.categories, ref.counts, strict=True)).get(c, 0) for c in range(k + extra)]
    )
    q = np.array([cur_counts.get(c, 0) for c in range(k + extra)])
    assert result.js_distance == pytest.approx(jensenshannon(p, q, base=2), abs=1e-12)

    table = _pooled_table(result, ref, cur_counts)
    if result.p_value is None:
        assert table.shape[1] < 2 and result.status in (FLAG_TOO_FEW_ROWS, FLAG_CONSTANT_REFERENCE)
        return
    expected = stats.chi2_contingency(table, correction=False)
    assert result.chi2_statistic == pytest.approx(expected.statistic, rel=1e-12, abs=1e-12)
    assert result.p_value == pytest.approx(expected.pvalue, rel=0, abs=1e-12)
    assert result.dof == expected.dof
    # Every cell of the tested table meets the minimum expected count.
    assert expected.expected_freq.min() >= 5.0 - 1e-9
    # Cells are pooled only when needed: each pooled category alone fell short.
    n = n_ref + n_cur
    ref_counts = dict(zip(ref.categories, ref.counts, strict=True))
    short = [
        c
        for c in set(ref_counts) | set(cur_counts)
        if min(n_ref, n_cur) * (ref_counts.get(c, 0) + cur_counts.get(c, 0)) / n < 5.0
    ]
    assert set(short) <= set(result.pooled)


def test_cramers_v_is_bergsma_bias_corrected():
    ref = categorical_reference({"a": 300, "b": 200, "c": 100})
    cur = {"a": 200, "b": 250, "c": 150}
    result = categorical_drift(ref, cur)
    table = np.array([[300, 200, 100], [200, 250, 150]], dtype=float)
    chi2 = stats.chi2_contingency(table, correction=False).statistic
    n, r, k = table.sum(), 2, 3
    phi2 = max(0.0, chi2 / n - (k - 1) * (r - 1) / (n - 1))
    r_c, k_c = r - (r - 1) ** 2 / (n - 1), k - (k - 1) ** 2 / (n - 1)
    assert result.cramers_v == pytest.approx(math.sqrt(phi2 / min(r_c - 1, k_c - 1)), rel=1e-12)
    # Identical distributions: the correction takes V to 0 instead of sqrt(dof / n).
    same = categorical_drift(ref, {"a": 300, "b": 200, "c": 100})
    assert same.cramers_v == 0.0 and same.js_distance == 0.0 and same.p_value == 1.0


def test_predicted_labels_use_the_categorical_path():
    rng = np.random.default_rng(8)
    labels = rng.random(5_000) < 0.3
    ref = categorical_reference(labels)
    assert set(ref.categories) == {False, True}
    result = categorical_drift(ref, rng.random(4_000) < 0.3)
    assert result.status == STATUS_OK and result.dof == 1 and result.n_current == 4_000
    int_result = categorical_drift(categorical_reference(labels.astype(int)), labels.astype(int))
    assert int_result.p_value == 1.0 and int_result.status == STATUS_OK


def test_null_rate_test_matches_statsmodels_and_fisher():
    ref_values = np.concatenate([np.zeros(900), np.full(100, np.nan)])
    cur_values = np.concatenate([np.zeros(1_700), np.full(300, np.nan)])
    result = numeric_drift(numeric_reference(ref_values), cur_values)
    z, p = proportions_ztest([300, 100], [2_000, 1_000])
    assert result.null_test.method == "two_proportion_z"
    assert result.null_test.p_value == pytest.approx(p, rel=1e-10)
    assert result.null_test.statistic == pytest.approx(z, rel=1e-10)

    rare = numeric_drift(numeric_reference(np.arange(1_000.0)), [*range(998), None, None])
    assert rare.null_test.method == "fisher_exact"
    fisher = stats.fisher_exact([[0, 1_000], [2, 998]])
    assert rare.null_test.p_value == pytest.approx(fisher.pvalue, rel=1e-12)
    assert FLAG_NEW_NULLS in rare.flags


# --------------------------------------------------------------------------------------------
# Statuses: explicit, JSON-safe, no warnings
# --------------------------------------------------------------------------------------------


@pytest.fixture(autouse=False)
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.mark.usefixtures("no_warnings")
class TestStatuses:
    def test_ok(self):
        result = numeric_drift(
            numeric_reference(_sample(1, 500, "normal")), _sample(2, 400, "normal")
        )
        assert result.status == STATUS_OK and result.flags == ()
        _strict_json(result)

    def test_constant_reference_numeric(self):
        ref = numeric_reference(np.full(200, 3.0))
        assert ref.std == 0.0 and ref.is_constant
        same = numeric_drift(ref, np.full(100, 3.0))
        assert same.status == FLAG_CONSTANT_REFERENCE
        assert same.p_value == 1.0 and same.wasserstein == 0.0
        assert same.wasserstein_normalized is None
        moved = numeric_drift(ref, np.full(100, 4.0))
        assert moved.status == FLAG_CONSTANT_REFERENCE and moved.p_value < 1e-10
        assert moved.wasserstein == 1.0 and moved.wasserstein_normalized is None
        _strict_json(same)
        _strict_json(moved)

    def test_constant_reference_categorical(self):
        ref = categorical_reference(["x"] * 100)
        same = categorical_drift(ref, ["x"] * 50)
        assert same.status == FLAG_CONSTANT_REFERENCE and same.p_value is None
        moved = categorical_drift(ref, ["x"] * 40 + ["y"] * 60)
        assert moved.flags == (FLAG_CONSTANT_REFERENCE, FLAG_UNSEEN_CATEGORIES)
        assert moved.p_value < 1e-10
        _strict_json(same)
        _strict_json(moved)

    def test_all_null_current(self):
        ref = numeric_reference(_sample(1, 100, "normal"))
        result = numeric_drift(ref, [np.nan] * 50)
        assert result.status == FLAG_ALL_NULL_CURRENT
        assert FLAG_NEW_NULLS in result.flags
        assert result.p_value is None and result.null_share_current == 1.0
        assert result.null_test.p_value < 1e-10
        cat = categorical_drift(categorical_reference(["a", "b"] * 50), [None, float("nan")] * 5)
        assert cat.status == FLAG_ALL_NULL_CURRENT and cat.p_value is None
        _strict_json(result)
        _strict_json(cat)

    def test_all_null_reference(self):
        ref = numeric_reference([None, np.nan, np.inf])
        assert ref.n == 0 and ref.n_null == 3
        result = numeric_drift(ref, _sample(1, 50, "normal"))
        assert result.status == FLAG_ALL_NULL_REFERENCE and result.p_value is None
        cat = categorical_drift(categorical_reference([None] * 20), ["a"] * 20)
        assert cat.status == FLAG_ALL_NULL_REFERENCE
        assert cat.flags == (FLAG_ALL_NULL_REFERENCE, FLAG_UNSEEN_CATEGORIES)
        _strict_json(result)
        _strict_json(cat)

    def test_new_nulls_still_tests_the_non_null_values(self):
        ref_values = _sample(1, 1_000, "normal")
        cur = _sample(2, 1_000, "normal")
        cur[:100] = np.nan
        result = numeric_drift(numeric_reference(ref_values), cur)
        assert result.status == FLAG_NEW_NULLS and result.n_current == 900
        assert result.null_share_current == pytest.approx(0.1)
        assert result.null_test.p_value < 1e-10
        assert result.p_value == pytest.approx(
            stats.ks_2samp(ref_values, cur[100:]).pvalue, abs=1e-12
        )
        cat = categorical_drift(categorical_reference(["a", "b"] * 100), ["a", "b", None] * 50)
        assert cat.status == FLAG_NEW_NULLS and cat.p_value == 1.0
        _strict_json(result)
        _strict_json(cat)

    def test_unseen_categories_are_listed(self):
        ref = categorical_reference(["a"] * 60 + ["b"] * 40)
        result = categorical_drift(ref, ["a"] * 50 + ["b"] * 30 + ["new"] * 15 + ["rare"] * 5)
        assert result.status == FLAG_UNSEEN_CATEGORIES
        assert result.n_unseen == 2 and result.unseen_count == 20
        assert result.unseen_share == pytest.approx(0.2)
        assert [(u.category, u.count) for u in result.unseen] == [("new", 15), ("rare", 5)]
        assert result.unseen[0].share == pytest.approx(0.15)
        assert "rare" in result.pooled
        assert result.p_value < 1e-3
        limited = categorical_drift(ref, ["a"] * 50 + ["new"] * 15 + ["rare"] * 5, max_listed=1)
        assert len(limited.unseen) == 1 and limited.n_unseen == 2
        _strict_json(result)

    def test_empty_current(self):
        ref = numeric_reference(_sample(1, 100, "normal"))
        result = numeric_drift(ref, np.array([]))
        assert result.status == FLAG_TOO_FEW_ROWS and result.null_share_current is None
        assert result.mean_current is None and result.null_test is None
        cat = categorical_drift(categorical_reference(["a", "b"] * 10), [])
        assert cat.status == FLAG_TOO_FEW_ROWS and cat.unseen_share is None
        _strict_json(result)
        _strict_json(cat)

    def test_too_few_rows_states_the_minimum(self):
        ref = numeric_reference(_sample(1, 100, "normal"))
        result = numeric_drift(ref, _sample(2, 5, "normal"))
        assert result.status == FLAG_TOO_FEW_ROWS and result.min_rows == 10
        assert result.p_value is None and result.mean_current is not None
        assert numeric_drift(ref, _sample(2, 5, "normal"), min_rows=5).status == STATUS_OK
        # Enough rows, but every expected cell count is below min_expected: no calibrated test.
        cat = categorical_drift(categorical_reference(["a"] * 99 + ["b"]), ["a"] * 12)
        assert cat.status == FLAG_TOO_FEW_ROWS and cat.p_value is None
        assert cat.min_expected == 5.0
        _strict_json(result)
        _strict_json(cat)

    def test_model_scores_with_many_ties(self):
        scores = _sample(3, 20_000, "scores")
        result = numeric_drift(numeric_reference(scores), _sample(4, 15_000, "scores", 0.05))
        assert result.status == STATUS_OK
        assert result.p_value == pytest.approx(
            stats.ks_2samp(scores, _sample(4, 15_000, "scores", 0.05)).pvalue, abs=1e-12
        )
        _strict_json(result)


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: numeric_reference([]), "empty"),
        (lambda: numeric_reference(["a", "b"]), "numbers"),
        (lambda: numeric_reference(np.zeros((2, 2))), "one-dimensional"),
        (lambda: numeric_reference([1.0], psi_bins=0), "psi_bins"),
        (lambda: numeric_reference([1.0], max_values=0), "max_values"),
        (lambda: numeric_drift(numeric_reference([1.0, 2.0]), [[1.0]]), "one-dimensional"),
        (lambda: numeric_drift(numeric_reference([1.0, 2.0]), [1.0], min_rows=0), "min_rows"),
        (lambda: numeric_drift("ref", [1.0]), "NumericReference"),
        (lambda: categorical_reference([]), "empty"),
        (lambda: categorical_reference({"a": -1}), "non-negative"),
        (lambda: categorical_reference({"a": 1.5}), "non-negative"),
        (lambda: categorical_drift(categorical_reference(["a"]), ["a"], 0), "min_expected"),
        (lambda: categorical_drift(categorical_reference(["a"]), [["a"]]), "one-dimensional"),
        (lambda: CategoricalReference(("a", "a"), (1, 2), 0), "distinct"),
        (lambda: NumericReference.from_dict({"values": []}), "missing"),
        (
            lambda: NumericReference(np.array([2.0, 1.0]), 2, 0, 1.5, 0.5, (), (1.0,)),
            "sorted",
        ),
    ],
)
def test_bad_input_raises_one_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
