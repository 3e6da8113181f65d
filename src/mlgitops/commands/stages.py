"""Framework pipeline stages: ``validate`` and ``evaluate`` (run by ``dvc repro``)."""

from __future__ import annotations

from pathlib import Path

import click

from mlgitops.commands._common import PARAMS_OPTION, OptionalPath, fails_cleanly, path_or_default
from mlgitops.errors import EXIT_BAD_INPUT
from mlgitops.fsio import read_table, write_json, write_parquet
from mlgitops.params import load_params
from mlgitops.schema import load_schema, validate_frame, validation_report


@click.command("validate")
@PARAMS_OPTION
@click.option("--schema", "schema_path", type=OptionalPath, help="Schema file [paths.schema_file].")
@click.option(
    "--data",
    "data_paths",
    multiple=True,
    type=OptionalPath,
    help="Data file to check; repeat for several [paths.train and paths.test].",
)
@click.option(
    "--report", "report_path", type=OptionalPath, help="Report [paths.validation_report]."
)
@fails_cleanly
def validate_command(
    params_path: Path,
    schema_path: Path | None,
    data_paths: tuple[Path, ...],
    report_path: Path | None,
) -> None:
    """Check data files against the declared schema.

    Writes a JSON report naming, for each violated rule, the column, the rule, the number of bad
    rows and a few examples. Exits 2 when any rule is violated, so `dvc repro` stops before
    training on bad data.

    Example: mlgitops validate --data data/prepared/train.parquet --data data/prepared/test.parquet
    """
    params = load_params(params_path)
    paths = params.paths
    schema_file = path_or_default(schema_path, paths.schema_file)
    schema = load_schema(schema_file)
    targets = list(data_paths) or [Path(paths.train), Path(paths.test)]
    results = [
        validate_frame(
            read_table(p),
            schema,
            name=str(p),
            id_column=params.data.id_column,
            max_examples=params.validate_.max_examples,
        )
        for p in targets
    ]
    report = validation_report(results, schema)
    write_json(path_or_default(report_path, paths.validation_report), report)
    for result in results:
        if result.ok:
            click.echo(f"{result.name}: {result.rows} rows, all rules hold")
            continue
        click.echo(
            f"{result.name}: {len(result.violations)} rule(s) violated in {result.rows} rows "
            f"(schema {schema_file}):",
            err=True,
        )
        for violation in result.violations:
            click.echo(f"  - {violation.sentence()}", err=True)
    if not report["ok"]:
        click.echo(
            "validate: the data does not match the schema; fix the data or the schema "
            f"({schema_file}), then run dvc repro again.",
            err=True,
        )
        raise SystemExit(EXIT_BAD_INPUT)


@click.command("evaluate")
@PARAMS_OPTION
@click.option("--model", "model_path", type=OptionalPath, help="Model file [paths.model].")
@click.option(
    "--metadata", "metadata_path", type=OptionalPath, help="Model metadata [paths.model_metadata]."
)
@click.option("--data", "data_path", type=OptionalPath, help="Evaluation data [paths.test].")
@click.option("--metrics", "metrics_path", type=OptionalPath, help="Metrics JSON [paths.metrics].")
@click.option(
    "--predictions",
    "predictions_path",
    type=OptionalPath,
    help="Per-row predictions parquet [paths.predictions].",
)
@click.option("--slices", "slices_path", type=OptionalPath, help="Slice metrics [paths.slices].")
@click.option("--plots", "plots_dir", type=OptionalPath, help="Plot data directory [paths.plots].")
@click.option(
    "--smoke-sample",
    "smoke_path",
    type=OptionalPath,
    help="Rows and offline predictions for deploy smoke tests [paths.smoke_sample].",
)
@fails_cleanly
def evaluate_command(
    params_path: Path,
    model_path: Path | None,
    metadata_path: Path | None,
    data_path: Path | None,
    metrics_path: Path | None,
    predictions_path: Path | None,
    slices_path: Path | None,
    plots_dir: Path | None,
    smoke_path: Path | None,
) -> None:
    """Score the evaluation set: metrics, per-row predictions, slices and plot data.

    The per-row predictions (row id, truth, prediction, scores) are what the pull-request check
    pairs the baseline model against. Plot data is in DVC's format for `dvc plots show`.

    Example: mlgitops evaluate --model models/model.skops --data data/prepared/test.parquet
    """
    # Imported here: validate, the other command of this module, needs none of scikit-learn.
    from mlgitops.artifact import load_model
    from mlgitops.evaluate import check_evaluation_rows, evaluate
    from mlgitops.scoring import score_frame

    params = load_params(params_path)
    paths = params.paths
    model = load_model(
        path_or_default(model_path, paths.model),
        path_or_default(metadata_path, paths.model_metadata),
        params.model.extra_trusted_types,
    )
    source = path_or_default(data_path, paths.test)
    frame = read_table(source, "evaluation data")
    meta = model.metadata
    check_evaluation_rows(
        frame,
        id_column=meta["id_column"],
        target=meta["target"],
        task=model.task,
        classes=meta["classes"],
        where=str(source),
    )
    predictions = score_frame(model, frame, where=str(source), strict=True)
    result = evaluate(
        predictions,
        frame,
        task=model.task,
        positive_class=model.metadata["positive_class"],
        classes=model.metadata["classes"],
        features=model.features,
        params=params.evaluate,
    )
    # Everything is computed before anything is written: a failure leaves no partial outputs.
    plots = path_or_default(plots_dir, paths.plots)
    write_parquet(path_or_default(predictions_path, paths.predictions), predictions)
    write_json(path_or_default(slices_path, paths.slices), result.slices)
    write_json(path_or_default(smoke_path, paths.smoke_sample), result.smoke_sample)
    for name, data in result.plots.items():
        write_json(plots / f"{name}.json", data)
    write_json(path_or_default(metrics_path, paths.metrics), result.metrics)
    shown = ", ".join(f"{k} {v:.4f}" for k, v in result.metrics.items() if k != "rows")
    click.echo(f"evaluated {result.metrics['rows']} rows of {source}: {shown}")


COMMANDS = (validate_command, evaluate_command)
