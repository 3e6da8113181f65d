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
