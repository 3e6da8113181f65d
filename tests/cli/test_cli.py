"""The command line: help for every command, --version, and every bad input ends in exit 2.

Each bad input is tried for real on the files a user would have, and the test checks that the
message says what to do and that no half-written output is left behind.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import click
import pandas as pd
import pytest
from click.testing import CliRunner

from mlgitops import __version__
from mlgitops.cli import main
from pipelines import prepare


def _all_commands(group=main, prefix=()):
    ctx = click.Context(group)
    for name in sorted(group.list_commands(ctx)):
        command = group.get_command(ctx, name)
        if hasattr(command, "commands"):
            yield from _all_commands(command, (*prefix, name))
        else:
            yield (*prefix, name)


@pytest.mark.parametrize("command", list(_all_commands()), ids=" ".join)
def test_every_command_has_help_with_an_example(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output
    assert len(result.output.splitlines()) > 5


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


@pytest.fixture
def project(small_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the small project, as the working directory."""
    dest = tmp_path / "p"
    shutil.copytree(small_project, dest)
    monkeypatch.chdir(dest)
    return dest


def _run(*args: str):
    return CliRunner().invoke(main, list(args))


def _outputs(project: Path) -> set[str]:
    return {
        str(p.relative_to(project))
        for p in project.rglob("*")
        if p.is_file() and ("metrics" in p.parts or "reports" in p.parts)
    }


def test_validate_and_evaluate_succeed_on_good_data(project: Path) -> None:
    result = _run("validate")
    assert result.exit_code == 0, result.output
    assert "all rules hold" in result.output
    result = _run("evaluate")
    assert result.exit_code == 0, result.output
    assert {
        "metrics/metrics.json",
        "metrics/slices.json",
        "metrics/predictions.parquet",
        "metrics/smoke_sample.json",
        "metrics/plots/roc.json",
        "metrics/plots/precision_recall.json",
        "metrics/plots/calibration.json",
        "metrics/plots/confusion.json",
        "reports/validation.json",
    } == _outputs(project)


def _break_test_split(project: Path, edit) -> None:
    path = project / "data/prepared/test.parquet"
    frame = pd.read_parquet(path)
    edit(frame).to_parquet(path, index=False)


def _set(column: str, value, rows=(0, 3, 4)):
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        if isinstance(value, str) and pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].astype(str)
        elif value is None:
            frame[column] = frame[column].astype(object)
        frame.loc[list(rows), column] = value
        return frame

    return edit


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda f: f.drop(columns=["occupation"]), "column occupation: missing_column"),
        (_set("age", "forty"), "column age: dtype (expected integer values): 3 rows"),
        (_set("hours_per_week", 170), "column hours_per_week: range (expected values in 1..99)"),
        (_set("income", None), "column income: not_null (expected no missing values): 3 rows"),
        (_set("workclass", "Astronaut"), "column workclass: allowed (expected one of Private"),
    ],
    ids=["missing column", "wrong dtype", "out of range", "null target", "unseen category"],
)
def test_validate_names_the_column_rule_count_and_examples(
    project: Path, edit, expected: str
) -> None:
    _break_test_split(project, edit)
    result = _run("validate")
    assert result.exit_code == 2
    assert expected in result.output
    assert "e.g. row" in result.output or "missing_column" in expected
    assert "fix the data or the schema" in result.output
    report = (project / "reports/validation.json").read_text()
    assert '"ok": false' in report


def test_numbers_stored_as_text_are_wrong_on_every_row(project: Path) -> None:
    _break_test_split(project, lambda f: f.astype({"age": str}))
    result = _run("validate")
    assert result.exit_code == 2
    assert "column age: dtype (expected integer values): 750 rows" in result.output


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "is empty (0 bytes)"),
        (b"PAR1 this is not parquet", "could not be read as parquet"),
    ],
    ids=["empty file", "corrupt parquet"],
)
def test_unreadable_data_files(project: Path, content: bytes, expected: str) -> None:
    (project / "data/prepared/test.parquet").write_bytes(content)
    for command in ("validate", "evaluate"):
        result = _run(command)
        assert result.exit_code == 2, command
        assert expected in result.output
    assert _outputs(project) == set()


def test_evaluate_on_data_without_a_feature_writes_nothing(project: Path) -> None:
    _break_test_split(project, lambda f: f.drop(columns=["age"]))
    result = _run("evaluate")
    assert result.exit_code == 2
    assert "lacks the model's input column(s) age" in result.output
    assert _outputs(project) == set()


def test_evaluate_with_a_null_target_writes_nothing(project: Path) -> None:
    _break_test_split(project, _set("income", None))
    result = _run("evaluate")
    assert result.exit_code == 2
    assert "3 row(s) with a missing target" in result.output
    assert _outputs(project) == set()


def test_text_in_a_numeric_feature_is_bad_input_not_a_crash(project: Path) -> None:
    # Before: ValueError (could not convert string to float) from inside the model, exit 1.
    _break_test_split(project, _set("age", "forty", rows=(3, 9)))
    for command in ("evaluate", "profile"):
        result = _run(command)
        assert result.exit_code == 2, (command, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert "data/prepared/test.parquet does not match the model's input schema" in result.output
        assert "column age: dtype (expected integer values): 2 rows (e.g. row" in result.output
        assert "'forty'" in result.output
        assert "fix those values" in result.output
    assert _outputs(project) == set()
    assert not (project / "models/profile.json").exists()


def _with_id(value, rows=(1, 2)):
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.astype({"row_id": "float64"}) if value is None else frame.copy()
        frame.loc[list(rows), "row_id"] = frame.loc[0, "row_id"] if value == "dup" else value
        return frame

    return edit


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda f: f.drop(columns=["row_id"]), "has no id column row_id (the model's id_column"),
        (_with_id(None), "column row_id (the row id) is null on 2 row(s) (e.g. null)"),
        (_with_id("dup"), "column row_id (the row id) is not unique on 3 row(s) (e.g. "),
        (
            _set("income", "maybe", rows=(2, 7)),
            "column income (the target) has 2 row(s) with a label the model does not know",
        ),
    ],
    ids=["no id column", "null ids", "duplicate ids", "unknown label"],
)
def test_evaluate_refuses_rows_the_gate_cannot_pair_or_count(
    project: Path, edit, expected: str
) -> None:
    # Before: ids were not checked, and 'maybe' was silently counted as a negative.
    _break_test_split(project, edit)
    result = _run("evaluate")
    assert result.exit_code == 2, result.output
    assert "data/prepared/test.parquet" in result.output
    assert expected in result.output
    assert _outputs(project) == set()


def test_malformed_params(project: Path) -> None:
    (project / "params.yaml").write_text("data: [unclosed\n")
    for command in ("validate", "evaluate"):
        result = _run(command)
        assert result.exit_code == 2
        assert "params.yaml is not valid YAML at line" in result.output
    assert _outputs(project) == set()


def test_a_missing_model_says_how_to_get_one(project: Path) -> None:
    (project / "models/model.skops").unlink()
    result = _run("evaluate")
    assert result.exit_code == 2
    assert "run the train stage or dvc pull" in result.output


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "is empty (0 bytes)"),
        ('row_id,age\n1,"unterminated\n', "could not be read as csv"),
        ("row_id,age\n", "has no rows"),
        (
            "row_id,age\n1,30\n2,31\n",
            "raw data raw.csv has no column income (data.target); its columns are row_id, age: "
            "add the column, or set data.target in params.yaml",
        ),
        (
            "row_id,age,income\n1,30,a\nx,31,b\n",
            "raw data raw.csv: column row_id (data.id_column) has 1 row(s) whose id is missing or "
            "not a whole number (e.g. data row 2: 'x'); the split hashes each row's id",
        ),
        ("row_id,age,income\n1,30,a\n,31,b\n3,32,a\n", "1 row(s) whose id is missing or not"),
        ("row_id,age,income\n1,30,a\n,31,b\n", "(e.g. data row 2: null)"),
        ("row_id,age,income\n1,30,a\n2.5,31,b\n", "(e.g. data row 2: 2.5)"),
        (
            "row_id,age,income\n1,30,a\n7,31,b\n7,32,a\n1,33,b\n2,34,a\n",
            "column row_id (data.id_column) has 4 rows sharing an id (e.g. 1, 7); give every "
            "row its own id",
        ),
    ],
    ids=[
        "empty csv",
        "corrupt csv",
        "header only",
        "no target column",
        "text id",
        "null id",
        "null id example",
        "fractional id",
        "duplicate ids",
    ],
)
@pytest.mark.filterwarnings("error")  # null ids used to reach a uint64 cast (RuntimeWarning)
def test_prepare_refuses_bad_raw_files(
    project: Path, content: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "raw.csv").write_text(content)
    before = (project / "data/prepared/train.parquet").read_bytes()
    code = prepare.main(
        ["--raw", "raw.csv", "--train", "data/prepared/train.parquet", "--test", "t.parquet"]
    )
    assert code == 2
    assert expected in capsys.readouterr().err
    assert (project / "data/prepared/train.parquet").read_bytes() == before
    assert not (project / "t.parquet").exists()


def test_the_command_registry_lists_every_command_of_every_module() -> None:
    import importlib
    import pkgutil

    from mlgitops import commands

    found = {}
    for info in pkgutil.iter_modules(commands.__path__):
        if not info.name.startswith("_"):
            module = importlib.import_module(f"mlgitops.commands.{info.name}")
            found.update({c.name: info.name for c in module.COMMANDS})
    assert found == commands.REGISTRY
