"""params.yaml parsing: the real file loads; every kind of mistake is one clear sentence."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlgitops.errors import ConfigError
from mlgitops.params import FRAMEWORK_SECTIONS, load_params, load_section
from pipelines.prepare import PrepareParams
from pipelines.train import TrainParams


def _write(tmp_path: Path, root: Path, edit) -> Path:
    raw = yaml.safe_load((root / "params.yaml").read_text())
    edit(raw)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_the_example_params_load_into_frozen_typed_objects(root: Path) -> None:
    params = load_params(root / "params.yaml")
    assert params.data.task == "binary"
    assert params.evaluate.slices[0].column == "sex"
    assert isinstance(params.evaluate.slices, tuple)
    with pytest.raises(Exception, match="frozen"):
        params.data.target = "other"  # type: ignore[misc]
    assert load_section(root / "params.yaml", "train", TrainParams).max_iter == 200
    assert load_section(root / "params.yaml", "prepare", PrepareParams).test_size == 0.25
    assert set(FRAMEWORK_SECTIONS) == {
        "data",
        "model",
        "validate",
        "evaluate",
        "gate",
        "serve",
        "release",
        "deploy",
        "model_card",
        "profile",
        "drift",
        "paths",
    }


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda p: p["evaluate"].update(min_slice_rowz=5),
            r"params\.yaml: key evaluate\.min_slice_rowz is not a known setting; remove it",
        ),
        (
            lambda p: p["data"].pop("target"),
            r"params\.yaml: data\.target is missing; expected a non-empty string; add it\.",
        ),
        (
            lambda p: p["evaluate"].update(plot_points="200"),
            r"params\.yaml: evaluate\.plot_points = '200' is invalid; expected a whole number",
        ),
        (
            lambda p: p["evaluate"].update(calibration_bins=1),
            r"params\.yaml: evaluate\.calibration_bins = 1 is invalid; expected a number >= 2",
        ),
        (
            lambda p: p["data"].update(task="ranking"),
            r"data\.task = 'ranking' is invalid; expected one of 'binary', 'multiclass' or",
        ),
        (
            lambda p: p["data"].update(positive_class=None),
            r"params\.yaml: data is invalid: a binary task needs data\.positive_class \(the label",
        ),
        (
            lambda p: p["model"].update(name="Income Model"),
            r"model\.name = 'Income Model' is invalid; expected a name matching",
        ),
        (
            lambda p: p["evaluate"]["slices"].append({"column": "age", "bins": [5, 3]}),
            r"evaluate\.slices\.3 is invalid: bins must be one or more strictly increasing edges",
        ),
        (
            lambda p: p.pop("paths"),
            r"params\.yaml: paths is missing; expected a mapping; add it\.",
        ),
        (
            lambda p: p["validate"].update(max_examples=True),
            r"validate\.max_examples = True is invalid; expected a whole number",
        ),
        (
            lambda p: p["release"].update(first_version="1.0"),
            r"release\.first_version = '1\.0' is invalid; expected a name matching",
        ),
        (
            lambda p: p["release"].update(first_version="v0.0.0"),
            r"release is invalid: first_version must be above v0\.0\.0",
        ),
        (
            lambda p: p["deploy"]["prod"].update(target="command"),
            r"deploy\.prod is invalid: target command needs command",
        ),
        (
            lambda p: p["deploy"]["staging"].update(bundle_dir="dist"),
            r"deploy\.staging is invalid: bundle_dir applies to target bundle only, not server",
        ),
        (
            lambda p: p["deploy"]["staging"].pop("url"),
            r"params\.yaml: deploy\.staging\.url is missing; expected a string or null; add it\.",
        ),
        (
            lambda p: p["gate"].pop("alpha"),
            r"params\.yaml: gate\.alpha is missing; expected a number > 0 and < 0\.5; add it\.",
        ),
        (
            lambda p: p["validate"].pop("max_examples"),
            r"validate\.max_examples is missing; expected a whole number between 1 and 100; add",
        ),
        (
            lambda p: p["gate"]["metrics"]["accuracy"].pop("margin"),
            r"gate\.metrics\.accuracy\.margin is missing; expected a number >= 0; add it\.",
        ),
        (
            lambda p: p["evaluate"]["slices"][0].pop("column"),
            r"evaluate\.slices\.0\.column is missing; expected a non-empty string; add it\.",
        ),
        (
            lambda p: p["data"].pop("task"),
            r"data\.task is missing; expected one of 'binary', 'multiclass' or 'regression'; add",
        ),
        (
            lambda p: p["data"].pop("positive_class"),
            r"data\.positive_class is missing; expected a string, a whole number, a boolean \(true "
            r"or false\) or null; add it\.",
        ),
        (
            lambda p: p["model_card"].update(intended_use=""),
            r"model_card\.intended_use = '' is invalid; expected a non-empty string",
        ),
    ],
)
def test_mistakes_name_the_file_the_key_the_value_and_what_was_expected(
    tmp_path: Path, root: Path, edit, expected: str
) -> None:
    path = _write(tmp_path, root, edit)
    with pytest.raises(ConfigError, match=expected):
        load_params(path)


def test_user_sections_are_just_as_strict(tmp_path: Path, root: Path) -> None:
    path = _write(tmp_path, root, lambda p: p["train"].update(learning_rate=0))
    with pytest.raises(
        ConfigError, match=r"train\.learning_rate = 0 is invalid; expected a number > 0"
    ):
        load_section(path, "train", TrainParams)
    path = _write(tmp_path, root, lambda p: p["prepare"].pop("test_size"))
    with pytest.raises(
        ConfigError, match=r"prepare\.test_size is missing; expected a number > 0 and < 1; add it"
    ):
        load_section(path, "prepare", PrepareParams)
    path = _write(tmp_path, root, lambda p: p.pop("prepare"))
    with pytest.raises(ConfigError, match=r"section prepare is missing"):
        load_section(path, "prepare", PrepareParams)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("data: [1, 2\n", r"is not valid YAML at line \d+, column \d+"),
        ("", r"is empty; it must be a mapping of sections"),
        ("- a\n- b\n", r"must be a mapping of sections at the top level, got list"),
        ("data: {target: y, task: binary\n", r"is not valid YAML"),
    ],
)
def test_malformed_files(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=expected):
        load_params(path)


def test_a_missing_file_says_how_to_point_at_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"does not exist; create it or pass the right path"):
        load_params(tmp_path / "nope.yaml")
