"""The README's "Starting from data only" project works as written: its dvc.yaml, prepare.py
and train.py (the train-stage contract: describe_model + save_model), the README's own
``mlgitops init`` command, then ``dvc repro``, in a new repository with only data in it.

The files and the command are read out of README.md, so the documentation cannot drift from what
runs. Also: init says to run ``git init`` / ``dvc init`` when they are missing (it does not run
them), and its refusal of a pipeline with no train stage points to that contract.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlgitops.localci.sandbox import ROOT, run, stages_run
from mlgitops.params import load_params
from tests.init.conftest import init

pytestmark = pytest.mark.e2e

SECTION = "## Bring your own data and model"


def _section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    return text[start:end]


def readme_files() -> dict[str, str]:
    """The files the section shows, by the name in the comment above each block."""
    found = re.findall(r"<!-- file: (\S+) -->\n```\w*\n(.*?)```", _section(), flags=re.S)
    return dict(found)


def readme_init_command() -> list[str]:
    block = re.search(r"```sh\n(mlgitops init .*?)```", _section(), flags=re.S)
    assert block, "the section shows no mlgitops init command"
    return shlex.split(block.group(1).replace("\\\n", " "))


def churn_data(rows: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    tenure = rng.integers(0, 72, rows)
    plan = rng.choice(["basic", "plus", "pro"], rows)
    monthly = np.round(rng.normal(50, 15, rows), 2)
    risk = -tenure / 24 + (plan == "basic") + monthly / 50 + rng.normal(0, 0.7, rows)
    return pd.DataFrame(
        {
            "customer_id": np.arange(rows) + 1000,
            "tenure": tenure,
            "plan": plan,
            "monthly": monthly,
            "churned": np.where(risk > 0.5, "yes", "no"),
        }
    )


def _data_only_repo(root: Path) -> Path:
    (root / "data").mkdir(parents=True)
    churn_data().to_csv(root / "data" / "raw.csv", index=False)
    return root


def test_the_readme_train_stage_runs_after_init(tmp_path: Path) -> None:
    repo = _data_only_repo(tmp_path / "churn")
    files = readme_files()
    assert sorted(files) == ["dvc.yaml", "prepare.py", "train.py"]
    for name, text in files.items():
        (repo / name).write_text(text)
    run(repo, "git", "init", "-q", "-b", "main")
    run(repo, "dvc", "init", "-q")
    command = readme_init_command()
    assert command[:2] == ["mlgitops", "init"]
    adopted = run(repo, *command)
    assert "dvc init" not in adopted.stdout  # it is there now
    assert "review: stage train: add" not in adopted.stdout  # the README's stage is complete
    params = load_params(repo / "params.yaml")
    assert (params.data.task, params.data.positive_class) == ("binary", "yes")
    repro = run(repo, "dvc", "repro")
    assert stages_run(repro.stdout) == ["prepare", "validate", "train", "evaluate", "profile"]
    metrics = json.loads((repo / "metrics" / "metrics.json").read_text())
    assert metrics["roc_auc"] > 0.7, metrics  # a real model, learnt from the data
    metadata = json.loads((repo / "models" / "churn.json").read_text())
    assert metadata["positive_class"] == "yes" and metadata["classes"] == ["no", "yes"]
    assert "review:" not in run(repo, "mlgitops", "init").stdout  # a re-run: all in place


def test_without_git_and_dvc_init_says_to_run_them_first(tmp_path: Path) -> None:
    repo = _data_only_repo(tmp_path / "churn")
    for name, text in readme_files().items():
        (repo / name).write_text(text)
    args = readme_init_command()[2:]
    result = init(repo, *args)
    assert result.exit_code == 0, result.output
    assert "next: `git init && dvc init` (there is no .git/ or .dvc/ here yet), then" in (
        result.output
    )
    run(repo, "git", "init", "-q", "-b", "main")
    (repo / "params.yaml").unlink()
    result = init(repo, *args)
    assert "next: `dvc init` (there is no .dvc/ here yet), then" in result.output
    run(repo, "dvc", "init", "-q")
    (repo / "params.yaml").unlink()
    result = init(repo, *args)
    assert "next: review the changes" in result.output


def test_no_train_stage_points_to_the_contract(tmp_path: Path) -> None:
    repo = _data_only_repo(tmp_path / "churn")
    (repo / "dvc.yaml").write_text(readme_files()["dvc.yaml"].split("  train:")[0])
    result = init(repo, *readme_init_command()[2:])
    assert result.exit_code == 2
    assert "no stage in dvc.yaml writes the model models/churn.skops" in result.output
    assert "describe_model and save_model" in result.output
    assert "Bring your own data and model" in result.output
    assert "describe_model" in _section() and "save_model" in _section()
