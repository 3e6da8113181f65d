"""Drift monitoring: ``profile`` (a pipeline stage), ``drift``, ``report drift``, ``export-log``
and ``retrain-data``.

Each command is a few lines over :mod:`mlgitops.drift_profile`, :mod:`mlgitops.drift_check`,
:mod:`mlgitops.drift_batch` and :mod:`mlgitops.drift_report`. GTO and DVC are imported only when
``drift --stage`` reads the registry (they are slow to import).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mlgitops.commands._common import (
    PARAMS_OPTION,
    OptionalPath,
    append_outputs,
    fails_cleanly,
    path_or_default,
)
from mlgitops.drift_batch import (
    load_batch,
    logged_outputs,
    materialise_source,
    scored_outputs,
    validate_batch,
    write_table,
)
from mlgitops.drift_check import DriftReport, Outputs, check_drift
from mlgitops.drift_profile import Profile, build_profile, profile_from_dict
from mlgitops.drift_report import ISSUE_MARKER, render_drift, render_issue
from mlgitops.errors import EXIT_CHECK_FAILED, ArtifactError, ConfigError, DataError
from mlgitops.fingerprint import file_sha256
from mlgitops.fsio import read_json, read_table, write_json, write_text
from mlgitops.params import Params, load_params
from mlgitops.schema import schema_from_dict

# scikit-learn and skops (artifact, scoring) are imported by the functions that load or score a
# model: checking a batch with logged outputs needs neither.
if TYPE_CHECKING:
    from mlgitops.artifact import LoadedModel

DRIFT_JSON = "drift.json"
DRIFT_MD = "drift.md"
#: Written only when the batch drifts: what the workflow posts as the drift issue's body.
DRIFT_ISSUE = "drift-issue.md"


@click.command("profile")
@PARAMS_OPTION
@click.option("--model", "model_path", type=OptionalPath, help="Model file [paths.model].")
@click.option(
    "--metadata", "metadata_path", type=OptionalPath, help="Model metadata [paths.model_metadata]."
)
@click.option("--train", "train_path", type=OptionalPath, help="Training split [paths.train].")
@click.option(
    "--test", "test_path", type=OptionalPath, help="Evaluation split, for outputs [paths.test]."
)
@click.option("--profile", "profile_path", type=OptionalPath, help="Profile JSON [paths.profile].")
@fails_cleanly
def profile_command(
    params_path: Path,
    model_path: Path | None,
    metadata_path: Path | None,
    train_path: Path | None,
    test_path: Path | None,
    profile_path: Path | None,
) -> None:
    """Write the reference profile the drift check compares production data with.

    Features are profiled from the training split; the model's outputs (scores, predicted
    labels) and its metrics from the evaluation split, since a model's scores on its own
    training rows are more confident than on any new row. Numeric features keep a seeded sample
    of at most profile.max_reference_values values (params: profile).

    Example: mlgitops profile --train data/prepared/train.parquet --profile models/profile.json
    """
    from mlgitops.artifact import load_model
    from mlgitops.scoring import score_frame

    params = load_params(params_path)
    paths = params.paths
    model = load_model(
        path_or_default(model_path, paths.model),
        path_or_default(metadata_path, paths.model_metadata),
        params.model.extra_trusted_types,
    )
    train = read_table(path_or_default(train_path, paths.train), "training split")
    test_file = path_or_default(test_path, paths.test)
    predictions = score_frame(
        model, read_table(test_file, "evaluation split"), where=str(test_file)
    )
    profile = build_profile(train, predictions, model.metadata, params.profile)
    out = path_or_default(profile_path, paths.profile)
    write_json(out, profile.to_dict())
    click.echo(
        f"profiled {len(profile.features)} features of {profile.training_rows} training rows and "
        f"{len(profile.outputs)} outputs on {profile.evaluation_rows} evaluation rows: {out}"
    )


def _read_profile(path: Path) -> Profile:
    return profile_from_dict(read_json(path, "profile"), str(path))


def _stage_files(
    params: Params, params_path: Path, name: str, stage: str, dest: Path
) -> tuple[dict[str, Any], Path, Path, Path]:
    """The stage's version, and its profile, model and metadata fetched through DVC."""
    from mlgitops.gitrepo import toplevel
    from mlgitops.registry import fetch_artifact, fetch_output, paths_at, resolve_stage

    root = toplevel(params_path.resolve().parent)
    try:
        inside = params_path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        inside = params_path.name
    entry = resolve_stage(root, name, stage)
    if entry is None:
        raise ConfigError(
            f"stage {stage} of {name} points at no version in {root}; deploy one first "
            "(mlgitops deploy), fetch the tags (git fetch --tags), or pass --profile."
        )
    model_path, metadata_path = fetch_artifact(root, entry, dest, params_file=inside)
    profile_rel = paths_at(root, entry.commit, inside).get("profile")
    if not profile_rel:
        raise ArtifactError(
            f"{inside} at {entry.tag} names no paths.profile, so {entry.version} has no drift "
            "profile; release a version built by a pipeline with the profile stage, or pass "
            "--profile."
        )
    profile_path = fetch_output(root, entry.commit, profile_rel, dest / "profile.json")
    model_info = {
        "name": name,
        "version": entry.version,
        "stage": stage,
        "commit": entry.commit,
        "tag": entry.tag,
    }
    return model_info, profile_path, model_path, metadata_path


def _check_model_matches(profile: Profile, model: LoadedModel, where: str) -> None:
    expected = profile.model.get("model_sha256")
    found = model.metadata.get("model_sha256")
    if expected and found and expected != found:
        raise ArtifactError(
            f"the model {where} is not the one the profile was built for (sha256 {found[:12]} "
            f"vs {expected[:12]}); pass the matching --model/--metadata, or re-run dvc repro."
        )


@click.command("drift")
@PARAMS_OPTION
@click.option("--stage", help="Check the version this GTO stage points at (e.g. prod).")
@click.option("--name", help="Artifact name for --stage [model.name].")
@click.option(
    "--profile",
    "profile_path",
    type=OptionalPath,
    help="Profile JSON to check against instead of a stage's [paths.profile].",
)
@click.option("--model", "model_path", type=OptionalPath, help="Model for --profile [paths.model].")
@click.option(
    "--metadata",
    "metadata_path",
    type=OptionalPath,
    help="Model metadata for --profile [paths.model_metadata].",
)
@click.option(
    "--current",
    help="Batch: a parquet/CSV/JSON-lines file, a quoted glob, or the prediction log (.sqlite) "
    "[drift.source].",
)
@click.option("--since", help="Only rows at or after this time (ISO 8601, UTC if naive).")
@click.option("--until", help="Only rows before this time (ISO 8601, UTC if naive).")
@click.option(
    "--reports", "reports_dir", type=OptionalPath, help="Where drift.json/.md go [paths.reports]."
)
@click.option(
    "--retrain/--no-retrain",
    default=None,
    help="Whether a drift alarm asks for a retraining PR [drift.retrain.enabled].",
)
@click.option(
    "--outputs",
    "outputs_path",
    type=OptionalPath,
    help="Append key=value lines (alarm, drifted, headline, ...) to this file, e.g. "
    "$GITHUB_OUTPUT.",
)
@fails_cleanly
def drift_command(
    params_path: Path,
    stage: str | None,
    name: str | None,
    profile_path: Path | None,
    model_path: Path | None,
    metadata_path: Path | None,
    current: str | None,
    since: str | None,
    until: str | None,
    reports_dir: Path | None,
    retrain: bool | None,
    outputs_path: Path | None,
) -> None:
    """Compare a batch of production data with the model's training data; exit 1 on an alarm.

    Tests every feature (KS with normalised Wasserstein for numeric ones, chi-square with
    Cohen's w for categorical ones, plus missing-value rates), corrects across features
    (drift.correction), and calls a feature drifted when it is both significant and large
    enough (drift: alpha and thresholds). Also compares the model's predictions and, when the
    batch has labels, its performance: a metric significantly worse than at training time
    alarms too (drift.performance_alarm). Writes drift.json and drift.md to paths.reports, and
    drift-issue.md only on an alarm. Exits 0 (no alarm), 1 (drift or a performance drop) or 2
    (bad input).

    Example: mlgitops drift --stage prod --current logs/predictions.sqlite --since 2024-06-01
    """
    params = load_params(params_path)
    drift_params = params.drift
    paths = params.paths
    if stage is not None and profile_path is not None:
        raise ConfigError("give either --stage or --profile, not both.")
    if stage is None and (name is not None):
        raise ConfigError("--name applies to --stage; add --stage (e.g. --stage prod).")
    if stage is not None and (model_path is not None or metadata_path is not None):
        raise ConfigError("--model and --metadata apply to --profile; a stage brings its own.")
    spec = current if current is not None else materialise_source(drift_params.source, Path.cwd())
    batch, source = load_batch(spec, since=since, until=until, time_column=drift_params.time_column)

    with ExitStack() as stack:
        if stage is not None:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mlgitops-drift-")))
            artifact = name or params.model.name
            model_info, profile_file, model_file, metadata_file = _stage_files(
                params, params_path, artifact, stage, tmp
            )
        else:
            profile_file = path_or_default(profile_path, paths.profile)
            model_file = path_or_default(model_path, paths.model)
            metadata_file = path_or_default(metadata_path, paths.model_metadata)
            model_info = {
                "name": params.model.name,
                "version": None,
                "stage": None,
                "commit": None,
                "tag": None,
            }
        profile = _read_profile(profile_file)
        model_info.update(
            model_sha256=profile.model.get("model_sha256"),
            profile_sha256=file_sha256(profile_file),
            task=profile.task,
        )
        schema = schema_from_dict(profile.input_schema, f"profile {profile_file} input_schema")
        validate_batch(batch, schema, spec, min_rows=drift_params.min_rows)
        outputs, why = logged_outputs(batch, profile.task, model_info.get("version"))
        if outputs is None:
            outputs = _score(params, profile, batch, model_file, metadata_file, why)
        report = check_drift(
            profile,
            batch,
            drift_params,
            outputs=outputs,
            model=model_info,
            source=source,
        )
    _write_reports(report, path_or_default(reports_dir, paths.reports))

    wants_retrain = drift_params.retrain.enabled if retrain is None else retrain
    if report.alarm and wants_retrain and not drift_params.retrain.command:
        click.echo(
            "drift: a retraining PR was asked for, but drift.retrain.command is empty; set the "
            "command that refreshes the training data.",
            err=True,
        )
    doc = report.to_dict()
    reports = path_or_default(reports_dir, paths.reports)
    append_outputs(
        outputs_path,
        {
            "verdict": doc["verdict"],
            "alarm": "true" if report.alarm else "false",
            "drifted": "true" if report.drift else "false",
            "features": ",".join(doc["decision"]["drifted"]),
            "headline": report.headline,
            "retrain": "true"
            if report.alarm and wants_retrain and bool(drift_params.retrain.command)
            else "false",
            "report": str(reports / DRIFT_MD),
            "issue": str(reports / DRIFT_ISSUE) if report.alarm else "",
            # The first line of the issue body: how the workflow tells its own issue apart.
            "marker": ISSUE_MARKER,
        },
    )
    click.echo(f"drift: {report.headline}")
    if report.alarm:
        raise SystemExit(EXIT_CHECK_FAILED)


def _score(
    params: Params,
    profile: Profile,
    batch: Any,
    model_file: Path,
    metadata_file: Path,
    why: str,
) -> Outputs:
    if not model_file.is_file() or not metadata_file.is_file():
        raise DataError(
            f"{why} and the model to score it with is not at {model_file} / {metadata_file}; "
            "pass --model and --metadata, or check a stage with --stage."
        )
    from mlgitops.artifact import load_model

    model = load_model(model_file, metadata_file, params.model.extra_trusted_types)
    _check_model_matches(profile, model, str(model_file))
    return scored_outputs(model, batch, why)


def _write_reports(report: DriftReport, reports: Path) -> None:
    """drift.json and drift.md, and drift-issue.md only on an alarm (a stale one is removed)."""
    doc = report.to_dict()
    markdown = render_drift(doc)
    issue = render_issue(doc) if report.alarm else None
    write_json(reports / DRIFT_JSON, doc)
    write_text(reports / DRIFT_MD, markdown)
    if issue is not None:
        write_text(reports / DRIFT_ISSUE, issue)
    else:
        (reports / DRIFT_ISSUE).unlink(missing_ok=True)


@click.command("drift")
@PARAMS_OPTION
@click.option("--drift", "drift_path", type=OptionalPath, help="drift.json [paths.reports].")
@click.option("--out", "out_path", type=OptionalPath, help="Markdown [paths.reports/drift.md].")
@fails_cleanly
def drift_report_command(params_path: Path, drift_path: Path | None, out_path: Path | None) -> None:
    """Render drift.md again from drift.json (the report is a function of its data).

    Example: mlgitops report drift --drift reports/drift.json --out reports/drift.md
    """
    reports = Path(load_params(params_path).paths.reports)
    doc = read_json(drift_path or reports / DRIFT_JSON, "drift report")
    try:
        markdown = render_drift(doc)
    except Exception as exc:  # a hand-edited or older document: say which, do not trace back
        raise DataError(
            f"{drift_path or reports / DRIFT_JSON} cannot be rendered ({type(exc).__name__}: "
            f"{exc}); regenerate it with mlgitops drift."
        ) from exc
    out = out_path or reports / DRIFT_MD
    write_text(out, markdown)
    click.echo(f"wrote {out}")


@click.command("export-log")
@PARAMS_OPTION
@click.option("--log", "log_path", type=OptionalPath, help="Prediction log [paths.prediction_log].")
@click.option("--since", help="Only records answered at or after this time (ISO 8601).")
@click.option("--until", help="Only records answered before this time (ISO 8601).")
@click.option(
    "--out",
    "out_path",
    type=OptionalPath,
    help="File to write (.parquet, .csv or .jsonl) [drift.source.path].",
)
@fails_cleanly
def export_log_command(
    params_path: Path,
    log_path: Path | None,
    since: str | None,
    until: str | None,
    out_path: Path | None,
) -> None:
    """Export the served model's prediction log to a file the drift check can read.

    Run it where the server runs, then deliver the file as drift.source says (commit it,
    dvc add + dvc push it, or upload it where drift.source.command fetches it from).

    Example: mlgitops export-log --since 2024-06-01 --out data/production/predictions.parquet
    """
    from mlgitops.serve.log import read_prediction_log

    params = load_params(params_path)
    log = path_or_default(log_path, params.paths.prediction_log)
    frame = read_prediction_log(log, since=since, until=until)
    if len(frame) == 0:
        raise DataError(
            f"prediction log {log} has no records in that time range; nothing to export."
        )
    out = path_or_default(out_path, params.drift.source.path)
    write_table(frame, out)
    click.echo(f"exported {len(frame)} records of {log} to {out}")


@click.command("retrain-data")
@PARAMS_OPTION
@click.option("--drift", "drift_path", type=OptionalPath, help="drift.json [paths.reports].")
@fails_cleanly
def retrain_data_command(params_path: Path, drift_path: Path | None) -> None:
    """Run drift.retrain.command to refresh the training data for a retraining pull request.

    The command (an argument list, no shell) gets the drift report's path in
    MLGITOPS_DRIFT_JSON. It must change files in the working tree (a refreshed .dvc file, a
    bumped param); the workflow commits them on a branch and opens the pull request, which the
    PR check then judges like any other. Exits 2 when the command is not set, fails, or changes
    nothing.

    Example: mlgitops retrain-data --drift reports/drift.json
    """
    from mlgitops.gitrepo import git, toplevel

    params = load_params(params_path)
    command = params.drift.retrain.command
    if not command:
        raise ConfigError(
            "drift.retrain.command is empty; set the program that refreshes the training data "
            "(e.g. [dvc, update, data/raw.csv.dvc])."
        )
    report = drift_path or Path(params.paths.reports) / DRIFT_JSON
    read_json(report, "drift report")
    root = toplevel(Path.cwd())
    before = git(root, "status", "--porcelain")
    env = {**os.environ, "MLGITOPS_DRIFT_JSON": str(Path(report).resolve())}
    try:
        result = subprocess.run(list(command), env=env, check=False)
    except OSError as exc:
        raise ConfigError(
            f"drift.retrain.command {command[0]!r} could not be started ({exc}); fix it."
        ) from exc
    if result.returncode != 0:
        raise DataError(
            f"drift.retrain.command exited {result.returncode}; the training data was not "
            "refreshed, so no retraining PR is opened."
        )
    after = git(root, "status", "--porcelain")
    if after == before:
        raise DataError(
            "drift.retrain.command changed no file, so a retraining PR would retrain on the same "
            "data; make it refresh the data (or bump a param)."
        )
    changed = sorted(set(after.splitlines()) - set(before.splitlines()))
    click.echo("retrain-data: changed " + ", ".join(line[3:] for line in changed))


# ``report drift`` is a subcommand of ``report`` (commands/report.py), beside ``report pr``.
COMMANDS = (
    profile_command,
    drift_command,
    export_log_command,
    retrain_data_command,
)
