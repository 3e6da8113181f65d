"""dvc.yaml agrees with params.yaml and with the code it runs.

Stages name their files as ``${paths.*}``. The top-level ``plots:`` and ``artifacts:`` hold literal
paths, because ``mlgitops init`` renders them that way into a user's dvc.yaml (and
``tests/init/test_this_repo.py`` holds this one to that rendering). So this test checks that those
literals are exactly the ``paths`` section's values, that the plot files are the ones the evaluate
stage writes, that every ``${paths.*}`` names a key that exists, and that a stage running a script
that imports mlgitops depends on the framework's source.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import yaml

from mlgitops.evaluate import binary_plots
from mlgitops.params import load_params

ROOT = Path(__file__).resolve().parents[2]


def _dvc() -> dict:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))


def _plot_files(dvc: dict) -> list[str]:
    files = []
    for item in dvc["plots"]:
        ((_, spec),) = item.items()
        files += list(spec["y"])
    return files


def test_the_plots_are_the_files_evaluate_writes_under_paths_plots() -> None:
    params = load_params(ROOT / "params.yaml")
    assert params.data.task == "binary"
    y = np.array([0, 1, 0, 1])
    labels = np.array(["<=50K", ">50K", "<=50K", ">50K"])
    written = binary_plots(y, np.array([0.1, 0.8, 0.4, 0.6]), labels, labels, params.evaluate)
    expected = {f"{params.paths.plots.rstrip('/')}/{name}.json" for name in written}
    assert sorted(_plot_files(_dvc())) == sorted(expected)


def test_the_artifact_is_the_model_at_paths_model() -> None:
    params = load_params(ROOT / "params.yaml")
    artifact = _dvc()["artifacts"][params.model.name]
    assert (artifact["path"], artifact["type"]) == (params.paths.model, "model")


def test_every_interpolated_path_is_a_key_of_the_paths_section() -> None:
    params = load_params(ROOT / "params.yaml")
    text = (ROOT / "dvc.yaml").read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{paths\.(\w+)\}", text))
    assert used
    assert used <= set(params.paths.model_dump())


def _imports_mlgitops(script: Path) -> bool:
    tree = ast.parse(script.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(
            a.name.split(".")[0] == "mlgitops" for a in node.names
        ):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "mlgitops":
            return True
    return False


def test_a_stage_whose_code_imports_mlgitops_depends_on_its_source() -> None:
    # Before: prepare imported mlgitops (params, fsio, errors) without listing src/mlgitops, so
    # a framework change that alters the split would not have re-run it.
    stages = _dvc()["stages"]
    checked = []
    for name, stage in stages.items():
        scripts = re.findall(r"python -m (pipelines\.\w+)", stage["cmd"])
        runs_framework = stage["cmd"].lstrip().startswith("mlgitops ")
        imports = any(_imports_mlgitops(ROOT / (s.replace(".", "/") + ".py")) for s in scripts)
        if runs_framework or imports:
            checked.append(name)
            assert "src/mlgitops" in stage["deps"], name
    assert {"prepare", "train", "validate", "evaluate", "profile"} <= set(checked)
