"""Benchmark of mlgitops' drift tests, side by side with Evidently's DataDriftPreset.

Run from the repository root with the project's environment::

    python bench/bench_drift.py                  # full run, ~5-10 minutes on 2 cores
    python bench/bench_drift.py --skip-evidently  # ours only

What it does, all in one run:

1. Draws seeded synthetic data: 1,000,000 reference and 1,000,000 current rows, 10 numeric and
   5 categorical columns, with mild shifts in three columns. Writes it once to parquet in a
   temporary directory.
2. Ours, in a subprocess of this Python (so that its memory is measured alone): reads the
   parquet, builds the references (timed separately), tests the current batch against them
   (median of 3), measures the test's peak RSS and its peak traced allocation, and times the
   test at 125k / 250k / 500k / 1M rows and 5 / 10 / 15 columns.
3. Evidently 0.7.23, in its own venv ``bench/.venv-evidently`` (built here if missing, with
   ``pip install 'evidently==0.7.23' 'pandas<3' pyarrow``), runs ``bench/evidently_drift.py``
   on the same parquet and reports its own wall time and peak RSS.
4. False alarms on no-drift categorical data, ours and Evidently's on the very same trials.

Results go to ``bench/out/drift.json`` and are printed as markdown tables (the tables in
``docs/bench/drift.md`` come from here). Nothing here is asserted by the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from mlgitops.stats.drift import (  # noqa: E402
    categorical_drift,
    categorical_reference,
    numeric_drift,
    numeric_reference,
)

ALPHA = 0.05
EVIDENTLY_VENV = ROOT / "bench" / ".venv-evidently"
EVIDENTLY_PINS = ["evidently==0.7.23", "pandas<3", "pyarrow"]
NUMERIC = [f"n{i}" for i in range(10)]
CATEGORICAL = [f"c{i}" for i in range(5)]
DRIFTED = ("n0", "n1", "c0")
# Column subsets for the scaling table keep the numeric : categorical mix at 2 : 1.
SUBSETS = {
    5: ["n0", "n1", "n2", "c0", "c1"],
    10: [*NUMERIC[:7], "c0", "c1", "c2"],
    15: NUMERIC + CATEGORICAL,
}
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
    """One side (reference or current) of the synthetic data set."""
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
    return cols


def write_parquet(data_dir: Path, rows: int, seed: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    for side, current in (("reference", False), ("current", True)):
        cols = make_side(rows, seed + int(current), current)
        table = pa.table(
            {
                name: pa.array(values, type=pa.float64() if name in NUMERIC else pa.string())
                for name, values in cols.items()
            }
        )
        pq.write_table(table, data_dir / f"{side}.parquet")
    (data_dir / "columns.json").write_text(
        json.dumps({"numeric": NUMERIC, "categorical": CATEGORICAL})
    )


def read_parquet(path: Path) -> dict[str, np.ndarray]:
    """Columns as numpy arrays: float64, and object arrays of shared category strings."""
    import pyarrow.parquet as pq

    table = pq.read_table(path, read_dictionary=CATEGORICAL)
    out: dict[str, np.ndarray] = {}
    for name in NUMERIC:
        out[name] = table.column(name).to_numpy()
    for name in CATEGORICAL:
        column = table.column(name).combine_chunks()
        labels = np.append(column.dictionary.to_numpy(zero_copy_only=False), None)
        codes = column.indices.fill_null(len(labels) - 1).to_numpy()
        out[name] = labels[codes]  # one pointer per row, as a pandas object column holds them
    return out


# --------------------------------------------------------------------------------------------
# Ours (runs in a subprocess: ``bench_drift.py --ours DATA_DIR``)
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


def build_references(data: dict[str, np.ndarray], columns, max_values=None) -> dict:
    refs = {}
    for name in columns:
        if name in NUMERIC:
            refs[name] = numeric_reference(data[name], max_values=max_values)
        else:
            refs[name] = categorical_reference(data[name])
    return refs


def test_batch(refs: dict, current: dict[str, np.ndarray], columns) -> tuple[float, dict]:
    per_column, results = {}, {}
    start = time.perf_counter()
    for name in columns:
        t0 = time.perf_counter()
        if name in NUMERIC:
            results[name] = numeric_drift(refs[name], current[name])
        else:
            results[name] = categorical_drift(refs[name], current[name])
        per_column[name] = time.perf_counter() - t0
    return time.perf_counter() - start, {"per_column": per_column, "results": results}


def test_batch_threads(refs: dict, current: dict[str, np.ndarray], columns, workers=2) -> float:
    """The same test with columns mapped over a thread pool (numpy's sorts release the GIL)."""

    def one(name: str):
        if name in NUMERIC:
            return numeric_drift(refs[name], current[name])
        return categorical_drift(refs[name], current[name])

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, columns))
    return time.perf_counter() - start


def _median_test(refs, current, columns, repeats=3) -> tuple[float, dict]:
    runs = [test_batch(refs, current, columns) for _ in range(repeats)]
    totals = [total for total, _ in runs]
    per_column = {
        name: statistics.median(run["per_column"][name] for _, run in runs) for name in columns
    }
    return statistics.median(totals), {"per_column": per_column, "results": runs[0][1]["results"]}


def _scaling_entry(rows: int, columns, seconds: float, run: dict) -> dict:
    # The shifted columns' cost is dominated by scipy's Smirnov sum (see the docs), so the
    # undrifted columns are also summed on their own to show the cost of our own work.
    undrifted = [c for c in columns if c not in DRIFTED]
    return {
        "rows": rows,
        "columns": len(columns),
        "test_s": seconds,
        "undrifted_columns": len(undrifted),
        "undrifted_s": sum(run["per_column"][c] for c in undrifted),
    }


def run_ours(data_dir: Path) -> dict:
    rss_imports = _rss_mib()
    t0 = time.perf_counter()
    reference = read_parquet(data_dir / "reference.parquet")
    current = read_parquet(data_dir / "current.parquet")
    load_s = time.perf_counter() - t0
    data_bytes = sum(a.nbytes for a in reference.values()) + sum(a.nbytes for a in current.values())
    rss_loaded = _rss_mib()
    columns = SUBSETS[15]
    rows = len(reference["n0"])

    build_times = []
    for _ in range(3):
        t0 = time.perf_counter()
        refs = build_references(reference, columns)
        build_times.append(time.perf_counter() - t0)
    capped_t0 = time.perf_counter()
    refs_capped = build_references(reference, columns, max_values=100_000)
    capped_build_s = time.perf_counter() - capped_t0

    # Memory of the test alone: reset the process's peak RSS, run once, read it back.
    rss_before_test = _rss_mib()
    reset_ok = _reset_peak_rss()
    test_batch(refs, current, columns)
    peak_test = _rss_mib("VmHWM") if reset_ok else float("nan")
    tracemalloc.start()
    test_batch(refs, current, columns)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    test_s, detail = _median_test(refs, current, columns)
    capped_s, capped_detail = _median_test(refs_capped, current, columns)
    threads_s = statistics.median(test_batch_threads(refs, current, columns) for _ in range(3))

    scaling_rows = []
    for n in (125_000, 250_000, 500_000, 1_000_000):
        n = min(n, rows)
        ref_n = {k: v[:n] for k, v in reference.items()}
        cur_n = {k: v[:n] for k, v in current.items()}
        refs_n = build_references(ref_n, columns)
        seconds, run = _median_test(refs_n, cur_n, columns)
        scaling_rows.append(_scaling_entry(n, columns, seconds, run))
    scaling_cols = []
    for k in (5, 10, 15):
        seconds, run = _median_test(refs, current, SUBSETS[k])
        scaling_cols.append(_scaling_entry(rows, SUBSETS[k], seconds, run))

    return {
        "rows_reference": rows,
        "rows_current": len(current["n0"]),
        "data_mib": data_bytes / 2**20,
        "load_s": load_s,
        "rss_after_imports_mib": rss_imports,
        "rss_after_load_mib": rss_loaded,
        "build_s": statistics.median(build_times),
        "build_capped_s": capped_build_s,
        "test_s": test_s,
        "test_capped_s": capped_s,
        "test_threads_s": threads_s,
        "rss_before_test_mib": rss_before_test,
        "peak_rss_test_mib": peak_test,
        "peak_rss_over_baseline_mib": peak_test - rss_before_test,
        "traced_peak_test_mib": traced_peak / 2**20,
        "per_column_s": detail["per_column"],
        "per_column_capped_s": capped_detail["per_column"],
        "results": {name: r.to_dict() for name, r in detail["results"].items()},
        "scaling_rows": scaling_rows,
        "scaling_columns": scaling_cols,
    }


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
        [str(python), str(script), mode, str(path)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        return {"error": done.stderr.strip()[-1000:]}
    t0 = time.perf_counter()
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["parse_s"] = time.perf_counter() - t0
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

    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in _cmd(["lscpu"]).splitlines()
            if line.startswith("Model name")
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
    import scipy

    return {
        "nproc": _cmd(["nproc"]),
        "cpu": model,
        "ram_gib": round(mem_kib / 2**20, 1),
        "date": _cmd(["date"]),
        # Other work on the machine inflates every time below; the load shows if there was any.
        "load_average_at_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "numpy": np.__version__,
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


def markdown(report: dict) -> str:
    ours, ev = report["ours"], report.get("evidently_run")
    lines = ["## Machine", ""]
    for key, value in report["machine"].items():
        lines.append(f"- {key}: {value}")
    lines += [
        "",
        f"## Speed and memory ({ours['rows_reference']:,} vs {ours['rows_current']:,} rows, "
        "10 numeric + 5 categorical columns)",
        "",
        "| | ours | Evidently 0.7.23 DataDriftPreset |",
        "| --- | --- | --- |",
    ]
    ev_ok = ev is not None and "error" not in ev
    lines.append(
        f"| load parquet | {_fmt(ours['load_s'], 2)} s | "
        f"{_fmt(ev['load_s'], 2) + ' s' if ev_ok else '—'} |"
    )
    lines.append(
        f"| build references (once, at training) | {_fmt(ours['build_s'], 2)} s | — (none: "
        "reads the full reference every run) |"
    )
    lines.append(
        f"| test current batch | {_fmt(ours['test_s'], 2)} s | "
        f"{_fmt(ev['run_s'], 2) + ' s' if ev_ok else '—'} |"
    )
    lines.append(f"| test, columns on 2 threads | {_fmt(ours['test_threads_s'], 2)} s | — |")
    lines.append(
        f"| test, reference capped at 100k values | {_fmt(ours['test_capped_s'], 2)} s | — |"
    )
    ev_data = (
        f"{_fmt(ev['rss_loaded_mib'] - ev['rss_start_mib'], 0)} MiB (RSS growth on load)"
        if ev_ok
        else "—"
    )
    lines.append(f"| data in memory | {_fmt(ours['data_mib'], 0)} MiB | {ev_data} |")
    lines.append(
        f"| peak RSS of the test, above the loaded data | "
        f"{_fmt(ours['peak_rss_over_baseline_mib'], 0)} MiB (traced peak "
        f"{_fmt(ours['traced_peak_test_mib'], 0)} MiB) | "
        f"{_fmt(ev['peak_rss_mib'] - ev['rss_loaded_mib'], 0) + ' MiB' if ev_ok else '—'} |"
    )
    lines.append(
        f"| peak RSS of the process | {_fmt(ours['peak_rss_test_mib'], 0)} MiB | "
        f"{_fmt(ev['peak_rss_mib'], 0) + ' MiB' if ev_ok else '—'} |"
    )
    if not ev_ok:
        lines += ["", f"Evidently: {report.get('evidently_status')}: {ev and ev.get('error')}"]

    lines += [
        "",
        f"## Per column ({ours['rows_reference']:,} vs {ours['rows_current']:,} rows)",
        "",
    ]
    lines.append(
        "| column | data | ours: status | p-value | effect size | test time | "
        "Evidently: method | value | drift? |"
    )
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    ev_cols = {c["column"]: c for c in ev["columns"]} if ev_ok else {}
    for name in SUBSETS[15]:
        r = ours["results"][name]
        if name in NUMERIC:
            effect = f"W/sd {_fmt(r['wasserstein_normalized'])}, PSI {_fmt(r['psi'], 4)}"
        else:
            effect = f"V {_fmt(r['cramers_v'])}, JS {_fmt(r['js_distance'])}"
        e = ev_cols.get(name)
        ev_cells = (
            f"{e['method']} | {_fmt(e['value'])} | {'yes' if e['drifted'] else 'no'}"
            if e
            else "— | — | —"
        )
        lines.append(
            f"| {name} | {DESCRIPTIONS[name]} | {r['status']} | {_fmt(r['p_value'])} | {effect} | "
            f"{_fmt(ours['per_column_s'][name] * 1000, 0)} ms | {ev_cells} |"
        )

    lines += [
        "",
        "## Scaling of our test (median of 3)",
        "",
        "| rows per side | columns | test s | of which the undrifted columns | ms per undrifted "
        "column and 100k rows |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in ours["scaling_rows"] + ours["scaling_columns"]:
        unit = row["undrifted_s"] * 1000 / row["undrifted_columns"] / (row["rows"] / 100_000)
        lines.append(
            f"| {row['rows']:,} | {row['columns']} | {_fmt(row['test_s'], 2)} | "
            f"{_fmt(row['undrifted_s'], 2)} s ({row['undrifted_columns']} columns) | "
            f"{_fmt(unit, 1)} |"
        )

    fa_ours, fa_ev = report["false_alarms_ours"], report.get("false_alarms_evidently")
    fa_ev_ok = fa_ev is not None and "error" not in fa_ev
    lines += [
        "",
        "## False alarms on no-drift categorical data (alpha 0.05, same trials)",
        "",
        "| categories, reference vs current rows | trials | ours | Evidently | Evidently's test |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, (k, n_ref, n_cur) in FALSE_ALARM_CONFIGS.items():
        mine = fa_ours[name]
        theirs = fa_ev["configs"][name] if fa_ev_ok else None
        lines.append(
            f"| {k}, {n_ref:,} vs {n_cur:,} | {mine['trials']} | {_fmt(mine['rate'], 2)} | "
            f"{_fmt(theirs['rate'], 2) if theirs else '—'} | "
            f"{', '.join(theirs['methods']) if theirs else '—'} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--trials", type=int, default=40, help="false-alarm trials per config")
    parser.add_argument("--seed", type=int, default=20_260_101)
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "drift.json")
    parser.add_argument("--ours", type=Path, help=argparse.SUPPRESS)  # subprocess mode
    args = parser.parse_args()
    if args.ours:
        print(json.dumps(run_ours(args.ours)))
        return

    report: dict = {"machine": machine()}
    with tempfile.TemporaryDirectory(prefix="bench-drift-") as tmp:
        data_dir = Path(tmp)
        t0 = time.perf_counter()
        write_parquet(data_dir, args.rows, args.seed)
        print(f"data written in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        done = subprocess.run(
            [sys.executable, __file__, "--ours", str(data_dir)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        report["ours"] = json.loads(done.stdout.strip().splitlines()[-1])
        print("ours done", file=sys.stderr)

        arrays = make_false_alarm_trials(args.trials, args.seed + 7)
        report["false_alarms_ours"] = our_false_alarms(arrays)
        npz = data_dir / "false_alarms.npz"
        np.savez(npz, **arrays)

        if args.skip_evidently:
            report["evidently_status"] = "skipped (--skip-evidently)"
        else:
            python, status = ensure_evidently()
            report["evidently_status"] = status
            if python is not None:
                report["evidently_run"] = run_evidently(python, "run", data_dir)
                print("evidently run done", file=sys.stderr)
                report["false_alarms_evidently"] = run_evidently(python, "false-alarms", npz)
                print("evidently false alarms done", file=sys.stderr)

    report["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    report["machine"]["load_average_at_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(markdown(report))


if __name__ == "__main__":
    main()
