"""Metrics: in range, agree with scikit-learn, direction from the name, one class refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlgitops.errors import DataError
from mlgitops.metrics import TASK_METRICS, compute_metrics, higher_is_better


@st.composite
def binary_predictions(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(2, 200))
    y = draw(st.lists(st.booleans(), min_size=n, max_size=n).filter(lambda v: 0 < sum(v) < len(v)))
    score = draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n))
    labels = np.where(np.array(y), "pos", "neg")
    return pd.DataFrame(
        {"y_true": labels, "score": score, "y_pred": np.where(np.array(score) >= 0.5, "pos", "neg")}
    )


@given(binary_predictions())
@settings(max_examples=100, deadline=None)
def test_binary_metrics_stay_in_range(predictions: pd.DataFrame) -> None:
    m = compute_metrics(predictions, task="binary", positive_class="pos")
    assert list(m) == list(TASK_METRICS["binary"])
    for name in ("accuracy", "roc_auc", "f1_score", "brier_score_loss"):
        assert 0.0 <= m[name] <= 1.0
    assert m["log_loss"] >= 0.0


@given(st.lists(st.tuples(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6)), min_size=2, max_size=100))
@settings(max_examples=100, deadline=None)
def test_regression_metrics_stay_in_range(pairs: list[tuple[float, float]]) -> None:
    frame = pd.DataFrame(pairs, columns=["y_true", "y_pred"])
    m = compute_metrics(frame, task="regression")
    assert m["mean_absolute_error"] >= 0
    assert m["root_mean_squared_error"] >= m["mean_absolute_error"] - 1e-6 * (
        1 + m["mean_absolute_error"]
    )
    assert m["r2_score"] <= 1.0


def test_multiclass_metrics() -> None:
    frame = pd.DataFrame(
        {
            "y_true": ["a", "b", "c", "a"],
            "y_pred": ["a", "b", "b", "a"],
            "proba_a": [0.8, 0.1, 0.1, 0.6],
            "proba_b": [0.1, 0.8, 0.6, 0.2],
            "proba_c": [0.1, 0.1, 0.3, 0.2],
        }
    )
    m = compute_metrics(frame, task="multiclass", classes=["a", "b", "c"])
    assert m["accuracy"] == 0.75
    assert 0 < m["f1_score"] < 1


def test_one_class_is_a_clear_error() -> None:
    frame = pd.DataFrame({"y_true": ["a", "a"], "y_pred": ["a", "a"], "score": [0.2, 0.3]})
    with pytest.raises(DataError, match=r"only one class \('a'\)"):
        compute_metrics(frame, task="binary", positive_class="a")


@pytest.mark.parametrize(
    ("name", "up"),
    [
        ("accuracy", True),
        ("roc_auc", True),
        ("f1_score", True),
        ("r2_score", True),
        ("log_loss", False),
        ("brier_score_loss", False),
        ("mean_absolute_error", False),
        ("root_mean_squared_error", False),
    ],
)
def test_direction_follows_the_name(name: str, up: bool) -> None:
    assert higher_is_better(name) is up


def test_a_name_without_a_direction_is_refused() -> None:
    with pytest.raises(ValueError, match="name it \\*_score"):
        higher_is_better("goodness")
