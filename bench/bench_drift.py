"""Benchmark of the drift check as users run it, side by side with Evidently's DataDriftPreset.

Run from the repository root with the project's environment::

    python bench/bench_drift.py                   # full run, ~10 minutes on 2 cores
    python bench/bench_drift.py --skip-evidently  # ours only
    python bench/bench_drift.py --src OTHER/src --skip-evidently --skip-scaling
        # the same product measurements with another checkout's code (before/after a change)

What it does, all in one run:

1. Draws seeded synthetic data: 1,000,000 reference and 1,000,000 current rows, 10 numeric and
   5 categorical columns, with mild shifts in three columns, plus the model outputs a prediction
   log carries (``_score``, ``_prediction``). Writes it to parquet in a temporary directory,
   strings as Arrow strings (what ``pandas.read_parquet`` returns on pandas 3).
2. The product's core, in a subprocess (so that its memory is measured alone), with the
   product's default settings from ``params.yaml`` (``profile.max_reference_values``,
   ``drift.*``): builds the profile's references from the reference parquet with
   ``drift_profile.summarise`` (what the ``profile`` stage does) and writes the profile JSON;
   reads the batch with ``drift_batch.load_batch``, validates it with ``validate_batch`` and runs
   ``drift_check.check_drift`` (median of ``--repeats``), with its process peak RSS (VmHWM) and a
   cProfile of one run; then times ``check_drift`` against rows (250k to 1M per side) and
   columns (5 to 30).
3. The CLI end to end, ``mlgitops drift --profile ... --current batch.parquet`` in a scratch
   project (the repository's ``params.yaml`` with ``drift.key_features`` emptied, since the
   synthetic columns are not the example's features), under ``/usr/bin/time -v``: wall time and
   process peak RSS, median of ``--repeats``; once more with a ``_time`` column spanning one day
   (one drift window, as the daily job reads an exported prediction log).
4. Evidently 0.7.23, in its own venv ``bench/.venv-evidently`` (built here if missing, with
   ``pip install 'evidently==0.7.23' 'pandas<3' pyarrow``), runs ``bench/evidently_drift.py``
   on the same reference and current parquet and reports its own wall time and peak RSS.
5. False alarms on no-drift categorical data, ours and Evidently's on the very same trials.

Results go to ``bench/out/drift.json`` and are printed as markdown (the tables and charts in
``docs/bench/drift.md`` come from here). Nothing here is asserted by the test suite.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import datetime as dt
import io
import json
import os
import platform
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

ALPHA = 0.05
EVIDENTLY_VENV = ROOT / "bench" / ".venv-evidently"
EVIDENTLY_PINS = ["evidently==0.7.23", "pandas<3", "pyarrow"]
NUMERIC = [f"n{i}" for i in range(10)]
CATEGORICAL = [f"c{i}" for i in range(5)]
DRIFTED = ("n0", "n1", "c0")
# Every prefix of 5 keeps the numeric : categorical mix near 2 : 1 (the column scaling takes
# prefixes); the 30-column set repeats it with a second, independent draw (suffix "b").
ORDER = ["n0", "n1", "n2", "c0", "c1", "n3", "n4", "n5", "n6", "c2", "n7", "n8", "n9", "c3", "c4"]
WIDE = ORDER + [f"{name}b" for name in ORDER]
OUTPUTS = ("_score", "_prediction")
ROW_STEPS = (250_000, 500_000, 750_000, 1_000_000)
COLUMN_STEPS = (5, 10, 15, 20, 25, 30)
DESCRIPTIONS = {
    "n0": "normal; current mean +0.05 sd (mild shift)",
    "n1": "lognormal; current scale x1.03 (mild shift)",
    "n2": "uniform",
    "n3": "exponential",
    "n4": "Student t(5)",
    "n5": "model score in [0,1], 3 decimals (ties)",
    "n6": "Poisson(3) counts (heavy ties)",
    "n7": "normal with 1% NaN on both sides",
    "n8": "gamma(2, 2)",
    "n9": "beta(2, 5)",
    "c0": "8 Zipf categories; 2 points of the top share moved (mild shift)",
    "c1": "binary, 30% yes",
    "c2": "20 equal categories",
    "c3": "100 Zipf categories",
    "c4": "300 Zipf categories, 1% nulls",
}


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


def _zipf(k: int, exponent: float = 1.1) -> np.ndarray:
    shares = 1 / np.arange(1, k + 1) ** exponent
    return shares / shares.sum()


def _labels(prefix: str, k: int) -> np.ndarray:
    return np.array([f"{prefix}{i:03d}" for i in range(k)], dtype=object)


def make_side(rows: int, seed: int, current: bool) -> dict[str, np.ndarray]:
    """One side (reference or current) of the synthetic data set, with the model's outputs."""
    rng = np.random.default_rng(seed)
    shift = 0.05 if current else 0.0
    scale = 1.03 if current else 1.0
    cols: dict[str, np.ndarray] = {
        "n0": rng.normal(shift, 1.0, rows),
        "n1": rng.lognormal(0.0, 0.5, rows) * scale,
        "n2": rng.random(rows),
        "n3": rng.exponential(1.0, rows),
        "n4": rng.standard_t(5, rows),
        "n5": np.round(1 / (1 + np.exp(-rng.normal(0.0, 1.5, rows))), 3),
        "n6": rng.poisson(3.0, rows).astype(np.float64),
        "n7": rng.normal(0.0, 1.0, rows),
        "n8": rng.gamma(2.0, 2.0, rows),
        "n9": rng.beta(2.0, 5.0, rows),
    }
    cols["n7"][rng.random(rows) < 0.01] = np.nan
    shares = _zipf(8)
    if current:
        shares = shares.copy()
        shares[0] -= 0.02
        shares[1] += 0.02
    cols["c0"] = _labels("a", 8)[rng.choice(8, rows, p=shares)]
    cols["c1"] = np.where(rng.random(rows) < 0.3, "yes", "no").astype(object)
    cols["c2"] = _labels("b", 20)[rng.integers(0, 20, rows)]
    cols["c3"] = _labels("d", 100)[rng.choice(100, rows, p=_zipf(100))]
    c4 = _labels("e", 300)[rng.choice(300, rows, p=_zipf(300))]
    c4[rng.random(rows) < 0.01] = None
    cols["c4"] = c4
    # What the prediction log adds: a probability with 4 decimals and the predicted label.
    score = np.round(rng.beta(2.0, 5.0, rows), 4)
    cols["_score"] = score
    cols["_prediction"] = np.where(score > 0.5, ">50K", "<=50K").astype(object)
    return cols


def _is_numeric(name: str) -> bool:
    return name.startswith("n") or name == "_score"


def write_parquet(data_dir: Path, rows: int, seed: int) -> None:
    """reference/current (15 features, Evidently's input), batch (+ outputs), wide (30)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def table(cols: dict[str, np.ndarray]):
        return pa.table(
            {
                name: pa.array(values, type=pa.float64() if _is_numeric(name) else pa.string())
                for name, values in cols.items()
            }
        )

    for side, current in (("reference", False), ("current", True)):
        cols = make_side(rows, seed + int(current), current)
        extra = make_side(rows, seed + 10 + int(current), current)
        features = {name: cols[name] for name in NUMERIC + CATEGORICAL}
        pq.write_table(table(features), data_dir / f"{side}.parquet")
        pq.write_table(table(cols), data_dir / f"{side}_outputs.parquet")  # + _score, _prediction
        wide = {**features, **{f"{name}b": extra[name] for name in NUMERIC + CATEGORICAL}}
        pq.write_table(table(wide), data_dir / f"{side}_wide.parquet")
        if current:
            # The same batch as an exported prediction log: one day of _time (one drift window).
            rng = np.random.default_rng(seed + 99)
            start = np.datetime64("2026-11-30T00:00:00", "us")
            offsets = np.sort(rng.integers(0, 86_400_000_000, rows)).astype("timedelta64[us]")
            timed = table(cols).append_column(
                "_time", pa.array(start + offsets, type=pa.timestamp("us", tz="UTC"))
            )
            pq.write_table(timed, data_dir / "current_timed.parquet")
    (data_dir / "columns.json").write_text(
        json.dumps({"numeric": NUMERIC, "categorical": CATEGORICAL})
    )


# --------------------------------------------------------------------------------------------
# The product's core (runs in a subprocess: ``bench_drift.py --ours DATA_DIR``)
# --------------------------------------------------------------------------------------------


def _rss_mib(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak_rss() -> bool:
    # Writing 5 to clear_refs resets VmHWM (Linux >= 4.0), so a phase's own peak can be read.
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _timed(function, repeats: int) -> tuple[dict, object]:
    """Median wall and CPU seconds of ``repeats`` runs, every run's wall time, the last result.

    CPU time (user + system of this process) is reported beside wall time because the machine
    is shared: other work lengthens the wall time of a run much more than its CPU time.
    """
    walls, cpus, result = [], [], None
    for _ in range(repeats):
        wall0, cpu0 = time.perf_counter(), time.process_time()
        result = function()
        cpus.append(time.process_time() - cpu0)
        walls.append(time.perf_counter() - wall0)
    return {"s": statistics.median(walls), "cpu_s": statistics.median(cpus), "runs": walls}, result


def _frame_mib(frame) -> float:
    return float(frame.memory_usage(deep=True, index=False).sum()) / 2**20


def build_product_profile(reference, names, params):
    """The profile the ``profile`` stage would write for these features, via the product's code."""
    from mlgitops.drift_profile import ColumnReference, Profile, summarise

    def column(name: str, kind: str, dtype: str):
        return ColumnReference(name, kind, dtype, summarise(reference[name], kind, params.profile))

    features = tuple(
        column(n, "numeric", "number") if _is_numeric(n) else column(n, "categorical", "category")
        for n in names
    )
    outputs = ()
    if all(c in reference.columns for c in OUTPUTS):
        outputs = (
            ColumnReference(
                "score",
                "numeric",
                "probability of the positive class",
                summarise(reference["_score"], "numeric", params.profile),
            ),
            ColumnReference(
                "prediction",
                "categorical",
                "predicted label",
                summarise(reference["_prediction"], "categorical", params.profile),
            ),
        )
    schema = {
        "min_rows": 0,
        "extra_columns": "ignore",
        "columns": {
            n: {"dtype": "number" if _is_numeric(n) else "category", "nullable": True}
            for n in names
        },
    }
    return Profile(
        model={
            "name": "bench-model",
            "task": "binary",
            "target": "label",
            "positive_class": ">50K",
            "classes": ["<=50K", ">50K"],
            "id_column": None,
            "model_sha256": None,
            "schema_hash": None,
        },
        input_schema=schema,
        training_rows=len(reference),
        evaluation_rows=len(reference),
        features=features,
        outputs=outputs,
        performance=(),
        settings=params.profile.model_dump(),
    )


def _top_functions(profiler: cProfile.Profile, limit: int = 12) -> list[dict]:
    stats = pstats.Stats(profiler, stream=io.StringIO())
    rows = []
    for (path, line, name), (_, calls, tottime, cumtime, _) in stats.stats.items():
        rows.append(
            {
                "function": f"{_short(path)}:{line}({name})",
                "calls": calls,
                "tottime_s": tottime,
                "cumtime_s": cumtime,
            }
        )
    return sorted(rows, key=lambda r: -r["tottime_s"])[:limit]


def _short(path: str) -> str:
    for marker in ("/src/mlgitops/", "/site-packages/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return Path(path).name if path != "~" else "builtin"


def run_ours(data_dir: Path, repeats: int, scaling_repeats: int) -> dict:
    import pandas as pd

    from mlgitops.drift_batch import load_batch, logged_outputs, validate_batch
    from mlgitops.drift_check import check_drift, run_tests
    from mlgitops.fsio import read_table, write_json
    from mlgitops.params import load_params
    from mlgitops.schema import schema_from_dict

    params = load_params(ROOT / "params.yaml")
    drift = params.drift.model_copy(update={"key_features": []})
    rss_imports = _rss_mib()

    # The profile stage's feature work, on 1M training rows (outputs included).
    reference = read_table(data_dir / "reference_outputs.parquet", "reference")
    build, profile = _timed(lambda: build_product_profile(reference, ORDER, params), repeats)
    write_json(data_dir / "profile.json", profile.to_dict())
    reference = None  # the drift job does not hold the training data

    # The drift job: read, validate, check.
    rss_before_load = _rss_mib()
    t0 = time.perf_counter()
    batch, source = load_batch(str(data_dir / "current_outputs.parquet"))
    load_s = time.perf_counter() - t0
    batch_mib = _frame_mib(batch)
    features_mib = float(batch.memory_usage(deep=True, index=False)[ORDER].sum()) / 2**20
    rss_loaded = _rss_mib()
    schema = schema_from_dict(profile.input_schema, "profile")
    validate, _ = _timed(
        lambda: validate_batch(batch, schema, "batch", min_rows=drift.min_rows), repeats
    )
    outputs, _ = logged_outputs(batch, "binary", None)
    features_profile = dataclasses.replace(profile, outputs=())

    def check(with_outputs: bool = False):
        return check_drift(
            profile if with_outputs else features_profile,
            batch,
            drift,
            outputs=outputs if with_outputs else None,
            model={},
            source=source,
        )

    # Memory of the check alone: reset the process's peak RSS, run once, read it back.
    rss_before_check = _rss_mib()
    reset_ok = _reset_peak_rss()
    check()
    peak_check = _rss_mib("VmHWM") if reset_ok else float("nan")
    tracemalloc.start()
    check()
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    check_features, report = _timed(check, repeats)
    check_outputs, _ = _timed(lambda: check(True), repeats)
    profiler = cProfile.Profile()
    profiler.enable()
    check()
    profiler.disable()

    per_column = {}
    for column in features_profile.features:
        timing, _ = _timed(lambda c=column: run_tests(c, batch[c.name], drift), repeats)
        per_column[column.name] = timing["s"]
    results = {f["name"]: f for f in report.to_dict()["features"]}

    scaling_rows, scaling_cols = [], []
    if scaling_repeats:
        ref_wide = read_table(data_dir / "reference_wide.parquet", "reference")
        cur_wide = read_table(data_dir / "current_wide.parquet", "current")
        for n in ROW_STEPS:
            n = min(n, len(cur_wide))
            prof = build_product_profile(ref_wide.head(n), ORDER, params)
            cur_n = cur_wide.head(n)
            timing, _ = _timed(
                lambda p=prof, c=cur_n: check_drift(
                    p, c, drift, outputs=None, model={}, source=source
                ),
                scaling_repeats,
            )
            scaling_rows.append({"rows": n, "columns": len(ORDER), **timing})
        wide_profile = build_product_profile(ref_wide, WIDE, params)
        for k in COLUMN_STEPS:
            prof = dataclasses.replace(wide_profile, features=wide_profile.features[:k])
            timing, _ = _timed(
                lambda p=prof: check_drift(
                    p, cur_wide, drift, outputs=None, model={}, source=source
                ),
                scaling_repeats,
            )
            scaling_cols.append({"rows": len(cur_wide), "columns": k, **timing})

    return {
        "pandas": pd.__version__,
        "rows_reference": profile.training_rows,
        "rows_current": len(batch),
        "max_reference_values": params.profile.max_reference_values,
        "batch_mib": batch_mib,
        "features_mib": features_mib,
        "rss_after_imports_mib": rss_imports,
        "rss_before_load_mib": rss_before_load,
        "rss_after_load_mib": rss_loaded,
        "build": build,
        "load_s": load_s,
        "validate": validate,
        "check": check_features,
        "check_with_outputs": check_outputs,
        "rss_before_check_mib": rss_before_check,
        "peak_rss_check_mib": peak_check,
        "peak_rss_check_over_loaded_mib": peak_check - rss_before_check,
        "traced_peak_check_mib": traced_peak / 2**20,
        "profile_top": _top_functions(profiler),
        "per_column_s": per_column,
        "results": {
            name: {
                "status": r["status"],
                "p_value": r["distribution"]["p_value"],
                "effect": r["distribution"]["effect"],
                "effect_name": r["effect_name"],
                "psi": r["psi"],
                "verdict": r["verdict"],
            }
            for name, r in results.items()
        },
        "verdict": report.to_dict()["verdict"],
        "scaling_rows": scaling_rows,
        "scaling_columns": scaling_cols,
    }


# --------------------------------------------------------------------------------------------
# The CLI end to end
# --------------------------------------------------------------------------------------------


def _time_v(output: str) -> dict:
    """Wall seconds, CPU seconds (user + system) and peak RSS from ``/usr/bin/time -v``."""
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", output)
    user = re.search(r"User time \(seconds\): ([\d.]+)", output)
    system = re.search(r"System time \(seconds\): ([\d.]+)", output)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", output)
    seconds = 0.0
    for part in wall.group(1).split(":"):
        seconds = seconds * 60 + float(part)
    return {
        "wall_s": seconds,
        "cpu_s": float(user.group(1)) + float(system.group(1)),
        "peak_rss_mib": int(rss.group(1)) / 1024,
    }


def _medians(runs: list[dict]) -> dict:
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]} | {"runs": runs}


def run_cli(data_dir: Path, env: dict[str, str], repeats: int) -> dict:
    import yaml

    project = data_dir / "project"
    project.mkdir(exist_ok=True)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["drift"]["key_features"] = []  # the example's key features are not these columns
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    shutil.copy(data_dir / "profile.json", project / "profile.json")
    base = [sys.executable, "-m", "mlgitops", "drift", "--profile", "profile.json"]
    timer = ["/usr/bin/time", "-v"]
    out: dict = {"timer": "/usr/bin/time -v"}
    cases = {
        "batch": data_dir / "current_outputs.parquet",
        "batch_with_time": data_dir / "current_timed.parquet",
    }
    for case, batch in cases.items():
        runs = []
        for i in range(repeats):
            command = [*timer, *base, "--current", str(batch), "--reports", f"reports-{case}"]
            done = subprocess.run(
                command, cwd=project, env=env, capture_output=True, text=True, check=False
            )
            if done.returncode not in (0, 1):
                return {"error": f"{case}: exit {done.returncode}: {done.stderr.strip()[-800:]}"}
            runs.append(_time_v(done.stderr))
            if i == 0:
                out[f"{case}_stdout"] = done.stdout.strip().splitlines()[-1]
        out[case] = _medians(runs)
    # Where the CLI's time goes: one run under cProfile, and the import of the command alone.
    prof = project / "cli.prof"
    subprocess.run(
        [
            *(sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "mlgitops", "drift"),
            *("--profile", "profile.json", "--current", str(cases["batch"]), "--reports", "r"),
        ],
        cwd=project,
        env=env,
        capture_output=True,
        check=False,
    )
    stats = pstats.Stats(str(prof), stream=io.StringIO())
    phases = {
        "read the batch (load_batch)": "load_batch",
        "validate it (validate_batch)": "validate_batch",
        "check_drift": "check_drift",
        "write drift.json, drift.md (_write_reports)": "_write_reports",
        "read the profile (_read_profile)": "_read_profile",
    }
    cumulative = {}
    for label, function in phases.items():
        cumulative[label] = sum(v[3] for (_, _, name), v in stats.stats.items() if name == function)
    out["cli_phases_s"] = cumulative
    imports = []
    for _ in range(repeats):
        command = [*timer, sys.executable, "-c", "import mlgitops.commands.drift"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        imports.append(_time_v(done.stderr))
    out["import_command"] = _medians(imports)
    return out


# --------------------------------------------------------------------------------------------
# False alarms on no-drift categorical data
# --------------------------------------------------------------------------------------------

FALSE_ALARM_CONFIGS = {
    "k8_300v300": (8, 300, 300),
    "k8_500v5000": (8, 500, 5_000),
    "k100_2000v2000": (100, 2_000, 2_000),
    "k300_500v5000": (300, 500, 5_000),
}


def make_false_alarm_trials(trials: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = {}
    for name, (k, n_ref, n_cur) in FALSE_ALARM_CONFIGS.items():
        shares = _zipf(k)
        arrays[f"{name}__ref"] = rng.choice(k, size=(trials, n_ref), p=shares).astype(np.int16)
        arrays[f"{name}__cur"] = rng.choice(k, size=(trials, n_cur), p=shares).astype(np.int16)
    return arrays


def our_false_alarms(arrays: dict[str, np.ndarray]) -> dict:
    from mlgitops.stats.drift import categorical_drift, categorical_reference

    out = {}
    for name in FALSE_ALARM_CONFIGS:
        ref, cur = arrays[f"{name}__ref"], arrays[f"{name}__cur"]
        labels = _labels("c", int(max(ref.max(), cur.max())) + 1)
        drifted = 0
        for r, c in zip(ref, cur, strict=True):
            result = categorical_drift(categorical_reference(labels[r]), labels[c])
            drifted += result.p_value is not None and result.p_value < ALPHA
        out[name] = {
            "trials": int(ref.shape[0]),
            "drifted": int(drifted),
            "rate": drifted / len(ref),
        }
    return out


# --------------------------------------------------------------------------------------------
# Evidently
# --------------------------------------------------------------------------------------------


def ensure_evidently() -> tuple[Path | None, str]:
    python = EVIDENTLY_VENV / "bin" / "python"
    check = [str(python), "-c", "import evidently, pyarrow; print(evidently.__version__)"]
    if python.exists():
        done = subprocess.run(check, capture_output=True, text=True, check=False)
        if done.returncode == 0 and done.stdout.strip() == "0.7.23":
            return python, "present"
    try:
        subprocess.run([sys.executable, "-m", "venv", str(EVIDENTLY_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *EVIDENTLY_PINS],
            check=True,
            capture_output=True,
            text=True,
        )
    except subprocess.CalledProcessError as error:
        tail = (error.stderr or "").strip().splitlines()[-3:]
        return None, "could not install Evidently: " + " / ".join(tail)
    done = subprocess.run(check, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return None, "Evidently installed but does not import: " + done.stderr.strip()[-300:]
    return python, "installed"


def run_evidently(python: Path, mode: str, path: Path, timeout: int = 3600) -> dict:
    script = ROOT / "bench" / "evidently_drift.py"
    done = subprocess.run(
        ["/usr/bin/time", "-v", str(python), str(script), mode, str(path)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        return {"error": done.stderr.strip()[-1000:]}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process"] = _time_v(done.stderr)
    return result


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def machine() -> dict:
    def _cmd(args: list[str]) -> str:
        try:
            return subprocess.run(args, capture_output=True, text=True, check=False).stdout.strip()
        except OSError:
            return "unknown"

    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in cpuinfo.splitlines()
            if line.startswith("model name")
        ),
        "unknown",
    )
    mem_kib = next(
        (
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        0,
    )
    import pandas as pd
    import scipy

    return {
        "nproc": _cmd(["nproc"]),
        "cpu": model,
        "ram_gib": round(mem_kib / 2**20, 1),
        "date": _cmd(["date", "-u"]),
        # Other work on the machine inflates every time below; the load shows if there was any.
        "load_average_at_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scipy": scipy.__version__,
    }


def _fmt(value, digits=3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.2e}"
        return f"{value:.{digits}f}"
    return str(value)


def _chart(title: str, x_title: str, x: list, wall: list[float], cpu: list[float]) -> list[str]:
    """A Mermaid xychart (renders on GitHub): bars are wall seconds, the line CPU seconds.

    The x values are evenly spaced, so a cost linear in them is a straight line through zero.
    """
    top = max(max(wall), max(cpu)) * 1.15
    return [
        "```mermaid",
        "xychart-beta",
        f'    title "{title}"',
        f'    x-axis "{x_title}" [{", ".join(str(v) for v in x)}]',
        f'    y-axis "seconds" 0 --> {top:.1f}',
        f"    bar [{', '.join(f'{v:.2f}' for v in wall)}]",
        f"    line [{', '.join(f'{v:.2f}' for v in cpu)}]",
        "```",
    ]


def _t(timing: dict, digits: int = 2) -> str:
    return f"{_fmt(timing['s'], digits)} s (CPU {_fmt(timing['cpu_s'], digits)} s)"


def _p(process: dict) -> str:
    return f"{_fmt(process['wall_s'], 2)} s (CPU {_fmt(process['cpu_s'], 2)} s)"


def markdown(report: dict) -> str:
    ours, cli, ev = report["ours"], report.get("cli", {}), report.get("evidently_run")
    ev_ok = ev is not None and "error" not in ev
    lines = ["## Machine", ""]
    for key, value in report["machine"].items():
        lines.append(f"- {key}: {value}")
    n_ref, n_cur = ours["rows_reference"], ours["rows_current"]
    batch_mib = ours["batch_mib"]
    lines += [
        "",
        f"## The product at {n_ref:,} vs {n_cur:,} rows, 10 numeric + 5 categorical columns",
        "",
        f"Batch in memory: {_fmt(batch_mib, 0)} MiB with the two logged outputs, "
        f"{_fmt(ours['features_mib'], 0)} MiB for the 15 features (pandas {ours['pandas']}, "
        "`memory_usage(deep=True)`). Times: median wall (median CPU) of the runs.",
        "",
        "| step | ours | Evidently 0.7.23 DataDriftPreset |",
        "| --- | --- | --- |",
        f"| profile build from the {n_ref:,} reference rows (once per model) | "
        f"{_t(ours['build'])} | — (none: reads the full reference every run) |",
        f"| read the batch (`load_batch`) | {_fmt(ours['load_s'], 2)} s (one run) | "
        f"{_fmt(ev['load_s'], 2) + ' s (both sides)' if ev_ok else '—'} |",
        f"| validate it (`validate_batch`) | {_t(ours['validate'])} | — |",
        f"| `check_drift`, 15 features | {_t(ours['check'])} | "
        f"{_fmt(ev['run_s'], 1) + ' s (its Report.run)' if ev_ok else '—'} |",
        f"| `check_drift`, 15 features + score and label | {_t(ours['check_with_outputs'])} | — |",
    ]
    if "batch" in cli:
        timed = cli["batch_with_time"]
        lines += [
            f"| CLI `mlgitops drift` end to end | {_p(cli['batch'])} | "
            f"{_p(ev['process']) + ' (its script)' if ev_ok else '—'} |",
            f"| CLI, batch with a `_time` column (one 1d window) | {_p(timed)} | — |",
            f"| CLI process peak RSS | {_fmt(cli['batch']['peak_rss_mib'], 0)} MiB "
            f"({cli['batch']['peak_rss_mib'] / batch_mib:.1f}× the batch) | "
            + (
                f"{_fmt(ev['process']['peak_rss_mib'], 0)} MiB (both sides: "
                f"{_fmt(ev['rss_loaded_mib'] - ev['rss_start_mib'], 0)} MiB as loaded) |"
                if ev_ok
                else "— |"
            ),
            f"| CLI process peak RSS, with `_time` | {_fmt(timed['peak_rss_mib'], 0)} MiB "
            f"({timed['peak_rss_mib'] / batch_mib:.1f}×) | — |",
            f"| of which the import of the command (`import mlgitops.commands.drift`) | "
            f"{_p(cli['import_command'])}, {_fmt(cli['import_command']['peak_rss_mib'], 0)} MiB "
            "| — |",
        ]
    lines += [
        f"| `check_drift` peak RSS above the loaded batch | "
        f"{_fmt(ours['peak_rss_check_over_loaded_mib'], 0)} MiB (traced peak "
        f"{_fmt(ours['traced_peak_check_mib'], 0)} MiB) | "
        f"{_fmt(ev['peak_rss_mib'] - ev['rss_loaded_mib'], 0) + ' MiB' if ev_ok else '—'} |",
    ]
    if not ev_ok:
        lines += ["", f"Evidently: {report.get('evidently_status')}: {ev and ev.get('error')}"]
    if cli.get("cli_phases_s"):
        lines += ["", "CLI phases (one run under cProfile, which slows Python code):", ""]
        lines += [f"- {k}: {_fmt(v, 2)} s" for k, v in cli["cli_phases_s"].items()]
    lines += ["", "Top of a cProfile of one `check_drift` (by own time):", ""]
    lines += ["| function | calls | own s | cumulative s |", "| --- | --- | --- | --- |"]
    for row in ours["profile_top"][:10]:
        lines.append(
            f"| `{row['function']}` | {row['calls']} | {_fmt(row['tottime_s'], 3)} | "
            f"{_fmt(row['cumtime_s'], 3)} |"
        )

    lines += ["", f"## Per column ({n_ref:,} vs {n_cur:,} rows)", ""]
    lines.append(
        "| column | data | status | p-value | effect size | PSI | verdict | `run_tests` time | "
        "Evidently: method | value | drift? |"
    )
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    ev_cols = {c["column"]: c for c in ev["columns"]} if ev_ok else {}
    for name in NUMERIC + CATEGORICAL:
        r = ours["results"][name]
        effect = f"{r['effect_name']} {_fmt(r['effect'])}"
        e = ev_cols.get(name)
        ev_cells = (
            f"{e['method']} | {_fmt(e['value'])} | {'yes' if e['drifted'] else 'no'}"
            if e
            else "— | — | —"
        )
        lines.append(
            f"| {name} | {DESCRIPTIONS[name]} | {r['status']} | {_fmt(r['p_value'])} | {effect} | "
            f"{_fmt(r['psi'], 4)} | {r['verdict']} | "
            f"{_fmt(ours['per_column_s'][name] * 1000, 0)} ms | {ev_cells} |"
        )

    if ours["scaling_rows"]:
        rows = ours["scaling_rows"]
        cols = ours["scaling_columns"]
        lines += ["", "## Scaling of `check_drift` (median of runs; bars wall, line CPU)", ""]
        for title, x_title, x, points in (
            (
                "check_drift vs rows per side (15 columns)",
                "rows per side, thousands",
                [r["rows"] // 1000 for r in rows],
                rows,
            ),
            (
                f"check_drift vs columns ({cols[0]['rows']:,} rows per side)",
                "columns",
                [c["columns"] for c in cols],
                cols,
            ),
        ):
            lines += _chart(
                title, x_title, x, [p["s"] for p in points], [p["cpu_s"] for p in points]
            )
            lines.append("")
        lines += [
            "| rows per side | columns | wall s | CPU s | wall s of the runs | "
            "CPU ms per column and 100k rows |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for row in rows + cols:
            unit = row["cpu_s"] * 1000 / row["columns"] / (row["rows"] / 1e5)
            runs = ", ".join(f"{r:.2f}" for r in row["runs"])
            lines.append(
                f"| {row['rows']:,} | {row['columns']} | {_fmt(row['s'], 2)} | "
                f"{_fmt(row['cpu_s'], 2)} | {runs} | {_fmt(unit, 1)} |"
            )

    fa_ours, fa_ev = report.get("false_alarms_ours"), report.get("false_alarms_evidently")
    if fa_ours:
        fa_ev_ok = fa_ev is not None and "error" not in fa_ev
        lines += [
            "",
            "## False alarms on no-drift categorical data (alpha 0.05, same trials)",
            "",
            "| categories, reference vs current rows | trials | ours | Evidently | "
            "Evidently's test |",
            "| --- | --- | --- | --- | --- |",
        ]
        for name, (k, n_ref_fa, n_cur_fa) in FALSE_ALARM_CONFIGS.items():
            mine = fa_ours[name]
            theirs = fa_ev["configs"][name] if fa_ev_ok else None
            lines.append(
                f"| {k}, {n_ref_fa:,} vs {n_cur_fa:,} | {mine['trials']} | "
                f"{_fmt(mine['rate'], 2)} | {_fmt(theirs['rate'], 2) if theirs else '—'} | "
                f"{', '.join(theirs['methods']) if theirs else '—'} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5, help="runs per timing (median)")
    parser.add_argument("--trials", type=int, default=40, help="false-alarm trials per config")
    parser.add_argument("--seed", type=int, default=20_260_101)
    parser.add_argument("--scaling-repeats", type=int, default=3, help="runs per scaling point")
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument("--skip-false-alarms", action="store_true")
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="mlgitops source to time")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "drift.json")
    parser.add_argument("--ours", type=Path, help=argparse.SUPPRESS)  # subprocess mode
    args = parser.parse_args()
    if args.ours:
        scaling = 0 if args.skip_scaling else args.scaling_repeats
        print(json.dumps(run_ours(args.ours, args.repeats, scaling)))
        return

    report: dict = {"machine": machine(), "src": str(args.src.resolve())}
    env = {**os.environ, "PYTHONPATH": str(args.src.resolve())}
    with tempfile.TemporaryDirectory(prefix="bench-drift-") as tmp:
        data_dir = Path(tmp)
        t0 = time.perf_counter()
        write_parquet(data_dir, args.rows, args.seed)
        print(f"data written in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        ours = [sys.executable, __file__, "--ours", str(data_dir), "--repeats", str(args.repeats)]
        ours += ["--scaling-repeats", str(args.scaling_repeats)]
        done = subprocess.run(
            ours + (["--skip-scaling"] if args.skip_scaling else []),
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if done.returncode != 0:
            sys.exit(done.stderr)
        report["ours"] = json.loads(done.stdout.strip().splitlines()[-1])
        print("ours done", file=sys.stderr)
        report["cli"] = run_cli(data_dir, env, args.repeats)
        print("cli done", file=sys.stderr)

        npz = data_dir / "false_alarms.npz"
        if not args.skip_false_alarms:
            sys.path.insert(0, str(args.src.resolve()))
            arrays = make_false_alarm_trials(args.trials, args.seed + 7)
            report["false_alarms_ours"] = our_false_alarms(arrays)
            np.savez(npz, **arrays)

        if args.skip_evidently:
            report["evidently_status"] = "skipped (--skip-evidently)"
        else:
            python, status = ensure_evidently()
            report["evidently_status"] = status
            if python is not None:
                report["evidently_run"] = run_evidently(python, "run", data_dir)
                print("evidently run done", file=sys.stderr)
                if not args.skip_false_alarms:
                    report["false_alarms_evidently"] = run_evidently(python, "false-alarms", npz)
                    print("evidently false alarms done", file=sys.stderr)

    report["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    report["machine"]["load_average_at_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(markdown(report))


if __name__ == "__main__":
    main()
