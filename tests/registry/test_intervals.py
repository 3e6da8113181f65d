"""Metric intervals of the model card: Wilson and DeLong match references, bootstrap is seeded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from statsmodels.stats.proportion import proportion_confint

from mlgitops.intervals import delong_interval, metric_intervals, wilson_interval


@pytest.mark.parametrize(("successes", "n"), [(0, 10), (7, 10), (6_977, 8_140), (10, 10)])
def test_wilson_matches_statsmodels(successes: int, n: int) -> None:
    expected = proportion_confint(successes, n, alpha=0.05, method="wilson")
    assert wilson_interval(successes, n, 0.95) == pytest.approx(expected, abs=1e-12)


def test_delong_interval_is_centred_on_the_auc_and_shrinks_with_rows() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 4000)
    score = y + rng.normal(0, 1.2, 4000)
    low, high = delong_interval(y, score, 0.95)
    auc = roc_auc_score(y, score)
    assert low < auc < high
    assert (low + high) / 2 == pytest.approx(auc, abs=1e-9)
    small_low, small_high = delong_interval(y[:400], score[:400], 0.95)
    assert small_high - small_low > 2 * (high - low)


def _binary(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n) < 0.3, ">50K", "<=50K")
    p = np.clip(0.3 + 0.4 * (y == ">50K") + rng.normal(0, 0.2, n), 0.01, 0.99)
    return pd.DataFrame({"y_true": y, "y_pred": np.where(p > 0.5, ">50K", "<=50K"), "score": p})


def test_every_binary_metric_gets_an_interval_around_its_value_reproducibly() -> None:
    frame = _binary()
    args = {"task": "binary", "positive_class": ">50K", "classes": None, "confidence": 0.95}
    first = metric_intervals(frame, resamples=500, seed=3, **args)
    again = metric_intervals(frame, resamples=500, seed=3, **args)
    other = metric_intervals(frame, resamples=500, seed=4, **args)
    assert [i.name for i in first] == [
        "accuracy",
        "roc_auc",
        "f1_score",
        "log_loss",
        "brier_score_loss",
    ]
    assert first == again
    assert first != other
    for interval in first:
        assert interval.low <= interval.value <= interval.high, interval
        assert interval.high - interval.low < 0.1


def test_bootstrap_coverage_of_a_mean_loss_is_near_nominal() -> None:
    # 120 evaluation sets from one population: the 90% interval of the Brier score should cover
    # the population value about 90% of the time (binomial sd at 120 draws: about 3 points).
    population = _binary(200_000, seed=99)
    truth = float(((population["score"] - (population["y_true"] == ">50K")) ** 2).mean())
    covered = 0
    for seed in range(120):
        sample = population.sample(400, random_state=seed)
        (brier,) = [
            i
            for i in metric_intervals(
                sample,
                task="binary",
                positive_class=">50K",
                classes=None,
                confidence=0.9,
                resamples=300,
                seed=seed,
            )
            if i.name == "brier_score_loss"
        ]
        covered += brier.low <= truth <= brier.high
    assert 0.8 <= covered / 120 <= 0.97


def test_multiclass_and_regression_metrics_get_intervals() -> None:
    rng = np.random.default_rng(5)
    classes = ["a", "b", "c"]
    y = rng.choice(classes, 900)
    proba = rng.dirichlet([1, 1, 1], 900)
    proba[np.arange(900), [classes.index(v) for v in y]] += 1.0
    proba /= proba.sum(axis=1, keepdims=True)
    frame = pd.DataFrame(
        {"y_true": y, "y_pred": np.array(classes)[proba.argmax(axis=1)]}
        | {f"proba_{c}": proba[:, i] for i, c in enumerate(classes)}
    )
    multi = metric_intervals(
        frame,
        task="multiclass",
        positive_class=None,
        classes=classes,
        confidence=0.95,
        resamples=300,
        seed=0,
    )
    assert [i.name for i in multi] == ["accuracy", "f1_score", "log_loss"]
    target = rng.normal(10, 2, 600)
    regression = pd.DataFrame({"y_true": target, "y_pred": target + rng.normal(0, 1, 600)})
    reg = metric_intervals(
        regression,
        task="regression",
        positive_class=None,
        classes=None,
        confidence=0.95,
        resamples=300,
        seed=0,
    )
    assert [i.name for i in reg] == ["mean_absolute_error", "root_mean_squared_error", "r2_score"]
    for interval in (*multi, *reg):
        assert interval.low <= interval.value <= interval.high, interval
