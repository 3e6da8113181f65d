"""Evidently's side of the drift benchmark; runs in its own venv (Evidently 0.7 needs pandas < 3).

Started by ``bench/bench_drift.py``, never imported by it. Two modes, each printing one JSON
object on stdout:

    python evidently_drift.py run DATA_DIR
        DataDriftPreset on DATA_DIR/reference.parquet vs DATA_DIR/current.parquet, with the
        column types given explicitly (DATA_DIR/columns.json). Reports load and run wall
        times, peak RSS (getrusage ru_maxrss) and the per-column drift verdicts.

    python evidently_drift.py false-alarms TRIALS_NPZ
        For each no-drift configuration in the .npz (arrays ``<name>__ref`` and ``<name>__cur``
        of shape trials x rows holding category codes), runs DataDriftPreset on every trial of
        the single categorical column and reports how often Evidently calls it drifted.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently import __version__ as evidently_version
from evidently.presets import DataDriftPreset

# Evidently and pandas warn about deprecations on every report; they are not results.
warnings.filterwarnings("ignore")


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _column_verdicts(snapshot) -> list[dict]:
    verdicts = []
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if not config.get("type", "").endswith("ValueDrift"):
            continue
        method = config["method"]
        value = float(metric["value"])
        threshold = float(config["threshold"])
        # Evidently's rule: a p-value method drifts below the threshold, a distance at or above.
        drifted = value < threshold if "p_value" in method else value >= threshold
        verdicts.append(
            {
                "column": config["column"],
                "method": method,
                "value": value,
                "threshold": threshold,
                "drifted": bool(drifted),
            }
        )
    return verdicts


def run(data_dir: Path) -> dict:
    columns = json.loads((data_dir / "columns.json").read_text())
    definition = DataDefinition(
        numerical_columns=columns["numeric"], categorical_columns=columns["categorical"]
    )
    rss_start = _rss_mib()
    start = time.perf_counter()
    reference = pd.read_parquet(data_dir / "reference.parquet")
    current = pd.read_parquet(data_dir / "current.parquet")
    load_s = time.perf_counter() - start
    rss_loaded = _rss_mib()
    start = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    verdicts = _column_verdicts(snapshot)
    run_s = time.perf_counter() - start
    return {
        "evidently": evidently_version,
        "pandas": pd.__version__,
        "rows_reference": len(reference),
        "rows_current": len(current),
        "load_s": load_s,
        "run_s": run_s,
        "rss_start_mib": rss_start,
        "rss_loaded_mib": rss_loaded,
        "peak_rss_mib": _peak_rss_mib(),
        "columns": verdicts,
    }


def false_alarms(npz_path: Path) -> dict:
    arrays = np.load(npz_path)
    names = sorted({key.split("__")[0] for key in arrays.files})
    definition = DataDefinition(categorical_columns=["c"])
    out = {}
    for name in names:
        ref, cur = arrays[f"{name}__ref"], arrays[f"{name}__cur"]
        drifted, methods = 0, set()
        start = time.perf_counter()
        for ref_codes, cur_codes in zip(ref, cur, strict=True):
            # Category labels as strings, as a real categorical column would hold them.
            reference = pd.DataFrame({"c": np.char.add("c", ref_codes.astype(str)).astype(object)})
            current = pd.DataFrame({"c": np.char.add("c", cur_codes.astype(str)).astype(object)})
            snapshot = Report([DataDriftPreset()]).run(
                Dataset.from_pandas(current, data_definition=definition),
                Dataset.from_pandas(reference, data_definition=definition),
            )
            (verdict,) = _column_verdicts(snapshot)
            drifted += verdict["drifted"]
            methods.add(verdict["method"])
        out[name] = {
            "trials": int(ref.shape[0]),
            "drifted": int(drifted),
            "rate": drifted / ref.shape[0],
            "methods": sorted(methods),
            "seconds": time.perf_counter() - start,
        }
    return {"evidently": evidently_version, "configs": out}


def main() -> None:
    mode, path = sys.argv[1], Path(sys.argv[2])
    result = run(path) if mode == "run" else false_alarms(path)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
