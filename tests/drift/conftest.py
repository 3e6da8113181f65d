"""Fixtures of the drift tests: a profiled small project, fresh production rows, batch builders.

The small project (``small_project``: the first 3,000 rows of UCI Adult, split 2,250 / 750, a
fast model) is profiled once with the real ``mlgitops profile`` command. "Production" rows are
the Adult rows after the first 3,000: the model has never seen them and they come from the same
survey, so a sample of them is a batch without drift. Drifted batches shift real columns of
those rows.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from mlgitops.drift_profile import Profile, profile_from_dict
from mlgitops.fsio import read_json
from mlgitops.params import DriftParams, load_params
from tests.drift.helpers import PROJECT_ROWS, invoke


@pytest.fixture(scope="session")
def profiled_project(
    small_project: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """A copy of the small project with models/profile.json written by ``mlgitops profile``."""
    dest = tmp_path_factory.mktemp("drift") / "project"
    shutil.copytree(small_project, dest)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(dest)
        result = invoke("profile")
    assert result.exit_code == 0, result.output
    assert (dest / "models" / "profile.json").is_file()
    yield dest


@pytest.fixture
def project(profiled_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the profiled project, as the working directory."""
    dest = tmp_path / "p"
    shutil.copytree(profiled_project, dest)
    monkeypatch.chdir(dest)
    return dest


@pytest.fixture(scope="session")
def profile(profiled_project: Path) -> Profile:
    path = profiled_project / "models" / "profile.json"
    return profile_from_dict(read_json(path), str(path))


@pytest.fixture(scope="session")
def drift_params(profiled_project: Path) -> DriftParams:
    return load_params(profiled_project / "params.yaml").drift


@pytest.fixture(scope="session")
def production(adult: pd.DataFrame) -> pd.DataFrame:
    """Adult rows the small project never saw (29,561 rows), the target included."""
    return adult.iloc[PROJECT_ROWS:].reset_index(drop=True)
