"""drift.yml, run through the workflow harness: the registry, the one issue, the retraining PR.

Real git, real DVC (a local remote), real GTO tags: main's model is registered as v0.1.0 and
assigned to prod, and the check job fetches that version's model and profile through DVC from a
fresh checkout. GitHub's API is the one thing replaced (``gh`` is the harness's recording shim,
src/mlgitops/localci/shim.py), so the issues and the pull request are read back from the forge.

Before any run a person has opened an issue of their own labelled ``drift``. Then four runs: a
scheduled run on a shifted batch opens the check's own drift issue (the person's is left alone);
a manual run with a retraining request updates that same issue (a comment, never a second
issue) and opens the retraining PR; a manual run on a batch without drift says so once on the
check's issue and leaves it open; a second such run posts nothing more.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mlgitops import datasets
from mlgitops.drift_report import ISSUE_MARKER
from mlgitops.localci.harness import Forge
from mlgitops.localci.sandbox import run
from tests.workflows.conftest import RAW_ROWS, edit_params, trained_forge

pytestmark = pytest.mark.e2e

NAME = "income-model"
BUMP_SEED = """\
# The example's "refresh the training data": here, a new split seed (what a retraining PR changes).
import yaml
with open("params.yaml") as handle:
    params = yaml.safe_load(handle)
params["prepare"]["seed"] += 1
with open("params.yaml", "w") as handle:
    yaml.safe_dump(params, handle, sort_keys=False)
"""


def _batches(dev: Path) -> None:
    fresh = datasets.load("adult").iloc[RAW_ROWS:]
    clean = fresh.sample(400, random_state=1).drop(columns=["income"])
    drifted = fresh.sample(400, random_state=2).drop(columns=["income"])
    drifted["age"] = drifted["age"] + 10
    drifted["hours_per_week"] = (drifted["hours_per_week"] * 1.3).round().astype("int64")
    folder = dev / "data" / "production"
    folder.mkdir(parents=True, exist_ok=True)
    drifted.to_parquet(folder / "predictions.parquet", index=False)  # drift.source.path
    clean.to_parquet(folder / "clean.parquet", index=False)


@pytest.fixture(scope="module")
def forge(tmp_path_factory: pytest.TempPathFactory) -> Forge:
    forge = trained_forge(tmp_path_factory.mktemp("drift-forge"), dvc_remote=True)
    dev = forge.dev
    run(dev, "gto", "register", NAME, "HEAD", "--version", "v0.1.0")
    run(dev, "gto", "assign", NAME, "--version", "v0.1.0", "--stage", "prod")
    _batches(dev)
    (dev / "scripts").mkdir()
    (dev / "scripts" / "bump_seed.py").write_text(BUMP_SEED)
    edit_params(
        dev, lambda p: p["drift"]["retrain"].update(command=["python", "scripts/bump_seed.py"])
    )
    run(dev, "git", "add", "-A")
    run(dev, "git", "commit", "-q", "-m", "Production batches; the retraining command")
    run(dev, "git", "push", "-q", "origin", "main", "--tags")
    return forge


HUMAN_BODY = "Our dashboard shows fewer young applicants since Monday; is the model affected?"


def _human_issue(forge: Forge) -> int:
    """An issue a person opened and labelled drift (as on GitHub, through the web)."""
    forge.add_labels("drift")
    state = forge.state
    number = state["next_number"]
    state["next_number"] += 1
    state["issues"][str(number)] = {
        "number": number,
        "title": "Is the model drifting?",
        "body": HUMAN_BODY,
        "labels": ["drift"],
        "assignees": [],
        "state": "open",
        "author": "octocat",
        "created_at": "2024-06-01T09:00:00Z",
        "updated_at": "2024-06-01T09:00:00Z",
        "edits": 0,
    }
    forge.save_state(state)
    return number


@pytest.fixture(scope="module")
def runs(forge: Forge) -> dict:
    """The four runs, in order (each sees what the ones before posted)."""
    human = _human_issue(forge)
    before = forge.issues("drift")
    first = forge.run("drift.yml", forge.schedule())
    after_first = {"issues": forge.issues("drift"), "pulls": dict(forge.pulls())}
    second = forge.run("drift.yml", forge.workflow_dispatch({"stage": "prod", "retrain": "yes"}))
    after_second = {"issues": forge.issues("drift"), "pulls": dict(forge.pulls())}
    clean = {"source": "data/production/clean.parquet"}
    third = forge.run("drift.yml", forge.workflow_dispatch(clean))
    after_third = {"issues": forge.issues("drift"), "comments": forge.comments()}
    fourth = forge.run("drift.yml", forge.workflow_dispatch(clean))
    return {
        "human": human,
        "before": before,
        "first": first,
        "after_first": after_first,
        "second": second,
        "after_second": after_second,
        "third": third,
        "after_third": after_third,
        "fourth": fourth,
    }


HEADLINE = "Drift in 2 of 12 features: age, hours_per_week"


def _own(issues: list[dict], human: int) -> list[dict]:
    return [i for i in issues if i["number"] != human]


def test_a_scheduled_run_on_drift_opens_the_checks_own_issue(forge: Forge, runs: dict) -> None:
    result = runs["first"]
    check = result.job("check")
    assert check.outputs["drifted"] == "true" and check.outputs["headline"] == HEADLINE
    assert check.outputs["alarm"] == "true"
    assert check.permissions == {"contents": "read"}
    assert check.summary.startswith(f"## ⚠️ {HEADLINE}")
    [issue] = _own(runs["after_first"]["issues"], runs["human"])
    assert issue["title"] == HEADLINE and issue["labels"] == ["drift"]
    body = (check.workspace / "reports" / "drift-issue.md").read_text()
    assert issue["body"] == body and body.startswith(ISSUE_MARKER + "\n")
    assert "(stage `prod`)" in body and "v0.1.0" in body  # the registry's version
    assert result.job("issue").permissions == {"issues": "write"}
    assert result.job("retrain").result == "skipped"  # drift.retrain.enabled is false
    assert runs["after_first"]["pulls"] == {}


def test_a_persons_issue_labelled_drift_is_never_touched(forge: Forge, runs: dict) -> None:
    [before] = runs["before"]
    for stage in ("after_first", "after_second", "after_third"):
        [human] = [i for i in runs[stage]["issues"] if i["number"] == runs["human"]]
        assert human == before, stage  # same title, body, labels, state; no edit
    assert forge.comments(f"issue/{runs['human']}") == []
    [human] = [i for i in forge.issues("drift") if i["number"] == runs["human"]]
    assert human["body"] == HUMAN_BODY and human["edits"] == 0


def test_another_drifted_run_updates_that_issue_and_opens_the_retraining_pr(
    forge: Forge, runs: dict
) -> None:
    [before] = _own(runs["after_first"]["issues"], runs["human"])
    [issue] = _own(runs["after_second"]["issues"], runs["human"])  # still one issue of its own
    assert issue["number"] == before["number"] and issue["edits"] == 1
    assert issue["title"] == HEADLINE and issue["body"].startswith(ISSUE_MARKER)
    [comment, *_] = forge.comments(f"issue/{issue['number']}")
    assert comment["body"].startswith(f"The drift check still finds: {HEADLINE}")
    retrain = runs["second"].job("retrain")
    assert retrain.result == "success"
    assert retrain.permissions == {"contents": "write", "pull-requests": "write"}
    [pull] = runs["after_second"]["pulls"].values()
    assert pull["title"] == f"Retrain: {HEADLINE}" and pull["labels"] == ["drift"]
    assert pull["head_ref"].startswith("drift/retrain-") and pull["base_ref"] == "main"
    changed = forge.origin_git("diff", "--name-only", f"main...{pull['head_ref']}")
    assert changed.split() == ["params.yaml"]  # what the retraining command refreshed


def test_a_run_without_drift_says_so_once_and_leaves_the_issue_open(
    forge: Forge, runs: dict
) -> None:
    result = runs["third"]
    check = result.job("check")
    assert check.outputs["drifted"] == "false" and check.outputs["alarm"] == "false"
    assert check.summary.startswith("## ✅ No drift")
    assert result.job("issue").result == "success" and result.job("retrain").result == "skipped"
    [own] = _own(runs["after_third"]["issues"], runs["human"])
    [before] = _own(runs["after_second"]["issues"], runs["human"])
    assert own["state"] == "open" and own["body"] == before["body"]  # not closed, not edited
    comments = forge.comments(f"issue/{own['number']}")
    assert [c["body"].split(" (")[0] for c in comments] == [
        f"The drift check still finds: {HEADLINE}",
        "No drift in the run of " + comments[-1]["created_at"][:10],
    ]
    assert "does not close this issue on its own" in comments[-1]["body"]
    report = forge.artifact(result.run_id, "drift-report")
    assert sorted(p.name for p in report.iterdir()) == ["drift.json", "drift.md"]
    assert pd.read_json(report / "drift.json", typ="series")["verdict"] == "no_drift"
    # A second quiet run posts nothing more: once per quiet spell.
    assert runs["fourth"].job("issue").result == "success"
    assert forge.comments() == runs["after_third"]["comments"]
    assert forge.issues("drift") == runs["after_third"]["issues"]
