"""Benchmark of ``mlgitops serve`` side by side with ``mlflow models serve`` on the same model.

Run from the repository root with the project's environment, after ``dvc repro`` (it serves
``models/model.skops`` and sends rows of ``data/prepared/test.parquet``)::

    python bench/bench_serve.py                 # both servers, ~3 minutes on 2 cores
    python bench/bench_serve.py --skip-mlflow   # ours only

What it does, in one run:

1. Takes the first 1,000 evaluation rows as JSON records (null for missing values).
2. Ours: ``mlgitops serve`` started as the deploy step starts it (``ServerProcess``: one uvicorn
   process, validation against the model's input schema, prediction log on, metrics on).
3. MLflow 3.17.2 in its own venv ``bench/.venv-mlflow`` (built here if missing, with pip from
   PyPI): ``bench/mlflow_model.py`` loads the same skops file with the same allowlist and saves it
   as an MLflow model (skops serialization, an inferred signature, ``predict_proba``); then
   ``mlflow models serve --env-manager local --workers 1`` serves it. Nothing of MLflow is
   imported here.
4. Checks the two servers agree: the same probability of the positive class on the same 100 rows.
5. Load: the same client for both (``concurrency`` threads, one keep-alive HTTP connection each,
   request bodies encoded beforehand, 2 s warm-up before each round) for single-row requests and
   100-row batches, at concurrency 1 and 8. Both servers stay up for the whole run and each
   scenario runs in ``--rounds`` alternating rounds (ours, theirs, theirs, ours, ...), so a change
   in the machine's load hits both alike; percentiles pool every request of every round.

Results go to ``bench/out/serve.json`` and are printed as a Markdown table (the one in
``docs/bench/serve.md``). The client shares the machine with the server; both servers get the
same client. Nothing here is asserted by the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

import skops.io as sio  # noqa: E402

from mlgitops.artifact import load_model, trusted_types  # noqa: E402
from mlgitops.evaluate import json_records  # noqa: E402
from mlgitops.fsio import read_table, write_json  # noqa: E402
from mlgitops.params import load_params  # noqa: E402
from mlgitops.serve.process import ServerProcess  # noqa: E402

MLFLOW_VENV = ROOT / "bench" / ".venv-mlflow"
MLFLOW_PINS = ["mlflow==3.17.2", "pyarrow"]
ROWS = 1000
BATCH = 100
WARMUP = 2.0
MAX_REQUESTS_PER_THREAD = 200_000  # a bound, far above what a run sends


def machine() -> dict[str, Any]:
    model = ""
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next(
            (ln.split(":", 1)[1].strip() for ln in lscpu.splitlines() if "Model name" in ln), ""
        )
    except OSError:
        pass
    ram = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        kb = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
        ram = f"{kb / 1024 / 1024:.1f} GiB"
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "ram": ram,
        "python": platform.python_version(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the load generator (the same for both servers) -----------------------------------------------


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes (all their threads), from /proc."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def session_pids(session: int) -> list[int]:
    """Every process of a session (MLflow's CLI runs its server as a child process)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == session:
                found.append(int(entry.name))
    return found


def run_load(
    port: int,
    path: str,
    bodies: list[bytes],
    concurrency: int,
    duration: float,
    pids: list[int],
) -> dict[str, Any]:
    """Send ``bodies`` round-robin from ``concurrency`` keep-alive connections; time each.

    Also measures the server's CPU time over the whole round (warm-up included) per request
    answered: unlike wall time, it hardly depends on what else the machine is doing.
    """
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    answered = [0] * concurrency
    cpu_before = cpu_seconds(pids)
    start_measuring = time.perf_counter() + WARMUP
    stop_at = start_measuring + duration

    def worker(i: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Content-Type": "application/json"}
        k = i
        for _ in range(MAX_REQUESTS_PER_THREAD):
            now = time.perf_counter()
            if now >= stop_at:
                break
            body = bodies[k % len(bodies)]
            k += concurrency
            try:
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            done = time.perf_counter()
            answered[i] += ok
            if now >= start_measuring:
                if ok:
                    latencies[i].append(done - now)
                else:
                    errors[i] += 1
        connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    all_latencies = sorted(x for xs in latencies for x in xs)
    cpu = cpu_seconds(pids) - cpu_before
    return {
        "latencies": all_latencies,
        "errors": sum(errors),
        "seconds": duration,
        "cpu_ms_per_request": cpu * 1000 / max(1, sum(answered)),
    }


def summarise(runs: list[dict[str, Any]], batch: int, concurrency: int) -> dict[str, Any]:
    """Pool the rounds of one scenario: percentiles over every request, rate over all time."""
    latencies = sorted(x for r in runs for x in r["latencies"])
    n = len(latencies)
    seconds = sum(r["seconds"] for r in runs)

    def pct(q: float) -> float:
        return latencies[min(n - 1, int(q * n))] * 1000 if n else float("nan")

    rates = [len(r["latencies"]) / r["seconds"] for r in runs]
    return {
        "batch": batch,
        "concurrency": concurrency,
        "requests": n,
        "errors": sum(r["errors"] for r in runs),
        "throughput_rps": n / seconds,
        "rows_per_s": n / seconds * batch,
        "round_rps": [round(x, 1) for x in rates],
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "mean_ms": statistics.fmean(latencies) * 1000 if n else float("nan"),
        "cpu_ms_per_request": statistics.median(r["cpu_ms_per_request"] for r in runs),
    }


def post(port: int, path: str, payload: Any) -> Any:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
    with opener.open(request, timeout=60) as response:
        return json.loads(response.read())


# -- MLflow's side --------------------------------------------------------------------------------


def ensure_mlflow_venv() -> Path:
    """bench/.venv-mlflow with MLflow and the project's scikit-learn/skops versions."""
    from importlib.metadata import version

    python = MLFLOW_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(MLFLOW_VENV)], check=True)
    pins = [*MLFLOW_PINS, f"scikit-learn=={version('scikit-learn')}", f"skops=={version('skops')}"]
    check = subprocess.run(
        [str(python), "-c", "import mlflow, sklearn, skops; print(sklearn.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    if check.returncode != 0 or check.stdout.strip() != version("scikit-learn"):
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *pins],
            check=True,
            capture_output=True,
            text=True,
        )
    return python


class MlflowServer:
    """``mlflow models serve`` of a saved MLflow model, on a free loopback port."""

    def __init__(self, model_dir: Path, workdir: Path, env: dict[str, str]) -> None:
        self.model_dir = model_dir
        self.workdir = workdir
        self.extra_env = env
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> MlflowServer:
        env = {
            **os.environ,
            "PATH": f"{MLFLOW_VENV / 'bin'}{os.pathsep}{os.environ['PATH']}",
            **self.extra_env,
        }
        self.output = (self.workdir / "mlflow-serve.txt").open("wb")
        self.process = subprocess.Popen(
            [
                str(MLFLOW_VENV / "bin" / "mlflow"),
                "models",
                "serve",
                "-m",
                str(self.model_dir),
                "--env-manager",
                "local",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-w",
                "1",
            ],
            env=env,
            stdout=self.output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so stopping it stops its uvicorn child too
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        for _ in range(1200):  # up to 2 minutes
            if self.process.poll() is not None:
                raise RuntimeError(f"mlflow models serve exited with {self.process.returncode}")
            try:
                with opener.open(f"http://127.0.0.1:{self.port}/ping", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("mlflow models serve did not answer /ping within 2 minutes")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()
        self.output.close()


# -- the run --------------------------------------------------------------------------------------


def bodies_for(records: list[dict[str, Any]], size: int, key: str) -> list[bytes]:
    return [
        json.dumps({key: records[i : i + size]}).encode()
        for i in range(0, len(records) - size + 1, size)
    ]


def scenarios(
    servers: dict[str, tuple[int, str, str, list[int]]],
    records: list[dict[str, Any]],
    args: argparse.Namespace,
) -> dict[str, list[dict[str, Any]]]:
    """Every scenario on every server, in alternating rounds (the machine's load drifts)."""
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
    for size in (1, BATCH):
        for concurrency in args.concurrency:
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
            for i in range(args.rounds):
                order = list(servers) if i % 2 == 0 else list(reversed(servers))
                for name in order:
                    port, path, key, pids = servers[name]
                    bodies = bodies_for(records, size, key)
                    runs[name].append(
                        run_load(port, path, bodies, concurrency, args.duration / args.rounds, pids)
                    )
            for name, rs in runs.items():
                result = summarise(rs, size, concurrency)
                found[name].append(result)
                print(
                    f"  {name:>8}: batch {size:>3}, concurrency {concurrency}: "
                    f"{result['throughput_rps']:.0f} req/s (rounds {result['round_rps']}), "
                    f"p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms, "
                    f"server CPU {result['cpu_ms_per_request']:.2f} ms/request, "
                    f"{result['errors']} errors",
                    flush=True,
                )
    return found


def table(results: dict[str, list[dict[str, Any]]]) -> str:
    lines = [
        "| request | concurrency | server | requests/s | rows/s | p50 ms | p99 ms "
        "| server CPU ms/request | errors |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    keyed = {
        (r["batch"], r["concurrency"], server): r for server, rs in results.items() for r in rs
    }
    for batch, concurrency, server in sorted(keyed, key=lambda k: (k[0], k[1], k[2] != "mlgitops")):
        r = keyed[(batch, concurrency, server)]
        what = "1 row" if batch == 1 else f"{batch} rows"
        lines.append(
            f"| {what} | {concurrency} | {server} | {r['throughput_rps']:.0f} | "
            f"{r['rows_per_s']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
            f"{r['cpu_ms_per_request']:.2f} | {r['errors']} |"
        )
    return "\n".join(lines)


def start_mlflow(
    stack: contextlib.ExitStack,
    args: argparse.Namespace,
    model: Any,
    records: list[dict[str, Any]],
    workdir: Path,
) -> tuple[MlflowServer, str, int]:
    """Build MLflow's venv, save the same model as an MLflow model there, and serve it."""
    python = str(ensure_mlflow_venv())
    untrusted = sio.get_untrusted_types(file=args.model)
    allowed = set(trusted_types(()))
    (workdir / "trusted.json").write_text(json.dumps([t for t in untrusted if t in allowed]))
    (workdir / "rows.json").write_text(json.dumps(records))
    saved = subprocess.run(
        [
            python,
            str(ROOT / "bench" / "mlflow_model.py"),
            str(args.model),
            str(workdir / "trusted.json"),
            str(workdir / "rows.json"),
            str(workdir / "mlflow-model"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    classes = json.loads(saved.stdout.strip().splitlines()[-1])["classes"]
    positive = classes.index(str(model.metadata["positive_class"]))
    version = subprocess.run(
        [python, "-c", "import mlflow; print(mlflow.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    env = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"} if args.cap_mlflow_threads else {}
    theirs = stack.enter_context(MlflowServer(workdir / "mlflow-model", workdir, env))
    print(f"mlflow models serve {version} on port {theirs.port}", flush=True)
    return theirs, version, positive


def _finite(value: Any) -> Any:
    """NaN (a scenario with no answered request) as null, so the report is valid JSON."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "model.skops")
    parser.add_argument("--metadata", type=Path, default=ROOT / "models" / "model.json")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "prepared" / "test.parquet")
    parser.add_argument("--params", type=Path, default=ROOT / "params.yaml")
    parser.add_argument(
        "--duration", type=float, default=12.0, help="measured seconds per scenario and server"
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per scenario")
    parser.add_argument(
        "--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[1, 8]
    )
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument(
        "--cap-mlflow-threads",
        action="store_true",
        help="run MLflow's server with OMP_NUM_THREADS=1 (ours caps with serve.model_threads)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "serve.json")
    args = parser.parse_args(argv)

    model = load_model(args.model, args.metadata)  # the allowlist check, as the server does
    frame = read_table(args.data)
    records = json_records(frame[model.features].head(ROWS))
    report: dict[str, Any] = {
        "machine": machine(),
        "model": {"file": str(args.model), "sha256": model.metadata.get("model_sha256")},
        "rows": len(records),
        "duration_s": args.duration,
        "rounds": args.rounds,
        "mlflow_threads_capped": args.cap_mlflow_threads,
        "model_threads": load_params(args.params).serve.model_threads,
        "warmup_s": WARMUP,
        "results": {},
        "mlflow": None,
    }
    print(f"machine: {report['machine']}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    report["load_average_before"] = os.getloadavg()
    try:
        with contextlib.ExitStack() as stack:
            ours = stack.enter_context(
                ServerProcess(
                    args.model,
                    args.metadata,
                    version="bench",
                    log=workdir / "p.sqlite",
                    params=args.params,
                )
            )
            assert ours.pid is not None
            servers = {"mlgitops": (ours.port, "/predict", "records", [ours.pid])}
            probe = post(ours.port, "/predict", {"records": records[:BATCH]})
            our_scores = [p["score"] for p in probe["predictions"]]
            if args.skip_mlflow:
                report["mlflow"] = {"skipped": "--skip-mlflow"}
            else:
                try:
                    theirs, version, positive = start_mlflow(stack, args, model, records, workdir)
                except (subprocess.CalledProcessError, RuntimeError, OSError) as exc:
                    detail = getattr(exc, "stderr", "") or ""
                    last = detail.strip().splitlines()[-1] if detail.strip() else ""
                    report["mlflow"] = {"missing": f"{exc} {last}".strip()}
                    print(f"mlflow is missing from this run: {report['mlflow']['missing']}")
                else:
                    probe = post(
                        theirs.port, "/invocations", {"dataframe_records": records[:BATCH]}
                    )
                    their_scores = [row[positive] for row in probe["predictions"]]
                    report["mlflow"] = {
                        "version": version,
                        "max_score_difference": max(
                            abs(a - b) for a, b in zip(our_scores, their_scores, strict=True)
                        ),
                    }
                    assert theirs.process is not None
                    pids = session_pids(theirs.process.pid)
                    servers["mlflow"] = (theirs.port, "/invocations", "dataframe_records", pids)
            report["results"] = scenarios(servers, records, args)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report["load_average_after"] = os.getloadavg()

    write_json(args.out, _finite(report))
    print()
    print(table(report["results"]))
    if report["mlflow"] and "max_score_difference" in report["mlflow"]:
        print(
            f"\nthe two servers' scores on the same {BATCH} rows differ by at most "
            f"{report['mlflow']['max_score_difference']:.3g}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
