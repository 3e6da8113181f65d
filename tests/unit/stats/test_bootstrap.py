"""The fast paired bootstrap reproduces the index-resampling bootstrap within Monte-Carlo error.

Every comparison below is between two independent Monte-Carlo estimates (ours and a brute-force
or scipy bootstrap with its own seed), so its standard error is the root sum of squares of the
two estimates' Monte-Carlo standard errors, computed from the draws themselves: for a quantile,
from the binomial order-statistic interval; for the bootstrap SE, from the kurtosis of the
draws. A comparison fails when the gap exceeds Z_LIMIT of those standard errors; at 4 a single
comparison fails by chance with probability 6e-5, all ~40 comparisons here jointly with 0.3%,
and the seeds are fixed, so a failure means a real discrepancy.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from mlgitops.stats.bootstrap import (
    BootstrapResult,
    f1_difference,
    mean_difference,
    paired_bootstrap,
    root_mean_difference,
)

Z_LIMIT = 4.0
QUANTILES = (0.025, 0.5, 0.975)


def brute_force(values: np.ndarray, statistic, n_resamples: int, seed: int) -> np.ndarray:
    """Textbook paired bootstrap: resample row indices, recompute the column means."""
    rng = np.random.default_rng(seed)
    n = values.shape[0]
    draws = []
    for start in range(0, n_resamples, 1000):
        rows = rng.integers(0, n, size=(min(1000, n_resamples - start), n))
        means = np.stack([column[rows].mean(axis=1) for column in values.T], axis=1)
        draws.append(statistic(means))
    return np.sort(np.concatenate(draws))


def quantile_se(sorted_draws: np.ndarray, q: float) -> float:
    """Monte-Carlo SE of the q-quantile: the 95% order-statistic interval divided by 2 x 1.96."""
    count = sorted_draws.size
    half_width = 1.96 * math.sqrt(count * q * (1 - q))
    hi = sorted_draws[min(count - 1, math.ceil(count * q + half_width))]
    lo = sorted_draws[max(0, math.floor(count * q - half_width))]
    return (hi - lo) / (2 * 1.96)


def sd_se(draws: np.ndarray) -> float:
    """Monte-Carlo SE of the sample standard deviation, sd * sqrt((kurtosis - 1) / (4 B))."""
    kurtosis = stats.kurtosis(draws, fisher=False)
    return float(draws.std(ddof=1) * math.sqrt((kurtosis - 1) / (4 * draws.size)))


def assert_same_distribution(ours: np.ndarray, reference: np.ndarray) -> None:
    for q in QUANTILES:
        gap = np.quantile(ours, q) - np.quantile(reference, q)
        se = math.hypot(quantile_se(ours, q), quantile_se(reference, q))
        assert abs(gap) <= Z_LIMIT * se, f"quantile {q}: gap {gap:.3g} is {gap / se:.1f} MC SEs"
    gap = ours.std(ddof=1) - reference.std(ddof=1)
    se = math.hypot(sd_se(ours), sd_se(reference))
    assert abs(gap) <= Z_LIMIT * se, f"bootstrap SE: gap {gap:.3g} is {gap / se:.1f} MC SEs"


def max_quantile_z(ours: np.ndarray, reference: np.ndarray) -> float:
    return max(
        abs(np.quantile(ours, q) - np.quantile(reference, q))
        / math.hypot(quantile_se(ours, q), quantile_se(reference, q))
        for q in QUANTILES
    )


# --------------------------------------------------------------------------------------------
# Data sets
# --------------------------------------------------------------------------------------------


def log_loss_with_blunders(n: int, blunders: int, seed: int) -> np.ndarray:
    """Per-row log loss of two similar models; the candidate makes a few confident blunders.

    The per-row difference then has skewness 10-25 and kurtosis in the hundreds, so its
    bootstrap distribution is visibly non-normal (a mixture over how often blunders are drawn).
    """
    rng = np.random.default_rng(seed)
    margin_base = 2.0 + 2.0 * rng.standard_normal(n)
    margin_cand = margin_base + 0.5 * rng.standard_normal(n) + 0.1
    rows = rng.choice(n, blunders, replace=False)
    margin_cand[rows] = -rng.uniform(4.0, 12.0, blunders)
    return np.column_stack([np.logaddexp(0, -margin_base), np.logaddexp(0, -margin_cand)])


def squared_errors_heavy(n: int, seed: int) -> np.ndarray:
    """Squared errors of two regressors with Student-t (3 d.o.f.) residuals."""
    rng = np.random.default_rng(seed)
    shared = stats.t.rvs(3, size=n, random_state=rng)
    base = shared + 0.5 * rng.standard_normal(n)
    cand = 0.9 * shared + 0.6 * rng.standard_normal(n)
    return np.column_stack([base**2, cand**2])


def classifier_rows(n: int, n_classes: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    base = np.where(rng.random(n) < 0.75, y, rng.integers(0, n_classes, n))
    cand = np.where(rng.random(n) < 0.2, rng.integers(0, n_classes, n), base)
    cand = np.where((cand != y) & (rng.random(n) < 0.1), y, cand)
    return y, base, cand


def f1_indicators(y: np.ndarray, base: np.ndarray, cand: np.ndarray, n_classes: int):
    columns = []
    for pred in (base, cand):
        columns += [(pred == k) & (y == k) for k in range(n_classes)]
        columns += [(pred == k) & (y != k) for k in range(n_classes)]
        columns += [(pred != k) & (y == k) for k in range(n_classes)]
    return np.column_stack(columns).astype(float)


# --------------------------------------------------------------------------------------------
# Agreement with the brute-force bootstrap
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "blunders", "seed"),
    [(2000, 20, 1), (2000, 5, 2), (5000, 5, 3), (5000, 15, 4)],
)
def test_heavy_tailed_log_loss_matches_brute_force(n: int, blunders: int, seed: int) -> None:
    values = log_loss_with_blunders(n, blunders, seed)
    result = paired_bootstrap(values, mean_difference, seed=seed, n_resamples=40_000)
    assert result.method == "binned-normal"
    assert result.n_cells > 32  # the tails were refined
    reference = brute_force(values, mean_difference, 40_000, seed=1000 + seed)
    assert_same_distribution(result.sorted_differences, reference)


@pytest.mark.parametrize(("n", "blunders", "seed"), [(2000, 5, 2), (5000, 5, 3)])
def test_without_tail_refinement_the_check_catches_the_error(
    n: int, blunders: int, seed: int
) -> None:
    # Negative control: 32 equal-count cells with no refinement put the blunders in a cell
    # drawn as a normal, and the comparison above detects the resulting error.
    values = log_loss_with_blunders(n, blunders, seed)
    coarse = paired_bootstrap(
        values, mean_difference, seed=seed, n_resamples=40_000, min_cells=32, max_cells=32
    )
    reference = brute_force(values, mean_difference, 40_000, seed=1000 + seed)
    assert max_quantile_z(coarse.sorted_differences, reference) > Z_LIMIT


def test_heavy_tailed_rmse_matches_brute_force() -> None:
    values = squared_errors_heavy(3000, seed=5)
    result = paired_bootstrap(values, root_mean_difference, seed=5, n_resamples=40_000)
    assert result.method == "binned-normal"
    reference = brute_force(values, root_mean_difference, 40_000, seed=1005)
    assert_same_distribution(result.sorted_differences, reference)
    assert result.estimate == pytest.approx(
        math.sqrt(values[:, 1].mean()) - math.sqrt(values[:, 0].mean())
    )


def test_discrete_accuracy_is_resampled_exactly() -> None:
    y, base, cand = classifier_rows(3000, 2, seed=6)
    values = np.column_stack([base == y, cand == y]).astype(float)
    result = paired_bootstrap(values, mean_difference, seed=6, n_resamples=40_000)
    assert result.method == "exact-groups" and result.n_cells == 4
    reference = brute_force(values, mean_difference, 40_000, seed=1006)
    assert_same_distribution(result.sorted_differences, reference)


def test_macro_f1_is_resampled_exactly_and_matches_scikit_learn() -> None:
    y, base, cand = classifier_rows(2000, 3, seed=7)
    values = f1_indicators(y, base, cand, 3)
    result = paired_bootstrap(values, f1_difference, seed=7, n_resamples=40_000)
    assert result.method == "exact-groups"
    reference = brute_force(values, f1_difference, 20_000, seed=1007)
    assert_same_distribution(result.sorted_differences, reference)
    metrics = pytest.importorskip("sklearn.metrics")
    expected = metrics.f1_score(y, cand, average="macro") - metrics.f1_score(
        y, base, average="macro"
    )
    assert result.estimate == pytest.approx(expected, abs=1e-12)


def test_small_sets_are_resampled_by_row() -> None:
    values = log_loss_with_blunders(200, 3, seed=8)
    result = paired_bootstrap(values, mean_difference, seed=8, n_resamples=40_000)
    assert result.method == "exact-rows"
    reference = brute_force(values, mean_difference, 40_000, seed=1008)
    assert_same_distribution(result.sorted_differences, reference)


# --------------------------------------------------------------------------------------------
# Agreement with scipy.stats.bootstrap
# --------------------------------------------------------------------------------------------


def _scipy_percentile(values: np.ndarray, statistic, n_resamples: int, seed: int):
    def scipy_statistic(*columns: np.ndarray, axis: int = -1) -> np.ndarray:
        means = np.stack([column.mean(axis=axis) for column in columns], axis=-1)
        return statistic(means.reshape(-1, means.shape[-1])).reshape(means.shape[:-1])

    return stats.bootstrap(
        tuple(values.T),
        scipy_statistic,
        n_resamples=n_resamples,
        batch=1000,
        vectorized=True,
        paired=True,
        method="percentile",
        rng=np.random.default_rng(seed),
    )


@pytest.mark.parametrize("case", ["log loss", "f1"])
def test_interval_agrees_with_scipy_percentile_bootstrap(case: str) -> None:
    if case == "log loss":
        values, statistic = log_loss_with_blunders(2000, 10, seed=9), mean_difference
    else:
        values, statistic = f1_indicators(*classifier_rows(2000, 2, seed=9), 2), f1_difference
    ours = paired_bootstrap(values, statistic, seed=9, n_resamples=40_000)
    theirs = _scipy_percentile(values, statistic, 20_000, seed=1009)
    theirs_sorted = np.sort(theirs.bootstrap_distribution)
    for q, ours_limit, their_limit in (
        (0.025, ours.ci_low, theirs.confidence_interval.low),
        (0.975, ours.ci_high, theirs.confidence_interval.high),
    ):
        se = math.hypot(quantile_se(ours.sorted_differences, q), quantile_se(theirs_sorted, q))
        assert abs(ours_limit - their_limit) <= Z_LIMIT * se
    se = math.hypot(sd_se(ours.sorted_differences), sd_se(theirs_sorted))
    assert abs(ours.se - theirs.standard_error) <= Z_LIMIT * se


# --------------------------------------------------------------------------------------------
# Definitions, determinism and degenerate cases
# --------------------------------------------------------------------------------------------


def test_p_values_follow_their_definitions() -> None:
    values = log_loss_with_blunders(1500, 4, seed=10)
    result = paired_bootstrap(values, mean_difference, seed=10, n_resamples=5000)
    draws = result.sorted_differences
    for delta0 in [*np.quantile(draws, [0.0, 0.01, 0.3, 0.5, 0.9, 1.0]).tolist(), -1.0, 1.0]:
        assert result.p_greater(delta0) == (np.sum(draws <= delta0) + 1) / 5001
        assert result.p_less(delta0) == (np.sum(draws >= delta0) + 1) / 5001
    assert result.p_value == min(1.0, 2 * min(result.p_greater(0.0), result.p_less(0.0)))
    assert result.estimate == mean_difference(values.mean(axis=0)[None, :])[0]
    assert result.se == pytest.approx(draws.std(ddof=1))
    assert result.ci_low == pytest.approx(np.quantile(draws, 0.025), rel=0, abs=1e-15)
    assert result.ci_high == pytest.approx(np.quantile(draws, 0.975), rel=0, abs=1e-15)
    # Inverting the percentile interval: rejection at level 2.5% one-sided happens exactly
    # below the lower limit, up to one resample.
    assert abs(result.p_greater(result.ci_low) - 0.025) <= 2 / 5001
    assert abs(result.p_less(result.ci_high) - 0.025) <= 2 / 5001


@pytest.mark.parametrize("n", [150, 3000])
def test_identical_models_give_exactly_zero(n: int) -> None:
    rng = np.random.default_rng(n)
    losses = rng.exponential(size=n)
    for values in (np.column_stack([losses, losses]), np.column_stack([losses > 1] * 2)):
        result = paired_bootstrap(values.astype(float), mean_difference, seed=1)
        assert result.estimate == 0.0
        assert np.all(result.sorted_differences == 0.0)
        assert result.p_value == 1.0 and result.se == 0.0
        assert (result.ci_low, result.ci_high) == (0.0, 0.0)
        assert result.p_greater(-1e-9) == 1 / (result.n_resamples + 1)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(min_value=0, max_value=2**32 - 1),
    st.sampled_from(["rows", "groups", "binned"]),
)
def test_same_seed_gives_bit_identical_results(seed: int, kind: str) -> None:
    n = {"rows": 100, "groups": 2000, "binned": 2000}[kind]
    values = log_loss_with_blunders(n, 3, seed=11)
    if kind == "groups":
        values = (values < 0.2).astype(float)
    first = paired_bootstrap(values, mean_difference, seed=seed, n_resamples=2000)
    second = paired_bootstrap(values.copy(), mean_difference, seed=seed, n_resamples=2000)
    assert first.method == {"rows": "exact-rows", "groups": "exact-groups"}.get(
        kind, "binned-normal"
    )
    assert first.sorted_differences.tobytes() == second.sorted_differences.tobytes()
    assert first.to_dict() == second.to_dict()
    other = paired_bootstrap(values, mean_difference, seed=seed + 1, n_resamples=2000)
    assert other.sorted_differences.tobytes() != first.sorted_differences.tobytes()


def test_result_is_json_safe_and_omits_the_draws() -> None:
    values = log_loss_with_blunders(1000, 2, seed=12)
    result = paired_bootstrap(values, mean_difference, seed=12, n_resamples=1000)
    summary = result.to_dict()
    assert json.loads(json.dumps(summary, allow_nan=False)) == summary
    assert all(not isinstance(value, (list, np.ndarray)) for value in summary.values())
    assert summary["seed"] == 12 and summary["n_resamples"] == 1000
    assert isinstance(result, BootstrapResult)
    assert not result.sorted_differences.flags.writeable


def test_one_column_values_and_explicit_key() -> None:
    rng = np.random.default_rng(13)
    per_row = rng.standard_t(3, size=4000)
    result = paired_bootstrap(per_row, lambda means: means[:, 0], seed=13, n_resamples=4000)
    assert result.estimate == pytest.approx(per_row.mean())
    keyed = paired_bootstrap(
        np.column_stack([per_row, per_row**2]),
        lambda means: means[:, 0],
        seed=13,
        n_resamples=4000,
        key=per_row,
    )
    assert keyed.se == pytest.approx(per_row.std() / math.sqrt(4000), rel=0.05)


@pytest.mark.parametrize(
    ("values", "statistic", "kwargs", "message"),
    [
        (np.ones((1, 2)), mean_difference, {}, "at least two rows"),
        (np.ones((0, 2)), mean_difference, {}, "at least two rows"),
        (np.array([[1.0, np.nan], [0.0, 1.0]]), mean_difference, {}, "NaN or infinite"),
        (np.ones((5, 2, 2)), mean_difference, {}, "shape"),
        (np.ones((5, 2)), lambda means: 0.0, {}, "vectorised"),
        (np.ones((5, 2)), lambda means: means[:, 0] / 0.0, {}, "non-finite"),
        (np.ones((5, 2)), mean_difference, {"n_resamples": 0}, "n_resamples"),
        (np.ones((5, 2)), mean_difference, {"confidence": 1.5}, "confidence"),
        (np.ones((5, 2)), mean_difference, {"max_cells": 2, "min_cells": 8}, "min_cells"),
    ],
)
def test_invalid_input_raises(values, statistic, kwargs, message: str) -> None:
    with np.errstate(all="ignore"), pytest.raises(ValueError, match=message):
        paired_bootstrap(values, statistic, seed=0, **kwargs)


def test_seed_must_be_an_integer() -> None:
    with pytest.raises(ValueError, match="seed"):
        paired_bootstrap(np.ones((5, 2)), mean_difference, seed=1.5)  # type: ignore[arg-type]
