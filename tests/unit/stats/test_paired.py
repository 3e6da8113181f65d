"""Paired accuracy (McNemar mid-p, Tango) and DeLong AUC tests against independent references."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import optimize, stats

from mlgitops.stats.paired import (
    AccuracyTest,
    accuracy_test,
    accuracy_test_from_counts,
    auc_test,
    mcnemar_midp,
    tango_statistic,
)

ALPHA = 0.05


def _rows(b: int, c: int, a: int = 0, d: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Correctness vectors with a both-right, b baseline-only, c candidate-only, d both-wrong."""
    baseline = np.array([True] * a + [True] * b + [False] * c + [False] * d)
    candidate = np.array([True] * a + [False] * b + [True] * c + [False] * d)
    return baseline, candidate


# --------------------------------------------------------------------------------------------
# McNemar mid-p
# --------------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=0, max_value=400),
    st.integers(min_value=0, max_value=400),
    st.integers(min_value=0, max_value=50),
    st.integers(min_value=0, max_value=50),
)
def test_mid_p_is_the_exact_statsmodels_p_minus_the_point_probability(
    b: int, c: int, a: int, d: int
) -> None:
    contingency = pytest.importorskip("statsmodels.stats.contingency_tables")
    assume(b + c > 0)
    # Rows: baseline right / wrong; columns: candidate right / wrong.
    table = np.array([[a, b], [c, d]])
    exact = contingency.mcnemar(table, exact=True).pvalue
    result = accuracy_test(*_rows(b, c, a, d))
    # When b = c statsmodels clips 2 P(X <= b) at 1 before the subtraction would apply; the
    # mid-p value 2 P(X <= b) - P(X = b) is then exactly 1.
    expected = exact - stats.binom.pmf(b, b + c, 0.5) if b != c else 1.0
    assert result.p_value == pytest.approx(expected, rel=0, abs=1e-12)
    assert mcnemar_midp(b, c) == result.p_value


def test_mid_p_large_counts_and_known_value() -> None:
    # b = 1, c = 7: exact two-sided 2 * 9/256 = 0.0703125, minus P(X = 1) = 8/256.
    assert mcnemar_midp(1, 7) == pytest.approx(0.0703125 - 8 / 256, abs=1e-15)
    assert 0.0 < mcnemar_midp(52_000, 50_000) < 1e-9
    assert mcnemar_midp(0, 0) == 1.0


# --------------------------------------------------------------------------------------------
# Tango's score statistic and interval
# --------------------------------------------------------------------------------------------


def _restricted_mle_statistic(n: int, b: int, c: int, delta0: float) -> float:
    """Tango's statistic with the restricted MLE found by numerical optimisation."""

    def negative_log_likelihood(q: float) -> float:
        # q = P(baseline only right); P(candidate only right) = q + delta0 under H0.
        return -(
            b * math.log(q) + c * math.log(q + delta0) + (n - b - c) * math.log(1 - 2 * q - delta0)
        )

    low = max(0.0, -delta0) + 1e-13
    high = (1 - delta0) / 2 - 1e-13
    q = optimize.minimize_scalar(
        negative_log_likelihood, bounds=(low, high), method="bounded", options={"xatol": 1e-14}
    ).x
    return (c - b - n * delta0) / math.sqrt(n * (2 * q + delta0 * (1 - delta0)))


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=1, max_value=200),
    st.integers(min_value=1, max_value=200),
    st.integers(min_value=0, max_value=400),
    st.floats(min_value=-0.95, max_value=0.95),
)
def test_tango_statistic_uses_the_restricted_maximum_likelihood(
    b: int, c: int, rest: int, delta0: float
) -> None:
    n = b + c + rest
    expected = _restricted_mle_statistic(n, b, c, delta0)
    assert tango_statistic(n, b, c, delta0) == pytest.approx(expected, rel=1e-6, abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=500), st.integers(min_value=0, max_value=500))
def test_tango_at_zero_is_mcnemars_z(b: int, c: int) -> None:
    assume(b + c > 0)
    n = b + c + 100
    assert tango_statistic(n, b, c, 0.0) == pytest.approx((c - b) / math.sqrt(b + c), abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=0, max_value=300),
    st.integers(min_value=0, max_value=300),
    st.integers(min_value=0, max_value=300),
    st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_tango_interval_inverts_the_one_sided_tests(
    b: int, c: int, rest: int, confidence: float
) -> None:
    assume(b + c > 0)
    n = b + c + rest
    result = accuracy_test_from_counts(n, b, c, rest, confidence)
    tail = (1 - confidence) / 2
    assert -1.0 <= result.ci_low <= result.difference <= result.ci_high <= 1.0
    if result.ci_low > -1.0:
        assert result.p_greater(result.ci_low) == pytest.approx(tail, abs=1e-9)
        if result.ci_low - 1e-6 > -1.0:
            assert result.p_greater(result.ci_low - 1e-6) < tail
    if result.ci_high < 1.0:
        assert result.p_less(result.ci_high) == pytest.approx(tail, abs=1e-9)
        if result.ci_high + 1e-6 < 1.0:
            assert result.p_less(result.ci_high + 1e-6) < tail
    wider = accuracy_test_from_counts(n, b, c, rest, min(0.999, confidence + 0.009))
    assert wider.ci_low <= result.ci_low and wider.ci_high >= result.ci_high


def test_tango_one_sided_p_values_are_complementary() -> None:
    result = accuracy_test_from_counts(161, 16, 6, 59)
    for delta0 in (-0.2, -0.05, 0.0, 0.03):
        assert result.p_greater(delta0) + result.p_less(delta0) == pytest.approx(1.0)
    # Regression values for this table (Fagerland et al.'s consolidation-therapy example),
    # from this implementation; the restricted-MLE and inversion tests above validate them.
    assert result.difference == pytest.approx(-10 / 161)
    assert result.ci_low == pytest.approx(-0.12402343, abs=1e-8)
    assert result.ci_high == pytest.approx(-0.00543340, abs=1e-8)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.booleans()), min_size=2, max_size=300),
    st.data(),
    st.floats(min_value=0.001, max_value=0.5),
)
def test_a_worse_candidate_never_has_more_evidence_of_non_inferiority(
    pairs: list[tuple[bool, bool]], data: st.DataObject, margin: float
) -> None:
    baseline = np.array([p[0] for p in pairs])
    candidate = np.array([p[1] for p in pairs])
    right = np.flatnonzero(candidate)
    assume(right.size > 0)
    flips = data.draw(
        st.lists(st.sampled_from(right.tolist()), min_size=1, max_size=right.size, unique=True)
    )
    worse = candidate.copy()
    worse[flips] = False
    before = accuracy_test(baseline, candidate)
    after = accuracy_test(baseline, worse)
    if after.identical and not before.identical:
        # The one documented exception: a candidate that was right wherever the two disagree,
        # flipped into one identical to the baseline, counts as the same model (p = 0).
        assert before.baseline_only_correct == 0
        assert after.p_greater(-margin) == 0.0
        return
    assert after.p_greater(-margin) >= before.p_greater(-margin) - 1e-15
    assert after.p_less(-margin) <= before.p_less(-margin) + 1e-15
    assert after.difference < before.difference


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.booleans(), min_size=1, max_size=500),
    st.floats(min_value=1e-9, max_value=0.999),
)
def test_a_model_compared_with_itself(correct: list[bool], margin: float) -> None:
    same = np.array(correct)
    result = accuracy_test(same, same.copy())
    assert result.identical
    assert result.difference == 0.0
    assert result.se == 0.0
    assert result.p_value == 1.0
    assert (result.ci_low, result.ci_high) == (0.0, 0.0)
    assert result.p_greater(-margin) == 0.0 < ALPHA
    assert result.p_less(margin) == 0.0
    assert result.p_greater(0.0) == result.p_less(0.0) == 1.0


def test_standard_error_is_the_paired_difference_sd() -> None:
    baseline, candidate = _rows(b=30, c=50, a=700, d=220)
    per_row = candidate.astype(float) - baseline.astype(float)
    result = accuracy_test(baseline, candidate)
    assert result.difference == pytest.approx(per_row.mean())
    assert result.se == pytest.approx(per_row.std(ddof=0) / math.sqrt(per_row.size))
    assert result.baseline_accuracy == pytest.approx(baseline.mean())
    assert result.candidate_accuracy == pytest.approx(candidate.mean())


def test_all_rows_discordant_one_way() -> None:
    result = accuracy_test(*_rows(b=0, c=10))
    assert result.difference == 1.0 and result.ci_high == 1.0
    assert 0.0 < result.ci_low < 1.0
    assert result.p_value == pytest.approx(2 * 0.5**10 - 0.5**10)


def test_accuracy_result_is_json_safe() -> None:
    result = accuracy_test(*_rows(b=3, c=9, a=80, d=8))
    encoded = json.dumps(result.to_dict(), allow_nan=False)
    assert json.loads(encoded)["candidate_only_correct"] == 9
    assert isinstance(result, AccuracyTest)
    with pytest.raises(AttributeError):
        result.difference = 0.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("baseline", "candidate", "message"),
    [
        ([True, False], [True], "same rows"),
        ([], [], "empty"),
        ([0, 2], [1, 1], "booleans or 0/1"),
        ([[True]], [[True]], "one-dimensional"),
    ],
)
def test_invalid_accuracy_input_raises(baseline: list, candidate: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        accuracy_test(baseline, candidate)


def test_invalid_counts_and_null_values_raise() -> None:
    with pytest.raises(ValueError, match="exceeds n_rows"):
        accuracy_test_from_counts(10, 5, 5, 5)
    with pytest.raises(ValueError, match="non-negative integers"):
        accuracy_test_from_counts(10, -1, 5, 0)
    result = accuracy_test_from_counts(10, 2, 3, 4)
    with pytest.raises(ValueError, match="strictly between -1 and 1"):
        result.p_greater(-1.0)
    with pytest.raises(ValueError, match="finite"):
        result.p_less(float("nan"))
    with pytest.raises(ValueError, match="confidence"):
        accuracy_test_from_counts(10, 2, 3, 4, confidence=1.0)


# --------------------------------------------------------------------------------------------
# DeLong
# --------------------------------------------------------------------------------------------


def _brute_force_delong(
    y: np.ndarray, baseline: np.ndarray, candidate: np.ndarray
) -> tuple[np.ndarray, float]:
    """AUCs and the variance of their difference from the O(n^2) structural components."""
    aucs, v10s, v01s = [], [], []
    for scores in (baseline, candidate):
        pos, neg = scores[y], scores[~y]
        kernel = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
        aucs.append(kernel.mean())
        v10s.append(kernel.mean(axis=1))
        v01s.append(kernel.mean(axis=0))
    m, n = y.sum(), (~y).sum()
    s10 = np.cov(np.stack(v10s))
    s01 = np.cov(np.stack(v01s))
    s = s10 / m + s01 / n
    return np.array(aucs), float(s[0, 0] + s[1, 1] - 2 * s[0, 1])


@st.composite
def labelled_scores(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(min_value=4, max_value=120))
    seed = draw(st.integers(min_value=0, max_value=2**32 - 1))
    levels = draw(st.sampled_from([3, 10, 0]))  # few levels force ties; 0 means continuous
    rng = np.random.default_rng(seed)
    y = rng.random(n) < draw(st.floats(min_value=0.1, max_value=0.9))
    y[:2], y[2:4] = True, False
    baseline = y * 0.8 + rng.normal(size=n)
    candidate = 0.6 * baseline + rng.normal(size=n)
    if levels:
        baseline, candidate = np.round(baseline * levels / 4), np.round(candidate * levels / 4)
    return y, baseline, candidate


@settings(max_examples=150, deadline=None)
@given(labelled_scores())
def test_delong_matches_the_quadratic_structural_components(
    case: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    y, baseline, candidate = case
    aucs, variance = _brute_force_delong(y, baseline, candidate)
    result = auc_test(y, baseline, candidate)
    assert result.baseline_auc == pytest.approx(aucs[0], rel=0, abs=1e-12)
    assert result.candidate_auc == pytest.approx(aucs[1], rel=0, abs=1e-12)
    assert result.variance == pytest.approx(variance, rel=1e-10, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(labelled_scores())
def test_auc_equals_scikit_learn(case: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    y, baseline, candidate = case
    result = auc_test(y, baseline, candidate)
    assert result.baseline_auc == pytest.approx(metrics.roc_auc_score(y, baseline), abs=1e-12)
    assert result.candidate_auc == pytest.approx(metrics.roc_auc_score(y, candidate), abs=1e-12)


def test_delong_large_input_runs_in_n_log_n_and_is_consistent() -> None:
    rng = np.random.default_rng(7)
    y = rng.random(200_000) < 0.2
    baseline = y + rng.normal(size=y.size)
    candidate = y * 1.1 + rng.normal(size=y.size)
    result = auc_test(y, baseline, candidate)
    assert result.p_value < 1e-6
    z = stats.norm.ppf(0.975)
    assert result.ci_low == pytest.approx(result.difference - z * result.se)
    assert result.p_greater(result.ci_low) == pytest.approx(0.025)
    assert result.p_less(result.ci_high) == pytest.approx(0.025)
    assert result.p_value == pytest.approx(2 * min(result.p_greater(0), result.p_less(0)))


@settings(max_examples=100, deadline=None)
@given(labelled_scores(), st.floats(min_value=1e-9, max_value=0.5))
def test_identical_scores_give_zero_variance(
    case: tuple[np.ndarray, np.ndarray, np.ndarray], margin: float
) -> None:
    y, scores, _ = case
    result = auc_test(y, scores, scores.copy())
    assert result.difference == 0.0 and result.variance == 0.0
    assert result.p_value == 1.0
    assert (result.ci_low, result.ci_high) == (0.0, 0.0)
    assert result.p_greater(-margin) == 0.0
    assert result.p_greater(0.0) == 1.0


def test_monotone_transform_does_not_change_the_test() -> None:
    rng = np.random.default_rng(3)
    y = rng.random(500) < 0.4
    baseline, candidate = y + rng.normal(size=500), y + rng.normal(size=500)
    plain = auc_test(y, baseline, candidate)
    transformed = auc_test(y, np.exp(baseline), candidate**3)
    assert transformed.difference == pytest.approx(plain.difference, abs=1e-15)
    assert transformed.variance == pytest.approx(plain.variance, rel=1e-12)


def test_one_class_raises_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match=r"only one class \(5 positive rows\); AUC needs both"):
        auc_test([1] * 5, np.arange(5.0), np.arange(5.0))
    with pytest.raises(ValueError, match="only one class"):
        auc_test([False] * 3, [0.1, 0.2, 0.3], [0.3, 0.2, 0.1])
    with pytest.raises(ValueError, match="at least two rows of each class"):
        auc_test([1, 0, 0], [0.1, 0.2, 0.3], [0.3, 0.2, 0.1])


@pytest.mark.parametrize(
    ("y", "baseline", "candidate", "message"),
    [
        ([1, 0, 1, 0], [0.1, 0.2, 0.3], [0.1, 0.2, 0.3, 0.4], "same rows"),
        ([], [], [], "empty"),
        ([1, 0, 1, 0], [0.1, float("nan"), 0.3, 0.4], [0.1, 0.2, 0.3, 0.4], "NaN or infinite"),
        ([1, 0, 2, 0], [0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4], "0/1"),
    ],
)
def test_invalid_auc_input_raises(y: list, baseline: list, candidate: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        auc_test(y, baseline, candidate)


def test_auc_result_is_json_safe() -> None:
    rng = np.random.default_rng(0)
    y = rng.random(100) < 0.5
    result = auc_test(y, y + rng.normal(size=100), y + rng.normal(size=100))
    decoded = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert decoded["test"] == "delong"
    assert decoded["n_positive"] + decoded["n_negative"] == 100
