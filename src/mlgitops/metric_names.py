"""Metric names and their direction (no dependencies: params validation reads them).

The name says the direction, as in scikit-learn: names ending in ``_score`` and ``accuracy``/
``roc_auc`` are better when higher; names ending in ``_loss`` or ``_error`` are better when lower.
"""

from __future__ import annotations

#: The metrics each task reports (and the gate can test), in report order.
TASK_METRICS: dict[str, tuple[str, ...]] = {
    "binary": ("accuracy", "roc_auc", "f1_score", "log_loss", "brier_score_loss"),
    "multiclass": ("accuracy", "f1_score", "log_loss"),
    "regression": ("mean_absolute_error", "root_mean_squared_error", "r2_score"),
}


def higher_is_better(name: str) -> bool:
    """The direction of a metric, from its name (scikit-learn's convention)."""
    if name.endswith(("_loss", "_error")):
        return False
    if name.endswith("_score") or name in ("accuracy", "roc_auc", "auc", "balanced_accuracy"):
        return True
    raise ValueError(
        f"cannot tell the direction of metric {name!r}: name it *_score (higher is better) "
        "or *_loss / *_error (lower is better)"
    )
