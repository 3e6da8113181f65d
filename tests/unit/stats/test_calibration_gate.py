"""Calibration of the gate's tests by simulation: false alarms, boundary errors, coverage, power.

Each test simulates many evaluation sets of 200, 1,000 and 5,000 rows from a data-generating
process whose true difference is known, runs the public test on each, and compares the rate of
an event with its nominal value. With T independent trials an observed rate has Monte-Carlo
standard deviation sqrt(r (1 - r) / T); a rate passes when it is within MC_SIGMAS of those of
the target (a 0.27% chance of a false failure per check; seeds are fixed, so runs are
deterministic).

McNemar's mid-p test is discrete, so its exact size is not alpha. Instead of a guessed
allowance, its exact size under the simulated process is computed by summing the rejection
indicator over the distribution of the discordant counts; the simulation must match that
exact size within Monte-Carlo error, and the allowance for discreteness is |exact size - alpha|
(at most 0.009 here).

Measured rates are recorded with ``record_property`` (JUnit XML) and printed (``pytest -s``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from mlgitops.stats.bootstrap import mean_difference, paired_bootstrap
from mlgitops.stats.paired import accuracy_test_from_counts, auc_test
from mlgitops.stats.power import noninferiority_power

ALPHA = 0.05
CONFIDENCE = 0.95
MC_SIGMAS = 3.0
SIZES = (200, 1000, 5000)


def mc_bound(rate: float, trials: int) -> float:
    return MC_SIGMAS * math.sqrt(rate * (1.0 - rate) / trials)


def report(record_property, name: str, value: float) -> None:
    record_property(name, round(value, 5))
    print(f"{name} = {value:.4f}")


# --------------------------------------------------------------------------------------------
# Accuracy: McNemar mid-p and Tango
# --------------------------------------------------------------------------------------------

ACCURACY_TRIALS = 4000
MARGIN_ACCURACY = 0.02
# Cell probabilities: both right, baseline only right, candidate only right, both wrong. The
# discordant cells make the two models' errors correlated, as real model versions are.
CELLS_EQUAL = np.array([0.74, 0.06, 0.06, 0.14])
CELLS_AT_MARGIN = np.array([0.74, 0.07, 0.05, 0.14])  # true difference -0.02
CELLS_DEGRADED = np.array([0.74, 0.075, 0.045, 0.14])  # true difference -0.03


def simulate_accuracy(n: int, cells: np.ndarray, seed: int):
    counts = np.random.default_rng(seed).multinomial(n, cells, size=ACCURACY_TRIALS)
    return [accuracy_test_from_counts(n, int(b), int(c), int(a)) for a, b, c, _ in counts]


def exact_midp_size(n: int, discordant_probability: float, alpha: float) -> float:
    """P(mid-p <= alpha) when b + c ~ Bin(n, p) and b | b + c ~ Bin(b + c, 1/2), exactly."""
    mean = n * discordant_probability
    spread = 10 * math.sqrt(mean)
    size = 0.0
    for m in range(max(1, int(mean - spread)), min(n, int(mean + spread)) + 1):
        k = np.arange(m + 1)
        smaller = np.minimum(k, m - k)
        mid_p = 2 * stats.binom.cdf(smaller, m, 0.5) - stats.binom.pmf(smaller, m, 0.5)
        rejected = stats.binom.pmf(k[mid_p <= alpha], m, 0.5).sum()
        size += stats.binom.pmf(m, n, discordant_probability) * rejected
    return float(size)


@pytest.mark.parametrize("n", SIZES)
def test_accuracy_false_alarm_rate(n: int, record_property) -> None:
    results = simulate_accuracy(n, CELLS_EQUAL, seed=n)
    rate = float(np.mean([r.p_value <= ALPHA for r in results]))
    exact = exact_midp_size(n, CELLS_EQUAL[1] + CELLS_EQUAL[2], ALPHA)
    report(record_property, f"accuracy_false_alarm_rate_n{n}", rate)
    report(record_property, f"accuracy_exact_midp_size_n{n}", exact)
    assert abs(exact - ALPHA) < 0.01
    assert abs(rate - exact) <= mc_bound(exact, ACCURACY_TRIALS)
    assert abs(rate - ALPHA) <= mc_bound(ALPHA, ACCURACY_TRIALS) + abs(exact - ALPHA)


@pytest.mark.parametrize("n", SIZES)
def test_accuracy_at_the_non_inferiority_boundary(n: int, record_property) -> None:
    results = simulate_accuracy(n, CELLS_AT_MARGIN, seed=10 + n)
    false_pass = float(np.mean([r.p_greater(-MARGIN_ACCURACY) < ALPHA for r in results]))
    truth = CELLS_AT_MARGIN[2] - CELLS_AT_MARGIN[1]
    coverage = float(np.mean([r.ci_low <= truth <= r.ci_high for r in results]))
    report(record_property, f"accuracy_false_non_inferior_rate_n{n}", false_pass)
    report(record_property, f"accuracy_tango_coverage_n{n}", coverage)
    assert false_pass <= ALPHA + mc_bound(ALPHA, ACCURACY_TRIALS)
    assert abs(coverage - CONFIDENCE) <= mc_bound(CONFIDENCE, ACCURACY_TRIALS)


@pytest.mark.parametrize("n", SIZES)
def test_accuracy_power(n: int, record_property) -> None:
    degraded = simulate_accuracy(n, CELLS_DEGRADED, seed=20 + n)
    detected = float(np.mean([r.p_value <= ALPHA and r.difference < 0 for r in degraded]))
    blocked = float(np.mean([r.p_greater(-MARGIN_ACCURACY) >= ALPHA for r in degraded]))
    equal = simulate_accuracy(n, CELLS_EQUAL, seed=30 + n)
    passed = float(np.mean([r.p_greater(-MARGIN_ACCURACY) < ALPHA for r in equal]))
    predicted = noninferiority_power(
        math.sqrt((CELLS_EQUAL[1] + CELLS_EQUAL[2]) / n), MARGIN_ACCURACY, ALPHA
    )
    report(record_property, f"accuracy_power_detect_minus3pts_n{n}", detected)
    report(record_property, f"accuracy_gate_blocks_minus3pts_n{n}", blocked)
    report(record_property, f"accuracy_gate_passes_equal_model_n{n}", passed)
    report(record_property, f"accuracy_predicted_pass_equal_model_n{n}", predicted)
    # The normal-theory formula is within 0.01 of the test's exact power when at least ~20
    # discordant rows are expected (24 here at n = 200), as test_power checks exactly.
    assert abs(passed - predicted) <= mc_bound(predicted, ACCURACY_TRIALS) + 0.01
    if n == 5000:
        assert detected > 0.99 and blocked > 0.9 and passed > 0.95


# --------------------------------------------------------------------------------------------
# ROC AUC: DeLong
# --------------------------------------------------------------------------------------------

AUC_TRIALS = 1500
MARGIN_AUC = 0.02
SEPARATION_BASE = 1.5  # binormal: AUC = Phi(separation / sqrt 2) with unit-variance noise


def binormal_separation(auc: float) -> float:
    return math.sqrt(2.0) * float(stats.norm.ppf(auc))


def simulate_auc(n: int, separation_candidate: float, seed: int, trials: int = AUC_TRIALS):
    rng = np.random.default_rng(seed)
    results = []
    for _ in range(trials):
        y = rng.random(n) < 0.3
        noise = rng.standard_normal((2, n))
        # Correlated noise: the candidate is a retrained version of the baseline.
        noise[1] = 0.5 * noise[0] + math.sqrt(0.75) * noise[1]
        results.append(
            auc_test(y, SEPARATION_BASE * y + noise[0], separation_candidate * y + noise[1])
        )
    return results


@pytest.mark.parametrize("n", SIZES)
def test_auc_false_alarm_rate(n: int, record_property) -> None:
    results = simulate_auc(n, SEPARATION_BASE, seed=40 + n)
    rate = float(np.mean([r.p_value <= ALPHA for r in results]))
    report(record_property, f"delong_false_alarm_rate_n{n}", rate)
    assert abs(rate - ALPHA) <= mc_bound(ALPHA, AUC_TRIALS)


@pytest.mark.parametrize("n", SIZES)
def test_auc_at_the_non_inferiority_boundary(n: int, record_property) -> None:
    auc_base = float(stats.norm.cdf(SEPARATION_BASE / math.sqrt(2.0)))
    results = simulate_auc(n, binormal_separation(auc_base - MARGIN_AUC), seed=50 + n)
    false_pass = float(np.mean([r.p_greater(-MARGIN_AUC) < ALPHA for r in results]))
    coverage = float(np.mean([r.ci_low <= -MARGIN_AUC <= r.ci_high for r in results]))
    report(record_property, f"delong_false_non_inferior_rate_n{n}", false_pass)
    report(record_property, f"delong_coverage_n{n}", coverage)
    assert false_pass <= ALPHA + mc_bound(ALPHA, AUC_TRIALS)
    assert abs(coverage - CONFIDENCE) <= mc_bound(CONFIDENCE, AUC_TRIALS)


def test_auc_power(record_property) -> None:
    auc_base = float(stats.norm.cdf(SEPARATION_BASE / math.sqrt(2.0)))
    for n in SIZES:
        results = simulate_auc(n, binormal_separation(auc_base - 0.04), seed=60 + n, trials=200)
        detected = float(np.mean([r.p_value <= ALPHA and r.difference < 0 for r in results]))
        report(record_property, f"delong_power_detect_minus4pts_n{n}", detected)
        if n == 5000:
            assert detected > 0.95


# --------------------------------------------------------------------------------------------
# Bootstrap: log loss
# --------------------------------------------------------------------------------------------

BOOTSTRAP_TRIALS = 800
BOOTSTRAP_RESAMPLES = 1000
MARGIN_LOG_LOSS = 0.02
LOGIT_SD = 2.0  # the logit of the true class is N(location, LOGIT_SD^2): heavy-tailed losses
LOCATION_BASE = 2.0


def expected_log_loss(location: float) -> float:
    def integrand(x: float) -> float:
        return float(np.logaddexp(0.0, -(location + LOGIT_SD * x)) * stats.norm.pdf(x))

    return integrate.quad(integrand, -np.inf, np.inf, epsabs=1e-13, epsrel=1e-12)[0]


def location_for_log_loss_gap(gap: float) -> float:
    """Candidate logit location whose expected log loss exceeds the baseline's by ``gap``."""
    target = expected_log_loss(LOCATION_BASE) + gap
    return optimize.brentq(lambda mu: expected_log_loss(mu) - target, -2.0, 4.0, xtol=1e-13)


def simulate_log_loss(n: int, location_candidate: float, seed: int, trials: int):
    rng = np.random.default_rng(seed)
    results = []
    for trial in range(trials):
        noise = rng.standard_normal((n, 2))
        noise[:, 1] = 0.6 * noise[:, 0] + 0.8 * noise[:, 1]
        logit = np.column_stack([LOCATION_BASE, location_candidate]) + LOGIT_SD * noise
        losses = np.logaddexp(0.0, -logit)
        results.append(
            paired_bootstrap(losses, mean_difference, seed=trial, n_resamples=BOOTSTRAP_RESAMPLES)
        )
    return results


@pytest.mark.parametrize("n", SIZES)
def test_bootstrap_false_alarm_rate(n: int, record_property) -> None:
    results = simulate_log_loss(n, LOCATION_BASE, seed=70 + n, trials=BOOTSTRAP_TRIALS)
    rate = float(np.mean([r.p_value <= ALPHA for r in results]))
    report(record_property, f"bootstrap_log_loss_false_alarm_rate_n{n}", rate)
    assert abs(rate - ALPHA) <= mc_bound(ALPHA, BOOTSTRAP_TRIALS)


@pytest.mark.parametrize("n", SIZES)
def test_bootstrap_at_the_non_inferiority_boundary(n: int, record_property) -> None:
    # Log loss is lower-is-better: non-inferior means difference < +margin, so p_less(margin).
    location = location_for_log_loss_gap(MARGIN_LOG_LOSS)
    results = simulate_log_loss(n, location, seed=80 + n, trials=BOOTSTRAP_TRIALS)
    false_pass = float(np.mean([r.p_less(MARGIN_LOG_LOSS) < ALPHA for r in results]))
    coverage = float(np.mean([r.ci_low <= MARGIN_LOG_LOSS <= r.ci_high for r in results]))
    report(record_property, f"bootstrap_log_loss_false_non_inferior_rate_n{n}", false_pass)
    report(record_property, f"bootstrap_log_loss_coverage_n{n}", coverage)
    assert false_pass <= ALPHA + mc_bound(ALPHA, BOOTSTRAP_TRIALS)
    assert abs(coverage - CONFIDENCE) <= mc_bound(CONFIDENCE, BOOTSTRAP_TRIALS)


def test_bootstrap_power(record_property) -> None:
    location = location_for_log_loss_gap(0.05)
    for n in SIZES:
        results = simulate_log_loss(n, location, seed=90 + n, trials=100)
        detected = float(np.mean([r.p_value <= ALPHA and r.estimate > 0 for r in results]))
        report(record_property, f"bootstrap_log_loss_power_detect_plus0.05_n{n}", detected)
        if n == 5000:
            assert detected > 0.95
