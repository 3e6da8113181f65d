"""Markdown reports rendered from their JSON documents with jinja2 (templates in the package).

Rendering is a pure function of the document: the same ``compare.json`` always gives the same
Markdown, byte for byte, so a report can be re-rendered, and a re-run gives an identical comment.
"""

from __future__ import annotations

import math
from typing import Any

import jinja2

from mlgitops.charts import legend, mermaid_lines

VERDICT_TITLES = {
    "better": ("✅", "Better than {base}"),
    "not_worse": ("✅", "Not worse than {base}"),
    "inconclusive": ("⚠️", "Inconclusive against {base}"),
    "worse": ("❌", "Worse than {base}"),
    "out_of_bounds": ("❌", "Out of bounds"),
    "missing": ("❌", "Cannot be judged"),
    "no_baseline": ("ℹ️", "No baseline yet"),
    "baseline_unavailable": ("❌", "Baseline unavailable"),
    "incomparable": ("⚠️", "Not comparable with {base}"),
}

DECISION_LABELS = {
    "better": "🟢 better",
    "not_worse": "✅ not worse",
    "inconclusive": "⚠️ inconclusive",
    "worse": "❌ worse",
    "out_of_bounds": "❌ out of bounds",
    "missing": "❌ missing",
    "too_small": "· too small",
    "undefined": "· undefined",
}

# Worst first, for ordering slices.
DECISION_RANK = {
    "worse": 0,
    "out_of_bounds": 0,
    "missing": 1,
    "inconclusive": 2,
    "not_worse": 3,
    "better": 4,
    "too_small": 5,
    "undefined": 5,
}


def num(value: Any, digits: int = 4) -> str:
    """A number for a table cell; ``–`` when there is none."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return f"{value:.{digits}f}"


def signed(value: Any, digits: int = 4) -> str:
    """A signed difference; the minus sign is a real minus (U+2212) for readability."""
    if value is None:
        return "–"
    text = f"{value:+.{digits}f}"
    return text.replace("-", "−")


def pvalue(value: Any) -> str:
    """A p-value as people read them: 3 significant digits, ``< 0.001`` below that."""
    if value is None:
        return "–"
    if value < 0.001:
        return "< 0.001"
    return f"{value:.3f}"


def percent(value: Any) -> str:
    return "–" if value is None else f"{value:.0%}"


def short(commit: Any) -> str:
    return str(commit)[:8] if commit else "–"


def markdown_environment(
    filters: dict[str, Any] | None = None, globals_: dict[str, Any] | None = None
) -> jinja2.Environment:
    """The jinja2 environment every Markdown report uses: the package's templates, strict
    undefined values, the shared number filters, plus a report's own ``filters`` and globals."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("mlgitops", "templates"),
        autoescape=False,  # Markdown, not HTML; values are numbers and names from our own files
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(num=num, signed=signed, pvalue=pvalue, percent=percent, short=short)
    env.filters.update(filters or {})
    env.globals.update(globals_ or {})
    return env


def percent_fine(value: Any) -> str:
    """A configured share as written: 0.05 -> ``5%``, 0.025 -> ``2.5%``."""
    return "–" if value is None else f"{value * 100:g}%"


def capitalize_first(text: Any) -> str:
    """The first letter upper-case, the rest untouched (names and code spans keep their case)."""
    text = str(text)
    return text[:1].upper() + text[1:]


def _environment() -> jinja2.Environment:
    return markdown_environment(
        {
            "decision": lambda d: DECISION_LABELS.get(d, d),
            "percent_fine": percent_fine,
            "capitalize_first": capitalize_first,
        },
        {"mermaid_lines": mermaid_lines, "legend": legend},
    )


def _slice_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for s in doc.get("slices", []):
        for m in s["metrics"]:
            rows.append({"column": s["column"], "value": s["value"], "rows": s["rows"], **m})

    def key(r: dict[str, Any]) -> tuple[int, float]:
        # Worst regression first: decision rank, then the improvement (negative = regression).
        diff = r.get("difference")
        improvement = 0.0 if diff is None else (diff if r["higher_is_better"] else -diff)
        return DECISION_RANK.get(r["decision"], 9), improvement

    return sorted(rows, key=key)


def render_pr(doc: dict[str, Any], images: dict[str, str] | None = None) -> str:
    """The pull-request comment (and job summary) for a ``compare.json`` document.

    Args:
        doc: The compare document.
        images: Chart name -> PNG path (relative to the Markdown file) to show instead of the
            Mermaid version of that chart.
    """
    icon, title = VERDICT_TITLES[doc["verdict"]]
    base_label = doc["base"]["label"]
    template = _environment().get_template("pr_report.md.j2")
    return template.render(
        doc=doc,
        icon=icon,
        title=title.format(base=base_label),
        slice_rows=_slice_rows(doc),
        images=images or {},
    )
