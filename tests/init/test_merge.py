"""What ``mlgitops init`` may and may not change: idempotent, never overwriting without --force,
the user's own stages, sections and comments kept byte for byte, and --force replacing only the
framework's parts.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import yaml

from mlgitops.params import FRAMEWORK_SECTIONS, load_params
from tests.init.conftest import init
from tests.init.project import DVC_YAML, INIT_ARGS, PARAMS_YAML, snapshot


def _only_insertions(before: str, after: str) -> list[str]:
    """The lines of ``before`` that ``after`` changed or dropped (none: it only added lines)."""
    ops = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines(), autojunk=False)
    return [
        line
        for tag, i1, i2, _, _ in ops.get_opcodes()
        if tag in ("replace", "delete")
        for line in before.splitlines()[i1:i2]
    ]


def test_the_users_stages_sections_and_comments_stay_byte_for_byte(adopted: Path) -> None:
    dvc = (adopted / "dvc.yaml").read_text()
    params = (adopted / "params.yaml").read_text()
    assert dvc.startswith(DVC_YAML)  # the user's stages first, untouched; the framework's after
    assert params.startswith(PARAMS_YAML)
    assert _only_insertions(DVC_YAML, dvc) == []
    assert _only_insertions(PARAMS_YAML, params) == []
    stages = yaml.safe_load(dvc)["stages"]
    assert list(stages) == ["prepare", "train", "validate", "evaluate", "profile"]
    assert set(yaml.safe_load(params)) == {"prepare", "train", *FRAMEWORK_SECTIONS}


def test_every_framework_key_gets_a_comment(adopted: Path) -> None:
    added = (adopted / "params.yaml").read_text()[len(PARAMS_YAML) :]
    for line in added.splitlines():
        if line.startswith(" ") and ":" in line:
            assert "  # " in line, f"no comment on {line.strip()!r}"
    lines = added.splitlines()
    for section in FRAMEWORK_SECTIONS:
        assert lines[lines.index(f"{section}:") - 1].startswith("# "), f"no header on {section}"


def test_a_second_run_changes_nothing(adopted: Path) -> None:
    before = snapshot(adopted)
    again = init(adopted, *INIT_ARGS)
    assert again.exit_code == 0, again.output
    assert "the framework is in place; nothing to do" in again.output
    bare = init(adopted)  # the settings are read back from what the first run wrote
    assert bare.exit_code == 0, bare.output
    check = init(adopted, "--check")
    assert check.exit_code == 0, check.output
    assert snapshot(adopted) == before


def test_check_writes_nothing_and_says_whether_init_would(user_repo: Path) -> None:
    before = snapshot(user_repo)
    result = init(user_repo, *INIT_ARGS, "--check")
    assert result.exit_code == 1, result.output
    assert "would write" in result.output
    assert snapshot(user_repo) == before


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def _tamper_with_framework_parts(repo: Path) -> None:
    """What a user (or an older mlgitops) may have done to the framework's parts."""
    _edit(repo / ".github/workflows/pr.yml", "timeout-minutes: 30", "timeout-minutes: 90")
    _edit(repo / "dvc.yaml", "      - evaluate\n", "      - evaluate\n      - gate\n")
    _edit(repo / "params.yaml", "  task: regression ", "  task: binary     ")
    _edit(repo / "data/schema.yaml", "min_rows: 44", "min_rows: 10")


def test_without_force_a_difference_stops_everything(adopted: Path) -> None:
    _tamper_with_framework_parts(adopted)
    (adopted / ".github/workflows/drift.yml").unlink()  # one part missing, which init could add
    before = snapshot(adopted)
    result = init(adopted, *INIT_ARGS)
    assert result.exit_code == 2, result.output
    out = result.output
    assert "conflict  .github/workflows/pr.yml (differs from the rendering from line" in out
    assert "conflict  dvc.yaml: stage evaluate (params differs; --force replaces it)" in out
    assert "conflict  params.yaml: data.task (is binary, the command line says regression" in out
    assert "conflict  data/schema.yaml" in out
    assert "create    .github/workflows/drift.yml" in out
    assert "nothing written" in out
    assert snapshot(adopted) == before


def test_a_key_the_framework_does_not_know_is_a_conflict(adopted: Path) -> None:
    _edit(
        adopted / "params.yaml",
        "  seed: 0                     # Seeds the subsample",
        "  sed: 0\n  seed: 0  # Seeds the subsample",
    )
    before = snapshot(adopted)
    result = init(adopted)
    assert result.exit_code == 2
    assert "conflict  params.yaml: profile.sed (not a setting the framework knows" in result.output
    assert snapshot(adopted) == before


def test_missing_keys_are_added_and_tuned_values_kept(adopted: Path) -> None:
    params = adopted / "params.yaml"
    _edit(params, "  chart_bins: 12              # Bars per histogram in the report.\n", "")
    _edit(params, "  alpha: 0.05                 # Level of the family", "  alpha: 0.01  # ours")
    result = init(adopted)
    assert result.exit_code == 0, result.output
    assert "add       params.yaml: drift.chart_bins" in result.output
    assert "kept your values of drift.alpha" in result.output
    drift = load_params(params).drift
    assert (drift.chart_bins, drift.alpha) == (12, 0.01)
    text = params.read_text()
    assert "\n  alpha: 0.01  # ours" in text
    seed = "  seed: 0                     # Seeds that bootstrap: the same batch gives the same"
    assert f"{seed} report.\n  chart_bins: 12  " in text  # back where it belongs


def test_force_replaces_only_the_frameworks_parts(adopted: Path) -> None:
    rendered = snapshot(adopted)
    _tamper_with_framework_parts(adopted)
    # The user's own parts change too, between the two runs: force must leave them alone.
    _edit(adopted / "dvc.yaml", "    deps:  # what the fit reads\n", "    deps:  # ours, edited\n")
    _edit(adopted / "params.yaml", "  alpha: 1.0 ", "  alpha: 3.0 ")
    (adopted / "README.md").write_text("ours\n")
    result = init(adopted, *INIT_ARGS, "--force")
    assert result.exit_code == 0, result.output
    for line in (
        "replace   .github/workflows/pr.yml",
        "replace   dvc.yaml: stage evaluate",
        "replace   params.yaml: section data",
        "replace   data/schema.yaml",
    ):
        assert line in result.output
    now = snapshot(adopted)
    for path in (".github/workflows/pr.yml", "data/schema.yaml"):
        assert now[path] == rendered[path]
    # dvc.yaml and params.yaml are what the first run rendered, but for the user's edits.
    assert now["dvc.yaml"] == rendered["dvc.yaml"].replace(
        b"deps:  # what the fit reads", b"deps:  # ours, edited"
    )
    assert now["params.yaml"] == rendered["params.yaml"].replace(b"alpha: 1.0 ", b"alpha: 3.0 ")
    assert now["README.md"] == b"ours\n"
    assert init(adopted, "--check").exit_code == 0


def test_force_after_a_task_change_swaps_the_plots_and_the_gate(adopted: Path) -> None:
    result = init(adopted, "--task", "binary", "--positive-class", "1")
    assert result.exit_code == 2
    assert "plot Predicted vs actual" in result.output
    result = init(adopted, "--task", "binary", "--positive-class", "1", "--force")
    assert result.exit_code == 0, result.output
    assert "remove    dvc.yaml: plot Predicted vs actual" in result.output
    dvc = yaml.safe_load((adopted / "dvc.yaml").read_text())
    titles = [next(iter(p)) for p in dvc["plots"]]
    assert titles == ["ROC", "Precision-recall", "Calibration", "Confusion matrix"]
    params = load_params(adopted / "params.yaml")
    assert params.data.positive_class == 1
    assert set(params.gate.metrics) == {
        "accuracy",
        "roc_auc",
        "f1_score",
        "log_loss",
        "brier_score_loss",
    }


def test_only_brings_the_parts_asked_for(user_repo: Path) -> None:
    result = init(user_repo, *INIT_ARGS, "--only", "workflows")
    assert result.exit_code == 0, result.output
    assert (user_repo / ".github/workflows/pr.yml").is_file()
    assert (user_repo / "dvc.yaml").read_text() == DVC_YAML
    assert (user_repo / "params.yaml").read_text() == PARAMS_YAML


def test_what_init_needs_is_asked_for_in_one_sentence(user_repo: Path) -> None:
    cases = [
        ((), "init needs --name: params.yaml has no model.name yet."),
        (
            ("--name", "m", "--task", "binary", "--target", "progression", "--id-column", "row_id"),
            "a binary task needs --positive-class",
        ),
        (
            (*INIT_ARGS[:-6], "--train-stage", "prepare"),
            "stage prepare in dvc.yaml does not write the model models/diabetes.skops",
        ),
        (
            [a if a != "models/diabetes.skops" else "models/other.skops" for a in INIT_ARGS[:-4]],
            "no stage in dvc.yaml writes the model models/other.skops (paths.model)",
        ),
        (
            [a if a != "progression" else "nope" for a in INIT_ARGS],
            "has no column nope (the target)",
        ),
        (
            [a for a in INIT_ARGS if a not in ("--data", "data/diabetes.csv")],
            "data/schema.yaml (paths.schema_file) does not exist; pass --data FILE",
        ),
    ]
    before = snapshot(user_repo)
    for args, message in cases:
        result = init(user_repo, *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, result.output
    assert snapshot(user_repo) == before
