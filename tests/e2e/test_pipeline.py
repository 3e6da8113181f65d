"""The example pipeline in a real git repository with real DVC."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.e2e.sandbox import copy_project, init_repo, run, stages_run

pytestmark = pytest.mark.e2e


def test_repro_runs_everything_then_nothing_then_only_what_a_param_touches(tmp_path: Path) -> None:
    repo = init_repo(copy_project(tmp_path / "project"))

    first = run(repo, "dvc", "repro")
    assert stages_run(first.stdout) == ["prepare", "validate", "train", "evaluate", "profile"]
    metrics = json.loads((repo / "metrics/metrics.json").read_text())
    assert metrics["rows"] == 8140
    assert 0.85 < metrics["accuracy"] < 0.9

    second = run(repo, "dvc", "repro")
    assert stages_run(second.stdout) == []
    assert "Data and pipelines are up to date" in second.stdout
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-q", "-m", "Reproduce")

    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["train"]["learning_rate"] = 0.05
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    third = run(repo, "dvc", "repro")
    assert stages_run(third.stdout) == ["train", "evaluate", "profile"]

    # DVC's own tools see what changed, as a DVC user expects.
    diff = run(repo, "dvc", "params", "diff", "--json")
    changed = json.loads(diff.stdout)["params.yaml"]["train.learning_rate"]
    assert (changed["old"], changed["new"]) == (0.1, 0.05)
    shown = run(repo, "dvc", "metrics", "show", "--json")
    assert "accuracy" in shown.stdout
    assert "metrics/metrics.json" in run(repo, "dvc", "metrics", "diff").stdout
    run(repo, "dvc", "plots", "show", "-o", str(tmp_path / "plots"))
    assert (tmp_path / "plots" / "index.html").is_file()


def test_bad_data_stops_the_pipeline_before_training(tmp_path: Path) -> None:
    repo = init_repo(copy_project(tmp_path / "project"))
    schema = (repo / "data/schema.yaml").read_text().replace("max: 100\n", "max: 60\n", 1)
    (repo / "data/schema.yaml").write_text(schema)
    result = run(repo, "dvc", "repro", check=False)
    assert result.returncode != 0
    assert stages_run(result.stdout) == ["prepare", "validate"]
    assert "column age: range (expected values in 17..60)" in result.stderr + result.stdout
    assert not (repo / "models/model.skops").exists()
