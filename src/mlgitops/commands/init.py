"""``mlgitops init``: bring the framework into an existing repository."""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path

import click

from mlgitops import scaffold
from mlgitops.commands._common import OptionalPath, fails_cleanly
from mlgitops.errors import EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK, ConfigError
from mlgitops.fsio import read_table, write_text
from mlgitops.schema_infer import infer_schema, schema_text

MARKERS = ("requirements.txt", "pyproject.toml", f"{scaffold.FRAMEWORK_SOURCE}/__init__.py")
PATH_FLAGS = {
    "raw": "--raw",
    "schema_file": "--schema",
    "train": "--train",
    "test": "--test",
    "model": "--model",
    "model_metadata": "--metadata",
}


def _read(path: Path) -> str | None:
    # Bytes decoded as they are: a universal-newline read would hide a CRLF difference.
    return path.read_bytes().decode("utf-8") if path.is_file() else None


def _path_option(name: str, help_text: str):  # a click decorator
    return click.option(PATH_FLAGS[name], name, default=None, metavar="PATH", help=help_text)


@click.command("init")
@click.option(
    "--repo",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=".",
    show_default=True,
    help="The repository to bring the framework into (its root).",
)
@click.option("--name", default=None, help="The model's name (model.name), e.g. churn-model.")
@click.option(
    "--task",
    type=click.Choice(["binary", "multiclass", "regression"]),
    default=None,
    help="The kind of model (data.task); it decides the gated metrics and the plots.",
)
@click.option("--target", default=None, help="The column to predict (data.target).")
@click.option(
    "--positive-class",
    default=None,
    help="binary: the label counted as positive (data.positive_class), as the data spells it "
    "(yes, 1, true); without --data, true/false and numbers are read as such.",
)
@click.option("--id-column", default=None, help="The stable row id column (data.id_column).")
@click.option(
    "--data",
    "data_path",
    type=OptionalPath,
    default=None,
    help="A data file (parquet, csv, jsonl) to infer the starter schema from: dtypes, missing "
    "values, ranges, categories.",
)
@_path_option("raw", "The raw data your prepare stage reads [paths.raw, else --data].")
@_path_option("train", "The training split your prepare stage writes [paths.train].")
@_path_option("test", "The evaluation split your prepare stage writes [paths.test].")
@_path_option("model", "The model file your train stage writes [paths.model].")
@_path_option("model_metadata", "The metadata JSON your train stage writes [paths.model_metadata].")
@_path_option("schema_file", "Where the schema goes [paths.schema_file].")
@click.option(
    "--train-stage",
    default=None,
    help="Your dvc.yaml stage that writes the model [the stage whose outs have paths.model].",
)
@click.option(
    "--python",
    "python_version",
    default=None,
    help="The Python version the workflows set up [what pr.yml has, else 3.11].",
)
@click.option(
    "--requirements",
    default=None,
    metavar="FILE",
    help="What the workflows install: a requirements file, or pyproject.toml for `pip install "
    "-e .` [requirements.txt, else pyproject.toml].",
)
@click.option("--branch", default=None, help="The default branch the workflows guard [main].")
@click.option(
    "--codeowners",
    "owners",
    default=None,
    help=f"Who must review workflow changes, e.g. @org/team [{scaffold.PLACEHOLDER_OWNERS}].",
)
@click.option("--description", default=None, help="The model artifact's description in dvc.yaml.")
@click.option(
    "--only",
    multiple=True,
    type=click.Choice(scaffold.PARTS),
    help="Bring only these parts; repeat for several [all].",
)
@click.option("--force", is_flag=True, help="Replace the framework's parts that differ.")
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing: exit 0 when all is in place, 1 when init would write something.",
)
@click.option("-v", "--verbose", is_flag=True, help="Also list the parts already in place.")
@fails_cleanly
def init_command(
    repo: Path,
    name: str | None,
    task: str | None,
    target: str | None,
    positive_class: str | None,
    id_column: str | None,
    data_path: Path | None,
    raw: str | None,
    train: str | None,
    test: str | None,
    model: str | None,
    model_metadata: str | None,
    schema_file: str | None,
    train_stage: str | None,
    python_version: str | None,
    requirements: str | None,
    branch: str | None,
    owners: str | None,
    description: str | None,
    only: tuple[str, ...],
    force: bool,
    check: bool,
    verbose: bool,
) -> None:
    """Bring the framework into an existing repository: workflows, stages, params, schema.

    Renders the workflows (pr, pr-comment, release, deploy, drift) and .github/CODEOWNERS, adds
    the stages validate, evaluate and profile, the plots and the model's artifact to your
    dvc.yaml, the framework's sections (a comment per key) to your params.yaml, and a starter
    data/schema.yaml inferred from --data. Your own stages, sections and comments stay as they
    are, byte for byte. Nothing that exists is overwritten without --force: when something
    differs, init lists it, writes nothing and exits 2. A second run changes nothing. Settings
    not given are read from the repository (params.yaml, dvc.yaml, the workflows).

    Example: mlgitops init --name churn-model --task binary --target churned --positive-class yes
    --id-column customer_id --data data/raw.csv
    """
    root = repo.resolve()
    workflow_paths = [f"{scaffold.WORKFLOW_DIR}/{n}" for n in scaffold.WORKFLOWS]
    current = {p: _read(root / p) for p in [*workflow_paths, scaffold.CODEOWNERS]}
    current[scaffold.PARAMS_FILE] = _read(root / scaffold.PARAMS_FILE)
    current[scaffold.DVC_FILE] = _read(root / scaffold.DVC_FILE)
    frame, source = None, None
    if data_path is not None:
        frame = read_table(data_path, "data file (--data)")
        absolute = data_path.resolve()
        inside = absolute.is_relative_to(root)
        source = os.path.relpath(absolute, root) if inside else str(data_path)
    options = scaffold.InitOptions(
        name=name,
        task=task,
        target=target,
        positive_class=(
            scaffold.UNSET if positive_class is None else scaffold.parse_label(positive_class)
        ),
        positive_class_text=positive_class,
        id_column=id_column,
        paths={
            key: value
            for key, value in {
                "raw": raw,
                "train": train,
                "test": test,
                "model": model,
                "model_metadata": model_metadata,
                "schema_file": schema_file,
            }.items()
            if value is not None
        },
        train_stage=train_stage,
        python_version=python_version,
        requirements=requirements,
        branch=branch,
        owners=owners,
        description=description,
        data_source=source if source and not source.startswith("..") else None,
    )
    settings = scaffold.resolve_settings(
        options,
        params_text=current[scaffold.PARAMS_FILE],
        dvc_text=current[scaffold.DVC_FILE],
        workflows=current,
        present=frozenset(m for m in MARKERS if (root / m).is_file()),
    )
    schema = None
    if frame is not None:
        settings = scaffold.check_data(frame, settings, str(source))
        inferred = infer_schema(
            frame, source=str(source), target=settings.target, id_column=settings.id_column
        )
        schema = schema_text(inferred, source=str(source), rows=len(frame))
    schema_path = settings.paths["schema_file"]
    current[schema_path] = _read(root / schema_path)
    _read_requirements(root, settings.dependency_file, current)
    plan = scaffold.plan_init(
        settings,
        current,
        schema=schema,
        force=force,
        parts=only or scaffold.PARTS,
        framework_version=metadata.version(scaffold.FRAMEWORK_PACKAGE),
    )
    _show(plan, verbose)
    if plan.conflicts:
        click.echo(
            f"init: {len(plan.conflicts)} conflict(s); nothing written. Re-run with --force to "
            "replace the framework's parts (your own stages, sections and comments stay).",
            err=True,
        )
        raise SystemExit(EXIT_BAD_INPUT)
    if not plan.files:
        click.echo("init: the framework is in place; nothing to do.")
        raise SystemExit(EXIT_OK)
    if check:
        click.echo(f"init --check: would write {', '.join(sorted(plan.files))}.")
        raise SystemExit(EXIT_CHECK_FAILED)
    for path, text in sorted(plan.files.items()):
        target_path = root / path
        if not target_path.resolve().is_relative_to(root):
            raise ConfigError(f"{path} is outside the repository {root}; fix paths in params.yaml.")
        write_text(target_path, text)
    click.echo(f"init: wrote {', '.join(sorted(plan.files))}.")
    for note in plan.notes:
        click.echo(f"review: {note}")
    click.echo(_next_steps(root, settings.branch))


def _within(root: Path, name: str) -> bool:
    """``root`` or a directory above it has ``name`` (git and DVC look upwards too)."""
    return any((folder / name).exists() for folder in (root, *root.parents))


def _next_steps(root: Path, branch: str) -> str:
    """What to run next. init does not run ``git init`` or ``dvc init`` itself: they set up
    repositories and stage files in git's index, which is the user's; it says to run them."""
    missing = [(tool, f".{tool}") for tool in ("git", "dvc") if not _within(root, f".{tool}")]
    setup = ""
    if missing:
        commands = " && ".join(f"{tool} init" for tool, _ in missing)
        markers = " or ".join(f"{marker}/" for _, marker in missing)
        setup = f"`{commands}` (there is no {markers} here yet), then "
    return (
        f"next: {setup}review the changes (git diff), then `dvc repro` and commit; "
        f"`mlgitops pr --base {branch}` runs the pull-request check on a branch."
    )


def _read_requirements(root: Path, path: str, current: dict[str, str | None]) -> None:
    """The file the workflows install, and the requirement files it includes (``-r``)."""
    queue = [path]
    while queue and len(current) < 200:  # a cycle of includes ends: each file is read once
        name = queue.pop(0)
        if name in current or not (root / name).resolve().is_relative_to(root):
            continue
        current[name] = _read(root / name)
        if current[name] is not None and name != "pyproject.toml":
            queue += scaffold.requirement_includes(name, current[name])


def _show(plan: scaffold.InitPlan, verbose: bool) -> None:
    shown = [c for c in plan.changes if verbose or c.action != "in_place"]
    for change in shown:
        click.echo(f"  {change.line()}")
    hidden = len(plan.changes) - len(shown)
    if hidden:
        click.echo(f"  ({hidden} part(s) already in place; -v lists them)")
    if plan.kept:
        click.echo(
            f"  kept your values of {', '.join(plan.kept)} (--force resets them to the defaults)"
        )
    for warning in plan.warnings:
        click.echo(f"warning: {warning}")


COMMANDS = (init_command,)
