"""The drift check on the real prediction log: written by the server's log writer, read back.

Four days of requests answered by the served model's own answer function: two days of ordinary
production rows, then two days of shifted rows. The check reads the SQLite log directly, uses the
outputs the server logged, and dates the drift to the first shifted day.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from mlgitops.artifact import load_model
from mlgitops.drift_batch import logged_outputs
from mlgitops.schema import schema_from_dict
from mlgitops.serve.holder import predictions
from mlgitops.serve.log import LogEntry, PredictionLog
from tests.drift.helpers import invoke, sample, shifted

pytestmark = pytest.mark.filterwarnings("error")

DAY0 = datetime(2024, 6, 10, tzinfo=UTC)
ROWS_PER_DAY = 300
REQUEST_ROWS = 50


def _records(frame: pd.DataFrame, features: list[str]) -> list[dict]:
    # As a client sends them: JSON values, null for missing.
    return json.loads(frame[features].to_json(orient="records"))


def _write_log(project: Path, folder: Path, days: list[pd.DataFrame]) -> Path:
    model = load_model(project / "models" / "model.skops", project / "models" / "model.json")
    schema = schema_from_dict(model.metadata["input_schema"])
    path = folder / "predictions.sqlite"
    log = PredictionLog(path, batch_rows=100, flush_seconds=0.01, queue_rows=100_000).start()
    for day, frame in enumerate(days):
        for start in range(0, len(frame), REQUEST_ROWS):
            records = _records(frame.iloc[start : start + REQUEST_ROWS], model.features)
            when = DAY0 + timedelta(days=day, minutes=start)
            entry = LogEntry(
                when, f"req-{day}-{start}", "v1.0.0", records, predictions(model, schema, records)
            )
            assert log.append(entry)
    log.close()
    assert log.written == sum(len(d) for d in days) and log.dropped == 0
    return path


@pytest.fixture(scope="module")
def written_log(profiled_project: Path, production: pd.DataFrame, tmp_path_factory) -> Path:
    days = [sample(production, ROWS_PER_DAY, seed=day) for day in range(4)]
    days[2], days[3] = shifted(days[2]), shifted(days[3])
    return _write_log(profiled_project, tmp_path_factory.mktemp("log"), days)


@pytest.fixture
def log_path(project: Path, written_log: Path) -> Path:
    path = project / "logs" / "predictions.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(written_log, path)
    return path


def test_the_check_reads_the_log_uses_its_outputs_and_dates_the_drift(
    project: Path, log_path: Path
) -> None:
    result = invoke("drift", "--current", str(log_path))
    assert result.exit_code == 1, result.output
    doc = json.loads((project / "reports" / "drift.json").read_text())
    assert doc["decision"]["drifted"] == ["age", "hours_per_week"]
    assert doc["batch"]["kind"] == "prediction_log"
    assert doc["batch"]["rows"] == 4 * ROWS_PER_DAY
    assert doc["batch"]["versions"] == {"v1.0.0": 4 * ROWS_PER_DAY}
    assert doc["batch"]["from"] == "2024-06-10T00:00:00Z"
    assert doc["predictions"]["source"] == "logged"
    # Since when: the first shifted day, for both features and for the batch.
    assert doc["since"] == "2024-06-12T00:00:00Z"
    since = {f["name"]: f["since"] for f in doc["features"] if f["drifted"]}
    assert since == {"age": "2024-06-12T00:00:00Z", "hours_per_week": "2024-06-12T00:00:00Z"}
    assert [(w["start"][:10], w["rows"], w["drifted"]) for w in doc["windows"]] == [
        ("2024-06-10", ROWS_PER_DAY, []),
        ("2024-06-11", ROWS_PER_DAY, []),
        ("2024-06-12", ROWS_PER_DAY, ["age", "hours_per_week"]),
        ("2024-06-13", ROWS_PER_DAY, ["age", "hours_per_week"]),
    ]
    markdown = (project / "reports" / "drift.md").read_text()
    assert "**Since 2024-06-12T00:00:00Z**" in markdown


def test_since_and_until_select_the_days_before_the_shift(project: Path, log_path: Path) -> None:
    result = invoke(
        "drift", "--current", str(log_path), "--since", "2024-06-10", "--until", "2024-06-12"
    )
    assert result.exit_code == 0, result.output
    doc = json.loads((project / "reports" / "drift.json").read_text())
    assert doc["batch"]["rows"] == 2 * ROWS_PER_DAY
    assert doc["verdict"] == "no_drift" and doc["since"] is None
    result = invoke("drift", "--current", str(log_path), "--since", "2030-01-01")
    assert result.exit_code == 2
    assert "has no rows between 2030-01-01 and now" in result.output


def test_an_exported_log_is_the_same_batch(project: Path, log_path: Path) -> None:
    out = project / "data" / "production" / "predictions.parquet"
    result = invoke("export-log", "--log", str(log_path), "--until", "2024-06-12")
    assert result.exit_code == 0, result.output
    assert out.is_file()  # drift.source.path, the default
    assert invoke("drift").exit_code == 0  # drift.source: kind path, that file
    doc = json.loads((project / "reports" / "drift.json").read_text())
    assert doc["batch"]["rows"] == 2 * ROWS_PER_DAY and doc["predictions"]["source"] == "logged"


def test_rows_answered_by_another_version_are_scored_again(log_path: Path) -> None:
    from mlgitops.serve.log import read_prediction_log

    frame = read_prediction_log(log_path)
    outputs, why = logged_outputs(frame, "binary", "v1.0.0")
    assert outputs is not None and outputs.source == "logged"
    frame.loc[:10, "_version"] = "v0.9.0"
    outputs, why = logged_outputs(frame, "binary", "v1.0.0")
    assert outputs is None
    assert "some rows were answered by v0.9.0, not v1.0.0" in why
    outputs, why = logged_outputs(frame.drop(columns=["_score"]), "binary", None)
    assert outputs is None and "no _score column" in why
