"""Calibration and power of the drift tests, by Monte Carlo with fixed seeds.

Under no drift the per-feature false-alarm rate P(p < 0.05) must stay within Monte-Carlo error
of alpha: at most alpha + 3 * sqrt(alpha * (1 - alpha) / trials). KS on continuous data must
not be far below alpha either: in scipy's exact regime (both sides <= 10,000) the p-value is
exact, so the rate must equal the largest attainable p-value below alpha (``p*``, the exact
size of the discrete test); in the asymptotic regime it must be within 3 sd of alpha.

Every trial runs the real public functions (``numeric_reference`` + ``numeric_drift``,
``categorical_reference`` + ``categorical_drift``); only the data are drawn for all trials at
once. Measured with this file's seeds (rate of p < 0.05; trials in brackets):

Numeric, uniform data (KS):
    300 vs 300 [2000]: 0.0445 (p* = 0.0423)      500 vs 5,000 [2000]: 0.0455 (p* = 0.0499)
    2,000 vs 2,000 [2000]: 0.0440 (p* = 0.0495)  20,000 vs 20,000 [1000]: 0.047 (asymptotic)
    2,000 vs 20,000 [1000]: 0.041 (asymptotic)
    Longer runs outside the suite: 2,000 vs 20,000 [5000] 0.0526; 20,000 vs 20,000 [5000]
    0.0492; 50,000 vs 50,000 [2000] 0.053.
    Model scores rounded to 0.01, 2,000 vs 2,000 [1000]: 0.045 (ties make KS conservative).
    2 % nulls on both sides, 1,000 vs 1,000 [2000]: null-rate test 0.048, KS 0.0515.
Categorical, Zipf(1.1) shares (chi-square of homogeneity, pooling below expected count 5),
2000 trials each:
    2 categories:   300/300 0.0525   500/5,000 0.0570   2,000/2,000 0.0510
    8 categories:   300/300 0.0465   500/5,000 0.0425   2,000/2,000 0.0565
    100 categories: 300/300 0.0495   500/5,000 0.0485   2,000/2,000 0.0405
    300 categories: 300/300 0.0545   500/5,000 0.0540   2,000/2,000 0.0500
    (300 categories at 500/5,000 over 40,000 trials outside the suite: 0.052.)
PSI under no drift averages the ``expected_psi`` value within 4 % at every numeric size.

Power at alpha = 0.05:
    Mean shift of 0.1 sd (KS): 500 vs 5,000: 0.44; 2,000 vs 2,000: 0.76; 10,000 vs 10,000: 1.00
    (median normalised Wasserstein 0.10 at every size).
    Top category's share moved 3 points to the second (8 Zipf categories, chi-square):
    500 vs 5,000: 0.17; 2,000 vs 2,000: 0.45; 20,000 vs 20,000: 1.00.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlgitops.stats.drift import (
    categorical_drift,
    categorical_reference,
    numeric_drift,
    numeric_reference,
)

ALPHA = 0.05


def _mc_sd(rate: float, trials: int) -> float:
    return math.sqrt(rate * (1 - rate) / trials)


def _upper_bound(trials: int) -> float:
    return ALPHA + 3 * _mc_sd(ALPHA, trials)


def _zipf(k: int, exponent: float = 1.1) -> np.ndarray:
    shares = 1 / np.arange(1, k + 1) ** exponent
    return shares / shares.sum()


def _numeric_p_values(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, list]:
    results = [numeric_drift(numeric_reference(r), c) for r, c in zip(ref, cur, strict=True)]
    return np.array([r.p_value for r in results]), results


def _categorical_p_values(ref_counts: np.ndarray, cur_counts: np.ndarray) -> np.ndarray:
    names = [f"c{i:03d}" for i in range(ref_counts.shape[1])]
    p_values = []
    for r, c in zip(ref_counts, cur_counts, strict=True):
        reference = categorical_reference(dict(zip(names, r.tolist(), strict=True)))
        result = categorical_drift(reference, dict(zip(names, c.tolist(), strict=True)))
        assert result.p_value is not None, result.status
        p_values.append(result.p_value)
    return np.array(p_values)


# --------------------------------------------------------------------------------------------
# Numeric (KS) under no drift
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_ref", "n_cur", "trials", "seed"),
    [
        (300, 300, 2000, 1),
        (500, 5_000, 2000, 2),
        (2_000, 2_000, 2000, 3),
        (20_000, 20_000, 1000, 4),
        (2_000, 20_000, 1000, 5),
    ],
)
def test_ks_false_alarm_rate_is_alpha(n_ref, n_cur, trials, seed):
    rng = np.random.default_rng(seed)
    # KS is distribution-free for continuous data, so uniforms stand for any continuous feature.
    p_values, results = _numeric_p_values(rng.random((trials, n_ref)), rng.random((trials, n_cur)))
    rate = float(np.mean(p_values < ALPHA))
    assert rate <= _upper_bound(trials)
    if max(n_ref, n_cur) <= 10_000:
        # Exact p-values: P(p < alpha) is the largest attainable p-value below alpha.
        attainable = float(p_values[p_values < ALPHA].max())
        assert attainable >= 0.04
        assert abs(rate - attainable) <= 3 * _mc_sd(attainable, trials)
        assert {r.ks_method for r in results} == {"exact"}
    else:
        assert rate >= ALPHA - 3 * _mc_sd(ALPHA, trials)
        assert {r.ks_method for r in results} == {"asymp"}
    # PSI's no-drift level is the one expected_psi predicts (~ (bins-1)(1/n_ref + 1/n_cur)).
    mean_psi = float(np.mean([r.psi for r in results]))
    assert mean_psi == pytest.approx(results[0].psi_expected, rel=0.10)


def test_ks_with_ties_and_nulls_does_not_over_alarm():
    rng = np.random.default_rng(6)
    trials = 1000
    # Model scores in [0, 1] rounded to 2 decimals: KS with ties is conservative, never liberal.
    scores = np.round(1 / (1 + np.exp(-rng.normal(0, 1.5, (2, trials, 2_000)))), 2)
    p_values, _ = _numeric_p_values(scores[0], scores[1])
    assert np.mean(p_values < ALPHA) <= _upper_bound(trials)

    # 2 % nulls on both sides: the null-rate test and the KS on the rest stay calibrated.
    trials = 2000
    ref = rng.normal(size=(trials, 1_000))
    cur = rng.normal(size=(trials, 1_000))
    ref[rng.random(ref.shape) < 0.02] = np.nan
    cur[rng.random(cur.shape) < 0.02] = np.nan
    p_values, results = _numeric_p_values(ref, cur)
    null_p = np.array([r.null_test.p_value for r in results])
    assert np.mean(null_p < ALPHA) <= _upper_bound(trials)
    assert np.mean(p_values < ALPHA) <= _upper_bound(trials)


# --------------------------------------------------------------------------------------------
# Categorical (chi-square with pooling) under no drift
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [2, 8, 100, 300])
@pytest.mark.parametrize(("n_ref", "n_cur"), [(300, 300), (500, 5_000), (2_000, 2_000)])
def test_chi_square_false_alarm_rate_is_alpha(k, n_ref, n_cur):
    trials = 2000
    rng = np.random.default_rng(1_000 * k + n_ref + n_cur)
    shares = _zipf(k)
    p_values = _categorical_p_values(
        rng.multinomial(n_ref, shares, size=trials), rng.multinomial(n_cur, shares, size=trials)
    )
    rate = float(np.mean(p_values < ALPHA))
    assert rate <= _upper_bound(trials)
    assert rate >= ALPHA - 3 * _mc_sd(ALPHA, trials)


def test_category_values_and_counts_give_the_same_calibrated_answer():
    # The value path (np.unique / Counter) agrees with the counts path trial for trial.
    rng = np.random.default_rng(7)
    shares = _zipf(8)
    labels = np.array([f"c{i:03d}" for i in range(8)], dtype=object)
    rejections = 0
    trials = 200
    for _ in range(trials):
        ref_values = labels[rng.choice(8, size=300, p=shares)]
        cur_values = labels[rng.choice(8, size=300, p=shares)]
        result = categorical_drift(categorical_reference(ref_values), cur_values)
        names, counts = np.unique(cur_values, return_counts=True)
        from_counts = categorical_drift(
            categorical_reference(ref_values),
            dict(zip(names.tolist(), counts.tolist(), strict=True)),
        )
        assert result == from_counts
        rejections += result.p_value < ALPHA
    assert rejections / trials <= _upper_bound(trials)


# --------------------------------------------------------------------------------------------
# Power under known shifts
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_ref", "n_cur", "trials", "minimum"),
    [(500, 5_000, 400, 0.3), (2_000, 2_000, 400, 0.7), (10_000, 10_000, 200, 0.99)],
)
def test_ks_power_for_a_tenth_of_a_standard_deviation(n_ref, n_cur, trials, minimum):
    rng = np.random.default_rng(n_ref + n_cur)
    p_values, results = _numeric_p_values(
        rng.normal(0.0, 1.0, (trials, n_ref)), rng.normal(0.1, 1.0, (trials, n_cur))
    )
    assert np.mean(p_values < ALPHA) >= minimum
    # The effect size says "a tenth of an sd", whatever the sample size.
    w = np.median([r.wasserstein_normalized for r in results])
    assert 0.07 < w < 0.2


@pytest.mark.parametrize(
    ("n_ref", "n_cur", "trials", "minimum"),
    [(500, 5_000, 400, 0.1), (2_000, 2_000, 400, 0.35), (20_000, 20_000, 200, 0.99)],
)
def test_chi_square_power_for_a_three_point_share_move(n_ref, n_cur, trials, minimum):
    rng = np.random.default_rng(n_ref * 3 + n_cur)
    shares = _zipf(8)
    moved = shares.copy()
    moved[0] -= 0.03
    moved[1] += 0.03
    p_values = _categorical_p_values(
        rng.multinomial(n_ref, shares, size=trials), rng.multinomial(n_cur, moved, size=trials)
    )
    assert np.mean(p_values < ALPHA) >= minimum
