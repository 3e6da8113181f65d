"""Deploys with real GTO stage tags, a real server on loopback, real DVC fetches; and the issue's
done-when walk: main -> v0.1.0 -> staging -> a merged change -> v0.2.0 -> rollback -> v0.1.0,
with ``gto show`` agreeing at every step.
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
from tests.registry.conftest import NAME, World, cli, gto, gto_show

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
    assert not any(r.startswith(("python", "mlgitops", "dvc")) for r in requirements)
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


def _agree(ci: Path, expected: dict[str, str]) -> None:
    """gto show and mlgitops versions say the same thing, and it is what is expected."""
    assert gto_show(ci) == expected
    listed = json.loads(_step(ci, "versions", "--json"))["versions"]
    assert listed[0]["version"] == expected["latest"]
    stages = {stage: v["version"] for v in listed for stage in v["stages"]}
    assert stages == {k: v for k, v in expected.items() if k != "latest"}


def test_done_when_main_release_staging_change_release_rollback(world: World) -> None:
    run(world.work, "dvc", "push", "-q")  # the PR check pushed the reviewed outputs
    ci = world.clone("ci")  # a fresh clone, as the release job has

    # main -> release v0.1.0 (the steps release.yml runs) -> staging
    assert "dvc.lock matches" in _step(ci, "release", "--check")
    run(ci, "dvc", "repro", "--pull")
    assert "released income-model@v0.1.0" in _step(ci, "release")
    _agree(ci, {"latest": "v0.1.0"})
    assert "with target server" in _step(ci, "deploy", "--stage", "staging", "--version", "v0.1.0")
    _agree(ci, {"latest": "v0.1.0", "staging": "v0.1.0"})
    _step(ci, "promote", "--stage", "prod")
    _agree(ci, {"latest": "v0.1.0", "staging": "v0.1.0", "prod": "v0.1.0"})

    # a merged change -> v0.2.0 -> staging (a watching server swaps to it) -> prod
    world.merge("change")
    run(ci, "git", "pull", "-q", "--ff-only")
    run(ci, "dvc", "repro", "--pull")
    assert "released income-model@v0.2.0" in _step(ci, "release")
    _agree(ci, {"latest": "v0.2.0", "staging": "v0.1.0", "prod": "v0.1.0"})
    _step(ci, "deploy", "--stage", "staging", "--version", "v0.2.0")
    _step(ci, "promote", "--stage", "prod")
    _agree(ci, {"latest": "v0.2.0", "staging": "v0.2.0", "prod": "v0.2.0"})

    # rollback returns v0.1.0, as a new assignment (the history only grows)
    assert "deployed income-model v0.1.0 to prod" in _step(ci, "rollback", "--stage", "prod")
    _agree(ci, {"latest": "v0.2.0", "staging": "v0.2.0", "prod": "v0.1.0"})
    history = json.loads(gto("history", NAME, "--repo", str(ci), "--json"))
    prod = [e["version"] for e in history if e["event"] == "assignment" and e["stage"] == "prod"]
    assert sorted(prod) == ["v0.1.0", "v0.1.0", "v0.2.0"]
    # Everything was pushed: a new clone of origin sees the same registry.
    assert gto_show(world.clone("after")) == {
        "latest": "v0.2.0",
        "staging": "v0.2.0",
        "prod": "v0.1.0",
    }
