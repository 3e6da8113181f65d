"""Markdown reports rendered from their JSON documents with jinja2 (templates in the package).

Rendering is a pure function of the document: the same ``compare.json`` always gives the same
Markdown, byte for byte, so a report can be re-rendered, and a re-run gives an identical comment.
"""

from __future__ import annotations

import math
import re
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


def render_pr(
    doc: dict[str, Any], images: dict[str, str] | None = None, notice: str | None = None
) -> str:
    """The pull-request comment (and job summary) for a ``compare.json`` document.

    Args:
        doc: The compare document.
        images: Chart name -> PNG path (relative to the Markdown file) to show instead of the
            Mermaid version of that chart.
        notice: A caution shown right under the verdict (a fork's report: whose claim it is).
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
        notice=notice,
    )


#: The lines of a failed run's log that the failure report quotes: mlgitops's own error
#: sentences and DVC's ERROR lines (never the whole log, which may hold what a step printed).
_ERROR_LINE = re.compile(r"(^|\s)(error|internal error): |^ERROR: ")
_MAX_ERROR_LINES = 12
_MAX_LINE = 400
_FENCE = "`" * 3


def error_lines(log: str) -> list[str]:
    """The error sentences of a failed step's log, at most a dozen, each at most 400 characters."""
    found: list[str] = []
    for raw in log.splitlines():
        line = raw.strip()
        if _ERROR_LINE.search(line) and line not in found:
            found.append(line if len(line) <= _MAX_LINE else line[: _MAX_LINE - 1] + "…")
    # A fence inside a line would end the code block the lines are quoted in.
    return [line.replace(_FENCE, "'''") for line in found[-_MAX_ERROR_LINES:]]


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _example(example: Any) -> str:
    if isinstance(example, dict):
        where = example.get("row", example.get("id"))
        value = example.get("value")
        return _cell(f"row {where}: {value!r}" if where is not None else repr(value))
    return _cell(example)


def validation_violations(report: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The violated rules of a validation report (reports/validation.json), for a table."""
    rows: list[dict[str, Any]] = []
    for data in (report or {}).get("datasets", []):
        for v in data.get("violations", []):
            examples = ", ".join(_example(e) for e in (v.get("examples") or [])[:3])
            rows.append(
                {
                    "data": _cell(data.get("name", "?")),
                    "column": _cell(v.get("column", "?")),
                    "rule": _cell(v.get("rule", "?")),
                    "expected": _cell(v.get("expected", "?")),
                    "count": v.get("count"),
                    "examples": examples or "–",
                }
            )
    return rows


def render_failure(
    *,
    step: str,
    log: str,
    validation: dict[str, Any] | None,
    base_label: str,
    label: str,
    commit: str | None,
    run_url: str | None,
) -> str:
    """The pull-request comment when the check could not reach a verdict (a step failed)."""
    template = _environment().get_template("pr_failure.md.j2")
    return template.render(
        step=step,
        errors=error_lines(log),
        violations=validation_violations(validation) if validation else [],
        base_label=base_label,
        label=label,
        commit=commit,
        run_url=run_url,
    )
