"""Two different trained models with their smoke samples, params for fast servers, one server.

Model A is the ``small_project`` model (gradient boosting); model B is a logistic regression
trained on the same split, so the two disagree on scores and their smoke samples tell them apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from mlgitops.serve.process import ServerProcess
from tests.serve.helpers import Trained, with_sample, write_serve_params


@pytest.fixture(scope="session")
def model_a(small_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    models = small_project / "models"
    return with_sample(
        small_project,
        models / "model.skops",
        models / "model.json",
        tmp_path_factory.mktemp("model_a") / "smoke_sample.json",
    )


@pytest.fixture(scope="session")
def model_b(small_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    from pipelines import train

    dest = tmp_path_factory.mktemp("model_b")
    raw = yaml.safe_load((small_project / "params.yaml").read_text())
    raw["train"].update(estimator="logistic_regression", max_iter=300)
    (dest / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    model_path, metadata_path = dest / "model.skops", dest / "model.json"
    code = train.main(
        [
            "--params",
            str(dest / "params.yaml"),
            "--train",
            str(small_project / "data" / "prepared" / "train.parquet"),
            "--schema",
            str(small_project / "data" / "schema.yaml"),
            "--model",
            str(model_path),
            "--metadata",
            str(metadata_path),
        ]
    )
    assert code == 0
    return with_sample(small_project, model_path, metadata_path, dest / "smoke_sample.json")


@pytest.fixture(scope="session")
def serve_params(small_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_serve_params(
        small_project / "params.yaml",
        tmp_path_factory.mktemp("serve_params") / "params.yaml",
        max_batch_rows=500,
        max_body_bytes=200_000,
    )


@pytest.fixture(scope="session")
def server_a(
    model_a: Trained, serve_params: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """One server of model A (version v1.0.0) shared by the HTTP contract tests."""
    log = tmp_path_factory.mktemp("server_a") / "predictions.sqlite"
    server = ServerProcess(
        model_a.model_path,
        model_a.metadata_path,
        version="v1.0.0",
        log=log,
        params=serve_params,
    )
    with server:
        yield server
