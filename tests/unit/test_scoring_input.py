"""Scoring refuses feature values the model cannot take, with a message that finds them.

Before this check, text in a numeric feature reached the model and ended in a traceback
(``ValueError: could not convert string to float``) and exit 1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlgitops.artifact import LoadedModel, load_model
from mlgitops.errors import DataError
from mlgitops.evaluate import check_evaluation_rows
from mlgitops.scoring import score_frame


@pytest.fixture(scope="module")
def model(small_project: Path) -> LoadedModel:
    return load_model(small_project / "models/model.skops", small_project / "models/model.json")


@pytest.fixture(scope="module")
def test_rows(small_project: Path) -> pd.DataFrame:
    return pd.read_parquet(small_project / "data/prepared/test.parquet")


def _with_text_age(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.head(50).copy()
    frame["age"] = frame["age"].astype(str)
    frame.loc[[3, 9], "age"] = "forty"
    return frame


@pytest.mark.parametrize("strict", [False, True])
def test_text_in_a_numeric_feature_is_a_data_error_naming_file_column_rule_rows(
    model: LoadedModel, test_rows: pd.DataFrame, strict: bool
) -> None:
    frame = _with_text_age(test_rows)
    with pytest.raises(DataError) as caught:
        score_frame(model, frame, where="data/prepared/test.parquet", strict=strict)
    message = str(caught.value)
    ids = frame.loc[[3, 9], "row_id"].tolist()
    assert message.startswith("data/prepared/test.parquet does not match the model's input schema")
    assert "column age: dtype (expected integer values): 2 rows" in message
    assert f"row {ids[0]}: 'forty', row {ids[1]}: 'forty'" in message
    assert "fix those values" in message


def test_the_default_check_leaves_out_of_range_values_and_new_categories_to_the_model(
    model: LoadedModel, test_rows: pd.DataFrame
) -> None:
    # A drifted batch (older people, a new category) is what the drift check must score.
    frame = test_rows.head(20).copy()
    frame["age"] = frame["age"] + 200
    frame.loc[0, "workclass"] = "Astronaut"
    assert len(score_frame(model, frame)) == 20
    with pytest.raises(DataError) as caught:
        score_frame(model, frame, where="t.parquet", strict=True)
    assert "column age: range (expected values in 17..100): 20 rows" in str(caught.value)
    assert "column workclass: allowed" in str(caught.value)


def test_good_rows_score_as_before(model: LoadedModel, test_rows: pd.DataFrame) -> None:
    strict = score_frame(model, test_rows, strict=True)
    loose = score_frame(model, test_rows)
    pd.testing.assert_frame_equal(strict, loose)
    assert len(strict) == len(test_rows)


def _check(frame: pd.DataFrame) -> None:
    check_evaluation_rows(
        frame,
        id_column="row_id",
        target="income",
        task="binary",
        classes=["<=50K", ">50K"],
        where="t.parquet",
    )


def test_evaluation_rows_need_a_present_non_null_unique_id(test_rows: pd.DataFrame) -> None:
    _check(test_rows)
    with pytest.raises(
        DataError, match=r"t.parquet has no id column row_id \(the model's id_column"
    ):
        _check(test_rows.drop(columns=["row_id"]))
    nulls = test_rows.astype({"row_id": "float64"})
    nulls.loc[[1, 2], "row_id"] = np.nan
    null_ids = r"row_id \(the row id\) is null on 2 row\(s\) \(e.g. null\)"
    with pytest.raises(DataError, match=null_ids):
        _check(nulls)
    twice = test_rows.copy()
    twice.loc[5, "row_id"] = twice.loc[4, "row_id"]
    shown = twice.loc[4, "row_id"]
    with pytest.raises(DataError, match=rf"is not unique on 2 row\(s\) \(e.g. {shown}\)"):
        _check(twice)


def test_evaluation_rows_need_labels_among_the_model_classes(test_rows: pd.DataFrame) -> None:
    frame = test_rows.copy()
    frame.loc[[2, 7], "income"] = "maybe"
    ids = frame.loc[[2, 7], "row_id"].tolist()
    with pytest.raises(DataError) as caught:
        _check(frame)
    message = str(caught.value)
    assert "t.parquet: column income (the target) has 2 row(s) with a label" in message
    assert f"row_id {ids[0]}: 'maybe', row_id {ids[1]}: 'maybe'" in message
    assert "the model's classes are '<=50K', '>50K'" in message
