"""The rendered drift report: verdict first, its sections in order, charts, pure re-rendering."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from mlgitops.drift_report import ISSUE_MARKER, render_drift, render_issue
from tests.drift.helpers import invoke, sample, shifted

pytestmark = pytest.mark.filterwarnings("error")

SECTIONS = (
    "### Features, drifted first, then by effect",
    "### Drifted features: training vs batch",
    "### Predictions",
    "### Performance",
    "<details><summary>Test details</summary>",
)


def _run(project: Path, batch: pd.DataFrame) -> tuple[dict, str]:
    path = project / "batch.parquet"
    batch.to_parquet(path, index=False)
    result = invoke("drift", "--current", str(path))
    assert result.exit_code in (0, 1), result.output
    reports = project / "reports"
    return json.loads((reports / "drift.json").read_text()), (reports / "drift.md").read_text()


def _mermaid_blocks(markdown: str) -> list[str]:
    return re.findall(r"```mermaid\n(.*?)```", markdown, flags=re.S)


def test_a_drift_report_puts_the_verdict_first_then_every_section(
    project: Path, production: pd.DataFrame
) -> None:
    doc, markdown = _run(project, shifted(sample(production, 400, seed=1)))
    assert markdown.splitlines()[0] == "## ⚠️ Drift in 2 of 12 features: age, hours_per_week"
    positions = [markdown.index(s) for s in SECTIONS]
    assert positions == sorted(positions)
    # The features table: drifted first, then by effect relative to its threshold.
    rows = [line for line in markdown.splitlines() if line.startswith("| ") and "W/σ" in line]
    assert rows[0].split(" | ")[0].lstrip("| ").startswith(("age", "hours_per_week"))
    table = markdown[markdown.index("### Features") : markdown.index("A feature **drifts**")]
    drifted_rows = [line for line in table.splitlines() if "🔴 drifted" in line]
    assert len(drifted_rows) == 2
    assert "🔑" in table  # key features are marked
    # One chart per drifted feature and per model output, each a bar and a line of equal length.
    blocks = _mermaid_blocks(markdown)
    assert len(blocks) == 2 + len(doc["predictions"]["columns"])
    for block in blocks:
        labels = re.search(r"x-axis \"[^\"]*\" \[(.*)\]", block).group(1).split(", ")
        bar = re.search(r"bar \[(.*)\]", block).group(1).split(", ")
        line = re.search(r"line \[(.*)\]", block).group(1).split(", ")
        assert "xychart-beta" in block and len(labels) == len(bar) == len(line) >= 2
        assert all(float(v) >= 0 for v in bar + line)
    assert "grey: reference (bars), blue: current (line)" in markdown
    assert "**Performance dropped**" in markdown or "No metric is worse" in markdown


def test_a_quiet_report_says_no_drift_first_and_draws_no_feature_chart(
    project: Path, production: pd.DataFrame
) -> None:
    doc, markdown = _run(project, sample(production, 400, seed=2).drop(columns=["income"]))
    assert markdown.splitlines()[0] == "## ✅ No drift"
    assert "### Drifted features" not in markdown
    assert "Not measured: the batch has no labels (no `income` values)." in markdown
    assert doc["verdict"] == "no_drift"


def test_rendering_is_a_pure_function_of_the_document(
    project: Path, production: pd.DataFrame
) -> None:
    doc, markdown = _run(project, shifted(sample(production, 400, seed=3)))
    untouched = copy.deepcopy(doc)
    assert render_drift(doc) == markdown
    assert render_drift(json.loads(json.dumps(doc))) == markdown
    assert doc == untouched
    issue = (project / "reports" / "drift-issue.md").read_text()
    assert issue == render_issue(doc) and issue.startswith(ISSUE_MARKER + "\n## ⚠️ Drift")
    assert len(issue) < 65_536  # what a GitHub issue body holds
    # mlgitops report drift re-renders the same bytes from drift.json.
    (project / "reports" / "drift.md").unlink()
    result = invoke("report", "drift")
    assert result.exit_code == 0, result.output
    assert (project / "reports" / "drift.md").read_text() == markdown


def test_a_broken_document_is_a_clear_error(project: Path) -> None:
    reports = project / "reports"
    reports.mkdir(exist_ok=True)
    (reports / "drift.json").write_text(json.dumps({"schema_version": 1, "verdict": "drift"}))
    result = invoke("report", "drift")
    assert result.exit_code == 2
    assert "cannot be rendered" in result.output and "regenerate it" in result.output


def _row(markdown: str, feature: str) -> list[str]:
    table = markdown[markdown.index("### Features") : markdown.index("A feature **drifts**")]
    line = next(row for row in table.splitlines() if row.startswith(f"| {feature}"))
    return [cell.strip() for cell in line.strip("|").split(" | ")]


def test_a_feature_drifted_by_its_missing_values_says_so_in_its_row(
    project: Path, production: pd.DataFrame
) -> None:
    # 7.5 % new nulls in age, its other values unchanged: the distribution test is quiet
    # (p about 1, W/sigma about 0.02) and the missing-value test fires.
    batch = sample(production, 400, seed=5)
    batch["age"] = batch["age"].astype("float64")
    batch.loc[:29, "age"] = None
    doc, markdown = _run(project, batch)
    age = next(f for f in doc["features"] if f["name"] == "age")
    assert age["drifted"] and age["null_rate"]["fires"] and not age["distribution"]["fires"]
    header = _row(markdown, "feature")
    cells = dict(zip(header, _row(markdown, "age 🔑"), strict=True))
    assert cells["verdict"] == "🔴 drifted"
    assert cells["fired by"].startswith("missing share (p < 0.001, +7.5 pts)"), cells
    assert "distribution" not in cells["fired by"]
    # A feature that drifted through its distribution says that instead.
    _, shifted_md = _run(project, shifted(sample(production, 400, seed=6)))
    cells = dict(zip(header, _row(shifted_md, "hours_per_week"), strict=True))
    assert cells["fired by"] == f"distribution (p < 0.001, {cells['effect']})", cells
    assert dict(zip(header, _row(shifted_md, "race"), strict=True))["fired by"] == "–"


def test_the_predictions_sentence_agrees_with_the_outputs_verdicts(
    project: Path, production: pd.DataFrame
) -> None:
    doc, _ = _run(project, sample(production, 400, seed=7).drop(columns=["income"]))
    pred = doc["predictions"]
    assert not pred["moved"]
    quiet = render_drift(doc)
    assert "The model's predictions did not move." in quiet
    # Outputs that moved significantly but below the effect threshold: "moved, small".
    small = copy.deepcopy(doc)
    for column in small["predictions"]["columns"]:
        column["verdict"] = "small"
    markdown = render_drift(small)
    assert "The model's predictions moved, below the effect threshold." in markdown
    assert "did not move" not in markdown
    moved = copy.deepcopy(doc)
    moved["predictions"]["moved"] = True
    assert "**The model's predictions moved.**" in render_drift(moved)
