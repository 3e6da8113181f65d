"""The drift report: ``drift.md`` rendered from ``drift.json`` alone (jinja2, Mermaid charts).

Rendering is a pure function of the document, as for the PR report: the same ``drift.json``
always gives the same Markdown, so the issue body can be re-rendered and a re-run posts the same
text. Charts are Mermaid ``xychart-beta`` blocks (they render in GitHub issues, private
repositories included): the reference as grey bars, the current batch as a blue line, coloured
with :data:`mlgitops.charts.PALETTE` and named in a caption, since xychart has no legend.
"""

from __future__ import annotations

import math
from typing import Any

import jinja2

from mlgitops.charts import PALETTE, legend
from mlgitops.report import markdown_environment, pvalue

STATUS_NOTES = {
    "ok": "tested",
    "all_null_reference": "every training value is missing: nothing to compare with",
    "all_null_current": "every value in the batch is missing",
    "too_few_rows": "too few non-missing rows to test",
    "constant_reference": "constant in training: any other value is a change of kind",
    "constant_current": "one value only in the batch, where training varied",
    "new_nulls": "missing values that training never had",
    "unseen_categories": "categories that training never had",
}

VERDICT_LABELS = {
    "drifted": "🔴 drifted",
    "small": "🟡 moved, small",
    "stable": "🟢 stable",
    "not_tested": "⚪ not tested",
}

EFFECT_LABELS = {"wasserstein_normalized": "W/σ", "cohens_w": "w", "js_distance": "JS"}

#: Issue bodies hold at most 65,536 characters; the marker lets a workflow find its own issue.
ISSUE_MARKER = "<!-- mlgitops drift report -->"


def _axis_number(value: float) -> str:
    return f"{value:g}"


def mermaid_bars(title: str, x_label: str, y_label: str, chart: dict[str, Any]) -> str:
    """A Mermaid ``xychart-beta``: the first series as bars, the others as lines.

    Args:
        title: The chart's title.
        x_label: The x axis' title; ``chart["x"]`` are its category labels.
        y_label: The y axis' title.
        chart: ``{"x": [labels], "series": {name: [values]}}``.
    """
    series = list(chart["series"].values())
    top = max((v for values in series for v in values), default=1.0)
    top = max(1.0, math.ceil(top * 1.1))
    palette = ", ".join(PALETTE[: len(series)])
    labels = ", ".join(f'"{label}"' for label in chart["x"])
    lines = [
        "```mermaid",
        f'%%{{init: {{"themeVariables": {{"xyChart": {{"plotColorPalette": "{palette}"}}}}}}}}%%',
        "xychart-beta",
        f'    title "{title}"',
        f'    x-axis "{x_label}" [{labels}]',
        f'    y-axis "{y_label}" 0 --> {_axis_number(top)}',
    ]
    for i, values in enumerate(series):
        kind = "bar" if i == 0 else "line"
        lines.append(f"    {kind} [{', '.join(_axis_number(v) for v in values)}]")
    lines.append("```")
    return "\n".join(lines)


def chart_legend(chart: dict[str, Any]) -> str:
    """The caption naming each series by colour and mark (bars, then lines)."""
    names = legend(chart).split(", ")
    return ", ".join(f"{name} ({'bars' if i == 0 else 'line'})" for i, name in enumerate(names))


def _effect(entry: dict[str, Any]) -> str:
    effect = entry["distribution"]["effect"]
    if effect is None:
        return "–"
    return f"{effect:.3f}"


def fired_by(entry: dict[str, Any]) -> str:
    """What made a feature drift: each test that fired, with its corrected p-value and effect.

    The table's p and effect columns are the distribution test's; a feature can drift through
    its missing-value test alone (new nulls), and this says so.
    """
    parts = []
    distribution = entry["distribution"]
    if distribution["fires"]:
        effect = distribution["effect"]
        size = (
            "constant in training"
            if effect is None
            else f"{effect:.3f} {EFFECT_LABELS.get(entry['effect_name'], entry['effect_name'])}"
        )
        parts.append(f"distribution (p {pvalue(distribution['p_adjusted'])}, {size})")
    null = entry.get("null_rate")
    if null and null["fires"]:
        change = (entry["null_share_current"] or 0.0) - (entry["null_share_reference"] or 0.0)
        points = f"{change * 100:+.1f} pts".replace("-", "\u2212")
        parts.append(f"missing share (p {pvalue(null['p_adjusted'])}, {points})")
    return "; ".join(parts) or "–"


def predictions_sentence(predictions: dict[str, Any]) -> str:
    """The predictions section's first sentence, in agreement with its outputs' verdicts."""
    if predictions.get("moved"):
        return "**The model's predictions moved.**"
    if any(c["verdict"] == "small" for c in predictions.get("columns", [])):
        return "The model's predictions moved, below the effect threshold."
    return "The model's predictions did not move."


def share(value: Any) -> str:
    """A share as a percentage with one decimal (missing values, category shares)."""
    return "–" if value is None else f"{value:.1%}"


def _environment() -> jinja2.Environment:
    # The PR report's environment and number filters, plus the drift report's own.
    return markdown_environment(
        {
            "share": share,
            "verdict_label": lambda v: VERDICT_LABELS.get(v, v),
            "status_note": lambda s: STATUS_NOTES.get(s, s),
            "effect": _effect,
            "effect_label": lambda name: EFFECT_LABELS.get(name, name),
            "fired_by": fired_by,
            "predictions_sentence": predictions_sentence,
        },
        {"mermaid_bars": mermaid_bars, "chart_legend": chart_legend},
    )


def render_drift(doc: dict[str, Any]) -> str:
    """The drift report (job summary and issue body) for a ``drift.json`` document."""
    template = _environment().get_template("drift_report.md.j2")
    alarm = doc.get("alarm", doc["verdict"] == "drift")  # schema 1 had no "alarm"
    return template.render(doc=doc, drift=alarm)


def render_issue(doc: dict[str, Any]) -> str:
    """The issue body: the report with a marker that names its origin."""
    return f"{ISSUE_MARKER}\n{render_drift(doc)}"
