"""The prediction log: concurrent writers, bounded queue, crash safety, and the reader contract."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from mlgitops.errors import DataError
from mlgitops.serve.log import (
    META_COLUMNS,
    REJECTED_COLUMNS,
    LogEntry,
    PredictionLog,
    RejectedEntry,
    read_prediction_log,
    read_rejected_requests,
)

T0 = datetime(2024, 6, 11, 12, 0, 0, tzinfo=UTC)


def _entry(i: int, rows: int = 3, when: datetime = T0) -> LogEntry:
    inputs = [
        {"age": 20 + j, "workclass": None if j == 1 else "Private", "ratio": 0.5 * j}
        for j in range(rows)
    ]
    outputs = [{"label": ">50K" if j % 2 else "<=50K", "score": j / 10} for j in range(rows)]
    return LogEntry(when + timedelta(seconds=i), f"req-{i}", "v1.0.0", inputs, outputs)


def test_entries_from_many_threads_all_arrive_whole(tmp_path: Path) -> None:
    written: list[int] = []
    log = PredictionLog(
        tmp_path / "logs" / "p.sqlite",
        batch_rows=7,
        flush_seconds=0.01,
        queue_rows=10_000,
        on_written=written.append,
    ).start()

    def send(base: int) -> None:
        for i in range(50):
            assert log.append(_entry(base + i))

    threads = [threading.Thread(target=send, args=(k * 1000,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    assert log.pending == 0 and log.dropped == 0 and sum(written) == 600 == log.written

    frame = read_prediction_log(tmp_path / "logs" / "p.sqlite")
    assert len(frame) == 600
    assert list(frame.columns) == ["age", "workclass", "ratio", *META_COLUMNS]
    assert frame["age"].dtype == "int64" and frame["ratio"].dtype == "float64"
    assert frame["_time"].dt.tz is not None
    for _, rows in frame.groupby("_request_id"):
        assert list(rows["_record"]) == [0, 1, 2]
        assert list(rows["age"]) == [20, 21, 22]
        assert rows["workclass"].isna().tolist() == [False, True, False]
        assert list(rows["_prediction"]) == ["<=50K", ">50K", "<=50K"]
        assert list(rows["_score"]) == [0.0, 0.1, 0.2]


def test_a_full_queue_drops_new_entries_and_counts_them(tmp_path: Path) -> None:
    dropped: list[int] = []
    log = PredictionLog(
        tmp_path / "p.sqlite",
        batch_rows=100,
        flush_seconds=0.01,
        queue_rows=5,
        on_dropped=dropped.append,
    )
    assert log.append(_entry(0))  # the writer is not started: nothing drains
    assert not log.append(_entry(1))
    assert (log.pending, log.dropped, dropped) == (3, 3, [3])
    log.start().close()
    assert list(read_prediction_log(tmp_path / "p.sqlite")["_request_id"].unique()) == ["req-0"]


def test_since_and_until_select_by_time(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path / "p.sqlite", batch_rows=1, flush_seconds=0.01, queue_rows=100)
    log.start()
    for i in range(5):
        log.append(_entry(i * 60, rows=1))
    log.close()
    path = tmp_path / "p.sqlite"

    def ids(**bounds) -> list[str]:
        return list(read_prediction_log(path, **bounds)["_request_id"])

    assert ids() == ["req-0", "req-60", "req-120", "req-180", "req-240"]
    assert ids(since=T0 + timedelta(minutes=1)) == ["req-60", "req-120", "req-180", "req-240"]
    assert ids(until="2024-06-11T12:02:00Z") == ["req-0", "req-60"]
    naive = datetime(2024, 6, 11, 12, 1, 30)  # naive means UTC
    assert ids(since=naive, until=pd.Timestamp("2024-06-11 14:03:00+02:00")) == ["req-120"]
    assert ids(since="2030-01-01") == []
    empty = read_prediction_log(path, since="2030-01-01")
    assert list(empty.columns) == list(META_COLUMNS)
    with pytest.raises(DataError, match=r"since='yesterday' is not a date or time"):
        read_prediction_log(path, since="yesterday")


_WRITER = textwrap.dedent(
    """
    import sys, time
    from datetime import UTC, datetime
    from mlgitops.serve.log import LogEntry, PredictionLog
    log = PredictionLog(sys.argv[1], batch_rows=50, flush_seconds=0.005, queue_rows=10**9).start()
    i = 0
    while i < 200_000:  # bounded; the test kills it long before
        rows = 1 + i % 7
        log.append(LogEntry(datetime.now(UTC), f"r{i}", "v1", [{"x": i}] * rows,
                            [{"label": "a", "score": 0.5}] * rows))
        i += 1
        if i % 100 == 0:
            time.sleep(0.001)
    """
)


def test_a_killed_writer_leaves_a_readable_log_of_whole_requests(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite"
    process = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)])
    try:
        for _ in range(400):  # bounded wait for some commits
            if path.is_file():
                try:
                    if len(read_prediction_log(path)) > 2000:
                        break
                except DataError:
                    pass  # the table is being created
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)  # mid-write, no chance to flush
    finally:
        process.wait(30)
    frame = read_prediction_log(path)
    assert len(frame) > 2000
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    counts = frame.groupby("_request_id")["_record"].agg(["count", "max"])
    sizes = {f"r{i}": 1 + i % 7 for i in range(200_000)}
    assert all(counts["count"] == counts.index.map(sizes))  # no half-logged request
    assert all(counts["max"] == counts["count"] - 1)


def test_files_that_are_not_a_prediction_log_are_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DataError, match="is not an SQLite prediction log"):
        PredictionLog(junk, batch_rows=1, flush_seconds=1, queue_rows=1)
    with pytest.raises(DataError, match="could not be read"):
        read_prediction_log(junk)
    with pytest.raises(DataError, match=r"does not exist; point to the file mlgitops serve"):
        read_prediction_log(tmp_path / "nope.sqlite")
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE t (x)")
        connection.execute("PRAGMA user_version = 7")
    with pytest.raises(DataError, match="has format version 7"):
        PredictionLog(other, batch_rows=1, flush_seconds=1, queue_rows=1)


def _rejected(i: int) -> RejectedEntry:
    errors = [{"record": 0, "field": "age", "kind": "range", "error": "150 is outside 17..100"}]
    body = '{"records": [{"age": 150, "note": "caf\u00e9"}]}'
    return RejectedEntry(T0 + timedelta(seconds=i), f"bad-{i}", "v1.0.0", body, errors, 3)


def test_rejected_requests_are_logged_apart_and_the_drift_check_never_reads_them(
    tmp_path: Path,
) -> None:
    from mlgitops.drift_batch import load_batch

    path = tmp_path / "p.sqlite"
    written: list[int] = []
    log = PredictionLog(
        path, batch_rows=4, flush_seconds=0.01, queue_rows=100, on_written=written.append
    ).start()
    for i in range(3):
        assert log.append(_entry(i))
        assert log.append(_rejected(i))
    log.close()
    assert sum(written) == 3 * 3 + 3 and log.pending == 0

    rejected = read_rejected_requests(path)
    assert list(rejected.columns) == list(REJECTED_COLUMNS)
    assert list(rejected["_request_id"]) == ["bad-0", "bad-1", "bad-2"]
    assert set(rejected["_version"]) == {"v1.0.0"} and set(rejected["_error_count"]) == {3}
    assert rejected["_errors"][0] == _rejected(0).errors
    assert rejected["_body"][0] == _rejected(0).body  # as sent, non-ASCII included
    assert list(read_rejected_requests(path, since=T0 + timedelta(seconds=1))["_request_id"]) == [
        "bad-1",
        "bad-2",
    ]
    # What the drift check reads: the answered records only.
    frame = read_prediction_log(path)
    assert set(frame["_request_id"]) == {"req-0", "req-1", "req-2"} and len(frame) == 9
    batch, source = load_batch(str(path))
    assert set(batch["_request_id"]) == {"req-0", "req-1", "req-2"} and len(batch) == 9
    assert source["kind"] == "prediction_log"


def test_a_log_written_before_rejected_requests_were_logged_reads_as_none(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as connection:  # the format-1 file of an older server
        connection.execute(
            "CREATE TABLE predictions (id INTEGER PRIMARY KEY, time TEXT NOT NULL, request_id TEXT"
            " NOT NULL, record INTEGER NOT NULL, version TEXT NOT NULL, inputs TEXT NOT NULL, "
            "prediction TEXT NOT NULL, score REAL, outputs TEXT NOT NULL)"
        )
        connection.execute("PRAGMA user_version = 1")
    assert read_rejected_requests(path).empty
    log = PredictionLog(path, batch_rows=1, flush_seconds=0.01, queue_rows=10).start()
    log.append(_rejected(0))  # opening it adds the table
    log.close()
    assert list(read_rejected_requests(path)["_request_id"]) == ["bad-0"]
