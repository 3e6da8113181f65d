"""``mlgitops release``: register the merged commit's model as a new GTO version, exactly once.

Run on main after a merge (``.github/workflows/release.yml``), in this order:

1. The commit must be reproducible as committed: ``dvc status`` finds no stage whose code,
   params or data changed since ``dvc.lock`` was written, no tracked file differs from the
   commit, and every pipeline output is in the workspace (``dvc repro --pull`` brings them).
2. Tags are fetched from the git remote; a commit that already has a version is done (exit 0).
3. The model is compared with the latest registered release's (the md5 in ``dvc.lock``):
   identical means nothing to release (exit 0). Otherwise :mod:`mlgitops.versioning` numbers it,
   past every version a registration ever took (deprecated ones included).
4. Once the tag name is known to be free (a conflicting tag stops the release before anything is
   pushed), the DVC outputs are pushed to the DVC remote, so the version can be fetched anywhere.
5. GTO's annotated tag ``<name>@vX.Y.Z`` (its message: the metrics summary) is created and
   pushed. When the push is rejected because another release took the number meanwhile, the
   local tag is dropped, tags are fetched again and the next number is computed, at most
   ``release.max_attempts`` times: two releases close together get strictly increasing versions.
6. The model card is written (Markdown and its JSON document); publishing it as a GitHub release
   is the workflow's job (``gh release create``), since the package does not talk to GitHub.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import yaml

from mlgitops.errors import MlgitopsError
from mlgitops.fsio import dumps_json, read_json, read_table, write_text
from mlgitops.gitrepo import commit_of, git, show
from mlgitops.gittags import (
    delete_local_tag,
    fetch_tags,
    has_remote,
    push_tag,
    remote_tags,
    tag_commit,
    tag_is_annotated,
    trailers,
)
from mlgitops.intervals import MetricInterval, metric_intervals
from mlgitops.model_card import card_document, render_card
from mlgitops.params import Params
from mlgitops.registry import (
    VersionEntry,
    fetch_output,
    list_versions,
    paths_at,
    register_version,
    semver_key,
    taken_versions,
)
from mlgitops.schema import schema_from_dict
from mlgitops.versioning import (
    SchemaChange,
    VersionDecision,
    decide_version,
    is_release,
    parse_bump,
    schema_changes,
)

RESULT_VERSION = 1

Log = Callable[[str], None]


class ReleaseError(MlgitopsError):
    """The commit cannot be released as it is (stale lock, conflicting tag, failed push)."""


# -- 1. reproducible as committed ---------------------------------------------------------------


@dataclass(frozen=True)
class PipelineCheck:
    """What stands between the workspace and "reproducible as committed"."""

    stale: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    uncommitted: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not (self.stale or self.missing or self.uncommitted)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "stale": list(self.stale),
            "missing": list(self.missing),
            "uncommitted": list(self.uncommitted),
        }


def lock_outputs(lock: dict[str, Any]) -> dict[str, str]:
    """Every output path recorded in a parsed ``dvc.lock``, with its md5."""
    found = {}
    for stage in (lock.get("stages") or {}).values():
        for out in stage.get("outs") or []:
            if "path" in out:
                found[out["path"]] = out.get("md5") or ""
    return found


def _stage_name(address: str) -> str:
    """A stage's name; DVC calls it "path/to/dvc.yaml:name" when run from another directory."""
    file, _, name = address.rpartition(":")
    return name if file and Path(file).name == "dvc.yaml" else address


def classify_status(status: dict[str, Any], outputs: set[str]) -> tuple[list[str], list[str]]:
    """Split ``dvc status`` into stale stages and outputs missing from the workspace (pure).

    A stage is stale when its command, its params or a dependency DVC does not track (code,
    schema, raw data in git) changed: ``dvc.lock`` no longer describes the commit. A dependency
    that DVC tracks (another stage's output, or a ``dvc add``-ed file, both in ``outputs``) is
    reported by its own entry, not twice. An output that is absent (deleted, or not in the cache)
    only needs fetching; one that was edited in place is stale.
    """
    stale: list[str] = []
    missing: list[str] = []
    for stage, entries in sorted((_stage_name(a), e) for a, e in status.items()):
        for entry in entries:
            if isinstance(entry, str):
                stale.append(f"stage {stage}: {entry}")
                continue
            for kind, changed in entry.items():
                if not isinstance(changed, dict):
                    stale.append(f"stage {stage}: {kind}")
                    continue
                for path, what in changed.items():
                    if isinstance(what, dict):  # a params file: {key: modified/new/deleted}
                        keys = ", ".join(f"{k} {v}" for k, v in sorted(what.items()))
                        stale.append(f"stage {stage}: params {keys}")
                    elif kind == "changed deps":
                        if path not in outputs:
                            stale.append(f"stage {stage}: {path} {what}")
                    elif what in ("deleted", "not in cache"):
                        missing.append(path)
                    else:
                        stale.append(f"stage {stage}: output {path} {what}")
    return stale, sorted(set(missing))


def _dvc_repo(root: Path) -> Any:
    from dvc.repo import Repo

    return Repo(os.fspath(root))


def _tracked_outputs(repo: Any) -> set[str]:
    """Every path DVC tracks in ``repo``: stage outputs and ``dvc add``-ed files (``.dvc``).

    Raw data added with ``dvc add`` is a dependency no stage produces, yet its ``.dvc`` file
    records its hash: on a fresh checkout it is absent (to be pulled), not changed. Its own
    ``.dvc`` entry in ``dvc status`` says whether it is missing or was edited in place.
    """
    root = repo.root_dir
    return {
        Path(os.path.relpath(out.fs_path, root)).as_posix()
        for stage in repo.index.stages
        for out in stage.outs
    }


def check_pipeline(root: Path, commit: str) -> PipelineCheck:
    """Whether the workspace is the commit, reproduced: see :func:`classify_status`."""
    lock_text = show(root, commit, "dvc.lock")
    if lock_text is None:
        return PipelineCheck(stale=("dvc.lock is not committed: run dvc repro and commit it",))
    outputs = set(lock_outputs(yaml.safe_load(lock_text) or {}))
    try:
        with _dvc_repo(root) as repo:
            status = repo.status()
            outputs |= _tracked_outputs(repo)
    except Exception as exc:  # DVC's own errors: a broken dvc.yaml, a missing dependency
        raise ReleaseError(f"dvc status failed in {root}: {exc}; fix the pipeline.") from exc
    stale, missing = classify_status(status, outputs)
    porcelain = git(root, "status", "--porcelain", "--untracked-files=no")
    uncommitted = tuple(line[3:] for line in porcelain.splitlines() if line.strip())
    return PipelineCheck(stale=tuple(stale), missing=tuple(missing), uncommitted=uncommitted)


def require_reproducible(check: PipelineCheck, commit: str) -> None:
    """Raise the error a release stops with when the check found anything."""
    if check.uncommitted:
        raise ReleaseError(
            f"tracked files differ from commit {commit[:12]} ({', '.join(check.uncommitted)}); "
            "a release tags a commit, so commit or discard the changes (after dvc repro, commit "
            "dvc.lock)."
        )
    if check.stale:
        raise ReleaseError(
            f"the committed dvc.lock does not match the code, params and data of commit "
            f"{commit[:12]} ({'; '.join(check.stale)}); run dvc repro and commit dvc.lock."
        )
    if check.missing:
        raise ReleaseError(
            f"pipeline outputs are not in the workspace ({', '.join(check.missing)}); run "
            "dvc repro --pull (it fetches them from the DVC remote, or reproduces them) first."
        )


# -- 3. what to release -----------------------------------------------------------------------


def _lock_at(root: Path, commit: str) -> dict[str, Any]:
    text = show(root, commit, "dvc.lock")
    return (yaml.safe_load(text) or {}) if text else {}


def model_md5(root: Path, commit: str, params_file: str) -> str | None:
    """The md5 ``dvc.lock`` records for the model file at ``commit`` (None if it has none)."""
    model = paths_at(root, commit, params_file, required=False).get("model")
    return lock_outputs(_lock_at(root, commit)).get(model) if model else None


def _metadata_at(
    root: Path, entry: VersionEntry, params_file: str, workdir: Path
) -> dict[str, Any]:
    metadata_path = paths_at(root, entry.commit, params_file, required=False).get("model_metadata")
    if not metadata_path:
        raise ReleaseError(f"{params_file} at {entry.tag} names no paths.model_metadata.")
    target = fetch_output(root, entry.commit, metadata_path, workdir / f"{entry.version}.json")
    return read_json(target, f"model metadata of {entry.tag}")


@dataclass(frozen=True)
class Plan:
    """What a release would do now: the registry as fetched, and the decision."""

    versions: tuple[VersionEntry, ...]
    latest: VersionEntry | None
    decision: VersionDecision
    changes: tuple[SchemaChange, ...]


def plan_release(
    root: Path,
    params: Params,
    commit: str,
    metadata: dict[str, Any],
    *,
    params_file: str,
    workdir: Path,
) -> Plan:
    """Decide the version for ``commit`` against the registry as it is locally now."""
    name = params.model.name
    versions = tuple(list_versions(root, name))
    # Pre-releases (v1.0.0-rc.1, tagged by people) are neither compared with nor bumped from.
    latest = next((v for v in versions if v.commit != commit and is_release(v.version)), None)
    trailer = parse_bump(trailers(root, commit), f"the message of commit {commit[:12]}")
    ours = model_md5(root, commit, params_file)
    theirs = model_md5(root, latest.commit, params_file) if latest else None
    model_changed = latest is None or ours is None or ours != theirs
    schema_changed = False
    changes: tuple[SchemaChange, ...] = ()
    if latest is not None:
        # The served contract is the model plus its input schema: the same model file behind a
        # different schema gate accepts different records, so it is a new version too.
        new_schema = schema_from_dict(metadata["input_schema"], "the model's input schema")
        try:
            old_metadata = _metadata_at(root, latest, params_file, workdir)
        except MlgitopsError as exc:
            if model_changed and trailer is None:
                raise ReleaseError(
                    f"cannot compare input schemas with {latest.tag}: {exc} Or state the bump "
                    "with a Release-Bump: major|minor|patch|none trailer."
                ) from exc
        else:
            old_schema = schema_from_dict(
                old_metadata["input_schema"], f"input schema of {latest.tag}"
            )
            schema_changed = old_schema.fingerprint() != new_schema.fingerprint()
            changes = schema_changes(old_schema, new_schema)
    decision = decide_version(
        latest=None if latest is None else latest.version,
        first_version=params.release.first_version,
        model_changed=model_changed or schema_changed,
        changes=changes,
        trailer=trailer,
        what_changed="the model changed" if model_changed else "the input schema changed",
        taken=taken_versions(root, name),
    )
    return Plan(versions=versions, latest=latest, decision=decision, changes=changes)


# -- 4. DVC remote ----------------------------------------------------------------------------


def push_outputs(root: Path, *, require_remote: bool, log: Log) -> bool:
    """``dvc push`` every pipeline output; return whether anything could be pushed.

    Raises:
        ReleaseError: no default DVC remote while one is required, or the push failed.
    """
    with _dvc_repo(root) as repo:
        default = repo.config.get("core", {}).get("remote")
        if not default:
            if require_remote:
                raise ReleaseError(
                    "no default DVC remote is configured, so the released model could not be "
                    "fetched anywhere else; add one (dvc remote add -d storage <url>, commit "
                    ".dvc/config) or set release.require_remote: false."
                )
            log("release: no DVC remote is configured; the outputs stay in this cache only")
            return False
        try:
            pushed = repo.push()
        except Exception as exc:  # DVC's transfer errors name the files and the remote
            raise ReleaseError(
                f"dvc push to remote {default} failed ({exc}); fix access to the remote and run "
                "again (nothing was tagged)."
            ) from exc
    log(f"release: pushed the pipeline outputs to DVC remote {default} ({pushed} new file(s))")
    return True


# -- 5. the tag -------------------------------------------------------------------------------


def tag_message(
    name: str,
    version: str,
    decision: VersionDecision,
    parent: VersionEntry | None,
    intervals: tuple[MetricInterval, ...],
    confidence: float,
    rows: int,
    model_sha256: str | None,
) -> str:
    """The annotated tag's message: what it is, why this number, and the metrics."""
    lines = [f"{name} {version}", ""]
    lines.append(f"Bump: {decision.bump} ({decision.reason})")
    if parent is not None:
        lines.append(f"Parent: {parent.version} ({parent.commit[:12]})")
    if model_sha256:
        lines.append(f"Model: {model_sha256}")
    lines.append("")
    level = f"{confidence:.0%}"
    lines.append(f"Metrics on {rows} evaluation rows ({level} intervals):")
    for i in intervals:
        lines.append(f"  {i.name}: {i.value:.4f} [{i.low:.4f}, {i.high:.4f}]")
    return "\n".join(lines) + "\n"


def decision_from_message(message: str) -> VersionDecision:
    """The bump and reason a release wrote into its tag message (see :func:`tag_message`)."""
    for line in message.splitlines():
        if line.startswith("Bump: "):
            bump, _, rest = line.removeprefix("Bump: ").partition(" (")
            return VersionDecision(None, bump, rest.removesuffix(")"))  # type: ignore[arg-type]
    return VersionDecision(None, "none", "recorded in the tag without a reason")


def parent_from_message(message: str) -> str | None:
    """The parent version a release wrote into its tag message (see :func:`tag_message`)."""
    for line in message.splitlines():
        if line.startswith("Parent: "):
            return line.removeprefix("Parent: ").split(" ", 1)[0] or None
    return None


def _recorded_parent(entry: VersionEntry, versions: list[VersionEntry]) -> VersionEntry | None:
    """The version ``entry`` was released after: the one its tag names, else the next below."""
    named = parent_from_message(entry.message)
    for v in versions:
        if v.version == named:
            return v
    below = [v for v in versions if semver_key(v.version) < semver_key(entry.version)]
    return below[0] if below else None


def _changes_since(
    root: Path,
    parent: VersionEntry | None,
    metadata: dict[str, Any],
    params_file: str,
    workdir: Path,
) -> tuple[SchemaChange, ...]:
    """The input schema's changes from ``parent`` to ``metadata``'s (none if unreadable)."""
    if parent is None:
        return ()
    try:
        old = _metadata_at(root, parent, params_file, workdir)
    except MlgitopsError:
        return ()  # the parent's files are gone from every cache: the card says less
    return schema_changes(
        schema_from_dict(old["input_schema"], f"input schema of {parent.tag}"),
        schema_from_dict(metadata["input_schema"], "the model's input schema"),
    )


def _check_tag_is_free(root: Path, tag: str, commit: str) -> None:
    existing = tag_commit(root, tag)
    if existing is None:
        return
    kind = "an annotated tag" if tag_is_annotated(root, tag) else "a lightweight tag"
    raise ReleaseError(
        f"tag {tag} already exists ({kind} that GTO does not count as a registration) and "
        f"points at commit {existing}, not at {commit}; a version name must mean one model, so "
        f"find out what {tag} is and delete it (git tag -d {tag}; git push origin "
        f":refs/tags/{tag}) or register under another version."
    )


# -- the whole release ------------------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseResult:
    """What ``mlgitops release`` did.

    ``status`` is ``released`` (a new version), ``already_released`` (the commit has one),
    ``unchanged`` (the model equals the latest version's) or ``skipped`` (the commit said
    ``Release-Bump: none``).
    """

    status: Literal["released", "already_released", "unchanged", "skipped"]
    name: str
    commit: str
    version: str | None
    tag: str | None
    reason: str
    parent: str | None = None
    attempts: int = 0
    card: str | None = None
    changes: tuple[SchemaChange, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": RESULT_VERSION,
            "status": self.status,
            "name": self.name,
            "commit": self.commit,
            "version": self.version,
            "tag": self.tag,
            "reason": self.reason,
            "parent": self.parent,
            "attempts": self.attempts,
            "card": self.card,
            "schema_changes": [c.to_dict() for c in self.changes],
        }

    def sentence(self) -> str:
        short = self.commit[:12]
        if self.status == "released":
            parent = f" after {self.parent}" if self.parent else ""
            return f"released {self.tag} (commit {short}){parent}: {self.reason}"
        if self.status == "already_released":
            return f"nothing to release: commit {short} is already registered as {self.tag}"
        if self.status == "unchanged":
            return f"nothing to release: {self.reason} (commit {short})"
        return f"nothing to release: {self.reason} (commit {short})"

    def outputs(self) -> dict[str, str]:
        """Key-value lines for CI step outputs (e.g. ``$GITHUB_OUTPUT``)."""
        return {
            "status": self.status,
            "released": "true" if self.status == "released" else "false",
            "version": self.version or "",
            "tag": self.tag or "",
            "commit": self.commit,
            "card": self.card or "",
        }


def _card(
    root: Path,
    params: Params,
    *,
    released_at: str,
    version: str,
    tag: str,
    commit: str,
    parent: VersionEntry | None,
    decision: VersionDecision,
    changes: tuple[SchemaChange, ...],
    intervals: tuple[MetricInterval, ...],
    rows: int,
    metadata: dict[str, Any],
) -> dict[str, Any]:
    return card_document(
        name=params.model.name,
        version=version,
        tag=tag,
        commit=commit,
        released_at=released_at,
        parent=None
        if parent is None
        else {"version": parent.version, "tag": parent.tag, "commit": parent.commit},
        bump=decision.bump,
        reason=decision.reason,
        changes=changes,
        intervals=intervals,
        confidence=params.release.confidence,
        evaluation_rows=rows,
        metadata=metadata,
        lock_hashes=lock_outputs(_lock_at(root, commit)),
        use=params.model_card,
    )


def _render_card(
    root: Path, params: Params, released_at: str | None = None, **inputs: Any
) -> tuple[dict[str, Any], str]:
    doc = _card(root, params, released_at=released_at or _now(), **inputs)
    return doc, render_card(doc)


def _write_card(root: Path, params: Params, rendered: tuple[dict[str, Any], str]) -> Path:
    doc, markdown = rendered
    card = root / params.paths.model_card
    write_text(card.with_suffix(".json"), dumps_json(doc))
    write_text(card, markdown)
    return card


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def card_for_version(
    root: Path, params: Params, entry: VersionEntry, workdir: Path, params_file: str
) -> tuple[dict[str, Any], str]:
    """The model card of a registered version, rebuilt from its commit (files through DVC).

    The bump, its reason and the parent come from the version's tag message, and the input
    schema's changes since that parent are computed again; the intended use and limits are
    today's ``model_card`` section.
    """
    paths = paths_at(root, entry.commit, params_file, required=False)
    if not paths.get("model_metadata") or not paths.get("predictions"):
        raise ReleaseError(f"{params_file} at {entry.tag} names no model metadata or predictions.")
    folder = Path(workdir) / f"card-{entry.version}"
    metadata = read_json(
        fetch_output(root, entry.commit, paths["model_metadata"], folder / "model.json"),
        f"model metadata of {entry.tag}",
    )
    predictions = read_table(
        fetch_output(root, entry.commit, paths["predictions"], folder / "predictions.parquet"),
        f"evaluation predictions of {entry.tag}",
    )
    intervals = _intervals(predictions, metadata, params)
    parent = _recorded_parent(entry, list_versions(root, entry.name))
    doc = _card(
        root,
        params,
        released_at=entry.created_at.isoformat(),
        version=entry.version,
        tag=entry.tag,
        commit=entry.commit,
        parent=parent,
        decision=decision_from_message(entry.message),
        changes=_changes_since(root, parent, metadata, params_file, folder),
        intervals=intervals,
        rows=len(predictions),
        metadata=metadata,
    )
    return doc, render_card(doc)


def _intervals(
    predictions: Any, metadata: dict[str, Any], params: Params
) -> tuple[MetricInterval, ...]:
    return metric_intervals(
        predictions,
        task=metadata["task"],
        positive_class=metadata.get("positive_class"),
        classes=metadata.get("classes"),
        confidence=params.release.confidence,
        resamples=params.release.bootstrap_resamples,
        seed=params.release.seed,
    )


def release(root: Path, params: Params, *, params_file: str, log: Log) -> ReleaseResult:
    """Register HEAD's model as a new version when it is new (see the module docstring)."""
    root = Path(root)
    name = params.model.name
    remote = params.release.git_remote
    commit = commit_of(root, "HEAD")
    require_reproducible(check_pipeline(root, commit), commit)
    if not has_remote(root, remote):
        raise ReleaseError(
            f"git remote {remote!r} is not configured in {root}; add it (git remote add) or set "
            "release.git_remote to the remote that holds the tags."
        )
    paths = params.paths
    metadata = read_json(root / paths.model_metadata, "model metadata")
    predictions = read_table(root / paths.predictions, "evaluation predictions")
    intervals = _intervals(predictions, metadata, params)
    rows = len(predictions)
    pattern = f"{name}*"
    pushed_outputs = False
    with tempfile.TemporaryDirectory(prefix="mlgitops-release-") as tmp:
        for attempt in range(1, params.release.max_attempts + 1):
            fetch_tags(root, remote, pattern)
            versions = list_versions(root, name)
            mine = next((v for v in versions if v.commit == commit), None)
            if mine is not None:
                _push_if_missing(root, remote, mine.tag, commit)
                parent = _recorded_parent(mine, versions)
                rendered = _render_card(
                    root,
                    params,
                    released_at=mine.created_at.isoformat(),
                    version=mine.version,
                    tag=mine.tag,
                    commit=commit,
                    parent=parent,
                    decision=decision_from_message(mine.message),
                    changes=_changes_since(root, parent, metadata, params_file, Path(tmp)),
                    intervals=intervals,
                    rows=rows,
                    metadata=metadata,
                )
                card = _write_card(root, params, rendered)
                return ReleaseResult(
                    "already_released",
                    name,
                    commit,
                    mine.version,
                    mine.tag,
                    f"commit {commit[:12]} is already registered as {mine.tag}",
                    attempts=attempt,
                    card=str(card.relative_to(root)),
                )
            plan = plan_release(
                root, params, commit, metadata, params_file=params_file, workdir=Path(tmp)
            )
            decision = plan.decision
            if decision.version is None:
                return ReleaseResult(
                    "unchanged" if decision.bump == "unchanged" else "skipped",
                    name,
                    commit,
                    None,
                    None,
                    decision.reason,
                    parent=None if plan.latest is None else plan.latest.version,
                    attempts=attempt,
                )
            version = decision.version
            tag = f"{name}@{version}"
            # Before anything leaves this machine: a conflicting tag stops the release here.
            _check_tag_is_free(root, tag, commit)
            if not pushed_outputs:
                push_outputs(root, require_remote=params.release.require_remote, log=log)
                pushed_outputs = True
            message = tag_message(
                name,
                version,
                decision,
                plan.latest,
                intervals,
                params.release.confidence,
                rows,
                metadata.get("model_sha256"),
            )
            # Rendered before the tag exists: a card that cannot be written stops the release.
            rendered = _render_card(
                root,
                params,
                version=version,
                tag=tag,
                commit=commit,
                parent=plan.latest,
                decision=decision,
                changes=plan.changes,
                intervals=intervals,
                rows=rows,
                metadata=metadata,
            )
            register_version(root, name, version, commit, message)
            outcome = push_tag(root, remote, tag)
            if outcome.ok:
                card = _write_card(root, params, rendered)
                return ReleaseResult(
                    "released",
                    name,
                    commit,
                    version,
                    tag,
                    decision.reason,
                    parent=None if plan.latest is None else plan.latest.version,
                    attempts=attempt,
                    card=str(card.relative_to(root)),
                    changes=plan.changes,
                )
            delete_local_tag(root, tag)
            theirs = remote_tags(root, remote, tag).get(tag)
            if theirs is None:
                raise ReleaseError(
                    f"could not push tag {tag} to {remote} ({outcome.message}); check the "
                    "job's access (contents: write) and run again; nothing was registered."
                )
            log(
                f"release: {tag} was taken on {remote} by commit {theirs[:12]} meanwhile; "
                "fetching the tags again and taking the next number"
            )
    raise ReleaseError(
        f"gave up after {params.release.max_attempts} attempts: each version number was taken "
        f"on {remote} by another release first; run again (or raise release.max_attempts)."
    )


def _push_if_missing(root: Path, remote: str, tag: str, commit: str) -> None:
    """Finish a release whose tag was created here but never reached the remote."""
    theirs = remote_tags(root, remote, tag).get(tag)
    if theirs == commit:
        return
    if theirs is not None:
        raise ReleaseError(
            f"tag {tag} points at commit {commit} here but at {theirs} on {remote}; find out "
            f"which is right and delete the other."
        )
    outcome = push_tag(root, remote, tag)
    if not outcome.ok:
        raise ReleaseError(f"could not push tag {tag} to {remote} ({outcome.message}).")
