"""Deploys with real GTO stage tags, a real server on loopback, real DVC fetches: failed smoke
tests, stages that never move back by accident, bundles. The issue's done-when walk is in
test_done_when.py.
"""

from __future__ import annotations

import io
import json
import sys
import tarfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlgitops.artifact import load_model
from mlgitops.fingerprint import bytes_sha256
from mlgitops.registry import fetch_artifact, find_version
from mlgitops.serve.process import ServerProcess
from mlgitops.serve.smoke import load_smoke_sample, smoke_test_model
from tests.e2e.sandbox import run
from tests.registry.conftest import NAME, World, cli, gto_show

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("sandbox_env")]


def _deploy_params(repo: Path, **stages: dict[str, Any]) -> None:
    """Set deploy targets (an uncommitted edit: deploys do not need a clean tree)."""
    path = repo / "params.yaml"
    raw = yaml.safe_load(path.read_text())
    for stage, settings in stages.items():
        raw["deploy"][stage].update(settings)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))


def _get(url: str) -> dict[str, Any]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=10) as response:
        return json.loads(response.read())


def _recorder(log: Path) -> list[str]:
    """A command target that appends what it was asked to deploy to ``log``."""
    code = (
        "import json, os, sys; "
        "env = {k: v for k, v in os.environ.items() if k.startswith('MLGITOPS_')}; "
        "assert os.path.isfile(env['MLGITOPS_MODEL_PATH']), 'model file'; "
        f"open({str(log)!r}, 'a').write(json.dumps(env) + '\\n')"
    )
    return [sys.executable, "-c", code]


def _recorded(log: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _release_base_and_change(world: World) -> None:
    assert cli(world.work, "release").exit_code == 0  # v0.1.0
    world.merge("change")
    result = cli(world.work, "release")
    assert result.exit_code == 0 and "v0.2.0" in result.stdout, result.output


def test_a_deploy_whose_smoke_test_fails_moves_nothing_and_the_old_version_keeps_serving(
    world: World, tmp_path: Path
) -> None:
    _release_base_and_change(world)
    log = tmp_path / "deployed.jsonl"
    _deploy_params(world.work, staging={"target": "command", "command": _recorder(log)})

    # A command deploy, smoke-tested in process: staging moves to v0.1.0.
    ok = cli(world.work, "deploy", "--stage", "staging", "--version", "v0.1.0")
    assert ok.exit_code == 0, ok.output
    assert f"deployed {NAME} v0.1.0 to staging with target command ({NAME}#staging#" in ok.stdout
    (env,) = _recorded(log)
    assert {k: env[k] for k in ("MLGITOPS_MODEL_NAME", "MLGITOPS_VERSION", "MLGITOPS_STAGE")} == {
        "MLGITOPS_MODEL_NAME": NAME,
        "MLGITOPS_VERSION": "v0.1.0",
        "MLGITOPS_STAGE": "staging",
    }
    assert env["MLGITOPS_METADATA_PATH"].endswith("model.json")
    assert gto_show(world.work)["staging"] == "v0.1.0"

    # What staging's users reach: a server of v0.1.0. The next deploy's command does not really
    # deploy anything, so the smoke test against the url finds v0.1.0 still answering.
    entry = find_version(world.work, NAME, "v0.1.0")
    model, metadata = fetch_artifact(world.work, entry, tmp_path / "live")
    with ServerProcess(
        model, metadata, version="v0.1.0", params=world.work / "params.yaml"
    ) as live:
        _deploy_params(world.work, staging={"url": live.url})
        failed = cli(world.work, "deploy", "--stage", "staging", "--version", "v0.2.0")
        assert failed.exit_code == 1, failed.output
        assert f"deploy of {NAME} v0.2.0 to staging failed, staging stays at v0.1.0" in (
            failed.stdout
        )
        assert "version" in failed.stdout  # the failing check is named
        assert gto_show(world.work)["staging"] == "v0.1.0"
        # The command ran for v0.2.0, then again for v0.1.0, the version that served before.
        assert [e["MLGITOPS_VERSION"] for e in _recorded(log)] == ["v0.1.0", "v0.2.0", "v0.1.0"]
        assert _get(f"{live.url}/health")["status"] == "ok"
        assert _get(f"{live.url}/version")["version"] == "v0.1.0"

        # A person points staging at v0.2.0 by pushing a stage tag (what deploy.yml reacts to);
        # its deploy fails the same way, so staging is assigned back to v0.1.0.
        time.sleep(1.05)  # GTO orders assignments by tag time (one-second resolution)
        run(world.work, "gto", "assign", NAME, "--version", "v0.2.0", "--stage", "staging")
        run(world.work, "git", "push", "-q", "origin", "--tags")
        assert gto_show(world.work)["staging"] == "v0.2.0"
        reverted = cli(world.work, "deploy", "--stage", "staging", "--json")
        assert reverted.exit_code == 1, reverted.output
        doc = json.loads(reverted.stdout)
        assert (doc["status"], doc["previous"]) == ("failed", "v0.1.0")
        assert doc["reverted_tag"].startswith(f"{NAME}#staging#")
        assert gto_show(world.work)["staging"] == "v0.1.0"
        assert _get(f"{live.url}/version")["version"] == "v0.1.0"
    # The revert was pushed: a fresh clone of origin agrees.
    assert gto_show(world.clone("fresh"))["staging"] == "v0.1.0"


def _release_a_version_that_fails_its_smoke_test(world: World) -> None:
    """v0.1.0 on base; v0.2.0: model B with a smoke sample whose scores are not B's."""
    assert cli(world.work, "release").exit_code == 0  # v0.1.0
    run(world.work, "git", "checkout", "-q", "-b", "bad", "change")
    run(world.work, "dvc", "checkout", "-q")
    sample_path = world.work / "metrics" / "smoke_sample.json"
    sample = json.loads(sample_path.read_text())
    for expected in sample["expected"]:
        expected["score"] = min(1.0, expected["score"] + 0.25)
    sample_path.write_text(json.dumps(sample))
    run(world.work, "dvc", "commit", "-q", "-f")
    run(world.work, "git", "commit", "-q", "-am", "A smoke sample the model does not reproduce")
    result = cli(world.work, "release")
    assert result.exit_code == 0 and "v0.2.0" in result.stdout, result.output


def _tags(repo: Path, pattern: str) -> list[str]:
    return run(repo, "git", "tag", "-l", pattern).stdout.split()


def test_a_server_deploy_whose_smoke_test_fails_and_a_first_assignment_that_fails(
    world: World,
) -> None:
    _release_a_version_that_fails_its_smoke_test(world)
    assert "with target server" in _step(
        world.work, "deploy", "--stage", "staging", "--version", "v0.1.0"
    )
    # staging's users: a server following the staging tags, in its own clone of origin.
    serving = world.clone("serving")
    watcher = ServerProcess(
        params=serving / "params.yaml",
        args=["--stage", "staging", "--repo", str(serving), "--watch", "--interval", "0.2"],
        cwd=serving,
    )
    with watcher:
        assert _get(f"{watcher.url}/version")["version"] == "v0.1.0"
        # The server target starts v0.2.0 on loopback; its smoke test fails over HTTP.
        failed = cli(world.work, "deploy", "--stage", "staging", "--version", "v0.2.0", "--json")
        assert failed.exit_code == 1, failed.output
        doc = json.loads(failed.stdout)
        assert (doc["status"], doc["target"], doc["previous"], doc["tag"]) == (
            "failed",
            "server",
            "v0.1.0",
            None,
        )
        assert not doc["smoke"]["ok"]
        assert any(c["name"] == "predict" and not c["ok"] for c in doc["smoke"]["checks"])
        assert gto_show(world.work)["staging"] == "v0.1.0"
        assert gto_show(world.clone("fresh"))["staging"] == "v0.1.0"
        time.sleep(1.0)  # a few polls of the watcher: still v0.1.0, answering
        assert _get(f"{watcher.url}/health") == {
            "status": "ok",
            "name": NAME,
            "version": "v0.1.0",
        }
        assert _get(f"{watcher.url}/version")["version"] == "v0.1.0"
        assert _get(f"{watcher.url}/version")["watch"]["last_outcome"] == "unchanged"

    # prod was never assigned. An explicit deploy that fails assigns nothing.
    first = cli(world.work, "deploy", "--stage", "prod", "--version", "v0.2.0")
    assert first.exit_code == 1, first.output
    assert "prod stays at nothing" in first.stdout
    assert "prod" not in gto_show(world.work) and _tags(world.origin, f"{NAME}#prod*") == []
    # A person pushes prod's first assignment by hand; its deploy fails and there is no
    # version to go back to: the stage is unassigned, so the tags say prod serves nothing.
    time.sleep(1.05)  # GTO orders a stage's tags by time (one-second resolution)
    run(world.work, "gto", "assign", NAME, "--version", "v0.2.0", "--stage", "prod")
    run(world.work, "git", "push", "-q", "origin", "--tags")
    assert gto_show(world.work)["prod"] == "v0.2.0"
    reverted = cli(world.work, "deploy", "--stage", "prod", "--json")
    assert reverted.exit_code == 1, reverted.output
    doc = json.loads(reverted.stdout)
    assert (doc["status"], doc["previous"]) == ("failed", None)
    assert doc["reverted_tag"].startswith(f"{NAME}#prod!#")
    assert "prod" not in gto_show(world.work)
    assert "prod" not in gto_show(world.clone("after"))  # the unassignment was pushed


def _outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def test_an_old_release_re_run_or_late_approval_never_moves_a_stage_back(
    world: World, tmp_path: Path
) -> None:
    _release_base_and_change(world)
    log = tmp_path / "deployed.jsonl"
    _deploy_params(
        world.work,
        staging={"target": "command", "command": _recorder(log)},
        prod={"target": "command", "command": _recorder(log)},
    )
    # v0.1.0's release run, then v0.2.0's: staging and prod end at v0.2.0.
    for version in ("v0.1.0", "v0.2.0"):
        _step(world.work, "deploy", "--stage", "staging", "--version", version)
        _step(world.work, "promote", "--stage", "prod", "--version", version)
    assert gto_show(world.work) == {"latest": "v0.2.0", "staging": "v0.2.0", "prod": "v0.2.0"}
    deployed = len(_recorded(log))

    # v0.1.0's run again (a re-run, or its prod job approved late): the same commands it runs.
    outputs = tmp_path / "outputs"
    staging = cli(
        world.work,
        "deploy",
        "--stage",
        "staging",
        "--version",
        "v0.1.0",
        "--outputs",
        str(outputs),
    )
    assert staging.exit_code == 0, staging.output
    assert "skipped: staging of income-model is at v0.2.0, newer than v0.1.0" in staging.stdout
    assert "--allow-downgrade" in staging.stdout and "mlgitops rollback" in staging.stdout
    assert _outputs(outputs)["status"] == "skipped"
    prod = cli(world.work, "promote", "--stage", "prod", "--version", "v0.1.0", "--json")
    assert prod.exit_code == 0, prod.output
    assert (json.loads(prod.stdout)["status"], json.loads(prod.stdout)["tag"]) == (
        "skipped",
        None,
    )
    assert len(_recorded(log)) == deployed  # nothing was deployed
    assert gto_show(world.work) == {"latest": "v0.2.0", "staging": "v0.2.0", "prod": "v0.2.0"}

    # Going back on purpose: --allow-downgrade, or a rollback.
    back = _step(
        world.work, "deploy", "--stage", "staging", "--version", "v0.1.0", "--allow-downgrade"
    )
    assert "deployed income-model v0.1.0 to staging" in back
    assert "deployed income-model v0.1.0 to prod" in _step(
        world.work, "rollback", "--stage", "prod"
    )
    assert gto_show(world.work) == {"latest": "v0.2.0", "staging": "v0.1.0", "prod": "v0.1.0"}
    # Forward is always allowed.
    _step(world.work, "deploy", "--stage", "staging", "--version", "v0.2.0")
    assert gto_show(world.clone("fresh"))["staging"] == "v0.2.0"


def test_a_bundle_is_self_contained_and_its_model_passes_the_smoke_test(
    world: World, tmp_path: Path
) -> None:
    assert cli(world.work, "release").exit_code == 0  # v0.1.0
    _deploy_params(world.work, prod={"target": "bundle", "bundle_dir": "dist", "command": []})
    result = cli(world.work, "deploy", "--stage", "prod", "--version", "v0.1.0")
    assert result.exit_code == 0, result.output
    archive = world.work / "dist" / f"{NAME}-v0.1.0.tar.gz"
    data = archive.read_bytes()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        files = {
            Path(m.name).relative_to(f"{NAME}-v0.1.0").as_posix(): tar.extractfile(m).read()
            for m in tar.getmembers()
        }
    assert set(files) == {
        "MANIFEST.json",
        "README.md",
        "input_schema.json",
        "model.json",
        "model.skops",
        "model_card.json",
        "model_card.md",
        "requirements.txt",
        "smoke_sample.json",
    }
    manifest = json.loads(files["MANIFEST.json"])
    assert manifest["tag"] == f"{NAME}@v0.1.0"
    assert manifest["commit"] == world.commits["base"]
    assert manifest["files"] == {
        name: bytes_sha256(payload) for name, payload in files.items() if name != "MANIFEST.json"
    }
    metadata = json.loads(files["model.json"])
    requirements = files["requirements.txt"].decode().splitlines()
    assert f"scikit-learn=={metadata['libraries']['scikit-learn']}" in requirements
    assert f"skops=={metadata['libraries']['skops']}" in requirements
    # Their runtime dependencies are pinned too (scikit-learn's joblib and threadpoolctl, ...).
    pins = dict(r.split("==") for r in requirements if not r.startswith("#"))
    assert not {"python", "mlgitops", "dvc"} & set(pins)
    assert {"joblib", "threadpoolctl", "prettytable"} <= set(pins)
    assert all(v and "=" not in v for v in pins.values())
    assert json.loads(files["input_schema.json"]) == metadata["input_schema"]
    assert files["model_card.md"].decode().startswith(f"# Model card: {NAME} v0.1.0")
    assert "skops" in files["README.md"].decode()
    # The model comes back out of the bundle and reproduces the offline predictions.
    unpacked = tmp_path / "unpacked"
    for name, payload in files.items():
        (unpacked / name).parent.mkdir(parents=True, exist_ok=True)
        (unpacked / name).write_bytes(payload)
    model = load_model(unpacked / "model.skops", unpacked / "model.json")
    assert smoke_test_model(model, load_smoke_sample(unpacked / "smoke_sample.json")).ok
    assert gto_show(world.work)["prod"] == "v0.1.0"
    # Deploying the same version again rewrites a byte-identical bundle and moves no tag.
    again = cli(world.work, "deploy", "--stage", "prod", "--version", "v0.1.0")
    assert again.exit_code == 0 and "(it already pointed there)" in again.stdout
    assert archive.read_bytes() == data


def _step(ci: Path, *args: str) -> str:
    result = cli(ci, *args)
    assert result.exit_code == 0, f"{args}: {result.output}"
    return result.stdout
