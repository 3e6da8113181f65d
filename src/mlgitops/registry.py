"""The model registry: versions and stages as GTO git tags, artifacts through DVC.

A version is GTO's annotated tag ``<name>@vX.Y.Z`` on the commit that produced the model; a stage
is an assignment tag ``<name>#<stage>#N`` (N counts the artifact's assignments). Nothing else
holds state: the tags are read and written through GTO's Python API, so ``gto show`` and
``gto history`` always agree with what these functions return, and the model files of a version
are fetched with DVC at the version's commit (the local cache first, then the DVC remote).

Reading: :func:`list_versions`, :func:`find_version`, :func:`taken_versions`,
:func:`resolve_stage`, :func:`stage_history`, :func:`fetch_artifact`, :func:`fetch_output`.
Writing (local tags, plus a push with bounded retries where a remote is given):
:func:`register_version`, :func:`assign_stage`, :func:`unassign_stage`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import yaml

from mlgitops.errors import ArtifactError, MlgitopsError
from mlgitops.fingerprint import file_sha256
from mlgitops.fsio import read_json, write_bytes
from mlgitops.gitrepo import show
from mlgitops.gittags import delete_local_tag, fetch_tags, push_tag


class RegistryError(MlgitopsError):
    """The registry cannot do what was asked: unknown version, conflicting tags, failed push."""


@dataclass(frozen=True)
class VersionEntry:
    """One registered version of a model.

    Attributes:
        name: The artifact name (``model.name`` in params.yaml).
        version: The semantic version, e.g. ``v1.2.0``.
        tag: The git tag that registers it, e.g. ``income-model@v1.2.0``.
        commit: The full commit id the tag points at.
        created_at: When the tag was created (UTC).
        author: Who created the tag.
        message: The tag's message (the release's metrics summary).
        stages: The stages that point at this version now.
    """

    name: str
    version: str
    tag: str
    commit: str
    created_at: datetime
    author: str
    message: str
    stages: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "tag": self.tag,
            "commit": self.commit,
            "created_at": self.created_at.isoformat(),
            "author": self.author,
            "message": self.message,
            "stages": list(self.stages),
        }


@dataclass(frozen=True)
class StageEvent:
    """One assignment (or unassignment) of a stage, from its git tag."""

    name: str
    stage: str
    version: str
    tag: str
    commit: str
    created_at: datetime
    counter: int
    kind: Literal["assignment", "unassignment"]
    message: str
    tagger: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "stage": self.stage,
            "version": self.version,
            "tag": self.tag,
            "commit": self.commit,
            "created_at": self.created_at.isoformat(),
            "counter": self.counter,
            "kind": self.kind,
            "message": self.message,
            "tagger": self.tagger,
        }


@contextmanager
def _gto(what: str) -> Iterator[None]:
    """Turn GTO's exceptions into one clear registry error."""
    from gto.exceptions import GTOException

    try:
        yield
    except GTOException as exc:
        raise RegistryError(f"{what}: {getattr(exc, 'msg', exc)}") from exc


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def semver_key(version: str) -> tuple[int, int, int, int, str]:
    """A sort key for ``vX.Y.Z[-pre]`` (a release sorts after its pre-releases)."""
    from gto.versions import SemVer

    parsed = SemVer.parse(version)
    pre = parsed.prerelease or ""
    return (parsed.major, parsed.minor, parsed.patch, 0 if pre else 1, pre)


def _stage_of_versions(repo: str | os.PathLike[str], name: str) -> dict[str, str]:
    """Each stage's current version, exactly as ``gto show`` computes it."""
    from gto import api

    with _gto(f"reading the registry in {repo}"):
        state = api.show(os.fspath(repo))
    found = state.get(name)
    if not found:
        return {}
    return {stage: version for stage, version in found["stage"].items() if version}


def list_versions(repo: str | os.PathLike[str], name: str) -> list[VersionEntry]:
    """Every registered, active version of ``name``, newest (highest semver) first."""
    from gto import api
    from gto.exceptions import ArtifactNotFound

    try:
        with _gto(f"reading the versions of {name} in {repo}"):
            raw = api.show(os.fspath(repo), name, registered_only=True)
    except RegistryError as exc:
        if isinstance(exc.__cause__, ArtifactNotFound):
            return []
        raise
    stages_now = _stage_of_versions(repo, name)
    entries = []
    for item in raw:
        registrations = item.get("registrations") or []
        if not registrations:
            continue
        registration = registrations[-1]
        entries.append(
            VersionEntry(
                name=name,
                version=item["version"],
                tag=registration["tag"],
                commit=item["commit_hexsha"],
                created_at=_utc(registration["created_at"]),
                author=registration.get("author") or "",
                message=registration.get("message") or "",
                stages=tuple(sorted(s for s, v in stages_now.items() if v == item["version"])),
            )
        )
    entries.sort(key=lambda e: semver_key(e.version), reverse=True)
    return entries


def taken_versions(repo: str | os.PathLike[str], name: str) -> list[str]:
    """Every version a registration of ``name`` ever used, deprecated ones included.

    ``gto deprecate`` adds a deregistration tag and keeps the registration's, so a deprecated
    version's tag name is never free again: the next number must go past it. Tags GTO does not
    count (a lightweight ``name@v1.0.0`` made by hand) are not here: creating one of those is a
    conflict to be reported, not a number to skip.
    """
    from gto import api
    from gto.exceptions import ArtifactNotFound

    try:
        with _gto(f"reading the history of {name} in {repo}"):
            events = api.history(os.fspath(repo), name)
    except RegistryError as exc:
        if isinstance(exc.__cause__, ArtifactNotFound):
            return []
        raise
    found = {
        e["version"]
        for e in events
        if e.get("event") in ("registration", "deregistration") and e.get("version")
    }
    return sorted(found, key=semver_key, reverse=True)


def find_version(repo: str | os.PathLike[str], name: str, version: str) -> VersionEntry:
    """The registered version ``version`` of ``name``.

    Raises:
        RegistryError: no such version is registered.
    """
    for entry in list_versions(repo, name):
        if entry.version == version:
            return entry
    known = ", ".join(e.version for e in list_versions(repo, name)) or "none"
    raise RegistryError(
        f"{name} has no registered version {version} (registered: {known}); "
        "check the version, or git fetch --tags."
    )


def resolve_stage(repo: str | os.PathLike[str], name: str, stage: str) -> VersionEntry | None:
    """The version ``stage`` points at now (as ``gto show`` says), or None when unassigned."""
    version = _stage_of_versions(repo, name).get(stage)
    if version is None:
        return None
    for entry in list_versions(repo, name):
        if entry.version == version:
            return entry
    return None


def _counter(tag: str) -> int:
    from gto import api

    parsed = api.parse_tag(tag) or {}
    return int(parsed.get("counter") or 0)


def stage_history(repo: str | os.PathLike[str], name: str, stage: str) -> list[StageEvent]:
    """Every assignment and unassignment of ``stage`` for ``name``, newest first.

    Events are ordered by tag time, then by GTO's counter (which only grows), so two tags made in
    the same second still come out in the order they were made.
    """
    from gto import api

    with _gto(f"reading the history of {name} in {repo}"):
        events = api.history(os.fspath(repo), name)
    found = []
    for event in events:
        kind = event.get("event")
        if kind not in ("assignment", "unassignment") or event.get("stage") != stage:
            continue
        tag = event.get("ref") or ""
        found.append(
            StageEvent(
                name=name,
                stage=stage,
                version=event["version"],
                tag=tag,
                commit=event["commit"],
                created_at=_utc(event["timestamp"]),
                counter=_counter(tag),
                kind=kind,
                message=event.get("message") or "",
                tagger=event.get("author_email") or "",
            )
        )
    found.sort(key=lambda e: (e.created_at, e.counter), reverse=True)
    return found


def resolve_stage_trusted(
    repo: str | os.PathLike[str], name: str, stage: str, taggers: tuple[str, ...]
) -> tuple[VersionEntry | None, tuple[StageEvent, ...]]:
    """The version ``stage`` points at counting only stage tags made by ``taggers``.

    The stage's tags are walked from the newest: tags whose tagger email is not one of
    ``taggers`` (compared case-insensitively) are set aside, an unassignment removes its version,
    and the first assignment of a version not removed is the answer. Returns that version (None:
    the trusted tags assign nothing) and the untrusted tags that were newer than it: the ones
    plain :func:`resolve_stage` would have followed.

    A tagger email is what the tag's creator configured, not an authenticated identity: this
    keeps a watcher from following a tag pushed by mistake, and the repository's tag rules
    decide who can push one at all (see docs/security.md).
    """
    allowed = {t.strip().lower() for t in taggers}
    ignored: list[StageEvent] = []
    removed: set[str] = set()
    for event in stage_history(repo, name, stage):
        if event.tagger.strip().lower() not in allowed:
            ignored.append(event)
            continue
        if event.kind == "unassignment":
            removed.add(event.version)
            continue
        if event.version in removed:
            continue
        found = next((e for e in list_versions(repo, name) if e.version == event.version), None)
        return found, tuple(ignored)
    return None, tuple(ignored)


def previous_version(history: list[StageEvent], current: str | None) -> str | None:
    """The version a stage pointed at before ``current`` (for a rollback), or None.

    Walks the stage's assignments back from the newest and returns the first version that is not
    the current one, so a rollback of a rollback returns to where it started (as ``kubectl
    rollout undo`` does).
    """
    for event in history:
        if event.kind == "assignment" and event.version != current:
            return event.version
    return None


def paths_at(
    repo: str | os.PathLike[str], commit: str, params_file: str, *, required: bool = True
) -> dict[str, Any]:
    """The ``paths`` section of the params file as of ``commit``.

    Args:
        repo: The repository.
        commit: The commit to read.
        params_file: The params file's path inside the repository.
        required: Raise :class:`ArtifactError` when the file or its section is missing or
            unreadable; otherwise return an empty mapping (a commit from before the project).
    """
    text = show(repo, commit, Path(params_file).as_posix())
    if not required:
        try:
            raw = (yaml.safe_load(text) or {}) if text else {}
        except yaml.YAMLError:
            return {}
        paths = raw.get("paths") if isinstance(raw, dict) else None
        return paths if isinstance(paths, dict) else {}
    if text is None:
        raise ArtifactError(
            f"{params_file} does not exist at commit {commit}; that commit is not an mlgitops "
            "project, so its artifact cannot be located."
        )
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ArtifactError(f"{params_file} at commit {commit} is not valid YAML ({exc}).") from exc
    paths = raw.get("paths") if isinstance(raw, dict) else None
    if not isinstance(paths, dict):
        raise ArtifactError(f"{params_file} at commit {commit} has no paths section.")
    return paths


def fetch_output(
    repo: str | os.PathLike[str], commit: str, path: str, dest: str | os.PathLike[str]
) -> Path:
    """Write the DVC-tracked (or git-tracked) file ``path`` as of ``commit`` to ``dest``.

    DVC reads the file from the local cache when it is there and from the DVC remote configured
    at that commit otherwise; the file is written atomically.

    Raises:
        ArtifactError: neither the cache nor the remote has the file.
    """
    import dvc.api

    try:
        with dvc.api.open(path, repo=os.fspath(repo), rev=commit, mode="rb") as handle:
            data = handle.read()
    except Exception as exc:  # DVC raises many kinds (missing path, missing cache, remote errors)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ArtifactError(
            f"could not fetch {path} at commit {commit[:12]} through DVC ({reason}); push it "
            "from a repository that has it (dvc push), or check the DVC remote."
        ) from exc
    target = Path(dest)
    write_bytes(target, data)
    return target


def fetch_artifact(
    repo: str | os.PathLike[str],
    entry: VersionEntry,
    dest_dir: str | os.PathLike[str],
    *,
    params_file: str = "params.yaml",
) -> tuple[Path, Path]:
    """Fetch a version's model and metadata into ``dest_dir``; return their paths.

    The paths come from ``params_file`` as committed at the version's commit, so a version is
    found even if the project moved its files later. The model's sha256 is checked against the
    one its metadata records.

    Raises:
        ArtifactError: a file cannot be fetched, or the model does not match its metadata.
    """
    paths = paths_at(repo, entry.commit, params_file)
    dest = Path(dest_dir)
    model = fetch_output(repo, entry.commit, paths["model"], dest / Path(paths["model"]).name)
    metadata = fetch_output(
        repo, entry.commit, paths["model_metadata"], dest / Path(paths["model_metadata"]).name
    )
    recorded = read_json(metadata, "model metadata").get("model_sha256")
    if recorded is not None and file_sha256(model) != recorded:
        raise ArtifactError(
            f"the model fetched for {entry.tag} does not match its metadata's sha256; the DVC "
            "cache or remote holds a different file than was released."
        )
    return model, metadata


def register_version(
    repo: str | os.PathLike[str], name: str, version: str, commit: str, message: str
) -> str:
    """Create GTO's annotated tag ``<name>@<version>`` on ``commit`` (locally); return it."""
    from gto import api

    with _gto(f"registering {name} {version}"):
        event = api.register(
            os.fspath(repo), name, ref=commit, version=version, message=message, push=False
        )
    return event.tag


def _wait_past(moment: datetime | None) -> None:
    """Sleep until the clock is past ``moment``'s second.

    Git tag times have one-second resolution and GTO orders a stage's assignments by time, so
    two assignments of one stage in the same second would be ambiguous to ``gto show``.
    """
    if moment is None:
        return
    delay = moment.timestamp() + 1.0 - time.time()
    if delay > 0:
        time.sleep(delay + 0.01)


def _assign_local(
    repo: str | os.PathLike[str], name: str, stage: str, version: str, message: str
) -> str:
    from gto import api

    history = stage_history(repo, name, stage)
    _wait_past(history[0].created_at if history else None)
    with _gto(f"assigning {stage} to {name} {version}"):
        event = api.assign(
            os.fspath(repo),
            name,
            stage,
            version=version,
            message=message,
            force=True,  # a rollback assigns a version the stage had before, by design
            push=False,
        )
    return event.tag


def _unassign_local(
    repo: str | os.PathLike[str], name: str, stage: str, version: str, message: str
) -> str:
    from gto import api

    history = stage_history(repo, name, stage)
    _wait_past(history[0].created_at if history else None)
    with _gto(f"unassigning {stage} from {name} {version}"):
        event = api.unassign(
            os.fspath(repo), name, stage=stage, version=version, message=message, push=False
        )
    return event.tag


def unassign_stage(
    repo: str | os.PathLike[str],
    name: str,
    stage: str,
    version: str,
    message: str,
    *,
    remote: str | None = None,
    attempts: int = 5,
) -> str:
    """Point ``stage`` at nothing with GTO's unassignment tag ``name#stage!#N``; return it.

    What a failed first deploy of a stage reverts to: there is no earlier version to assign.
    Pushed like :func:`assign_stage`.

    Raises:
        RegistryError: the version is unknown, or the tag could not be pushed.
    """
    return _tag_stage(
        repo, name, stage, version, message, remote=remote, attempts=attempts, unassign=True
    )


def assign_stage(
    repo: str | os.PathLike[str],
    name: str,
    stage: str,
    version: str,
    message: str,
    *,
    remote: str | None = None,
    attempts: int = 5,
) -> str:
    """Point ``stage`` at ``version`` with a new assignment tag; return the tag.

    With a ``remote``, tags are fetched first and the new tag is pushed; when another process
    took the same counter in between (the push is rejected), the local tag is dropped, tags are
    fetched again and the next counter is tried, at most ``attempts`` times.

    Raises:
        RegistryError: the version is unknown, or the tag could not be pushed.
    """
    return _tag_stage(repo, name, stage, version, message, remote=remote, attempts=attempts)


def _tag_stage(
    repo: str | os.PathLike[str],
    name: str,
    stage: str,
    version: str,
    message: str,
    *,
    remote: str | None,
    attempts: int,
    unassign: bool = False,
) -> str:
    find_version(repo, name, version)
    pattern = f"{name}*"
    last = ""
    make = _unassign_local if unassign else _assign_local
    for _ in range(attempts):
        if remote is not None:
            fetch_tags(repo, remote, pattern)
        tag = make(repo, name, stage, version, message)
        if remote is None:
            return tag
        outcome = push_tag(repo, remote, tag)
        if outcome.ok:
            return tag
        delete_local_tag(repo, tag)
        if not outcome.rejected:
            raise RegistryError(
                f"could not push {tag} to {remote} ({outcome.message}); check access to the "
                "remote (the job needs contents: write) and run again."
            )
        last = outcome.message
    raise RegistryError(
        f"gave up assigning {stage} to {name} {version} after {attempts} attempts: every "
        f"assignment tag was taken on {remote} first ({last}); run again."
    )
