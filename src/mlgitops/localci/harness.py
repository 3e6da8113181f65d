"""Run the project's GitHub Actions workflows locally: the product's interface, tested.

GitHub cannot be reached from the tests, so this harness plays the runner for the parts of a run
our workflows depend on, and says so wherever it stops:

- **The forge.** :class:`Forge` is the repository on "GitHub": a local bare repository as
  ``origin`` (served over ``file://`` so shallow fetches are real), a developer clone, the PRs,
  issues, comments, labels and releases in a JSON state file, and the artifacts of every run.
- **Events.** :meth:`Forge.pull_request`, :meth:`Forge.push`, :meth:`Forge.merge`,
  :meth:`Forge.schedule`, :meth:`Forge.workflow_dispatch` and :meth:`Forge.workflow_run` build
  the event a real run would get: a realistic ``GITHUB_EVENT_PATH`` payload, ``GITHUB_REF`` and
  ``GITHUB_SHA`` (for a PR, ``refs/pull/N/merge`` and a real test-merge commit in ``origin``).
  The workflow file is read from the commit the event runs (as GitHub does), and its ``on:``
  filters (types, branches, tags, paths, workflows) must match or :class:`NotTriggered` is raised.
- **Jobs and steps.** Jobs run one after another in ``needs:`` order (GitHub runs independent
  jobs in parallel; the result is the same for jobs that share nothing), each on a fresh "runner":
  its own ``HOME``, ``RUNNER_TEMP`` and empty ``GITHUB_WORKSPACE``. ``if:`` conditions go through
  :mod:`mlgitops.localci.expressions` (an unsupported expression is an error, never true);
  workflow-, job- and step-level ``env:`` and ``${{ }}`` in ``env:``/``with:`` are evaluated from
  the contexts; ``run:`` scripts run with the runner's shells (``bash -e {0}`` by default,
  ``bash --noprofile --norc -eo pipefail {0}`` for ``shell: bash``); ``continue-on-error``,
  ``timeout-minutes``, ``working-directory`` and ``defaults.run`` are honoured.
- **Runner files.** Each step gets fresh ``GITHUB_OUTPUT``, ``GITHUB_ENV``, ``GITHUB_PATH`` and
  ``GITHUB_STEP_SUMMARY`` files, read back as the runner does (``name=value`` and the
  ``name<<DELIMITER`` multi-line form; ``GITHUB_ENV`` overrides workflow/job ``env:`` for later
  steps, a step's own ``env:`` overrides both; ``GITHUB_PATH`` entries go first on PATH, the
  latest first); workflow commands on the output (``::error::``, ``::notice::``, ``::warning::``,
  ``::add-mask::``, ``::stop-commands::``, the deprecated ``::set-output``) are honoured too.
- **Actions.** ``uses:`` steps map to local equivalents: ``actions/checkout`` fetches from
  ``origin`` into the workspace like checkout v4 (``fetch-depth``, ``fetch-tags``, ``ref``,
  ``persist-credentials``: without persisted credentials, or without ``contents: write``, the
  clone cannot push); ``actions/setup-python`` puts this interpreter's venv first on PATH (its
  ``cache:`` is a no-op: nothing to restore); ``actions/upload-artifact`` and
  ``actions/download-artifact`` (v4 semantics, ``run-id`` across runs) copy to and from the
  forge's per-run artifact directory; ``iterative/setup-cml`` puts the ``cml`` shim on PATH. Any
  other ``uses:`` is an error.
- **gh and cml.** ``gh`` (on PATH from the start, as on hosted runners) and ``cml`` are one
  recording shim, :mod:`mlgitops.localci.shim`: the one thin shim at the GitHub boundary. Every job
  gets a token carrying its ``permissions:`` (read-only for fork PRs), and the shim refuses calls
  the token does not allow.
- **pip.** The venv is installed already and there is no network, so a ``python -m pip install
  ...`` line in a ``run:`` script is replaced by :mod:`mlgitops.localci.pip_noop` with the same
  arguments, which checks that what it names is installed and importable. Any other ``pip
  install`` is an error.
- **git identity.** Hosted runners have no git identity: ``user.useConfigOnly`` makes a commit or
  tag without one fail here too.

Not modelled (an error if a workflow uses it): matrices, containers, services, reusable
workflows, composite/Docker actions, other shells. ``concurrency:`` and ``environment:``
approvals are not modelled (the run goes ahead); ``environment:`` is recorded on the job result.

A failed step fails the run: :meth:`Forge.run` raises :class:`RunFailed` with the step's name,
command and output, unless the test asks for the result with ``check=False``.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from mlgitops.localci import expressions
from mlgitops.localci.expressions import Checked, ExpressionError, Scope
from mlgitops.localci.sandbox import ROOT, copy_project, init_repo, run
from mlgitops.localci.sandbox import env as sandbox_env

HERE = Path(__file__).resolve().parent
WORKFLOWS = ROOT / ".github" / "workflows"
SHIM = HERE / "shim.py"
PIP_NOOP = HERE / "pip_noop.py"
VENV_BIN = Path(sys.executable).parent
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
ZERO_SHA = "0" * 40
#: Host variables a runner step keeps: the BLAS settings this machine needs (see the env notes).
PASSTHROUGH = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "TZ")
PERMISSION_SCOPES = (
    "actions",
    "attestations",
    "checks",
    "contents",
    "deployments",
    "discussions",
    "id-token",
    "issues",
    "models",
    "packages",
    "pages",
    "pull-requests",
    "repository-projects",
    "security-events",
    "statuses",
)
#: GitHub's default for new repositories ("restricted"): used only when a workflow sets none.
DEFAULT_PERMISSIONS = {"contents": "read", "packages": "read"}
DEFAULT_LABELS = (
    "bug",
    "documentation",
    "duplicate",
    "enhancement",
    "good first issue",
    "help wanted",
    "invalid",
    "question",
    "wontfix",
)


class WorkflowError(Exception):
    """The workflow uses something the harness does not model, or is malformed."""


class NotTriggered(WorkflowError):
    """The workflow's ``on:`` does not match the event."""


class RunFailed(AssertionError):
    """A step failed: the message names the job, the step, its command and its output."""


# ---------------------------------------------------------------------------------- YAML


class _Loader(yaml.SafeLoader):
    """YAML as GitHub reads it: only true/false are booleans (``on:`` stays a string)."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def load_workflow_text(text: str, where: str) -> dict[str, Any]:
    # _Loader is SafeLoader with GitHub's booleans: it constructs no Python objects.
    doc = yaml.load(text, Loader=_Loader)  # noqa: S506
    if not isinstance(doc, dict) or "jobs" not in doc or "on" not in doc:
        raise WorkflowError(f"{where} is not a workflow (needs `on:` and `jobs:`)")
    return doc


def load_workflow(path: Path) -> dict[str, Any]:
    return load_workflow_text(path.read_text(), str(path))


def workflow_files(directory: Path = WORKFLOWS) -> list[Path]:
    """Every workflow in a directory (both extensions GitHub reads)."""
    return sorted([*directory.glob("*.yml"), *directory.glob("*.yaml")])


def triggers(doc: dict[str, Any]) -> dict[str, Any]:
    """``on:`` as a mapping of event name to its filters (None when it has none)."""
    on = doc["on"]
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return dict(on)


def run_steps(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """``(job id, step label, step)`` for every ``run:`` step of a workflow."""
    out = []
    for job_id, job in (doc.get("jobs") or {}).items():
        for i, step in enumerate(job.get("steps") or []):
            if "run" in step:
                out.append((job_id, step.get("name") or step.get("id") or f"step {i + 1}", step))
    return out


# ------------------------------------------------------------------------------ filters


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """GitHub's filter globs: ``*`` (not ``/``) and ``**``; ``?``, ``+`` and ``[]`` are not
    modelled (an error)."""
    if any(c in pattern for c in "?+[]"):
        raise WorkflowError(f"filter pattern {pattern!r}: ?, + and [] are not modelled")
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out + r"\Z")


def filter_matches(patterns: list[str], name: str) -> bool:
    """Patterns in order, ``!`` negates: the last one that matches decides."""
    matched = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        if _glob_regex(pattern[1:] if negate else pattern).match(name):
            matched = not negate
    return matched


def _filters_pass(spec: dict[str, Any], key: str, names: list[str], any_of: bool = True) -> bool:
    include, ignore = spec.get(key), spec.get(f"{key}-ignore")
    if include is not None and ignore is not None:
        raise WorkflowError(f"`{key}` and `{key}-ignore` together are not allowed by GitHub")
    if include is not None:
        return any(filter_matches(list(include), n) for n in names)
    if ignore is not None:
        if key == "paths":
            return any(not filter_matches(list(ignore), n) for n in names)
        return not any(filter_matches(list(ignore), n) for n in names)
    return True


# --------------------------------------------------------------------------------- events


@dataclass
class Event:
    """What GitHub hands a run: the event's name and payload, and the ref and commit it runs."""

    name: str
    payload: dict[str, Any]
    ref: str
    sha: str
    actor: str = "octocat"
    head_ref: str = ""
    base_ref: str = ""
    fork: bool = False
    changed_files: list[str] | None = None
    inputs: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------- results


@dataclass
class StepResult:
    name: str
    id: str | None
    uses: str | None
    command: str
    outcome: str  # success, failure, skipped
    conclusion: str
    exit_code: int | None = None
    output: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    seconds: float = 0.0


@dataclass
class JobResult:
    id: str
    name: str
    result: str  # success, failure, skipped
    steps: list[StepResult] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    annotations: list[tuple[str, str]] = field(default_factory=list)
    permissions: dict[str, str] = field(default_factory=dict)
    environment: str | None = None
    workspace: Path | None = None

    def step(self, name: str) -> StepResult:
        for s in self.steps:
            if name in (s.name, s.id):
                return s
        raise KeyError(f"job {self.id} has no step {name!r}: {[s.name for s in self.steps]}")

    @property
    def failed_step(self) -> StepResult | None:
        return next((s for s in self.steps if s.outcome == "failure"), None)


@dataclass
class RunResult:
    workflow: str
    path: str
    event: Event
    run_id: int
    run_number: int
    jobs: dict[str, JobResult]
    conclusion: str

    def job(self, job_id: str) -> JobResult:
        return self.jobs[job_id]

    def failure_report(self) -> str:
        lines = [
            f"workflow {self.path} ({self.workflow!r}, run {self.run_id}, event "
            f"{self.event.name}) concluded {self.conclusion}"
        ]
        for job in self.jobs.values():
            step = job.failed_step
            if job.result != "failure" or step is None:
                continue
            output = step.output if len(step.output) < 12000 else "...\n" + step.output[-12000:]
            lines += [
                f"job {job.id!r} failed at step {step.name!r} (exit {step.exit_code})",
                "--- command ---",
                step.command.rstrip(),
                "--- output ---",
                output.rstrip(),
            ]
            if job.summary:
                lines += ["--- job summary (start) ---", job.summary[:2000].rstrip()]
        return "\n".join(lines)


# ------------------------------------------------------------------------- file commands


def parse_file_command(text: str, what: str) -> list[tuple[str, str]]:
    """``name=value`` lines and ``name<<DELIMITER`` blocks, exactly as the runner reads them."""
    pairs: list[tuple[str, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if line == "":
            continue
        eq, heredoc = line.find("="), line.find("<<")
        if eq >= 0 and (heredoc < 0 or eq < heredoc):
            name, value = line[:eq], line[eq + 1 :]
            if name == "":
                raise WorkflowError(f"{what}: invalid format {line!r} (empty name)")
            pairs.append((name, value))
        elif heredoc >= 0 and (eq < 0 or heredoc < eq):
            name, delimiter = line[:heredoc], line[heredoc + 2 :]
            if name == "" or delimiter == "":
                raise WorkflowError(f"{what}: invalid format {line!r}")
            body: list[str] = []
            while True:
                if i >= len(lines):
                    raise WorkflowError(
                        f"{what}: matching delimiter not found {delimiter!r} for {name!r}"
                    )
                if lines[i] == delimiter:
                    i += 1
                    break
                body.append(lines[i])
                i += 1
            pairs.append((name, "\n".join(body)))
        else:
            raise WorkflowError(f"{what}: invalid format {line!r}")
    return pairs


_COMMAND = re.compile(r"^::([A-Za-z-]+)(?: ([^:]*))?::(.*)$")


def workflow_commands(output: str) -> list[tuple[str, dict[str, str], str]]:
    """The ``::command props::message`` lines, minus those inside ``::stop-commands::``."""
    found: list[tuple[str, dict[str, str], str]] = []
    stop_token: str | None = None
    for line in output.splitlines():
        match = _COMMAND.match(line.strip())
        if match is None:
            continue
        name, props_text, message = match.group(1), match.group(2) or "", match.group(3)
        if stop_token is not None:
            if name == stop_token and not props_text:
                stop_token = None
            continue
        if name == "stop-commands":
            stop_token = message
            continue
        props = {}
        for part in filter(None, props_text.split(",")):
            key, _, value = part.partition("=")
            props[key.strip()] = value
        found.append((name, props, message))
    return found


# ------------------------------------------------------------------------------ the forge


def _git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return run(cwd, "git", *args).stdout.strip() if env is None else _git_env(cwd, env, *args)


def _git_env(cwd: Path, env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} exited {result.returncode}\n{result.stderr}")
    return result.stdout.strip()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _github_identity() -> dict[str, str]:
    e = sandbox_env()
    e.update(
        GIT_AUTHOR_NAME="GitHub",
        GIT_AUTHOR_EMAIL="noreply@github.com",
        GIT_COMMITTER_NAME="GitHub",
        GIT_COMMITTER_EMAIL="noreply@github.com",
    )
    return e


class Forge:
    """The repository on "GitHub", a developer's clone of it, and what was posted there.

    Args:
        root: an empty directory to hold everything.
        repository: ``owner/name`` the runs see as ``github.repository``.
    """

    def __init__(self, root: Path, repository: str = "mlgitops/income-example") -> None:
        self.root = root
        self.repository = repository
        self.owner, self.name = repository.split("/")
        self.origin = root / "origin.git"
        self.origin_url = self.origin.as_uri()
        self.dev = root / "dev"
        self.state_file = root / "forge.json"
        self.runs_dir = root / "runs"
        self.artifacts_dir = root / "artifacts"
        self.gh_bin = root / "bin-gh"
        self.cml_bin = root / "bin-cml"
        self._run_id = 9000
        self._run_numbers: dict[str, int] = {}
        self.runs: dict[int, RunResult] = {}

    # ------------------------------------------------------------------ set-up

    @classmethod
    def from_project(cls, root: Path, edit=None, **kwargs: Any) -> Forge:
        """The example project with the real workflow files, committed and pushed to ``origin``.

        Args:
            root: an empty directory.
            edit: called with the developer clone's path before the first commit (fast settings).
        """
        forge = cls(root, **kwargs)
        copy_project(forge.dev)
        shutil.copytree(ROOT / ".github", forge.dev / ".github")
        shutil.copy(ROOT / "pyproject.toml", forge.dev / "pyproject.toml")
        if edit is not None:
            edit(forge.dev)
        init_repo(forge.dev)
        forge._init_origin()
        return forge

    @classmethod
    def from_files(cls, root: Path, files: dict[str, str], **kwargs: Any) -> Forge:
        """A small repository of ``files`` (path -> text) on main, pushed to ``origin``."""
        forge = cls(root, **kwargs)
        for name, text in files.items():
            path = forge.dev / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        run(forge.dev, "git", "init", "-q", "-b", "main")
        run(forge.dev, "git", "add", "-A")
        run(forge.dev, "git", "commit", "-q", "-m", "Start")
        forge._init_origin()
        return forge

    def _init_origin(self) -> None:
        run(self.root, "git", "init", "-q", "--bare", "-b", "main", str(self.origin))
        # GitHub serves any reachable commit by id (checkout fetches the event's SHA).
        run(self.origin, "git", "config", "uploadpack.allowReachableSHA1InWant", "true")
        run(self.dev, "git", "remote", "add", "origin", self.origin_url)
        run(self.dev, "git", "push", "-q", "origin", "main")
        for directory, name in ((self.gh_bin, "gh"), (self.cml_bin, "cml")):
            directory.mkdir()
            text = SHIM.read_text().replace("#!/usr/bin/env python3", f"#!{sys.executable}", 1)
            (directory / name).write_text(text)
            (directory / name).chmod(0o755)
        self.artifacts_dir.mkdir()
        self.runs_dir.mkdir()
        self.save_state(
            {
                "repository": self.repository,
                "server_url": "https://github.com",
                "default_branch": "main",
                "origin": str(self.origin),
                "origin_urls": [self.origin_url, str(self.origin)],
                "assets_dir": str(self.root / "release-assets"),
                "labels": {name: {"color": "ededed", "description": ""} for name in DEFAULT_LABELS},
                "pulls": {},
                "issues": {},
                "comments": [],
                "releases": {},
                "tokens": {},
                "calls": [],
                "next_number": 1,
                "next_comment_id": 100,
            }
        )

    # ------------------------------------------------------------------ state

    @property
    def state(self) -> dict[str, Any]:
        return json.loads(self.state_file.read_text())

    def save_state(self, state: dict[str, Any]) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
        tmp.replace(self.state_file)

    def comments(self, target: str | None = None) -> list[dict[str, Any]]:
        return [c for c in self.state["comments"] if target is None or c["target"] == target]

    def issues(self, label: str | None = None) -> list[dict[str, Any]]:
        return [
            i
            for i in sorted(self.state["issues"].values(), key=lambda i: i["number"])
            if label is None or label in i["labels"]
        ]

    def releases(self) -> dict[str, dict[str, Any]]:
        return self.state["releases"]

    def pulls(self) -> dict[str, dict[str, Any]]:
        return self.state["pulls"]

    def calls(self) -> list[dict[str, Any]]:
        return self.state["calls"]

    def add_labels(self, *names: str) -> None:
        """Labels that exist in the repository before any run (as a maintainer made them)."""
        state = self.state
        for name in names:
            state["labels"].setdefault(name, {"color": "ededed", "description": ""})
        self.save_state(state)

    def origin_git(self, *args: str) -> str:
        return _git(self.origin, *args)

    def origin_tags(self) -> list[str]:
        return self.origin_git("tag", "--list").split()

    def artifact(self, run_id: int, name: str) -> Path:
        path = self.artifacts_dir / str(run_id) / name
        if not path.is_dir():
            raise KeyError(f"run {run_id} has no artifact {name!r}")
        return path

    # ------------------------------------------------------------------ events

    def _repository_payload(self) -> dict[str, Any]:
        return {
            "id": 123456789,
            "name": self.name,
            "full_name": self.repository,
            "private": False,
            "fork": False,
            "owner": {"login": self.owner, "type": "Organization"},
            "html_url": f"https://github.com/{self.repository}",
            "clone_url": f"https://github.com/{self.repository}.git",
            "default_branch": "main",
        }

    def _head(self, branch: str) -> str:
        return self.origin_git("rev-parse", f"refs/heads/{branch}")

    def push(self, branch: str = "main", *, actor: str = "octocat") -> Event:
        """The developer pushes ``branch`` to origin; the push event for it."""
        before = (
            self.origin_git("rev-parse", "-q", "--verify", f"refs/heads/{branch}")
            if _ref_exists(self.origin, f"refs/heads/{branch}")
            else ZERO_SHA
        )
        run(self.dev, "git", "push", "-q", "origin", f"{branch}:{branch}")
        return self._push_event(branch, before, self._head(branch), actor)

    def push_tag(self, tag: str, *, actor: str = "octocat") -> Event:
        """The developer pushes ``tag`` to origin; the push event for it."""
        run(self.dev, "git", "push", "-q", "origin", f"refs/tags/{tag}")
        sha = self.origin_git("rev-parse", f"refs/tags/{tag}^{{commit}}")
        payload = {
            "ref": f"refs/tags/{tag}",
            "before": ZERO_SHA,
            "after": self.origin_git("rev-parse", f"refs/tags/{tag}"),
            "created": True,
            "deleted": False,
            "forced": False,
            "base_ref": None,
            "commits": [],
            "head_commit": self._commit_payload(sha),
            "pusher": {"name": actor},
            "repository": self._repository_payload(),
            "sender": {"login": actor},
        }
        return Event("push", payload, f"refs/tags/{tag}", sha, actor=actor, changed_files=[])

    def _commit_payload(self, sha: str) -> dict[str, Any]:
        message, name, email, stamp = self.origin_git(
            "show", "-s", "--format=%B%x00%an%x00%ae%x00%aI", sha
        ).split("\x00")
        return {
            "id": sha,
            "tree_id": self.origin_git("rev-parse", f"{sha}^{{tree}}"),
            "message": message.strip(),
            "timestamp": stamp,
            "author": {"name": name, "email": email},
            "committer": {"name": name, "email": email},
        }

    def _push_event(self, branch: str, before: str, after: str, actor: str) -> Event:
        if before == ZERO_SHA:
            commits = [after]
            changed = self.origin_git("ls-tree", "-r", "--name-only", after).split("\n")
        else:
            commits = self.origin_git("rev-list", "--reverse", f"{before}..{after}").split()
            changed = self.origin_git("diff", "--name-only", before, after).split("\n")
        payload = {
            "ref": f"refs/heads/{branch}",
            "before": before,
            "after": after,
            "created": before == ZERO_SHA,
            "deleted": False,
            "forced": False,
            "base_ref": None,
            "compare": f"https://github.com/{self.repository}/compare/{before[:12]}...{after[:12]}",
            "commits": [self._commit_payload(c) for c in commits],
            "head_commit": self._commit_payload(after),
            "pusher": {"name": actor},
            "repository": self._repository_payload(),
            "sender": {"login": actor},
        }
        return Event(
            "push",
            payload,
            f"refs/heads/{branch}",
            after,
            actor=actor,
            changed_files=[c for c in changed if c],
        )

    def pull_request(
        self,
        head: str,
        base: str = "main",
        *,
        number: int | None = None,
        fork: bool = False,
        action: str | None = None,
        title: str | None = None,
        actor: str | None = None,
    ) -> Event:
        """Open (or, with ``number``, update) a PR from the developer clone's branch ``head``.

        A same-repository PR pushes ``head`` to origin; a fork PR's commits reach origin only as
        ``refs/pull/N/head``, as on GitHub. Either way origin gets ``refs/pull/N/merge``, a real
        test-merge commit of the head into the base, which the run checks out.
        """
        state = self.state
        head_sha = _git(self.dev, "rev-parse", f"refs/heads/{head}")
        author = actor or ("contributor" if fork else "octocat")
        if number is None:
            number = state["next_number"]
            state["next_number"] += 1
            action = action or "opened"
        else:
            action = action or "synchronize"
        if fork:
            run(
                self.dev, "git", "push", "-q", "-f", "origin", f"{head_sha}:refs/pull/{number}/head"
            )
        else:
            run(self.dev, "git", "push", "-q", "-f", "origin", f"{head}:{head}")
            self.origin_git("update-ref", f"refs/pull/{number}/head", head_sha)
        base_sha = self._head(base)
        identity = _github_identity()
        tree = subprocess.run(
            ["git", "merge-tree", "--write-tree", base_sha, head_sha],
            cwd=self.origin,
            env=identity,
            capture_output=True,
            text=True,
            check=False,
        )
        if tree.returncode != 0:
            raise WorkflowError(f"PR #{number} does not merge cleanly into {base}:\n{tree.stdout}")
        merge_sha = _git_env(
            self.origin,
            identity,
            "commit-tree",
            tree.stdout.split()[0],
            "-p",
            base_sha,
            "-p",
            head_sha,
            "-m",
            f"Merge {head_sha} into {base_sha}",
        )
        self.origin_git("update-ref", f"refs/pull/{number}/merge", merge_sha)
        head_repo = f"{author}/{self.name}" if fork else self.repository
        pr = state["pulls"].get(str(number)) or {
            "number": number,
            "title": title or f"Change from {head}",
            "body": "",
            "state": "open",
            "merged": False,
            "draft": False,
            "labels": [],
            "author": author,
            "head_ref": head,
            "head_repo": head_repo,
            "base_ref": base,
        }
        pr.update(head_sha=head_sha, base_sha=base_sha)
        state["pulls"][str(number)] = pr
        self.save_state(state)
        changed = self.origin_git("diff", "--name-only", f"{base_sha}...{head_sha}").split("\n")
        repo_payload = self._repository_payload()
        head_repo_payload = dict(repo_payload, full_name=head_repo, fork=fork)
        if fork:
            head_repo_payload.update(name=self.name, owner={"login": author, "type": "User"})
        payload = {
            "action": action,
            "number": number,
            "pull_request": {
                "number": number,
                "state": "open",
                "title": pr["title"],
                "body": pr["body"],
                "draft": False,
                "merged": False,
                "html_url": f"https://github.com/{self.repository}/pull/{number}",
                "user": {"login": author},
                "head": {
                    "ref": head,
                    "sha": head_sha,
                    "label": f"{head_repo.split('/')[0]}:{head}",
                    "repo": head_repo_payload,
                },
                "base": {
                    "ref": base,
                    "sha": base_sha,
                    "label": f"{self.owner}:{base}",
                    "repo": repo_payload,
                },
                "merge_commit_sha": merge_sha,
            },
            "repository": repo_payload,
            "sender": {"login": author},
        }
        return Event(
            "pull_request",
            payload,
            f"refs/pull/{number}/merge",
            merge_sha,
            actor=author,
            head_ref=head,
            base_ref=base,
            fork=fork,
            changed_files=[c for c in changed if c],
        )

    def merge(self, number: int) -> Event:
        """Press "Merge pull request": a merge commit on the base in origin; its push event."""
        state = self.state
        pr = state["pulls"][str(number)]
        base = pr["base_ref"]
        before = self._head(base)
        identity = _github_identity()
        head_sha = self.origin_git("rev-parse", f"refs/pull/{number}/head")
        tree = _git_env(self.origin, identity, "merge-tree", "--write-tree", before, head_sha)
        merge_sha = _git_env(
            self.origin,
            identity,
            "commit-tree",
            tree.split()[0],
            "-p",
            before,
            "-p",
            head_sha,
            "-m",
            f"Merge pull request #{number} from {pr['head_repo'].split('/')[0]}/{pr['head_ref']}",
        )
        self.origin_git("update-ref", f"refs/heads/{base}", merge_sha, before)
        pr.update(state="closed", merged=True, merge_commit_sha=merge_sha)
        self.save_state(state)
        run(self.dev, "git", "fetch", "-q", "origin")
        return self._push_event(base, before, merge_sha, "octocat")

    def schedule(self, cron: str | None = None) -> Event:
        """A scheduled run (on the default branch's latest commit); ``cron`` defaults to the
        workflow's first ``schedule:`` entry."""
        sha = self._head("main")
        payload = {"schedule": cron, "repository": self._repository_payload()}
        return Event("schedule", payload, "refs/heads/main", sha, actor="octocat")

    def workflow_dispatch(self, inputs: dict[str, Any] | None = None, ref: str = "main") -> Event:
        sha = self._head(ref)
        payload = {
            "inputs": {k: _input_text(v) for k, v in (inputs or {}).items()},
            "ref": f"refs/heads/{ref}",
            "repository": self._repository_payload(),
            "sender": {"login": "octocat"},
            "workflow": None,
        }
        return Event(
            "workflow_dispatch",
            payload,
            f"refs/heads/{ref}",
            sha,
            actor="octocat",
            inputs=dict(inputs or {}),
        )

    def workflow_run(self, previous: RunResult, action: str = "completed") -> Event:
        """The ``workflow_run`` event GitHub sends when ``previous`` completes."""
        prev = previous.event
        repo_payload = self._repository_payload()
        if prev.name == "pull_request":
            head_sha = prev.payload["pull_request"]["head"]["sha"]
            head_branch = prev.head_ref
            head_repo = prev.payload["pull_request"]["head"]["repo"]
            pulls = (
                []  # GitHub lists no pull requests for a run from a fork
                if prev.fork
                else [
                    {
                        "number": prev.payload["number"],
                        "head": {"ref": prev.head_ref, "sha": head_sha},
                        "base": {
                            "ref": prev.base_ref,
                            "sha": prev.payload["pull_request"]["base"]["sha"],
                        },
                    }
                ]
            )
        else:
            head_sha = prev.sha
            head_branch = prev.ref.removeprefix("refs/heads/")
            head_repo = repo_payload
            pulls = []
        payload = {
            "action": action,
            "workflow_run": {
                "id": previous.run_id,
                "name": previous.workflow,
                "path": previous.path,
                "event": prev.name,
                "status": "completed",
                "conclusion": previous.conclusion,
                "head_branch": head_branch,
                "head_sha": head_sha,
                "head_repository": head_repo,
                "repository": repo_payload,
                "pull_requests": pulls,
                "run_number": previous.run_number,
                "run_attempt": 1,
                "html_url": f"https://github.com/{self.repository}/actions/runs/{previous.run_id}",
                "artifacts_url": (
                    f"https://api.github.com/repos/{self.repository}/actions/runs/"
                    f"{previous.run_id}/artifacts"
                ),
                "actor": {"login": prev.actor},
                "triggering_actor": {"login": prev.actor},
            },
            "workflow": {"name": previous.workflow, "path": previous.path},
            "repository": repo_payload,
            "sender": {"login": prev.actor},
        }
        return Event(
            "workflow_run", payload, "refs/heads/main", self._head("main"), actor=prev.actor
        )

    # ------------------------------------------------------------------ runs

    def run(
        self,
        workflow: str,
        event: Event,
        *,
        secrets: dict[str, str] | None = None,
        vars: dict[str, str] | None = None,
        check: bool = True,
    ) -> RunResult:
        """Run ``.github/workflows/<workflow>`` (as of the event's commit) for ``event``.

        Raises:
            NotTriggered: the workflow's ``on:`` does not match the event.
            WorkflowError: the workflow uses something the harness does not model.
            RunFailed: with ``check``, when the run did not succeed.
        """
        path = f".github/workflows/{workflow}"
        text = self.origin_git("show", f"{event.sha}:{path}")
        doc = load_workflow_text(text, f"{path}@{event.sha[:12]}")
        self._check_trigger(doc, path, event)
        self._run_id += 1
        run_id = self._run_id
        self._run_numbers[path] = self._run_numbers.get(path, 0) + 1
        result = _Run(self, doc, path, event, run_id, self._run_numbers[path], secrets, vars).go()
        self.runs[run_id] = result
        if check and result.conclusion != "success":
            raise RunFailed(result.failure_report())
        return result

    def _check_trigger(self, doc: dict[str, Any], path: str, event: Event) -> None:
        on = triggers(doc)
        if event.name not in on:
            raise NotTriggered(f"{path} does not run on {event.name} (on: {sorted(on)})")
        spec = on[event.name] or {}
        # on.schedule is a list of {cron: ...}, checked below; every other trigger is a mapping.
        if event.name != "schedule" and not isinstance(spec, dict):
            raise WorkflowError(f"{path}: on.{event.name} must be a mapping")
        why = f"{path} is not triggered by this {event.name} event"
        if event.name == "pull_request":
            types = spec.get("types") or ["opened", "synchronize", "reopened"]
            if event.payload["action"] not in types:
                raise NotTriggered(f"{why}: action {event.payload['action']} not in {types}")
            if not _filters_pass(spec, "branches", [event.base_ref]):
                raise NotTriggered(f"{why}: base {event.base_ref} is filtered out")
            if not _filters_pass(spec, "paths", event.changed_files or []):
                raise NotTriggered(f"{why}: no changed path matches")
        elif event.name == "push":
            if event.ref.startswith("refs/tags/"):
                name = event.ref.removeprefix("refs/tags/")
                has_branch_filter = "branches" in spec or "branches-ignore" in spec
                has_tag_filter = "tags" in spec or "tags-ignore" in spec
                if has_branch_filter and not has_tag_filter:
                    raise NotTriggered(f"{why}: only branches are listed, not tags")
                if not _filters_pass(spec, "tags", [name]):
                    raise NotTriggered(f"{why}: tag {name} is filtered out")
            else:
                name = event.ref.removeprefix("refs/heads/")
                has_branch_filter = "branches" in spec or "branches-ignore" in spec
                has_tag_filter = "tags" in spec or "tags-ignore" in spec
                if has_tag_filter and not has_branch_filter:
                    raise NotTriggered(f"{why}: only tags are listed, not branches")
                if not _filters_pass(spec, "branches", [name]):
                    raise NotTriggered(f"{why}: branch {name} is filtered out")
                if not _filters_pass(spec, "paths", event.changed_files or []):
                    raise NotTriggered(f"{why}: no changed path matches")
        elif event.name == "workflow_run":
            wr = event.payload["workflow_run"]
            if wr["name"] not in (spec.get("workflows") or []):
                raise NotTriggered(f"{why}: {wr['name']!r} not in {spec.get('workflows')}")
            types = spec.get("types") or ["completed", "requested"]
            if event.payload["action"] not in types:
                raise NotTriggered(f"{why}: action {event.payload['action']} not in {types}")
            if not _filters_pass(spec, "branches", [wr["head_branch"]]):
                raise NotTriggered(f"{why}: branch {wr['head_branch']} is filtered out")
        elif event.name == "schedule":
            crons = [entry["cron"] for entry in (on["schedule"] or [])]
            if event.payload["schedule"] is None:
                event.payload["schedule"] = crons[0]
            elif event.payload["schedule"] not in crons:
                raise NotTriggered(f"{why}: cron {event.payload['schedule']!r} not in {crons}")
        elif event.name == "workflow_dispatch":
            declared = (spec.get("inputs") or {}) if spec else {}
            unknown = set(event.inputs) - set(declared)
            if unknown:
                raise WorkflowError(f"{path}: workflow_dispatch has no input(s) {sorted(unknown)}")
            for name, decl in declared.items():
                if name not in event.inputs:
                    if decl.get("required") and "default" not in decl:
                        raise WorkflowError(f"{path}: input {name!r} is required")
                    if "default" in decl:
                        event.inputs[name] = decl["default"]
                        event.payload["inputs"][name] = _input_text(decl["default"])
                if decl.get("type") == "boolean" and isinstance(event.inputs.get(name), str):
                    event.inputs[name] = event.inputs[name] == "true"
            event.payload["workflow"] = path


def _input_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _ref_exists(git_dir: Path, ref: str) -> bool:
    result = subprocess.run(
        ["git", "rev-parse", "-q", "--verify", ref],
        cwd=git_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode == 0


# -------------------------------------------------------------------------------- a run


def permissions_for(spec: Any, fork_pr: bool) -> dict[str, str]:
    """The job token's grants from a ``permissions:`` value (fork PRs: read at most)."""
    if spec is None:
        perms = dict(DEFAULT_PERMISSIONS)
    elif spec == "read-all":
        perms = dict.fromkeys(PERMISSION_SCOPES, "read")
    elif spec == "write-all":
        perms = dict.fromkeys(PERMISSION_SCOPES, "write")
    elif isinstance(spec, dict):
        unknown = set(spec) - set(PERMISSION_SCOPES)
        if unknown:
            raise WorkflowError(f"unknown permission scope(s) {sorted(unknown)}")
        bad = {k: v for k, v in spec.items() if v not in ("read", "write", "none")}
        if bad:
            raise WorkflowError(f"permission levels must be read, write or none: {bad}")
        perms = {k: v for k, v in spec.items() if v != "none"}
    else:
        raise WorkflowError(f"permissions: {spec!r} is not read-all, write-all or a mapping")
    if fork_pr:
        perms = {k: "read" for k in perms if k != "id-token"}
    return perms


class _Run:
    """One workflow run: its jobs in ``needs:`` order."""

    def __init__(
        self,
        forge: Forge,
        doc: dict[str, Any],
        path: str,
        event: Event,
        run_id: int,
        run_number: int,
        secrets: dict[str, str] | None,
        vars: dict[str, str] | None,
    ) -> None:
        self.forge = forge
        self.doc = doc
        self.path = path
        self.event = event
        self.run_id = run_id
        self.run_number = run_number
        self.name = doc.get("name") or path
        self.root = forge.runs_dir / str(run_id)
        self.root.mkdir()
        self.event_path = self.root / "event.json"
        self.event_path.write_text(json.dumps(event.payload, indent=2))
        self.fork_pr = event.name == "pull_request" and event.fork
        # Fork PRs get no secrets but the (read-only) GITHUB_TOKEN.
        self.secrets = {} if self.fork_pr else dict(secrets or {})
        self.vars = dict(vars or {})
        self.jobs: dict[str, JobResult] = {}

    # -------------------------------------------------------------- contexts

    def github(self, job_id: str | None, workspace: Path | None, token: str) -> dict[str, Any]:
        e = self.event
        if e.ref.startswith("refs/heads/"):
            ref_name, ref_type = e.ref.removeprefix("refs/heads/"), "branch"
        elif e.ref.startswith("refs/tags/"):
            ref_name, ref_type = e.ref.removeprefix("refs/tags/"), "tag"
        else:
            ref_name, ref_type = e.ref.removeprefix("refs/pull/"), "branch"
        return {
            "event_name": e.name,
            "event": e.payload,
            "event_path": str(self.event_path),
            "sha": e.sha,
            "ref": e.ref,
            "ref_name": ref_name,
            "ref_type": ref_type,
            "ref_protected": False,
            "head_ref": e.head_ref,
            "base_ref": e.base_ref,
            "repository": self.forge.repository,
            "repository_owner": self.forge.owner,
            "repository_id": "123456789",
            "repository_owner_id": "987654321",
            "repositoryUrl": f"git://github.com/{self.forge.repository}.git",
            "run_id": str(self.run_id),
            "run_number": str(self.run_number),
            "run_attempt": "1",
            "retention_days": "90",
            "actor": e.actor,
            "actor_id": "583231",
            "triggering_actor": e.actor,
            "workflow": self.name,
            "workflow_ref": f"{self.forge.repository}/{self.path}@{e.ref}",
            "workflow_sha": e.sha,
            "job": job_id,
            "server_url": "https://github.com",
            "api_url": "https://api.github.com",
            "graphql_url": "https://api.github.com/graphql",
            "workspace": str(workspace) if workspace else "",
            "token": token,
            "secret_source": "Actions",
        }

    def inputs(self) -> dict[str, Any]:
        return dict(self.event.inputs) if self.event.name == "workflow_dispatch" else {}

    def secrets_context(self, token: str) -> dict[str, str]:
        # A secret that is not set reads as null (an empty string in text), as on GitHub.
        return dict(self.secrets, GITHUB_TOKEN=token)

    def needs_context(self, job_id: str, needs: list[str]) -> Checked:
        levels = {}
        for need in needs:
            result = self.jobs[need]
            levels[need] = Checked(
                f"needs.{need}",
                {"result": result.result, "outputs": dict(result.outputs)},
            )
        return Checked("needs", levels)

    # ---------------------------------------------------------------- the run

    def go(self) -> RunResult:
        jobs = self.doc.get("jobs") or {}
        order = self._order(jobs)
        for job_id in order:
            self.jobs[job_id] = _Job(self, job_id, jobs[job_id]).go()
        results = [j.result for j in self.jobs.values()]
        conclusion = "failure" if "failure" in results else "success"
        return RunResult(
            workflow=self.name,
            path=self.path,
            event=self.event,
            run_id=self.run_id,
            run_number=self.run_number,
            jobs=self.jobs,
            conclusion=conclusion,
        )

    def _order(self, jobs: dict[str, Any]) -> list[str]:
        order: list[str] = []
        visiting: set[str] = set()

        def visit(job_id: str) -> None:
            if job_id in order:
                return
            if job_id in visiting:
                raise WorkflowError(f"{self.path}: needs: cycle through job {job_id!r}")
            if job_id not in jobs:
                raise WorkflowError(f"{self.path}: needs: unknown job {job_id!r}")
            visiting.add(job_id)
            for need in _needs(jobs[job_id]):
                visit(need)
            visiting.discard(job_id)
            order.append(job_id)

        for job_id in jobs:
            visit(job_id)
        return order

    def ancestors(self, job_id: str) -> set[str]:
        jobs = self.doc["jobs"]
        seen: set[str] = set()
        stack = list(_needs(jobs[job_id]))
        while stack:
            j = stack.pop()
            if j not in seen:
                seen.add(j)
                stack.extend(_needs(jobs[j]))
        return seen


def _needs(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs") or []
    return [needs] if isinstance(needs, str) else list(needs)


UNSUPPORTED_JOB_KEYS = ("strategy", "container", "services", "uses", "secrets", "with")
KNOWN_JOB_KEYS = {
    "name",
    "needs",
    "if",
    "runs-on",
    "permissions",
    "environment",
    "concurrency",
    "outputs",
    "env",
    "defaults",
    "steps",
    "timeout-minutes",
    "continue-on-error",
    *UNSUPPORTED_JOB_KEYS,
}
KNOWN_STEP_KEYS = {
    "id",
    "if",
    "name",
    "uses",
    "run",
    "working-directory",
    "shell",
    "with",
    "env",
    "continue-on-error",
    "timeout-minutes",
}


class _Job:
    """One job on a fresh runner."""

    def __init__(self, run_: _Run, job_id: str, job: dict[str, Any]) -> None:
        self.run = run_
        self.id = job_id
        self.job = job
        self.where = f"{run_.path}: job {job_id!r}"
        self.forge = run_.forge
        self.root = run_.root / job_id
        self.home = self.root / "home"
        self.temp = self.root / "temp"
        self.workspace = self.root / "work" / self.forge.name / self.forge.name
        self.step_ids = [s.get("id") for s in job.get("steps") or [] if s.get("id")]
        self.steps_ctx: dict[str, Checked] = {}
        self.global_env: dict[str, str] = {}
        self.prepend_path: list[str] = []
        self.result = JobResult(job_id, str(job.get("name") or job_id), "success")
        self.failed = False
        self.token = ""

    # ------------------------------------------------------------ contexts

    def scope(self, env: dict[str, str] | None, *, with_steps: bool = True) -> Scope:
        github = self.run.github(self.id, self.workspace, self.token)
        contexts: dict[str, Any] = {
            "github": github,
            "inputs": self.run.inputs(),
            "vars": self.run.vars,
            "secrets": self.run.secrets_context(self.token),
            "needs": self.run.needs_context(self.id, _needs(self.job)),
            "runner": {
                "os": "Linux",
                "arch": "X64",
                "name": "harness",
                "temp": str(self.temp),
                "tool_cache": str(self.root / "toolcache"),
                "environment": "github-hosted",
                "debug": "",
            },
            "job": {"status": "failure" if self.failed else "success"},
        }
        if env is not None:
            contexts["env"] = dict(env)
        if with_steps:
            contexts["steps"] = Checked(
                "steps", self.steps_ctx, fallback=lambda name: name in self.step_ids
            )
        status = {
            "success": not self.failed,
            "failure": self.failed,
            "always": True,
            "cancelled": False,
        }
        return Scope(contexts, status)

    def job_scope(self) -> Scope:
        ancestors = self.run.ancestors(self.id)
        results = [self.run.jobs[a].result for a in ancestors]
        direct = [self.run.jobs[n].result for n in _needs(self.job)]
        contexts = {
            "github": self.run.github(self.id, None, ""),
            "inputs": self.run.inputs(),
            "vars": self.run.vars,
            "needs": self.run.needs_context(self.id, _needs(self.job)),
        }
        status = {
            "success": all(r == "success" for r in direct) and "failure" not in results,
            "failure": "failure" in results,
            "always": True,
            "cancelled": False,
        }
        return Scope(contexts, status)

    def evaluate_env(self, spec: Any, scope: Scope, where: str) -> dict[str, str]:
        if spec is None:
            return {}
        if isinstance(spec, str):
            raise WorkflowError(
                f"{where}: env: {spec!r} (an expression for the whole env) is not modelled"
            )
        out = {}
        for key, value in spec.items():
            env_scope = Scope(
                {**scope.contexts, "env": {**scope.contexts.get("env", {}), **out}}, scope.status
            )
            out[str(key)] = self.text(value, env_scope, f"{where}: env.{key}")
        return out

    def text(self, value: Any, scope: Scope, where: str) -> str:
        try:
            if isinstance(value, bool):
                return "true" if value else "false"
            if value is None:
                return ""
            if isinstance(value, int | float):
                return expressions.to_string(value, str(value))
            return expressions.interpolate(str(value), scope)
        except ExpressionError as exc:
            raise WorkflowError(f"{where}: {exc}") from None

    # --------------------------------------------------------------- the job

    def go(self) -> JobResult:
        job = self.job
        unknown = set(job) - KNOWN_JOB_KEYS
        if unknown:
            raise WorkflowError(f"{self.where}: unknown key(s) {sorted(unknown)}")
        for key in UNSUPPORTED_JOB_KEYS:
            if key in job:
                raise WorkflowError(f"{self.where}: `{key}:` is not modelled by the harness")
        runs_on = job.get("runs-on")
        labels = [runs_on] if isinstance(runs_on, str) else list(runs_on or [])
        if not labels or not all(str(label).startswith("ubuntu-") for label in labels):
            raise WorkflowError(f"{self.where}: runs-on {runs_on!r}: only ubuntu-* is modelled")
        try:
            go_on = expressions.condition(job.get("if"), self.job_scope())
        except ExpressionError as exc:
            raise WorkflowError(f"{self.where}: if: {exc}") from None
        env_spec = job.get("environment")
        env_name = env_spec.get("name") if isinstance(env_spec, dict) else env_spec
        job_scope = self.job_scope()
        if env_name is not None:
            self.result.environment = self.text(env_name, job_scope, f"{self.where}: environment")
        if "name" in job:
            self.result.name = self.text(job["name"], job_scope, f"{self.where}: name")
        if not go_on:
            self.result.result = "skipped"
            return self.result
        for d in (self.home, self.temp, self.workspace):
            d.mkdir(parents=True)
        # Hosted runners have no git identity: a commit or tag without one must fail here too.
        (self.home / ".gitconfig").write_text(
            "[user]\n\tuseConfigOnly = true\n[init]\n\tdefaultBranch = main\n"
        )
        spec = job["permissions"] if "permissions" in job else self.run.doc.get("permissions")
        perms = permissions_for(spec, self.run.fork_pr)
        self.result.permissions = perms
        self.result.workspace = self.workspace
        self.token = (
            f"ghs_harness{self.run.run_id}{self.id.replace('-', '')}{uuid.uuid4().hex[:12]}"
        )
        self._grant(perms)
        try:
            base = self.scope(None, with_steps=False)
            workflow_env = self.evaluate_env(
                self.run.doc.get("env"),
                Scope({k: base.contexts[k] for k in ("github", "inputs", "vars", "secrets")}, {}),
                f"{self.run.path}: env",
            )
            job_env = self.evaluate_env(
                job.get("env"), self.scope(workflow_env, with_steps=False), f"{self.where}: env"
            )
            self.global_env = {**workflow_env, **job_env}
            deadline_minutes = float(job.get("timeout-minutes", 360))
            started = datetime.now(UTC)
            for index, step in enumerate(job.get("steps") or []):
                elapsed = (datetime.now(UTC) - started).total_seconds() / 60
                self.step(index, step, max(deadline_minutes - elapsed, 0.01))
            scope = self.scope(dict(self.global_env))
            for key, value in (job.get("outputs") or {}).items():
                self.result.outputs[key] = self.text(value, scope, f"{self.where}: outputs.{key}")
        finally:
            self._revoke()
        if self.failed and not job.get("continue-on-error"):
            self.result.result = "failure"
        return self.result

    def _grant(self, perms: dict[str, str]) -> None:
        state = self.forge.state
        state["tokens"][self.token] = {
            "permissions": perms,
            "run_id": self.run.run_id,
            "job": self.id,
        }
        self.forge.save_state(state)

    def _revoke(self) -> None:
        # Job tokens expire when the job ends, as on GitHub.
        state = self.forge.state
        state["tokens"].pop(self.token, None)
        self.forge.save_state(state)

    # -------------------------------------------------------------- one step

    def step(self, index: int, step: dict[str, Any], minutes_left: float) -> None:
        unknown = set(step) - KNOWN_STEP_KEYS
        if unknown:
            raise WorkflowError(f"{self.where}: step {index + 1}: unknown key(s) {sorted(unknown)}")
        if ("run" in step) == ("uses" in step):
            raise WorkflowError(f"{self.where}: step {index + 1} needs exactly one of run/uses")
        step_id = step.get("id")
        if "run" in step:
            default_name = (
                "Run " + str(step["run"]).strip().splitlines()[0]
                if str(step["run"]).strip()
                else "Run"
            )
        else:
            default_name = f"Run {step['uses']}"
        name = str(step.get("name") or default_name)
        where = f"{self.where}: step {name!r}"
        env_ctx = dict(self.global_env)
        try:
            go_on = expressions.condition(step.get("if"), self.scope(env_ctx))
        except ExpressionError as exc:
            raise WorkflowError(f"{where}: if: {exc}") from None
        if "name" in step:
            name = self.text(step["name"], self.scope(env_ctx), f"{where}: name")
        result = StepResult(name, step_id, step.get("uses"), "", "skipped", "skipped")
        self.result.steps.append(result)
        if not go_on:
            if step_id:
                self.steps_ctx[step_id] = Checked(
                    f"steps.{step_id}",
                    {"outputs": {}, "outcome": "skipped", "conclusion": "skipped"},
                )
            return
        step_env = self.evaluate_env(step.get("env"), self.scope(env_ctx), f"{where}: env")
        scope = self.scope({**env_ctx, **step_env})
        timeout = float(step.get("timeout-minutes", minutes_left))
        files = self._file_commands()
        started = datetime.now(UTC)
        if "uses" in step:
            with_ = {
                str(k): self.text(v, scope, f"{where}: with.{k}")
                for k, v in (step.get("with") or {}).items()
            }
            result.command = f"uses: {step['uses']}\nwith: {json.dumps(with_, indent=2)}"
            code, output, outputs = self.action(step["uses"], with_, where, files)
        else:
            script = self.text(step["run"], scope, f"{where}: run")
            result.command = script
            code, output = self.script(step, script, {**step_env}, files, where, timeout, step_id)
            outputs = {}
        result.exit_code = code
        result.output = output
        result.seconds = (datetime.now(UTC) - started).total_seconds()
        outputs.update(self._read_back(files, result, where))
        result.outputs = outputs
        result.outcome = "success" if code == 0 else "failure"
        continue_on_error = step.get("continue-on-error", False)
        if isinstance(continue_on_error, str):
            continue_on_error = expressions.truthy(
                expressions.evaluate(
                    continue_on_error.strip().removeprefix("${{").removesuffix("}}"), scope
                )
            )
        result.conclusion = "success" if code == 0 or continue_on_error else "failure"
        if result.conclusion == "failure":
            self.failed = True
        if step_id:
            self.steps_ctx[step_id] = Checked(
                f"steps.{step_id}",
                {
                    "outputs": dict(outputs),
                    "outcome": result.outcome,
                    "conclusion": result.conclusion,
                },
            )

    def _file_commands(self) -> dict[str, Path]:
        directory = self.temp / "_runner_file_commands"
        directory.mkdir(exist_ok=True)
        token = uuid.uuid4().hex
        files = {
            "GITHUB_OUTPUT": directory / f"set_output_{token}",
            "GITHUB_ENV": directory / f"set_env_{token}",
            "GITHUB_PATH": directory / f"add_path_{token}",
            "GITHUB_STEP_SUMMARY": directory / f"step_summary_{token}",
            "GITHUB_STATE": directory / f"save_state_{token}",
        }
        for f in files.values():
            f.write_text("")
        return files

    def _read_back(self, files: dict[str, Path], result: StepResult, where: str) -> dict[str, str]:
        outputs: dict[str, str] = {}
        for level, props, message in workflow_commands(result.output):
            if level in ("error", "warning", "notice", "debug"):
                self.result.annotations.append((level, message))
            elif level == "set-output":
                self.result.annotations.append(
                    ("warning", "The `set-output` command is deprecated")
                )
                outputs[props.get("name", "")] = message
            elif level in ("set-env", "add-path"):
                raise WorkflowError(f"{where}: ::{level}:: is disabled on GitHub")
        for name, value in parse_file_command(
            files["GITHUB_OUTPUT"].read_text(), f"{where}: GITHUB_OUTPUT"
        ):
            outputs[name] = value
        for name, value in parse_file_command(
            files["GITHUB_ENV"].read_text(), f"{where}: GITHUB_ENV"
        ):
            if name.upper() == "NODE_OPTIONS":
                self.result.annotations.append(
                    ("warning", "Can't store NODE_OPTIONS output parameter using '$GITHUB_ENV'")
                )
                continue
            self.global_env[name] = value
        for line in files["GITHUB_PATH"].read_text().splitlines():
            if line.strip():
                self.add_path(line.strip())
        summary = files["GITHUB_STEP_SUMMARY"].read_text()
        if len(summary.encode()) > 1024 * 1024:
            self.result.annotations.append(
                ("error", "$GITHUB_STEP_SUMMARY upload aborted, supports content up to 1024k")
            )
        else:
            result.summary = summary
            self.result.summary += summary
        return outputs

    def add_path(self, directory: str) -> None:
        if directory in self.prepend_path:
            self.prepend_path.remove(directory)
        self.prepend_path.append(directory)

    def process_env(
        self, step_env: dict[str, str], files: dict[str, Path], action: str
    ) -> dict[str, str]:
        env = {k: os.environ[k] for k in PASSTHROUGH if k in os.environ}
        path = [*reversed(self.prepend_path), str(self.forge.gh_bin), SYSTEM_PATH]
        env.update(
            HOME=str(self.home),
            USER="runner",
            SHELL="/bin/bash",
            LANG="C.UTF-8",
            PATH=os.pathsep.join(path),
            GIT_CONFIG_NOSYSTEM="1",
            ImageOS="ubuntu24",
        )
        env.update(self.global_env)
        env.update(step_env)
        github = self.run.github(self.id, self.workspace, self.token)
        defaults = {
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_ACTION": action,
            "GITHUB_ACTOR": github["actor"],
            "GITHUB_ACTOR_ID": github["actor_id"],
            "GITHUB_API_URL": github["api_url"],
            "GITHUB_BASE_REF": github["base_ref"],
            "GITHUB_EVENT_NAME": github["event_name"],
            "GITHUB_EVENT_PATH": github["event_path"],
            "GITHUB_GRAPHQL_URL": github["graphql_url"],
            "GITHUB_HEAD_REF": github["head_ref"],
            "GITHUB_JOB": self.id,
            "GITHUB_REF": github["ref"],
            "GITHUB_REF_NAME": github["ref_name"],
            "GITHUB_REF_PROTECTED": "false",
            "GITHUB_REF_TYPE": github["ref_type"],
            "GITHUB_REPOSITORY": github["repository"],
            "GITHUB_REPOSITORY_ID": github["repository_id"],
            "GITHUB_REPOSITORY_OWNER": github["repository_owner"],
            "GITHUB_REPOSITORY_OWNER_ID": github["repository_owner_id"],
            "GITHUB_RETENTION_DAYS": "90",
            "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_RUN_ID": github["run_id"],
            "GITHUB_RUN_NUMBER": github["run_number"],
            "GITHUB_SERVER_URL": github["server_url"],
            "GITHUB_SHA": github["sha"],
            "GITHUB_TRIGGERING_ACTOR": github["triggering_actor"],
            "GITHUB_WORKFLOW": github["workflow"],
            "GITHUB_WORKFLOW_REF": github["workflow_ref"],
            "GITHUB_WORKFLOW_SHA": github["workflow_sha"],
            "GITHUB_WORKSPACE": str(self.workspace),
            "RUNNER_ARCH": "X64",
            "RUNNER_ENVIRONMENT": "github-hosted",
            "RUNNER_NAME": "harness",
            "RUNNER_OS": "Linux",
            "RUNNER_TEMP": str(self.temp),
            "RUNNER_TOOL_CACHE": str(self.root / "toolcache"),
        }
        env.update(defaults)
        env.update({k: str(v) for k, v in files.items()})
        return env

    # ---------------------------------------------------------------- run:

    def shell_command(self, step: dict[str, Any], script_path: Path, where: str) -> list[str]:
        defaults = {
            **((self.run.doc.get("defaults") or {}).get("run") or {}),
            **((self.job.get("defaults") or {}).get("run") or {}),
        }
        shell = step.get("shell", defaults.get("shell"))
        p = str(script_path)
        if shell is None:
            return ["bash", "-e", p]
        shells = {
            "bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail", p],
            "sh": ["sh", "-e", p],
            "python": ["python", p],
        }
        if shell in shells:
            return shells[shell]
        if "{0}" in shell:
            return [part.replace("{0}", p) for part in shlex.split(shell)]
        raise WorkflowError(f"{where}: shell {shell!r} is not modelled")

    def working_directory(self, step: dict[str, Any]) -> Path:
        defaults = {
            **((self.run.doc.get("defaults") or {}).get("run") or {}),
            **((self.job.get("defaults") or {}).get("run") or {}),
        }
        wd = step.get("working-directory", defaults.get("working-directory"))
        return self.workspace if wd is None else (self.workspace / wd)

    def script(
        self,
        step: dict[str, Any],
        script: str,
        step_env: dict[str, str],
        files: dict[str, Path],
        where: str,
        timeout_minutes: float,
        step_id: str | None,
    ) -> tuple[int, str]:
        script = map_pip_installs(script, where)
        suffix = ".py" if step.get("shell") == "python" else ".sh"
        script_path = self.temp / f"{uuid.uuid4()}{suffix}"
        script_path.write_text(script)
        command = self.shell_command(step, script_path, where)
        env = self.process_env(step_env, files, step_id or "__run")
        cwd = self.working_directory(step)
        if not cwd.is_dir():
            return 1, f"Error: An error occurred trying to start process: {cwd} does not exist\n"
        # The first word resolves on the step's PATH, as the runner's shell would find it.
        exe = shutil.which(command[0], path=env["PATH"])
        if exe is None:
            return 127, f"{command[0]}: command not found on PATH {env['PATH']}\n"
        proc = subprocess.Popen(
            [exe, *command[1:]],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            output, _ = proc.communicate(timeout=timeout_minutes * 60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output, _ = proc.communicate()
            return 1, output + "\n##[error]The action has timed out.\n"
        return proc.returncode, output

    # ---------------------------------------------------------------- uses:

    def action(
        self, uses: str, with_: dict[str, str], where: str, files: dict[str, Path]
    ) -> tuple[int, str, dict[str, str]]:
        name, _, ref = uses.partition("@")
        if uses.startswith(("./", "docker://")) or not ref:
            raise WorkflowError(f"{where}: uses: {uses}: local and Docker actions are not modelled")
        handlers = {
            "actions/checkout": (self.checkout, CHECKOUT_INPUTS),
            "actions/setup-python": (self.setup_python, SETUP_PYTHON_INPUTS),
            "actions/upload-artifact": (self.upload_artifact, UPLOAD_INPUTS),
            "actions/download-artifact": (self.download_artifact, DOWNLOAD_INPUTS),
            "iterative/setup-cml": (self.setup_cml, SETUP_CML_INPUTS),
        }
        key = name.lower()
        if key not in handlers:
            raise WorkflowError(
                f"{where}: uses: {uses} has no local equivalent in the harness "
                f"(modelled: {', '.join(sorted(handlers))})"
            )
        handler, known = handlers[key]
        unknown = set(with_) - known
        if unknown:
            raise WorkflowError(f"{where}: {name} input(s) {sorted(unknown)} are not modelled")
        try:
            output, outputs = handler(with_, where)
        except _ActionFailed as exc:
            return 1, f"##[error]{exc}\n", {}
        return 0, output, outputs

    def checkout(self, w: dict[str, str], where: str) -> tuple[str, dict[str, str]]:
        for key, fine in (
            ("submodules", ("", "false")),
            ("lfs", ("", "false")),
            ("sparse-checkout", ("",)),
            ("filter", ("",)),
        ):
            if w.get(key, "") not in fine:
                raise WorkflowError(f"{where}: actions/checkout {key}: {w[key]!r} is not modelled")
        if w.get("repository", self.forge.repository) != self.forge.repository:
            raise WorkflowError(f"{where}: checking out another repository is not modelled")
        if w.get("token") not in (None, "", self.token):
            raise WorkflowError(f"{where}: actions/checkout with a token other than github.token")
        dest = self.workspace / w.get("path", "")
        dest.mkdir(parents=True, exist_ok=True)
        depth = int(w.get("fetch-depth", "1") or "1")
        fetch_tags = w.get("fetch-tags", "false") == "true"
        persist = w.get("persist-credentials", "true") != "false"
        env = self.process_env({}, {}, "checkout")
        log: list[str] = []

        def git(*args: str) -> str:
            log.append("git " + " ".join(args))
            out = subprocess.run(
                ["git", *args], cwd=dest, env=env, capture_output=True, text=True, check=False
            )
            if out.returncode != 0:
                raise _ActionFailed(f"git {' '.join(args)} failed: {out.stderr.strip()}")
            return out.stdout.strip()

        git("init", "-q")
        git("remote", "add", "origin", self.forge.origin_url)
        ref, sha = self._checkout_target(w.get("ref", ""))
        if ref.startswith("refs/pull/"):
            local = "refs/remotes/pull/" + ref.removeprefix("refs/pull/")
        elif ref.startswith("refs/heads/"):
            local = "refs/remotes/origin/" + ref.removeprefix("refs/heads/")
        elif ref.startswith("refs/tags/"):
            local = ref
        else:
            local = ""
        if depth <= 0:
            git(
                "fetch",
                "-q",
                "--prune",
                "--no-recurse-submodules",
                "origin",
                "+refs/heads/*:refs/remotes/origin/*",
                "+refs/tags/*:refs/tags/*",
            )
            if local and not local.startswith(("refs/remotes/origin/", "refs/tags/")):
                git("fetch", "-q", "--no-recurse-submodules", "origin", f"+{sha}:{local}")
        else:
            tags = [] if fetch_tags else ["--no-tags"]
            target = f"+{sha}:{local}" if local else sha
            git(
                "fetch",
                "-q",
                *tags,
                "--prune",
                "--no-recurse-submodules",
                f"--depth={depth}",
                "origin",
                target,
            )
        if ref.startswith("refs/heads/"):
            branch = ref.removeprefix("refs/heads/")
            git("checkout", "-q", "--force", "-B", branch, local)
        else:
            git("checkout", "-q", "--force", sha)
        can_push = persist and self.result.permissions.get("contents") == "write"
        if not can_push:
            why = "persist-credentials-false" if not persist else "token-lacks-contents-write"
            # Pushing from this clone fails, as it would on GitHub without a usable token.
            git("config", "remote.origin.pushurl", str(self.root / f"no-push-{why}"))
        commit = git("rev-parse", "HEAD")
        return "\n".join(log) + "\n", {"ref": ref, "commit": commit}

    def _checkout_target(self, ref_input: str) -> tuple[str, str]:
        """The ref and commit checkout v4 fetches: the event's, or the ``ref`` input's."""
        if not ref_input:
            return self.run.event.ref, self.run.event.sha
        if re.fullmatch(r"[0-9a-f]{40}", ref_input):
            return "", ref_input
        candidates = (
            [ref_input]
            if ref_input.startswith("refs/")
            else [f"refs/heads/{ref_input}", f"refs/tags/{ref_input}"]
        )
        for candidate in candidates:
            if _ref_exists(self.forge.origin, candidate):
                sha = self.forge.origin_git("rev-parse", f"{candidate}^{{commit}}")
                return candidate, sha
        raise _ActionFailed(f"A branch or tag with the name '{ref_input}' could not be found")

    def setup_python(self, w: dict[str, str], where: str) -> tuple[str, dict[str, str]]:
        wanted = w.get("python-version", "")
        if not wanted:
            raise WorkflowError(f"{where}: setup-python without python-version is not modelled")
        have = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
        pattern = wanted.strip().replace(".x", "").rstrip(".")
        if not (have == pattern or have.startswith(pattern + ".")):
            raise WorkflowError(
                f"{where}: setup-python asks for {wanted}; the harness runs Python {have}"
            )
        if w.get("cache", "") not in ("", "pip"):
            raise WorkflowError(f"{where}: setup-python cache: {w['cache']} is not modelled")
        self.add_path(str(VENV_BIN))
        prefix = str(VENV_BIN.parent)
        for key in ("pythonLocation", "Python_ROOT_DIR", "Python2_ROOT_DIR", "Python3_ROOT_DIR"):
            self.global_env[key] = prefix
        self.global_env["PKG_CONFIG_PATH"] = f"{prefix}/lib/pkgconfig"
        note = "cache: pip restored nothing (no cache here)\n" if w.get("cache") else ""
        return (
            f"Using Python {have} from {VENV_BIN}\n{note}",
            {"python-version": have, "python-path": sys.executable, "cache-hit": "false"},
        )

    def setup_cml(self, w: dict[str, str], where: str) -> tuple[str, dict[str, str]]:
        # Pinning the action's SHA does not pin the tool: without `version` setup-cml fetches the
        # latest CML release at run time, into a job that holds a write token.
        if not re.fullmatch(r"\d+\.\d+\.\d+", w.get("version", "")):
            raise WorkflowError(
                f"{where}: iterative/setup-cml needs `version:` set to an exact CML release "
                f'(e.g. "0.20.5"), not {w.get("version", "the default, latest")!r}'
            )
        self.add_path(str(self.forge.cml_bin))
        return "cml (the harness's recording shim) is on PATH\n", {}

    def upload_artifact(self, w: dict[str, str], where: str) -> tuple[str, dict[str, str]]:
        name = w.get("name") or "artifact"
        if "path" not in w:
            raise _ActionFailed("Input required and not supplied: path")
        files, root = _artifact_files(
            self.workspace, w["path"], w.get("include-hidden-files") == "true"
        )
        mode = w.get("if-no-files-found", "warn")
        if not files:
            message = (
                f"No files were found with the provided path: {w['path']}. "
                "No artifacts will be uploaded."
            )
            if mode == "error":
                raise _ActionFailed(message)
            self.result.annotations.append(("warning" if mode == "warn" else "info", message))
            return message + "\n", {}
        dest = self.forge.artifacts_dir / str(self.run.run_id) / name
        if dest.exists():
            if w.get("overwrite") != "true":
                raise _ActionFailed(
                    "Failed to CreateArtifact: an artifact with this name already exists on "
                    f"the workflow run: {name}"
                )
            shutil.rmtree(dest)
        for f in files:
            target = dest / f.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, target)
        listing = "\n".join(str(f.relative_to(root)) for f in files)
        return f"Uploaded artifact {name!r}:\n{listing}\n", {
            "artifact-id": f"{self.run.run_id}-{name}"
        }

    def download_artifact(self, w: dict[str, str], where: str) -> tuple[str, dict[str, str]]:
        run_id = str(self.run.run_id)
        if w.get("run-id"):
            if not w.get("github-token"):
                raise _ActionFailed("github-token is required when downloading from another run")
            grant = self.forge.state["tokens"].get(w["github-token"])
            if grant is None or grant["permissions"].get("actions") not in ("read", "write"):
                raise _ActionFailed(
                    "Unable to download artifact(s): Resource not accessible by integration "
                    "(needs actions: read)"
                )
            run_id = w["run-id"]
        if w.get("repository", self.forge.repository) != self.forge.repository:
            raise WorkflowError(f"{where}: downloading from another repository is not modelled")
        source = self.forge.artifacts_dir / run_id
        available = sorted(p.name for p in source.iterdir()) if source.is_dir() else []
        path = Path(w.get("path", "")).expanduser() if w.get("path") else Path()
        dest = path if path.is_absolute() else self.workspace / path
        if w.get("name"):
            if w["name"] not in available:
                raise _ActionFailed(
                    f"Unable to download artifact(s): Artifact not found for name: {w['name']}"
                )
            chosen = [w["name"]]
            targets = {w["name"]: dest}
        else:
            pattern = w.get("pattern", "*")
            chosen = [a for a in available if fnmatch.fnmatchcase(a, pattern)]
            merge = w.get("merge-multiple") == "true"
            targets = {a: dest if merge else dest / a for a in chosen}
        for artifact in chosen:
            shutil.copytree(source / artifact, targets[artifact], dirs_exist_ok=True)
        return f"Downloaded {', '.join(chosen)} from run {run_id}\n", {"download-path": str(dest)}


class _ActionFailed(Exception):
    """A mapped action failed the way the real one would (the step fails)."""


CHECKOUT_INPUTS = {
    "repository",
    "ref",
    "token",
    "persist-credentials",
    "path",
    "fetch-depth",
    "fetch-tags",
    "clean",
    "filter",
    "sparse-checkout",
    "lfs",
    "submodules",
    "set-safe-directory",
    "show-progress",
}
SETUP_PYTHON_INPUTS = {
    "python-version",
    "cache",
    "cache-dependency-path",
    "check-latest",
    "architecture",
    "update-environment",
}
UPLOAD_INPUTS = {
    "name",
    "path",
    "if-no-files-found",
    "retention-days",
    "compression-level",
    "overwrite",
    "include-hidden-files",
}
DOWNLOAD_INPUTS = {
    "name",
    "path",
    "pattern",
    "merge-multiple",
    "github-token",
    "repository",
    "run-id",
}
SETUP_CML_INPUTS = {"version"}  # the inputs of iterative/setup-cml v2.0.0's action.yml


def _artifact_files(workspace: Path, spec: str, hidden: bool) -> tuple[list[Path], Path]:
    """upload-artifact's files and root: the least common ancestor of the search paths."""
    includes, excludes = [], []
    for line in spec.splitlines():
        line = line.strip()
        if not line:
            continue
        (excludes if line.startswith("!") else includes).append(line.lstrip("!"))
    files: set[Path] = set()
    search_roots: list[Path] = []
    for pattern in includes:
        full = Path(pattern).expanduser()
        full = full if full.is_absolute() else workspace / full
        wild = next((i for i, part in enumerate(full.parts) if any(c in part for c in "*?[")), None)
        if wild is None:
            search_roots.append(full.parent if full.is_file() else full)
            candidates = [full] if full.is_file() else [p for p in full.rglob("*") if p.is_file()]
        else:
            search_roots.append(Path(*full.parts[:wild]))
            rel = str(Path(*full.parts[wild:]))
            candidates = [p for p in Path(*full.parts[:wild]).glob(rel) if p.is_file()]
            candidates += [
                q
                for p in Path(*full.parts[:wild]).glob(rel)
                if p.is_dir()
                for q in p.rglob("*")
                if q.is_file()
            ]
        files.update(candidates)
    for pattern in excludes:
        full = pattern if Path(pattern).is_absolute() else str(workspace / pattern)
        files = {f for f in files if not fnmatch.fnmatch(str(f), full)}
    if not hidden:
        roots = [Path(r) for r in search_roots]
        files = {f for f in files if not _hidden(f, roots)}
    if not files:
        return [], workspace
    root = Path(os.path.commonpath([str(r) for r in search_roots]))
    return sorted(files), root


def _hidden(path: Path, roots: list[Path]) -> bool:
    """A file under a search root whose path below it has a part starting with a dot."""
    for root in roots:
        if path.is_relative_to(root):
            return any(part.startswith(".") for part in path.relative_to(root).parts)
    return path.name.startswith(".")


_PIP_LINE = re.compile(r"^(\s*)(python3?)\s+-m\s+pip\s+install\b(.*)$")
_OTHER_PIP = re.compile(r"\bpip3?\s+install\b")


def map_pip_installs(script: str, where: str) -> str:
    """Replace each ``python -m pip install ARGS`` line with the install check, same ARGS.

    The venv already has everything and there is no network; the check makes sure what the line
    names is installed and importable instead. A line continued with ``\\`` is taken whole. Any
    other way of calling pip install is an error, so nothing reaches for the network unseen.
    """
    lines = script.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        whole = line
        while whole.endswith("\\") and i + 1 < len(lines):
            i += 1
            whole = whole[:-1] + " " + lines[i].strip()
        match = _PIP_LINE.match(whole)
        if match:
            out.append(
                f"{match.group(1)}{match.group(2)} {shlex.quote(str(PIP_NOOP))}{match.group(3)}"
            )
        elif _OTHER_PIP.search(whole):
            raise WorkflowError(
                f"{where}: {whole.strip()!r}: the harness maps only `python -m pip install ...` "
                "lines"
            )
        else:
            out.append(whole)
        i += 1
    return "\n".join(out)
