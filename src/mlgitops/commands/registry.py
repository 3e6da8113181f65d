"""Releases and deploys: ``release``, ``versions``, ``deploy``, ``promote``, ``rollback``.

Each command is a few lines over :mod:`mlgitops.release`, :mod:`mlgitops.deploy` and
:mod:`mlgitops.registry` (imported when the command runs: GTO and DVC are slow to import).
Progress goes to stderr, the outcome to stdout; ``--outputs FILE`` appends ``key=value`` lines
for CI step outputs (``--outputs "$GITHUB_OUTPUT"`` in GitHub Actions).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlgitops.commands._common import PARAMS_OPTION, OptionalPath, append_outputs, fails_cleanly
from mlgitops.errors import EXIT_CHECK_FAILED
from mlgitops.fsio import dumps_json

if TYPE_CHECKING:
    from mlgitops.deploy import DeployResult

OUTPUTS_OPTION = click.option(
    "--outputs",
    "outputs_path",
    type=OptionalPath,
    help="Append key=value lines (status, version, tag, ...) to this file, e.g. $GITHUB_OUTPUT.",
)
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


def _progress(line: str) -> None:
    click.echo(line, err=True)


def _project(params_path: Path) -> tuple[Path, str]:
    """The repository root and the params file's path inside it."""
    from mlgitops.gitrepo import toplevel

    root = toplevel(params_path.resolve().parent)
    try:
        inside = params_path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        inside = params_path.name
    return root, inside


@click.command("release")
@PARAMS_OPTION
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Only check that dvc.lock matches the code, params and data; register nothing.",
)
@OUTPUTS_OPTION
@JSON_OPTION
@fails_cleanly
def release_command(
    params_path: Path, check_only: bool, outputs_path: Path | None, as_json: bool
) -> None:
    """Register the commit's model as a new GTO version (run on main after a merge).

    Checks that the committed dvc.lock matches the code, params and data (exit 2 naming what is
    stale); compares the model with the latest version's and, when it changed, numbers the new
    version (major: the input schema changed incompatibly; minor: the model changed; a
    Release-Bump: major|minor|patch|none trailer in the commit message overrides), pushes the DVC
    outputs, creates and pushes the annotated tag <name>@vX.Y.Z, and writes the model card to
    paths.model_card. Re-running on a released commit, or on an unchanged model, exits 0.

    Example: mlgitops release --outputs "$GITHUB_OUTPUT"
    """
    from mlgitops.gitrepo import commit_of
    from mlgitops.params import load_params
    from mlgitops.release import check_pipeline, release, require_reproducible

    params = load_params(params_path)
    root, inside = _project(params_path)
    if check_only:
        commit = commit_of(root, "HEAD")
        check = check_pipeline(root, commit)
        # Outputs that are only absent are fetched or rebuilt by the next step (dvc repro --pull).
        require_reproducible(dataclasses.replace(check, missing=()), commit)
        absent = f"; {len(check.missing)} output(s) to fetch or rebuild" if check.missing else ""
        click.echo(f"release: dvc.lock matches commit {commit[:12]}{absent}")
        return
    result = release(root, params, params_file=inside, log=_progress)
    append_outputs(outputs_path, result.outputs())
    if as_json:
        click.echo(dumps_json(result.to_dict()), nl=False)
    else:
        click.echo(f"release: {result.sentence()}")
        if result.card:
            click.echo(f"release: model card written to {result.card}")


@click.command("versions")
@PARAMS_OPTION
@click.option("--fetch", is_flag=True, help="Fetch the tags from the git remote first.")
@JSON_OPTION
@fails_cleanly
def versions_command(params_path: Path, fetch: bool, as_json: bool) -> None:
    """List the model's registered versions, their commits, and the stages pointing at them.

    Reads GTO's tags (the same ones gto show reads), newest version first.

    Example: mlgitops versions --fetch
    """
    from mlgitops.gittags import fetch_tags, has_remote
    from mlgitops.params import load_params
    from mlgitops.registry import list_versions

    params = load_params(params_path)
    root, _ = _project(params_path)
    name = params.model.name
    remote = params.release.git_remote
    if fetch and has_remote(root, remote):
        fetch_tags(root, remote, f"{name}*")
    entries = list_versions(root, name)
    if as_json:
        doc = {"schema_version": 1, "name": name, "versions": [e.to_dict() for e in entries]}
        click.echo(dumps_json(doc), nl=False)
        return
    if not entries:
        click.echo(f"{name}: no registered versions yet (mlgitops release registers one)")
        return
    rows = [("version", "commit", "created (UTC)", "stages", "tag")]
    for e in entries:
        created = e.created_at.strftime("%Y-%m-%d %H:%M:%S")
        rows.append((e.version, e.commit[:12], created, ", ".join(e.stages) or "-", e.tag))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _finish_deploy(result: DeployResult, outputs_path: Path | None, as_json: bool) -> None:
    append_outputs(
        outputs_path,
        {
            "status": result.status,
            "version": result.version,
            "stage": result.stage,
            "tag": result.tag or "",
            "bundle": result.bundle or "",
        },
    )
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(result.sentence())
    if not result.ok:
        sys.exit(EXIT_CHECK_FAILED)


STAGE_OPTION = click.option("--stage", required=True, help="The GTO stage (staging, prod).")
DOWNGRADE_OPTION = click.option(
    "--allow-downgrade",
    is_flag=True,
    help="Move the stage to an older version than it has (else that is skipped, exit 0).",
)


@click.command("deploy")
@PARAMS_OPTION
@STAGE_OPTION
@click.option("--version", "version", help="The version to deploy [what the stage points at].")
@DOWNGRADE_OPTION
@OUTPUTS_OPTION
@JSON_OPTION
@fails_cleanly
def deploy_command(
    params_path: Path,
    stage: str,
    version: str | None,
    allow_downgrade: bool,
    outputs_path: Path | None,
    as_json: bool,
) -> None:
    """Deploy a version to a stage's target, smoke-test it, and only then move the stage tag.

    The target (server, command or bundle) is deploy.<stage> in params.yaml. When the smoke
    test fails the stage stays where it was, the previous version keeps serving, and the command
    exits 1. Without --version, deploys what the stage points at (after a person pushed a stage
    tag); if that fails, the stage is assigned back to the version before it (or unassigned, if
    that was its first assignment). A version older than the stage's is skipped (exit 0, status
    skipped), so re-running an old release never moves a stage back; pass --allow-downgrade (or
    use mlgitops rollback) to go back on purpose.

    Example: mlgitops deploy --stage staging --version v1.2.0
    """
    from mlgitops.deploy import deploy
    from mlgitops.params import load_params

    params = load_params(params_path)
    root, inside = _project(params_path)
    result = deploy(
        root,
        params,
        stage=stage,
        version=version,
        params_file=inside,
        log=_progress,
        allow_downgrade=allow_downgrade,
    )
    _finish_deploy(result, outputs_path, as_json)


@click.command("promote")
@PARAMS_OPTION
@STAGE_OPTION
@click.option("--version", "version", help="The version to promote [what --from points at].")
@click.option(
    "--from", "source", default="staging", show_default=True, help="The stage to promote from."
)
@DOWNGRADE_OPTION
@OUTPUTS_OPTION
@JSON_OPTION
@fails_cleanly
def promote_command(
    params_path: Path,
    stage: str,
    version: str | None,
    source: str,
    allow_downgrade: bool,
    outputs_path: Path | None,
    as_json: bool,
) -> None:
    """Promote a version (default: the one staging has) to a stage: deploy, smoke test, assign.

    A version older than the stage's is skipped (exit 0) unless --allow-downgrade: a late
    approval of an older release's prod job leaves prod where it is.

    Example: mlgitops promote --stage prod
    """
    from mlgitops.deploy import promote
    from mlgitops.params import load_params

    params = load_params(params_path)
    root, inside = _project(params_path)
    result = promote(
        root,
        params,
        stage=stage,
        version=version,
        source=source,
        params_file=inside,
        log=_progress,
        allow_downgrade=allow_downgrade,
    )
    _finish_deploy(result, outputs_path, as_json)


@click.command("rollback")
@PARAMS_OPTION
@STAGE_OPTION
@OUTPUTS_OPTION
@JSON_OPTION
@fails_cleanly
def rollback_command(
    params_path: Path, stage: str, outputs_path: Path | None, as_json: bool
) -> None:
    """Put the stage's previous version back (a new assignment: the history stays append-only).

    The previous version is deployed and smoke-tested like any other; rolling back twice
    returns to where it started.

    Example: mlgitops rollback --stage prod
    """
    from mlgitops.deploy import rollback
    from mlgitops.params import load_params

    params = load_params(params_path)
    root, inside = _project(params_path)
    result = rollback(root, params, stage=stage, params_file=inside, log=_progress)
    _finish_deploy(result, outputs_path, as_json)


COMMANDS = (release_command, versions_command, deploy_command, promote_command, rollback_command)
