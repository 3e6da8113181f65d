"""The baseline: the model of another revision (usually the pull request's base), fetched offline.

First from DVC (the local cache, or the default remote when one is configured) at that revision's
``dvc.lock``; when the artifact is in neither (no remote, a fork's pull request without secrets),
the revision is reproduced in a temporary ``git worktree`` that shares this repository's DVC cache,
so the next push of the same pull request finds it there. Nothing is downloaded from anywhere
else, and the worktree is removed afterwards.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import dvc.api
import numpy as np
import pandas as pd
import yaml

from mlgitops.artifact import LoadedModel, load_model
from mlgitops.errors import MlgitopsError
from mlgitops.gitrepo import commit_of, git, show


@dataclass(frozen=True)
class Baseline:
    """What the base revision has: its model (if any), and what the report shows about it."""

    rev: str
    commit: str
    model: LoadedModel | None
    source: str  # "dvc" | "reproduced" | "none" (no model at that revision) | "unavailable"
    reason: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    dvc_lock: dict[str, Any] = field(default_factory=dict)
    validation_report: dict[str, Any] | None = None
    train_ids: np.ndarray | None = None
    test_ids: np.ndarray | None = None


def _yaml(text: str | None, where: str) -> dict[str, Any]:
    """A YAML mapping committed at the base; {} when the file is not there.

    Raises:
        MlgitopsError: the file is there but is not a YAML mapping (the base is broken: reading
            it as empty would wrongly say "no baseline yet").
    """
    if not text:
        return {}
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problem = str(exc).splitlines()[0]
        raise MlgitopsError(
            f"{where} is not valid YAML ({problem}); fix it on the base branch, or compare with "
            "another revision (--base)."
        ) from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise MlgitopsError(
            f"{where} holds a {type(loaded).__name__}, not a mapping; fix it on the base branch, "
            "or compare with another revision (--base)."
        )
    return loaded


def locked_outputs(lock: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every output recorded in a ``dvc.lock``: path -> its entry (md5, size, ...), plus stage."""
    found: dict[str, dict[str, Any]] = {}
    for stage, entry in (lock.get("stages") or {}).items():
        for out in entry.get("outs") or []:
            if isinstance(out, dict) and "path" in out:
                found[out["path"]] = {**out, "stage": stage}
    return found


def dvc_env() -> dict[str, str]:
    """This interpreter's scripts first on PATH, so stage commands find the same tools."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("DVC_NO_ANALYTICS", "1")
    return env


def _read_at(repo: Path, commit: str, path: str) -> bytes:
    return dvc.api.read(path, repo=str(repo), rev=commit, mode="rb")


def _ids(data: bytes | None, id_column: str) -> np.ndarray | None:
    if data is None:
        return None
    try:
        return pd.read_parquet(io.BytesIO(data), columns=[id_column])[id_column].to_numpy()
    except Exception:
        return None


def _try_read(repo: Path, commit: str, path: str | None) -> bytes | None:
    if not path:
        return None
    try:
        return _read_at(repo, commit, path)
    except Exception:
        return None


def reproduce_in_worktree(
    repo: Path, commit: str, stage: str, workdir: Path
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """Check ``commit`` out in a temporary worktree and ``dvc repro`` ``stage`` there, offline."""
    tree = workdir / "worktree"
    if tree.exists():
        shutil.rmtree(tree)
    git(repo, "worktree", "add", "--detach", "--force", str(tree), commit)
    cache = Path(git(repo, "rev-parse", "--path-format=absolute", "--git-common-dir")).parent
    subprocess.run(
        ["dvc", "cache", "dir", "--local", str(cache / ".dvc" / "cache")],
        cwd=tree,
        env=dvc_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    result = subprocess.run(
        ["dvc", "repro", "--quiet", stage],
        cwd=tree,
        env=dvc_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    return tree, result


def _remove_worktree(repo: Path, tree: Path) -> None:
    git(repo, "worktree", "remove", "--force", str(tree), check=False)
    shutil.rmtree(tree, ignore_errors=True)
    git(repo, "worktree", "prune", check=False)


def fetch_baseline(
    repo: Path,
    rev: str,
    *,
    workdir: Path,
    extra_trusted: tuple[str, ...] = (),
    fallback_paths: dict[str, str] | None = None,
    id_column: str | None = None,
    allow_reproduce: bool = True,
) -> Baseline:
    """The baseline model of ``rev`` and what the report needs about that revision.

    Args:
        repo: The repository root.
        rev: The base revision (branch, tag or commit).
        workdir: A scratch directory for the fetched files (and the worktree, if needed).
        extra_trusted: The project's extra trusted skops types.
        fallback_paths: Paths to use when the base revision's params.yaml does not name them.
        id_column: The row id column, to read the base's split ids for the data-change summary.
        allow_reproduce: Reproduce the base in a worktree when DVC does not have its model.
    """
    commit = commit_of(repo, rev)
    params = _yaml(show(repo, commit, "params.yaml"), f"params.yaml at {rev} ({commit[:8]})")
    lock = _yaml(show(repo, commit, "dvc.lock"), f"dvc.lock at {rev} ({commit[:8]})")
    report_path = (params.get("paths") or {}).get("validation_report")
    report_text = show(repo, commit, report_path) if report_path else None
    try:
        validation = json.loads(report_text) if report_text else None
    except json.JSONDecodeError:
        validation = None
    paths = {**(fallback_paths or {}), **(params.get("paths") or {})}
    model_path, meta_path = paths.get("model"), paths.get("model_metadata")
    outputs = locked_outputs(lock)
    base = Baseline(
        rev=rev,
        commit=commit,
        model=None,
        source="none",
        params=params,
        dvc_lock=lock,
        validation_report=validation,
    )
    if not model_path or not meta_path or model_path not in outputs:
        return _with(
            base,
            reason=f"{rev} ({commit[:8]}) has no model in its dvc.lock yet: there is nothing to "
            "compare with (the first model of a repository)",
        )
    workdir.mkdir(parents=True, exist_ok=True)
    id_col = id_column or (params.get("data") or {}).get("id_column")
    model_bytes = _try_read(repo, commit, model_path)
    meta_bytes = _try_read(repo, commit, meta_path)
    if model_bytes is not None and meta_bytes is not None:
        (workdir / "model.skops").write_bytes(model_bytes)
        (workdir / "model.json").write_bytes(meta_bytes)
        model = load_model(workdir / "model.skops", workdir / "model.json", extra_trusted)
        return _with(
            base,
            model=model,
            source="dvc",
            train_ids=_ids(_try_read(repo, commit, paths.get("train")), id_col),
            test_ids=_ids(_try_read(repo, commit, paths.get("test")), id_col),
        )
    if not allow_reproduce:
        return _with(
            base,
            source="unavailable",
            reason=f"{rev} ({commit[:8]}) has a model, but it is not in the DVC cache or remote "
            "and reproducing it was turned off (--no-reproduce)",
        )
    stage = outputs[model_path]["stage"]
    tree, result = reproduce_in_worktree(repo, commit, stage, workdir)
    try:
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            raise MlgitopsError(
                f"reproducing {rev} ({commit[:8]}) to get its model failed: "
                f"{' '.join(tail) or 'dvc repro failed'}; fix the base branch or configure a DVC "
                "remote that holds its model."
            )
        for name, target in ((model_path, "model.skops"), (meta_path, "model.json")):
            shutil.copy(tree / name, workdir / target)
        model = load_model(workdir / "model.skops", workdir / "model.json", extra_trusted)

        def local_ids(key: str) -> np.ndarray | None:
            path = paths.get(key)
            if not path or not (tree / path).is_file():
                return None
            return _ids((tree / path).read_bytes(), id_col)

        return _with(
            base,
            model=model,
            source="reproduced",
            train_ids=local_ids("train"),
            test_ids=local_ids("test"),
        )
    finally:
        _remove_worktree(repo, tree)


def _with(base: Baseline, **changes: Any) -> Baseline:
    return replace(base, **changes)
