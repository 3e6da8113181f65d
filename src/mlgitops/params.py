"""params.yaml, parsed once into frozen, typed objects.

Every framework section is required and strict: an unknown key, a missing key, a wrong type or an
out-of-range value stops the command with exit code 2 and one sentence that names the file, the key,
the value and what was expected. Nothing is coerced or silently corrected (``"0.1"`` is not a
number).
Top-level sections that the framework does not own (``prepare``, ``train``: the user's stages) are
left to the user's code, which parses them with :func:`load_section` and the same rules.
"""

from __future__ import annotations

import os
import re
import types
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mlgitops.errors import ConfigError

ARTIFACT_NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"

Fraction = Annotated[float, Field(gt=0, lt=1)]


class Section(BaseModel):
    """Base of every params section: frozen, strict types, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class DataParams(Section):
    """What the data is: the target, the task and the id that pairs rows across models."""

    target: str = Field(min_length=1, description="The column to predict.")
    task: Literal["binary", "multiclass", "regression"] = Field(
        description=(
            "The kind of model: binary, multiclass or regression. It decides the metrics, the "
            "plots and the tests of the gate."
        )
    )
    positive_class: str | int | bool | None = Field(
        description=(
            "The label counted as positive (binary only; null otherwise). Read as YAML: quote a "
            "number that is a text label."
        )
    )
    id_column: str = Field(
        min_length=1,
        description=(
            "Stable row id: the PR check pairs the baseline's and the candidate's predictions on "
            "it."
        ),
    )

    @model_validator(mode="after")
    def _positive_class_matches_task(self) -> DataParams:
        if self.task == "binary" and self.positive_class is None:
            raise ValueError("a binary task needs data.positive_class (the label counted positive)")
        return self


class ModelParams(Section):
    """The registered model: its name in the registry and the types its artifact may contain."""

    name: str = Field(
        pattern=ARTIFACT_NAME_PATTERN,
        description=(
            "The model's name: the artifact in dvc.yaml and the GTO tags (<name>@v1.2.0). "
            "Lowercase letters, digits and dashes."
        ),
    )
    extra_trusted_types: tuple[str, ...] = Field(
        description=(
            "Types beyond the framework's allowlist that skops may load. Full dotted names; each "
            "one is code the loader will trust."
        )
    )


class ValidateParams(Section):
    """How validation reports what it found."""

    max_examples: int = Field(ge=1, le=100, description="Example rows shown per violated rule.")


class SliceSpec(Section):
    """A column whose values (or bins, for a numeric column) define slices of the evaluation set."""

    column: str = Field(
        min_length=1, description="The column whose values (or bins) define the slices."
    )
    bins: tuple[float, ...] | None = Field(
        default=None,
        description=(
            "Bin edges for a numeric column, strictly increasing (omit or null for a column of "
            "categories)."
        ),
    )

    @model_validator(mode="after")
    def _bins_increase(self) -> SliceSpec:
        if self.bins is not None and (
            len(self.bins) < 1
            or any(b >= a for a, b in zip(self.bins[1:], self.bins, strict=False))
        ):
            raise ValueError("bins must be one or more strictly increasing edges")
        return self


class EvaluateParams(Section):
    """What evaluation computes besides the metrics."""

    slices: tuple[SliceSpec, ...] = Field(
        description="Columns whose slices get their own metrics (numeric columns need bins)."
    )
    min_slice_rows: int = Field(ge=1, description="Smaller slices are reported but not gated.")
    plot_points: int = Field(
        ge=10, le=10_000, description="Points kept per curve in the plot files."
    )
    calibration_bins: int = Field(
        ge=2, le=100, description="Bins of the calibration plot (binary tasks)."
    )
    smoke_rows: int = Field(
        ge=1,
        le=1000,
        description=(
            "Evaluation rows kept with their offline predictions for the deploy smoke test."
        ),
    )


class MetricGate(Section):
    """How one metric is judged: its non-inferiority margin and an optional absolute bound."""

    margin: float = Field(
        ge=0,
        description="The non-inferiority margin: how much worse than the baseline still passes.",
    )
    margin_type: Literal["absolute", "relative"] = Field(
        description=(
            "How the margin is read: absolute (in the metric's units) or relative (a share of the "
            "baseline's value)."
        )
    )
    floor: float | None = Field(
        description=(
            "Higher-is-better metrics: the candidate must reach at least this (null: no floor)."
        )
    )
    ceiling: float | None = Field(
        description=(
            "Lower-is-better metrics: the candidate must stay at or below this (null: no ceiling)."
        )
    )


class SliceGate(Section):
    """Which metrics are compared per slice, and from what slice size on."""

    metrics: tuple[str, ...] = Field(
        description=(
            "Gated metrics also compared per slice of evaluate.slices (Holm-corrected with the "
            "rest)."
        )
    )
    min_rows: int = Field(ge=1, description="Smaller slices are shown, not judged.")


class GateParams(Section):
    """The pull-request gate: paired tests of candidate against baseline on the same rows."""

    alpha: float = Field(
        gt=0,
        lt=0.5,
        description=(
            "One-sided level of each test; the intervals shown are at 1 - 2*alpha (90% at 0.05)."
        ),
    )
    power: float = Field(
        gt=0,
        lt=1,
        description=(
            "Target power: the report warns when the test set is too small to show non-inferiority "
            "at the margin with it."
        ),
    )
    on_inconclusive: Literal["fail", "pass"] = Field(
        description="What an undecided comparison does to the check (fail or pass)."
    )
    on_no_baseline: Literal["fail", "pass"] = Field(
        description=(
            "What the check does when the base has no model yet, e.g. the first model (fail or "
            "pass)."
        )
    )
    on_schema_change: Literal["fail", "pass"] = Field(
        description=(
            "What the check does when the baseline cannot score the new rows (fail or pass)."
        )
    )
    bootstrap_resamples: int = Field(
        ge=200,
        le=1_000_000,
        description="Paired bootstrap resamples, for the metrics without a closed-form test.",
    )
    seed: int = Field(description="Seeds the bootstrap: the same inputs give the same report.")
    metrics: dict[str, MetricGate] = Field(
        description=(
            "The gated metrics, each with its margin and optional bound. Only metrics the task "
            "reports."
        )
    )
    slices: SliceGate = Field(
        description="Which gated metrics are also compared per slice, and from what size on."
    )

    @model_validator(mode="after")
    def _bounds_fit_directions(self) -> GateParams:
        from mlgitops.metric_names import higher_is_better

        if not self.metrics:
            raise ValueError("gate.metrics must name at least one metric")
        for name, rule in self.metrics.items():
            try:
                up = higher_is_better(name)
            except ValueError as exc:
                raise ValueError(str(exc)) from None
            if up and rule.ceiling is not None:
                raise ValueError(f"{name} is better when higher: give it a floor, not a ceiling")
            if not up and rule.floor is not None:
                raise ValueError(f"{name} is better when lower: give it a ceiling, not a floor")
        unknown = [m for m in self.slices.metrics if m not in self.metrics]
        if unknown:
            raise ValueError(
                f"gate.slices.metrics lists {', '.join(unknown)}, which gate.metrics does not gate"
            )
        return self


class ServeParams(Section):
    """How ``mlgitops serve`` listens, bounds requests, logs predictions and follows stage tags."""

    host: str = Field(
        min_length=1, description="Address to listen on (0.0.0.0 inside a container)."
    )
    port: int = Field(
        ge=0,
        le=65_535,
        description="Port to listen on; 0 picks a free one (the server prints the one it bound).",
    )
    watch_interval: float = Field(
        ge=0.1, le=86_400, description="Seconds between polls of the stage tags with --watch."
    )
    max_batch_rows: int = Field(
        ge=1, le=1_000_000, description="Records per /predict request; more is refused with 422."
    )
    model_threads: int = Field(
        ge=1,
        le=256,
        description="OpenMP/BLAS threads per prediction (1 is fastest for small requests).",
    )
    max_body_bytes: int = Field(
        ge=1_024,
        le=1_073_741_824,
        description="Request bodies larger than this are refused with 413.",
    )
    log_batch_rows: int = Field(
        ge=1, le=100_000, description="Prediction-log rows committed per SQLite transaction."
    )
    log_flush_seconds: float = Field(
        gt=0,
        le=60,
        description="Longest an answered prediction waits before it is committed to the log.",
    )
    log_queue_rows: int = Field(
        ge=1,
        le=10_000_000,
        description="Rows waiting to be logged; beyond this new rows are dropped and counted.",
    )
    shutdown_timeout: float = Field(
        gt=0, le=600, description="Seconds in-flight requests get to finish on stop."
    )


SEMVER_RELEASE_PATTERN = r"^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$"


class ReleaseParams(Section):
    """How ``mlgitops release`` numbers, publishes and describes a model version."""

    first_version: str = Field(
        pattern=SEMVER_RELEASE_PATTERN,
        description="The version of the first release (vX.Y.Z); later ones bump from the latest.",
    )
    require_remote: bool = Field(
        description=(
            "Refuse to release when no DVC remote is configured (false: warn and release anyway)."
        )
    )
    git_remote: str = Field(
        min_length=1,
        description="The git remote version and stage tags are fetched from and pushed to.",
    )
    max_attempts: int = Field(
        ge=1,
        le=100,
        description="Next version numbers tried when a concurrent release took the number.",
    )
    confidence: float = Field(
        gt=0.5, lt=1, description="Level of the metric intervals in the model card."
    )
    bootstrap_resamples: int = Field(
        ge=100,
        le=1_000_000,
        description=(
            "Bootstrap resamples for the card's intervals of metrics other than accuracy and AUC."
        ),
    )
    seed: int = Field(description="Seeds that bootstrap: the same release gives the same card.")

    @model_validator(mode="after")
    def _first_version_is_a_release(self) -> ReleaseParams:
        if self.first_version == "v0.0.0":
            raise ValueError("first_version must be above v0.0.0 (e.g. v0.1.0 or v1.0.0)")
        return self


class StageDeployParams(Section):
    """Where one stage's model goes, and how its smoke test reaches it."""

    target: Literal["server", "command", "bundle"] = Field(
        description=(
            "How the stage is deployed: server (the built-in server), command (your program) or "
            "bundle (an archive)."
        )
    )
    command: tuple[str, ...] = Field(
        description=(
            "target command: the program and its arguments (no shell), given MLGITOPS_* "
            "environment variables."
        )
    )
    url: str | None = Field(
        description=(
            "target command: where the deployed model then answers (null: smoke test in process)."
        )
    )
    bundle_dir: str | None = Field(
        description="target bundle: the directory the archives are written to."
    )
    smoke_timeout: float = Field(
        gt=0, le=600, description="Seconds each smoke-test request may take."
    )

    @model_validator(mode="after")
    def _keys_fit_target(self) -> StageDeployParams:
        if self.target == "command" and not self.command:
            raise ValueError("target command needs command: the program and its arguments")
        if self.target != "command" and (self.command or self.url is not None):
            raise ValueError(f"command and url apply to target command only, not {self.target}")
        if self.target == "bundle" and not self.bundle_dir:
            raise ValueError("target bundle needs bundle_dir: where the archives are written")
        if self.target != "bundle" and self.bundle_dir is not None:
            raise ValueError(f"bundle_dir applies to target bundle only, not {self.target}")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https://, got {self.url!r}")
        return self


class DeployParams(Section):
    """One deploy target per stage (GTO stages ``staging`` and ``prod``)."""

    staging: StageDeployParams = Field(
        description="The staging stage's target, deployed by every release."
    )
    prod: StageDeployParams = Field(description="The prod stage's target, deployed after approval.")


class ModelCardParams(Section):
    """What the model card says about use: the parts only the model's owners can write."""

    intended_use: str = Field(
        min_length=1, description="What the model is for and who uses it, in its owners' words."
    )
    out_of_scope: tuple[str, ...] = Field(description="Uses the model must not be put to.")
    limitations: tuple[str, ...] = Field(description="Known limitations of the model and its data.")


class ProfileParams(Section):
    """How ``mlgitops profile`` summarises the training data for the drift check."""

    psi_bins: int = Field(
        ge=2, le=100, description="PSI bins on reference quantiles (ties can merge bins)."
    )
    max_reference_values: int = Field(
        ge=100,
        le=1_000_000,
        description="Numeric values kept per feature for KS and Wasserstein (a seeded sample).",
    )
    bootstrap_resamples: int = Field(
        ge=100,
        le=1_000_000,
        description="Resamples for the standard errors of the evaluation metrics.",
    )
    seed: int = Field(
        description="Seeds the subsample and the bootstrap: the same data gives the same profile."
    )


class DriftSourceParams(Section):
    """Where the scheduled drift check gets the current batch."""

    kind: Literal["path", "dvc", "command"] = Field(
        description=(
            "Where the batch comes from: path (a file or glob in the repository), dvc (a "
            "DVC-tracked path, pulled) or command (a program that writes path)."
        )
    )
    path: str = Field(
        min_length=1,
        description="The batch: a file or glob (kind command: the file the program writes).",
    )
    command: tuple[str, ...] = Field(
        description="kind command: the program and its arguments (no shell) that writes path."
    )

    @model_validator(mode="after")
    def _command_fits_kind(self) -> DriftSourceParams:
        if self.kind == "command" and not self.command:
            raise ValueError("kind command needs command: the program that writes path")
        if self.kind != "command" and self.command:
            raise ValueError(f"command applies to kind command only, not {self.kind}")
        return self


class RetrainParams(Section):
    """Whether a drift alarm opens a retraining pull request, and what refreshes the data."""

    enabled: bool = Field(description="Open a retraining pull request when the batch drifts.")
    command: tuple[str, ...] = Field(
        description=(
            "The program (no shell) that refreshes the training data, e.g. [dvc, update, "
            "data/raw.csv.dvc]."
        )
    )

    @model_validator(mode="after")
    def _enabled_needs_command(self) -> RetrainParams:
        if self.enabled and not self.command:
            raise ValueError("enabled needs command: the program that refreshes the training data")
        return self


class DriftParams(Section):
    """The drift check: per-feature tests, the decision rule, windows, source and retraining."""

    alpha: float = Field(
        gt=0,
        lt=0.5,
        description=(
            "Level of the family of tests (every feature's distribution and missing-rate tests)."
        ),
    )
    correction: Literal["holm", "bh"] = Field(
        description=(
            "Multiple-testing correction: holm (family-wise error) or bh (false discovery rate)."
        )
    )
    numeric_threshold: float = Field(
        ge=0,
        description=(
            "Effect threshold, numeric features: Wasserstein distance in reference standard "
            "deviations."
        ),
    )
    categorical_threshold: float = Field(
        ge=0,
        le=1,
        description=(
            "Effect threshold, categorical features: bias-corrected Cohen's w of the chi-square "
            "(0 under no drift at any size; 0.1 small, 0.3 medium, 0.5 large)."
        ),
    )
    null_threshold: float = Field(
        ge=0,
        le=1,
        description=(
            "Effect threshold of the missing-value test: absolute change of the missing share."
        ),
    )
    share_threshold: float = Field(
        gt=0, le=1, description="Share of drifted features that makes the batch drift."
    )
    key_features: tuple[str, ...] = Field(
        description="Features whose drift alone makes the batch drift."
    )
    min_rows: int = Field(
        ge=1, description="Fewer non-null rows (per feature, per window) are reported, not tested."
    )
    min_expected: float = Field(
        gt=0,
        description="Categories with a smaller expected count are pooled for the chi-square test.",
    )
    window: str = Field(
        min_length=1,
        description=(
            "Width of the time windows that date the drift: a whole number and s, min, h, d or w "
            "(e.g. 1d, 6h)."
        ),
    )
    time_column: str = Field(
        min_length=1, description="The batch's time column (the prediction log's _time)."
    )
    confidence: float = Field(
        gt=0.5,
        lt=1,
        description=(
            "Level of the performance intervals when the batch has labels (simultaneous over the "
            "metrics: Bonferroni)."
        ),
    )
    performance_alarm: bool = Field(
        description=(
            "Whether a metric significantly worse than at training time (its difference's "
            "interval wholly on the worse side) raises the alarm on its own: exit 1 and the "
            "drift issue."
        )
    )
    bootstrap_resamples: int = Field(
        ge=100,
        le=1_000_000,
        description=(
            "Resamples for the performance intervals of metrics other than accuracy and AUC."
        ),
    )
    seed: int = Field(description="Seeds that bootstrap: the same batch gives the same report.")
    chart_bins: int = Field(ge=2, le=40, description="Bars per histogram in the report.")
    source: DriftSourceParams = Field(
        description="Where the scheduled check gets the batch (when --current is not given)."
    )
    retrain: RetrainParams = Field(
        description="Whether drift opens a retraining pull request, and what refreshes the data."
    )

    @model_validator(mode="after")
    def _window_is_a_duration(self) -> DriftParams:
        window_seconds(self.window)
        return self


WINDOW_UNITS = {"s": 1, "min": 60, "h": 3600, "d": 86_400, "w": 604_800}


def window_seconds(window: str) -> int:
    """The length of a window written as a whole number and a unit (``1d``, ``6h``, ``30min``).

    Raises:
        ValueError: the text is not a positive whole number followed by s, min, h, d or w.
    """
    match = re.fullmatch(r"\s*([0-9]+)\s*(s|min|h|d|w)\s*", window)
    if match is None or int(match.group(1)) == 0:
        raise ValueError(
            f"window must be a positive whole number and a unit (s, min, h, d, w), such as 1d "
            f"or 6h, got {window!r}"
        )
    return int(match.group(1)) * WINDOW_UNITS[match.group(2)]


class PathsParams(Section):
    """Every file the pipeline reads or writes, named once; ``dvc.yaml`` refers to these."""

    raw: str = Field(description="The raw data the prepare stage reads.")
    schema_file: str = Field(
        description="The declared schema of the prepared data (checked by mlgitops validate)."
    )
    train: str = Field(description="The training split, written by prepare.")
    test: str = Field(
        description=(
            "The evaluation split, written by prepare. The PR check scores both models on it."
        )
    )
    validation_report: str = Field(description="The validate stage's JSON report.")
    model: str = Field(description="The model file (skops), written by train: the DVC artifact.")
    model_metadata: str = Field(description="The model's metadata JSON, written beside it.")
    metrics: str = Field(description="The evaluation metrics (a DVC metrics file).")
    slices: str = Field(description="The metrics per slice of the evaluation split.")
    predictions: str = Field(
        description="Per-row predictions on the evaluation split (what the PR check pairs on)."
    )
    smoke_sample: str = Field(
        description="Evaluation rows and their offline predictions, for deploy smoke tests."
    )
    plots: str = Field(description="The directory of the DVC plot files.")
    reports: str = Field(
        description="The directory reports are written to (compare.json, pr.md, drift.md)."
    )
    prediction_log: str = Field(
        description="What mlgitops serve answered: its SQLite prediction log (gitignored)."
    )
    serve_cache: str = Field(description="Model versions fetched by mlgitops serve --stage.")
    model_card: str = Field(
        description="The model card, written by mlgitops release (and its .json data beside it)."
    )
    profile: str = Field(
        description=(
            "The reference profile of the training data, for the drift check (beside the model)."
        )
    )


class Params(BaseModel):
    """All framework sections of params.yaml."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    data: DataParams
    model: ModelParams
    validate_: ValidateParams = Field(alias="validate")
    evaluate: EvaluateParams
    gate: GateParams
    serve: ServeParams
    release: ReleaseParams
    deploy: DeployParams
    model_card: ModelCardParams
    profile: ProfileParams
    drift: DriftParams
    paths: PathsParams

    @model_validator(mode="after")
    def _gate_fits_task(self) -> Params:
        from mlgitops.metric_names import TASK_METRICS

        offered = TASK_METRICS[self.data.task]
        wrong = [m for m in self.gate.metrics if m not in offered]
        if wrong:
            raise ValueError(
                f"gate.metrics names {', '.join(wrong)}, which a {self.data.task} task does not "
                f"report (it reports {', '.join(offered)})"
            )
        return self


FRAMEWORK_SECTIONS = tuple((field.alias or name) for name, field in Params.model_fields.items())

S = TypeVar("S", bound=BaseModel)


def _tuples(value: Any) -> Any:
    """YAML lists become tuples so frozen sections hold immutable values."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def read_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML mapping, raising :class:`ConfigError` that names the file on any problem."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p} does not exist; create it or pass the right path with --params.")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{p} is not valid YAML{where} ({problem}); fix the syntax.") from exc
    if raw is None:
        raise ConfigError(f"{p} is empty; it must be a mapping of sections.")
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{p} must be a mapping of sections at the top level, got {type(raw).__name__}."
        )
    return raw


def _describe(error: dict[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    expected = {
        "missing": "a value",
        "float_type": "a number",
        "int_type": "a whole number",
        "bool_type": "true or false",
        "string_type": "a string",
        "tuple_type": "a list",
        "dict_type": "a mapping",
        "model_type": "a mapping",
        "literal_error": f"one of {ctx.get('expected')}",
        "greater_than": f"a number > {ctx.get('gt')}",
        "greater_than_equal": f"a number >= {ctx.get('ge')}",
        "less_than": f"a number < {ctx.get('lt')}",
        "less_than_equal": f"a number <= {ctx.get('le')}",
        "string_too_short": "a non-empty string",
        "string_pattern_mismatch": f"a name matching {ctx.get('pattern')}",
    }.get(kind)
    if expected is None:
        expected = error["msg"].removeprefix("Value error, ")
    return expected


def _num(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _bounds(metadata: list[Any]) -> str:
    """The range a field's constraints allow, in words: "between 0 and 1", "> 0 and < 0.5"."""
    found = {k: getattr(m, k) for m in metadata for k in ("gt", "ge", "lt", "le") if hasattr(m, k)}
    if "ge" in found and "le" in found:
        return f" between {_num(found['ge'])} and {_num(found['le'])}"
    parts = [
        f"{op} {_num(found[k])}"
        for k, op in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))
        if k in found
    ]
    return (" " + " and ".join(parts)) if parts else ""


def _words(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _expected_type(annotation: Any, metadata: list[Any]) -> str:
    """What a field holds, in the words the other messages use ("a number between 0 and 1")."""
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *extra = get_args(annotation)
        return _expected_type(inner, [*metadata, *extra])
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        described = [
            "a boolean (true or false)" if a is bool else _expected_type(a, metadata)
            for a in options
        ]
        if len(options) < len(get_args(annotation)):
            described.append("null")
        return _words(described)
    if origin is Literal:
        return "one of " + _words([repr(v) for v in get_args(annotation)])
    if origin is tuple or annotation is tuple:
        return "a list"
    if origin is dict or (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return "a mapping"
    if annotation is bool:
        return "true or false"
    if annotation in (int, float):
        return ("a whole number" if annotation is int else "a number") + _bounds(metadata)
    if annotation is str:
        pattern = next((m.pattern for m in metadata if getattr(m, "pattern", None)), None)
        if pattern:
            return f"a name matching {pattern}"
        if any(getattr(m, "min_length", 0) for m in metadata):
            return "a non-empty string"
        return "a string"
    return "a value"


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The section model a key under a field of this annotation belongs to (through lists, maps)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in reversed(get_args(annotation)):  # dict[str, M]: the values; tuple[M, ...]: items
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _expected_at(model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """What the key at ``loc`` (a pydantic error location) of ``model`` expects."""
    current: type[BaseModel] | None = model
    field = None
    for part in loc:
        fields = _fields(current) if current is not None else {}
        if isinstance(part, str) and part in fields:
            field = fields[part]
            current = _model_in(field.annotation)
        elif field is None or current is None:
            return "a value"
        # otherwise a list index or a mapping key: the next part is a key of the items' model
    return "a value" if field is None else _expected_type(field.annotation, list(field.metadata))


def _fields(model: type[BaseModel]) -> dict[str, Any]:
    """A section's fields by name and by alias (``validate_`` is ``validate`` in the file)."""
    fields = dict(model.model_fields)
    fields.update({f.alias: f for f in model.model_fields.values() if f.alias})
    return fields


def _format_error(
    file: Path, prefix: tuple[str, ...], exc: ValidationError, model: type[BaseModel]
) -> str:
    errors = exc.errors()
    first = errors[0]
    loc = ".".join(str(part) for part in (*prefix, *first["loc"]) if part != "validate_")
    loc = loc or "(top level)"
    more = f" ({len(errors) - 1} more problem(s) after this one)" if len(errors) > 1 else ""
    if first["type"] == "missing":
        expected = _expected_at(model, tuple(first["loc"]))
        return f"{file}: {loc} is missing; expected {expected}; add it{more}."
    if first["type"] == "extra_forbidden":
        return f"{file}: key {loc} is not a known setting; remove it or fix its spelling{more}."
    if first["type"] == "value_error":
        reason = first["msg"].removeprefix("Value error, ")
        return f"{file}: {loc} is invalid: {reason}{more}."
    value = first.get("input")
    return f"{file}: {loc} = {value!r} is invalid; expected {_describe(first)}{more}."


def parse(raw: dict[str, Any], model: type[S], file: Path, prefix: tuple[str, ...] = ()) -> S:
    """Validate ``raw`` against ``model``; errors name ``file`` and the dotted key."""
    try:
        return model.model_validate(_tuples(raw))
    except ValidationError as exc:
        raise ConfigError(_format_error(file, prefix, exc, model)) from None


def load_params(path: str | os.PathLike[str] = "params.yaml") -> Params:
    """Load every framework section of a params file."""
    p = Path(path)
    return parse(read_yaml(p), Params, p)


def load_section(path: str | os.PathLike[str], name: str, model: type[S]) -> S:
    """Load one section (a user stage's own) with the same strict rules as the framework's."""
    p = Path(path)
    raw = read_yaml(p)
    if name not in raw:
        raise ConfigError(f"{p}: section {name} is missing; add it.")
    section = raw[name]
    if not isinstance(section, dict):
        raise ConfigError(f"{p}: section {name} must be a mapping, got {section!r}.")
    return parse(section, model, p, (name,))
