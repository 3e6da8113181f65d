"""Unseen categories, new nulls, constant and all-null columns: statuses, never NaN, no crash.

Warnings are errors here: none of these cases may even warn. Every document goes through
``dumps_json`` (which refuses NaN and infinity) and the renderer.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlgitops.artifact import load_model
from mlgitops.drift_batch import scored_outputs
from mlgitops.drift_check import check_drift
from mlgitops.drift_profile import Profile, build_profile
from mlgitops.drift_report import render_drift
from mlgitops.fsio import dumps_json, read_table
from mlgitops.params import load_params
from mlgitops.scoring import score_frame
from tests.drift.helpers import invoke, sample

pytestmark = pytest.mark.filterwarnings("error")


@pytest.fixture(scope="module")
def loaded(profiled_project: Path):
    project = profiled_project
    model = load_model(project / "models" / "model.skops", project / "models" / "model.json")
    params = load_params(project / "params.yaml")
    train = read_table(project / "data" / "prepared" / "train.parquet")
    test = read_table(project / "data" / "prepared" / "test.parquet")
    return model, params, train, score_frame(model, test)


def _profile(loaded, edit=None) -> Profile:
    model, params, train, predictions = loaded
    train = train.copy() if edit is None else edit(train.copy())
    return build_profile(train, predictions, model.metadata, params.profile)


def _check(loaded, profile: Profile, batch: pd.DataFrame) -> dict:
    model, params, _, _ = loaded
    outputs = scored_outputs(model, batch, "the test asks for it")
    report = check_drift(
        profile, batch, params.drift, outputs=outputs, model={"name": "m"}, source={"current": "t"}
    )
    doc = report.to_dict()
    # JSON-safe (dumps_json refuses NaN and infinity) and renderable.
    text = dumps_json(doc)
    assert "NaN" not in text and "Infinity" not in text
    render_drift(json.loads(text))
    return doc


def _feature(doc: dict, name: str) -> dict:
    return next(f for f in doc["features"] if f["name"] == name)


def _no_nan(value) -> None:
    if isinstance(value, float):
        assert math.isfinite(value)
    elif isinstance(value, dict):
        for v in value.values():
            _no_nan(v)
    elif isinstance(value, list):
        for v in value:
            _no_nan(v)


def test_unseen_categories_are_flagged_counted_and_drift_when_large(
    loaded, production: pd.DataFrame
) -> None:
    batch = sample(production, 400, seed=1)
    batch.loc[:119, "workclass"] = "Space-agency"  # 30 % of the batch, never seen in training
    batch.loc[120:121, "education"] = "Kindergarten"  # 2 rows: flagged, too few to matter
    doc = _check(loaded, _profile(loaded), batch)
    workclass = _feature(doc, "workclass")
    assert workclass["status"] == "unseen_categories"
    assert workclass["stats"]["unseen"][0] == {
        "category": "Space-agency",
        "count": 120,
        "share": pytest.approx(120 / workclass["n_current"]),
    }
    assert workclass["drifted"]
    education = _feature(doc, "education")
    assert education["status"] == "unseen_categories" and not education["drifted"]
    assert education["stats"]["n_unseen"] == 1
    _no_nan(doc)


def test_new_nulls_drift_through_the_null_rate_test(loaded, production: pd.DataFrame) -> None:
    batch = sample(production, 400, seed=2)
    batch["race"] = batch["race"].astype(object)
    batch.loc[:159, "race"] = None  # 40 % missing; training never had a missing race
    doc = _check(loaded, _profile(loaded), batch)
    race = _feature(doc, "race")
    assert race["status"] == "new_nulls"
    assert race["null_share_reference"] == 0.0 and race["null_share_current"] == 0.4
    assert race["null_rate"]["fires"] and race["drifted"]
    assert not race["distribution"]["fires"]  # the non-missing values did not move


def test_an_all_null_column_in_the_batch_is_a_status_not_a_crash(
    loaded, production: pd.DataFrame
) -> None:
    batch = sample(production, 300, seed=3)
    batch["education_num"] = np.nan
    batch["occupation"] = None
    doc = _check(loaded, _profile(loaded), batch)
    for name in ("education_num", "occupation"):
        feature = _feature(doc, name)
        assert feature["status"] == "all_null_current"
        assert feature["distribution"]["p_value"] is None  # nothing to compare
        assert feature["null_share_current"] == 1.0
        assert feature["drifted"]  # through the missing-value rate
    assert doc["predictions"]["source"] == "scored"  # the model scored the nulls too


def test_a_constant_training_column_is_judged_on_its_p_value(
    loaded, production: pd.DataFrame
) -> None:
    profile = _profile(loaded, lambda t: t.assign(capital_loss=0))
    constant = _feature(
        _check(loaded, profile, sample(production, 300, seed=4).assign(capital_loss=0)),
        "capital_loss",
    )
    assert constant["status"] == "constant_reference"
    assert constant["distribution"]["effect"] is None  # W / sigma is undefined
    assert constant["distribution"]["p_value"] == 1.0 and not constant["drifted"]
    # Production's usual capital losses: 5 of 300 rows above 0 are no evidence of change.
    usual = _feature(_check(loaded, profile, sample(production, 300, seed=4)), "capital_loss")
    assert usual["distribution"]["p_value"] > 0.5 and not usual["drifted"]
    # A third of the rows with a loss: a change of kind, and it drifts on its p-value alone.
    batch = sample(production, 300, seed=4)
    batch.loc[:99, "capital_loss"] = 1902
    moved = _feature(_check(loaded, profile, batch), "capital_loss")
    assert moved["status"] == "constant_reference"
    assert moved["drifted"] and moved["distribution"]["large"] is None


def test_an_all_null_training_column_cannot_be_tested_and_says_so(
    loaded, production: pd.DataFrame
) -> None:
    profile = _profile(loaded, lambda t: t.assign(hours_per_week=np.nan, sex=None))
    doc = _check(loaded, profile, sample(production, 300, seed=5))
    for name in ("hours_per_week", "sex"):
        feature = _feature(doc, name)
        assert feature["status"] == "all_null_reference"
        assert feature["distribution"]["p_value"] is None
        # Training had no values at all and production has them: the missing share fell from
        # 100 % to 0 %, which the null-rate test sees.
        assert feature["null_share_reference"] == 1.0 and feature["null_share_current"] == 0.0
        assert feature["null_rate"]["fires"] and feature["drifted"]
    _no_nan(doc)


def test_every_case_at_once_through_the_cli(project: Path, production: pd.DataFrame) -> None:
    batch = sample(production, 300, seed=6)
    batch.loc[:99, "workclass"] = "Space-agency"
    batch["relationship"] = None
    batch["capital_gain"] = np.nan
    path = project / "batch.jsonl"
    batch.to_json(path, orient="records", lines=True)
    result = invoke("drift", "--current", str(path))
    assert result.exit_code == 1, result.output
    doc = json.loads((project / "reports" / "drift.json").read_text())
    statuses = {f["name"]: f["status"] for f in doc["features"]}
    assert statuses["workclass"] == "unseen_categories"
    assert statuses["relationship"] == "all_null_current"
    assert statuses["capital_gain"] == "all_null_current"
    assert set(doc["decision"]["drifted"]) == {"workclass", "relationship", "capital_gain"}
    markdown = (project / "reports" / "drift.md").read_text()
    assert "all_null_current: every value in the batch is missing" in markdown
    assert "unseen: Space-agency (100)" in markdown


def test_a_column_constant_in_the_batch_is_flagged(loaded, production: pd.DataFrame) -> None:
    batch = sample(production, 400, seed=7)
    batch["sex"] = "Male"  # training has both: an upstream default or a filter
    batch["hours_per_week"] = 40
    doc = _check(loaded, _profile(loaded), batch)
    sex, hours = _feature(doc, "sex"), _feature(doc, "hours_per_week")
    assert sex["status"] == "constant_current" and sex["constant_value"] == "Male"
    assert hours["status"] == "constant_current" and hours["constant_value"] == 40
    assert "sex is constant in the batch (every value is 'Male')" in " ".join(doc["warnings"])
    # A column that varies in the batch is not flagged.
    assert _feature(doc, "age")["status"] == "ok" and _feature(doc, "age")["constant_value"] is None
    markdown = render_drift(doc)
    assert "constant_current: one value only in the batch, where training varied" in markdown
