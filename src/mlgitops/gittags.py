"""Git tags and remotes for the registry: fetch, push, and what a tag points at.

Built on :mod:`mlgitops.gitrepo` (argument lists, no shell). Where a caller must tell outcomes
apart (a push rejected because another release took the name, versus a push that failed), the
outcome is returned rather than raised.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass

from mlgitops.gitrepo import GitError, git


def _reason(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line.strip() for line in f"{result.stderr}\n{result.stdout}".splitlines()]
    lines = [line for line in lines if line and not line.startswith("hint:")]
    return lines[0] if lines else f"exit code {result.returncode}"


def _run(repo: str | os.PathLike[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)


def trailers(repo: str | os.PathLike[str], commit: str) -> list[tuple[str, str]]:
    """The trailers (``Key: value`` lines) of ``commit``'s message, as git parses them."""
    message = git(repo, "log", "-1", "--format=%B", commit)
    result = subprocess.run(
        ["git", "interpret-trailers", "--parse"],
        cwd=repo,
        input=message + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise GitError(f"git interpret-trailers failed in {repo}: {_reason(result)}")
    found = []
    for line in result.stdout.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            found.append((key.strip(), value.strip()))
    return found


def has_remote(repo: str | os.PathLike[str], remote: str) -> bool:
    """Whether ``remote`` is a configured git remote of ``repo``."""
    return remote in git(repo, "remote").split()


def tag_commit(repo: str | os.PathLike[str], tag: str) -> str | None:
    """The commit a local tag points at (annotated tags peeled), or None when there is none."""
    result = _run(repo, "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}^{{commit}}")
    return result.stdout.strip() if result.returncode == 0 else None


def tag_is_annotated(repo: str | os.PathLike[str], tag: str) -> bool:
    """Whether a local tag is an annotated tag object (GTO ignores lightweight tags)."""
    return _run(repo, "cat-file", "-t", f"refs/tags/{tag}").stdout.strip() == "tag"


def remote_tags(repo: str | os.PathLike[str], remote: str, pattern: str) -> dict[str, str]:
    """Tags on ``remote`` matching the glob ``pattern``, each with the commit it points at."""
    # Annotated tags are listed twice, the tag object and the commit it peels to (``^{}``), but
    # only when the pattern matches both names.
    listing = git(
        repo, "ls-remote", "--tags", remote, f"refs/tags/{pattern}", f"refs/tags/{pattern}^{{}}"
    )
    direct: dict[str, str] = {}
    peeled: dict[str, str] = {}
    for line in listing.splitlines():
        sha, _, ref = line.partition("\t")
        name = ref.removeprefix("refs/tags/")
        if name.endswith("^{}"):
            peeled[name[:-3]] = sha
        else:
            direct[name] = sha
    return {name: peeled.get(name, sha) for name, sha in direct.items()}


def fetch_tags(repo: str | os.PathLike[str], remote: str, pattern: str) -> None:
    """Fetch the tags matching the glob ``pattern`` from ``remote``.

    A local tag that points elsewhere than the remote's tag of the same name is not overwritten:
    git refuses, and so does this function, naming both commits, since one side believes a
    version is something it is not.

    Raises:
        GitError: the fetch failed, or a local tag conflicts with the remote's.
    """
    result = _run(
        repo, "fetch", "--quiet", "--no-tags", remote, f"refs/tags/{pattern}:refs/tags/{pattern}"
    )
    if result.returncode == 0:
        return
    for name, commit in sorted(remote_tags(repo, remote, pattern).items()):
        ours = tag_commit(repo, name)
        if ours is not None and ours != commit:
            raise GitError(
                f"tag {name} points at commit {ours} here but at {commit} on {remote}; find "
                f"out which is right and delete the other (git tag -d {name}, or "
                f"git push {remote} :refs/tags/{name})"
            )
    raise GitError(f"git fetch {remote} failed in {repo}: {_reason(result)}")


@dataclass(frozen=True)
class PushOutcome:
    """A tag push: done, rejected because the name is taken on the remote, or failed."""

    ok: bool
    rejected: bool
    message: str


def push_tag(repo: str | os.PathLike[str], remote: str, tag: str) -> PushOutcome:
    """Push one tag to ``remote``; a name already taken there is reported, not raised."""
    result = _run(repo, "push", "--porcelain", remote, f"refs/tags/{tag}:refs/tags/{tag}")
    if result.returncode == 0:
        return PushOutcome(ok=True, rejected=False, message="")
    text = f"{result.stdout}\n{result.stderr}"
    rejected = "[rejected]" in text or "already exists" in text
    return PushOutcome(ok=False, rejected=rejected, message=_reason(result))


def delete_local_tag(repo: str | os.PathLike[str], tag: str) -> None:
    """Delete a local tag (nothing happens when there is none)."""
    _run(repo, "tag", "-d", tag)


def is_ancestor(repo: str | os.PathLike[str], older: str, newer: str) -> bool:
    """Whether commit ``older`` is an ancestor of (or the same as) ``newer``."""
    return _run(repo, "merge-base", "--is-ancestor", older, newer).returncode == 0
