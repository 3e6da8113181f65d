"""Git, through its command line, with errors that say what to do.

The framework reads other revisions (the PR's base, a released version) straight from git: file
contents with ``git show``, work trees with ``git worktree``. Commands take argument lists; no
shell is involved, so branch names and paths are never interpreted.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from mlgitops.errors import MlgitopsError


class GitError(MlgitopsError):
    """A git command failed (unknown revision, not a repository, ...)."""


def git(repo: str | os.PathLike[str], *args: str, check: bool = True) -> str:
    """Run ``git <args>`` in ``repo`` and return its stdout (stripped of the final newline)."""
    result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        reason = detail[-1] if detail else f"exit code {result.returncode}"
        raise GitError(f"git {' '.join(args[:2])} failed in {repo}: {reason}")
    return result.stdout.rstrip("\n")


def toplevel(path: str | os.PathLike[str] = ".") -> Path:
    """The root of the git work tree that holds ``path``."""
    try:
        return Path(git(path, "rev-parse", "--show-toplevel"))
    except GitError:
        raise GitError(
            f"{Path(path).resolve()} is not inside a git repository; run mlgitops from a clone."
        ) from None


def commit_of(repo: str | os.PathLike[str], rev: str) -> str:
    """The full commit id ``rev`` names; a clear error when it names nothing."""
    try:
        return git(
            repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"
        )
    except GitError:
        raise GitError(
            f"revision {rev!r} is not known in {repo}; fetch it first "
            "(git fetch origin, or check out with full history: fetch-depth: 0)."
        ) from None


def show(repo: str | os.PathLike[str], commit: str, path: str) -> str | None:
    """The content of ``path`` at ``commit``, or None when the file does not exist there."""
    result = subprocess.run(
        ["git", "show", f"{commit}:{path}"], cwd=repo, capture_output=True, text=True, check=False
    )
    return result.stdout if result.returncode == 0 else None


def is_clean(repo: str | os.PathLike[str]) -> bool:
    """True when the work tree has no uncommitted changes to tracked files."""
    return git(repo, "status", "--porcelain", "--untracked-files=no") == ""
