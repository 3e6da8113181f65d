"""Following a stage: the git tags are the desired state, and the server reconciles to them.

Each poll (``mlgitops serve --stage S --watch``, every ``serve.watch_interval`` seconds):

1. fetch the artifact's tags from ``origin`` when the repository has one (else the local tags);
2. resolve the stage to a version with :func:`mlgitops.registry.resolve_stage` (GTO's reading of
   the ``name#stage#N`` tags); GTO is only asked again when the tags changed. With
   ``trusted_taggers`` (``mlgitops serve --trusted-tagger EMAIL``), only stage tags whose tagger
   email is one of them count (:func:`mlgitops.registry.resolve_stage_trusted`): a stage tag
   someone else pushed is logged, counted (``reason="untrusted_tagger"``) and shown by
   ``/version`` (``watch.ignored_tags``), and never followed;
3. when that version is not the one serving: fetch its model, metadata and smoke sample through
   DVC at the version's commit (:func:`mlgitops.deploy.fetch_version`, the same files a deploy
   tests) into ``paths.serve_cache/<model sha256>/``, load the model (skops
   allowlist), run :func:`mlgitops.serve.smoke.smoke_test_model` on it, and swap it in only if
   that passes.

A version that fails to load or fails its smoke test is not swapped in: the old one keeps
serving, the reason is logged and counted in ``/metrics``
(``mlgitops_model_swap_rejections_total{version, reason}``) and shown by ``/version``
(``watch.last_rejection``). Such a version is not tried again while the tags stay the same (the
same files would fail the same way); any change of the artifact's tags, such as a new assignment
of that very version, earns it another try. A fetch that fails is tried again on the next poll
(the release job may push the tags before the DVC remote has the files).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgitops.artifact import load_model
from mlgitops.errors import MlgitopsError
from mlgitops.fsio import read_json
from mlgitops.gitrepo import git
from mlgitops.serve.holder import ModelHolder, iso, served_model, utc_now
from mlgitops.serve.metrics import ServerMetrics
from mlgitops.serve.smoke import load_smoke_sample, smoke_test_model

logger = logging.getLogger("mlgitops.serve")

#: Files of a cached version (the directory is complete when all are there).
MODEL_FILE = "model.skops"
METADATA_FILE = "model.json"


@dataclass(frozen=True)
class Rejection:
    """Why the version a stage points to is not serving."""

    version: str
    commit: str
    reason: str
    detail: str
    at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "commit": self.commit,
            "reason": self.reason,
            "detail": self.detail,
            "at": self.at,
        }


class StageWatcher:
    """Keeps ``holder`` serving the version a stage points to (see the module docstring).

    Args:
        holder: The served model's holder.
        metrics: Where swaps and rejections are counted.
        repo: The git repository holding the tags (and the DVC project).
        name: The artifact name (``model.name``).
        stage: The stage to follow, e.g. ``prod``.
        interval: Seconds between polls.
        cache_dir: Where fetched versions are kept, one directory per model sha256.
        params_file: The params file's path inside the repository (to find a version's paths).
        extra_trusted: The project's extra skops types (``model.extra_trusted_types``).
        remote: The git remote to fetch tags from, when the repository has it.
        trusted_taggers: When given, follow only stage tags whose tagger email is one of these
            (e.g. the Actions bot's); empty: follow every stage tag.
    """

    def __init__(
        self,
        holder: ModelHolder,
        metrics: ServerMetrics,
        *,
        repo: str | os.PathLike[str],
        name: str,
        stage: str,
        interval: float,
        cache_dir: str | os.PathLike[str],
        params_file: str = "params.yaml",
        extra_trusted: tuple[str, ...] = (),
        remote: str = "origin",
        trusted_taggers: tuple[str, ...] = (),
    ) -> None:
        self.holder = holder
        self.metrics = metrics
        self.repo = Path(repo)
        self.name = name
        self.stage = stage
        self.interval = interval
        self.cache_dir = Path(cache_dir)
        self.params_file = params_file
        self.extra_trusted = extra_trusted
        self.remote = remote
        self.trusted_taggers = tuple(trusted_taggers)
        self.ignored: tuple[Any, ...] = ()
        self._ignored_counted: set[str] = set()
        self.last_rejection: Rejection | None = None
        self.last_outcome: str | None = None
        self.last_poll: str | None = None
        self._rejected: dict[tuple[str, str], Rejection] = {}
        self._tags_seen: str | None = None
        self._entry: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._said: str | None = None

    def status(self) -> dict[str, Any]:
        """What ``/version`` shows under ``watch``."""
        return {
            "stage": self.stage,
            "interval_seconds": self.interval,
            "last_poll": self.last_poll,
            "last_outcome": self.last_outcome,
            "last_rejection": self.last_rejection.to_dict() if self.last_rejection else None,
            "trusted_taggers": list(self.trusted_taggers),
            "ignored_tags": [
                {"tag": e.tag, "version": e.version, "tagger": e.tagger} for e in self.ignored
            ],
        }

    # -- one reconciliation ---------------------------------------------------------------------

    def _say(self, level: int, message: str) -> None:
        """Log ``message`` once (a poll that finds the same thing again stays quiet)."""
        if message != self._said:
            logger.log(level, message)
            self._said = message

    def _fetch_tags(self) -> None:
        from mlgitops.gittags import fetch_tags, has_remote

        if has_remote(self.repo, self.remote):
            fetch_tags(self.repo, self.remote, f"{self.name}*")

    def _tags_fingerprint(self) -> str:
        return git(
            self.repo,
            "for-each-ref",
            "--format=%(refname) %(objectname)",
            f"refs/tags/{self.name}@*",
            f"refs/tags/{self.name}#*",
        )

    def _resolve(self) -> Any:
        from mlgitops.registry import resolve_stage, resolve_stage_trusted

        seen = self._tags_fingerprint()
        if seen != self._tags_seen:
            if self.trusted_taggers:
                self._entry, self.ignored = resolve_stage_trusted(
                    self.repo, self.name, self.stage, self.trusted_taggers
                )
                self._count_ignored()
            else:
                self._entry = resolve_stage(self.repo, self.name, self.stage)
            self._tags_seen = seen
            self._rejected.clear()
        return self._entry

    def _count_ignored(self) -> None:
        for event in self.ignored:
            if event.tag in self._ignored_counted:
                continue
            self._ignored_counted.add(event.tag)
            self.metrics.swap_rejections.labels(event.version, "untrusted_tagger").inc()
            logger.warning(
                "%s: not followed, its tagger %s is not one of the trusted taggers (%s)",
                event.tag,
                event.tagger or "(none)",
                ", ".join(self.trusted_taggers),
            )

    def _fetch(self, entry: Any) -> tuple[Path, Path, Path]:
        """The version's model, metadata and smoke sample, in the cache (fetched when needed)."""
        from mlgitops.deploy import fetch_version

        self.cache_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".fetch-", dir=self.cache_dir))
        try:
            fetched = fetch_version(self.repo, entry, staging, self.params_file)
            digest = str(read_json(fetched.metadata, "model metadata").get("model_sha256", ""))
            final = self.cache_dir / (digest.removeprefix("sha256:") or entry.commit)
            final.mkdir(exist_ok=True)
            sample = final / f"smoke_sample-{entry.commit[:12]}.json"
            # Moves within one directory are atomic: a cached directory never holds a torn file.
            fetched.model.replace(final / MODEL_FILE)
            fetched.metadata.replace(final / METADATA_FILE)
            fetched.smoke_sample.replace(sample)
            return final / MODEL_FILE, final / METADATA_FILE, sample
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _reject(self, entry: Any, reason: str, detail: str, *, remember: bool) -> str:
        rejection = Rejection(entry.version, entry.commit, reason, detail, iso(utc_now()))
        self.last_rejection = rejection
        if remember:
            self._rejected[(entry.version, entry.commit)] = rejection
        self.metrics.swap_rejections.labels(entry.version, reason).inc()
        current = self.holder.current
        keeps = f"; still serving {current.version}" if current else "; no model is serving"
        logger.warning(
            "%s#%s points to %s, not swapped in (%s): %s%s",
            self.name,
            self.stage,
            entry.version,
            reason,
            detail,
            keeps,
        )
        return "rejected"

    def poll(self) -> str:
        """Reconcile once; return the outcome.

        Outcomes: ``swapped``, ``unchanged``, ``no_version`` (the stage points nowhere),
        ``rejected`` (the version failed to fetch, load or pass its smoke test),
        ``rejected_before`` (it failed before and the tags did not change), ``error`` (the tags
        could not be read).
        """
        outcome = self._poll()
        self.last_outcome = outcome
        self.last_poll = iso(utc_now())
        self.metrics.watch_polls.labels(outcome).inc()
        return outcome

    def _poll(self) -> str:
        try:
            self._fetch_tags()
            entry = self._resolve()
        except MlgitopsError as exc:
            self._say(logging.WARNING, f"cannot read the stage tags in {self.repo}: {exc}")
            return "error"
        if entry is None:
            self._say(logging.WARNING, f"{self.name}#{self.stage} points to no version yet")
            return "no_version"
        current = self.holder.current
        if current is not None and (current.version, current.commit) == (
            entry.version,
            entry.commit,
        ):
            return "unchanged"
        if (entry.version, entry.commit) in self._rejected:
            return "rejected_before"
        try:
            model_path, metadata_path, sample_path = self._fetch(entry)
        except MlgitopsError as exc:
            return self._reject(entry, "fetch", str(exc), remember=False)
        try:
            model = load_model(model_path, metadata_path, self.extra_trusted)
            sample = load_smoke_sample(sample_path)
        except MlgitopsError as exc:
            return self._reject(entry, "load", str(exc), remember=True)
        result = smoke_test_model(model, sample)
        if not result.ok:
            return self._reject(entry, "smoke_test", result.summary(), remember=True)
        served = served_model(
            model,
            version=entry.version,
            source=f"{self.name}#{self.stage} at {self.repo}",
            stage=self.stage,
            commit=entry.commit,
        )
        old = self.holder.swap(served)
        self.metrics.serving(old, served)
        self.last_rejection = None
        was = f"from {old.version} " if old is not None else ""
        self._said = None
        logger.info(
            "%s#%s: now serving %s %s(%s)",
            self.name,
            self.stage,
            entry.version,
            was,
            result.summary(),
        )
        return "swapped"

    # -- the background loop --------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="stage-watcher", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception:  # the watcher must outlive any one bad poll
                logger.exception("polling %s#%s failed", self.name, self.stage)
                self.metrics.watch_polls.labels("error").inc()
