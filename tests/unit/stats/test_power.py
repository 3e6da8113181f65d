"""Power and minimum detectable effect: closed forms and a simulation of the real test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from mlgitops.stats.paired import accuracy_test_from_counts, tango_statistic
from mlgitops.stats.power import minimum_detectable_effect, noninferiority_power, required_rows

ses = st.floats(min_value=1e-4, max_value=1.0)
alphas = st.floats(min_value=1e-4, max_value=0.5)
powers = st.floats(min_value=0.05, max_value=0.999)


@pytest.mark.parametrize(
    ("se", "alpha", "power", "one_sided"),
    [(0.01, 0.05, 0.8, True), (0.01, 0.05, 0.8, False), (0.003, 0.025, 0.9, True)],
)
def test_minimum_detectable_effect_closed_form(
    se: float, alpha: float, power: float, one_sided: bool
) -> None:
    tail = alpha if one_sided else alpha / 2
    expected = (stats.norm.ppf(1 - tail) + stats.norm.ppf(power)) * se
    assert minimum_detectable_effect(se, alpha, power, one_sided) == pytest.approx(expected)


def test_minimum_detectable_effect_textbook_value() -> None:
    # z_0.95 + z_0.8 = 1.6449 + 0.8416 = 2.4865.
    assert minimum_detectable_effect(1.0, 0.05, 0.8) == pytest.approx(2.486475, abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(ses, alphas, powers)
def test_power_at_the_minimum_detectable_effect_is_the_target(
    se: float, alpha: float, power: float
) -> None:
    margin = minimum_detectable_effect(se, alpha, power)
    assert noninferiority_power(se, margin, alpha) == pytest.approx(power, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(ses, alphas, st.floats(min_value=0.0, max_value=0.2))
def test_power_at_the_margin_boundary_is_alpha(se: float, alpha: float, margin: float) -> None:
    assert noninferiority_power(se, margin, alpha, true_difference=-margin) == pytest.approx(
        alpha, abs=1e-12
    )


def test_power_closed_form_and_monotonicity() -> None:
    se, margin, alpha = 0.01, 0.02, 0.05
    expected = stats.norm.cdf(margin / se - stats.norm.ppf(1 - alpha))
    assert noninferiority_power(se, margin, alpha) == pytest.approx(expected)
    curve = [noninferiority_power(se, margin, alpha, d) for d in np.linspace(-0.05, 0.05, 21)]
    assert np.all(np.diff(curve) > 0)


def test_zero_standard_error() -> None:
    assert noninferiority_power(0.0, 0.01, 0.05) == 1.0
    assert noninferiority_power(0.0, 0.01, 0.05, true_difference=-0.01) == 0.0
    assert noninferiority_power(0.0, 0.01, 0.05, true_difference=-0.02) == 0.0
    assert minimum_detectable_effect(0.0, 0.05) == 0.0
    assert required_rows(0.0, 100, 0.01, 0.05) == 1


@settings(max_examples=200, deadline=None)
@given(
    ses,
    st.integers(min_value=10, max_value=100_000),
    st.floats(min_value=1e-3, max_value=0.2),
    alphas,
    powers,
    st.floats(min_value=-0.5, max_value=0.5),
)
def test_required_rows_is_the_smallest_sufficient_size(
    se: float, n_rows: int, margin: float, alpha: float, power: float, shift: float
) -> None:
    true_difference = shift * margin
    needed = required_rows(se, n_rows, margin, alpha, power, true_difference)

    def power_at(rows: int) -> float:
        return noninferiority_power(se * math.sqrt(n_rows / rows), margin, alpha, true_difference)

    assert power_at(needed) >= power - 1e-12
    if needed > 1:
        assert power_at(needed - 1) < power


def test_required_rows_refuses_impossible_plans() -> None:
    with pytest.raises(ValueError, match="cannot be shown"):
        required_rows(0.01, 1000, margin=0.01, alpha=0.05, true_difference=-0.01)


@pytest.mark.parametrize(
    "call",
    [
        lambda: minimum_detectable_effect(-0.1, 0.05),
        lambda: minimum_detectable_effect(float("nan"), 0.05),
        lambda: minimum_detectable_effect(0.1, 0.0),
        lambda: minimum_detectable_effect(0.1, 0.05, power=1.0),
        lambda: noninferiority_power(0.1, float("inf"), 0.05),
        lambda: noninferiority_power(0.1, 0.01, 1.5),
        lambda: required_rows(0.1, 0, 0.01, 0.05),
    ],
)
def test_invalid_arguments_raise(call) -> None:
    with pytest.raises(ValueError):
        call()


def exact_tango_pass_probability(n: int, cells: np.ndarray, margin: float, alpha: float) -> float:
    """P(p_greater(-margin) < alpha) for the paired accuracy test, exactly.

    Sums over the discordant total m = b + c ~ Bin(n, p_b + p_c) and c | m ~ Bin(m, p_c / (p_b +
    p_c)); for fixed m Tango's statistic increases with c, so the passing c form a tail found by
    bisection.
    """
    _, p_b, p_c, _ = cells
    p_disc = p_b + p_c
    z = stats.norm.ppf(1 - alpha)
    spread = 10 * math.sqrt(n * p_disc)
    total = 0.0
    for m in range(max(1, int(n * p_disc - spread)), min(n, int(n * p_disc + spread)) + 1):
        lo, hi = 0, m + 1
        while lo < hi:
            middle = (lo + hi) // 2
            if tango_statistic(n, m - middle, middle, -margin) > z:
                hi = middle
            else:
                lo = middle + 1
        total += stats.binom.pmf(m, n, p_disc) * stats.binom.sf(lo - 1, m, p_c / p_disc)
    return float(total)


# Both right, baseline only, candidate only, both wrong.
EQUAL = np.array([0.74, 0.06, 0.06, 0.14])
SLIGHTLY_WORSE = np.array([0.78, 0.0625, 0.0575, 0.10])  # true difference -0.005


@pytest.mark.parametrize("cells", [EQUAL, SLIGHTLY_WORSE])
@pytest.mark.parametrize("n", [200, 1000, 2000, 5000])
def test_power_formula_matches_the_exact_power_of_the_accuracy_test(
    cells: np.ndarray, n: int
) -> None:
    # With at least ~20 expected discordant rows the normal-theory formula (true variance) is
    # within one point of the exact power of the test (Tango's null-restricted variance).
    margin, alpha = 0.02, 0.05
    true_difference = cells[2] - cells[1]
    se = math.sqrt((cells[1] + cells[2] - true_difference**2) / n)
    exact = exact_tango_pass_probability(n, cells, margin, alpha)
    assert noninferiority_power(se, margin, alpha, true_difference) == pytest.approx(
        exact, abs=0.01
    )


def test_power_formula_overstates_power_with_few_discordant_rows() -> None:
    # Documented limitation: 200 rows with 2% discordance (4 expected discordant rows).
    cells = np.array([0.9, 0.01, 0.01, 0.08])
    se = math.sqrt(0.02 / 200)
    exact = exact_tango_pass_probability(200, cells, 0.02, 0.05)
    assert noninferiority_power(se, 0.02, 0.05) > exact + 0.1


def test_power_matches_a_simulation_of_the_paired_accuracy_test() -> None:
    n, margin, alpha, trials = 2000, 0.02, 0.05, 4000
    cells = SLIGHTLY_WORSE
    counts = np.random.default_rng(20261201).multinomial(n, cells, size=trials)
    simulated = float(
        np.mean(
            [
                accuracy_test_from_counts(n, int(b), int(c), int(a)).p_greater(-margin) < alpha
                for a, b, c, _ in counts
            ]
        )
    )
    exact = exact_tango_pass_probability(n, cells, margin, alpha)
    assert abs(simulated - exact) <= 3 * math.sqrt(exact * (1 - exact) / trials)
    # Planning: the rows required for 80% power do give about 80% exact power.
    true_difference = cells[2] - cells[1]
    se = math.sqrt((cells[1] + cells[2] - true_difference**2) / n)
    planned = required_rows(se, n, margin, alpha, 0.8, true_difference)
    assert exact_tango_pass_probability(planned, cells, margin, alpha) == pytest.approx(
        0.8, abs=0.01
    )
