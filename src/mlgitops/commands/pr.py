"""The pull-request check: ``compare``, ``report pr`` and ``pr`` (both in one go)."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd
import yaml

from mlgitops.artifact import LoadedModel, load_model
from mlgitops.baseline import Baseline, dvc_env, fetch_baseline
from mlgitops.changes import params_diff, row_changes, schema_diff
from mlgitops.commands._common import PARAMS_OPTION, OptionalPath, fails_cleanly
from mlgitops.compare import Rows, compare_rows
from mlgitops.errors import EXIT_CHECK_FAILED, EXIT_OK, DataError, MlgitopsError
from mlgitops.fsio import read_json, read_table, write_json, write_text
from mlgitops.gitrepo import git, toplevel
from mlgitops.params import GateParams, Params, SliceSpec, load_params, parse, read_yaml
from mlgitops.prdoc import Side, charts_for, compare_document
from mlgitops.report import render_failure, render_pr
from mlgitops.schema import validate_frame
from mlgitops.scoring import score_frame
from mlgitops.untrusted import fork_notice, sanitize_compare

CANDIDATE_LABEL = "this PR"


def _label(rev: str) -> str:
    """A readable name for a revision: branch names as they are, commit ids shortened."""
    return rev[:8] if re.fullmatch(r"[0-9a-f]{12,40}", rev) else rev


def _rows(task: str, meta: dict[str, Any], base: pd.DataFrame, cand: pd.DataFrame) -> Rows:
    def scores(pred: pd.DataFrame) -> np.ndarray | None:
        if task == "binary":
            return pred["score"].to_numpy(dtype=np.float64)
        if task == "multiclass":
            return pred[[f"proba_{c}" for c in meta["classes"]]].to_numpy(dtype=np.float64)
        return None

    return Rows(
        task=task,
        y_true=cand["y_true"].to_numpy(),
        base_pred=base["y_pred"].to_numpy(),
        cand_pred=cand["y_pred"].to_numpy(),
        base_score=scores(base),
        cand_score=scores(cand),
        positive_class=meta.get("positive_class"),
        classes=meta.get("classes"),
    )


def incompatibility(
    baseline: LoadedModel, candidate: LoadedModel, frame: pd.DataFrame
) -> str | None:
    """Why the baseline cannot score the candidate's rows (None when it can)."""
    base_meta, cand_meta = baseline.metadata, candidate.metadata
    if base_meta["task"] != cand_meta["task"]:
        return f"the task changed from {base_meta['task']} to {cand_meta['task']}"
    if base_meta["target"] != cand_meta["target"]:
        return f"the target changed from {base_meta['target']} to {cand_meta['target']}"
    if base_meta.get("classes") != cand_meta.get("classes"):
        return f"the classes changed from {base_meta.get('classes')} to {cand_meta.get('classes')}"
    missing = [f for f in baseline.features if f not in frame.columns]
    if missing:
        return (
            f"the baseline model needs column(s) {', '.join(missing)}, which the evaluation data "
            "no longer has"
        )
    schema = baseline.input_schema.model_copy(update={"min_rows": 0, "extra_columns": "ignore"})
    result = validate_frame(frame[baseline.features], schema, name="evaluation data")
    wrong = [v for v in result.violations if v.rule == "dtype"]
    if wrong:
        v = wrong[0]
        return (
            f"column {v.column} is no longer of the type the baseline model was trained on "
            f"({v.expected})"
        )
    return None


def _validation_summary(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    report = read_json(path, "validation report")
    return {
        "ok": report.get("ok"),
        "violations": sum(len(d.get("violations", [])) for d in report.get("datasets", [])),
        "datasets": [{"name": d["name"], "rows": d["rows"]} for d in report.get("datasets", [])],
    }


@dataclass(frozen=True)
class Rules:
    """The gate a pull request is judged by, and where it comes from."""

    gate: GateParams
    slices: tuple[SliceSpec, ...]
    source: str  # "base" | "candidate"
    changed: tuple[str, ...]  # the params keys of gate / evaluate.slices this PR changes
    note: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.source, "changed": list(self.changed), "note": self.note}


def judging_rules(
    params: Params, baseline: Baseline, changes: list[dict[str, Any]], *, gate_from: str
) -> Rules:
    """The gate and slices of the base revision (by default), so a pull request cannot loosen
    the rules it is judged by; the PR's own when asked, or when the base has none."""
    changed = tuple(c["key"] for c in changes if c["key"].startswith(("gate.", "evaluate.slices")))
    own = Rules(params.gate, params.evaluate.slices, "candidate", changed, None)
    if gate_from == "candidate" or baseline.model is None:
        return own
    raw = baseline.params
    where = f"params.yaml at {baseline.rev} ({baseline.commit[:8]})"
    try:
        gate = parse(raw["gate"], GateParams, Path(where), ("gate",))
        slices = tuple(
            parse(spec, SliceSpec, Path(where), ("evaluate", "slices", str(i)))
            for i, spec in enumerate((raw.get("evaluate") or {}).get("slices") or ())
        )
    except (KeyError, TypeError, MlgitopsError) as exc:
        why = "has no gate section" if isinstance(exc, KeyError | TypeError) else str(exc)
        return replace(
            own,
            note=f"{where} {why}: this PR is judged by its own gate",
        )
    note = None
    if changed:
        note = (
            f"this PR changes {', '.join(f'`{k}`' for k in changed)}: it is judged by the gate "
            f"of {baseline.rev}; the new rules apply from the merge on"
        )
    return Rules(gate, slices, "base", changed, note)


def _policy(gate: GateParams) -> dict[str, Any]:
    return {
        "alpha": gate.alpha,
        "power": gate.power,
        "on_inconclusive": gate.on_inconclusive,
        "on_no_baseline": gate.on_no_baseline,
        "on_schema_change": gate.on_schema_change,
        "bootstrap_resamples": gate.bootstrap_resamples,
        "seed": gate.seed,
        "min_slice_rows": gate.slices.min_rows,
    }


def _check_labels(candidate: LoadedModel, predictions: pd.DataFrame, where: str) -> None:
    """The evaluation rows must carry the target, and a classifier's more than one class."""
    target = candidate.metadata["target"]
    if "y_true" not in predictions.columns:
        raise DataError(
            f"{where} has no column {target} (the target): the gate compares predictions with "
            "the truth; evaluate on labelled rows."
        )
    if candidate.task == "regression":
        return
    present = pd.unique(predictions["y_true"])
    if len(present) < 2:
        raise DataError(
            f"{where}: the evaluation set has only one class ({target} = {present[0]!r} on all "
            f"{len(predictions):,} rows); the paired tests need every class, so use a larger or "
            "stratified evaluation split."
        )


def _ids(frame: pd.DataFrame | None, column: str) -> np.ndarray | None:
    return None if frame is None or column not in frame else frame[column].to_numpy()


def run_compare(
    params: Params,
    params_path: Path,
    *,
    base_rev: str,
    base_label: str,
    reproduce: bool,
    gate_from: str = "base",
) -> dict[str, Any]:
    """Compare the workspace's model with the model of ``base_rev``; return ``compare.json``."""
    paths = params.paths
    repo = toplevel(".")
    candidate = load_model(paths.model, paths.model_metadata, params.model.extra_trusted_types)
    frame = read_table(paths.test, "evaluation data")
    cand_pred = score_frame(candidate, frame, where=paths.test)
    _check_labels(candidate, cand_pred, paths.test)
    head = git(repo, "rev-parse", "--verify", "--quiet", "HEAD", check=False) or None
    lock_path = Path("dvc.lock")
    cand_lock = yaml.safe_load(lock_path.read_text()) if lock_path.is_file() else {}
    with tempfile.TemporaryDirectory(prefix="mlgitops-baseline-") as scratch:
        baseline: Baseline = fetch_baseline(
            repo,
            base_rev,
            workdir=Path(scratch),
            extra_trusted=params.model.extra_trusted_types,
            fallback_paths=paths.model_dump(),
            id_column=params.data.id_column,
            allow_reproduce=reproduce,
        )
    train = None
    if Path(paths.train).is_file():
        train = pd.read_parquet(paths.train, columns=[params.data.id_column])
    base_meta = baseline.model.metadata if baseline.model else None
    data_changes = {
        "rows": row_changes(
            frame[params.data.id_column].to_numpy(),
            _ids(train, params.data.id_column),
            baseline.test_ids,
            baseline.train_ids,
        ),
        "schema": schema_diff(
            base_meta.get("input_schema") if base_meta else None,
            candidate.metadata.get("input_schema"),
        ),
        "validation": _validation_summary(Path(paths.validation_report)),
    }
    base_side = Side(
        label=base_label,
        rev=base_rev,
        commit=baseline.commit,
        model_sha256=base_meta.get("model_sha256") if base_meta else None,
        metadata=base_meta,
        dvc_lock=baseline.dvc_lock,
        source=baseline.source,
    )
    cand_side = Side(
        label=CANDIDATE_LABEL,
        rev="HEAD",
        commit=head,
        model_sha256=candidate.metadata.get("model_sha256"),
        metadata=candidate.metadata,
        dvc_lock=cand_lock or {},
    )
    changes = params_diff(baseline.params, read_yaml(params_path))
    rules = judging_rules(params, baseline, changes, gate_from=gate_from)
    gate = rules.gate
    common = {
        "name": params.model.name,
        "task": candidate.task,
        "base": base_side,
        "candidate": cand_side,
        "params_changes": changes,
        "data_changes": data_changes,
        "policy": _policy(gate),
        "rules": rules.to_dict(),
    }
    if baseline.model is None and baseline.source == "unavailable":
        return compare_document(
            **common,
            comparison=None,
            verdict="baseline_unavailable",
            passed=False,
            reason=baseline.reason or "the baseline model could not be fetched",
            charts={},
        )
    if baseline.model is None:
        return compare_document(
            **common,
            comparison=None,
            verdict="no_baseline",
            passed=gate.on_no_baseline == "pass",
            reason=baseline.reason or "there is no baseline model",
            charts={},
        )
    problem = incompatibility(baseline.model, candidate, frame)
    if problem is not None:
        return compare_document(
            **common,
            comparison=None,
            verdict="incomparable",
            passed=gate.on_schema_change == "pass",
            reason=f"{problem}, so the two models cannot be scored on the same rows",
            charts={},
        )
    base_pred = score_frame(baseline.model, frame, where=paths.test)
    rows = _rows(candidate.task, candidate.metadata, base_pred, cand_pred)
    comparison = compare_rows(rows, frame, gate=gate, slices=rules.slices)
    return compare_document(
        **common,
        comparison=comparison,
        verdict=comparison.verdict,
        passed=comparison.passed,
        reason=comparison.reason,
        charts=charts_for(rows, (base_label, CANDIDATE_LABEL)),
    )


def _finish(doc: dict[str, Any]) -> None:
    click.echo(f"{doc['verdict'].replace('_', ' ')}: {doc['reason']}")
    raise SystemExit(EXIT_OK if doc["passed"] else EXIT_CHECK_FAILED)


BASE_OPTION = click.option(
    "--base",
    "base_rev",
    default="main",
    show_default=True,
    help="The revision whose model is the baseline (the PR's base branch or commit).",
)
LABEL_OPTION = click.option(
    "--base-label", default=None, help="How the report names the base [the revision]."
)
GATE_FROM_OPTION = click.option(
    "--gate-from",
    type=click.Choice(["base", "candidate"]),
    default="base",
    show_default=True,
    help="Whose gate and slices judge the change: the base revision's (so a pull request cannot "
    "loosen its own rules) or the workspace's (to try a new gate).",
)
REPRODUCE_OPTION = click.option(
    "--reproduce/--no-reproduce",
    default=True,
    show_default=True,
    help="Reproduce the base in a temporary worktree when DVC does not have its model.",
)


def _report_paths(params: Params, out: Path | None, name: str) -> Path:
    return out if out is not None else Path(params.paths.reports) / name


@click.command("compare")
@PARAMS_OPTION
@BASE_OPTION
@LABEL_OPTION
@REPRODUCE_OPTION
@GATE_FROM_OPTION
@click.option("--out", "out_path", type=OptionalPath, help="Where to write compare.json.")
@fails_cleanly
def compare_command(
    params_path: Path,
    base_rev: str,
    base_label: str | None,
    reproduce: bool,
    gate_from: str,
    out_path: Path | None,
) -> None:
    """Compare the workspace's model with the base revision's model on the same rows.

    Both models score the candidate's evaluation rows; every gated metric gets a paired test and
    a non-inferiority decision (params: gate). Writes compare.json [paths.reports/compare.json].
    Exits 0 when the check passes, 1 when it fails, 2 on bad input.

    Example: mlgitops compare --base main
    """
    params = load_params(params_path)
    doc = run_compare(
        params,
        params_path,
        base_rev=base_rev,
        base_label=base_label or _label(base_rev),
        reproduce=reproduce,
        gate_from=gate_from,
    )
    write_json(_report_paths(params, out_path, "compare.json"), doc)
    _finish(doc)


@click.command("pr")
@PARAMS_OPTION
@click.option("--compare", "compare_path", type=OptionalPath, help="compare.json to render.")
@click.option("--out", "out_path", type=OptionalPath, help="Where to write the Markdown.")
@click.option(
    "--png-dir",
    type=OptionalPath,
    help="Also draw the curves as PNG files here and show those instead of Mermaid (for CML "
    "--publish; needs mlgitops[png]).",
)
@click.option(
    "--untrusted",
    is_flag=True,
    help="compare.json comes from a run this repository does not trust (a fork's pull "
    "request): check its shape, neutralise its text, and say whose claim the verdict is.",
)
@click.option(
    "--failed-step",
    default=None,
    help="Render the could-not-run report for this failed CI step instead (no compare.json).",
)
@click.option(
    "--log",
    "log_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With --failed-step: the step's log; only its error lines are quoted.",
)
@click.option("--run-url", default=None, help="A link to the CI run, shown in the report.")
@click.option(
    "--base-label", "base_label", default="the base", help="How the report names the base."
)
@fails_cleanly
def report_pr_command(
    params_path: Path,
    compare_path: Path | None,
    out_path: Path | None,
    png_dir: Path | None,
    untrusted: bool,
    failed_step: str | None,
    log_path: Path | None,
    run_url: str | None,
    base_label: str,
) -> None:
    """Render the pull-request report (Markdown) from compare.json.

    Verdict first, then metrics with confidence intervals, params diff, data changes, slices
    (worst regression first), Mermaid charts that render on GitHub, and a footer with both
    commits, dvc.lock hashes and library versions. With --failed-step, the report of a check
    that could not run: the step, its error lines and any data-validation failures.

    Example: mlgitops report pr --compare reports/compare.json --out reports/pr.md
    """
    params = load_params(params_path)
    out = _report_paths(params, out_path, "pr.md")
    if failed_step is not None:
        log = log_path.read_text(errors="replace") if log_path and log_path.is_file() else ""
        validation_path = Path(params.paths.validation_report)
        validation = None
        if validation_path.is_file():
            report = read_json(validation_path, "validation report")
            validation = report if isinstance(report, dict) and not report.get("ok") else None
        head = git(toplevel("."), "rev-parse", "--verify", "--quiet", "HEAD", check=False)
        text = render_failure(
            step=failed_step,
            log=log,
            validation=validation,
            base_label=base_label,
            label=CANDIDATE_LABEL,
            commit=head or None,
            run_url=run_url,
        )
        write_text(out, text)
        click.echo(f"wrote {out}")
        return
    source = _report_paths(params, compare_path, "compare.json")
    doc = read_json(source, "compare document")
    notice = None
    if untrusted:
        doc = sanitize_compare(doc)
        notice = fork_notice(run_url)
    if not isinstance(doc, dict) or doc.get("kind") != "mlgitops.compare":
        raise MlgitopsError(f"{source} is not a compare.json written by mlgitops compare.")
    images = None
    if png_dir is not None:
        from mlgitops.charts_png import render_png

        written = render_png(doc.get("charts", {}), png_dir)
        images = {k: os.path.relpath(v, out.parent) for k, v in written.items()}
    write_text(out, render_pr(doc, images, notice))
    click.echo(f"wrote {out}")


@click.command("pr")
@PARAMS_OPTION
@BASE_OPTION
@LABEL_OPTION
@REPRODUCE_OPTION
@GATE_FROM_OPTION
@click.option(
    "--repro/--no-repro",
    "run_repro",
    default=True,
    show_default=True,
    help="Run dvc repro first so the workspace's model is up to date.",
)
@fails_cleanly
def pr_command(
    params_path: Path,
    base_rev: str,
    base_label: str | None,
    reproduce: bool,
    gate_from: str,
    run_repro: bool,
) -> None:
    """The whole pull-request check on a laptop: reproduce, compare with the base, report.

    Writes compare.json and pr.md to paths.reports. Exits 0 when the check passes, 1 when it
    fails, 2 on bad input.

    Example: mlgitops pr --base main
    """
    params = load_params(params_path)
    if run_repro:
        # The same environment the baseline's reproduction uses: this interpreter's scripts first,
        # so `.venv/bin/mlgitops pr` works without an activated venv.
        result = subprocess.run(["dvc", "repro"], env=dvc_env(), check=False)
        if result.returncode != 0:
            raise MlgitopsError("dvc repro failed; fix the pipeline before comparing models.")
    doc = run_compare(
        params,
        params_path,
        base_rev=base_rev,
        base_label=base_label or _label(base_rev),
        reproduce=reproduce,
        gate_from=gate_from,
    )
    reports = Path(params.paths.reports)
    write_json(reports / "compare.json", doc)
    write_text(reports / "pr.md", render_pr(doc))
    click.echo(f"wrote {reports / 'compare.json'} and {reports / 'pr.md'}", err=True)
    _finish(doc)


# ``report pr`` is a subcommand of ``report`` (commands/report.py), beside ``report drift``.
COMMANDS = (compare_command, pr_command)
