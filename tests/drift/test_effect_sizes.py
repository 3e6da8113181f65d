"""The categorical effect size the decision gates on: bias-corrected Cohen's w.

Under no drift the gated effect must be ~0 whatever the sizes and the number of categories (the
Jensen-Shannon distance it replaced averaged 0.09 at 8 categories and 300 vs 300 rows and
0.35 to 0.44 at 300 categories, so its threshold of 0.1 was passed by noise alone), and it must
be the formula it says it is, on the table the chi-square test ran on.

Simulated with counts (multinomial draws passed as category -> count mappings, which
``categorical_drift`` takes as it takes values), so hundreds of trials cost a second.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from mlgitops.drift_check import Rule, feature_tests
from mlgitops.params import load_params
from mlgitops.stats.drift import categorical_drift, categorical_reference, cohens_w

TRIALS = 300


def shares(k: int, kind: str) -> np.ndarray:
    """Category shares: equal, or Zipf (1/rank, the usual shape of a real category column)."""
    weights = np.ones(k) if kind == "uniform" else 1.0 / np.arange(1, k + 1)
    return weights / weights.sum()


def counts(draw: np.ndarray) -> dict[int, int]:
    return {i: int(c) for i, c in enumerate(draw) if c}


@pytest.fixture(scope="module")
def rule(root) -> Rule:
    return Rule.from_params(load_params(root / "params.yaml").drift)


def _gated_effects(rule: Rule, p: np.ndarray, n_ref: int, n_cur: int, seed: int) -> np.ndarray:
    """The effect the decision gates on, per no-drift trial (what check_drift feeds decide)."""
    rng = np.random.default_rng(seed)
    refs = rng.multinomial(n_ref, p, size=TRIALS)
    curs = rng.multinomial(n_cur, p, size=TRIALS)
    effects = []
    for ref, cur in zip(refs, curs, strict=True):
        result = categorical_drift(categorical_reference(counts(ref)), counts(cur))
        distribution, _ = feature_tests("f", "categorical", result, rule)
        assert distribution.effect is not None
        effects.append(distribution.effect)
    return np.asarray(effects)


@pytest.mark.parametrize(
    ("k", "kind", "n_ref", "n_cur"),
    [
        (8, "uniform", 300, 300),
        (100, "zipf", 2_000, 2_000),
        (300, "zipf", 500, 500),
        (300, "zipf", 24_421, 500),
    ],
)
def test_the_categorical_effect_under_no_drift_is_far_below_its_threshold(
    rule: Rule, k: int, kind: str, n_ref: int, n_cur: int
) -> None:
    effects = _gated_effects(rule, shares(k, kind), n_ref, n_cur, seed=k + n_ref)
    mean = float(effects.mean())
    print(f"\nno-drift mean effect, {k} {kind} categories, {n_ref} vs {n_cur}: {mean:.4f}")
    assert mean < rule.categorical_threshold / 4
    # Noise alone passes the threshold rarely (the p-value gate is what rules it out).
    assert float(np.mean(effects > rule.categorical_threshold)) < 0.05


def test_the_effect_does_not_depend_on_the_sample_sizes(rule: Rule) -> None:
    # The same change (a 70 % category loses 15 points to the others, pro rata) at three sizes:
    # the estimates agree with the population w (0.31) within their noise.
    p = np.array([0.70, 0.12, 0.09, 0.06, 0.03])
    q = np.concatenate([[0.55], p[1:] * 0.45 / p[1:].sum()])
    population = math.sqrt(np.sum((q - p) ** 2 / ((p + q) / 2)))
    assert population == pytest.approx(0.31, abs=0.005)
    rng = np.random.default_rng(3)
    for n_ref, n_cur in [(2_000, 2_000), (24_421, 500), (20_000, 20_000)]:
        estimates = []
        for _ in range(100):
            ref = categorical_reference(counts(rng.multinomial(n_ref, p)))
            estimates.append(categorical_drift(ref, counts(rng.multinomial(n_cur, q))).cohens_w)
        # Unequal sizes weight the pooled shares towards the larger side: 0.29 at 24,421 vs 500.
        assert np.mean(estimates) == pytest.approx(population, abs=0.03), (n_ref, n_cur)


def test_a_two_point_move_is_below_the_threshold_and_a_material_one_above(rule: Rule) -> None:
    p = np.array([0.70, 0.12, 0.09, 0.06, 0.03])

    def moved(points: float) -> np.ndarray:
        return np.concatenate([[0.70 - points], p[1:] * (0.30 + points) / 0.30])

    big = 1_000_000  # large enough that the estimate is the population value
    ref = categorical_reference(counts(np.round(p * big).astype(int)))
    effect = {
        points: categorical_drift(ref, counts(np.round(moved(points) * big).astype(int))).cohens_w
        for points in (0.02, 0.05, 0.20)
    }
    new_category = categorical_drift(
        ref, counts(np.round(np.concatenate([p * 0.95, [0.05]]) * big).astype(int))
    ).cohens_w
    assert effect[0.02] == pytest.approx(0.043, abs=0.002)
    assert effect[0.02] < rule.categorical_threshold / 4
    assert effect[0.05] < rule.categorical_threshold
    assert effect[0.20] > rule.categorical_threshold  # 70 % -> 50 %: w = 0.41
    assert new_category > rule.categorical_threshold  # 5 % of the batch in a new category


@pytest.mark.parametrize("seed", range(6))
def test_cohens_w_equals_an_independent_computation_on_the_tested_table(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 120))
    p = shares(k, "zipf" if seed % 2 else "uniform")
    n_ref, n_cur = (int(n) for n in rng.integers(50, 30_000, 2))
    q = rng.dirichlet(p * 200)  # a moved distribution, so the statistic is above its dof
    ref_counts = counts(rng.multinomial(n_ref, p))
    cur_counts = counts(rng.multinomial(n_cur, q))
    result = categorical_drift(categorical_reference(ref_counts), cur_counts, max_listed=10**6)
    table = _tested_table(ref_counts, cur_counts, set(result.pooled))
    assert len(result.pooled) == result.n_pooled
    expected = stats.chi2_contingency(table, correction=False)
    n_r, n_c = table.sum(axis=1)
    w = math.sqrt(max(0.0, (expected.statistic - expected.dof) / (n_r * n_c / (n_r + n_c))))
    assert w > 0
    assert result.dof == expected.dof
    assert result.cohens_w == pytest.approx(w, rel=1e-12, abs=1e-12)
    assert cohens_w(expected.statistic, expected.dof, int(n_r), int(n_c)) == pytest.approx(
        w, rel=1e-12, abs=1e-12
    )


def _tested_table(ref: dict[int, int], cur: dict[int, int], pooled: set[int]) -> np.ndarray:
    """The 2 x K table the chi-square ran on: every category, the pooled ones in one cell."""
    kept = [c for c in sorted(set(ref) | set(cur)) if c not in pooled]
    columns = [[ref.get(c, 0), cur.get(c, 0)] for c in kept]
    if pooled:
        columns.append([sum(ref.get(c, 0) for c in pooled), sum(cur.get(c, 0) for c in pooled)])
    return np.array(columns, dtype=float).T


def test_no_change_at_all_gives_zero() -> None:
    ref = categorical_reference({"a": 600, "b": 300, "c": 100})
    same = categorical_drift(ref, {"a": 60, "b": 30, "c": 10})
    assert same.chi2_statistic == 0.0 and same.cohens_w == 0.0
    with pytest.raises(ValueError, match="both sides need rows"):
        cohens_w(1.0, 1, 0, 10)
