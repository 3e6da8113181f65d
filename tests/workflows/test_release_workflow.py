"""release.yml after a merge, and deploy.yml on a stage tag or a manual run, through the harness.

Real git tags land in the bare origin; the GitHub release is recorded by the gh shim (the one
thin shim at the GitHub boundary). The DVC remote is a local directory, as a bucket would be.
"""

from __future__ import annotations

import pytest

from mlgitops.localci.harness import Forge, NotTriggered
from mlgitops.localci.sandbox import run
from tests.workflows.conftest import commit_on_branch, set_param

pytestmark = pytest.mark.e2e

NAME = "income-model"
BOT = "github-actions[bot]"


@pytest.fixture(scope="module")
def released(forge: Forge) -> dict:

    def change(dev):
        set_param(dev, "train", "learning_rate", 0.12)
        run(dev, "dvc", "repro", "-q")

    commit_on_branch(forge, "faster", "Raise the learning rate", change)
    run(
        forge.dev, "dvc", "push", "-q"
    )  # the PR's outputs are in the remote, as CI would leave them
    pr = forge.pull_request("faster", title="Raise the learning rate")
    push = forge.merge(pr.payload["number"])
    return {"forge": forge, "push": push, "result": forge.run("release.yml", push)}


def test_a_merge_registers_a_version_tag_in_origin_and_a_release(released) -> None:
    forge: Forge = released["forge"]
    result, push = released["result"], released["push"]
    release = result.job("release")
    tag = f"{NAME}@v1.0.0"
    assert release.outputs == {"status": "released", "version": "v1.0.0", "tag": tag}
    # A real annotated tag on the merge commit, made by the bot, pushed to origin.
    assert tag in forge.origin_tags()
    assert forge.origin_git("rev-parse", f"{tag}^{{commit}}") == push.sha
    assert forge.origin_git("cat-file", "-t", tag) == "tag"
    assert forge.origin_git("for-each-ref", "--format=%(taggername)", f"refs/tags/{tag}") == BOT
    # The GitHub release: the model card as its notes, the card's data as its asset.
    card = (release.workspace / release.step("release").outputs["card"]).read_text()
    recorded = forge.releases()[tag]
    assert recorded["notes"] == card
    assert recorded["commit"] == push.sha
    assert [a["name"] for a in recorded["assets"]] == ["model_card.json"]
    assert card.startswith(f"# Model card: {NAME} v1.0.0")
    assert card in release.summary
    assert release.permissions == {"contents": "write"}


def test_the_release_deploys_staging_then_prod(released) -> None:
    forge: Forge = released["forge"]
    result = released["result"]
    assert result.job("staging").environment == "staging"
    assert result.job("production").environment == "production"
    assert result.job("staging").result == "success"
    assert result.job("production").result == "success"
    tags = forge.origin_tags()
    assert any(t.startswith(f"{NAME}#staging#") for t in tags), tags
    assert any(t.startswith(f"{NAME}#prod#") for t in tags), tags


def test_a_redelivered_push_releases_nothing_twice(released) -> None:
    forge: Forge = released["forge"]
    before_tags = forge.origin_tags()
    again = forge.run("release.yml", released["push"])
    assert again.job("release").outputs["status"] == "already_released"
    assert (
        "exists already"
        in again.job("release").step("Publish the model card as a GitHub release").output
    )
    assert list(forge.releases()) == [f"{NAME}@v1.0.0"]
    assert [t for t in forge.origin_tags() if "@" in t] == [t for t in before_tags if "@" in t]


def test_deploy_yml_acts_only_on_stage_tags(released) -> None:
    forge: Forge = released["forge"]
    # A stage with no deploy target: a notice, and nothing deployed.
    run(forge.dev, "git", "tag", f"{NAME}#qa#9", "main")
    qa = forge.run("deploy.yml", forge.push_tag(f"{NAME}#qa#9"))
    assert qa.job("stage").outputs == {"stage": "", "action": "deploy"}
    assert ("notice", "no deploy target for stage 'qa'") in qa.job("stage").annotations
    assert qa.job("deploy").result == "skipped"
    # Version tags are not stage tags: deploy.yml does not start for them.
    run(forge.dev, "git", "tag", "v-test", "main")
    with pytest.raises(NotTriggered):
        forge.run("deploy.yml", forge.push_tag("v-test"))
