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
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

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

    target: str = Field(min_length=1)
    task: Literal["binary", "multiclass", "regression"]
    positive_class: str | int | bool | None = Field(
        description="The label counted as positive in a binary task (None for other tasks)."
    )
    id_column: str = Field(min_length=1)

    @model_validator(mode="after")
    def _positive_class_matches_task(self) -> DataParams:
        if self.task == "binary" and self.positive_class is None:
            raise ValueError("a binary task needs data.positive_class (the label counted positive)")
        return self


class ModelParams(Section):
    """The registered model: its name in the registry and the types its artifact may contain."""

    name: str = Field(pattern=ARTIFACT_NAME_PATTERN)
    extra_trusted_types: tuple[str, ...]


class ValidateParams(Section):
    """How validation reports what it found."""

    max_examples: int = Field(ge=1, le=100)


class SliceSpec(Section):
    """A column whose values (or bins, for a numeric column) define slices of the evaluation set."""

    column: str = Field(min_length=1)
    bins: tuple[float, ...] | None = None

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

    slices: tuple[SliceSpec, ...]
    min_slice_rows: int = Field(ge=1)
    plot_points: int = Field(ge=10, le=10_000)
    calibration_bins: int = Field(ge=2, le=100)
    smoke_rows: int = Field(ge=1, le=1000)


class MetricGate(Section):
    """How one metric is judged: its non-inferiority margin and an optional absolute bound."""

    margin: float = Field(ge=0)
    margin_type: Literal["absolute", "relative"]
    floor: float | None = Field(description="higher-is-better metrics: must be at least this")
    ceiling: float | None = Field(description="lower-is-better metrics: must be at most this")


class SliceGate(Section):
    """Which metrics are compared per slice, and from what slice size on."""

    metrics: tuple[str, ...]
    min_rows: int = Field(ge=1)


class GateParams(Section):
    """The pull-request gate: paired tests of candidate against baseline on the same rows."""

    alpha: float = Field(gt=0, lt=0.5)
    power: float = Field(gt=0, lt=1)
    on_inconclusive: Literal["fail", "pass"]
    on_no_baseline: Literal["fail", "pass"]
    on_schema_change: Literal["fail", "pass"]
    bootstrap_resamples: int = Field(ge=200, le=1_000_000)
    seed: int
    metrics: dict[str, MetricGate]
    slices: SliceGate

    @model_validator(mode="after")
    def _bounds_fit_directions(self) -> GateParams:
        from mlgitops.metrics import higher_is_better

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

    host: str = Field(min_length=1)
    port: int = Field(ge=0, le=65_535)
    watch_interval: float = Field(ge=0.1, le=86_400)
    max_batch_rows: int = Field(ge=1, le=1_000_000)
    model_threads: int = Field(ge=1, le=256)
    max_body_bytes: int = Field(ge=1_024, le=1_073_741_824)
    log_batch_rows: int = Field(ge=1, le=100_000)
    log_flush_seconds: float = Field(gt=0, le=60)
    log_queue_rows: int = Field(ge=1, le=10_000_000)
    shutdown_timeout: float = Field(gt=0, le=600)


SEMVER_RELEASE_PATTERN = r"^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$"


class ReleaseParams(Section):
    """How ``mlgitops release`` numbers, publishes and describes a model version."""

    first_version: str = Field(pattern=SEMVER_RELEASE_PATTERN)
    require_remote: bool
    git_remote: str = Field(min_length=1)
    max_attempts: int = Field(ge=1, le=100)
    confidence: float = Field(gt=0.5, lt=1)
    bootstrap_resamples: int = Field(ge=100, le=1_000_000)
    seed: int

    @model_validator(mode="after")
    def _first_version_is_a_release(self) -> ReleaseParams:
        if self.first_version == "v0.0.0":
            raise ValueError("first_version must be above v0.0.0 (e.g. v0.1.0 or v1.0.0)")
        return self


class StageDeployParams(Section):
    """Where one stage's model goes, and how its smoke test reaches it."""

    target: Literal["server", "command", "bundle"]
    command: tuple[str, ...]
    url: str | None
    bundle_dir: str | None
    smoke_timeout: float = Field(gt=0, le=600)

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

    staging: StageDeployParams
    prod: StageDeployParams


class ModelCardParams(Section):
    """What the model card says about use: the parts only the model's owners can write."""

    intended_use: str = Field(min_length=1)
    out_of_scope: tuple[str, ...]
    limitations: tuple[str, ...]


class ProfileParams(Section):
    """How ``mlgitops profile`` summarises the training data for the drift check."""

    psi_bins: int = Field(ge=2, le=100)
    max_reference_values: int = Field(ge=100, le=1_000_000)
    bootstrap_resamples: int = Field(ge=100, le=1_000_000)
    seed: int


class DriftSourceParams(Section):
    """Where the scheduled drift check gets the current batch."""

    kind: Literal["path", "dvc", "command"]
    path: str = Field(min_length=1)
    command: tuple[str, ...]

    @model_validator(mode="after")
    def _command_fits_kind(self) -> DriftSourceParams:
        if self.kind == "command" and not self.command:
            raise ValueError("kind command needs command: the program that writes path")
        if self.kind != "command" and self.command:
            raise ValueError(f"command applies to kind command only, not {self.kind}")
        return self


class RetrainParams(Section):
    """Whether a drift alarm opens a retraining pull request, and what refreshes the data."""

    enabled: bool
    command: tuple[str, ...]

    @model_validator(mode="after")
    def _enabled_needs_command(self) -> RetrainParams:
        if self.enabled and not self.command:
            raise ValueError("enabled needs command: the program that refreshes the training data")
        return self


class DriftParams(Section):
    """The drift check: per-feature tests, the decision rule, windows, source and retraining."""

    alpha: float = Field(gt=0, lt=0.5)
    correction: Literal["holm", "bh"]
    numeric_threshold: float = Field(ge=0)
    categorical_threshold: float = Field(ge=0, le=1)
    null_threshold: float = Field(ge=0, le=1)
    share_threshold: float = Field(gt=0, le=1)
    key_features: tuple[str, ...]
    min_rows: int = Field(ge=1)
    min_expected: float = Field(gt=0)
    window: str = Field(min_length=1)
    time_column: str = Field(min_length=1)
    confidence: float = Field(gt=0.5, lt=1)
    bootstrap_resamples: int = Field(ge=100, le=1_000_000)
    seed: int
    chart_bins: int = Field(ge=2, le=40)
    source: DriftSourceParams
    retrain: RetrainParams

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

    raw: str
    schema_file: str
    train: str
    test: str
    validation_report: str
    model: str
    model_metadata: str
    metrics: str
    slices: str
    predictions: str
    smoke_sample: str
    plots: str
    reports: str
    prediction_log: str
    serve_cache: str
    model_card: str
    profile: str


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
        from mlgitops.metrics import TASK_METRICS

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


def _format_error(file: Path, prefix: tuple[str, ...], exc: ValidationError) -> str:
    errors = exc.errors()
    first = errors[0]
    loc = ".".join(str(part) for part in (*prefix, *first["loc"]) if part != "validate_")
    loc = loc or "(top level)"
    more = f" ({len(errors) - 1} more problem(s) after this one)" if len(errors) > 1 else ""
    if first["type"] == "missing":
        return f"{file}: key {loc} is missing; add it (expected {_describe(first)}){more}."
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
        raise ConfigError(_format_error(file, prefix, exc)) from None


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
