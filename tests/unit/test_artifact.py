"""Model artifacts: exact round trips, reproducible bytes, an allowlist that refuses the rest."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.preprocessing import FunctionTransformer

from mlgitops.artifact import (
    canonical_skops,
    describe_model,
    load_estimator,
    load_model,
    save_model,
)
from mlgitops.errors import ArtifactError
from mlgitops.schema import Schema
from pipelines.train import TrainParams, build_pipeline


def _params(estimator: str) -> TrainParams:
    return TrainParams(
        estimator=estimator,
        learning_rate=0.2,
        max_iter=15,
        max_leaf_nodes=7,
        l2_regularization=1.0,
        min_category_frequency=2,
        seed=3,
    )


@st.composite
def training_sets(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(30, 120))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.integers(0, 5, size=n).astype("float64"),
            "c": rng.choice(["x", "y", "z"], size=n),
        }
    )
    frame.loc[rng.random(n) < 0.1, "b"] = np.nan
    frame["y"] = np.where(frame["a"] + rng.normal(size=n) > 0, "pos", "neg")
    frame.loc[0, "y"], frame.loc[1, "y"] = "pos", "neg"
    return frame


SCHEMA = Schema.model_validate(
    {
        "min_rows": 1,
        "columns": {
            "a": {"dtype": "number"},
            "b": {"dtype": "number", "nullable": True},
            "c": {"dtype": "category"},
            "y": {"dtype": "category"},
        },
    }
)


@given(training_sets(), st.sampled_from(["hist_gradient_boosting", "logistic_regression"]))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_save_and_load_round_trip_predictions_exactly(frame: pd.DataFrame, estimator: str) -> None:
    """Through the path users run: save_model, then load_model (allowlist, metadata hash)."""
    features = ["a", "b", "c"]
    model = build_pipeline(["a", "b"], ["c"], _params(estimator)).fit(frame[features], frame["y"])
    metadata = describe_model(
        model,
        name="m",
        task="binary",
        target="y",
        positive_class="pos",
        id_column="id",
        train_frame=frame,
        features=features,
        schema=SCHEMA,
        params={"estimator": estimator},
    )
    with tempfile.TemporaryDirectory() as tmp:
        paths = {"model_path": Path(tmp, "m.skops"), "metadata_path": Path(tmp, "m.json")}
        digest = save_model(model, metadata, **paths)
        # no extra_trusted: every type of the pipeline must be on the framework's allowlist
        loaded = load_model(paths["model_path"], paths["metadata_path"])
        first_bytes = paths["model_path"].read_bytes()
        # Same model, saved again: the bytes do not depend on object ids or the clock.
        assert save_model(model, metadata, **paths) == digest
        assert paths["model_path"].read_bytes() == first_bytes
    assert loaded.metadata["model_sha256"] == digest
    assert loaded.features == features
    x = frame[features]
    np.testing.assert_array_equal(loaded.estimator.predict(x), model.predict(x))
    np.testing.assert_array_equal(loaded.estimator.predict_proba(x), model.predict_proba(x))
    np.testing.assert_array_equal(loaded.estimator.classes_, model.classes_)


def test_the_saved_model_and_metadata_belong_together(small_project: Path) -> None:
    model = load_model(small_project / "models/model.skops", small_project / "models/model.json")
    meta = model.metadata
    assert meta["task"] == "binary" and meta["target"] == "income"
    assert meta["classes"] == ["<=50K", ">50K"]
    assert [f["name"] for f in meta["features"]][:2] == ["age", "education_num"]
    assert meta["schema_hash"].startswith("sha256:")
    assert set(meta["input_schema"]["columns"]) == set(model.features)
    assert meta["params"]["max_iter"] == 30
    assert meta["data"]["train_rows"] > 2000 and meta["data"]["train_hash"].startswith("sha256:")
    assert {"python", "scikit-learn", "skops", "numpy", "pandas"} <= set(meta["libraries"])


def test_a_model_file_from_another_run_is_refused(small_project: Path, tmp_path: Path) -> None:
    other = tmp_path / "model.skops"
    other.write_bytes(canonical_skops(sio.dumps(FunctionTransformer())))
    with pytest.raises(ArtifactError, match="does not match its metadata"):
        load_model(other, small_project / "models/model.json")


def test_types_outside_the_allowlist_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.skops"
    # A FunctionTransformer wrapping an arbitrary callable is exactly what an allowlist must stop.
    path.write_bytes(sio.dumps(FunctionTransformer(func=np.save)))
    with pytest.raises(ArtifactError, match=r"not on the allowlist: numpy\.save"):
        load_estimator(path)
    assert load_estimator(path, extra_trusted=("numpy.save",)).func is np.save


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "not a readable skops archive"),
        (b"this is not a zip file", "not a readable skops archive"),
    ],
)
def test_corrupt_model_files(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "m.skops"
    path.write_bytes(content)
    with pytest.raises(ArtifactError, match=expected):
        load_estimator(path)


def test_a_truncated_archive_is_refused(small_project: Path, tmp_path: Path) -> None:
    data = (small_project / "models/model.skops").read_bytes()
    path = tmp_path / "cut.skops"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match="not a readable skops archive"):
        load_estimator(path)


def test_save_model_writes_both_files_and_records_the_hash(tmp_path: Path) -> None:
    model = FunctionTransformer()
    digest = save_model(
        model, {"features": []}, model_path=tmp_path / "m.skops", metadata_path=tmp_path / "m.json"
    )
    assert zipfile.is_zipfile(tmp_path / "m.skops")
    assert f'"model_sha256": "{digest}"' in (tmp_path / "m.json").read_text()
    assert not list(tmp_path.glob(".*.tmp"))
