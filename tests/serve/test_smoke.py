"""The deploy smoke test: passes on the right model, fails clearly on anything else."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from mlgitops.errors import DataError
from mlgitops.serve.process import ServerProcess, ServerStartError
from mlgitops.serve.smoke import (
    TOLERANCE,
    SmokeSample,
    load_smoke_sample,
    smoke_sample_from_dict,
    smoke_test,
    smoke_test_model,
)
from tests.serve.helpers import Trained


def _checks(result) -> dict[str, tuple[bool, str]]:
    return {c.name: (c.ok, c.detail) for c in result.checks}


def test_the_right_server_passes(server_a: ServerProcess, model_a: Trained) -> None:
    result = smoke_test(server_a.url, model_a.sample, expected_version="v1.0.0")
    assert result.ok, result.summary()
    assert list(_checks(result)) == ["health", "version", "predict", "rejects_invalid"]
    assert result.summary().startswith("smoke test passed (4 checks")
    document = json.loads(json.dumps(result.to_dict()))
    assert document["schema_version"] == 1 and document["ok"] is True
    assert smoke_test(server_a.url, model_a.sample).ok  # no version expected


def test_a_wrong_version_fails_naming_both(server_a: ServerProcess, model_a: Trained) -> None:
    result = smoke_test(server_a.url, model_a.sample, expected_version="v2.0.0")
    assert not result.ok
    checks = _checks(result)
    assert checks["health"][0] and checks["rejects_invalid"][0]
    assert checks["version"] == (False, "serves version 'v1.0.0', expected 'v2.0.0'")
    assert not checks["predict"][0] and "'v1.0.0', expected 'v2.0.0'" in checks["predict"][1]
    assert "version: serves version 'v1.0.0', expected 'v2.0.0'" in result.summary()


def test_a_wrong_model_fails_with_the_rows_that_differ(
    model_a: Trained, model_b: Trained, serve_params: Path
) -> None:
    with ServerProcess(
        model_b.model_path, model_b.metadata_path, version="v1.0.0", params=serve_params
    ) as server:
        result = smoke_test(server.url, model_a.sample, expected_version="v1.0.0")
        assert smoke_test(server.url, model_b.sample, expected_version="v1.0.0").ok
    assert not result.ok
    ok, detail = _checks(result)["predict"]
    assert not ok
    assert "difference(s) from the offline predictions" in detail
    assert f"(tolerance {TOLERANCE:g})" in detail
    assert "row 0: score " in detail and "expected " in detail
    assert _checks(result)["health"][0] and _checks(result)["version"][0]


def test_a_server_that_is_down_fails_every_check_saying_so(model_a: Trained) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = smoke_test(f"http://127.0.0.1:{port}", model_a.sample, timeout=2.0)
    assert not result.ok
    for ok, detail in _checks(result).values():
        assert not ok
        assert f"could not reach http://127.0.0.1:{port}/" in detail
        assert "is the server running there?" in detail


def test_in_process_smoke_test(model_a: Trained, model_b: Trained) -> None:
    assert smoke_test_model(model_a.model, model_a.sample).ok
    assert smoke_test_model(model_b.model, model_b.sample).ok
    wrong = smoke_test_model(model_b.model, model_a.sample)
    assert not wrong.ok
    assert "predict: " in wrong.summary()
    assert "difference(s) from the offline predictions" in wrong.summary()

    short = SmokeSample(
        features=model_a.sample.features[1:],
        rows=model_a.sample.rows,
        expected=model_a.sample.expected,
    )
    result = smoke_test_model(model_a.model, short)
    assert not result.ok and "the sample lacks age" in result.summary()
    bad_row = dict(model_a.sample.rows[0], age=500)
    invalid = SmokeSample(
        model_a.sample.features, (bad_row, *model_a.sample.rows[1:]), model_a.sample.expected
    )
    result = smoke_test_model(model_a.model, invalid)
    assert not result.ok
    assert "schema: 1 value(s)" in result.summary() and "500 is outside" in result.summary()


def test_the_tolerance_is_absolute_and_tight(model_a: Trained) -> None:
    raw = model_a.sample.to_dict()
    raw["expected"][3]["score"] += 10 * TOLERANCE
    moved = smoke_sample_from_dict(raw)
    result = smoke_test_model(model_a.model, moved)
    assert not result.ok and "row 3: score" in result.summary()
    raw["expected"][3]["score"] -= 9.5 * TOLERANCE
    assert smoke_test_model(model_a.model, smoke_sample_from_dict(raw)).ok


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(schema_version=2), "schema_version is 2, expected 1"),
        (lambda d: d.update(features=[]), "features must be a non-empty list"),
        (lambda d: d["rows"][0].pop("age"), "row 0 must hold exactly the features"),
        (lambda d: d["expected"].pop(), "expected must list one prediction per row"),
        (lambda d: d["expected"][1].update(score="high"), r"expected\[1\]\.score must be a number"),
        (lambda d: d["expected"][2].pop("y_pred"), r"expected\[2\] must be an object with y_pred"),
    ],
)
def test_a_bad_sample_file_is_refused_naming_it(
    model_a: Trained, tmp_path: Path, edit, message: str
) -> None:
    raw = model_a.sample.to_dict()
    edit(raw)
    path = tmp_path / "smoke_sample.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(DataError, match=message) as info:
        load_smoke_sample(path)
    assert str(path) in str(info.value) and "mlgitops evaluate" in str(info.value)


def test_a_missing_sample_file_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist; run the step that produces it"):
        load_smoke_sample(tmp_path / "nope.json")


def test_a_server_that_cannot_start_raises_with_its_output(
    model_a: Trained, serve_params: Path, tmp_path: Path
) -> None:
    server = ServerProcess(
        tmp_path / "missing.skops", model_a.metadata_path, params=serve_params, startup_timeout=30
    )
    with pytest.raises(ServerStartError, match=r"exited with code 2 before it was ready") as info:
        server.start()
    assert "does not exist" in str(info.value)
    assert server.pid is None
