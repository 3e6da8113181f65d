"""Categorical features at tens of thousands of rows and hundreds of categories (simulated).

The chi-square test on the pooled training-versus-batch table and the decision on it (the
p-value gate and the Cohen's w gate), at the sizes and numbers of categories of the issue's
"Measured" list, where a fixed-threshold tool flags no-drift data in most trials:

- calibration: with no drift, P(p < alpha) stays at alpha within 3 Monte-Carlo standard
  deviations (2,000 trials) at 20,000 vs 20,000 and 24,421 vs 2,000 rows, for 8 and 100
  categories (Zipf shares). Measured outside the suite with 28,000 trials at 100 categories and
  24,421 vs 2,000: 0.054 (Pearson's chi-square is slightly liberal when many cells expect about
  5 rows; 0.051 with drift.min_expected 10);
- power of the configured rule (p < alpha and w > 0.3) at 100 and 300 categories: a 2-point
  move of the top category (w about 0.06) never fires, a 15-point move (w about 0.5) always
  does, and a 10-point move (w 0.31 to 0.35, at the threshold) in 36 % to 99 % of trials
  depending on the sizes (100 trials each; printed with -s).

Counts are drawn with one multinomial call per side and passed as category -> count mappings,
which ``categorical_drift`` takes as it takes values.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlgitops.drift_check import FeatureTest, Rule, decide
from mlgitops.params import load_params
from mlgitops.stats.drift import categorical_drift, categorical_reference

ALPHA = 0.05


def zipf(k: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, k + 1)
    return weights / weights.sum()


def moved(p: np.ndarray, points: float) -> np.ndarray:
    """The top category gives ``points`` of its share to the next nine, pro rata."""
    q = p.copy()
    q[0] -= points
    q[1:10] += points * p[1:10] / p[1:10].sum()
    return q


def _results(p: np.ndarray, q: np.ndarray, n_ref: int, n_cur: int, trials: int, seed: int):
    rng = np.random.default_rng(seed)
    refs = rng.multinomial(n_ref, p, size=trials)
    curs = rng.multinomial(n_cur, q, size=trials)
    for ref, cur in zip(refs, curs, strict=True):
        reference = categorical_reference({i: int(c) for i, c in enumerate(ref) if c})
        yield categorical_drift(reference, {i: int(c) for i, c in enumerate(cur) if c})


@pytest.fixture(scope="module")
def rule(root) -> Rule:
    return Rule.from_params(load_params(root / "params.yaml").drift)


@pytest.mark.parametrize(
    ("k", "n_ref", "n_cur"),
    [(8, 20_000, 20_000), (100, 20_000, 20_000), (8, 24_421, 2_000), (100, 24_421, 2_000)],
)
def test_the_chi_square_is_calibrated_at_tens_of_thousands_of_rows(
    k: int, n_ref: int, n_cur: int
) -> None:
    trials = 2_000
    p = zipf(k)
    p_values = np.array([r.p_value for r in _results(p, p, n_ref, n_cur, trials, seed=k + n_cur)])
    rate = float(np.mean(p_values < ALPHA))
    sd = math.sqrt(ALPHA * (1 - ALPHA) / trials)
    print(f"\nfalse-alarm rate, {k} categories, {n_ref} vs {n_cur}: {rate:.3f}")
    assert abs(rate - ALPHA) <= 3 * sd, rate


def _fires(rule: Rule, result) -> bool:
    test = FeatureTest("f", "distribution", result.p_value, result.cohens_w, rule.threshold("c"))
    return decide([test], ["f"], rule).drift


@pytest.mark.parametrize(
    ("k", "n_ref", "n_cur"),
    [(100, 2_000, 2_000), (100, 24_421, 500), (300, 24_421, 500), (300, 5_000, 5_000)],
)
def test_power_at_100_and_300_categories(rule: Rule, k: int, n_ref: int, n_cur: int) -> None:
    trials = 100
    p = zipf(k)
    power = {}
    for points in (0.02, 0.10, 0.15):
        results = _results(p, moved(p, points), n_ref, n_cur, trials, seed=int(points * 100) + k)
        power[points] = sum(_fires(rule, r) for r in results) / trials
    print(f"\npower, {k} categories, {n_ref} vs {n_cur} (top category moved by): {power}")
    assert power[0.02] == 0.0  # w about 0.06: real, but below the threshold at any size
    assert power[0.15] >= 0.95  # w about 0.5
    assert power[0.02] <= power[0.10] <= power[0.15]
