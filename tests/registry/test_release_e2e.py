"""``mlgitops release`` with real git, real DVC, real GTO, a bare origin and a local DVC remote."""

from __future__ import annotations

import json
import shlex
import stat
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from tests.e2e.sandbox import run
from tests.registry.conftest import NAME, World, cli, gto_show, origin_tags

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("sandbox_env")]


def _outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def test_releasing_twice_on_the_same_commit_makes_one_tag(world: World, tmp_path: Path) -> None:
    base = world.commits["base"]
    outputs = tmp_path / "outputs"
    first = cli(world.work, "release", "--outputs", str(outputs))
    assert first.exit_code == 0, first.output
    assert f"released {NAME}@v0.1.0 (commit {base[:12]}): the first registered version" in (
        first.stdout
    )
    assert _outputs(outputs) == {
        "status": "released",
        "released": "true",
        "version": "v0.1.0",
        "tag": f"{NAME}@v0.1.0",
        "commit": base,
        "card": "reports/model_card.md",
    }
    card = (world.work / "reports" / "model_card.md").read_text()
    assert card.startswith(f"# Model card: {NAME} v0.1.0")
    assert "| accuracy |" in card and "Wilson score" in card
    assert json.loads((world.work / "reports" / "model_card.json").read_text())["version"] == (
        "v0.1.0"
    )
    # The annotated tag carries the metrics summary, and the DVC remote has the model.
    message = run(world.work, "git", "tag", "-l", "--format=%(contents)", f"{NAME}@v0.1.0").stdout
    assert "Bump: first (the first registered version)" in message
    assert "accuracy: 0.8" in message
    assert any(world.dvcstore.rglob("*")), "dvc push before the tag"

    outputs.unlink()
    again = cli(world.work, "release", "--outputs", str(outputs))
    assert again.exit_code == 0, again.output
    assert f"nothing to release: commit {base[:12]} is already registered as {NAME}@v0.1.0" in (
        again.stdout
    )
    assert _outputs(outputs)["status"] == "already_released"
    assert origin_tags(world) == {f"{NAME}@v0.1.0": base}
    assert gto_show(world.work) == {"latest": "v0.1.0"}

    # A commit whose model is byte-identical to the latest version's is not a new version.
    run(world.work, "git", "commit", "-q", "--allow-empty", "-m", "Docs only")
    same = cli(world.work, "release")
    assert same.exit_code == 0, same.output
    assert "nothing to release: the model is identical to v0.1.0's" in same.stdout
    assert list(origin_tags(world)) == [f"{NAME}@v0.1.0"]


def test_a_stale_dvc_lock_is_refused_naming_what_changed(world: World) -> None:
    params = world.work / "params.yaml"
    params.write_text(params.read_text().replace("learning_rate: 0.1", "learning_rate: 0.3"))
    run(world.work, "git", "commit", "-q", "-am", "Change a param, forget dvc repro")
    result = cli(world.work, "release", "--check")
    assert result.exit_code == 2
    assert "the committed dvc.lock does not match the code, params and data" in result.stderr
    assert "stage train: params train modified" in result.stderr
    assert "run dvc repro and commit dvc.lock" in result.stderr
    assert origin_tags(world) == {}


def test_a_tag_name_already_pointing_elsewhere_fails_loudly(world: World) -> None:
    first = run(world.work, "git", "rev-list", "--max-parents=0", "HEAD").stdout.strip()
    # Someone made a lightweight tag by hand (GTO does not count it as a registration).
    run(world.work, "git", "tag", f"{NAME}@v0.1.0", first)
    run(world.work, "git", "push", "-q", "origin", f"{NAME}@v0.1.0")
    result = cli(world.work, "release")
    assert result.exit_code == 2
    assert f"tag {NAME}@v0.1.0 already exists" in result.stderr
    assert first in result.stderr and world.commits["base"] in result.stderr
    assert origin_tags(world) == {f"{NAME}@v0.1.0": first}
    # The conflict is found before anything is pushed: the DVC remote is still empty.
    assert not any(world.dvcstore.rglob("*"))


def _release_at(world: World, branch: str) -> dict:
    run(world.work, "git", "checkout", "-q", branch)
    run(world.work, "dvc", "checkout", "-q")
    result = cli(world.work, "release", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_after_the_latest_version_is_deprecated_the_next_goes_past_it(world: World) -> None:
    assert cli(world.work, "release").exit_code == 0  # v0.1.0 on base
    assert _release_at(world, "change")["version"] == "v0.2.0"
    run(world.work, "gto", "deprecate", NAME, "v0.2.0")  # a deregistration tag; v0.2.0's stays
    run(world.work, "git", "push", "-q", "origin", "--tags")
    assert gto_show(world.work)["latest"] == "v0.1.0"
    doc = _release_at(world, "other")
    assert (doc["status"], doc["version"], doc["parent"]) == ("released", "v0.3.0", "v0.1.0")
    assert "numbered past v0.2.0" in doc["reason"]
    assert origin_tags(world)[f"{NAME}@v0.3.0"] == world.commits["other"]
    assert gto_show(world.work)["latest"] == "v0.3.0"


def test_a_pre_release_tagged_by_a_person_is_not_the_base_of_the_next_version(
    world: World,
) -> None:
    assert cli(world.work, "release").exit_code == 0  # v0.1.0 on base
    change = world.commits["change"]
    run(world.work, "gto", "register", NAME, change, "--version", "v1.0.0-rc.1")
    run(world.work, "git", "push", "-q", "origin", "--tags")
    assert gto_show(world.work)["latest"] == "v1.0.0-rc.1"
    doc = _release_at(world, "other")
    assert (doc["status"], doc["version"], doc["parent"]) == ("released", "v0.2.0", "v0.1.0")
    assert gto_show(world.work)["latest"] == "v1.0.0-rc.1"  # GTO's semver order: 1.0.0-rc first


def _hook(repo: Path, script: str) -> None:
    hook = repo / ".git" / "hooks" / "pre-push"
    hook.write_text(script)
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)


def test_two_racing_releases_get_strictly_increasing_versions_and_lose_none(
    world: World,
) -> None:
    assert cli(world.work, "release").exit_code == 0  # v0.1.0 on base
    run(world.work, "dvc", "push", "-q", "--all-branches")
    x = world.clone("x")
    y = world.clone("y")
    for clone, branch in ((x, "change"), (y, "other")):
        run(clone, "git", "fetch", "-q", str(world.work), f"{branch}:{branch}")
        run(clone, "git", "checkout", "-q", branch)
        run(clone, "dvc", "pull", "-q")
    # The race, made certain: y computes its version, tags, and as it pushes, x's whole
    # release runs and takes that very number first. y's push is rejected; y must fetch again
    # and take the next number.
    mlgitops = shlex.quote(str(Path(sys.executable).parent / "mlgitops"))
    _hook(
        y,
        "#!/bin/sh\n"
        f"if [ ! -e {shlex.quote(str(y / '.git' / 'raced'))} ]; then\n"
        f"  touch {shlex.quote(str(y / '.git' / 'raced'))}\n"
        f"  cd {shlex.quote(str(x))} && env -u GIT_DIR -u GIT_WORK_TREE -u GIT_INDEX_FILE "
        f"{mlgitops} release >&2 || exit 1\n"
        "fi\n",
    )
    result = run(y, "mlgitops", "release")
    assert f"{NAME}@v0.2.0 was taken on origin by commit {world.commits['change'][:12]}" in (
        result.stderr
    )
    assert f"released {NAME}@v0.3.0" in result.stdout
    assert origin_tags(world) == {
        f"{NAME}@v0.1.0": world.commits["base"],
        f"{NAME}@v0.2.0": world.commits["change"],
        f"{NAME}@v0.3.0": world.commits["other"],
    }
    assert gto_show(y)["latest"] == "v0.3.0"


def test_an_incompatible_input_schema_is_a_major_version(world: World) -> None:
    assert cli(world.work, "release").exit_code == 0  # v0.1.0
    run(world.work, "git", "checkout", "-q", "narrow")
    run(world.work, "dvc", "checkout", "-q")
    result = cli(world.work, "release", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["status"], doc["version"], doc["parent"]) == ("released", "v1.0.0", "v0.1.0")
    assert "the input schema changed incompatibly: age: max 100.0 -> 95.0" in doc["reason"]
    assert [(c["column"], c["rule"], c["breaking"]) for c in doc["schema_changes"]] == [
        ("age", "max", True)
    ]
    card = (world.work / "reports" / "model_card.md").read_text()
    assert "Numbered **major**" in card and "**breaking**: `age` max" in card
    assert gto_show(world.work)["latest"] == "v1.0.0"

    # The card rebuilt by a re-run, and the one inside a bundle, keep the schema's changes.
    (world.work / "reports" / "model_card.md").unlink()
    again = cli(world.work, "release", "--json")
    assert json.loads(again.stdout)["status"] == "already_released", again.output
    assert (world.work / "reports" / "model_card.md").read_text() == card.replace(
        _released_at(card), _released_at((world.work / "reports" / "model_card.md").read_text())
    )
    params = world.work / "params.yaml"
    raw = yaml.safe_load(params.read_text())
    raw["deploy"]["prod"].update(target="bundle", bundle_dir="dist", command=[])
    params.write_text(yaml.safe_dump(raw, sort_keys=False))
    deployed = cli(world.work, "deploy", "--stage", "prod", "--version", "v1.0.0")
    assert deployed.exit_code == 0, deployed.output
    archive = world.work / "dist" / f"{NAME}-v1.0.0.tar.gz"
    with tarfile.open(archive, mode="r:gz") as tar:
        bundled = tar.extractfile(f"{NAME}-v1.0.0/model_card.md").read().decode()
    assert "Numbered **major**" in bundled and "**breaking**: `age` max" in bundled
    assert "Input schema changes since v0.1.0:" in bundled


def _released_at(card: str) -> str:
    """The card's release time (a re-run renders the tag's time, the release its own clock)."""
    import re

    found = re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", card)
    return found.group(0) if found else ""


def test_without_a_dvc_remote_the_release_stops_unless_allowed(world: World) -> None:
    run(world.work, "dvc", "remote", "remove", "--local", "storage")
    refused = cli(world.work, "release")
    assert refused.exit_code == 2
    assert "no default DVC remote is configured" in refused.stderr
    assert "release.require_remote: false" in refused.stderr
    assert origin_tags(world) == {}
    params = world.work / "params.yaml"
    params.write_text(params.read_text().replace("require_remote: true", "require_remote: false"))
    run(world.work, "git", "commit", "-q", "-am", "Release without a DVC remote")
    allowed = cli(world.work, "release")
    assert allowed.exit_code == 0, allowed.output
    assert "no DVC remote is configured; the outputs stay in this cache only" in allowed.stderr
    assert list(origin_tags(world)) == [f"{NAME}@v0.1.0"]
