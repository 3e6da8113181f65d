"""The drift check's inputs (the shell around :mod:`mlgitops.drift_check`): batches and sources.

A current batch is a parquet, CSV or JSON-lines file (:func:`mlgitops.fsio.read_table`), a glob of
them, or the served model's SQLite prediction log (:func:`mlgitops.serve.log.read_prediction_log`,
recognised by its ``.sqlite``/``.sqlite3``/``.db`` suffix). :func:`validate_batch` checks it
against the model's input schema for what would make the tests meaningless (a missing column, a
wrong type); out-of-range values and unknown categories are what drift looks like, so they are
tested and reported, never refused.

Where the scheduled check gets its batch is ``drift.source`` (:func:`materialise_source`):

- ``path``: a file or glob in the repository, e.g. the prediction log exported with
  ``mlgitops export-log`` and committed;
- ``dvc``: a DVC-tracked path, fetched with ``dvc pull <path>`` from the DVC remote (the serving
  side ``dvc add``-s and pushes its exports);
- ``command``: a program (argument list, no shell) that writes the batch to ``path``; it gets the
  path in ``MLGITOPS_DRIFT_BATCH`` (e.g. a copy from object storage).
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlgitops.drift_check import Outputs
from mlgitops.errors import DataError
from mlgitops.fsio import atomic_path, read_table
from mlgitops.params import DriftSourceParams
from mlgitops.schema import ColumnSpec, Schema, validate_frame

# scikit-learn and skops (via artifact, scoring and serve.log) are imported only where a batch
# needs them: a batch with logged outputs is checked without either.
if TYPE_CHECKING:
    from mlgitops.artifact import LoadedModel

LOG_SUFFIXES = (".sqlite", ".sqlite3", ".db")
GLOB_CHARACTERS = "*?["
#: Files named in drift.json (a long glob is summarised by its count).
MAX_LISTED_FILES = 20


def is_prediction_log(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names an SQLite prediction log (by its suffix)."""
    return Path(path).suffix.lower() in LOG_SUFFIXES


def batch_files(spec: str) -> list[str]:
    """The files a ``--current`` value names: itself, or the sorted matches of a glob.

    Raises:
        DataError: a glob matches nothing.
    """
    if not any(c in spec for c in GLOB_CHARACTERS):
        return [spec]
    # glob.glob, not Path.glob: the pattern may be absolute (Path.glob takes relative ones).
    matches = glob.glob(spec, recursive=True)  # noqa: PTH207
    files = sorted(p for p in matches if Path(p).is_file())
    if not files:
        raise DataError(
            f"the current batch {spec!r} matches no file; check the glob (quote it so the shell "
            "leaves it to mlgitops) or the drift source."
        )
    return files


def _time_filter(
    frame: pd.DataFrame,
    since: str | None,
    until: str | None,
    time_column: str,
    where: str,
) -> pd.DataFrame:
    if since is None and until is None:
        return frame
    if time_column not in frame.columns:
        raise DataError(
            f"--since/--until need a time column, and {where} has no {time_column} column "
            "(drift.time_column); drop them or add the column."
        )
    times = pd.to_datetime(frame[time_column], utc=True, errors="coerce")
    keep = times.notna()
    for bound, name, keep_if in ((since, "--since", "ge"), (until, "--until", "lt")):
        if bound is None:
            continue
        try:
            stamp = pd.Timestamp(bound)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{name}={bound!r} is not a date or time; use ISO 8601.") from exc
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        keep &= (times >= stamp) if keep_if == "ge" else (times < stamp)
    return frame.loc[keep.to_numpy()].reset_index(drop=True)


def load_batch(
    spec: str,
    *,
    since: str | None = None,
    until: str | None = None,
    time_column: str = "_time",
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read the current batch and describe where it came from.

    Args:
        spec: A file, a glob of files, or a prediction log (``.sqlite``).
        since: Keep rows at or after this time (ISO 8601; naive means UTC).
        until: Keep rows before this time.
        time_column: The time column files are filtered on (the log filters on its own).

    Returns:
        The rows (files concatenated in name order) and the ``batch`` section's source fields.

    Raises:
        DataError: a file is missing, unreadable or empty, or no row is left.
    """
    files = batch_files(spec)
    frames = []
    for name in files:
        if is_prediction_log(name):
            from mlgitops.serve.log import read_prediction_log

            frames.append(read_prediction_log(name, since=since, until=until))
        else:
            table = read_table(name, "current batch")
            frames.append(_time_filter(table, since, until, time_column, name))
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    kind = "prediction_log" if all(is_prediction_log(f) for f in files) else "table"
    window = ""
    if since is not None or until is not None:
        window = f" between {since or 'the start'} and {until or 'now'}"
    if len(frame) == 0:
        raise DataError(
            f"the current batch {spec} has no rows{window}; check the source or the time range."
        )
    source = {
        "current": spec,
        "kind": kind,
        "files": files[:MAX_LISTED_FILES],
        "file_count": len(files),
        "since": since,
        "until": until,
    }
    return frame, source


def validate_batch(frame: pd.DataFrame, schema: Schema, where: str, *, min_rows: int) -> None:
    """Refuse a batch the tests cannot make sense of: too few rows, missing or mistyped columns.

    Raises:
        DataError: naming each missing column, or each mistyped column with examples.
    """
    if len(frame) < min_rows:
        raise DataError(
            f"the current batch {where} has {len(frame)} row(s), fewer than drift.min_rows "
            f"({min_rows}); wait for more data or widen the time range."
        )
    missing = [c for c in schema.columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"the current batch {where} lacks the model's input column(s) {', '.join(missing)}; "
            "it does not match the model's input schema, fix the batch or its export."
        )
    # Types only: ranges, categories and nulls are what drift is made of, so they are tested.
    types_only = Schema(
        min_rows=0,
        extra_columns="ignore",
        columns={n: ColumnSpec(dtype=s.dtype, nullable=True) for n, s in schema.columns.items()},
    )
    result = validate_frame(frame, types_only, name=where, max_examples=3)
    wrong = [v for v in result.violations if v.rule == "dtype"]
    if wrong:
        raise DataError(
            f"the current batch {where} does not match the model's input schema: "
            + "; ".join(v.sentence() for v in wrong)
            + "; fix the batch or its export."
        )


def model_frame(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """The batch's feature columns in the dtypes the model was trained on (as the server does)."""
    columns = {}
    for name, spec in schema.columns.items():
        series = frame[name]
        nulls = series.isna().to_numpy()
        if spec.dtype in ("integer", "number"):
            values = pd.to_numeric(series, errors="coerce").to_numpy(
                dtype="float64", na_value=np.nan
            )
            if spec.dtype == "integer" and not nulls.any():
                values = values.astype("int64")
            columns[name] = values
        elif spec.dtype == "boolean" and not nulls.any():
            columns[name] = series.to_numpy(dtype=bool)
        else:
            values = series.astype(object).to_numpy(copy=True)
            values[nulls] = np.nan
            columns[name] = values
    return pd.DataFrame(columns, index=frame.index)


def logged_outputs(
    frame: pd.DataFrame, task: str, version: str | None
) -> tuple[Outputs | None, str]:
    """The outputs the prediction log recorded, when they belong to the checked model.

    Returns:
        The outputs (None when the batch has none, or some rows were answered by another
        version), and why.
    """
    needed = ["_prediction"] if task == "regression" else ["_prediction", "_score"]
    absent = [c for c in needed if c not in frame.columns]
    if absent:
        return None, f"the batch has no {' or '.join(absent)} column"
    if version is not None and "_version" in frame.columns:
        others = sorted(set(frame["_version"].astype(str)) - {version})
        if others:
            return None, (
                f"some rows were answered by {', '.join(others)}, not {version}: the batch was "
                "scored again with the checked version"
            )
    # The column as it is (Arrow strings stay Arrow strings: no Python object per row).
    predictions = pd.DataFrame({"y_pred": frame["_prediction"].reset_index(drop=True)})
    if task != "regression":
        predictions["score"] = pd.to_numeric(frame["_score"], errors="coerce").to_numpy()
    else:
        predictions["y_pred"] = pd.to_numeric(frame["_prediction"], errors="coerce").to_numpy()
    note = "as the server logged them (the batch's _prediction and _score)"
    return Outputs(predictions, "logged", note), note


def scored_outputs(model: LoadedModel, frame: pd.DataFrame, why: str) -> Outputs:
    """The model's outputs on the batch, scored here."""
    from mlgitops.scoring import score_frame

    predictions = score_frame(model, model_frame(frame, model.input_schema), where="current batch")
    return Outputs(predictions, "scored", f"scored here with the model, since {why}")


def materialise_source(source: DriftSourceParams, cwd: Path) -> str:
    """Make ``drift.source`` available locally and return the batch path (or glob).

    Raises:
        DataError: ``dvc pull`` or the command failed, or left nothing at the path.
    """
    if source.kind == "dvc":
        result = subprocess.run(
            [sys.executable, "-m", "dvc", "pull", "-q", source.path],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            reason = (result.stderr or result.stdout).strip().splitlines()
            raise DataError(
                f"dvc pull {source.path} failed ({reason[-1] if reason else 'no output'}); "
                "check that the path is DVC-tracked and the DVC remote is reachable."
            )
    elif source.kind == "command":
        env = {**os.environ, "MLGITOPS_DRIFT_BATCH": source.path}
        try:
            result = subprocess.run(
                list(source.command), cwd=cwd, env=env, capture_output=True, text=True, check=False
            )
        except OSError as exc:
            raise DataError(
                f"drift.source.command {source.command[0]!r} could not be started ({exc}); "
                "fix the command in params.yaml."
            ) from exc
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()
            raise DataError(
                f"drift.source.command exited {result.returncode}"
                f"{': ' + tail[-1] if tail else ''}; fix the command or what it reads."
            )
    batch_files(source.path)  # a glob must match something
    if not any(c in source.path for c in GLOB_CHARACTERS) and not Path(source.path).exists():
        raise DataError(
            f"the drift source {source.path} does not exist; export the prediction log there "
            "(mlgitops export-log --out ...), or set drift.source in params.yaml."
        )
    return source.path


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write a frame atomically as parquet, CSV or JSON lines (by the path's suffix).

    Raises:
        DataError: the suffix is none of these.
    """
    name = path.name.lower()
    with atomic_path(path) as tmp:
        if name.endswith(".parquet"):
            frame.to_parquet(tmp, index=False, engine="pyarrow")
        elif name.endswith(".csv"):
            frame.to_csv(tmp, index=False)
        elif name.endswith((".jsonl", ".ndjson")):
            frame.to_json(tmp, orient="records", lines=True, date_format="iso")
        else:
            raise DataError(f"{path} must end in .parquet, .csv or .jsonl; pick one of those.")
