"""``mlgitops serve --stage prod --watch``: the server reconciles to the stage tags, under load.

Real git (a bare ``origin`` and a clone the server runs in), real DVC (a local remote the clone
fetches artifacts from), real GTO tags (``gto register`` / ``gto assign`` pushed by a developer's
repository). Three versions: v1.0.0 (model A), v1.1.0 (model B), v1.2.0 (model B released with
model A's smoke sample, so its smoke test fails).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from mlgitops.serve.holder import predictions
from mlgitops.serve.process import ServerProcess
from mlgitops.serve.smoke import TOLERANCE
from tests.e2e.sandbox import env, run
from tests.serve.helpers import Client, Trained, request, write_serve_params

NAME = "income-model"


def _release(dev: Path, model: Trained, sample: Trained, version: str) -> None:
    """Commit a model (and a smoke sample) with DVC, push it, and register the version."""
    (dev / "models").mkdir(exist_ok=True)
    (dev / "metrics").mkdir(exist_ok=True)
    shutil.copy(model.model_path, dev / "models" / "model.skops")
    shutil.copy(model.metadata_path, dev / "models" / "model.json")
    shutil.copy(sample.sample_path, dev / "metrics" / "smoke_sample.json")
    run(dev, "dvc", "add", "-q", "models/model.skops", "models/model.json")
    run(dev, "dvc", "add", "-q", "metrics/smoke_sample.json")
    run(dev, "git", "add", "-A")
    run(dev, "git", "commit", "-q", "-m", f"Model {version}")
    run(dev, "dvc", "push", "-q")
    run(dev, "gto", "register", NAME, "--version", version)
    run(dev, "git", "push", "-q", "origin", "main", "--tags")


def _assign(dev: Path, version: str) -> None:
    # GTO orders assignments by tag time (one-second resolution): start a fresh second.
    time.sleep(1.05 - (time.time() % 1.0))
    run(dev, "gto", "assign", NAME, "--version", version, "--stage", "prod", "--force")
    run(dev, "git", "push", "-q", "origin", "--tags")


def _wait(check, what: str, attempts: int = 600) -> Any:
    """Poll ``check`` until it returns something truthy (bounded: ~60 s)."""
    for _ in range(attempts):
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


def _version(server: ServerProcess) -> dict[str, Any]:
    return request(f"{server.url}/version")[1]


def _metric(server: ServerProcess, name: str, **labels: str) -> float:
    text = request(f"{server.url}/metrics")[1]
    return sum(
        s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


class Load:
    """A few threads posting one record each, over keep-alive connections, until told to stop."""

    def __init__(self, port: int, record: dict[str, Any], threads: int = 3) -> None:
        self.port = port
        self.record = record
        self.stop = threading.Event()
        self.results: list[list[tuple[float, float, int, Any]]] = [[] for _ in range(threads)]
        self.threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)
        ]

    def _run(self, i: int) -> None:
        client = Client(self.port)
        try:
            for _ in range(5000):  # bounded even if never told to stop
                if self.stop.is_set():
                    return
                sent = time.time()
                try:
                    status, body = client.predict([self.record])
                except Exception as exc:  # a failed request is a result, not a crash
                    status, body = -1, repr(exc)
                    client.close()
                    client = Client(self.port)
                self.results[i].append((sent, time.time(), status, body))
        finally:
            client.close()

    def count(self, version: str) -> int:
        return sum(
            1 for rs in self.results for r in list(rs) if r[2] == 200 and r[3]["version"] == version
        )

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)


@pytest.fixture(scope="module")
def repos(
    tmp_path_factory: pytest.TempPathFactory, serve_params: Path, model_a: Trained, model_b: Trained
) -> Path:
    """A developer repo with three released versions, its bare origin, and a server clone."""
    tmp_path = tmp_path_factory.mktemp("watch")
    origin, dev = tmp_path / "origin.git", tmp_path / "dev"
    run(tmp_path, "git", "init", "-q", "--bare", "-b", "main", str(origin))
    dev.mkdir()
    run(dev, "git", "init", "-q", "-b", "main")
    run(dev, "git", "remote", "add", "origin", str(origin))
    run(dev, "dvc", "init", "-q")
    run(dev, "dvc", "remote", "add", "-q", "-d", "store", str(tmp_path / "dvc-store"))
    write_serve_params(serve_params, dev / "params.yaml", watch_interval=0.2)
    _release(dev, model_a, model_a, "v1.0.0")
    _release(dev, model_b, model_b, "v1.1.0")
    _release(dev, model_b, model_a, "v1.2.0")  # B's model, A's sample: fails its smoke test
    run(tmp_path, "git", "clone", "-q", str(origin), str(tmp_path / "server"))
    return tmp_path


def test_the_server_follows_the_stage_tags_with_zero_failed_requests(
    repos: Path, model_a: Trained, model_b: Trained
) -> None:
    dev, clone = repos / "dev", repos / "server"
    server = ServerProcess(
        params=clone / "params.yaml",
        log=repos / "predictions.sqlite",
        args=["--stage", "prod", "--repo", str(clone), "--watch", "--cache", str(repos / "cache")],
        env=env(),
        require_model=False,
    )
    record = dict(model_a.sample.rows[5])
    expected = {
        version: predictions(trained.model, trained.model.input_schema, [record])[0]["score"]
        for version, trained in (("v1.0.0", model_a), ("v1.1.0", model_b))
    }
    assert abs(expected["v1.0.0"] - expected["v1.1.0"]) > 1e-3  # the two models tell apart

    with server:
        # Nothing assigned yet: the server is up but has nothing to serve.
        assert request(f"{server.url}/health")[0] == 503
        assert request(f"{server.url}/predict", {"records": [record]})[0] == 503
        assert _version(server)["watch"]["last_outcome"] == "no_version"

        _assign(dev, "v1.0.0")
        _wait(lambda: _version(server).get("version") == "v1.0.0", "v1.0.0 to be served")
        assert request(f"{server.url}/health")[0] == 200

        with Load(server.port, record) as load:
            _wait(lambda: load.count("v1.0.0") >= 30, "load on v1.0.0")
            _assign(dev, "v1.1.0")
            _wait(lambda: load.count("v1.1.0") >= 30, "load on v1.1.0")
        described = _version(server)
        assert described["version"] == "v1.1.0" and described["swaps"] == 1
        assert described["stage"] == "prod" and described["commit"]

        responses = [r for rs in load.results for r in rs]
        failed = [r for r in responses if r[2] != 200]
        assert failed == [], failed[:5]
        assert {r[3]["version"] for r in responses} == {"v1.0.0", "v1.1.0"}
        # Each answer was computed by the version it names.
        for _, _, _, body in responses:
            score = body["predictions"][0]["score"]
            assert abs(score - expected[body["version"]]) <= TOLERANCE
        # ... and that version was serving while the request was in flight.
        swapped = datetime.fromisoformat(described["serving_since"]).timestamp()
        first_new = min(r[1] for r in responses if r[3]["version"] == "v1.1.0")
        for sent, received, _, body in responses:
            if body["version"] == "v1.0.0":
                assert sent < first_new
            else:
                assert received >= swapped
        for thread in load.results:  # once a client saw the new version it never sees the old
            versions = [r[3]["version"] for r in thread]
            assert versions == sorted(versions)

        # v1.2.0 fails its smoke test: v1.1.0 keeps serving, and the server says why.
        _assign(dev, "v1.2.0")
        rejection = _wait(
            lambda: (
                (_version(server)["watch"]["last_rejection"] or {}).get("version") == "v1.2.0"
                and _version(server)["watch"]["last_rejection"]
            ),
            "v1.2.0 to be rejected",
        )
        assert rejection["reason"] == "smoke_test"
        assert "smoke test failed: predict:" in rejection["detail"]
        status, body, _ = request(f"{server.url}/predict", {"records": [record]})
        assert status == 200 and body["version"] == "v1.1.0"
        assert body["predictions"][0]["score"] == pytest.approx(expected["v1.1.0"], abs=TOLERANCE)
        name = "mlgitops_model_swap_rejections_total"
        assert _metric(server, name, version="v1.2.0", reason="smoke_test") == 1
        # It is not tried again while the tags stay the same.
        polls = _metric(server, "mlgitops_watch_polls_total", outcome="rejected_before")
        _wait(
            lambda: (
                _metric(server, "mlgitops_watch_polls_total", outcome="rejected_before")
                >= polls + 3
            ),
            "more polls",
        )
        assert _metric(server, name, version="v1.2.0", reason="smoke_test") == 1

        # A rollback is just another assignment: the server goes back to v1.0.0.
        _assign(dev, "v1.0.0")
        _wait(lambda: _version(server).get("version") == "v1.0.0", "the rollback to v1.0.0")
        assert _metric(server, "mlgitops_model_swaps_total") == 2
        assert _metric(server, "mlgitops_model_info", version="v1.0.0") == 1
        assert _metric(server, "mlgitops_model_info", version="v1.1.0") == 0

    cached = sorted(p.name for p in (repos / "cache").iterdir())
    shas = {model_a.model.metadata["model_sha256"], model_b.model.metadata["model_sha256"]}
    assert cached == sorted(s.removeprefix("sha256:") for s in shas)


def test_a_stage_with_nothing_to_serve_is_an_error_without_watch(repos: Path) -> None:
    clone = repos / "server"
    result = run(
        clone,
        "mlgitops",
        "serve",
        "--stage",
        "staging",  # never assigned
        "--cache",
        str(repos / "cache"),
        "--port",
        "0",
        check=False,
    )
    assert result.returncode == 2
    assert "stage staging of income-model" in result.stderr
    assert "has no version that can be served" in result.stderr
    result = run(clone, "mlgitops", "serve", "--watch", check=False)
    assert result.returncode == 2 and "--watch follows a stage: add --stage" in result.stderr


BOT = "41898282+github-actions[bot]@users.noreply.github.com"


def _assign_as(dev: Path, email: str, stage: str, version: str) -> None:
    """``gto assign`` made with ``email`` as the tagger (git takes it from the environment)."""
    time.sleep(1.05 - (time.time() % 1.0))  # GTO orders a stage's tags by time (1 s resolution)
    identity = {"GIT_COMMITTER_NAME": email.split("@")[0], "GIT_COMMITTER_EMAIL": email}
    subprocess.run(
        ["gto", "assign", NAME, "--version", version, "--stage", stage, "--force"],
        cwd=dev,
        env={**env(), **identity},
        check=True,
        capture_output=True,
    )
    run(dev, "git", "push", "-q", "origin", "--tags")


def test_with_trusted_taggers_a_stage_tag_someone_else_pushed_is_not_followed(
    repos: Path,
) -> None:
    dev, clone = repos / "dev", repos / "server"
    stage = "canary"  # a stage of its own: the other tests here move prod
    server = ServerProcess(
        params=clone / "params.yaml",
        log=repos / "canary.sqlite",
        args=[
            "--stage",
            stage,
            "--repo",
            str(clone),
            "--watch",
            "--cache",
            str(repos / "cache"),
            "--trusted-tagger",
            BOT.upper(),  # emails compare case-insensitively
        ],
        env=env(),
        require_model=False,
    )
    with server:
        _assign_as(dev, BOT, stage, "v1.0.0")
        _wait(lambda: _version(server).get("version") == "v1.0.0", "the bot's v1.0.0")

        # A person pushes a stage tag by hand: GTO follows it, the server does not.
        _assign_as(dev, "mallory@example.invalid", stage, "v1.1.0")
        tagger = run(
            repos / "origin.git",
            "git",
            "for-each-ref",
            "--format=%(taggeremail)",
            f"refs/tags/{NAME}#{stage}#*",
            "--sort=-creatordate",
            "--count=1",
        ).stdout.strip()
        assert tagger == "<mallory@example.invalid>"
        # GTO's own reading (what every watcher without --trusted-tagger follows) says v1.1.0.
        shown = json.loads(run(dev, "gto", "show", "--json").stdout)
        assert shown[NAME]["stage"][stage] == "v1.1.0"
        described = _wait(
            lambda: (
                (d := _version(server))["watch"]["ignored_tags"]
                and d["watch"]["last_outcome"] == "unchanged"
                and d
            ),
            "the hand-pushed tag to be ignored",
        )
        assert described["version"] == "v1.0.0"
        [ignored] = described["watch"]["ignored_tags"]
        assert (ignored["version"], ignored["tagger"]) == ("v1.1.0", "mallory@example.invalid")
        assert (
            _metric(
                server,
                "mlgitops_model_swap_rejections_total",
                version="v1.1.0",
                reason="untrusted_tagger",
            )
            == 1
        )
        status, body, _ = request(f"{server.url}/predict", {"records": [{}]})
        assert status == 422 and body["version"] == "v1.0.0"

        # The bot assigns the same version (what release.yml's approved job does): followed.
        _assign_as(dev, BOT, stage, "v1.1.0")
        _wait(lambda: _version(server).get("version") == "v1.1.0", "the bot's v1.1.0")
        assert _version(server)["watch"]["ignored_tags"] == []
    assert "not followed, its tagger mallory@example.invalid" in server.output()
