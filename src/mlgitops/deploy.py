"""Deploys: put a version in front of a stage's users, smoke-test it, and only then move the stage.

A stage's target is declared in the ``deploy`` section of params.yaml (one sub-section per GTO
stage):

- ``server``: the built-in server. The version is started on loopback with
  :class:`mlgitops.serve.process.ServerProcess` and smoke-tested over HTTP; when that passes, the
  stage tag moves, and every ``mlgitops serve --stage S --watch`` reconciles to it (smoke-testing
  the version again before it swaps).
- ``command``: the user's program, run with an argument list (no shell) and told what to deploy
  through ``MLGITOPS_MODEL_NAME``, ``MLGITOPS_VERSION``, ``MLGITOPS_MODEL_PATH``,
  ``MLGITOPS_METADATA_PATH``, ``MLGITOPS_STAGE`` (and ``MLGITOPS_COMMIT``,
  ``MLGITOPS_SMOKE_SAMPLE_PATH``); then the smoke test runs against ``url`` when one is configured,
  else in process on the same files.
- ``bundle``: a self-contained ``.tar.gz`` in ``bundle_dir`` (model, metadata, input schema,
  model card, smoke sample, pinned ``requirements.txt``, a README and a manifest of hashes); the
  smoke test loads the model back out of the archive, and the archive is moved into place only
  when that passes.

Every deploy runs a smoke test (:mod:`mlgitops.serve.smoke`: health, version, predictions equal
to the offline ones). When it fails the stage does not move and the command exits 1: the
previous version keeps serving. A command target that already ran is run again with the previous
version. When the stage already pointed at the failing version (a person pushed the stage tag),
the stage is assigned back to the version before it, or unassigned (GTO's ``name#stage!#N``) when
that tag was its first assignment, so the tags stay the truth.

A stage never moves back by accident: a version older (semver) than the stage's current one is
skipped (exit 0, saying so) unless the deploy says ``--allow-downgrade``; ``mlgitops rollback``
is the other deliberate way back. A re-run of an old release's workflow, or a late approval of
an older queued prod job, therefore leaves the stages where they are.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlgitops.artifact import load_model, trusted_types
from mlgitops.errors import ConfigError, MlgitopsError
from mlgitops.fingerprint import bytes_sha256
from mlgitops.fsio import dumps_json, read_json, write_bytes
from mlgitops.gittags import fetch_tags, has_remote
from mlgitops.params import Params, StageDeployParams
from mlgitops.registry import (
    VersionEntry,
    assign_stage,
    fetch_artifact,
    fetch_output,
    find_version,
    paths_at,
    previous_version,
    resolve_stage,
    semver_key,
    stage_history,
    unassign_stage,
)

RESULT_VERSION = 1
BUNDLE_VERSION = 1

#: Libraries recorded in the metadata that inference does not need.
_NOT_FOR_INFERENCE = frozenset({"python", "mlgitops", "dvc"})

Log = Callable[[str], None]


class DeployError(MlgitopsError):
    """A deploy cannot start: unknown stage, no version to deploy, nothing to roll back to."""


@dataclass(frozen=True)
class DeployResult:
    """What a deploy did.

    ``status`` is ``deployed`` (the smoke test passed; the stage points at the version),
    ``failed`` (it did not; the stage points where it pointed before, or at nothing when this was
    its first assignment) or ``skipped`` (the version is older than the stage's, and moving a
    stage back was not asked for: nothing was tried, the stage stays).
    """

    status: Literal["deployed", "failed", "skipped"]
    name: str
    stage: str
    version: str
    target: str
    previous: str | None
    tag: str | None
    smoke: dict[str, Any]
    detail: str
    restored: str | None = None
    reverted_tag: str | None = None
    bundle: str | None = None
    steps: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """Whether the command succeeds (a skip is a success: nothing needed doing)."""
        return self.status != "failed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": RESULT_VERSION,
            "status": self.status,
            "name": self.name,
            "stage": self.stage,
            "version": self.version,
            "target": self.target,
            "previous": self.previous,
            "tag": self.tag,
            "smoke": self.smoke,
            "detail": self.detail,
            "restored": self.restored,
            "reverted_tag": self.reverted_tag,
            "bundle": self.bundle,
        }

    def sentence(self) -> str:
        if self.status == "skipped":
            return f"skipped: {self.detail}"
        if self.ok:
            moved = f" ({self.tag})" if self.tag else " (it already pointed there)"
            return (
                f"deployed {self.name} {self.version} to {self.stage} with target "
                f"{self.target}{moved}: {self.detail}"
            )
        kept = self.previous or "nothing"
        if self.reverted_tag is not None and self.previous is None:
            kept = f"nothing (unassigned with {self.reverted_tag})"
        return (
            f"deploy of {self.name} {self.version} to {self.stage} failed, {self.stage} stays at "
            f"{kept}: {self.detail}"
        )


def stage_target(params: Params, stage: str) -> StageDeployParams:
    """The deploy target params.yaml declares for ``stage``.

    Raises:
        ConfigError: the stage has no sub-section in ``deploy``.
    """
    stages = tuple(type(params.deploy).model_fields)
    if stage not in stages:
        raise ConfigError(
            f"stage {stage!r} has no deploy target in params.yaml (the deploy section declares "
            f"{', '.join(stages)}); use one of those."
        )
    return getattr(params.deploy, stage)


@dataclass(frozen=True)
class Fetched:
    """A version's files, fetched into a temporary directory."""

    entry: VersionEntry
    model: Path
    metadata: Path
    smoke_sample: Path


def fetch_version(root: Path, entry: VersionEntry, dest: Path, params_file: str) -> Fetched:
    """Fetch a version's model, metadata and smoke sample through DVC at its commit."""
    model, metadata = fetch_artifact(root, entry, dest, params_file=params_file)
    paths = paths_at(root, entry.commit, params_file)
    sample_path = paths.get("smoke_sample")
    if not sample_path:
        raise DeployError(
            f"{params_file} at {entry.tag} names no paths.smoke_sample, so {entry.version} has "
            "no smoke test; release a version built by a pipeline that writes one."
        )
    sample = fetch_output(root, entry.commit, sample_path, dest / "smoke_sample.json")
    return Fetched(entry, model, metadata, sample)


# -- targets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetOutcome:
    """The smoke test's verdict (and for a bundle, the archive to put in place)."""

    ok: bool
    smoke: dict[str, Any]
    detail: str
    ran_command: bool = False
    archive: bytes | None = None


def _failed(check: str, detail: str, ran_command: bool = False) -> TargetOutcome:
    smoke = {"ok": False, "checks": [{"name": check, "ok": False, "detail": detail}]}
    return TargetOutcome(False, smoke, f"smoke test failed: {check}: {detail}", ran_command)


def _in_process_smoke(fetched: Fetched, extra_trusted: tuple[str, ...]) -> TargetOutcome:
    from mlgitops.serve.smoke import load_smoke_sample, smoke_test_model

    try:
        model = load_model(fetched.model, fetched.metadata, extra_trusted)
    except MlgitopsError as exc:
        return _failed("load", str(exc))
    result = smoke_test_model(model, load_smoke_sample(fetched.smoke_sample))
    return TargetOutcome(result.ok, result.to_dict(), result.summary())


def deploy_server(
    root: Path, fetched: Fetched, target: StageDeployParams, params_file: str
) -> TargetOutcome:
    """Start the version on loopback with the built-in server and smoke-test it over HTTP."""
    from mlgitops.serve.process import ServerProcess
    from mlgitops.serve.smoke import load_smoke_sample, smoke_test

    version = fetched.entry.version
    sample = load_smoke_sample(fetched.smoke_sample)
    server = ServerProcess(
        fetched.model,
        fetched.metadata,
        version=version,
        params=Path(root) / params_file,
        cwd=root,
        startup_timeout=max(60.0, target.smoke_timeout),
    )
    try:
        with server:
            result = smoke_test(
                server.url, sample, expected_version=version, timeout=target.smoke_timeout
            )
    except MlgitopsError as exc:
        return _failed("start", str(exc).splitlines()[0])
    return TargetOutcome(result.ok, result.to_dict(), result.summary())


def command_env(fetched: Fetched, stage: str) -> dict[str, str]:
    """The environment a command target is given: this process's plus what to deploy."""
    return {
        **os.environ,
        "MLGITOPS_MODEL_NAME": fetched.entry.name,
        "MLGITOPS_VERSION": fetched.entry.version,
        "MLGITOPS_MODEL_PATH": str(fetched.model.resolve()),
        "MLGITOPS_METADATA_PATH": str(fetched.metadata.resolve()),
        "MLGITOPS_STAGE": stage,
        "MLGITOPS_COMMIT": fetched.entry.commit,
        "MLGITOPS_SMOKE_SAMPLE_PATH": str(fetched.smoke_sample.resolve()),
    }


def run_command(root: Path, fetched: Fetched, target: StageDeployParams, stage: str) -> str | None:
    """Run the command target for ``fetched``; return why it failed, or None."""
    try:
        result = subprocess.run(
            list(target.command),
            cwd=root,
            env=command_env(fetched, stage),
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:
        return f"could not run {target.command[0]!r} ({exc})"
    if result.returncode != 0:
        tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-3:])
        return f"{target.command[0]} exited {result.returncode}" + (f": {tail}" if tail else "")
    return None


def deploy_command(
    root: Path, fetched: Fetched, target: StageDeployParams, stage: str, extra: tuple[str, ...]
) -> TargetOutcome:
    """Run the user's command, then smoke-test ``url`` (or the files, in process)."""
    from mlgitops.serve.smoke import load_smoke_sample, smoke_test

    problem = run_command(root, fetched, target, stage)
    if problem is not None:
        return _failed("command", problem, ran_command=True)
    if target.url is None:
        outcome = _in_process_smoke(fetched, extra)
    else:
        result = smoke_test(
            target.url,
            load_smoke_sample(fetched.smoke_sample),
            expected_version=fetched.entry.version,
            timeout=target.smoke_timeout,
        )
        outcome = TargetOutcome(result.ok, result.to_dict(), result.summary())
    return TargetOutcome(outcome.ok, outcome.smoke, outcome.detail, ran_command=True)


def _canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_closure(roots: Iterable[str]) -> dict[str, str]:
    """Every distribution ``roots`` need at run time, with the version installed here.

    Walks the ``Requires-Dist`` metadata of the running environment from ``roots``: extras are
    not followed and environment markers are evaluated for this interpreter and platform, so the
    closure is what these libraries import here. ``roots`` that are not installed are skipped.
    Names are canonical (PEP 503); the roots themselves are included.
    """
    from importlib import metadata

    from packaging.requirements import InvalidRequirement, Requirement

    found: dict[str, str] = {}
    todo = [_canonical(r) for r in roots]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        try:
            found[name] = metadata.version(name)
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            try:
                requirement = Requirement(line)
            except InvalidRequirement:
                continue
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
            todo.append(_canonical(requirement.name))
    return found


def requirements_txt(libraries: dict[str, str], closure: dict[str, str] | None = None) -> str:
    """Pinned requirements for loading and running a model (pure).

    Args:
        libraries: The metadata's library versions (what the model was trained with); pinned
            as recorded, except the ones inference does not need.
        closure: Their runtime dependencies with versions (see :func:`runtime_closure`); each
            one not among ``libraries`` is pinned too, under its own heading.
    """
    pinned = {
        _canonical(name): version
        for name, version in libraries.items()
        if name not in _NOT_FOR_INFERENCE
    }
    lines = ["# The libraries the model was trained with (its metadata)."]
    lines += [f"{name}=={version}" for name, version in sorted(pinned.items())]
    rest = {n: v for n, v in (closure or {}).items() if n not in pinned}
    if rest:
        lines.append("# What they need at run time, as installed where this bundle was built.")
        lines += [f"{name}=={version}" for name, version in sorted(rest.items())]
    return "\n".join(lines) + "\n"


def bundle_requirements(libraries: dict[str, str]) -> str:
    """``requirements.txt`` of a bundle: the metadata's libraries and their runtime closure."""
    roots = [name for name in libraries if name not in _NOT_FOR_INFERENCE]
    return requirements_txt(libraries, runtime_closure(roots))


def _bundle_readme(entry: VersionEntry, metadata: dict[str, Any], trusted: tuple[str, ...]) -> str:
    python = metadata.get("libraries", {}).get("python", "3")
    trusted_lines = "\n".join(f"    {t!r}," for t in trusted)
    return f"""# {entry.name} {entry.version}

A self-contained bundle of model version `{entry.tag}` (commit `{entry.commit}`), made by
`mlgitops deploy`. `MANIFEST.json` lists every file with its sha256.

| file | what |
| --- | --- |
| `model.skops` | the scikit-learn pipeline (raw columns in, prediction out), saved with skops |
| `model.json` | its metadata: task, target, features, input schema, params, data hash, libraries |
| `input_schema.json` | the columns a record must have, with their types and accepted values |
| `model_card.md`, `model_card.json` | the model card: metrics with intervals, data, use, limits |
| `smoke_sample.json` | evaluation rows with the predictions the model made offline |
| `requirements.txt` | every library it needs, pinned (see below) |

`requirements.txt` pins, first, the libraries the model was trained with, at the versions its
metadata records (Python {python}); then everything those need at run time (their
`Requires-Dist`, followed to the end, extras left out), at the versions installed where this
bundle was built, with environment markers evaluated for that machine's platform.

Load it without pickle: skops checks every type in the file against an allowlist.

```python
import json
import pandas as pd
import skops.io as sio

trusted = sio.get_untrusted_types(file="model.skops")  # check these against the list below
model = sio.load("model.skops", trusted=[t for t in trusted if t in ALLOWED])
sample = json.load(open("smoke_sample.json"))
print(model.predict(pd.DataFrame(sample["rows"])))
```

with `ALLOWED` the types this model was saved with and mlgitops trusts:

```python
ALLOWED = [
{trusted_lines}
]
```
"""


def _tar_bytes(files: dict[str, bytes], prefix: str) -> bytes:
    """A gzipped tar of ``files`` under ``prefix/``, byte-reproducible (fixed times, owners)."""
    buffer = io.BytesIO()
    # gzip records a time in its header too: fixed at 0, like every member's.
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as archive,
    ):
        for name in sorted(files):
            info = tarfile.TarInfo(f"{prefix}/{name}")
            info.size = len(files[name])
            info.mtime = 0
            info.mode = 0o644
            info.uname = info.gname = ""
            archive.addfile(info, io.BytesIO(files[name]))
    return buffer.getvalue()


def build_bundle(
    fetched: Fetched,
    card: dict[str, Any] | None,
    card_markdown: str | None,
    extra_trusted: tuple[str, ...],
) -> bytes:
    """The bundle archive's bytes (pure given the fetched files)."""
    metadata = read_json(fetched.metadata, "model metadata")
    files: dict[str, bytes] = {
        "model.skops": fetched.model.read_bytes(),
        "model.json": fetched.metadata.read_bytes(),
        "input_schema.json": dumps_json(metadata["input_schema"]).encode(),
        "smoke_sample.json": fetched.smoke_sample.read_bytes(),
        "requirements.txt": bundle_requirements(metadata.get("libraries") or {}).encode(),
        "README.md": _bundle_readme(fetched.entry, metadata, trusted_types(extra_trusted)).encode(),
    }
    if card is not None and card_markdown is not None:
        files["model_card.json"] = dumps_json(card).encode()
        files["model_card.md"] = card_markdown.encode()
    manifest = {
        "schema_version": BUNDLE_VERSION,
        "name": fetched.entry.name,
        "version": fetched.entry.version,
        "tag": fetched.entry.tag,
        "commit": fetched.entry.commit,
        "files": {name: bytes_sha256(data) for name, data in sorted(files.items())},
    }
    files["MANIFEST.json"] = dumps_json(manifest).encode()
    return _tar_bytes(files, f"{fetched.entry.name}-{fetched.entry.version}")


def bundle_name(entry: VersionEntry) -> str:
    return f"{entry.name}-{entry.version}.tar.gz"


def _extract(archive: bytes, dest: Path) -> Path:
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        tar.extractall(dest, filter="data")
        top = {Path(m.name).parts[0] for m in tar.getmembers()}
    (folder,) = top
    return dest / folder


def deploy_bundle(
    root: Path, fetched: Fetched, params: Params, params_file: str, workdir: Path
) -> TargetOutcome:
    """Build the bundle, load the model back out of it and smoke-test that."""
    from mlgitops.release import card_for_version

    extra = params.model.extra_trusted_types
    try:
        card, markdown = card_for_version(root, params, fetched.entry, workdir, params_file)
    except MlgitopsError as exc:
        return _failed("bundle", f"could not render the model card ({exc})")
    archive = build_bundle(fetched, card, markdown, extra)
    unpacked = _extract(archive, workdir / "unpacked")
    inside = Fetched(
        fetched.entry,
        unpacked / "model.skops",
        unpacked / "model.json",
        unpacked / "smoke_sample.json",
    )
    outcome = _in_process_smoke(inside, extra)
    return TargetOutcome(outcome.ok, outcome.smoke, outcome.detail, archive=archive)


# -- deploy, promote, rollback ----------------------------------------------------------------


def _run_target(
    root: Path,
    params: Params,
    fetched: Fetched,
    target: StageDeployParams,
    stage: str,
    params_file: str,
    workdir: Path,
) -> TargetOutcome:
    extra = params.model.extra_trusted_types
    if target.target == "server":
        return deploy_server(root, fetched, target, params_file)
    if target.target == "command":
        return deploy_command(root, fetched, target, stage, extra)
    return deploy_bundle(root, fetched, params, params_file, workdir)


def is_downgrade(version: str, current: str | None) -> bool:
    """Whether deploying ``version`` would move a stage now at ``current`` to an older version."""
    return current is not None and semver_key(version) < semver_key(current)


def deploy(
    root: Path,
    params: Params,
    *,
    stage: str,
    version: str | None,
    params_file: str,
    log: Log,
    action: str = "deploy",
    allow_downgrade: bool = False,
) -> DeployResult:
    """Deploy ``version`` (default: what ``stage`` points at now) to ``stage``.

    A version older (semver) than the one the stage points at is not deployed unless
    ``allow_downgrade``: the result is ``skipped`` and nothing moves. That keeps a re-run of an
    old release's workflow, or a late approval of an old queued prod job, from moving a stage
    back; :func:`rollback` and ``deploy --allow-downgrade`` are the deliberate ways back.

    Raises:
        DeployError, ConfigError, RegistryError: nothing could be tried (unknown stage or
            version, no version to deploy); a failed smoke test is a result, not an error.
    """
    root = Path(root)
    name = params.model.name
    target = stage_target(params, stage)
    remote = params.release.git_remote if has_remote(root, params.release.git_remote) else None
    if remote is not None:
        fetch_tags(root, remote, f"{name}*")
    current = resolve_stage(root, name, stage)
    if version is None:
        if current is None:
            raise DeployError(
                f"stage {stage} of {name} points at no version yet; pass --version (see "
                "mlgitops versions)."
            )
        version = current.version
    entry = find_version(root, name, version)
    before = current.version if current is not None else None
    if not allow_downgrade and is_downgrade(version, before):
        detail = (
            f"{stage} of {name} is at {before}, newer than {version}, so the {action} did not "
            f"move it back (a re-run of an older release, or a late approval); to go back on "
            f"purpose run mlgitops rollback --stage {stage}, or mlgitops {action} --stage "
            f"{stage} --version {version} --allow-downgrade"
        )
        log(f"{action}: {detail}")
        return DeployResult(
            "skipped", name, stage, version, target.target, before, None, {}, detail
        )
    # When the stage already points here (a person pushed the tag), "before" is the one prior.
    fallback = before
    if before == version:
        fallback = previous_version(stage_history(root, name, stage), version)
    with tempfile.TemporaryDirectory(prefix="mlgitops-deploy-") as tmp:
        work = Path(tmp)
        fetched = fetch_version(root, entry, work / "new", params_file)
        log(f"{action}: {name} {version} -> {stage} (target {target.target})")
        outcome = _run_target(root, params, fetched, target, stage, params_file, work)
        if outcome.ok:
            bundle = None
            if outcome.archive is not None and target.bundle_dir is not None:
                bundle_path = root / target.bundle_dir / bundle_name(entry)
                write_bytes(bundle_path, outcome.archive)
                bundle = str(bundle_path.relative_to(root))
            tag = None
            if before != version:
                message = f"{action}: {stage} {before or '(none)'} -> {version}; {outcome.detail}"
                tag = assign_stage(root, name, stage, version, message, remote=remote)
            return DeployResult(
                "deployed",
                name,
                stage,
                version,
                target.target,
                before,
                tag,
                outcome.smoke,
                outcome.detail,
                bundle=bundle,
            )
        restored = None
        if outcome.ran_command and fallback is not None:
            restored = _restore_command(root, name, fallback, target, stage, params_file, work, log)
        reverted = None
        if before == version and fallback is not None:
            message = f"revert: {stage} {version} -> {fallback}; {outcome.detail}"
            reverted = assign_stage(root, name, stage, fallback, message, remote=remote)
        elif before == version:
            # The stage's first assignment (pushed by a person) failed: there is nothing to
            # go back to, so the stage is unassigned and points at no version, as before.
            message = f"revert: {stage} {version} -> (none); {outcome.detail}"
            reverted = unassign_stage(root, name, stage, version, message, remote=remote)
        return DeployResult(
            "failed",
            name,
            stage,
            version,
            target.target,
            fallback,
            None,
            outcome.smoke,
            outcome.detail,
            restored=restored,
            reverted_tag=reverted,
        )


def _restore_command(
    root: Path,
    name: str,
    version: str,
    target: StageDeployParams,
    stage: str,
    params_file: str,
    work: Path,
    log: Log,
) -> str | None:
    """Run the command target again with the version that served before; return it if it ran."""
    entry = find_version(root, name, version)
    fetched = fetch_version(root, entry, work / "previous", params_file)
    problem = run_command(root, fetched, target, stage)
    if problem is not None:
        log(f"deploy: restoring {version} with the command failed too: {problem}")
        return None
    log(f"deploy: ran the command again with {version}, which served before")
    return version


def promote(
    root: Path,
    params: Params,
    *,
    stage: str,
    version: str | None,
    source: str,
    params_file: str,
    log: Log,
    allow_downgrade: bool = False,
) -> DeployResult:
    """Deploy ``version`` (default: what ``source`` points at) to ``stage``.

    Like :func:`deploy`, an older version than ``stage`` has is skipped unless
    ``allow_downgrade``.
    """
    if version is None:
        found = resolve_stage(root, params.model.name, source)
        if found is None:
            raise DeployError(
                f"stage {source} of {params.model.name} points at no version, so there is "
                "nothing to promote; pass --version."
            )
        version = found.version
    return deploy(
        root,
        params,
        stage=stage,
        version=version,
        params_file=params_file,
        log=log,
        action="promote",
        allow_downgrade=allow_downgrade,
    )


def rollback(root: Path, params: Params, *, stage: str, params_file: str, log: Log) -> DeployResult:
    """Deploy the version ``stage`` pointed at before the current one (a new assignment)."""
    name = params.model.name
    remote = params.release.git_remote
    if has_remote(root, remote):
        fetch_tags(root, remote, f"{name}*")
    current = resolve_stage(root, name, stage)
    if current is None:
        raise DeployError(f"stage {stage} of {name} points at no version; nothing to roll back.")
    earlier = previous_version(stage_history(root, name, stage), current.version)
    if earlier is None:
        raise DeployError(
            f"stage {stage} of {name} has never pointed at another version than "
            f"{current.version}; nothing to roll back to (mlgitops deploy --version V)."
        )
    return deploy(
        root,
        params,
        stage=stage,
        version=earlier,
        params_file=params_file,
        log=log,
        action="rollback",
        allow_downgrade=True,  # going back is what a rollback is for
    )
