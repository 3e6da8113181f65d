"""Shared fixtures: the example project's files, and a small trained model built once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from mlgitops import datasets

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def adult() -> pd.DataFrame:
    return datasets.load("adult")


def write_small_project(dest: Path, adult: pd.DataFrame, rows: int = 3000) -> Path:
    """A copy of the example project's config with a small slice of the data, in ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "params.yaml", dest / "params.yaml")
    (dest / "data").mkdir(exist_ok=True)
    schema = (ROOT / "data" / "schema.yaml").read_text().replace("min_rows: 1000", "min_rows: 500")
    (dest / "data" / "schema.yaml").write_text(schema)
    adult.head(rows).to_csv(dest / "raw.csv", index=False)
    return dest


@pytest.fixture(scope="session")
def small_project(tmp_path_factory: pytest.TempPathFactory, adult: pd.DataFrame) -> Path:
    """A project directory with prepared splits and a trained model (fast settings)."""
    from pipelines import prepare, train

    dest = write_small_project(tmp_path_factory.mktemp("project"), adult)
    params = dest / "params.yaml"
    text = params.read_text().replace("max_iter: 200", "max_iter: 30")
    params.write_text(text)
    d = str(dest)
    assert (
        prepare.main(
            [
                "--params",
                f"{d}/params.yaml",
                "--raw",
                f"{d}/raw.csv",
                "--train",
                f"{d}/data/prepared/train.parquet",
                "--test",
                f"{d}/data/prepared/test.parquet",
            ]
        )
        == 0
    )
    assert (
        train.main(
            [
                "--params",
                f"{d}/params.yaml",
                "--train",
                f"{d}/data/prepared/train.parquet",
                "--schema",
                f"{d}/data/schema.yaml",
                "--model",
                f"{d}/models/model.skops",
                "--metadata",
                f"{d}/models/model.json",
            ]
        )
        == 0
    )
    return dest
