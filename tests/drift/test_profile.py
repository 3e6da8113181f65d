"""The profile stage: a versioned JSON document, reproducible, capped, and checked when read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mlgitops.drift_profile import PROFILE_SCHEMA_VERSION, profile_from_dict
from mlgitops.errors import DataError
from mlgitops.metrics import TASK_METRICS
from tests.drift.helpers import invoke, sample


def test_the_profile_describes_features_outputs_and_performance(project: Path) -> None:
    raw = json.loads((project / "models" / "profile.json").read_text())
    metadata = json.loads((project / "models" / "model.json").read_text())
    assert raw["schema_version"] == PROFILE_SCHEMA_VERSION
    assert raw["model"]["model_sha256"] == metadata["model_sha256"]
    assert raw["input_schema"] == metadata["input_schema"]
    assert [f["name"] for f in raw["features"]] == [f["name"] for f in metadata["features"]]
    kinds = {f["name"]: f["kind"] for f in raw["features"]}
    assert kinds["age"] == "numeric" and kinds["workclass"] == "categorical"
    # Features from the training rows; outputs and metrics from the evaluation rows.
    assert raw["training_rows"] == 2250 and raw["evaluation_rows"] == 750
    assert raw["features"][0]["reference"]["n"] == 2250
    outputs = {o["name"]: o for o in raw["outputs"]}
    assert set(outputs) == {"score", "prediction"}
    assert outputs["score"]["reference"]["n"] == 750
    assert sum(outputs["prediction"]["reference"]["counts"]) == 750
    assert [m["name"] for m in raw["performance"]] == list(TASK_METRICS["binary"])
    assert all(m["se"] > 0 for m in raw["performance"])
    # Integer-valued features are stored without ".0".
    assert all(isinstance(v, int) for v in raw["features"][0]["reference"]["values"])
    # It round-trips through the reader.
    assert profile_from_dict(raw, "profile.json").to_dict() == raw


def test_the_profile_is_reproducible_and_its_cap_is_a_seeded_sample(project: Path) -> None:
    first = (project / "models" / "profile.json").read_bytes()
    assert invoke("profile").exit_code == 0
    assert (project / "models" / "profile.json").read_bytes() == first  # byte for byte

    params = yaml.safe_load((project / "params.yaml").read_text())
    params["profile"]["max_reference_values"] = 500
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    result = invoke("profile", "--profile", "capped.json")
    assert result.exit_code == 0, result.output
    capped = json.loads((project / "capped.json").read_text())
    full = json.loads(first)
    for kept, whole in zip(capped["features"], full["features"], strict=True):
        if kept["kind"] != "numeric":
            assert kept == whole
            continue
        assert len(kept["reference"]["values"]) == 500
        # n, mean, std and the PSI bins still describe every training row.
        for key in ("n", "n_null", "mean", "std", "psi_edges", "psi_shares"):
            assert kept["reference"][key] == whole["reference"][key]
        assert set(kept["reference"]["values"]) <= set(whole["reference"]["values"])


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda raw: raw.update(schema_version=99), "has format version 99, this mlgitops reads 1"),
        (lambda raw: raw.pop("features"), "is incomplete or inconsistent (missing key 'features')"),
        (
            lambda raw: raw["features"][0]["reference"].update(values=[3, 2, 1]),
            "is incomplete or inconsistent (values must be finite and sorted",
        ),
    ],
)
def test_a_bad_profile_is_refused_with_a_clear_sentence(project: Path, edit, expected) -> None:
    raw = json.loads((project / "models" / "profile.json").read_text())
    edit(raw)
    with pytest.raises(DataError, match="re-run the profile stage") as caught:
        profile_from_dict(raw, "p.json")
    assert expected in str(caught.value)


def test_drift_refuses_a_model_the_profile_was_not_built_for(project, production) -> None:
    path = project / "models" / "profile.json"
    raw = json.loads(path.read_text())
    raw["model"]["model_sha256"] = "sha256:" + "0" * 64
    path.write_text(json.dumps(raw))
    batch = sample(production, 200, seed=1)
    batch.to_parquet(project / "b.parquet", index=False)
    result = invoke("drift", "--current", "b.parquet")
    assert result.exit_code == 2
    assert "is not the one the profile was built for" in result.output
