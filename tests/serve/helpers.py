"""Helpers of the serve tests: trained models with their smoke samples, and a tiny HTTP client."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlgitops.artifact import LoadedModel, load_model
from mlgitops.evaluate import smoke_sample
from mlgitops.fsio import read_table, write_json
from mlgitops.scoring import score_frame
from mlgitops.serve.smoke import SmokeSample, load_smoke_sample


@dataclass(frozen=True)
class Trained:
    """A model's files, the model loaded in process, and its smoke sample."""

    model_path: Path
    metadata_path: Path
    sample_path: Path
    model: LoadedModel
    sample: SmokeSample


def with_sample(project: Path, model_path: Path, metadata_path: Path, dest: Path) -> Trained:
    """Load a model and write its smoke sample from the project's test split to ``dest``."""
    model = load_model(model_path, metadata_path)
    frame = read_table(project / "data" / "prepared" / "test.parquet").reset_index(drop=True)
    scored = score_frame(model, frame)
    write_json(dest, smoke_sample(scored, frame, model.features, 20))
    return Trained(model_path, metadata_path, dest, model, load_smoke_sample(dest))


def write_serve_params(source: Path, dest: Path, **serve: Any) -> Path:
    """A copy of ``source`` with a faster serve section (the log commits within 50 ms)."""
    raw = yaml.safe_load(source.read_text())
    raw["serve"].update({"log_flush_seconds": 0.05, "watch_interval": 0.2, **serve})
    dest.write_text(yaml.safe_dump(raw, sort_keys=False))
    return dest


# -- a tiny HTTP client (the standard library, never a proxy) ------------------------------------

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def request(
    url: str, body: Any = None, *, raw: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any, dict[str, str]]:
    """(status, decoded JSON or text, headers with lower-case names) of one request."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    for key, value in (headers or {}).items():
        req.add_header(key, value)
    try:
        with _OPENER.open(req, timeout=30) as response:
            status, payload, got = response.status, response.read(), response.headers
    except urllib.error.HTTPError as exc:
        status, payload, got = exc.code, exc.read(), exc.headers
    lowered = {k.lower(): v for k, v in got.items()}
    try:
        return status, json.loads(payload), lowered
    except ValueError:
        return status, payload.decode(), lowered


class Client:
    """One keep-alive connection (for load loops)."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def predict(self, records: list[dict[str, Any]]) -> tuple[int, Any]:
        self.connection.request(
            "POST",
            "/predict",
            body=json.dumps({"records": records}),
            headers={"Content-Type": "application/json"},
        )
        response = self.connection.getresponse()
        return response.status, json.loads(response.read())

    def close(self) -> None:
        self.connection.close()
