"""The HTTP contract of ``mlgitops serve``, over real HTTP on loopback against the real process."""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mlgitops.fsio import read_table
from mlgitops.serve.log import read_prediction_log, read_rejected_requests
from mlgitops.serve.process import ServerProcess
from tests.serve.helpers import Trained, request


def _rows(model: Trained, n: int) -> list[dict[str, Any]]:
    return [dict(r) for r in model.sample.rows[:n]]


def test_a_single_record_and_a_batch_get_exactly_the_offline_answers(
    server_a: ServerProcess, model_a: Trained
) -> None:
    status, body, headers = request(f"{server_a.url}/predict", {"records": _rows(model_a, 1)})
    assert status == 200, body
    assert body["version"] == "v1.0.0"
    assert headers["x-request-id"] == body["request_id"]
    [answer] = body["predictions"]
    assert answer == {
        "label": model_a.sample.expected[0]["y_pred"],
        "score": model_a.sample.expected[0]["score"],
    }

    rows = _rows(model_a, 20)
    assert any(v is None for r in rows for v in r.values())  # nulls go through as missing
    status, body, _ = request(f"{server_a.url}/predict", {"records": rows})
    assert status == 200, body
    assert [(p["label"], p["score"]) for p in body["predictions"]] == [
        (e["y_pred"], e["score"]) for e in model_a.sample.expected
    ]


def _mutated(model: Trained, change) -> list[dict[str, Any]]:
    rows = _rows(model, 3)
    change(rows[1])
    return rows


@pytest.mark.parametrize(
    ("change", "field", "kind"),
    [
        (lambda r: r.pop("age"), "age", "missing"),
        (lambda r: r.update(age="forty"), "age", "type"),
        (lambda r: r.update(age=39.5), "age", "type"),
        (lambda r: r.update(age=True), "age", "type"),
        (lambda r: r.update(sex=1), "sex", "type"),
        (lambda r: r.update(age=150), "age", "range"),
        (lambda r: r.update(capital_gain=-1), "capital_gain", "range"),
        (lambda r: r.update(race="Martian"), "race", "category"),
        (lambda r: r.update(education=None), "education", "null"),
        (lambda r: r.update(row_id=7), "row_id", "unknown_field"),
    ],
    ids=[
        "missing",
        "string-for-integer",
        "fraction-for-integer",
        "bool-for-integer",
        "number-for-category",
        "above-max",
        "below-min",
        "unknown-category",
        "null-not-nullable",
        "unknown-field",
    ],
)
def test_each_invalid_field_is_a_422_naming_record_and_field(
    server_a: ServerProcess, model_a: Trained, change, field: str, kind: str
) -> None:
    status, body, _ = request(f"{server_a.url}/predict", {"records": _mutated(model_a, change)})
    assert status == 422, body
    assert [(e["record"], e["field"], e["kind"]) for e in body["errors"]] == [(1, field, kind)]
    assert body["error_count"] == 1
    assert body["errors"][0]["error"]
    # The server goes on serving.
    status, body, _ = request(f"{server_a.url}/predict", {"records": _rows(model_a, 2)})
    assert status == 200 and len(body["predictions"]) == 2


def test_every_problem_of_every_record_is_listed(server_a: ServerProcess, model_a: Trained) -> None:
    rows = _rows(model_a, 3)
    rows[0].update(age=5, sex="X")
    rows[2].pop("hours_per_week")
    rows[2]["extra"] = 1
    status, body, _ = request(f"{server_a.url}/predict", {"records": rows})
    assert status == 422
    assert sorted((e["record"], e["field"], e["kind"]) for e in body["errors"]) == [
        (0, "age", "range"),
        (0, "sex", "category"),
        (2, "extra", "unknown_field"),
        (2, "hours_per_week", "missing"),
    ]


@pytest.mark.parametrize(
    ("raw", "field", "kind"),
    [
        (b"{not json", None, "body"),
        (b'{"records": [{"age": NaN}]}', None, "body"),
        (b"[]", None, "body"),
        (b'{"records": {}}', "records", "type"),
        (b'{"records": []}', "records", "body"),
        (b'{"rows": []}', "rows", "unknown_field"),
        (b'{"records": [1]}', None, "type"),
    ],
)
def test_a_malformed_body_is_a_422_too(
    server_a: ServerProcess, raw: bytes, field: str | None, kind: str
) -> None:
    status, body, _ = request(f"{server_a.url}/predict", raw=raw)
    assert status == 422, body
    assert (body["errors"][0]["field"], body["errors"][0]["kind"]) == (field, kind)


def test_batch_and_body_limits(server_a: ServerProcess, model_a: Trained) -> None:
    rows = (_rows(model_a, 20) * 26)[:501]  # serve.max_batch_rows is 500 in these params
    status, body, _ = request(f"{server_a.url}/predict", {"records": rows})
    assert status == 422
    assert "max_batch_rows" in body["errors"][0]["error"]
    status, body, _ = request(f"{server_a.url}/predict", raw=b" " * 200_001)
    assert status == 413 and "max_body_bytes" in body["error"]


def test_a_category_the_schema_allows_but_training_never_saw_is_answered(
    server_a: ServerProcess, model_a: Trained, small_project: Path
) -> None:
    train = read_table(small_project / "data" / "prepared" / "train.parquet")
    schema = model_a.model.input_schema
    unseen = [
        (column, value)
        for column, spec in schema.columns.items()
        if spec.allowed
        for value in spec.allowed
        if value not in set(train[column].dropna())
    ]
    assert unseen, "the small training split should miss some allowed category"
    column, value = unseen[0]
    record = {**_rows(model_a, 1)[0], column: value}
    status, body, _ = request(f"{server_a.url}/predict", {"records": [record]})
    assert status == 200, body
    assert body["predictions"][0]["label"] in model_a.model.metadata["classes"]
    assert 0.0 <= body["predictions"][0]["score"] <= 1.0


def test_health_version_and_unknown_routes(server_a: ServerProcess, model_a: Trained) -> None:
    assert request(f"{server_a.url}/health")[:2] == (
        200,
        {"status": "ok", "name": "income-model", "version": "v1.0.0"},
    )
    status, body, _ = request(f"{server_a.url}/version")
    assert status == 200
    assert body["name"] == "income-model"
    assert body["version"] == "v1.0.0"
    assert body["model_sha256"] == model_a.model.metadata["model_sha256"]
    assert datetime.fromisoformat(body["loaded_at"]) <= datetime.now(UTC)
    assert body["swaps"] == 0
    assert request(f"{server_a.url}/nope")[0] == 404
    assert request(f"{server_a.url}/predict")[0] == 405  # GET


def _families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def _value(family: Any, suffix: str = "", **labels: str) -> float:
    return sum(
        s.value
        for s in family.samples
        if s.name == family.name + suffix and all(s.labels.get(k) == v for k, v in labels.items())
    )


def test_metrics_are_prometheus_text(server_a: ServerProcess, model_a: Trained) -> None:
    before = _families(request(f"{server_a.url}/metrics")[1])
    request(f"{server_a.url}/predict", {"records": _rows(model_a, 3)})
    request(f"{server_a.url}/predict", {"records": [{"age": 30}]})
    status, text, headers = request(f"{server_a.url}/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    after = _families(text)
    requests = after["mlgitops_http_requests"]
    assert requests.type == "counter"
    ok = {"endpoint": "/predict", "method": "POST", "status": "200"}
    bad = {"endpoint": "/predict", "method": "POST", "status": "422"}
    assert (
        _value(requests, "_total", **ok)
        == _value(before["mlgitops_http_requests"], "_total", **ok) + 1
    )
    assert _value(requests, "_total", **bad) == (
        _value(before["mlgitops_http_requests"], "_total", **bad) + 1
    )
    predictions = after["mlgitops_predictions"]
    assert _value(predictions, "_total", version="v1.0.0") == (
        _value(before["mlgitops_predictions"], "_total", version="v1.0.0") + 3
    )
    latency = after["mlgitops_http_request_duration_seconds"]
    assert latency.type == "histogram"
    assert _value(latency, "_count", endpoint="/predict") >= 2
    info = after["mlgitops_model_info"]
    [sample] = info.samples
    assert sample.labels == {
        "name": "income-model",
        "version": "v1.0.0",
        "sha256": model_a.model.metadata["model_sha256"],
    }
    assert sample.value == 1
    assert _value(after["mlgitops_model_swaps"], "_total") == 0
    assert _value(after["mlgitops_validation_errors"], "_total", kind="missing") >= 11


def _wait_for_rows(log: Path, ids: set[str]) -> pd.DataFrame:
    for _ in range(200):  # bounded: the log commits within serve.log_flush_seconds (50 ms here)
        if log.is_file():
            frame = read_prediction_log(log)
            if ids <= set(frame["_request_id"]):
                return frame
        time.sleep(0.05)
    raise AssertionError(f"requests {sorted(ids)} never reached the prediction log {log}")


def _wait_for_rejected(log: Path, request_id: str) -> pd.Series:
    for _ in range(200):  # bounded, as above
        found = read_rejected_requests(log)
        mine = found[found["_request_id"] == request_id]
        if len(mine):
            return mine.iloc[0]
        time.sleep(0.05)
    raise AssertionError(f"request {request_id} never reached the log's rejected table {log}")


def _same(a: Any, b: Any) -> bool:
    missing = lambda v: v is None or (isinstance(v, float) and math.isnan(v))  # noqa: E731
    return (missing(a) and missing(b)) or a == b


def test_the_prediction_log_holds_exactly_what_was_sent_and_answered(
    server_a: ServerProcess, model_a: Trained
) -> None:
    started = datetime.now(UTC)
    sent = {"log-a": _rows(model_a, 1), "log-b": _rows(model_a, 20)}
    answered = {}
    for request_id, rows in sent.items():
        status, body, _ = request(
            f"{server_a.url}/predict", {"records": rows}, headers={"X-Request-ID": request_id}
        )
        assert status == 200 and body["request_id"] == request_id
        answered[request_id] = body["predictions"]
    # A refused request is logged as rejected, apart from the answered records.
    bad = {"records": [{}]}
    status, refused, _ = request(
        f"{server_a.url}/predict", bad, headers={"X-Request-ID": "log-bad"}
    )
    assert status == 422
    finished = datetime.now(UTC)

    frame = _wait_for_rows(server_a.log_path, set(sent))
    assert "log-bad" not in set(frame["_request_id"])
    rejected = _wait_for_rejected(server_a.log_path, "log-bad")
    assert rejected["_version"] == "v1.0.0"
    assert rejected["_error_count"] == refused["error_count"]
    assert rejected["_errors"] == refused["errors"]
    assert json.loads(rejected["_body"]) == bad
    assert started <= rejected["_time"] <= finished
    assert list(frame.columns[-6:]) == [
        "_time",
        "_version",
        "_request_id",
        "_record",
        "_prediction",
        "_score",
    ]
    features = model_a.model.features
    assert list(frame.columns[:-6]) == features
    for request_id, rows in sent.items():
        mine = frame[frame["_request_id"] == request_id].reset_index(drop=True)
        assert list(mine["_record"]) == list(range(len(rows)))
        assert set(mine["_version"]) == {"v1.0.0"}
        assert all(started <= t <= finished for t in mine["_time"])
        for i, row in enumerate(rows):
            assert all(_same(mine.loc[i, f], row[f]) for f in features), (request_id, i)
            assert mine.loc[i, "_prediction"] == answered[request_id][i]["label"]
            assert mine.loc[i, "_score"] == answered[request_id][i]["score"]

    ours = set(sent)
    assert ours <= set(read_prediction_log(server_a.log_path, since=started)["_request_id"])
    assert not ours & set(read_prediction_log(server_a.log_path, since=finished)["_request_id"])
    assert not ours & set(read_prediction_log(server_a.log_path, until=started)["_request_id"])


def test_stopping_flushes_the_log_and_exits_cleanly(
    model_a: Trained, serve_params: Path, tmp_path: Path
) -> None:
    # A long flush interval: only the shutdown can have committed these rows.
    params = tmp_path / "params.yaml"
    params.write_text(
        serve_params.read_text().replace("log_flush_seconds: 0.05", "log_flush_seconds: 60.0")
    )
    log = tmp_path / "p.sqlite"
    server = ServerProcess(
        model_a.model_path, model_a.metadata_path, version="v9", log=log, params=params
    )
    with server:
        for _ in range(5):
            assert request(f"{server.url}/predict", {"records": _rows(model_a, 4)})[0] == 200
        assert read_prediction_log(log).empty
    assert server.returncode == 0, server.output()
    frame = read_prediction_log(log)
    assert len(frame) == 20 and set(frame["_version"]) == {"v9"}
