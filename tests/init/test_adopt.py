"""Adopting the framework in a repository that is not ours, with another task, end to end.

A regression model on scikit-learn's diabetes data, with its own prepare and train code, dvc.yaml
and params.yaml: ``mlgitops init``, then the user's loop: ``dvc repro``, commit on main, a branch
that changes a param, and the pull-request check on it (``mlgitops pr --base main``), which must
judge the regression metrics and draw the error curve. The rendered files pass the checks this
project holds its own to: the strict params loader, DVC, the workflow lint (actionlint and
shellcheck), ``zizmor --offline`` and the workflow policy test.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

import tests.workflows.test_workflow_policy as policy
from mlgitops.localci.harness import load_workflow
from mlgitops.localci.sandbox import BIN, ROOT, run
from mlgitops.params import load_params
from mlgitops.scaffold import WORKFLOWS
from tests.init.test_this_repo import PRIVILEGED, codeowners, owned_by

pytestmark = pytest.mark.e2e

VERDICTS = ("✅ Better", "✅ Not worse", "⚠️ Inconclusive", "❌ Worse")


def test_the_pr_check_runs_in_the_adopted_repository(adopted: Path) -> None:
    params = load_params(adopted / "params.yaml")  # the strict loader takes what init wrote
    assert (params.data.task, params.model.name) == ("regression", "diabetes-model")
    assert set(params.gate.metrics) == {
        "mean_absolute_error",
        "root_mean_squared_error",
        "r2_score",
    }
    repro = run(adopted, "dvc", "repro")
    for stage in ("prepare", "validate", "train", "evaluate", "profile"):
        assert f"Running stage '{stage}'" in repro.stdout
    listed = run(adopted, "dvc", "stage", "list").stdout
    assert all(stage in listed for stage in ("validate", "evaluate", "profile"))
    metrics = json.loads((adopted / "metrics/metrics.json").read_text())
    assert set(metrics) == {"rows", "mean_absolute_error", "root_mean_squared_error", "r2_score"}
    assert (adopted / "metrics/plots/predicted_vs_actual.json").is_file()
    run(adopted, "git", "add", "-A")
    run(adopted, "git", "commit", "-q", "-m", "Adopt mlgitops")

    run(adopted, "git", "switch", "-q", "-c", "stronger-penalty")
    params_file = adopted / "params.yaml"
    text = params_file.read_text()
    assert text.count("alpha: 1.0 ") == 1
    params_file.write_text(text.replace("alpha: 1.0 ", "alpha: 30.0"))
    run(adopted, "git", "commit", "-q", "-am", "A stronger ridge penalty")
    check = run(adopted, "mlgitops", "pr", "--base", "main", check=False)
    assert check.returncode in (0, 1), check.stdout + check.stderr

    report = (adopted / "reports/pr.md").read_text()
    first = report.splitlines()[0]
    assert first.startswith("## ") and any(v in first for v in VERDICTS), first
    for metric in ("mean_absolute_error", "root_mean_squared_error", "r2_score"):
        assert f"| {metric} " in report
    assert "`train.alpha` | `1.0` | `30.0`" in report
    assert "Share of rows within an absolute error" in report  # the error-curve chart
    compare = json.loads((adopted / "reports/compare.json").read_text())
    assert compare["task"] == "regression"
    assert compare["verdict"] in ("better", "not_worse", "inconclusive", "worse")
    assert set(compare["charts"]) == {"error_curve"}
    assert check.returncode == (0 if compare["passed"] else 1)


def test_the_rendered_workflows_pass_the_lint_zizmor_and_the_policy(adopted: Path) -> None:
    workflows = adopted / ".github" / "workflows"
    assert sorted(p.name for p in workflows.iterdir()) == sorted(WORKFLOWS)
    lint = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "lint_workflows.py"), str(workflows)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    zizmor = subprocess.run(
        [str(BIN / "zizmor"), "--offline", "--no-progress", "-q", str(workflows)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert zizmor.returncode == 0, zizmor.stdout + zizmor.stderr
    checks = [
        f
        for name, f in vars(policy).items()
        if name.startswith("test_") and list(inspect.signature(f).parameters) == ["workflow"]
    ]
    assert len(checks) >= 7
    for path in sorted(workflows.iterdir()):
        for check in checks:
            check((path, load_workflow(path)))
    owned = codeowners(adopted / ".github/CODEOWNERS")
    # What the privileged release job runs: the workflows, what it installs, what `dvc repro
    # --pull` runs (the stage code, dvc.yaml, params.yaml) and the outputs dvc.lock records.
    for path in (*PRIVILEGED, "stages/train.py", "stages/prepare.py", "stages/helpers.py"):
        assert owned_by(owned, path) == ["@diabetes/ml-team"], path
    assert owned_by(owned, "data/diabetes.csv") == []  # data is not code
    # The workflows install what the adopting repository needs, not this project's package.
    pr = (workflows / "pr.yml").read_text()
    assert "python -m pip install -r requirements.txt" in pr
    assert "cache-dependency-path: requirements.txt" in pr
