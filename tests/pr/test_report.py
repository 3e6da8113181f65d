"""The PR report: rendered from compare.json alone, verdict first, every section in its place."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pandas as pd
import pytest

from mlgitops.artifact import load_model
from mlgitops.commands.pr import incompatibility
from mlgitops.compare import Rows, compare_rows
from mlgitops.params import load_params
from mlgitops.prdoc import Side, charts_for, compare_document
from mlgitops.report import render_pr
from mlgitops.scoring import score_frame


@pytest.fixture(scope="module")
def doc(small_project: Path) -> dict:
    """A real compare.json of the small project's model against itself with one row flipped."""
    params = load_params(small_project / "params.yaml")
    model = load_model(small_project / "models/model.skops", small_project / "models/model.json")
    frame = pd.read_parquet(small_project / "data/prepared/test.parquet")
    pred = score_frame(model, frame)
    worse = pred.copy()
    worse.loc[:40, "y_pred"] = worse.loc[:40, "y_true"].map({"<=50K": ">50K", ">50K": "<=50K"})
    rows = Rows(
        task="binary",
        y_true=pred["y_true"].to_numpy(),
        base_pred=pred["y_pred"].to_numpy(),
        cand_pred=worse["y_pred"].to_numpy(),
        base_score=pred["score"].to_numpy(),
        cand_score=pred["score"].to_numpy(),
        positive_class=">50K",
        classes=["<=50K", ">50K"],
    )
    comparison = compare_rows(rows, frame, gate=params.gate, slices=params.evaluate.slices)
    side = Side("main", "main", "a" * 40, "sha256:" + "b" * 64, model.metadata, {})
    cand = Side("this PR", "HEAD", "c" * 40, "sha256:" + "d" * 64, model.metadata, {})
    return compare_document(
        name="income-model",
        task="binary",
        base=side,
        candidate=cand,
        comparison=comparison,
        verdict=comparison.verdict,
        passed=comparison.passed,
        reason=comparison.reason,
        params_changes=[{"key": "train.max_iter", "old": 30, "new": 3, "change": "changed"}],
        data_changes={
            "rows": {
                "candidate": {"test_rows": 750, "train_rows": 2250},
                "base": {"test_rows": 750, "train_rows": 2250},
                "evaluation_rows_in_base_evaluation": 750,
                "evaluation_rows_in_base_training": 0,
            },
            "schema": [],
            "validation": {"ok": True, "violations": 0, "datasets": []},
        },
        charts=charts_for(rows, ("main", "this PR")),
        policy={
            "alpha": 0.05,
            "power": 0.8,
            "on_inconclusive": "fail",
            "on_no_baseline": "pass",
            "on_schema_change": "fail",
            "bootstrap_resamples": 10000,
            "seed": 0,
        },
    )


def test_the_report_starts_with_the_verdict_and_holds_every_section(doc: dict) -> None:
    text = render_pr(json.loads(json.dumps(doc)))  # exactly what compare.json holds
    first = text.splitlines()[0]
    assert first.startswith("## ❌ Worse than main: f1_score is worse by more than its margin")
    for heading in (
        "### Params changed",
        "### Data",
        "### Slices, worst regression first",
        "### Charts",
    ):
        assert heading in text
    assert "| accuracy ↑ |" in text and "| log_loss ↓ |" in text
    assert "| `train.max_iter` | `30` | `3` |" in text
    assert "```mermaid\n%%{init:" in text and "xychart-beta" in text
    assert "<details><summary>Confusion matrices" in text
    assert "<details><summary>dvc.lock hashes</summary>" in text
    assert "The check **fails**" in text


def test_slices_come_worst_first(doc: dict) -> None:
    text = render_pr(doc)
    table = text.split("### Slices, worst regression first")[1].split("###")[0]
    decisions = [
        line.rsplit("|", 2)[-2].strip()
        for line in table.splitlines()
        if line.startswith("| ") and "=" in line
    ]
    order = {
        "❌ worse": 0,
        "❌ out of bounds": 0,
        "⚠️ inconclusive": 1,
        "✅ not worse": 2,
        "🟢 better": 3,
        "· too small": 4,
    }
    ranks = [order[d] for d in decisions]
    assert ranks == sorted(ranks)


def test_rendering_is_a_pure_function_of_the_document(doc: dict) -> None:
    assert render_pr(copy.deepcopy(doc)) == render_pr(doc)


@pytest.mark.parametrize(
    ("verdict", "title"),
    [
        ("better", "## ✅ Better than main: "),
        ("not_worse", "## ✅ Not worse than main: "),
        ("inconclusive", "## ⚠️ Inconclusive against main: "),
        ("out_of_bounds", "## ❌ Out of bounds: "),
        ("missing", "## ❌ Cannot be judged: "),
        ("no_baseline", "## ℹ️ No baseline yet: "),
        ("baseline_unavailable", "## ❌ Baseline unavailable: "),
        ("incomparable", "## ⚠️ Not comparable with main: "),
    ],
)
def test_every_verdict_has_its_title(doc: dict, verdict: str, title: str) -> None:
    other = {**doc, "verdict": verdict}
    assert render_pr(other).startswith(title)


def test_every_verdict_of_the_gate_has_a_title() -> None:
    from mlgitops.compare import VERDICTS
    from mlgitops.report import VERDICT_TITLES

    assert set(VERDICT_TITLES) == set(VERDICTS)


def test_a_pr_that_changes_the_gate_is_told_whose_gate_judged_it(doc: dict) -> None:
    note = "this PR changes `gate.on_inconclusive`: it is judged by the gate of main"
    text = render_pr(
        {**doc, "rules": {"from": "base", "changed": ["gate.on_inconclusive"], "note": note}}
    )
    assert (
        "> [!IMPORTANT]\n"
        "> This PR changes `gate.on_inconclusive`: it is judged by the gate of main." in text
    )
    assert "Judged by the gate of main (`gate` and `evaluate.slices` at `aaaaaaaa`)." in text


def test_a_relative_margin_is_shown_with_its_share_and_a_difference_with_its_level(
    doc: dict,
) -> None:
    text = render_pr(doc)
    row = next(line for line in text.splitlines() if line.startswith("| log_loss ↓ |"))
    assert "(5% of main)" in row
    assert "(90% CI −" in text.splitlines()[0]  # the verdict line writes intervals as the table


def test_a_baseline_that_cannot_score_the_new_rows_is_not_compared(small_project: Path) -> None:
    model = load_model(small_project / "models/model.skops", small_project / "models/model.json")
    frame = pd.read_parquet(small_project / "data/prepared/test.parquet")
    assert incompatibility(model, model, frame) is None
    assert "needs column(s) occupation" in incompatibility(
        model, model, frame.drop(columns=["occupation"])
    )
    retyped = frame.assign(age=frame["age"].astype(str) + " years")
    assert "column age is no longer of the type" in incompatibility(model, model, retyped)


def test_png_charts_replace_the_mermaid_ones_when_asked(doc: dict, tmp_path: Path) -> None:
    from mlgitops.charts_png import render_png

    written = render_png(doc["charts"], tmp_path / "charts")
    assert set(written) == {"roc"}
    png = Path(written["roc"]).read_bytes()
    assert png.startswith(b"\x89PNG")
    assert render_png(doc["charts"], tmp_path / "again")["roc"] and (
        (tmp_path / "again/roc.png").read_bytes() == png
    )
    text = render_pr(doc, {"roc": "charts/roc.png"})
    assert "![ROC curve on the evaluation rows](charts/roc.png)" in text
    assert "xychart-beta" not in text
