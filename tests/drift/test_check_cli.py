"""The issue's done-when, through the real CLI on real data.

A batch without drift exits 0 and writes no issue body; a batch with two injected shifts (age + 10
years, hours per week x 1.3) exits 1 and names exactly those two features; malformed batches
(missing column, wrong type, empty) exit 2 with a sentence naming the problem, and leave no
report behind.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.drift.helpers import invoke, sample, shifted

pytestmark = pytest.mark.filterwarnings("error")


def _write(frame: pd.DataFrame, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path, index=False)
    return str(path)


def _doc(project: Path) -> dict:
    return json.loads((project / "reports" / "drift.json").read_text())


def test_a_batch_without_drift_exits_0_and_writes_no_issue_body(
    project: Path, production: pd.DataFrame
) -> None:
    batch = sample(production, 500, seed=1).drop(columns=["income"])
    current = _write(batch, project / "batch" / "ok.parquet")
    stale = project / "reports" / "drift-issue.md"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text("an alarm from an earlier run")
    outputs = project / "github_output.txt"

    result = invoke("drift", "--current", current, "--outputs", str(outputs))

    assert result.exit_code == 0, result.output
    assert "drift: No drift" in result.output
    doc = _doc(project)
    assert doc["schema_version"] == 2
    assert doc["verdict"] == "no_drift" and doc["decision"]["drifted"] == []
    assert not stale.exists()  # no issue body, and none left from before
    markdown = (project / "reports" / "drift.md").read_text()
    assert markdown.startswith("## ✅ No drift\n")
    lines = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    assert lines["drifted"] == "false" and lines["issue"] == "" and lines["retrain"] == "false"
    # The batch had no outputs: the model scored it, and its predictions did not move.
    assert doc["predictions"]["source"] == "scored"
    assert doc["predictions"]["moved"] is False
    assert doc["performance"]["status"] == "no_labels"


def test_a_shift_in_two_features_exits_1_and_names_exactly_them(
    project: Path, production: pd.DataFrame
) -> None:
    batch = shifted(sample(production, 500, seed=2))
    current = _write(batch, project / "batch" / "shifted.csv")
    outputs = project / "github_output.txt"

    result = invoke("drift", "--current", current, "--outputs", str(outputs))

    assert result.exit_code == 1, result.output
    headline = "Drift in 2 of 12 features: age, hours_per_week"
    assert f"drift: {headline}" in result.output
    doc = _doc(project)
    assert doc["verdict"] == "drift"
    assert doc["headline"] == headline
    assert doc["decision"]["drifted"] == ["age", "hours_per_week"]
    drifted = [f["name"] for f in doc["features"] if f["drifted"]]
    assert sorted(drifted) == ["age", "hours_per_week"]
    assert [f["name"] for f in doc["features"][:2]] == drifted  # drifted first
    issue = (project / "reports" / "drift-issue.md").read_text()
    assert f"## ⚠️ {headline}" in issue.splitlines()[1]
    lines = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    assert lines["drifted"] == "true"
    assert lines["features"] == "age,hours_per_week"
    assert lines["issue"].endswith("drift-issue.md")
    # Labels came with the batch: performance is measured against the training-time metrics.
    assert doc["performance"]["status"] in ("ok", "dropped")
    assert {m["name"] for m in doc["performance"]["metrics"]} >= {"accuracy", "roc_auc"}


def test_retraining_is_asked_for_only_with_a_command(
    project: Path, production: pd.DataFrame
) -> None:
    current = _write(shifted(sample(production, 300, seed=3)), project / "b.parquet")
    outputs = project / "out.txt"
    result = invoke("drift", "--current", current, "--retrain", "--outputs", str(outputs))
    assert result.exit_code == 1
    assert "drift.retrain.command is empty" in result.output
    assert "retrain=false" in outputs.read_text()


def _reports(project: Path) -> set[str]:
    folder = project / "reports"
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


@pytest.mark.parametrize(
    ("break_it", "suffix", "expected"),
    [
        (
            lambda f: f.drop(columns=["hours_per_week", "race"]),
            ".parquet",
            "lacks the model's input column(s) hours_per_week, race",
        ),
        (
            lambda f: f.assign(age=["forty"] * 5 + [str(a) for a in f["age"][5:]]),
            ".jsonl",
            "column age: dtype (expected integer values): 5 rows (e.g. 'forty')",
        ),
        (
            lambda f: f.assign(sex=1),
            ".csv",
            "column sex: dtype (expected category values)",
        ),
        (lambda f: f.head(0), ".parquet", "has no rows"),
        (lambda f: f.head(0), ".csv", "has no rows"),
        (lambda f: f.head(20), ".csv", "has 20 row(s), fewer than drift.min_rows (100)"),
    ],
    ids=["missing-columns", "wrong-type-text", "wrong-type-number", "empty", "header-only", "few"],
)
def test_malformed_batches_exit_2_with_a_clear_message_and_no_report(
    project: Path, production: pd.DataFrame, break_it, suffix: str, expected: str
) -> None:
    batch = break_it(sample(production, 200, seed=4))
    current = _write(batch, project / "batch" / f"bad{suffix}")
    before = _reports(project)
    result = invoke("drift", "--current", current)
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert result.output.startswith("mlgitops drift: error: ")
    assert len(result.output.strip().splitlines()) == 1  # one sentence, no traceback
    assert _reports(project) == before


def test_an_empty_file_and_a_glob_that_matches_nothing_exit_2(project: Path) -> None:
    empty = project / "batch" / "empty.parquet"
    empty.parent.mkdir(parents=True)
    empty.write_bytes(b"")
    result = invoke("drift", "--current", str(empty))
    assert result.exit_code == 2 and "is empty (0 bytes)" in result.output
    result = invoke("drift", "--current", str(project / "batch" / "day-*.parquet"))
    assert result.exit_code == 2 and "matches no file" in result.output


def test_a_glob_of_daily_files_is_one_batch(project: Path, production: pd.DataFrame) -> None:
    for day in range(3):
        _write(sample(production, 100, seed=10 + day), project / "daily" / f"day-{day}.parquet")
    result = invoke("drift", "--current", str(project / "daily" / "day-*.parquet"))
    assert result.exit_code == 0, result.output
    doc = _doc(project)
    assert doc["batch"]["rows"] == 300 and doc["batch"]["file_count"] == 3


def test_the_default_source_is_drift_source_path(project: Path, production: pd.DataFrame) -> None:
    result = invoke("drift")
    assert result.exit_code == 2
    assert "the drift source data/production/predictions.parquet does not exist" in result.output
    _write(sample(production, 200, seed=5), project / "data" / "production" / "predictions.parquet")
    assert invoke("drift").exit_code == 0


def _flip_labels(frame: pd.DataFrame, share: float, seed: int) -> pd.DataFrame:
    out = frame.copy()
    rows = np.random.default_rng(seed).random(len(out)) < share
    out.loc[rows, "income"] = np.where(out.loc[rows, "income"] == ">50K", "<=50K", ">50K")
    return out


def _set_drift_param(project: Path, key: str, value: object) -> None:
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["drift"][key] = value
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def test_a_performance_drop_alone_raises_the_alarm(project: Path, production: pd.DataFrame) -> None:
    # No feature moved (a sample of production rows), but 30 % of the labels are flipped: the
    # model's accuracy on the batch falls far below its training-time accuracy.
    batch = _flip_labels(sample(production, 1_000, seed=11), 0.30, seed=11)
    current = _write(batch, project / "batch" / "flipped.parquet")
    outputs = project / "github_output.txt"

    result = invoke("drift", "--current", current, "--outputs", str(outputs))

    assert result.exit_code == 1, result.output
    doc = _doc(project)
    assert doc["decision"]["drifted"] == []  # the features did not move
    assert doc["verdict"] == "performance_drop"
    assert doc["alarm"] is True and doc["alarms"] == ["performance"]
    perf = doc["performance"]
    assert perf["status"] == "dropped" and perf["alarm"] and "accuracy" in perf["dropped"]
    accuracy = next(m for m in perf["metrics"] if m["name"] == "accuracy")
    assert accuracy["difference"] < -0.15 and accuracy["high"] < 0
    headline = doc["headline"]
    assert headline.startswith(
        f"Performance dropped: accuracy {accuracy['reference']:.3f} → {accuracy['current']:.3f} "
        f"(−{-accuracy['difference']:.3f}, 95% CI −"
    ), headline
    assert f"drift: {headline}" in result.output
    issue = (project / "reports" / "drift-issue.md").read_text()
    assert issue.splitlines()[1] == f"## ⚠️ {headline}"
    lines = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    assert lines["alarm"] == "true" and lines["drifted"] == "false"
    assert lines["verdict"] == "performance_drop" and lines["issue"].endswith("drift-issue.md")

    # drift.performance_alarm: false reports the drop and stays quiet.
    _set_drift_param(project, "performance_alarm", False)
    quiet = invoke("drift", "--current", current, "--outputs", str(outputs))
    assert quiet.exit_code == 0, quiet.output
    doc = _doc(project)
    assert doc["verdict"] == "no_drift" and doc["alarm"] is False
    assert doc["headline"] == "No drift"
    assert doc["performance"]["status"] == "dropped" and not doc["performance"]["alarm"]
    assert any("drift.performance_alarm is off" in r for r in doc["decision"]["reasons"])
    assert not (project / "reports" / "drift-issue.md").exists()


def test_labels_without_a_change_raise_no_alarm(project: Path, production: pd.DataFrame) -> None:
    current = _write(sample(production, 1_000, seed=12), project / "batch" / "labelled.parquet")
    result = invoke("drift", "--current", current)
    assert result.exit_code == 0, result.output
    doc = _doc(project)
    assert doc["performance"]["status"] == "ok" and doc["verdict"] == "no_drift"
    assert doc["performance"]["simultaneous_over"] == len(doc["performance"]["metrics"]) == 5
