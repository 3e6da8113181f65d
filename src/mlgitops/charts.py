"""Chart data for the reports (pure core), and its rendering as Mermaid for GitHub comments.

The data goes into the JSON documents (``compare.json``, ``drift.json``) so a report can always be
re-rendered from its data; the Mermaid text renders in GitHub comments and job summaries, private
repositories included, without uploading anything to a third-party host.
"""

from __future__ import annotations

from typing import Any

import numpy as np

GRID_POINTS = 21

#: Mermaid's xychart has no legend: a fixed palette lets the caption name each series.
PALETTE = ("#9e9e9e", "#1f6feb", "#d1242f", "#1a7f37")
PALETTE_NAMES = ("grey", "blue", "red", "green")


def roc_chart(y: np.ndarray, scores: dict[str, np.ndarray]) -> dict[str, Any]:
    """True-positive rate at a fixed grid of false-positive rates, per named scorer."""
    from sklearn import metrics as skm  # imported here: the drift report needs no sklearn

    grid = np.linspace(0.0, 1.0, GRID_POINTS)
    series = {}
    for name, score in scores.items():
        fpr, tpr, _ = skm.roc_curve(y, score)
        series[name] = [round(float(v), 4) for v in np.interp(grid, fpr, tpr)]
    return {"x": [round(float(v), 2) for v in grid], "series": series}


def error_curve(errors: dict[str, np.ndarray]) -> dict[str, Any]:
    """Share of rows whose absolute error is at most t, on a common grid of t (REC curve)."""
    top = max(float(np.quantile(np.abs(e), 0.95)) for e in errors.values()) or 1.0
    grid = np.linspace(0.0, top, GRID_POINTS)
    series = {}
    for name, e in errors.items():
        sorted_abs = np.sort(np.abs(e))
        share = np.searchsorted(sorted_abs, grid, side="right") / len(sorted_abs)
        series[name] = [round(float(v), 4) for v in share]
    return {"x": [round(float(v), 4) for v in grid], "series": series}


def confusion(y_true: np.ndarray, y_pred: np.ndarray, labels: list[Any]) -> list[list[int]]:
    """Counts, rows = actual label, columns = predicted label, in ``labels`` order."""
    from sklearn import metrics as skm

    matrix = skm.confusion_matrix(y_true, y_pred, labels=labels)
    return [[int(v) for v in row] for row in matrix]


def _number(v: float) -> str:
    return f"{v:g}"


def mermaid_lines(
    title: str, x_label: str, y_label: str, chart: dict[str, Any], y_range: tuple[float, float]
) -> str:
    """A Mermaid ``xychart-beta`` with one line per series, coloured in :data:`PALETTE` order."""
    palette = ", ".join(PALETTE[: len(chart["series"])])
    lines = [
        "```mermaid",
        f'%%{{init: {{"themeVariables": {{"xyChart": {{"plotColorPalette": "{palette}"}}}}}}}}%%',
        "xychart-beta",
        f'    title "{title}"',
        f'    x-axis "{x_label}" [{", ".join(_number(v) for v in chart["x"])}]',
        f'    y-axis "{y_label}" {_number(y_range[0])} --> {_number(y_range[1])}',
    ]
    lines += [
        f"    line [{', '.join(_number(v) for v in values)}]" for values in chart["series"].values()
    ]
    lines.append("```")
    return "\n".join(lines)


def legend(chart: dict[str, Any]) -> str:
    """The caption that names each series by its colour."""
    return ", ".join(
        f"{colour}: {name}" for colour, name in zip(PALETTE_NAMES, chart["series"], strict=False)
    )
