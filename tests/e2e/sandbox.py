"""The sandbox helpers live in the package now (:mod:`mlgitops.localci.sandbox`): ``make demo``
uses them at run time. Re-exported here for the tests that import them from this path."""

from __future__ import annotations

from mlgitops.localci.sandbox import (
    BIN,
    PROJECT_FILES,
    ROOT,
    copy_project,
    env,
    init_repo,
    run,
    stages_run,
)

__all__ = [
    "BIN",
    "PROJECT_FILES",
    "ROOT",
    "copy_project",
    "env",
    "init_repo",
    "run",
    "stages_run",
]
