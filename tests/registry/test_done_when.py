"""The issue's "Done when", as one run on a fresh clone with a local bare origin:

main -> release v0.1.0 -> staging (and prod) -> a merged change -> v0.2.0 -> staging and prod ->
a ``serve --stage prod --watch`` server swaps to v0.2.0 -> ``mlgitops rollback --stage prod`` ->
the server serves v0.1.0 again; ``gto show`` (GTO's own command line, ``--json``) and ``mlgitops
versions`` agree with the tags at every step, and the server agrees with them.

The CI clone runs what release.yml's jobs run (``release --check``, ``dvc repro --pull``,
``release``, ``deploy --stage staging --version``, ``promote --stage prod``); the server runs in
a clone of its own, fetching tags from origin and models from the DVC remote, as a production
host would. Staging's target is the built-in server (a second server on loopback for its smoke
test); prod's is a command whose smoke test runs in process (see conftest.py).
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from mlgitops.serve.process import ServerProcess
from tests.e2e.sandbox import run
from tests.registry.conftest import NAME, World, cli, gto, gto_show

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("sandbox_env")]

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


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


def _get(url: str) -> dict[str, Any]:
    with _OPENER.open(url, timeout=10) as response:
        return json.loads(response.read())


def _predict(url: str, record: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps({"records": [record]}).encode()
    req = urllib.request.Request(
        f"{url}/predict", data=body, headers={"Content-Type": "application/json"}
    )
    with _OPENER.open(req, timeout=10) as response:
        assert response.status == 200
        return json.loads(response.read())


def _serves(server: ServerProcess, version: str, commit: str) -> dict[str, Any]:
    """Wait (bounded, ~60 s) until the server serves ``version`` from ``commit``."""
    described: dict[str, Any] = {}
    for _ in range(600):
        described = _get(f"{server.url}/version")
        if (described.get("version"), described.get("commit")) == (version, commit):
            return described
        time.sleep(0.1)
    raise AssertionError(f"the server never served {version}; it says {described}")


def test_done_when_main_release_staging_change_release_swap_rollback(world: World) -> None:
    run(world.work, "dvc", "push", "-q")  # the PR check pushed the reviewed outputs
    ci = world.clone("ci")  # a fresh clone, as the release job has
    record = json.loads((world.work / "metrics" / "smoke_sample.json").read_text())["rows"][0]

    # main -> release v0.1.0 (the steps release.yml runs) -> staging -> prod
    assert "dvc.lock matches" in _step(ci, "release", "--check")
    run(ci, "dvc", "repro", "--pull")
    assert f"released {NAME}@v0.1.0" in _step(ci, "release")
    _agree(ci, {"latest": "v0.1.0"})
    assert "with target server" in _step(ci, "deploy", "--stage", "staging", "--version", "v0.1.0")
    _agree(ci, {"latest": "v0.1.0", "staging": "v0.1.0"})
    _step(ci, "promote", "--stage", "prod", "--version", "v0.1.0")
    _agree(ci, {"latest": "v0.1.0", "staging": "v0.1.0", "prod": "v0.1.0"})

    # prod's users: a server following the prod tags, on its own clone of origin.
    serving = world.clone("serving")
    server = ServerProcess(
        params=serving / "params.yaml",
        args=["--stage", "prod", "--repo", str(serving), "--watch", "--interval", "0.2"],
        cwd=serving,
    )
    with server:
        described = _serves(server, "v0.1.0", world.commits["base"])
        assert (described["stage"], described["swaps"]) == ("prod", 0)
        assert _predict(server.url, record)["version"] == "v0.1.0"

        # a merged change -> v0.2.0 -> staging -> prod: the watching server swaps to it
        change = world.merge("change")
        run(ci, "git", "pull", "-q", "--ff-only")
        run(ci, "dvc", "repro", "--pull")
        assert f"released {NAME}@v0.2.0" in _step(ci, "release")
        _agree(ci, {"latest": "v0.2.0", "staging": "v0.1.0", "prod": "v0.1.0"})
        _step(ci, "deploy", "--stage", "staging", "--version", "v0.2.0")
        _agree(ci, {"latest": "v0.2.0", "staging": "v0.2.0", "prod": "v0.1.0"})
        _step(ci, "promote", "--stage", "prod", "--version", "v0.2.0")
        _agree(ci, {"latest": "v0.2.0", "staging": "v0.2.0", "prod": "v0.2.0"})
        assert _serves(server, "v0.2.0", change)["swaps"] == 1
        assert gto_show(serving)["prod"] == "v0.2.0"  # the server's clone, as it fetched
        assert _predict(server.url, record)["version"] == "v0.2.0"

        # rollback returns v0.1.0, as a new assignment (the history only grows), and the
        # server follows it back
        assert f"deployed {NAME} v0.1.0 to prod" in _step(ci, "rollback", "--stage", "prod")
        _agree(ci, {"latest": "v0.2.0", "staging": "v0.2.0", "prod": "v0.1.0"})
        assert _serves(server, "v0.1.0", world.commits["base"])["swaps"] == 2
        assert gto_show(serving)["prod"] == "v0.1.0"
        assert _predict(server.url, record)["version"] == "v0.1.0"

    history = json.loads(gto("history", NAME, "--repo", str(ci), "--json"))
    prod = [e["version"] for e in history if e["event"] == "assignment" and e["stage"] == "prod"]
    assert sorted(prod) == ["v0.1.0", "v0.1.0", "v0.2.0"]
    # Everything was pushed: a new clone of origin sees the same registry.
    assert gto_show(world.clone("after")) == {
        "latest": "v0.2.0",
        "staging": "v0.2.0",
        "prod": "v0.1.0",
    }
