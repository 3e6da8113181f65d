"""deploy.yml's deploy job, through the harness: a pushed stage tag, a manual rollback, and a deploy
whose smoke test fails.

What deploy.yml documents (its header): the version a stage points at is deployed to the target
params.yaml on main declares for it and smoke-tested; a manual run deploys or rolls back a stage;
when the smoke test fails, the stage is assigned back to the version before it (a new tag: the
history only grows) and the job fails.

Set-up, once per module: the example project trained on main, three versions registered with
``mlgitops release`` (what release.yml's release job runs; its whole run is tested in
test_release_workflow.py), staging at the first and prod moved from the first to the second, as
earlier deploys left them. Stage tags are made as ``gto assign`` makes them (through
:func:`mlgitops.registry.assign_stage`, which keeps tag times a second apart so GTO orders them)
and pushed to the bare origin; each push is the event deploy.yml runs for. The tests only move
stages forward (but the rollback, which is backwards by design), and each one reads the state it
starts from, so they pass in any order and on any xdist worker.
"""

from __future__ import annotations

import sys

import pytest
import yaml

from mlgitops.localci.harness import Forge
from mlgitops.localci.sandbox import run
from tests.workflows.conftest import edit_params, set_param, trained_forge

pytestmark = pytest.mark.e2e

NAME = "income-model"
DEPLOY_STEP = "Deploy or roll back, smoke-test, and keep the tags the truth"
#: Nothing listens on the discard port of loopback: a smoke test against it fails at once.
DEAD_URL = "http://127.0.0.1:9"


def _release(forge: Forge) -> str:
    outputs = forge.root / "release-outputs.txt"
    outputs.write_text("")
    run(forge.dev, "mlgitops", "release", "--outputs", str(outputs))
    values = dict(line.split("=", 1) for line in outputs.read_text().splitlines() if "=" in line)
    assert values["status"] == "released", values
    return values["version"]


def _registry(forge: Forge, code: str) -> str:
    """Run registry code in the developer clone (the sandbox's git identity and environment)."""
    prelude = f"from mlgitops import registry as r\nrepo, name = {str(forge.dev)!r}, {NAME!r}\n"
    return run(forge.dev, sys.executable, "-c", prelude + code).stdout.strip()


def _fetch(forge: Forge) -> None:
    run(forge.dev, "git", "fetch", "-q", "--force", "--tags", "origin")


def _stage(forge: Forge, stage: str) -> str | None:
    """The version ``stage`` points at in origin (after fetching its tags)."""
    _fetch(forge)
    found = _registry(forge, f"e = r.resolve_stage(repo, name, {stage!r}); print(e and e.version)")
    return None if found == "None" else found


def _assign(forge: Forge, stage: str, version: str) -> str:
    """A person's ``gto assign``: the new stage tag, made in the developer clone (not pushed)."""
    _fetch(forge)
    return _registry(
        forge,
        f"print(r.assign_stage(repo, name, {stage!r}, {version!r}, 'assigned by hand'))",
    )


def _tag_version(forge: Forge, tag: str) -> str:
    """The version a stage tag in origin assigns (the tag points at that version's commit)."""
    _fetch(forge)
    return _registry(
        forge,
        f"print(next(e.version for e in r.stage_history(repo, name, {tag.split('#')[1]!r}) "
        f"if e.tag == {tag!r}))",
    )


def _new_tags(forge: Forge, before: list[str], stage: str) -> list[str]:
    return sorted(set(_stage_tags(forge, stage)) - set(before))


def _stage_tags(forge: Forge, stage: str) -> list[str]:
    return [t for t in forge.origin_tags() if t.startswith(f"{NAME}#{stage}#")]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> dict:
    forge = trained_forge(tmp_path_factory.mktemp("deploy-forge"), dvc_remote=True)
    versions = [_release(forge)]
    for rate in (0.12, 0.15):
        set_param(forge.dev, "train", "learning_rate", rate)
        run(forge.dev, "dvc", "repro", "-q")
        run(forge.dev, "git", "commit", "-q", "-am", f"Learning rate {rate}")
        run(forge.dev, "git", "push", "-q", "origin", "main")
        versions.append(_release(forge))
    assert len(set(versions)) == 3, versions
    for stage, version in (("staging", versions[0]), ("prod", versions[0]), ("prod", versions[1])):
        tag = _assign(forge, stage, version)
        run(forge.dev, "git", "push", "-q", "origin", f"refs/tags/{tag}")
    return {"forge": forge, "versions": versions}


def test_a_pushed_stage_tag_is_deployed_and_smoke_tested(registry) -> None:
    forge: Forge = registry["forge"]
    first, second, _ = registry["versions"]
    assert _stage(forge, "staging") in (first, second)
    tag = _assign(forge, "staging", second)
    result = forge.run("deploy.yml", forge.push_tag(tag))
    assert result.job("stage").outputs == {"stage": "staging", "action": "deploy"}
    deploy = result.job("deploy")
    assert deploy.result == "success"
    assert deploy.environment == "staging"
    assert deploy.permissions == {"contents": "write"}
    output = deploy.step(DEPLOY_STEP).output
    assert f"deployed {NAME} {second} to staging with target server" in output, output
    assert "smoke test passed" in output, output
    # The tag the person pushed stays the truth: in origin, and staging points at it.
    assert tag in forge.origin_tags()
    assert _stage(forge, "staging") == second


def test_a_manual_rollback_assigns_prod_back_to_the_version_before(registry) -> None:
    forge: Forge = registry["forge"]
    _, second, third = registry["versions"]
    # Prod goes forward to the newest version (a pushed tag, deployed), then is rolled back.
    current = _stage(forge, "prod")
    assert current in (second, third)
    if current != third:
        forge.run("deploy.yml", forge.push_tag(_assign(forge, "prod", third)))
    assert _stage(forge, "prod") == third
    before = forge.origin_tags()
    result = forge.run(
        "deploy.yml", forge.workflow_dispatch({"stage": "prod", "action": "rollback"})
    )
    assert result.job("stage").outputs == {"stage": "prod", "action": "rollback"}
    deploy = result.job("deploy")
    assert deploy.result == "success"
    assert deploy.environment == "production"
    assert f"deployed {NAME} {second} to prod" in deploy.step(DEPLOY_STEP).output
    (new,) = _new_tags(forge, before, "prod")
    assert _tag_version(forge, new) == second  # a new tag, pointing at the version before
    assert _stage(forge, "prod") == second
    assert forge.origin_git("rev-parse", f"{new}^{{commit}}") == _registry(
        forge, f"print(r.find_version(repo, name, {second!r}).commit)"
    )


def _staging_target(forge: Forge, target: dict) -> None:
    def edit(params: dict) -> None:
        params["deploy"]["staging"] = target

    edit_params(forge.dev, edit)
    run(forge.dev, "git", "commit", "-q", "-am", f"Staging target: {target['target']}")
    run(forge.dev, "git", "push", "-q", "origin", "main")


def test_a_failed_smoke_test_reverts_the_stage_and_fails_the_job(registry) -> None:
    forge: Forge = registry["forge"]
    first, second, third = registry["versions"]
    earlier = _stage(forge, "staging")
    assert earlier in (first, second)
    working = yaml.safe_load((forge.dev / "params.yaml").read_text())["deploy"]["staging"]
    # The deploy command "succeeds", but what it deployed does not answer: the smoke test fails.
    _staging_target(
        forge,
        {
            "target": "command",
            "command": ["python", "-c", "pass"],
            "url": DEAD_URL,
            "bundle_dir": None,
            "smoke_timeout": 2.0,
        },
    )
    try:
        tag = _assign(forge, "staging", third)
        before = forge.origin_tags()
        result = forge.run("deploy.yml", forge.push_tag(tag), check=False)
    finally:
        _staging_target(forge, working)
    deploy = result.job("deploy")
    assert result.conclusion == "failure"
    assert deploy.result == "failure"
    step = deploy.step(DEPLOY_STEP)
    assert step.outcome == "failure" and step.exit_code == 1, step.output
    assert f"deploy of {NAME} {third} to staging failed, staging stays at {earlier}" in step.output
    assert "smoke test failed" in step.output
    # The stage is assigned back with a new tag (the pushed one stays: the history only grows).
    assert tag in forge.origin_tags()
    (reverted,) = set(_new_tags(forge, before, "staging")) - {tag}
    assert _tag_version(forge, reverted) == earlier
    assert _stage(forge, "staging") == earlier
