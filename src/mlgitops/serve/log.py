"""The prediction log: every answered record, for the drift check to read later, and every
rejected request, apart.

Storage: one SQLite file (``paths.prediction_log``, default ``logs/predictions.sqlite``), chosen
over partitioned JSON lines because:

- it is in the standard library and a single file to copy or upload;
- writes are transactions: a crash (even ``kill -9``) mid-write leaves the file as of the last
  commit, never a torn line; with ``journal_mode=WAL`` and ``synchronous=NORMAL`` a commit survives
  a process crash (a power cut may lose the last commits, never corrupt the file);
- readers (the drift check, an analyst) read a consistent snapshot while the server writes;
- ``since``/``until`` are an indexed range query instead of a scan of every partition.

Writing never happens on the event loop: a request puts its entry on a queue (no I/O) and returns;
one writer thread owns the connection and commits in batches: a transaction is closed once it
holds ``serve.log_batch_rows`` rows or ``serve.log_flush_seconds`` after its first row was queued,
and always at the end of a request, so a request's records are all in the log or none are. A crash
loses at most the last ``log_flush_seconds`` of answers. If the writer falls behind by more than
``serve.log_queue_rows`` rows, new entries are dropped and counted (``/metrics``) rather than
slowing answers or growing memory without bound. Stopping the server flushes everything queued.

Table ``predictions`` (``PRAGMA user_version`` = :data:`LOG_VERSION`), one row per record: ``time``
(UTC, fixed-width ISO 8601, so text order is time order), ``request_id``, ``record`` (position in
the request), ``version``, ``inputs`` (JSON object of the record's feature values), ``prediction``
(JSON of the label), ``score`` (REAL: the probability of the positive class for a binary model, of
the predicted class for a multiclass one, NULL for regression) and ``outputs`` (JSON of the whole
answer for the record).

Table ``rejected``, one row per request answered 422 (created in existing format-1 files when they
are opened; readers of ``predictions`` never see it): ``time``, ``request_id``, ``version`` (the
model that checked it), ``body`` (the request body as sent, decoded as UTF-8 with replacement; at
most ``serve.max_body_bytes``), ``error_count`` and ``errors`` (JSON list of the field-level
errors the answer listed). Rejected requests are kept apart so that the drift check reads only
what the model answered: :func:`read_prediction_log` reads ``predictions`` and nothing else,
:func:`read_rejected_requests` reads ``rejected``.

:func:`read_prediction_log` is the drift check's input; its columns are a contract (see there).
"""

from __future__ import annotations

import json
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from mlgitops.errors import DataError
from mlgitops.serve.holder import iso

LOG_VERSION = 1

#: The columns :func:`read_prediction_log` adds after the feature columns, in this order.
META_COLUMNS = ("_time", "_version", "_request_id", "_record", "_prediction", "_score")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS predictions (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    request_id TEXT NOT NULL,
    record INTEGER NOT NULL,
    version TEXT NOT NULL,
    inputs TEXT NOT NULL,
    prediction TEXT NOT NULL,
    score REAL,
    outputs TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS predictions_time ON predictions (time);
CREATE TABLE IF NOT EXISTS rejected (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    request_id TEXT NOT NULL,
    version TEXT NOT NULL,
    body TEXT NOT NULL,
    error_count INTEGER NOT NULL,
    errors TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rejected_time ON rejected (time);
"""

#: The columns :func:`read_rejected_requests` returns, in this order.
REJECTED_COLUMNS = ("_time", "_version", "_request_id", "_error_count", "_errors", "_body")


@dataclass(frozen=True)
class LogEntry:
    """One answered request: when, which request, which version, what came in, what went out."""

    time: datetime
    request_id: str
    version: str
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]

    def rows(self) -> list[tuple[Any, ...]]:
        """The table rows of this entry (one per record)."""
        when = iso(self.time)
        return [
            (
                when,
                self.request_id,
                i,
                self.version,
                json.dumps(record, ensure_ascii=False, allow_nan=False),
                json.dumps(answer.get("label"), ensure_ascii=False, allow_nan=False),
                _score(answer),
                json.dumps(answer, ensure_ascii=False, allow_nan=False),
            )
            for i, (record, answer) in enumerate(zip(self.inputs, self.outputs, strict=True))
        ]


@dataclass(frozen=True)
class RejectedEntry:
    """One request answered 422: when, which request, which version checked it, what it sent,
    and the errors it was told (the first ``len(errors)`` of ``error_count``)."""

    time: datetime
    request_id: str
    version: str
    body: str
    errors: list[dict[str, Any]]
    error_count: int

    def row(self) -> tuple[Any, ...]:
        """The ``rejected`` table's row of this entry."""
        return (
            iso(self.time),
            self.request_id,
            self.version,
            self.body,
            self.error_count,
            json.dumps(self.errors, ensure_ascii=False, allow_nan=False),
        )


def _size(entry: LogEntry | RejectedEntry) -> int:
    """Rows an entry takes in the queue (a rejected request is one row)."""
    return len(entry.inputs) if isinstance(entry, LogEntry) else 1


def _score(answer: dict[str, Any]) -> float | None:
    if "score" in answer:
        return float(answer["score"])
    probabilities = answer.get("probabilities")
    if isinstance(probabilities, dict):
        return float(probabilities.get(str(answer.get("label")), max(probabilities.values())))
    return None


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=True)
    connection.execute("PRAGMA busy_timeout = 30000")
    return connection


def open_log(path: str | os.PathLike[str]) -> Path:
    """Create the log file and its table if needed; refuse a file of another format."""
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        connection = _connect(p)
    except (OSError, sqlite3.Error) as exc:
        raise DataError(
            f"prediction log {p} cannot be opened ({exc}); pass a writable path with --log."
        ) from exc
    try:
        found = connection.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
        if tables and found != LOG_VERSION:
            raise DataError(
                f"prediction log {p} has format version {found}, this server writes "
                f"{LOG_VERSION}; move the old file away or pass another path with --log."
            )
        connection.execute("PRAGMA journal_mode = WAL")
        connection.executescript(_SCHEMA)
        connection.execute(f"PRAGMA user_version = {LOG_VERSION}")
    except sqlite3.DatabaseError as exc:
        raise DataError(
            f"prediction log {p} is not an SQLite prediction log ({exc}); "
            "move it away or pass another path with --log."
        ) from exc
    finally:
        connection.close()
    return p


_STOP = object()


class PredictionLog:
    """Appends entries from any thread without blocking; one writer thread commits in batches.

    Args:
        path: The SQLite file (created with its table when missing).
        batch_rows: Rows after which a transaction is committed (at the end of that request).
        flush_seconds: Longest a queued row waits before it is committed.
        queue_rows: Rows allowed to wait; beyond that new entries are dropped and counted.
        on_written: Called with the number of rows after each commit (metrics).
        on_dropped: Called with the number of rows of each dropped entry (metrics).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        batch_rows: int,
        flush_seconds: float,
        queue_rows: int,
        on_written: Callable[[int], None] | None = None,
        on_dropped: Callable[[int], None] | None = None,
    ) -> None:
        self.path = open_log(path)
        self.batch_rows = batch_rows
        self.flush_seconds = flush_seconds
        self.queue_rows = queue_rows
        self._on_written = on_written or (lambda n: None)
        self._on_dropped = on_dropped or (lambda n: None)
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._pending = 0
        self._pending_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.written = 0
        self.dropped = 0
        self.error: str | None = None

    @property
    def pending(self) -> int:
        """Rows queued and not yet committed."""
        return self._pending

    def start(self) -> PredictionLog:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="prediction-log-writer", daemon=True
            )
            self._thread.start()
        return self

    def append(self, entry: LogEntry | RejectedEntry) -> bool:
        """Queue ``entry`` (no I/O); False when it was dropped because the queue is full."""
        n = _size(entry)
        with self._pending_lock:
            if self._pending + n > self.queue_rows:
                self.dropped += n
                dropped = True
            else:
                self._pending += n
                dropped = False
        if dropped:
            self._on_dropped(n)
            return False
        self._queue.put(entry)
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Commit everything queued and stop the writer."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        connection = _connect(self.path)
        connection.execute("PRAGMA synchronous = NORMAL")
        answered: list[tuple[Any, ...]] = []
        rejected: list[tuple[Any, ...]] = []
        deadline = None
        try:
            while True:
                wait = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    item = self._queue.get(timeout=wait)
                except queue.Empty:
                    item = None
                stopping = item is _STOP
                if isinstance(item, LogEntry | RejectedEntry):
                    if not answered and not rejected:
                        deadline = time.monotonic() + self.flush_seconds
                    if isinstance(item, LogEntry):
                        answered.extend(item.rows())
                    else:
                        rejected.append(item.row())
                due = deadline is not None and time.monotonic() >= deadline
                waiting = len(answered) + len(rejected)
                if waiting and (stopping or due or waiting >= self.batch_rows):
                    self._commit(connection, answered, rejected)
                    answered, rejected, deadline = [], [], None
                if stopping:
                    return
        finally:
            connection.close()

    def _commit(
        self,
        connection: sqlite3.Connection,
        answered: list[tuple[Any, ...]],
        rejected: list[tuple[Any, ...]],
    ) -> None:
        """One transaction for the buffers: whole requests only (they are cut at request ends)."""
        rows = len(answered) + len(rejected)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(
                "INSERT INTO predictions (time, request_id, record, version, inputs, "
                "prediction, score, outputs) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                answered,
            )
            connection.executemany(
                "INSERT INTO rejected (time, request_id, version, body, error_count, errors) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                rejected,
            )
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            # Keep serving: the failure is counted as dropped rows and shown in /metrics.
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            self.error = f"{type(exc).__name__}: {exc}"
            self.dropped += rows
            self._on_dropped(rows)
        else:
            self.written += rows
            self._on_written(rows)
        with self._pending_lock:
            self._pending -= rows


def _bound(moment: datetime | str | None, name: str) -> str | None:
    if moment is None:
        return None
    try:
        stamp = pd.Timestamp(moment)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{name}={moment!r} is not a date or time; use ISO 8601.") from exc
    stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)
    return iso(stamp.to_pydatetime())


def read_prediction_log(
    path: str | os.PathLike[str],
    since: datetime | str | None = None,
    until: datetime | str | None = None,
) -> pd.DataFrame:
    """Read the prediction log into one row per answered record (the drift check's input).

    The contract: the frame has one column per feature (the union of the logged records' feature
    names, in the order they first appear; a value a record did not have is missing), then
    :data:`META_COLUMNS`:

    - ``_time``: when the request was answered (pandas datetime, UTC);
    - ``_version``: the model version that answered it;
    - ``_request_id``: the request's id (the ``X-Request-ID`` header, or one the server made);
    - ``_record``: the record's position in its request (0-based);
    - ``_prediction``: the label (the number for regression);
    - ``_score``: probability of the positive class (binary), of the predicted class
      (multiclass), NaN for regression.

    Rows are in the order they were logged. Feature values are as the client sent them (null is
    missing); integer features come back as ``int64`` unless a value is missing (then
    ``float64``), text as pandas' string dtype.

    Args:
        path: The SQLite log file.
        since: Keep records answered at or after this moment (naive means UTC).
        until: Keep records answered before this moment (naive means UTC).

    Raises:
        DataError: the file does not exist or is not a prediction log.
    """
    rows, found = _select(
        path,
        "predictions",
        "time, version, request_id, record, prediction, score, inputs",
        since,
        until,
    )
    if found != LOG_VERSION:
        raise DataError(
            f"prediction log {path} has format version {found}, this reader reads {LOG_VERSION}."
        )
    inputs = pd.DataFrame.from_records([json.loads(r[6]) for r in rows])
    meta = pd.DataFrame(
        {
            "_time": pd.to_datetime([r[0] for r in rows], utc=True, format="ISO8601"),
            "_version": pd.Series([r[1] for r in rows], dtype="str"),
            "_request_id": pd.Series([r[2] for r in rows], dtype="str"),
            "_record": pd.Series([r[3] for r in rows], dtype="int64"),
            "_prediction": pd.Series([json.loads(r[4]) for r in rows], dtype=object),
            "_score": pd.Series([r[5] for r in rows], dtype="float64"),
        }
    )
    frame = pd.concat([inputs.reset_index(drop=True), meta], axis=1)
    if len(frame) and frame["_prediction"].map(type).nunique() == 1:
        frame["_prediction"] = frame["_prediction"].infer_objects()
    return frame


def read_rejected_requests(
    path: str | os.PathLike[str],
    since: datetime | str | None = None,
    until: datetime | str | None = None,
) -> pd.DataFrame:
    """Read the requests answered 422, one row each, in the order they were logged.

    Columns :data:`REJECTED_COLUMNS`: ``_time`` (UTC), ``_version`` (the model that checked
    it), ``_request_id``, ``_error_count``, ``_errors`` (the list of field-level errors the
    answer listed, as dicts) and ``_body`` (the request body as sent). A log written before
    rejected requests were logged has none.

    Raises:
        DataError: the file does not exist or is not a prediction log.
    """
    rows, _ = _select(
        path, "rejected", "time, version, request_id, error_count, errors, body", since, until
    )
    return pd.DataFrame(
        {
            "_time": pd.to_datetime([r[0] for r in rows], utc=True, format="ISO8601"),
            "_version": pd.Series([r[1] for r in rows], dtype="str"),
            "_request_id": pd.Series([r[2] for r in rows], dtype="str"),
            "_error_count": pd.Series([r[3] for r in rows], dtype="int64"),
            "_errors": pd.Series([json.loads(r[4]) for r in rows], dtype=object),
            "_body": pd.Series([r[5] for r in rows], dtype="str"),
        }
    )


def _select(
    path: str | os.PathLike[str],
    table: str,
    columns: str,
    since: datetime | str | None,
    until: datetime | str | None,
) -> tuple[list[tuple[Any, ...]], int]:
    """The rows of one table of a prediction log within [since, until), in the order logged,
    and the log's format version. A table the log does not have yet holds no rows.

    Raises:
        DataError: the file does not exist or cannot be read as a prediction log.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(
            f"prediction log {p} does not exist; point to the file mlgitops serve writes (--log)."
        )
    clauses, args = [], []
    low, high = _bound(since, "since"), _bound(until, "until")
    if low is not None:
        clauses.append("time >= ?")
        args.append(low)
    if high is not None:
        clauses.append("time < ?")
        args.append(high)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    try:
        connection = sqlite3.connect(f"file:{p}?mode=ro", uri=True, timeout=30)
        try:
            found = connection.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
            rows = (
                connection.execute(
                    f"SELECT {columns} FROM {table}{where} ORDER BY id", args
                ).fetchall()
                if table in tables
                else []
            )
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise DataError(
            f"prediction log {p} could not be read ({exc}); is it a file mlgitops serve wrote?"
        ) from exc
    return rows, found
