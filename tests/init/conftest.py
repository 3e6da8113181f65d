"""Fixtures: a user's repository before and after ``mlgitops init``."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mlgitops.cli import main
from tests.init.project import INIT_ARGS, write_project


def init(repo: Path, *args: str) -> Result:
    """``mlgitops init --repo REPO ARGS`` in process (``--data`` paths resolved against REPO)."""
    args = tuple(
        str(repo / a) if prev == "--data" else a
        for prev, a in zip(("", *args)[: len(args)], args, strict=True)
    )
    return CliRunner().invoke(main, ["init", "--repo", str(repo), *args], catch_exceptions=False)


@pytest.fixture
def user_repo(tmp_path: Path) -> Path:
    """The user's repository as it is before adopting the framework."""
    return write_project(tmp_path / "diabetes")


@pytest.fixture
def adopted(user_repo: Path) -> Path:
    """The user's repository right after a successful ``mlgitops init``."""
    result = init(user_repo, *INIT_ARGS)
    assert result.exit_code == 0, result.output
    return user_repo
