"""``--positive-class``: the label as the data spells it, not as YAML 1.1 would read it.

YAML 1.1 (PyYAML's ``safe_load``) reads ``yes``, ``no``, ``on``, ``off`` and ``y`` as booleans, so
the README's own example (``--positive-class yes`` for a ``churned`` column of yes/no) used to
fail with "the positive class True is not a label of churned (no, yes)". A value that is a label
of the data stays that text; otherwise only true/false and numbers are read, the YAML 1.2 way.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mlgitops.params import load_params
from mlgitops.scaffold import parse_label
from tests.init.conftest import init

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    outs:
      - models/model.skops
      - models/model.json
"""


def _churn_repo(root: Path, labels: list) -> Path:
    root.mkdir()
    (root / "dvc.yaml").write_text(DVC_YAML)
    (root / "data").mkdir()
    n = 40
    frame = pd.DataFrame(
        {
            "customer_id": range(n),
            "tenure": [i % 13 for i in range(n)],
            "churned": [labels[i % 2] for i in range(n)],
        }
    )
    frame.to_csv(root / "data" / "raw.csv", index=False)
    return root


def _args(positive: str) -> tuple[str, ...]:
    return (
        "--name",
        "churn-model",
        "--task",
        "binary",
        "--target",
        "churned",
        "--positive-class",
        positive,
        "--id-column",
        "customer_id",
        "--data",
        "data/raw.csv",
        "--only",
        "params",
        "--only",
        "schema",
    )


@pytest.mark.parametrize(
    ("labels", "given", "expected"),
    [
        (["no", "yes"], "yes", "yes"),  # the README's example
        (["no", "yes"], "no", "no"),
        (["off", "on"], "on", "on"),
        (["n", "y"], "y", "y"),
        ([0, 1], "1", 1),  # numbers in the data: the number
        (["0", "1"], "1", 1),  # a CSV has no types: pandas reads 0/1 as numbers
        ([False, True], "true", True),  # booleans in the data: the boolean
        (["false", "true"], "false", False),  # pandas reads true/false as booleans too
    ],
)
def test_the_positive_class_is_the_label_the_data_has(
    tmp_path: Path, labels: list, given: str, expected: object
) -> None:
    repo = _churn_repo(tmp_path / "churn", labels)
    result = init(repo, *_args(given))
    assert result.exit_code == 0, result.output
    positive = load_params(repo / "params.yaml").data.positive_class
    assert positive == expected and type(positive) is type(expected)


def test_text_labels_in_parquet_stay_text_even_when_yaml_would_read_them(tmp_path: Path) -> None:
    repo = _churn_repo(tmp_path / "churn", ["no", "yes"])
    frame = pd.read_csv(repo / "data" / "raw.csv")
    frame["churned"] = frame["tenure"].map(lambda t: "true" if t % 2 else "1")
    frame.to_parquet(repo / "data" / "raw.parquet", index=False)
    args = [a if a != "data/raw.csv" else "data/raw.parquet" for a in _args("true")]
    result = init(repo, *args)
    assert result.exit_code == 0, result.output
    assert load_params(repo / "params.yaml").data.positive_class == "true"
    args = [a if a != "true" else "1" for a in args]
    again = init(repo, *args, "--force")  # params.yaml says "true" now: --force changes it
    assert again.exit_code == 0, again.output
    assert load_params(repo / "params.yaml").data.positive_class == "1"


def test_a_label_the_data_lacks_is_refused_by_its_text(tmp_path: Path) -> None:
    repo = _churn_repo(tmp_path / "churn", ["no", "yes"])
    result = init(repo, *_args("maybe"))
    assert result.exit_code == 2
    assert "the positive class 'maybe' is not a label of churned (no, yes)" in result.output


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("yes", "yes"),
        ("no", "no"),
        ("on", "on"),
        ("off", "off"),
        ("y", "y"),
        ("null", "null"),
        ("~", "~"),
        ("1", 1),
        ("-3", -3),
        ("0x1F", 31),
        ("0o17", 15),
        ("2.5", 2.5),
        ("1e3", 1000.0),
        ("true", True),
        ("False", False),
        ("TRUE", True),
        ("1_000", "1_000"),  # YAML 1.1 read this as 1000; 1.2 does not
        ("010", 10),  # YAML 1.1 read this as octal 8; 1.2 as decimal
        (">50K", ">50K"),
    ],
)
def test_without_data_only_booleans_and_numbers_are_read_the_yaml_1_2_way(
    text: str, value: object
) -> None:
    parsed = parse_label(text)
    assert parsed == value and type(parsed) is type(value)
