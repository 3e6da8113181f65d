"""What init renders, per task: params the strict loader takes, the task's plots and metrics."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlgitops import scaffold
from mlgitops.errors import ConfigError
from mlgitops.metrics import TASK_METRICS
from mlgitops.params import Params, parse

PLOTS = {
    "binary": ["ROC", "Precision-recall", "Calibration", "Confusion matrix"],
    "multiclass": ["Confusion matrix"],
    "regression": ["Predicted vs actual"],
}


def _settings(task: str, **change) -> scaffold.Settings:
    given = {
        "name": "m",
        "task": task,
        "target": "y",
        "positive_class": "yes" if task == "binary" else scaffold.UNSET,
        "id_column": "id",
    }
    options = scaffold.InitOptions(**(given | change))
    dvc = "stages:\n  train:\n    cmd: t\n    outs: [models/model.skops, models/model.json]\n"
    return scaffold.resolve_settings(
        options, params_text=None, dvc_text=dvc, workflows={}, present=frozenset()
    )


@pytest.mark.parametrize("task", list(TASK_METRICS))
def test_each_task_renders_params_that_load_and_its_own_plots(task: str) -> None:
    settings = _settings(task)
    params = parse(yaml.safe_load(scaffold.render_params(settings)), Params, Path("rendered"))
    assert params.data.task == task
    assert set(params.gate.metrics) <= set(TASK_METRICS[task])
    assert params.gate.slices.metrics == (next(iter(params.gate.metrics)),)
    dvc = yaml.safe_load(scaffold.render_dvc(settings))
    assert [next(iter(p)) for p in dvc["plots"]] == PLOTS[task]
    assert list(dvc["stages"]) == list(scaffold.FRAMEWORK_STAGES)
    assert dvc["artifacts"]["m"]["path"] == "models/model.skops"
    assert "src/mlgitops" not in str(dvc)  # an adopting repository installs the framework


def test_the_workflows_follow_the_settings_and_nothing_else() -> None:
    base = scaffold.render_workflows(_settings("binary"))
    other = scaffold.render_workflows(
        _settings("regression", python_version="3.12", branch="trunk", requirements="req.txt")
    )
    assert base.keys() == other.keys()
    pr = other[".github/workflows/pr.yml"]
    assert 'python-version: "3.12"' in pr and "branches: [trunk]" in pr
    assert "python -m pip install -r req.txt" in pr and "cache-dependency-path: req.txt" in pr
    # The task changes nothing in the workflows: the same files serve every kind of model.
    same = scaffold.render_workflows(_settings("regression"))
    assert same == base


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "Income Model"}, "must be lowercase letters, digits and dashes"),
        ({"branch": "main; rm -rf /"}, "--branch"),
        ({"python_version": "latest"}, "--python"),
        ({"owners": "nobody"}, "--codeowners"),
        ({"paths": {"reports": "my reports"}}, "paths.reports"),
    ],
)
def test_settings_that_would_break_a_rendered_file_are_refused(change, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _settings("binary", **change)
