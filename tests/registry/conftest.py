"""A small world for release and deploy tests: a developer repository, a bare origin, a DVC remote.

The example pipeline is reproduced once per session (with fast training settings) on four
commits, and every test gets a copy of that world:

- ``base``: main, the example project reproduced (model A);
- ``change``: base + ``train.learning_rate: 0.2`` (model B), on branch ``change``;
- ``other``: base + ``train.learning_rate: 0.05`` (model C), on branch ``other``;
- ``narrow``: base + ``age`` max 100 -> 95 in the data schema (an incompatible input schema),
  on branch ``narrow``.

Deploy targets: staging is the built-in server; prod a command that deploys nothing (its smoke
test runs in process on the fetched files), so a walk through both stages starts one server.

``work`` has all four in its DVC cache; ``origin.git`` has main at ``base``; ``dvcstore`` (the
DVC remote of the copy's ``work`` and of every clone made with :meth:`World.clone`) starts empty.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from mlgitops.cli import main
from tests.e2e.sandbox import copy_project, env, init_repo, run

NAME = "income-model"


def _edit_yaml(path: Path, edit) -> None:
    raw = yaml.safe_load(path.read_text())
    edit(raw)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))


def _fast_params(raw: dict[str, Any]) -> None:
    raw["train"]["max_iter"] = 10
    raw["release"].update(first_version="v0.1.0", bootstrap_resamples=200)
    raw["deploy"]["staging"].update(target="server", smoke_timeout=20.0)
    # prod: a command that deploys nothing, so its smoke test runs in process (no second server)
    raw["deploy"]["prod"].update(target="command", command=[sys.executable, "-c", "pass"])


def _branch(work: Path, name: str, message: str, edit) -> str:
    run(work, "git", "checkout", "-q", "-b", name, "main")
    run(work, "dvc", "checkout", "-q")
    edit(work)
    run(work, "dvc", "repro", "-q")
    run(work, "git", "add", "-A")
    run(work, "git", "commit", "-q", "-m", message)
    return run(work, "git", "rev-parse", "HEAD").stdout.strip()


@dataclass(frozen=True)
class World:
    """A copy of the world: where things are and which commit is which."""

    root: Path
    commits: dict[str, str]

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def origin(self) -> Path:
        return self.root / "origin.git"

    @property
    def dvcstore(self) -> Path:
        return self.root / "dvcstore"

    def clone(self, name: str) -> Path:
        """A fresh clone of origin (no DVC cache), as a CI job would have."""
        dest = self.root / name
        run(self.root, "git", "clone", "-q", str(self.origin), str(dest))
        self.use_dvc_remote(dest)
        return dest

    def use_dvc_remote(self, repo: Path) -> None:
        """Point ``repo`` at this world's DVC remote, as a CI job configures its remote.

        The URL is absolute and in ``.dvc/config.local`` (not committed): DVC resolves a relative
        remote URL read from another commit's config against the wrong directory.
        """
        run(repo, "dvc", "remote", "add", "-q", "--local", "-d", "storage", str(self.dvcstore))

    def merge(self, branch: str) -> str:
        """Fast-forward main to ``branch`` in work, push its outputs and main (a merged PR)."""
        run(self.work, "git", "checkout", "-q", "main")
        run(self.work, "git", "merge", "-q", "--ff-only", branch)
        run(self.work, "dvc", "checkout", "-q")
        run(self.work, "dvc", "push", "-q")
        run(self.work, "git", "push", "-q", "origin", "main")
        return run(self.work, "git", "rev-parse", "HEAD").stdout.strip()


@pytest.fixture(scope="session")
def world_template(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("registry-world")
    work = copy_project(root / "work")
    _edit_yaml(work / "params.yaml", _fast_params)
    init_repo(work)
    run(work, "dvc", "repro", "-q")
    run(work, "git", "add", "-A")
    run(work, "git", "commit", "-q", "-m", "Reproduce the example pipeline")
    commits = {"base": run(work, "git", "rev-parse", "HEAD").stdout.strip()}

    def learning_rate(value: float):
        return lambda w: _edit_yaml(
            w / "params.yaml", lambda p: p["train"].update(learning_rate=value)
        )

    commits["change"] = _branch(work, "change", "Learning rate 0.2", learning_rate(0.2))
    commits["other"] = _branch(work, "other", "Learning rate 0.05", learning_rate(0.05))

    def narrow(w: Path) -> None:
        schema = w / "data" / "schema.yaml"
        schema.write_text(schema.read_text().replace("max: 100\n", "max: 95\n", 1))

    commits["narrow"] = _branch(work, "narrow", "Ages above 95 are data errors", narrow)
    run(work, "git", "checkout", "-q", "main")
    run(work, "dvc", "checkout", "-q")
    run(root, "git", "init", "-q", "--bare", "-b", "main", "origin.git")
    run(work, "git", "remote", "add", "origin", str(root / "origin.git"))
    run(work, "git", "push", "-q", "origin", "main")
    return World(root, commits)


@pytest.fixture
def world(world_template: World, tmp_path: Path) -> World:
    """A private copy of the world (origin URL rewritten to the copy's own)."""
    root = tmp_path / "world"
    shutil.copytree(world_template.root, root, symlinks=True)
    copy = World(root, dict(world_template.commits))
    run(copy.work, "git", "remote", "set-url", "origin", str(copy.origin))
    copy.use_dvc_remote(copy.work)
    return copy


@pytest.fixture
def sandbox_env() -> Iterator[None]:
    """This process's environment as the sandbox's subprocesses get it (for in-process CLI runs)."""
    saved = dict(os.environ)
    wanted = env()
    os.environ.clear()
    os.environ.update(wanted)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def cli(repo: Path, *args: str) -> Result:
    """``mlgitops <args> --params <repo>/params.yaml`` in process (imports paid once)."""
    return CliRunner().invoke(main, [*args, "--params", str(repo / "params.yaml")])


def gto(*args: str) -> str:
    """Run GTO's own command line (``gto <args>``) in process; return what it printed."""
    from gto.cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def gto_show(repo: Path) -> dict[str, Any]:
    """What ``gto show`` says about the model: the latest version and each stage's version."""
    shown = json.loads(gto("show", "--repo", str(repo), "--json"))
    found = shown.get(NAME, {})
    return {"latest": found.get("version"), **found.get("stage", {})}


def origin_tags(world: World) -> dict[str, str]:
    """Every tag on origin with the commit it points at."""
    listing = run(
        world.origin,
        "git",
        "for-each-ref",
        "--format=%(refname:short) %(*objectname)%(objectname)",
        "refs/tags",
    )
    found = {}
    for line in listing.stdout.splitlines():
        name, _, shas = line.partition(" ")
        # Annotated tags print the peeled commit then the tag object; keep the first 40 chars.
        found[name] = shas[:40]
    return found
