"""The pull-request check end to end: a real git repository, real DVC, a branch per change.

main is trained and committed; a branch changes one param; ``mlgitops pr --base main`` reproduces
the branch, fetches main's model (from the DVC cache, or by reproducing main in a worktree in a
fresh clone without the cache), compares, and writes the report.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.e2e.sandbox import copy_project, init_repo, run

pytestmark = pytest.mark.e2e


def _set_param(repo: Path, section: str, key: str, value) -> None:
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text())
    params[section][key] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """main with a trained model committed (fewer boosting rounds, to keep the test quick)."""
    repo = copy_project(tmp_path_factory.mktemp("pr") / "project")
    _set_param(repo, "train", "max_iter", 40)
    _set_param(repo, "gate", "bootstrap_resamples", 2000)
    init_repo(repo)
    run(repo, "dvc", "repro")
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-q", "-m", "Train the first model")
    meta = json.loads((repo / "models/model.json").read_text())
    (repo.parent / "main-model-sha256").write_text(meta["model_sha256"])
    return repo


def _pr(repo: Path, branch: str, section: str, key: str, value):
    run(repo, "git", "checkout", "-q", "-B", branch, "main")
    _set_param(repo, section, key, value)
    result = run(repo, "mlgitops", "pr", "--base", "main", check=False)
    doc = json.loads((repo / "reports/compare.json").read_text())
    report = (repo / "reports/pr.md").read_text()
    return result, doc, report


def test_a_deliberately_worse_model_fails(repo: Path) -> None:
    result, doc, report = _pr(repo, "worse", "train", "max_iter", 3)
    assert result.returncode == 1, result.stderr
    assert doc["verdict"] == "worse"
    assert doc["passed"] is False
    assert doc["base"]["source"] == "dvc"
    assert report.startswith("## ❌ Worse than main: ")
    assert "| `train.max_iter` | `40` | `3` |" in report
    accuracy = next(m for m in doc["metrics"] if m["name"] == "accuracy")
    assert accuracy["decision"] in ("worse", "out_of_bounds")
    assert accuracy["ci_high"] < -accuracy["margin"]
    run(repo, "git", "checkout", "-q", "--", ".")


def test_an_equal_model_passes_and_a_rerun_gives_the_identical_report(repo: Path) -> None:
    # A different seed for the boosting's tie-breaking changes nothing real about the model.
    result, doc, report = _pr(repo, "equal", "train", "seed", 1)
    assert result.returncode == 0, result.stdout + result.stderr
    assert doc["verdict"] in ("not_worse", "better")
    assert report.startswith("## ✅ ")
    again = run(repo, "mlgitops", "pr", "--base", "main", "--no-repro", check=False)
    assert again.returncode == 0
    assert (repo / "reports/pr.md").read_text() == report
    run(repo, "git", "checkout", "-q", "--", ".")


def test_a_fresh_clone_without_the_cache_reproduces_main_in_a_worktree(
    repo: Path, tmp_path: Path
) -> None:
    clone = tmp_path / "clone"
    run(tmp_path, "git", "clone", "-q", str(repo), str(clone))
    run(clone, "git", "checkout", "-q", "-B", "feature", "origin/main")
    run(clone, "git", "branch", "-q", "-f", "main", "origin/main")
    _set_param(clone, "train", "learning_rate", 0.09)
    result = run(clone, "mlgitops", "pr", "--base", "main", check=False)
    doc = json.loads((clone / "reports/compare.json").read_text())
    assert doc["base"]["source"] == "reproduced", result.stdout + result.stderr
    assert doc["verdict"] in ("not_worse", "better")
    assert result.returncode == 0
    # The model is byte-for-byte reproducible: the reproduced baseline is main's very model.
    main_sha = (repo.parent / "main-model-sha256").read_text()
    assert doc["base"]["model_sha256"] == main_sha
    assert doc["candidate"]["model_sha256"] != main_sha
    # The temporary worktree is gone again.
    assert len(run(clone, "git", "worktree", "list").stdout.splitlines()) == 1


def test_the_first_model_has_no_baseline(tmp_path: Path) -> None:
    repo = copy_project(tmp_path / "first")
    _set_param(repo, "train", "max_iter", 10)
    init_repo(repo)
    run(repo, "git", "checkout", "-q", "-b", "first-model")
    result = run(repo, "mlgitops", "pr", "--base", "main", check=False)
    doc = json.loads((repo / "reports/compare.json").read_text())
    assert doc["verdict"] == "no_baseline"
    assert result.returncode == 0  # gate.on_no_baseline: pass
    assert (repo / "reports/pr.md").read_text().startswith("## ℹ️ No baseline yet: ")


def test_a_pr_cannot_loosen_the_gate_it_is_judged_by(repo: Path) -> None:
    """A worse model whose PR also widens every margin is still judged by main's gate."""
    run(repo, "git", "checkout", "-q", "-B", "loosen", "main")
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text())
    params["train"]["max_iter"] = 3
    for rule in params["gate"]["metrics"].values():
        rule.update(margin=0.9, margin_type="absolute", floor=None)
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    result = run(repo, "mlgitops", "pr", "--base", "main", check=False)
    doc = json.loads((repo / "reports/compare.json").read_text())
    report = (repo / "reports/pr.md").read_text()
    assert result.returncode == 1, result.stdout + result.stderr
    assert doc["verdict"] in ("worse", "out_of_bounds")
    assert doc["rules"]["from"] == "base"
    assert "gate.metrics.accuracy.margin" in doc["rules"]["changed"]
    note = report.split("> [!IMPORTANT]\n> ", 1)[1].splitlines()[0]
    assert note.startswith("This PR changes ") and "`gate.metrics.accuracy.margin`" in note
    assert note.endswith("it is judged by the gate of main; the new rules apply from the merge on.")
    # Asked for, the PR's own gate is used (to try a new gate on a laptop): it passes.
    own = run(
        repo,
        "mlgitops",
        "pr",
        "--base",
        "main",
        "--no-repro",
        "--gate-from",
        "candidate",
        check=False,
    )
    doc = json.loads((repo / "reports/compare.json").read_text())
    assert own.returncode == 0 and doc["rules"]["from"] == "candidate", own.stdout + own.stderr
    run(repo, "git", "checkout", "-q", "--", ".")
    run(repo, "git", "checkout", "-q", "main")
    run(repo, "dvc", "checkout", "-q")


def test_a_baseline_that_exists_but_cannot_be_fetched_fails_closed(
    repo: Path, tmp_path: Path
) -> None:
    clone = tmp_path / "clone"
    run(tmp_path, "git", "clone", "-q", "--branch", "main", str(repo), str(clone))
    _set_param(clone, "train", "learning_rate", 0.09)
    run(clone, "dvc", "repro", "-q")  # this clone's cache holds its own model, not main's
    result = run(clone, "mlgitops", "compare", "--base", "main", "--no-reproduce", check=False)
    doc = json.loads((clone / "reports/compare.json").read_text())
    assert result.returncode == 1, result.stdout + result.stderr
    assert doc["verdict"] == "baseline_unavailable" and doc["passed"] is False
    assert "not in the DVC cache or remote" in doc["reason"]


def test_a_base_with_a_broken_dvc_lock_is_an_error_not_a_first_model(repo: Path) -> None:
    run(repo, "git", "checkout", "-q", "-B", "broken-base", "main")
    (repo / "dvc.lock").write_text("stages: [unclosed\n")
    run(repo, "git", "commit", "-q", "-am", "Break dvc.lock")
    run(repo, "git", "checkout", "-q", "main")
    result = run(repo, "mlgitops", "compare", "--base", "broken-base", check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "dvc.lock at broken-base" in result.stderr and "not valid YAML" in result.stderr


def test_a_one_class_evaluation_set_is_bad_input(repo: Path) -> None:
    import pandas as pd

    frame = pd.read_parquet(repo / "data/prepared/test.parquet")
    frame[frame["income"] == "<=50K"].to_parquet(repo / "one-class.parquet")
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["paths"]["test"] = "one-class.parquet"
    (repo / "one-class.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        result = run(
            repo,
            "mlgitops",
            "compare",
            "--params",
            "one-class.yaml",
            "--base",
            "main",
            check=False,
        )
    finally:
        (repo / "one-class.parquet").unlink()
        (repo / "one-class.yaml").unlink()
    assert result.returncode == 2, result.stdout + result.stderr
    assert "one-class.parquet: the evaluation set has only one class" in result.stderr
