"""Real git repositories and real DVC: a copy of the example project, in a scratch directory.

Used by the end-to-end tests, the workflow harness (:mod:`mlgitops.localci.harness`) and ``make
demo``. It copies the example project out of a checkout of this repository (``ROOT``), so it works
from an editable install (``pip install -e .``), as ``make`` sets it up. Moved here from
``tests/e2e/sandbox.py``, which re-exports it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent

#: What a user's repository holds: the project files, not the generated outputs.
PROJECT_FILES = ("dvc.yaml", "params.yaml", ".dvcignore", "data/schema.yaml", "pipelines")


def env() -> dict[str, str]:
    """The environment for git and DVC subprocesses: this venv first, no user config, no network."""
    e = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "DVC_"))}
    e.update(
        PATH=f"{BIN}{os.pathsep}{e.get('PATH', '')}",
        GIT_AUTHOR_NAME="Test Author",
        GIT_AUTHOR_EMAIL="author@example.invalid",
        GIT_COMMITTER_NAME="Test Author",
        GIT_COMMITTER_EMAIL="author@example.invalid",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        DVC_NO_ANALYTICS="1",
        DVC_NO_UPDATER="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return e


def run(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command in ``cwd``; on failure the assertion shows its output."""
    result = subprocess.run(args, cwd=cwd, env=env(), capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


def copy_project(dest: Path) -> Path:
    """Copy the example project (and the framework package its stages depend on) into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, dest / name)
    shutil.copytree(
        ROOT / "src" / "mlgitops",
        dest / "src" / "mlgitops",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return dest


def init_repo(dest: Path) -> Path:
    """``git init`` + ``dvc init`` + first commit of the copied project."""
    run(dest, "git", "init", "-q", "-b", "main")
    run(dest, "dvc", "init", "-q")
    run(dest, "dvc", "config", "core.autostage", "true")
    run(dest, "git", "add", "-A")
    run(dest, "git", "commit", "-q", "-m", "Example project")
    return dest


def stages_run(output: str) -> list[str]:
    """The stages ``dvc repro`` actually ran, from its output."""
    return re.findall(r"Running stage '([^']+)'", output)
