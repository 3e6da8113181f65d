"""``mlgitops init``: bring the framework into an existing repository (pure core).

The framework's parts are rendered from jinja2 templates (``templates/init/``) and merged into
what the repository has:

- files the framework owns outright: the workflows, ``.github/CODEOWNERS`` and the starter
  ``data/schema.yaml`` (inferred from a data file);
- entries inside files the user owns: the stages validate, evaluate and profile, the plots and
  the model's artifact in ``dvc.yaml``; the framework's sections in ``params.yaml``, a comment per
  key (the field descriptions of :mod:`mlgitops.params`).

The rule for each part: missing is added; the same is in place; different is a conflict, which
only ``force`` replaces. Inside a framework section of params.yaml, a key that is missing is
added, and a value that differs from the starting value is the user's tuning and is kept, unless
it contradicts an option given on the command line (``--task regression`` against
``task: binary``), which is a conflict. ``force`` replaces the framework's parts whole and never
touches the user's own stages, sections or comments. Edits are made by whole lines
(:mod:`mlgitops.yamlsplice`), so the user's text outside them stays byte for byte.

Settings that are not given come from what the repository already has (params.yaml, dvc.yaml, the
workflows), so running ``init`` again with no options finds everything in place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Any

import jinja2
import yaml

from mlgitops.docs import KeyDoc, first_sentence, key_docs, key_path, summary
from mlgitops.errors import ConfigError, DataError
from mlgitops.metrics import TASK_METRICS, higher_is_better
from mlgitops.params import ARTIFACT_NAME_PATTERN, FRAMEWORK_SECTIONS, Params, parse
from mlgitops.yamlsplice import YamlText, plain, yaml_scalar

WORKFLOWS = ("pr.yml", "pr-comment.yml", "release.yml", "deploy.yml", "drift.yml")
WORKFLOW_DIR = ".github/workflows"
CODEOWNERS = ".github/CODEOWNERS"
PARAMS_FILE = "params.yaml"
DVC_FILE = "dvc.yaml"
FRAMEWORK_STAGES = ("validate", "evaluate", "profile")
PARTS = ("workflows", "dvc", "params", "schema")
PLACEHOLDER_OWNERS = "@mlgitops/maintainers"
FRAMEWORK_SOURCE = "src/mlgitops"
UNSET: Any = object()

#: Where each file goes when params.yaml does not say (this repository's own layout).
DEFAULT_PATHS = {
    "raw": "data/raw.csv",
    "schema_file": "data/schema.yaml",
    "train": "data/prepared/train.parquet",
    "test": "data/prepared/test.parquet",
    "validation_report": "reports/validation.json",
    "model": "models/model.skops",
    "model_metadata": "models/model.json",
    "metrics": "metrics/metrics.json",
    "slices": "metrics/slices.json",
    "predictions": "metrics/predictions.parquet",
    "smoke_sample": "metrics/smoke_sample.json",
    "plots": "metrics/plots",
    "reports": "reports",
    "prediction_log": "logs/predictions.sqlite",
    "serve_cache": ".mlgitops/serve-cache",
    "model_card": "reports/model_card.md",
    "profile": "models/profile.json",
}

#: The metrics gated by default per task: the margin a model may lose against its baseline.
GATE_DEFAULTS: dict[str, dict[str, dict[str, Any]]] = {
    "binary": {
        "accuracy": {"margin": 0.01, "margin_type": "absolute"},
        "roc_auc": {"margin": 0.01, "margin_type": "absolute"},
        "f1_score": {"margin": 0.02, "margin_type": "absolute"},
        "log_loss": {"margin": 0.05, "margin_type": "relative"},
        "brier_score_loss": {"margin": 0.05, "margin_type": "relative"},
    },
    "multiclass": {
        "accuracy": {"margin": 0.01, "margin_type": "absolute"},
        "f1_score": {"margin": 0.02, "margin_type": "absolute"},
        "log_loss": {"margin": 0.05, "margin_type": "relative"},
    },
    "regression": {
        "mean_absolute_error": {"margin": 0.05, "margin_type": "relative"},
        "root_mean_squared_error": {"margin": 0.05, "margin_type": "relative"},
        "r2_score": {"margin": 0.02, "margin_type": "absolute"},
    },
}
TASK_LABELS = {
    "binary": "binary-classification",
    "multiclass": "multiclass-classification",
    "regression": "regression",
}
#: params keys an option sets: given on the command line, they must match what is there.
OPTION_KEYS = {
    "name": ("model", "name"),
    "task": ("data", "task"),
    "target": ("data", "target"),
    "positive_class": ("data", "positive_class"),
    "id_column": ("data", "id_column"),
}
PATH_OPTIONS = ("raw", "schema_file", "train", "test", "model", "model_metadata")
PARAMS_HEADER = (
    "# Every knob of the project, one section per concern. `dvc.yaml` lists the keys each stage\n"
    "# reads, so `dvc repro` re-runs only what a change touches. The framework's sections are\n"
    "# strict: an unknown key, a missing key, a wrong type or an out-of-range value is an error.\n"
)
COMMENT_COLUMN = 30
#: Where a user finds what their train stage must do (the refusals below point there).
TRAIN_CONTRACT = (
    "the train-stage contract in mlgitops's README (Bring your own data and model: fit, then "
    "mlgitops.artifact.describe_model and save_model, the model and its metadata in its outs)"
)
_SAFE_PATH = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_./-]*$")
# YAML 1.2's core schema: the booleans and numbers it reads (1.1's yes/no/on/off/y/n are text).
_YAML12_BOOLS = {"true": True, "True": True, "TRUE": True}
_YAML12_BOOLS |= {"false": False, "False": False, "FALSE": False}
_YAML12_INT = re.compile(r"[-+]?[0-9]+")
_YAML12_OCT = re.compile(r"0o[0-7]+")
_YAML12_HEX = re.compile(r"0x[0-9a-fA-F]+")
_YAML12_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")


def parse_label(text: str) -> str | int | float | bool:
    """A label given on the command line: a boolean or a number as YAML 1.2 reads one, else text.

    YAML 1.1 (PyYAML) would make ``yes``, ``no``, ``on``, ``off`` and ``y`` booleans, which
    a label of yes/no data never means; :func:`check_data` keeps the text when the data has it.
    """
    if text in _YAML12_BOOLS:
        return _YAML12_BOOLS[text]
    if _YAML12_INT.fullmatch(text):
        return int(text, 10)
    if _YAML12_OCT.fullmatch(text):
        return int(text[2:], 8)
    if _YAML12_HEX.fullmatch(text):
        return int(text[2:], 16)
    if _YAML12_FLOAT.fullmatch(text):
        return float(text)
    return text


@dataclass(frozen=True)
class InitOptions:
    """What the user gave on the command line (None: not given, taken from the repository)."""

    name: str | None = None
    task: str | None = None
    target: str | None = None
    positive_class: Any = UNSET
    id_column: str | None = None
    paths: Mapping[str, str] = field(default_factory=dict)
    #: ``--positive-class`` as typed: kept when the data has a label spelled so.
    positive_class_text: str | None = None
    train_stage: str | None = None
    python_version: str | None = None
    requirements: str | None = None
    branch: str | None = None
    owners: str | None = None
    description: str | None = None
    data_source: str | None = None


@dataclass(frozen=True)
class Settings:
    """Everything the templates need, resolved from the options and the repository."""

    name: str
    task: str
    target: str
    positive_class: Any
    id_column: str
    paths: dict[str, str]
    train_stage: str
    python_version: str
    dependency_file: str
    branch: str
    owners: str
    description: str
    labels: tuple[str, ...]
    framework_source: str | None
    explicit: dict[tuple[str, ...], Any]
    positive_class_text: str | None = None
    #: The user's stage code (from dvc.yaml's deps) that CODEOWNERS owns: the release job runs it.
    stage_code: tuple[str, ...] = ()

    @property
    def install_args(self) -> str:
        """What ``python -m pip install`` is given in the workflows."""
        return "-e ." if self.dependency_file == "pyproject.toml" else f"-r {self.dependency_file}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "task": self.task,
            "target": self.target,
            "positive_class": self.positive_class,
            "id_column": self.id_column,
            "paths": dict(self.paths),
            "train_stage": self.train_stage,
            "python_version": self.python_version,
            "dependency_file": self.dependency_file,
            "branch": self.branch,
            "owners": self.owners,
            "framework_source": self.framework_source,
        }


@dataclass(frozen=True)
class Change:
    """One part of the framework and what init does (or would do) to it."""

    path: str
    part: str
    action: str  # create | add | replace | remove | in_place | conflict
    detail: str = ""

    def line(self) -> str:
        where = self.path if self.part == "file" else f"{self.path}: {self.part}"
        return f"{self.action.replace('_', ' '):<9} {where}" + (
            f" ({self.detail})" if self.detail else ""
        )


@dataclass(frozen=True)
class InitPlan:
    """What init found and would write; ``files`` holds the new text of each changed file."""

    changes: tuple[Change, ...]
    files: dict[str, str]
    kept: tuple[str, ...]
    notes: tuple[str, ...]
    #: What init does not change but a person should (an unpinned mlgitops requirement).
    warnings: tuple[str, ...] = ()

    @property
    def conflicts(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action == "conflict")

    @property
    def in_place(self) -> bool:
        """Nothing to write and nothing in the way."""
        return not self.files and not self.conflicts

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "changes": [
                {"path": c.path, "part": c.part, "action": c.action, "detail": c.detail}
                for c in self.changes
            ],
            "files": sorted(self.files),
            "kept": list(self.kept),
            "notes": list(self.notes),
            "warnings": list(self.warnings),
        }


# ------------------------------------------------------------------------------- templates


def _environment(workflow: bool) -> jinja2.Environment:
    # Workflows are full of GitHub's own ${{ }}: their templates use <@ @> and <% %> instead.
    delimiters = (
        {
            "variable_start_string": "<@",
            "variable_end_string": "@>",
            "block_start_string": "<%",
            "block_end_string": "%>",
            "comment_start_string": "<#",
            "comment_end_string": "#>",
        }
        if workflow
        else {}
    )
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("mlgitops", "templates/init"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # YAML and text, never HTML
        **delimiters,
    )
    env.filters["yaml_scalar"] = yaml_scalar
    return env


def render_workflows(settings: Settings) -> dict[str, str]:
    """The workflow files and CODEOWNERS, by their path in the repository."""
    env = _environment(workflow=True)
    values = {
        "name": settings.name,
        "branch": settings.branch,
        "python_version": settings.python_version,
        "install_args": settings.install_args,
        "dependency_file": settings.dependency_file,
        "reports": settings.paths["reports"],
        "owners": settings.owners,
        "placeholder_owners": PLACEHOLDER_OWNERS,
        "owned": codeowned_paths(settings),
    }
    out = {
        f"{WORKFLOW_DIR}/{name}": env.get_template(f"workflows/{name}.j2").render(values)
        for name in WORKFLOWS
    }
    out[CODEOWNERS] = env.get_template("CODEOWNERS.j2").render(values)
    return out


def render_dvc(settings: Settings) -> str:
    """The framework's part of dvc.yaml: its stages, plots and the model's artifact."""
    return (
        _environment(workflow=False)
        .get_template("dvc.yaml.j2")
        .render(
            task=settings.task,
            name=settings.name,
            model=settings.paths["model"],
            plots=settings.paths["plots"].rstrip("/"),
            description=settings.description,
            labels=settings.labels,
            framework_source=settings.framework_source,
        )
    )


def framework_key_docs() -> dict[str, KeyDoc]:
    """Every framework key's documentation, by its reference path."""
    docs: dict[str, KeyDoc] = {}
    for name, info in Params.model_fields.items():
        section = info.alias or name
        docs[section] = KeyDoc(section, "section", "", summary(info.annotation), section=True)
        for doc in key_docs(section, info.annotation):
            docs[doc.path] = doc
    return docs


def _metric_comment(metric: str, rule: Mapping[str, Any]) -> str:
    direction = "higher" if higher_is_better(metric) else "lower"
    unit = "of its value" if rule.get("margin_type") == "relative" else "absolute"
    return f"{direction} is better; may lose at most {rule.get('margin')} ({unit})"


def _comment(parts: tuple[str, ...], line: str, docs: dict[str, KeyDoc]) -> str | None:
    if len(parts) == 3 and parts[:2] == ("gate", "metrics"):
        rule = yaml.safe_load(line.split(":", 1)[1])
        return _metric_comment(parts[2], rule if isinstance(rule, dict) else {})
    path = key_path(parts, docs)
    if path is None or not docs[path].description:
        return None
    text = docs[path].description
    return text if len(text) <= 90 else first_sentence(text)


def comment_params(text: str, docs: dict[str, KeyDoc]) -> str:
    """The rendered params with each section's purpose above it and each key's meaning beside."""
    out: list[str] = []
    stack: list[tuple[int, str]] = []
    for line in text.splitlines():
        match = re.match(r"^( *)([A-Za-z_][\w-]*):(?: .*)?$", line)
        if not match:
            out.append(line)
            continue
        indent, key = len(match.group(1)), match.group(2)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key))
        parts = tuple(k for _, k in stack)
        if len(parts) == 1:
            about = docs[key].description
            out += [f"# {chunk}" for chunk in _wrap(about, 96)]
            out.append(line)
            continue
        comment = _comment(parts, line, docs)
        if comment is None:
            out.append(line)
        else:
            out.append(f"{line.ljust(COMMENT_COLUMN - 2)}  # {comment}")
    return "\n".join(out) + "\n"


def _wrap(text: str, width: int) -> list[str]:
    lines, current = [], ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    return [*lines, current] if current else lines


def render_params(settings: Settings) -> str:
    """The framework's sections of params.yaml, commented, with their starting values."""
    gate = GATE_DEFAULTS[settings.task]
    text = (
        _environment(workflow=False)
        .get_template("params.yaml.j2")
        .render(
            name=settings.name,
            task=settings.task,
            target=settings.target,
            positive_class=settings.positive_class,
            id_column=settings.id_column,
            gate_metrics=gate,
            paths=settings.paths,
        )
    )
    return comment_params(text, framework_key_docs())


# ------------------------------------------------------------------------------- settings


def _safe_load(text: str | None, where: str) -> dict[str, Any]:
    if not text:
        return {}
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where} is not valid YAML ({exc}); fix it first.") from None
    return data if isinstance(data, dict) else {}


def _get(data: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return UNSET
        data = data[part]
    return data


def _resolve_refs(value: Any, params: dict[str, Any]) -> Any:
    """``${a.b}`` references in a dvc.yaml value replaced from params (DVC's own syntax)."""
    if isinstance(value, str):

        def lookup(match: re.Match[str]) -> str:
            found = _get(params, *match.group(1).split("."))
            return match.group(0) if found is UNSET else str(found)

        return re.sub(r"\$\{\s*([\w.-]+)\s*\}", lookup, value)
    return value


def stage_outs(stage: Any, params: dict[str, Any]) -> list[str]:
    """The normalised paths a dvc.yaml stage writes (outs, metrics, plots)."""
    out = []
    if not isinstance(stage, dict):
        return out
    for kind in ("outs", "metrics", "plots"):
        for entry in stage.get(kind) or []:
            name = next(iter(entry)) if isinstance(entry, dict) else entry
            out.append(_norm(str(_resolve_refs(name, params))))
    return out


def stage_deps(stage: Any, params: dict[str, Any]) -> list[str]:
    deps = stage.get("deps") if isinstance(stage, dict) else None
    return [_norm(str(_resolve_refs(d, params))) for d in deps or []]


def _norm(path: str) -> str:
    return str(PurePosixPath(path))


def _workflow_setting(workflows: Mapping[str, str | None], what: str) -> str | None:
    """A setting read back from the repository's pr.yml (a re-run keeps what it rendered)."""
    text = workflows.get(f"{WORKFLOW_DIR}/pr.yml")
    if not text:
        return None
    patterns = {
        "python_version": r'python-version:\s*"?([0-9][\w.]*)"?',
        "dependency_file": r"cache-dependency-path:\s*(\S+)",
        "branch": r"branches:\s*\[\s*([^\],\s]+)",
    }
    match = re.search(patterns[what], text)
    return match.group(1) if match else None


def _codeowners_setting(text: str | None) -> str | None:
    for line in (text or "").splitlines():
        parts = line.split("#", 1)[0].split()
        # /.github/ since CODEOWNERS owns everything CI runs; /.github/workflows/ before that.
        if parts and parts[0] in ("/.github/", "/.github/workflows/") and len(parts) > 1:
            return " ".join(parts[1:])
    return None


#: What CI runs with the repository's privileges, besides the stage code: the release job
#: (``contents: write``) installs the dependency files, runs ``mlgitops release`` and ``dvc repro
#: --pull`` (dvc.yaml's commands, params.yaml's settings, dvc.lock's record of the outputs).
CODEOWNED = ("/.github/", "/pyproject.toml", "/requirements*.txt", "/src/")
CODE_SUFFIXES = (".py", ".sh", ".R", ".r", ".jl", ".ipynb", ".sql")


def codeowned_paths(settings: Settings) -> list[str]:
    """The CODEOWNERS patterns init renders, in order (every one gets the same owners)."""
    paths = list(CODEOWNED)
    dependency = f"/{settings.dependency_file}"
    if not re.fullmatch(r"/(pyproject\.toml|requirements[^/]*\.txt)", dependency):
        paths.append(dependency)
    paths += [f"/{DVC_FILE}", "/dvc.lock", f"/{PARAMS_FILE}"]
    return paths + [f"/{p}" for p in settings.stage_code]


def stage_code(dvc: dict[str, Any], params: dict[str, Any]) -> tuple[str, ...]:
    """The user's stage code, for CODEOWNERS: the folders of their stages' code dependencies.

    A dependency is code by its suffix (``.py``, ``.sh``, ...) and when no stage writes it; its
    folder is owned (a stage imports its neighbours too), or the file itself at the top level.
    What is under ``src/`` is owned already.
    """
    stages = dvc.get("stages") if isinstance(dvc.get("stages"), dict) else {}
    written = {p for stage in stages.values() for p in stage_outs(stage, params)}
    found: set[str] = set()
    for name, stage in stages.items():
        if name in FRAMEWORK_STAGES:
            continue
        for dep in stage_deps(stage, params):
            path = PurePosixPath(dep)
            if path.suffix not in CODE_SUFFIXES or dep in written or ".." in path.parts:
                continue
            if path.parts[0] == "src" or not _SAFE_PATH.match(dep):
                continue
            found.add(f"{path.parent}/" if str(path.parent) != "." else str(path))
    return tuple(sorted(found))


def resolve_settings(
    options: InitOptions,
    *,
    params_text: str | None,
    dvc_text: str | None,
    workflows: Mapping[str, str | None],
    present: frozenset[str],
) -> Settings:
    """The settings: the options given, else what the repository says, else the defaults.

    Args:
        options: The command line.
        params_text: params.yaml as it is (None when there is none).
        dvc_text: dvc.yaml as it is (None when there is none).
        workflows: The current workflow files and CODEOWNERS (read back for re-runs).
        present: Which of ``requirements.txt``, ``pyproject.toml`` and
            ``src/mlgitops/__init__.py`` exist in the repository.

    Raises:
        ConfigError: a setting is missing, or the repository lacks what the framework needs
            (a stage that writes the model).
    """
    params = _safe_load(params_text, PARAMS_FILE)
    dvc = _safe_load(dvc_text, DVC_FILE)
    explicit: dict[tuple[str, ...], Any] = {}
    values: dict[str, Any] = {}
    for option, key in OPTION_KEYS.items():
        given = getattr(options, option)
        if given is not None and given is not UNSET:
            explicit[key] = given
            values[option] = given
        else:
            values[option] = _get(params, *key)
    for option, flag in (
        ("name", "--name"),
        ("task", "--task"),
        ("target", "--target"),
        ("id_column", "--id-column"),
    ):
        if values[option] is UNSET or values[option] in (None, ""):
            raise ConfigError(
                f"init needs {flag}: {PARAMS_FILE} has no {'.'.join(OPTION_KEYS[option])} yet."
            )
    if not re.match(ARTIFACT_NAME_PATTERN, str(values["name"])):
        raise ConfigError(
            f"model name {values['name']!r} must be lowercase letters, digits and dashes (it is a "
            "DVC artifact and a git tag name); pass another --name."
        )
    for flag, given, pattern in (
        ("--python", options.python_version, r"^3\.[0-9]+$"),
        ("--branch", options.branch, r"^[A-Za-z0-9_][A-Za-z0-9_./-]*$"),
        ("--requirements", options.requirements, _SAFE_PATH.pattern),
        ("--codeowners", options.owners, r"^(@[\w.-]+(/[\w.-]+)?|[^@\s]+@[^@\s]+)(\s+\S+)*$"),
    ):
        if given is not None and not re.match(pattern, given):
            raise ConfigError(f"{flag} {given!r} is not valid here (expected {pattern}).")
    if values["task"] not in TASK_METRICS:
        raise ConfigError(
            f"task {values['task']!r} is not one of {', '.join(TASK_METRICS)}; pass --task."
        )
    if values["positive_class"] is UNSET:
        values["positive_class"] = None
    if values["task"] == "binary" and values["positive_class"] is None:
        raise ConfigError(
            "a binary task needs --positive-class: the label counted as positive (e.g. 1 or yes)."
        )
    if values["task"] != "binary" and values["positive_class"] is not None:
        raise ConfigError(
            f"--positive-class applies to binary tasks only, not to {values['task']}."
        )
    paths: dict[str, str] = {}
    existing_paths = _get(params, "paths")
    for key, default in DEFAULT_PATHS.items():
        given = options.paths.get(key)
        have = _get(existing_paths, key) if isinstance(existing_paths, dict) else UNSET
        if given is not None:
            explicit[("paths", key)] = given
            paths[key] = given
        elif have is not UNSET and isinstance(have, str):
            paths[key] = have
        elif key == "raw" and options.data_source is not None:
            paths[key] = options.data_source
        else:
            paths[key] = default
    for key in ("reports", "plots"):
        if not _SAFE_PATH.match(paths[key]):
            raise ConfigError(
                f"paths.{key} = {paths[key]!r}: the workflows use it in shell commands, so it "
                "must be a relative path of letters, digits, '.', '_', '-' and '/'."
            )
    train_stage = _train_stage(options.train_stage, dvc, params, paths)
    dependency_file = (
        options.requirements
        or _workflow_setting(workflows, "dependency_file")
        or (
            "requirements.txt"
            if "requirements.txt" in present or "pyproject.toml" not in present
            else "pyproject.toml"
        )
    )
    artifact = _get(dvc, "artifacts", values["name"])
    description = options.description or (
        artifact.get("desc") if isinstance(artifact, dict) and artifact.get("desc") else None
    )
    if description is None:
        kind = TASK_LABELS[values["task"]].replace("-", " ")
        description = f"The {values['name']} model ({kind}) that the {train_stage} stage fits."
    labels = artifact.get("labels") if isinstance(artifact, dict) else None
    if not isinstance(labels, list) or not labels:
        labels = ["tabular", TASK_LABELS[values["task"]], "scikit-learn"]
    return Settings(
        name=values["name"],
        task=values["task"],
        target=values["target"],
        positive_class=values["positive_class"],
        id_column=values["id_column"],
        paths=paths,
        train_stage=train_stage,
        python_version=options.python_version
        or _workflow_setting(workflows, "python_version")
        or "3.11",
        dependency_file=dependency_file,
        branch=options.branch or _workflow_setting(workflows, "branch") or "main",
        owners=options.owners
        or _codeowners_setting(workflows.get(CODEOWNERS))
        or PLACEHOLDER_OWNERS,
        description=description,
        labels=tuple(str(label) for label in labels),
        framework_source=FRAMEWORK_SOURCE if f"{FRAMEWORK_SOURCE}/__init__.py" in present else None,
        explicit=explicit,
        positive_class_text=options.positive_class_text,
        stage_code=stage_code(dvc, {**params, "paths": paths}),
    )


def _train_stage(
    given: str | None, dvc: dict[str, Any], params: dict[str, Any], paths: dict[str, str]
) -> str:
    """The user's stage that writes the model and its metadata (the framework stages read both)."""
    stages = dvc.get("stages") if isinstance(dvc.get("stages"), dict) else {}
    merged = {**params, "paths": paths}
    model, metadata = _norm(paths["model"]), _norm(paths["model_metadata"])
    if given is None:
        writers = [
            name
            for name, stage in stages.items()
            if name not in FRAMEWORK_STAGES and model in stage_outs(stage, merged)
        ]
        if not writers:
            raise ConfigError(
                f"no stage in {DVC_FILE} writes the model {model} (paths.model): add your train "
                f"stage first ({TRAIN_CONTRACT}), or name it with --train-stage, or point --model "
                "at what it writes."
            )
        given = writers[0]
    if given not in stages:
        raise ConfigError(f"{DVC_FILE} has no stage {given!r} (--train-stage).")
    outs = stage_outs(stages[given], merged)
    for what, path, flag in (("model", model, "--model"), ("metadata", metadata, "--metadata")):
        if path not in outs:
            raise ConfigError(
                f"stage {given} in {DVC_FILE} does not write the {what} {path} (it writes "
                f"{', '.join(outs) or 'nothing'}); add it to its outs or pass {flag}."
            )
    return given


def check_data(frame: Any, settings: Settings, source: str) -> Settings:
    """The target column of ``frame`` fits the task; the positive class is one of its labels.

    The positive class as typed on the command line is meant when the data has a text label
    spelled so (``yes``, ``1``, ``true``); else its value (:func:`parse_label`) must equal a label
    of the same kind (the boolean ``true`` is not the number 1). A value from params.yaml that
    matches no label but as text (``1`` against labels ``"0"``/``"1"``) is meant as that text.

    Raises:
        DataError: no target column, or labels that do not fit the task.
    """
    import pandas as pd

    target = settings.target
    if target not in frame.columns:
        raise DataError(f"{source} has no column {target} (the target); check --target.")
    labels = frame[target].dropna()
    distinct = list(pd.unique(labels))
    if settings.task == "regression":
        if not pd.api.types.is_numeric_dtype(labels) or pd.api.types.is_bool_dtype(labels):
            raise DataError(
                f"{source}: the target {target} is not numeric, so the task cannot be regression."
            )
        return settings
    if len(distinct) < 2:
        raise DataError(
            f"{source}: the target {target} has a single value; a classifier needs two."
        )
    if settings.task == "binary":
        if len(distinct) != 2:
            raise DataError(
                f"{source}: the target {target} has {len(distinct)} values, not 2; use --task "
                "multiclass."
            )
        positive = settings.positive_class
        plain_labels = [v.item() if hasattr(v, "item") else v for v in distinct]
        typed = settings.positive_class_text
        same = [
            v
            for v in plain_labels
            if v == positive and isinstance(v, bool) == isinstance(positive, bool)
        ]
        if typed is not None and typed in [v for v in plain_labels if isinstance(v, str)]:
            positive = typed
        elif same:
            positive = same[0]
        else:
            as_text = str(positive).lower() if isinstance(positive, bool) else str(positive)
            if as_text in [str(v) for v in plain_labels]:
                positive = next(v for v in plain_labels if str(v) == as_text)
            else:
                shown = ", ".join(map(str, sorted(plain_labels, key=str)))
                raise DataError(
                    f"{source}: the positive class {positive!r} is not a label of {target} "
                    f"({shown}); pass one of them with --positive-class."
                )
        explicit = dict(settings.explicit)
        if ("data", "positive_class") in explicit:
            explicit["data", "positive_class"] = positive
        return replace(settings, positive_class=positive, explicit=explicit)
    return settings


# ------------------------------------------------------------------------------- merging


@dataclass
class _Merge:
    """Accumulates the changes of one plan."""

    force: bool
    changes: list[Change] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add(self, path: str, part: str, action: str, detail: str = "") -> None:
        self.changes.append(Change(path, part, action, detail))

    def conflicts_present(self) -> bool:
        return any(c.action == "conflict" for c in self.changes)

    def differs(self, path: str, part: str, detail: str) -> str:
        """Record a difference: a replacement when forced, else a conflict. Returns the action."""
        action = "replace" if self.force else "conflict"
        hint = "" if self.force else "; --force replaces it"
        self.add(path, part, action, detail + hint)
        return action


def _merge_file(merge: _Merge, path: str, current: str | None, wanted: str) -> str | None:
    """A file the framework owns: the new text, or None when nothing is written."""
    if current is None:
        merge.add(path, "file", "create")
        return wanted
    if current == wanted:
        merge.add(path, "file", "in_place")
        return None
    differing = next(
        (
            i + 1
            for i, (a, b) in enumerate(zip(current.splitlines(), wanted.splitlines(), strict=False))
            if a != b
        ),
        min(len(current.splitlines()), len(wanted.splitlines())) + 1,
    )
    action = merge.differs(path, "file", f"differs from the rendering from line {differing}")
    return wanted if action == "replace" else None


def _differing_keys(have: Any, want: Any) -> str:
    if isinstance(have, dict) and isinstance(want, dict):
        keys = [k for k in {**want, **have} if have.get(k) != want.get(k)]
        return ", ".join(keys) + (" differ" if len(keys) > 1 else " differs")
    return "differs"


def _last_key(doc: YamlText, path: tuple[Any, ...]) -> Any:
    container = doc.node(path)
    return list(container.keys())[-1] if isinstance(container, dict) else len(container) - 1


def merge_dvc(merge: _Merge, current: str, rendered: str, settings: Settings) -> str:
    """dvc.yaml with the framework's stages, plots and artifact in it."""
    want = YamlText(rendered, "the rendered dvc.yaml")
    doc = YamlText(current, DVC_FILE)
    if doc.data is None or not isinstance(doc.data.get("stages"), dict) or not doc.data["stages"]:
        raise ConfigError(
            f"{DVC_FILE} has no stages; add your own (prepare, train) first, as {TRAIN_CONTRACT} "
            "shows."
        )
    # Stages: after the last stage, in the framework's order.
    for name in FRAMEWORK_STAGES:
        path = ("stages", name)
        target = plain(want.node(path))
        if name not in doc.data["stages"]:
            blank = doc.separated_by_blank_lines(("stages",))
            doc = doc.insert_after(
                ("stages", _last_key(doc, ("stages",))), want.block(path), blank_line=blank
            )
            merge.add(DVC_FILE, f"stage {name}", "add")
        elif plain(doc.node(path)) == target:
            merge.add(DVC_FILE, f"stage {name}", "in_place")
        elif (
            merge.differs(DVC_FILE, f"stage {name}", _differing_keys(plain(doc.node(path)), target))
            == "replace"
        ):
            doc = doc.replace(path, want.block(path))
    doc = _merge_plots(merge, doc, want, settings)
    return _merge_artifact(merge, doc, want, settings).text


def _plot_title(item: Any) -> str:
    return str(next(iter(item))) if isinstance(item, dict) and item else str(item)


def _plot_files(item: Any) -> list[str]:
    if not isinstance(item, dict) or not item:
        return []
    spec = next(iter(item.values()))
    y = spec.get("y") if isinstance(spec, dict) else None
    return [str(k) for k in y] if isinstance(y, dict) else []


def _merge_plots(merge: _Merge, doc: YamlText, want: YamlText, settings: Settings) -> YamlText:
    wanted = {_plot_title(item): i for i, item in enumerate(want.data["plots"])}
    plots = doc.data.get("plots")
    if plots and not isinstance(plots, list):
        raise ConfigError(f"{DVC_FILE}: plots must be a list of plot definitions.")
    plots_dir = _norm(settings.paths["plots"])
    # Stale framework plots first (plot files in paths.plots the rendering does not draw): the
    # list shrinks from its end, so indexes of earlier items stay valid.
    for i in reversed(range(len(plots or []))):
        item = doc.data["plots"][i]
        title = _plot_title(item)
        ours = any(_norm(f).startswith(plots_dir + "/") for f in _plot_files(item))
        if ours and title not in wanted:
            if merge.force:
                doc = doc.delete(("plots", i))
                merge.add(DVC_FILE, f"plot {title}", "remove", "not drawn for this task")
            else:
                merge.add(
                    DVC_FILE,
                    f"plot {title}",
                    "conflict",
                    f"reads {plots_dir}, which evaluate does not write for a {settings.task} "
                    "task; --force removes it",
                )
    if not doc.data.get("plots"):
        block = want.block(("plots",))
        doc = doc.replace(("plots",), block) if "plots" in doc.data else doc.append(block)
        for title in wanted:
            merge.add(DVC_FILE, f"plot {title}", "add")
        return doc
    for title, index in wanted.items():
        block = want.block(("plots", index))
        target = plain(want.node(("plots", index)))
        titles = [_plot_title(item) for item in doc.data["plots"]]
        if title not in titles:
            doc = doc.insert_after(("plots", len(titles) - 1), block)
            merge.add(DVC_FILE, f"plot {title}", "add")
            continue
        at = titles.index(title)
        if plain(doc.data["plots"][at]) == target:
            merge.add(DVC_FILE, f"plot {title}", "in_place")
        elif merge.differs(DVC_FILE, f"plot {title}", "differs") == "replace":
            doc = doc.replace(("plots", at), block)
    return doc


def _merge_artifact(merge: _Merge, doc: YamlText, want: YamlText, settings: Settings) -> YamlText:
    name = settings.name
    path = ("artifacts", name)
    part = f"artifact {name}"
    if "artifacts" not in doc.data or not doc.data["artifacts"]:
        block = want.block(("artifacts",))
        doc = doc.replace(("artifacts",), block) if "artifacts" in doc.data else doc.append(block)
        merge.add(DVC_FILE, part, "add")
        return doc
    if not isinstance(doc.data["artifacts"], dict):
        raise ConfigError(f"{DVC_FILE}: artifacts must be a mapping of names to artifacts.")
    target = plain(want.node(path))
    if name not in doc.data["artifacts"]:
        doc = doc.insert_after(("artifacts", _last_key(doc, ("artifacts",))), want.block(path))
        merge.add(DVC_FILE, part, "add")
    elif plain(doc.node(path)) == target:
        merge.add(DVC_FILE, part, "in_place")
    elif merge.differs(DVC_FILE, part, _differing_keys(plain(doc.node(path)), target)) == "replace":
        doc = doc.replace(path, want.block(path))
    return doc


def _is_section(path: tuple[str, ...], docs: dict[str, KeyDoc]) -> bool:
    ref = key_path(path, docs)
    return ref is not None and docs[ref].type == "section"


def _header(want: YamlText, section: str) -> str:
    """The comment lines the rendering puts above a section."""
    start = want.span((section,))[0]
    lines = []
    for line in reversed(want.lines[:start]):
        if not line.startswith("#"):
            break
        lines.insert(0, line)
    return "\n".join(lines) + "\n" if lines else ""


def merge_params(merge: _Merge, current: str | None, rendered: str, settings: Settings) -> str:
    """params.yaml with every framework section and key in it."""
    want = YamlText(rendered, "the rendered params")
    docs = framework_key_docs()
    if current is None or not current.strip():
        merge.add(PARAMS_FILE, "file", "create")
        return PARAMS_HEADER + "\n" + rendered
    doc = YamlText(current, PARAMS_FILE)
    appended: list[str] = []
    for section in FRAMEWORK_SECTIONS:
        path = (section,)
        block = want.block(path)
        if doc.data is None or section not in doc.data:
            appended.append(_header(want, section) + block)
            merge.add(PARAMS_FILE, f"section {section}", "add")
            continue
        have, target = plain(doc.node(path)), plain(want.node(path))
        if have == target:
            merge.add(PARAMS_FILE, f"section {section}", "in_place")
        elif merge.force:
            doc = doc.replace(path, block)
            merge.add(PARAMS_FILE, f"section {section}", "replace", _differing_keys(have, target))
        elif not isinstance(have, dict) or doc.is_flow(path):
            merge.add(
                PARAMS_FILE,
                f"section {section}",
                "conflict",
                "not a block mapping of keys; --force replaces it",
            )
        else:
            before = len(merge.changes)
            doc = _merge_keys(merge, doc, want, path, settings, docs)
            if len(merge.changes) == before:
                merge.add(PARAMS_FILE, f"section {section}", "in_place")
    text = doc.text
    for block in appended:
        text = YamlText(text, PARAMS_FILE).append(block).text
    return text


def _merge_keys(
    merge: _Merge,
    doc: YamlText,
    want: YamlText,
    path: tuple[str, ...],
    settings: Settings,
    docs: dict[str, KeyDoc],
) -> YamlText:
    wanted_keys = list(want.node(path).keys())
    for i, key in enumerate(wanted_keys):
        sub = (*path, key)
        dotted = ".".join(sub)
        container = doc.node(path)
        if key not in container:
            before = [k for k in wanted_keys[:i] if k in container]
            if before:
                doc = doc.insert_after((*path, before[-1]), want.block(sub))
            elif container:
                doc = doc.insert_before((*path, next(iter(container))), want.block(sub))
            else:
                merge.add(PARAMS_FILE, dotted, "conflict", "empty; --force replaces it")
                continue
            merge.add(PARAMS_FILE, dotted, "add")
            continue
        have, target = plain(doc.node(sub)), plain(want.node(sub))
        if _is_section(sub, docs) and isinstance(have, dict) and not doc.is_flow(sub):
            doc = _merge_keys(merge, doc, want, sub, settings, docs)
        elif sub in settings.explicit and have != target:
            merge.add(
                PARAMS_FILE,
                dotted,
                "conflict",
                f"is {yaml_scalar(have) if not isinstance(have, dict | list) else have}, the "
                f"command line says {yaml_scalar(target)}; --force replaces the section",
            )
        elif have != target:
            merge.kept.append(dotted)
    for key in list(doc.node(path).keys()):
        if key not in want.node(path):
            merge.add(
                PARAMS_FILE,
                ".".join((*path, str(key))),
                "conflict",
                "not a setting the framework knows; remove it, or --force replaces the section",
            )
    return doc


def plan_init(
    settings: Settings,
    files: Mapping[str, str | None],
    *,
    schema: str | None,
    force: bool = False,
    parts: tuple[str, ...] = PARTS,
    framework_version: str | None = None,
) -> InitPlan:
    """What init writes, given the repository's files and the settings.

    Args:
        settings: From :func:`resolve_settings`.
        files: The current text of params.yaml, dvc.yaml, the workflows, CODEOWNERS and the
            schema file (None for a file that does not exist).
        schema: The schema file's text inferred from ``--data`` (None: not inferred; an existing
            schema file is then the user's and stays as it is).
        force: Replace the framework's parts that differ.
        parts: Which parts to bring (workflows, dvc, params, schema).
        framework_version: The installed mlgitops version, pinned in the requirements file the
            workflows install when it names no mlgitops (None: the requirements are not looked
            at). Part of the workflows: they are what installs it.

    Raises:
        ConfigError: what the framework needs is missing, or the merged params.yaml would not
            load.
    """
    merge = _Merge(force=force)
    out: dict[str, str] = {}

    def keep(path: str, text: str | None) -> None:
        if text is not None and text != files.get(path):
            out[path] = text

    if "workflows" in parts:
        for path, text in render_workflows(settings).items():
            keep(path, _merge_file(merge, path, files.get(path), text))
        if framework_version is not None and settings.framework_source is None:
            dependency = settings.dependency_file
            keep(dependency, merge_requirements(merge, dependency, files, framework_version))
    if "dvc" in parts:
        current = files.get(DVC_FILE)
        if current is None:
            raise ConfigError(
                f"there is no {DVC_FILE}; add your own stages (prepare, train) first, as "
                f"{TRAIN_CONTRACT} shows."
            )
        keep(DVC_FILE, merge_dvc(merge, current, render_dvc(settings), settings))
        _note_dependencies(merge, current, settings)
    if "params" in parts:
        text = merge_params(merge, files.get(PARAMS_FILE), render_params(settings), settings)
        if not merge.conflicts_present():
            _check_params(text)
        keep(PARAMS_FILE, text)
        if "model_card.intended_use" not in merge.kept and (
            files.get(PARAMS_FILE) is None or "TODO:" in (out.get(PARAMS_FILE) or "")
        ):
            merge.notes.append(
                f"{PARAMS_FILE}: write model_card (intended_use, out_of_scope, limitations), "
                "evaluate.slices and drift.key_features for your model."
            )
    if "schema" in parts:
        schema_path = settings.paths["schema_file"]
        current = files.get(schema_path)
        if schema is None:
            if current is None:
                raise ConfigError(
                    f"{schema_path} (paths.schema_file) does not exist; pass --data FILE to infer "
                    "a starter schema from your data."
                )
            merge.add(schema_path, "file", "in_place", "yours; pass --data to compare")
        else:
            keep(schema_path, _merge_file(merge, schema_path, current, schema))
            if schema_path in out:
                merge.notes.append(
                    f"{schema_path}: review the inferred rules (ranges, categories, nullable) "
                    "before you commit it."
                )
    if merge.conflicts_present():
        out = {}
    return InitPlan(
        changes=tuple(merge.changes),
        files=out,
        kept=tuple(merge.kept),
        notes=tuple(merge.notes),
        warnings=tuple(merge.warnings),
    )


# ------------------------------------------------------------------------------- requirements

FRAMEWORK_PACKAGE = "mlgitops"
_INCLUDE = re.compile(r"^(?:-r|--requirement)(?:\s+|=)(\S+)$")
_COMMIT = re.compile(r"@[0-9a-fA-F]{7,40}$")


def _logical_lines(text: str) -> list[str]:
    """A requirements file's requirement lines: comments dropped, continuations joined."""
    out: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if line.endswith("\\"):
            pending += line[:-1]
            continue
        line, pending = (pending + line).strip(), ""
        if line:
            out.append(line)
    if pending.strip():
        out.append(pending.strip())
    return out


def requirement_includes(path: str, text: str) -> list[str]:
    """The files ``path`` includes with ``-r FILE``, relative to the repository root."""
    base = PurePosixPath(path).parent
    found = []
    for line in _logical_lines(text):
        match = _INCLUDE.match(line)
        if match:
            found.append(_norm(str(base / match.group(1))))
    return found


def _names_framework(line: str) -> bool:
    if line.startswith(("-e ", "--editable")):
        return bool(re.search(rf"(egg=|/){FRAMEWORK_PACKAGE}(\.git)?([@#&]|$)", line))
    if line.startswith("-"):
        return False
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        name = Requirement(line).name
    except InvalidRequirement:
        return False
    return re.sub(r"[-_.]+", "-", name).lower() == FRAMEWORK_PACKAGE


def requirement_is_pinned(line: str) -> bool:
    """An exact version (``==1.2.3``) or a VCS URL at a commit (``...@<sha>``)."""
    if line.startswith(("-e ", "--editable")):
        url = line.split(None, 1)[1].split("#", 1)[0].strip()
        return bool(_COMMIT.search(url))
    from packaging.requirements import Requirement

    requirement = Requirement(line)
    if requirement.url:
        return bool(_COMMIT.search(requirement.url.split("#", 1)[0]))
    specs = list(requirement.specifier)
    return len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version


def framework_requirement(path: str, files: Mapping[str, str | None]) -> tuple[str, str] | None:
    """Where ``path`` (or a file it includes with ``-r``) requires mlgitops: (file, line)."""
    seen: set[str] = set()
    queue = [_norm(path)]
    while queue:
        current = queue.pop(0)
        text = files.get(current)
        if current in seen or text is None:
            continue
        seen.add(current)
        for line in _logical_lines(text):
            if _names_framework(line):
                return current, line
        queue += requirement_includes(current, text)
    return None


def pin_block(version: str, newline: str = "\n") -> str:
    """The lines init adds to a requirements file that names no mlgitops."""
    lines = (
        f"# The framework the workflows run (added by `mlgitops init`). If {FRAMEWORK_PACKAGE} is",
        "# not published to your package index, replace the pin with a git URL at a commit:",
        f"# {FRAMEWORK_PACKAGE} @ git+https://github.com/<org>/{FRAMEWORK_PACKAGE}@<sha>",
        f"{FRAMEWORK_PACKAGE}=={version}",
    )
    return newline.join(lines) + newline


def merge_requirements(
    merge: _Merge, path: str, files: Mapping[str, str | None], version: str
) -> str | None:
    """The requirements file the workflows install, with mlgitops pinned in it.

    A file that names no mlgitops gets an exact pin of ``version`` (the one init runs), added
    at its end; one that names it without a pin is the user's to fix (a warning: init never
    rewrites a requirement); pyproject.toml (``pip install -e .``) is only checked.
    """
    part = f"requirement {FRAMEWORK_PACKAGE}"
    if path == "pyproject.toml":
        _check_pyproject(merge, files.get(path))
        return None
    found = framework_requirement(path, files)
    if found is not None:
        where, line = found
        if requirement_is_pinned(line):
            merge.add(path, part, "in_place", line if where == path else f"{line}, in {where}")
        else:
            merge.add(path, part, "in_place", f"{line}, not pinned")
            merge.warnings.append(
                f"{where}: `{line}` does not pin {FRAMEWORK_PACKAGE}, so every CI run installs "
                f"whatever the index has then; pin it ({FRAMEWORK_PACKAGE}=={version}, or "
                f"{FRAMEWORK_PACKAGE} @ git+https://github.com/<org>/{FRAMEWORK_PACKAGE}@<sha>)."
            )
        return None
    current = files.get(path)
    newline = "\r\n" if current and "\r\n" in current else "\n"
    if current is None:
        merge.add(
            path, part, "create", f"{FRAMEWORK_PACKAGE}=={version}, what the workflows install"
        )
        return pin_block(version)
    text = current if not current or current.endswith("\n") else current + newline
    if text.strip():
        text += "" if text.endswith(newline * 2) else newline
    merge.add(path, part, "add", f"{FRAMEWORK_PACKAGE}=={version}, what the workflows install")
    return text + pin_block(version, newline)


def _check_pyproject(merge: _Merge, text: str | None) -> None:
    import tomllib

    try:
        project = tomllib.loads(text or "").get("project") or {}
    except tomllib.TOMLDecodeError:
        return  # pip reports it; init does not own the file
    dependencies = [d for d in project.get("dependencies") or [] if isinstance(d, str)]
    named = [d for d in dependencies if _names_framework(d)]
    if not named:
        merge.warnings.append(
            f"pyproject.toml: [project].dependencies names no {FRAMEWORK_PACKAGE}, so the "
            f"workflows' `pip install -e .` does not install it; add a pinned "
            f"{FRAMEWORK_PACKAGE} requirement there."
        )
    elif not requirement_is_pinned(named[0]):
        merge.warnings.append(
            f"pyproject.toml: `{named[0]}` does not pin {FRAMEWORK_PACKAGE}, so every CI run "
            "installs whatever the index has then; pin an exact version or a git commit."
        )


def _check_params(text: str) -> None:
    raw = _safe_load(text, PARAMS_FILE)
    try:
        parse(raw, Params, PurePosixPath(PARAMS_FILE))  # type: ignore[arg-type]
    except ConfigError as exc:
        raise ConfigError(
            f"params.yaml as init would write it does not load ({exc}); fix that value, or "
            "re-run with --force to replace the framework's sections."
        ) from None


def _note_dependencies(merge: _Merge, current: str, settings: Settings) -> None:
    """Hints about the user's stages: what they should depend on for the pipeline to be sound."""
    dvc = _safe_load(current, DVC_FILE)
    stages = dvc.get("stages") or {}
    merged = {"paths": settings.paths}
    writes = {p for name, s in stages.items() for p in stage_outs(s, merged)}
    for key in ("train", "test"):
        path = _norm(settings.paths[key])
        if path not in writes:
            merge.notes.append(
                f"no stage writes {path} (paths.{key}); validate reads it, so track it with git "
                "or `dvc add`, or point --{key} at what your prepare stage writes."
            )
    deps = stage_deps(stages.get(settings.train_stage), merged)
    if _norm(settings.paths["validation_report"]) not in deps:
        merge.notes.append(
            f"stage {settings.train_stage}: add {settings.paths['validation_report']} "
            "(paths.validation_report) to its deps, so it trains only on data that passed "
            "validation."
        )
