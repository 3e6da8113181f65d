"""A forge for workflow tests: the example project with its real workflows, main trained.

Fast settings keep each workflow run short: 6,000 rows of the Adult data (4,500 train / 1,500
evaluation), 30 boosting rounds, small bootstraps. The workflows themselves run unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlgitops import datasets
from mlgitops.localci.harness import Forge
from mlgitops.localci.sandbox import run

RAW_ROWS = 6000


def edit_params(repo: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text())
    edit(params)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def set_param(repo: Path, section: str, key: str, value: Any) -> None:
    def edit(params: dict[str, Any]) -> None:
        params[section][key] = value

    edit_params(repo, edit)


def fast_settings(dev: Path) -> None:
    """Small data and small bootstraps; the same pipeline and workflows."""

    def edit(params: dict[str, Any]) -> None:
        params["paths"]["raw"] = "data/raw/adult.csv"
        params["train"]["max_iter"] = 30
        params["gate"]["bootstrap_resamples"] = 300
        # 1,500 evaluation rows leave small slices below the 0.80 floor even for a good model;
        # the paired comparison with main still decides.
        params["gate"]["metrics"]["accuracy"]["floor"] = None
        if "release" in params:
            params["release"]["bootstrap_resamples"] = 200
        if "profile" in params:
            params["profile"]["bootstrap_resamples"] = 100
        if "drift" in params:
            params["drift"]["bootstrap_resamples"] = 100

    edit_params(dev, edit)
    (dev / "data" / "raw").mkdir(parents=True, exist_ok=True)
    datasets.load("adult").head(RAW_ROWS).to_csv(dev / "data" / "raw" / "adult.csv", index=False)
    schema = dev / "data" / "schema.yaml"
    schema.write_text(schema.read_text().replace("min_rows: 1000", "min_rows: 500"))


def trained_forge(root: Path, *, dvc_remote: bool = False) -> Forge:
    """The forge with main's model reproduced and its dvc.lock committed and pushed."""
    forge = Forge.from_project(root, edit=fast_settings)
    if dvc_remote:
        store = root / "dvcstore"
        store.mkdir()
        run(forge.dev, "dvc", "remote", "add", "-d", "store", str(store))
    run(forge.dev, "dvc", "repro", "-q")
    run(forge.dev, "git", "add", "-A")
    run(forge.dev, "git", "commit", "-q", "-m", "Train the first model")
    if dvc_remote:
        run(forge.dev, "dvc", "push", "-q")
    run(forge.dev, "git", "push", "-q", "origin", "main")
    return forge


def commit_on_branch(forge: Forge, branch: str, message: str, edit, base: str = "main") -> str:
    """Create (or move) ``branch`` from ``base`` in the developer clone with one edited commit."""
    run(forge.dev, "git", "checkout", "-q", "-B", branch, base)
    edit(forge.dev)
    run(forge.dev, "git", "commit", "-q", "-am", message)
    return run(forge.dev, "git", "rev-parse", "HEAD").stdout.strip()


@pytest.fixture(scope="session")
def forge(tmp_path_factory: pytest.TempPathFactory) -> Forge:
    """One forge for the workflow tests, with a DVC remote (a local directory) holding main's
    outputs. Each test uses its own branches and PR numbers; the release tests merge into main,
    so they run after the PR tests."""
    return trained_forge(tmp_path_factory.mktemp("forge"), dvc_remote=True)
