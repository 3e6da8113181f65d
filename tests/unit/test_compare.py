"""The gate as a decision procedure: properties, and calibration by simulation.

The statistical tests themselves are checked against statsmodels/scipy in tests/unit/stats; here
the question is whether the *verdicts* behave: a model compared with itself passes with p = 1, a
worse candidate never gets a better verdict, and with no real difference the gate fails (or
claims "better") at most alpha of the time, while a model exactly at the margin is passed at most
alpha of the time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlgitops.compare import Rows, compare_rows
from mlgitops.params import GateParams

ORDER = {"worse": 0, "inconclusive": 1, "not_worse": 2, "better": 3}


def gate(metrics=("accuracy", "roc_auc"), margin=0.02, resamples=500, **kw) -> GateParams:
    return GateParams.model_validate(
        {
            "alpha": 0.05,
            "power": 0.8,
            "on_inconclusive": "fail",
            "on_no_baseline": "pass",
            "on_schema_change": "fail",
            "bootstrap_resamples": resamples,
            "seed": 0,
            "metrics": {
                m: {"margin": margin, "margin_type": "absolute", "floor": None, "ceiling": None}
                for m in metrics
            },
            "slices": {"metrics": (metrics[0],), "min_rows": 50},
            **kw,
        }
    )


def rows_from(y: np.ndarray, base_score: np.ndarray, cand_score: np.ndarray) -> Rows:
    labels = np.where(y == 1, "pos", "neg")
    return Rows(
        task="binary",
        y_true=labels,
        base_pred=np.where(base_score >= 0.5, "pos", "neg"),
        cand_pred=np.where(cand_score >= 0.5, "pos", "neg"),
        base_score=base_score,
        cand_score=cand_score,
        positive_class="pos",
        classes=["neg", "pos"],
    )


def scored(rng: np.random.Generator, n: int, shift: float = 0.0):
    """Two scorers of equal quality (shared and own noise), the candidate degraded by ``shift``."""
    y = (rng.random(n) < 0.3).astype(int)
    shared = rng.normal(size=n)
    signal = 1.5 * y
    base = signal + 0.7 * shared + 0.7 * rng.normal(size=n)
    cand = signal * (1 - shift) + 0.7 * shared + 0.7 * rng.normal(size=n)
    to_p = lambda s: 1 / (1 + np.exp(-(s - 0.9) * 2))  # noqa: E731
    return y, to_p(base), to_p(cand)


def test_a_model_compared_with_itself_passes_with_p_one() -> None:
    y, base, _ = scored(np.random.default_rng(1), 1500)
    g = gate(metrics=("accuracy", "roc_auc", "f1_score", "log_loss", "brier_score_loss"))
    result = compare_rows(
        rows_from(y, base, base), pd.DataFrame(index=range(len(y))), gate=g, slices=()
    )
    assert result.verdict == "not_worse" and result.passed
    assert all(m.p_value == 1.0 and m.difference == 0.0 for m in result.metrics)
    assert all(m.decision == "not_worse" for m in result.metrics)


@given(
    st.integers(0, 2**32 - 1),
    st.integers(200, 1500),
    st.floats(0.0, 0.4),
    st.floats(0.01, 0.3),
)
@settings(max_examples=60, deadline=None)
def test_a_strictly_worse_candidate_never_gets_a_better_verdict(
    seed: int, n: int, flip_share: float, margin: float
) -> None:
    rng = np.random.default_rng(seed)
    y, base, cand = scored(rng, n)
    # The worse candidate is wrong wherever the candidate was wrong, and on some more rows.
    right = (cand >= 0.5) == (y == 1)
    flip = right & (rng.random(n) < flip_share)
    worse = np.where(flip, 1 - cand, cand)
    g = gate(metrics=("accuracy",), margin=margin)
    frame = pd.DataFrame(index=range(n))
    a = compare_rows(rows_from(y, base, cand), frame, gate=g, slices=())
    b = compare_rows(rows_from(y, base, worse), frame, gate=g, slices=())
    assert ORDER[b.verdict] <= ORDER[a.verdict]
    assert b.metrics[0].p_noninferiority >= a.metrics[0].p_noninferiority - 1e-12


def _rates(trials: int, n: int, shift: float, margin: float, metrics: tuple[str, ...]):
    rng = np.random.default_rng(20241201 + n)
    g = gate(metrics=metrics, margin=margin)
    frame = pd.DataFrame(index=range(n))
    verdicts = []
    for _ in range(trials):
        y, base, cand = scored(rng, n, shift)
        verdicts.append(compare_rows(rows_from(y, base, cand), frame, gate=g, slices=()).verdict)
    verdicts = np.array(verdicts)
    return {v: float(np.mean(verdicts == v)) for v in ORDER}


TRIALS = 400
ALPHA = 0.05
# Three binomial standard errors of a rate at alpha over TRIALS simulated test sets.
MC_BOUND = ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / TRIALS)


@pytest.mark.parametrize("n", [300, 2000])
def test_with_no_real_difference_false_failures_and_false_improvements_stay_under_alpha(
    n: int,
) -> None:
    rates = _rates(TRIALS, n, shift=0.0, margin=0.0, metrics=("accuracy", "roc_auc"))
    # margin 0: "worse" means "significantly worse at all", the harshest reading of the gate.
    assert rates["worse"] <= MC_BOUND, rates
    assert rates["better"] <= MC_BOUND, rates


def _accuracy_pairs(rng: np.random.Generator, n: int, p_base: float, p_cand: float):
    """Correct/wrong pairs with the given accuracies and positively correlated errors."""
    base_right = rng.random(n) < p_base
    # P(cand right | base right) chosen so the margins hold and errors are shared.
    q_right = min(1.0, p_cand / p_base * 1.0)
    cand_right = np.where(
        base_right,
        rng.random(n) < q_right,
        rng.random(n) < (p_cand - p_base * q_right) / (1 - p_base),
    )
    y = (rng.random(n) < 0.4).astype(int)
    base_score = np.where(base_right == (y == 1), 0.8, 0.2)
    cand_score = np.where(cand_right == (y == 1), 0.8, 0.2)
    return y, base_score, cand_score


@pytest.mark.parametrize("n", [500, 3000])
def test_a_model_worse_by_exactly_the_margin_is_passed_at_most_alpha_of_the_time(n: int) -> None:
    margin = 0.03
    rng = np.random.default_rng(7 + n)
    g = gate(metrics=("accuracy",), margin=margin)
    frame = pd.DataFrame(index=range(n))
    passed = 0
    for _ in range(TRIALS):
        y, base, cand = _accuracy_pairs(rng, n, 0.85, 0.85 - margin)
        passed += compare_rows(rows_from(y, base, cand), frame, gate=g, slices=()).passed
    assert passed / TRIALS <= MC_BOUND


def test_power_against_a_clear_degradation_is_reported_and_high() -> None:
    rates = _rates(100, 3000, shift=0.35, margin=0.01, metrics=("accuracy", "roc_auc"))
    # A 35% weaker signal is caught nearly always at 3,000 rows.
    assert rates["worse"] >= 0.9, rates


def test_slices_are_judged_and_a_slice_regression_fails_the_check() -> None:
    rng = np.random.default_rng(3)
    n = 4000
    y, base, cand = scored(rng, n)
    group = np.where(rng.random(n) < 0.3, "a", "b")
    # Degrade the candidate on slice "a" only: 15% of its predictions flipped.
    cand = np.where((group == "a") & (rng.random(n) < 0.15), 1 - cand, cand)
    frame = pd.DataFrame({"group": group})
    from mlgitops.params import SliceSpec

    result = compare_rows(
        rows_from(y, base, cand),
        frame,
        gate=gate(metrics=("accuracy",), margin=0.05),
        slices=(SliceSpec(column="group"),),
    )
    assert result.verdict == "worse"
    decisions = {s.value: s.metrics[0].decision for s in result.slices}
    assert decisions["a"] == "worse"
    assert decisions["b"] == "not_worse"
    assert result.metrics[0].decision == "not_worse"
    assert "group = a" in result.reason


def test_a_floor_fails_the_check_even_when_not_worse_than_the_baseline() -> None:
    y, base, _ = scored(np.random.default_rng(5), 1000)
    g = GateParams.model_validate(
        {
            **gate().model_dump(),
            "metrics": {
                "accuracy": {
                    "margin": 0.02,
                    "margin_type": "absolute",
                    "floor": 0.99,
                    "ceiling": None,
                }
            },
            "slices": {"metrics": ("accuracy",), "min_rows": 50},
        }
    )
    result = compare_rows(
        rows_from(y, base, base), pd.DataFrame(index=range(1000)), gate=g, slices=()
    )
    assert result.verdict == "out_of_bounds" and not result.passed
    assert "below its floor 0.99" in result.reason


FIVE = ("accuracy", "roc_auc", "f1_score", "log_loss", "brier_score_loss")


def test_floors_bound_the_whole_set_not_its_slices() -> None:
    """Identical models, a floor the whole set clears but a hard slice does not: a pass."""
    from mlgitops.params import SliceSpec

    rng = np.random.default_rng(8)
    n = 3000
    y, base, _ = scored(rng, n)
    group = np.where(rng.random(n) < 0.3, "hard", "easy")
    base = np.where((group == "hard") & (rng.random(n) < 0.2), 1 - base, base)
    rows = rows_from(y, base, base)
    overall = float(np.mean(rows.base_pred == rows.y_true))
    hard = group == "hard"
    assert float(np.mean(rows.base_pred[hard] == rows.y_true[hard])) < overall - 0.05
    g = GateParams.model_validate(
        {
            **gate().model_dump(),
            "metrics": {
                "accuracy": {
                    "margin": 0.02,
                    "margin_type": "absolute",
                    "floor": overall - 0.02,
                    "ceiling": None,
                }
            },
            "slices": {"metrics": ("accuracy",), "min_rows": 50},
        }
    )
    result = compare_rows(
        rows, pd.DataFrame({"group": group}), gate=g, slices=(SliceSpec(column="group"),)
    )
    assert result.verdict == "not_worse" and result.passed, result.reason
    assert all(m.floor is None for s in result.slices for m in s.metrics)


def test_a_declared_slice_missing_from_the_data_fails_closed_whatever_the_policy() -> None:
    from mlgitops.params import SliceSpec

    y, base, _ = scored(np.random.default_rng(9), 1000)
    for policy in ("fail", "pass"):
        result = compare_rows(
            rows_from(y, base, base),
            pd.DataFrame(index=range(1000)),
            gate=gate(on_inconclusive=policy),
            slices=(SliceSpec(column="region"),),
        )
        assert result.verdict == "missing" and not result.passed
        assert "region" in result.reason and "not in the evaluation data" in result.reason


def test_a_slice_of_one_class_shows_its_auc_as_undefined_and_still_judges_accuracy() -> None:
    from mlgitops.params import SliceSpec

    rng = np.random.default_rng(10)
    n = 2000
    y, base, _ = scored(rng, n)
    group = np.where(y == 0, np.where(rng.random(n) < 0.2, "only_negatives", "mixed"), "mixed")
    g = gate(metrics=("accuracy", "roc_auc"))
    g = GateParams.model_validate(
        {**g.model_dump(), "slices": {"metrics": ("accuracy", "roc_auc"), "min_rows": 50}}
    )
    result = compare_rows(
        rows_from(y, base, base),
        pd.DataFrame({"group": group}),
        gate=g,
        slices=(SliceSpec(column="group"),),
    )
    assert result.passed and result.verdict == "not_worse", result.reason
    lone = next(s for s in result.slices if s.value == "only_negatives")
    decisions = {m.name: m.decision for m in lone.metrics}
    assert decisions == {"accuracy": "not_worse", "roc_auc": "undefined"}


def test_a_one_class_evaluation_set_is_an_error_not_a_verdict() -> None:
    from mlgitops.errors import DataError

    y, base, _ = scored(np.random.default_rng(12), 500)
    y = np.zeros_like(y)
    with pytest.raises(DataError, match="only one class"):
        compare_rows(
            rows_from(y, base, base), pd.DataFrame(index=range(500)), gate=gate(), slices=()
        )


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(60, 1500), slices=st.booleans())
@settings(max_examples=25, deadline=None)
def test_any_model_compared_with_itself_passes_with_p_one_on_every_metric_and_slice(
    seed: int, n: int, slices: bool
) -> None:
    from mlgitops.params import SliceSpec

    rng = np.random.default_rng(seed)
    y, base, _ = scored(rng, n)
    if len(np.unique(y)) < 2:
        y[:2] = [0, 1]
    frame = pd.DataFrame({"group": rng.choice(["a", "b", "c"], size=n)})
    g = gate(metrics=FIVE, resamples=200)
    result = compare_rows(
        rows_from(y, base, base),
        frame,
        gate=g,
        slices=(SliceSpec(column="group"),) if slices else (),
    )
    assert result.passed and result.verdict == "not_worse", result.reason
    judged = [
        m for s in result.slices for m in s.metrics if m.decision not in ("too_small", "undefined")
    ]
    for m in [*result.metrics, *judged]:
        assert m.p_value == 1.0 and m.difference == 0.0 and m.decision == "not_worse"


def test_with_no_real_difference_the_whole_gate_fails_at_most_alpha_of_the_time() -> None:
    """A/A on the full gate: five metrics and four judged slices, margin 0 (the harshest reading).

    "worse" is the union of nine inferiority claims (the five metrics, and accuracy on each of
    the four slices), Holm-corrected together; "better" the union of five superiority claims.
    Both rates must stay at alpha or below, within Monte-Carlo error.
    """
    from mlgitops.params import SliceSpec

    trials, n = 250, 800
    rng = np.random.default_rng(20261201)
    g = GateParams.model_validate(
        {
            **gate(metrics=FIVE, margin=0.0, resamples=200).model_dump(),
            "slices": {"metrics": ("accuracy",), "min_rows": 100},
        }
    )
    worse = better = 0
    for _ in range(trials):
        y, base, cand = scored(rng, n)
        frame = pd.DataFrame({"group": rng.choice(["a", "b", "c", "d"], size=n)})
        result = compare_rows(
            rows_from(y, base, cand), frame, gate=g, slices=(SliceSpec(column="group"),)
        )
        worse += result.verdict == "worse"
        better += result.verdict == "better"
    bound = ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / trials)
    assert worse / trials <= bound, worse
    assert better / trials <= bound, better


def test_bounds_must_match_the_metric_direction() -> None:
    with pytest.raises(ValueError, match="better when lower: give it a ceiling"):
        GateParams.model_validate(
            {
                **gate().model_dump(),
                "metrics": {
                    "log_loss": {
                        "margin": 0.1,
                        "margin_type": "relative",
                        "floor": 0.1,
                        "ceiling": None,
                    }
                },
                "slices": {"metrics": (), "min_rows": 50},
            }
        )


def test_inconclusive_follows_the_policy() -> None:
    y, base, cand = scored(np.random.default_rng(11), 150)
    for policy, expected in (("fail", False), ("pass", True)):
        g = gate(metrics=("accuracy",), margin=0.001, on_inconclusive=policy)
        result = compare_rows(
            rows_from(y, base, cand), pd.DataFrame(index=range(150)), gate=g, slices=()
        )
        assert result.verdict == "inconclusive"
        assert result.passed is expected
        assert any("too small to show accuracy" in w for w in result.warnings)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(20, 2000))
@settings(max_examples=40, deadline=None)
def test_slice_values_computed_without_scikit_learn_agree_with_it(seed: int, n: int) -> None:
    from mlgitops.compare import _metric_values, _row_mean_values

    y, base, cand = scored(np.random.default_rng(seed), n)
    if len(np.unique(y)) < 2:
        y[:2] = [0, 1]
    rows = rows_from(y, base, cand)
    fast = _row_mean_values(rows, ("accuracy", "log_loss", "brier_score_loss"))
    slow = _metric_values(rows)
    for side in (0, 1):
        for name, value in fast[side].items():
            assert value == pytest.approx(slow[side][name], abs=1e-12, rel=1e-12)
