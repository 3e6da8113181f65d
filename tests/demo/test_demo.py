"""``make demo``'s steps (:func:`mlgitops.demo.run_demo`), on its smaller settings: the facts its
table reports.

Everything is real: git (a local bare ``origin``), DVC (a local remote), GTO tags, the workflow
files run by the harness, and the server on loopback. GitHub's API is the one thing replaced: the
harness's recording shim (``mlgitops.localci.shim``) plays ``gh`` and ``cml``, so the comment,
the releases and the issue are read back from what it recorded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlgitops.demo import (
    MARKER,
    DemoFailed,
    DemoResult,
    DemoSettings,
    main,
    prepare_sandbox,
    run_demo,
    set_param,
)

NAME = "income-model"
SHIFTED = ["age", "hours_per_week"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, list[str]]:
    said: list[str] = []
    sandbox = tmp_path_factory.mktemp("demo") / "sandbox"
    return run_demo(sandbox, DemoSettings.fast(), say=said.append), said


@pytest.mark.e2e
def test_main_is_v1_0_0_and_the_merge_v1_1_0_in_gto_show(demo) -> None:
    result, _ = demo
    assert result.versions == ["v1.0.0", "v1.1.0"]
    rows = [line for line in result.gto_show.splitlines() if NAME in line]
    assert len(rows) == 2
    newest, oldest = rows  # gto show lists the newest version first
    assert "v1.1.0" in newest and "prod, staging" in newest
    assert "v1.0.0" in oldest and "prod" not in oldest


@pytest.mark.e2e
def test_the_metrics_table_of_main_and_the_diff_between_releases_are_dvcs_own(demo) -> None:
    result, said = demo
    header, row = result.metrics_show.strip().splitlines()[:2]
    for metric in ("accuracy", "roc_auc", "log_loss", "rows"):
        assert metric in header.split()
    assert row.split()[0] == "metrics/metrics.json"
    assert any("accuracy" in line and "roc_auc" in line for line in said)  # printed at step 1
    diff = result.metrics_diff.splitlines()
    assert f"{NAME}@v1.0.0" in diff[0] and f"{NAME}@v1.1.0" in diff[0]
    assert any(line.split()[1:2] == ["accuracy"] for line in diff[1:])


@pytest.mark.e2e
def test_the_watching_server_answers_v1_1_0_after_the_swap(demo) -> None:
    result, _ = demo
    assert result.served_before == "v1.0.0"
    assert result.served_after == "v1.1.0"
    settings = DemoSettings.fast()
    assert result.answered_versions == ["v1.1.0"] * settings.traffic_batches
    assert result.logged_rows == settings.traffic_batches * settings.batch_rows
    version = json.loads((result.sandbox / "out/server/version-after-swap.json").read_text())
    assert version["version"] == "v1.1.0" and version["stage"] == "prod"
    assert version["swaps"] == 1
    log = (result.sandbox / "out" / "server.log").read_text()
    assert "now serving v1.0.0" in log and "now serving v1.1.0 from v1.0.0" in log


@pytest.mark.e2e
def test_the_recorded_comment_is_the_report_and_starts_with_the_verdict(demo) -> None:
    result, _ = demo
    assert result.comment.startswith("## ✅ Not worse than main"), result.comment[:300]
    assert result.comment == (result.sandbox / "out" / "pr" / "pr.md").read_text()
    assert "| `train.learning_rate` | `0.1` | `0.05` |" in result.comment
    recorded = json.loads((result.sandbox / "out/pr/recorded-comment.json").read_text())
    assert recorded["target"] == "pr/1" and recorded["watermark"] == "mlgitops PR check"


@pytest.mark.e2e
def test_the_recorded_drift_issue_names_the_shifted_features(demo) -> None:
    result, _ = demo
    issue = result.issue
    assert issue["title"] == "Drift in 2 of 12 features: age, hours_per_week"
    assert issue["labels"] == ["drift"]
    assert result.drifted_features == SHIFTED == result.shifted_features
    body = issue["body"]
    assert "## ⚠️ Drift in 2 of 12 features: age, hours_per_week" in body
    assert "v1.1.0 (stage `prod`)" in body  # the version the traffic was served by


@pytest.mark.e2e
def test_the_table_lists_every_step_and_its_files_exist(demo) -> None:
    result, said = demo
    assert len(result.steps) == 9
    for step in result.steps:
        assert step.result
        for where in step.where:
            assert (result.sandbox / where).exists(), where
    table = result.table()
    for fact in (f"{NAME}@v1.0.0", f"{NAME}@v1.1.0", "Not worse than main", "age, hours_per_week"):
        assert fact in table
    assert "prod approval simulated" in result.steps[1].result
    assert any("approval simulated" in line for line in said)
    assert table.count("\n") == len(result.steps) + 1  # header, rule, one row a step
    assert "v1.1.0" in result.text_table()


def test_a_second_run_starts_from_a_clean_sandbox(tmp_path: Path) -> None:
    sandbox = prepare_sandbox(tmp_path / "sandbox")
    (sandbox / "left-over").write_text("from the last run")
    again = prepare_sandbox(sandbox)
    assert sorted(p.name for p in again.iterdir()) == [MARKER]


def test_a_directory_that_is_not_a_sandbox_is_refused_loudly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(DemoFailed, match="is not a demo sandbox"):
        prepare_sandbox(tmp_path)
    assert main(["--dir", str(tmp_path)]) == 1
    assert "make demo FAILED" in capsys.readouterr().err
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_set_param_changes_one_value_and_keeps_the_comments(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    text = "# top\ntrain:\n  learning_rate: {}   # step\n  seed: 0\nother:\n  learning_rate: 1\n"
    params.write_text(text.format("0.1"))
    assert set_param(params, "train", "learning_rate", 0.05) == (0.1, 0.05)
    assert params.read_text() == text.format("0.05")
    with pytest.raises(DemoFailed, match="no key 'nope'"):
        set_param(params, "train", "nope", 1)
