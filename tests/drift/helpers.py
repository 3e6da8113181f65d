"""Helpers of the drift tests: the CLI in process, batch samples and the injected shifts."""

from __future__ import annotations

import pandas as pd
from click.testing import CliRunner, Result

from mlgitops.cli import main

#: Rows of UCI Adult used by ``small_project``; the rest is production data.
PROJECT_ROWS = 3000


def invoke(*args: str) -> Result:
    """Run the CLI in process (the current directory is the project)."""
    return CliRunner().invoke(main, list(args), prog_name="mlgitops")


def sample(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    return frame.sample(rows, random_state=seed).reset_index(drop=True)


def shifted(frame: pd.DataFrame) -> pd.DataFrame:
    """Age + 10 years and hours per week x 1.3: the two injected shifts."""
    out = frame.copy()
    out["age"] = out["age"] + 10
    out["hours_per_week"] = (out["hours_per_week"] * 1.3).round().astype("int64")
    return out
