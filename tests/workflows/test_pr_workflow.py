"""pr.yml and pr-comment.yml, run through the harness on real PR events.

GitHub's API is the one thing replaced: ``cml`` and ``gh`` are the harness's recording shim
(src/mlgitops/localci/shim.py), so the comment a run would post is read back from the forge's state.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mlgitops.localci.harness import Forge, RunResult
from tests.workflows.conftest import commit_on_branch, set_param

pytestmark = pytest.mark.e2e

WATERMARK = "mlgitops PR check"


@contextmanager
def _tampered(artifact: Path, scratch: Path) -> Iterator[Path]:
    """The artifact, to edit as a fork could; put back as it was afterwards."""
    saved = scratch / "saved-artifact"
    shutil.copytree(artifact, saved)
    try:
        yield artifact
    finally:
        shutil.rmtree(artifact)
        shutil.copytree(saved, artifact)


def _report(result: RunResult) -> str:
    workspace = result.job("check").workspace
    assert workspace is not None
    return (workspace / "reports" / "pr.md").read_text()


@pytest.fixture(scope="module")
def same_repo_pr(forge: Forge) -> dict:
    """The first push of a PR: another seed for the boosting's tie-breaking (the same model)."""
    commit_on_branch(forge, "reseed", "Reseed", lambda d: set_param(d, "train", "seed", 1))
    event = forge.pull_request("reseed", title="Reseed the training")
    return {"event": event, "result": forge.run("pr.yml", event)}


def test_the_pr_check_posts_its_report_as_the_one_comment(forge: Forge, same_repo_pr) -> None:
    result, event = same_repo_pr["result"], same_repo_pr["event"]
    number = event.payload["number"]
    job = result.job("check")
    report = _report(result)
    assert report.startswith("## ✅ "), report[:200]
    assert "| `train.seed` | `0` | `1` |" in report
    # The recorded comment is the report, with the watermark, on this PR.
    [comment] = forge.comments(f"pr/{number}")
    assert comment["body"] == report
    assert comment["watermark"] == WATERMARK
    # The job summary holds the same Markdown.
    assert job.summary == report
    # What the comment workflow gets: the report, the data and the PR number.
    artifact = forge.artifact(result.run_id, "pr-report")
    assert sorted(p.name for p in artifact.iterdir()) == ["compare.json", "pr-number.txt", "pr.md"]
    assert (artifact / "pr.md").read_text() == report
    assert (artifact / "pr-number.txt").read_text() == f"{number}\n"
    # It ran on the test-merge commit, with the base found in the full history.
    assert (
        job.step("Run actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683").outputs["ref"]
        == f"refs/pull/{number}/merge"
    )
    assert job.step("compare").outputs == {"exit-code": "0"}
    assert job.permissions == {"contents": "read", "pull-requests": "write"}


def test_a_worse_model_pushed_to_the_same_pr_updates_the_comment_and_fails(
    forge: Forge, same_repo_pr
) -> None:
    number = same_repo_pr["event"].payload["number"]
    commit_on_branch(
        forge,
        "reseed",
        "Far fewer boosting rounds",
        lambda d: set_param(d, "train", "max_iter", 3),
        base="reseed",
    )
    event = forge.pull_request("reseed", number=number)
    assert event.payload["action"] == "synchronize"
    result = forge.run("pr.yml", event, check=False)
    assert result.conclusion == "failure"
    job = result.job("check")
    failed = job.failed_step
    assert failed is not None and failed.name == "The check's verdict"
    assert failed.exit_code == 1
    assert job.step("compare").outputs == {"exit-code": "1"}
    report = _report(result)
    assert report.startswith("## ❌ Worse than main"), report[:200]
    # Open or update, never duplicate: still one comment, now the new report.
    [comment] = forge.comments(f"pr/{number}")
    assert comment["body"] == report
    assert comment["updates"] == 1
    assert job.summary == report


@pytest.fixture(scope="module")
def fork_pr(forge: Forge) -> dict:
    """A PR from a fork: the check runs with a read-only token and posts nothing itself."""
    commit_on_branch(forge, "fork-seed", "Another seed", lambda d: set_param(d, "train", "seed", 2))
    event = forge.pull_request("fork-seed", fork=True, title="Try another seed")
    return {"event": event, "result": forge.run("pr.yml", event)}


def test_a_fork_pr_gets_the_check_but_posts_no_comment(forge: Forge, fork_pr) -> None:
    result, event = fork_pr["result"], fork_pr["event"]
    job = result.job("check")
    assert job.permissions == {"contents": "read", "pull-requests": "read"}
    assert job.step("Post or update the report on the PR").outcome == "skipped"
    assert forge.comments(f"pr/{event.payload['number']}") == []
    assert job.summary == _report(result)
    # The fork's branch never reached origin, only refs/pull/N/head.
    assert "fork-seed" not in forge.origin_git("branch", "--list")


def test_pr_comment_posts_the_fork_prs_report(forge: Forge, fork_pr) -> None:
    result, event = fork_pr["result"], fork_pr["event"]
    number = event.payload["number"]
    posted = forge.run("pr-comment.yml", forge.workflow_run(result))
    job = posted.job("comment")
    assert job.permissions == {"actions": "read", "contents": "read", "pull-requests": "write"}
    assert job.step("check").outputs == {"number": str(number)}
    [comment] = forge.comments(f"pr/{number}")
    # Rendered again from compare.json by the default branch's code, not the fork's pr.md: the
    # same verdict line, then a caution that the verdict is the fork's claim.
    posted_by_fork = (forge.artifact(result.run_id, "pr-report") / "pr.md").read_text()
    heading, body = comment["body"].split("\n", 1)
    assert heading == posted_by_fork.split("\n", 1)[0] and heading.startswith("## ✅ ")
    assert body.lstrip().startswith("> [!CAUTION]\n> This report comes from [the fork's CI run](")
    assert f"/actions/runs/{result.run_id})" in body
    assert job.step("Check out this repository's default branch (never the PR's code)").outcome == (
        "success"
    )
    assert comment["watermark"] == WATERMARK
    # A second delivery of the same event updates that comment.
    forge.run("pr-comment.yml", forge.workflow_run(result))
    [comment] = forge.comments(f"pr/{number}")
    assert comment["updates"] == 1


def test_pr_comment_does_nothing_for_same_repository_prs(forge: Forge, same_repo_pr) -> None:
    before = forge.comments()
    posted = forge.run("pr-comment.yml", forge.workflow_run(same_repo_pr["result"]))
    assert posted.job("comment").result == "skipped"
    assert forge.comments() == before


@pytest.mark.parametrize(
    ("number_text", "error"),
    [
        ("{other}\n", "is at"),  # another PR's number: its head is not this run's commit
        ("12abc\n", "does not hold a PR number"),
        ("1; rm -rf /\n", "does not hold a PR number"),
    ],
)
def test_pr_comment_refuses_a_tampered_artifact(
    forge: Forge, fork_pr, same_repo_pr, tmp_path: Path, number_text: str, error: str
) -> None:
    result = fork_pr["result"]
    other = same_repo_pr["event"].payload["number"]
    before = forge.comments()
    with _tampered(forge.artifact(result.run_id, "pr-report"), tmp_path) as artifact:
        (artifact / "pr-number.txt").write_text(number_text.format(other=other))
        posted = forge.run("pr-comment.yml", forge.workflow_run(result), check=False)
    job = posted.job("comment")
    assert job.result == "failure"
    assert job.failed_step.name == "Check that the report belongs to this run's PR"
    assert any(level == "error" and error in message for level, message in job.annotations)
    assert job.step("Post or update the report on the PR").outcome == "skipped"
    assert forge.comments() == before


def test_pr_comment_neutralises_what_a_fork_writes_into_compare_json(
    forge: Forge, fork_pr, tmp_path: Path
) -> None:
    """A fork controls its run: links, images, HTML and mentions in its compare.json come out as
    plain text, and a document of another shape is not posted at all."""
    import json

    result = fork_pr["result"]
    number = fork_pr["event"].payload["number"]
    with _tampered(forge.artifact(result.run_id, "pr-report"), tmp_path) as artifact:
        doc = json.loads((artifact / "compare.json").read_text())
        doc["reason"] = (
            "all good ![x](https://evil.example/p.png) <img src=x> @maintainer "
            "[ok](https://evil.example)"
        )
        (artifact / "compare.json").write_text(json.dumps(doc))
        forge.run("pr-comment.yml", forge.workflow_run(result))
        [comment] = forge.comments(f"pr/{number}")
        body = comment["body"]
        assert "![x](" not in body and "[ok](" not in body and "<img" not in body
        assert "https://evil" not in body  # not even an autolink
        assert "@maintainer" not in body and "@\u200bmaintainer" in body
        (artifact / "compare.json").write_text(json.dumps({**doc, "schema_version": 99}))
        refused = forge.run("pr-comment.yml", forge.workflow_run(result), check=False)
    job = refused.job("comment")
    assert job.result == "failure"
    assert job.failed_step.name == "Render the comment from compare.json"
    assert job.step("Post or update the report on the PR").outcome == "skipped"


def test_a_pr_whose_data_fails_validation_is_told_why_in_its_comment(forge: Forge) -> None:
    """The check cannot run (validate stops dvc repro): the one comment says which step failed,
    quotes the error sentences and tabulates the violated rules, and the run fails."""
    import yaml

    def narrow_age(dev: Path) -> None:
        path = dev / "data" / "schema.yaml"
        schema = yaml.safe_load(path.read_text())
        schema["columns"]["age"]["max"] = 30
        path.write_text(yaml.safe_dump(schema, sort_keys=False))

    commit_on_branch(forge, "narrow-age", "Ages above 30 are errors now", narrow_age)
    event = forge.pull_request("narrow-age", title="Narrow the age range")
    result = forge.run("pr.yml", event, check=False)
    assert result.conclusion == "failure"
    job = result.job("check")
    assert job.failed_step.name == "Reproduce the pipeline"
    report = _report(result)
    assert report.startswith("## ⛔ The check could not run: Reproduce the pipeline failed")
    assert "### Data validation" in report and "| `age` | range" in report
    assert f"/actions/runs/{result.run_id})" in report
    [comment] = forge.comments(f"pr/{event.payload['number']}")
    assert comment["body"] == report
    assert job.summary == report
