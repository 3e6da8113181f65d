"""``make demo``: the whole loop on the embedded example, by running this repository's workflows.

In a scratch sandbox (``demo-sandbox/`` at the repository root, or ``--dir``; emptied first, kept
after exit), with real git (a local bare ``origin``), real DVC (a local directory as the DVC
remote), real GTO tags and the real server, it plays a team's week:

1. **main**: the example project in a fresh repository, trained (``dvc repro``) and pushed;
   ``release.yml`` runs on the push: ``income-model@v1.0.0`` is registered, staging and prod are
   deployed and assigned. A serving host (a clone of ``origin``) starts
   ``mlgitops serve --stage prod --watch`` on loopback, which serves v1.0.0.
2. **a pull request** lowers ``train.learning_rate``; ``pr.yml`` runs its check and the report is
   posted as the PR's one comment.
3. **the merge** (a merge commit on main): ``release.yml`` registers v1.1.0 and deploys it; the
   watching server swaps to it by itself, reconciling to the moved prod tag.
4. **traffic**: held-out rows of the evaluation split, with an injected drift (older people
   working longer hours: ``age`` and ``hours_per_week`` shifted), sent to ``/predict``; the
   server logs them.
5. **the drift check**: the serving host exports its prediction log to ``drift.source.path``
   (``mlgitops export-log``) and it is committed to main (``release.yml`` runs on that push too
   and finds nothing to release); ``drift.yml`` runs on a ``schedule`` event and opens the one
   ``drift`` issue, whose body is the drift report.

The demo is the workflows: every CI step above is a workflow file of this repository run by
:mod:`mlgitops.localci.harness` (the GitHub runner played locally), with ``gh`` and ``cml``
replaced by its one recording shim, so the comment, the releases and the issue are read back from
what the shim recorded. GitHub's environment approvals are not modelled: the production job runs
at once, and the demo says so. Nothing reaches the network.

Any failed step stops the demo with its output and a non-zero exit; the server is stopped at
the end, failure or not. ``--fast`` (what ``tests/demo`` uses) trains on a part of the data with
fewer boosting rounds and smaller bootstraps; the default runs the example as it is.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import sqlite3
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from mlgitops.errors import MlgitopsError
from mlgitops.localci.harness import Forge, JobResult, RunResult
from mlgitops.localci.sandbox import ROOT, run
from mlgitops.localci.sandbox import env as sandbox_env

#: Written into the sandbox: only a directory holding it is ever emptied by the demo.
MARKER = ".mlgitops-demo"
DEFAULT_DIR = ROOT / "demo-sandbox"
#: What the demo reads from the checkout it runs from (the example project and its workflows).
CHECKOUT_FILES = ("dvc.yaml", "params.yaml", ".github/workflows/release.yml", "pyproject.toml")
#: The features the traffic shifts (``DemoSettings.age_shift`` and ``hours_factor``).
SHIFTED_FEATURES = ("age", "hours_per_week")
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class DemoSettings:
    """How big the demo is. The defaults run the example project as it is.

    Attributes:
        raw_rows: Train on the first rows of the example data only (None: all 32,561).
        max_iter: ``train.max_iter`` in the sandbox (None: params.yaml's).
        bootstrap_resamples: The gate's, the model card's, the profile's and the drift check's
            bootstraps in the sandbox (None: params.yaml's).
        pr_change: The pull request's change: (section, key, new value) in params.yaml.
        traffic_batches: ``/predict`` requests sent after the swap.
        batch_rows: Records per request.
        age_shift: Years added to ``age`` (capped at the schema's maximum).
        hours_factor: Factor on ``hours_per_week`` (rounded, capped at the schema's maximum).
        watch_interval: Seconds between the watching server's polls of the stage tags.
        swap_timeout: Longest wait for the server to serve the new version.
        seed: Seeds the choice of the traffic rows.
    """

    raw_rows: int | None = None
    max_iter: int | None = None
    bootstrap_resamples: int | None = None
    pr_change: tuple[str, str, Any] = ("train", "learning_rate", 0.05)
    traffic_batches: int = 3
    batch_rows: int = 200
    age_shift: int = 10
    hours_factor: float = 1.3
    watch_interval: float = 1.0
    swap_timeout: float = 180.0
    seed: int = 0

    @classmethod
    def fast(cls) -> DemoSettings:
        """A smaller version of the same loop: 14,000 rows, 100 boosting rounds, small bootstraps.

        The evaluation split (3,500 rows) stays large enough for the pull request's verdict to be
        decided (not worse) rather than inconclusive.
        """
        return cls(raw_rows=14000, max_iter=100, bootstrap_resamples=500, batch_rows=150)

    @property
    def tweaked(self) -> bool:
        return any(v is not None for v in (self.raw_rows, self.max_iter, self.bootstrap_resamples))


@dataclass
class Step:
    """One line of the table: what ran, what came of it, where to read about it."""

    name: str
    result: str
    where: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class DemoResult:
    """What happened, for the table and for the test."""

    sandbox: Path
    steps: list[Step] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    gto_show: str = ""
    metrics_show: str = ""
    metrics_diff: str = ""
    served_before: str = ""
    served_after: str = ""
    swap_seconds: float = 0.0
    answered_versions: list[str] = field(default_factory=list)
    logged_rows: int = 0
    comment: str = ""
    verdict: str = ""
    issue: dict[str, Any] = field(default_factory=dict)
    drifted_features: list[str] = field(default_factory=list)
    shifted_features: list[str] = field(default_factory=list)

    def table(self) -> str:
        """The Markdown table of the steps (out/summary.md)."""
        rows = [
            "| # | step | result | where (in the sandbox) | s |",
            "| --- | --- | --- | --- | ---: |",
        ]
        for i, step in enumerate(self.steps, 1):
            where = "<br>".join(f"`{w}`" for w in step.where)
            rows.append(f"| {i} | {step.name} | {step.result} | {where} | {step.seconds:.0f} |")
        return "\n".join(rows)

    def text_table(self) -> str:
        """The same table for a terminal: wrapped columns, one file per line."""
        widths = (2, 30, 54, 4)
        header = ("#", "step", "result", "s", "where (in the sandbox)")
        lines = ["  ".join(h.ljust(w) for h, w in zip(header, (*widths, 0), strict=True))]
        lines.append("  ".join("-" * w for w in (*widths, 40)))
        for i, step in enumerate(self.steps, 1):
            cells = (
                [str(i)],
                textwrap.wrap(step.name, widths[1]),
                textwrap.wrap(step.result, widths[2]),
                [f"{step.seconds:.0f}"],
                step.where or [""],
            )
            for n in range(max(len(c) for c in cells)):
                parts = [c[n] if n < len(c) else "" for c in cells]
                line = "  ".join(
                    p.rjust(w) if k in (0, 3) else p.ljust(w)
                    for k, (p, w) in enumerate(zip(parts, (*widths, 0), strict=True))
                )
                lines.append(line.rstrip())
        return "\n".join(lines)


class DemoFailed(Exception):
    """A step of the demo failed: the message names it and holds its output."""


# ------------------------------------------------------------------------------ sandbox files


def prepare_sandbox(directory: Path) -> Path:
    """An empty sandbox at ``directory``: a previous demo's is removed, anything else is refused."""
    directory = directory.resolve()
    if directory.exists():
        if not directory.is_dir():
            raise DemoFailed(f"{directory} is a file; give --dir a directory for the sandbox.")
        if any(directory.iterdir()) and not (directory / MARKER).is_file():
            raise DemoFailed(
                f"{directory} is not empty and is not a demo sandbox (no {MARKER}); give --dir "
                "an empty or new directory."
            )
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    (directory / MARKER).write_text("made by python -m mlgitops.demo; emptied by the next run\n")
    return directory


def set_param(params_file: Path, section: str, key: str, value: Any) -> tuple[Any, Any]:
    """Change one top-level ``section.key`` of a params file in place, keeping its comments.

    Returns:
        The value before and after, as YAML reads them.
    """
    text = params_file.read_text()
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == f"{section}:"), None)
    if start is None:
        raise DemoFailed(f"{params_file} has no section {section!r}.")
    current = yaml.safe_load(text).get(section) or {}
    if key not in current:
        raise DemoFailed(f"{params_file}: no key {key!r} in section {section!r}.")
    before = current[key]
    rendered = yaml.safe_dump(value, default_flow_style=True).removesuffix("\n...\n").strip()
    pattern = re.compile(rf"^(  {re.escape(key)}:[ ]*)(\S+)(.*)$", re.DOTALL)
    for i in range(start + 1, len(lines)):
        if lines[i].strip() and not lines[i].startswith(" "):
            break
        match = pattern.match(lines[i])
        if match:
            lines[i] = f"{match.group(1)}{rendered}{match.group(3)}"
            params_file.write_text("".join(lines))
            after = yaml.safe_load(params_file.read_text())[section][key]
            if after != value:
                raise DemoFailed(f"{params_file}: {section}.{key} reads {after!r}, not {value!r}.")
            return before, after
    raise DemoFailed(f"{params_file}: no key {key!r} in section {section!r}.")


def small_example(settings: DemoSettings) -> Callable[[Path], None]:
    """The sandbox's edits before the first commit (none with the default settings)."""

    def edit(dev: Path) -> None:
        params_file = dev / "params.yaml"
        if settings.max_iter is not None:
            set_param(params_file, "train", "max_iter", settings.max_iter)
        if settings.bootstrap_resamples is not None:
            for section in ("gate", "release", "profile", "drift"):
                set_param(params_file, section, "bootstrap_resamples", settings.bootstrap_resamples)
        if settings.raw_rows is not None:
            from mlgitops import datasets

            raw = dev / "data" / "raw" / "adult.csv"
            raw.parent.mkdir(parents=True, exist_ok=True)
            datasets.load("adult").head(settings.raw_rows).to_csv(raw, index=False)
            set_param(params_file, "paths", "raw", "data/raw/adult.csv")
            # A few thousand evaluation rows leave small slices below the accuracy floor even for
            # a good model; the paired comparison with main still decides.
            text = params_file.read_text()
            edited = re.sub(r"(?m)^(    accuracy: \{.*\bfloor: )[^,}]+", r"\g<1>null", text)
            params_file.write_text(edited)
            if yaml.safe_load(edited)["gate"]["metrics"]["accuracy"]["floor"] is not None:
                raise DemoFailed(f"{params_file}: could not lift gate.metrics.accuracy.floor.")

    return edit


# ------------------------------------------------------------------------------ HTTP helpers


def http_json(url: str, body: Any = None, timeout: float = 30.0) -> tuple[int, Any]:
    """(status, JSON) of a GET, or of a POST when ``body`` is given."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def wait_for(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    """Poll ``check`` until it returns something truthy; DemoFailed after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise DemoFailed(f"gave up after {timeout:g} s waiting for {what}.")
        time.sleep(interval)


def drifted_traffic(repo: Path, settings: DemoSettings) -> pd.DataFrame:
    """Held-out rows of ``repo`` (its evaluation split, ``paths.test``), features only, with the
    injected drift: older people (``age`` + ``age_shift``) working longer hours
    (``hours_per_week`` × ``hours_factor``), both capped at the schema's maximum so that the
    server accepts every record (a value out of range would be refused with 422)."""
    from mlgitops.params import load_params
    from mlgitops.schema import load_schema

    params = load_params(repo / "params.yaml")
    schema = load_schema(repo / params.paths.schema_file)
    test_split = repo / params.paths.test
    rows = settings.traffic_batches * settings.batch_rows
    frame = pd.read_parquet(test_split)
    if len(frame) < rows:
        raise DemoFailed(f"{test_split} has {len(frame)} rows; the traffic needs {rows}.")
    frame = frame.sample(rows, random_state=settings.seed).reset_index(drop=True)
    frame = frame.drop(columns=[params.data.id_column, params.data.target])
    age, hours = SHIFTED_FEATURES
    frame[age] = (frame[age] + settings.age_shift).clip(upper=schema.columns[age].max)
    shifted = (frame[hours] * settings.hours_factor).round()
    frame[hours] = shifted.clip(upper=schema.columns[hours].max).astype("int64")
    return frame.astype({age: "int64"})


# ---------------------------------------------------------------------------------- the demo


class _Demo:
    """The steps, in order, sharing one forge, one serving host and one server."""

    def __init__(self, sandbox: Path, settings: DemoSettings, say: Callable[[str], None]) -> None:
        self.sandbox = sandbox
        self.settings = settings
        self.say = say
        self.out = sandbox / "out"
        self.out.mkdir()
        self.result = DemoResult(sandbox=sandbox)
        self.forge: Forge | None = None
        self.server: Any = None
        self.serving = sandbox / "serving"
        self.prediction_log = self.serving / "logs" / "predictions.sqlite"

    # ------------------------------------------------------------ bookkeeping

    def rel(self, path: Path) -> str:
        return str(path.resolve().relative_to(self.sandbox))

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[Step]:
        entry = Step(name, "")
        self.say(f"\n==> {name}")
        started = time.monotonic()
        try:
            yield entry
        except DemoFailed as exc:
            raise DemoFailed(f"step {name!r} failed: {exc}") from None
        except Exception as exc:  # the harness's RunFailed, a failed git/dvc call, ...
            raise DemoFailed(f"step {name!r} failed:\n{exc}") from exc
        entry.seconds = time.monotonic() - started
        self.result.steps.append(entry)
        self.say(f"    {entry.result} ({entry.seconds:.0f} s)")

    def keep(self, name: str, data: Any) -> str:
        """Write ``data`` (text, or JSON) to ``out/name``; its path in the sandbox."""
        path = self.out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data if isinstance(data, str) else json.dumps(data, indent=2) + "\n")
        return self.rel(path)

    def copy(self, source: Path, name: str) -> str:
        path = self.out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, path)
        return self.rel(path)

    def dev(self, *args: str) -> str:
        assert self.forge is not None
        return run(self.forge.dev, *args).stdout

    def run_workflow(self, workflow: str, event: Any) -> tuple[RunResult, str]:
        """Run a workflow file for ``event``; the run and where its summary is kept."""
        assert self.forge is not None
        result = self.forge.run(workflow, event)  # RunFailed (with the step's output) on failure
        for job in result.jobs.values():
            self.say(f"    {workflow} job {job.id!r} ({job.name}): {job.result}")
        name = f"runs/{result.run_id}-{Path(workflow).stem}-{event.name}.json"
        return result, self.keep(name, _run_summary(result))

    # ------------------------------------------------------------ the steps

    def main_released(self) -> None:
        settings = self.settings
        with self.step("main: trained, pushed") as s:
            self.forge = Forge.from_project(self.sandbox / "forge", edit=small_example(settings))
            store = self.sandbox / "dvc-remote"
            store.mkdir()
            self.dev("dvc", "remote", "add", "-q", "-d", "store", str(store))
            self.say("    dev: dvc repro (prepare, validate, train, evaluate, profile)")
            self.dev("dvc", "repro", "-q")
            self.result.metrics_show = self.dev("dvc", "metrics", "show")
            self.say(textwrap.indent(self.result.metrics_show.rstrip(), "    "))
            self.dev("git", "add", "-A")
            self.dev("git", "commit", "-q", "-m", "Train the first model")
            self.dev("dvc", "push", "-q")
            push = self.forge.push("main")
            metrics = json.loads((self.forge.dev / "metrics" / "metrics.json").read_text())
            s.result = (
                f"trained: accuracy {metrics['accuracy']:.4f}, ROC AUC {metrics['roc_auc']:.4f} "
                f"on {metrics['rows']:,} evaluation rows; pushed"
            )
            s.where = ["forge/dev/metrics/metrics.json"]
        self.release(push, "v1.0.0", "push to main")
        with self.step("serve --stage prod --watch") as s:
            from mlgitops.serve.process import ServerProcess

            run(self.sandbox, "git", "clone", "-q", self.forge.origin_url, str(self.serving))
            self.server = ServerProcess(
                args=["--stage", "prod", "--watch", "--interval", f"{settings.watch_interval:g}"],
                cwd=self.serving,
                env=sandbox_env(),
                log=self.prediction_log,
                startup_timeout=120,
            ).start()
            version = self.served_version()
            if version != "v1.0.0":
                raise DemoFailed(f"the server serves {version!r}, not v1.0.0.")
            self.result.served_before = version
            s.result = f"serving {version} (prod) at {self.server.url}"
            s.where = [self.rel(self.out / "server.log")]

    def release(self, push: Any, expected: str, why: str) -> None:
        assert self.forge is not None
        with self.step(f"release.yml ({why})") as s:
            result, kept = self.run_workflow("release.yml", push)
            release = result.job("release")
            version = release.outputs.get("version")
            if release.outputs.get("status") != "released" or version != expected:
                raise DemoFailed(f"release.yml released {release.outputs}, not {expected}.")
            tag = release.outputs["tag"]
            self.result.versions.append(version)
            for stage in ("staging", "production"):
                if result.job(stage).result != "success":
                    raise DemoFailed(f"the {stage} job ended {result.job(stage).result}.")
            prod = result.job("production")
            self.say(
                f"    environment {prod.environment!r}: approval simulated (on GitHub its required "
                "reviewers approve before this job starts; the harness runs it at once)"
            )
            card = release.workspace / release.step("release").outputs["card"]
            stages = self.stages_of(version)
            s.result = (
                f"{tag} registered; {' and '.join(stages)} assigned (prod approval simulated)"
            )
            s.where = [
                self.copy(card, f"{version}/model_card.md"),
                self.copy(card.with_suffix(".json"), f"{version}/model_card.json"),
                self.keep(f"{version}/github-release.json", self.forge.releases()[tag]),
                kept,
            ]

    def stages_of(self, version: str) -> list[str]:
        """The stages GTO says ``version`` holds, from origin's tags (staging and prod, or fail)."""
        name = self.model_name()
        self.dev("git", "fetch", "-q", "--tags", "origin")
        found = [
            stage
            for stage in ("staging", "prod")
            if self.dev("gto", "show", f"{name}#{stage}", "--version").strip() == version
        ]
        if found != ["staging", "prod"]:
            raise DemoFailed(f"{version} is assigned to {found}, not to staging and prod.")
        return found

    def params(self) -> Any:
        """The developer clone's params (as checked out now)."""
        from mlgitops.params import load_params

        assert self.forge is not None
        return load_params(self.forge.dev / "params.yaml")

    def model_name(self) -> str:
        return self.params().model.name

    def served_version(self) -> str:
        status, body = http_json(f"{self.server.url}/version")
        return str(body.get("version")) if status == 200 and isinstance(body, dict) else ""

    def pull_request(self) -> int:
        assert self.forge is not None
        section, key, value = self.settings.pr_change
        with self.step(f"PR: {section}.{key} → {value}; pr.yml") as s:
            branch = f"{key.replace('_', '-')}-{value}"
            self.dev("git", "checkout", "-q", "-b", branch, "main")
            before, _ = set_param(self.forge.dev / "params.yaml", section, key, value)
            self.say(f"    dev: {section}.{key} {before} → {value}; dvc repro; commit; dvc push")
            self.dev("dvc", "repro", "-q")
            self.dev("git", "commit", "-q", "-am", f"Set {section}.{key} to {value}")
            self.dev("dvc", "push", "-q")
            event = self.forge.pull_request(branch, title=f"Set {section}.{key} to {value}")
            number = event.payload["number"]
            result, kept = self.run_workflow("pr.yml", event)
            comments = self.forge.comments(f"pr/{number}")
            if len(comments) != 1:
                raise DemoFailed(f"PR #{number} has {len(comments)} recorded comments, not one.")
            [comment] = comments
            artifact = self.forge.artifact(result.run_id, "pr-report")
            self.result.comment = comment["body"]
            self.result.verdict = comment["body"].splitlines()[0].removeprefix("## ").strip()
            s.result = f"PR #{number}: check passed; the comment says {self.result.verdict}"
            s.where = [
                self.copy(artifact / "pr.md", "pr/pr.md"),
                self.copy(artifact / "compare.json", "pr/compare.json"),
                self.keep("pr/recorded-comment.json", comment),
                kept,
            ]
            return number

    def merge(self, number: int) -> None:
        assert self.forge is not None
        push = self.forge.merge(number)
        self.say(f"    merged PR #{number}: merge commit {push.sha[:12]} on main")
        self.release(push, "v1.1.0", f"merge of PR #{number}")
        with self.step("the watching server swaps") as s:
            wait_for(
                lambda: self.served_version() == "v1.1.0",
                self.settings.swap_timeout,
                "the server to serve v1.1.0 (GET /version)",
            )
            version = http_json(f"{self.server.url}/version")[1]
            self.result.served_after = str(version["version"])
            # How long the server took to follow the tag: from the prod assignment's tag time
            # (whole seconds) to the moment it loaded the version.
            name = self.model_name()
            tagged = self.forge.origin_git(
                "for-each-ref",
                "--sort=-creatordate",
                "--count=1",
                "--format=%(creatordate:unix)",
                f"refs/tags/{name}#prod#*",
            )
            loaded = datetime.fromisoformat(version["loaded_at"].replace("Z", "+00:00"))
            self.result.swap_seconds = max(loaded.timestamp() - int(tagged), 0.0)
            s.result = (
                f"GET /version: {version['version']} (stage {version.get('stage')}), loaded "
                f"{self.result.swap_seconds:.1f} s after the prod tag was pushed (polling every "
                f"{self.settings.watch_interval:g} s)"
            )
            s.where = [self.keep("server/version-after-swap.json", version)]

    def traffic(self) -> None:
        assert self.forge is not None
        settings = self.settings
        with self.step("drifted traffic → POST /predict") as s:
            self.dev("git", "checkout", "-q", "main")
            self.dev("git", "merge", "-q", "--ff-only", "origin/main")
            frame = drifted_traffic(self.forge.dev, settings)
            self.result.shifted_features = list(SHIFTED_FEATURES)
            records = json.loads(frame.to_json(orient="records"))
            answered: list[str] = []
            for i in range(settings.traffic_batches):
                batch = records[i * settings.batch_rows : (i + 1) * settings.batch_rows]
                status, body = http_json(f"{self.server.url}/predict", {"records": batch})
                if status != 200:
                    raise DemoFailed(f"POST /predict answered {status}: {str(body)[:2000]}")
                answered.append(body["version"])
            self.result.answered_versions = answered
            from mlgitops.serve.log import read_prediction_log

            def logged() -> bool:
                try:
                    return len(read_prediction_log(self.prediction_log)) >= len(records)
                except (MlgitopsError, sqlite3.Error):  # not written yet
                    return False

            wait_for(logged, 30, f"{len(records)} rows in the prediction log")
            self.result.logged_rows = len(read_prediction_log(self.prediction_log))
            s.result = (
                f"{len(records)} held-out rows in {settings.traffic_batches} requests, age "
                f"+{settings.age_shift} y, hours per week ×{settings.hours_factor:g}; answered by "
                f"{', '.join(sorted(set(answered)))}; {self.result.logged_rows} rows logged"
            )
            s.where = [self.rel(self.prediction_log)]

    def drift(self) -> None:
        assert self.forge is not None
        with self.step("log exported to main; release.yml") as s:
            source = self.params().drift.source
            exported = source.path
            if source.kind != "path" or any(c in exported for c in "*?["):
                raise DemoFailed(
                    f"drift.source is {source.kind} {exported!r}; the demo commits the exported "
                    "log, so it needs kind path and one file (the example's)."
                )
            # What the serving host does: export its log where drift.source.path says, commit it.
            self.dev("mlgitops", "export-log", "--log", str(self.prediction_log), "--out", exported)
            self.dev("git", "add", "-f", exported)
            self.dev(
                "git", "commit", "-q", "-m", "Production traffic: the prediction log, exported"
            )
            push = self.forge.push("main")
            result, kept = self.run_workflow("release.yml", push)
            status = result.job("release").outputs.get("status")
            if status != "unchanged":
                raise DemoFailed(
                    f"release.yml on the export's push says {status!r}, not unchanged."
                )
            s.result = f"`{exported}` on main; release.yml: nothing to release (model unchanged)"
            s.where = [f"forge/dev/{exported}", kept]
        with self.step("drift.yml (schedule event)") as s:
            result, kept = self.run_workflow("drift.yml", self.forge.schedule())
            check = result.job("check")
            if check.outputs.get("drifted") != "true":
                raise DemoFailed(
                    f"the drift check found no drift in the shifted traffic: {check.outputs}"
                )
            issues = self.forge.issues("drift")
            if len(issues) != 1:
                raise DemoFailed(f"{len(issues)} drift issues were recorded, not one.")
            [issue] = issues
            report = self.forge.artifact(result.run_id, "drift-report")
            doc = json.loads((report / "drift.json").read_text())
            self.result.issue = issue
            self.result.drifted_features = list(doc["decision"]["drifted"])
            s.result = f"issue #{issue['number']} opened: {issue['title']}"
            s.where = [
                self.copy(report / "drift.md", "drift/drift.md"),
                self.copy(report / "drift.json", "drift/drift.json"),
                self.keep("drift/recorded-issue.json", issue),
                kept,
            ]

    def registry(self) -> None:
        name = self.model_name()
        self.dev("git", "fetch", "-q", "--tags", "origin")
        self.result.gto_show = self.dev("gto", "show", name)
        self.keep("gto-show.txt", self.result.gto_show)
        if len(self.result.versions) >= 2:
            first, last = (f"{name}@{v}" for v in self.result.versions[-2:])
            self.result.metrics_diff = self.dev("dvc", "metrics", "diff", first, last)
            self.keep("metrics-diff.txt", self.result.metrics_diff)

    def stop_server(self) -> None:
        if self.server is None:
            return
        self.server.stop()
        self.keep("server.log", self.server.output())
        self.server = None


def _run_summary(result: RunResult) -> dict[str, Any]:
    """What a run did, job by job (the Actions page of the run, in short)."""

    def job(j: JobResult) -> dict[str, Any]:
        return {
            "name": j.name,
            "result": j.result,
            "environment": j.environment,
            "permissions": j.permissions,
            "outputs": j.outputs,
            "steps": [
                {"name": s.name, "outcome": s.outcome, "seconds": round(s.seconds, 1)}
                for s in j.steps
            ],
        }

    return {
        "workflow": result.path,
        "run_id": result.run_id,
        "event": result.event.name,
        "sha": result.event.sha,
        "conclusion": result.conclusion,
        "jobs": {k: job(v) for k, v in result.jobs.items()},
    }


def run_demo(
    sandbox: Path,
    settings: DemoSettings | None = None,
    say: Callable[[str], None] = print,
) -> DemoResult:
    """Run the whole loop in ``sandbox`` (emptied first); what happened.

    Raises:
        DemoFailed: a step failed (the message names it and holds its output); the server is
            stopped either way.
    """
    settings = settings or DemoSettings()
    missing = [f for f in CHECKOUT_FILES if not (ROOT / f).is_file()]
    if missing:
        raise DemoFailed(
            f"{ROOT} is not a checkout of the mlgitops repository (no {', '.join(missing)}); run "
            "the demo from a clone, with `make demo` (an editable install)."
        )
    sandbox = prepare_sandbox(sandbox)
    demo = _Demo(sandbox, settings, say)
    say(f"mlgitops demo in {sandbox}")
    if settings.tweaked:
        say(
            f"(smaller settings: {settings.raw_rows or 'all'} rows, max_iter "
            f"{settings.max_iter or 'as in params.yaml'}, bootstraps "
            f"{settings.bootstrap_resamples or 'as in params.yaml'})"
        )
    try:
        demo.main_released()
        number = demo.pull_request()
        demo.merge(number)
        demo.traffic()
        demo.drift()
        demo.registry()
    finally:
        demo.stop_server()
    return demo.result


def render(result: DemoResult, seconds: float) -> str:
    """The closing text: the table, the registry and where everything is."""
    return "\n".join(
        [
            "",
            result.text_table(),
            "",
            f"gto show (in forge/dev):\n{result.gto_show.rstrip()}",
            "",
            *(
                [
                    "dvc metrics diff between the two releases (in forge/dev):",
                    result.metrics_diff.rstrip(),
                    "",
                ]
                if result.metrics_diff
                else []
            ),
            f"Everything is kept in {result.sandbox} (the table: out/summary.md). "
            f"{len(result.steps)} steps in {seconds:.0f} s.",
            "GitHub was played by the harness (mlgitops.localci): the comment, the releases and "
            "the issue are what its gh/cml shim recorded (forge/forge.json).",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mlgitops.demo",
        description="The whole mlgitops loop on the example project, through the real workflows.",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=DEFAULT_DIR,
        help=f"the sandbox (emptied first, kept after exit) [{DEFAULT_DIR}]",
    )
    parser.add_argument(
        "--fast", action="store_true", help="a part of the data, fewer rounds, smaller bootstraps"
    )
    args = parser.parse_args(argv)
    settings = DemoSettings.fast() if args.fast else DemoSettings()
    started = time.monotonic()
    try:
        result = run_demo(args.dir, settings, say=lambda line: print(line, flush=True))
    except DemoFailed as exc:
        print(f"\nmake demo FAILED: {exc}", file=sys.stderr, flush=True)
        print(f"(the server is stopped; the sandbox is kept in {args.dir})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nmake demo interrupted (the server was stopped)", file=sys.stderr)
        return 130
    text = render(result, time.monotonic() - started)
    (result.sandbox / "out" / "summary.md").write_text(result.table() + "\n")
    print(text)
    return 0


__all__ = ["DemoFailed", "DemoResult", "DemoSettings", "Step", "main", "run_demo"]


if __name__ == "__main__":
    raise SystemExit(main())
