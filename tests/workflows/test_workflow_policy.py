"""The security policy every workflow in .github/workflows follows (present and future ones).

- top-level ``permissions: {}``, and every job states its own grants (no read-all/write-all);
- every ``uses:`` pinned to a full 40-hex commit SHA with a ``# vX.Y.Z`` comment, the same pin for
  the same action everywhere;
- every checkout says ``persist-credentials:``; ``true`` only in a job with ``contents: write``
  and with a comment saying why it pushes;
- no cache restore (``actions/cache``, a setup action's ``cache:``) in a release or deploy job
  (one that may write contents, packages, deployments, pages, attestations or id-tokens, or that
  runs in an environment): what is released is what the commit builds;
- no ``pull_request_target``; a ``workflow_run`` workflow checks out nothing;
- no ``${{`` inside ``run:`` (untrusted values reach scripts only through ``env:``);
- ``.github/CODEOWNERS`` gives every workflow file an owner.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any

import pytest

from mlgitops.localci.harness import WORKFLOWS, load_workflow, triggers, workflow_files

ROOT = WORKFLOWS.parents[1]
FILES = workflow_files()
PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"#\s*v\d+(\.\d+)*\b")
RELEASE_SCOPES = ("contents", "packages", "deployments", "pages", "attestations", "id-token")


def _ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


@pytest.fixture(params=FILES, ids=_ids(FILES))
def workflow(request: pytest.FixtureRequest) -> tuple[Path, dict[str, Any]]:
    return request.param, load_workflow(request.param)


def _steps(doc: dict[str, Any]):
    for job_id, job in doc["jobs"].items():
        for step in job.get("steps") or []:
            yield job_id, job, step


def _uses_lines(path: Path) -> list[tuple[int, str, str]]:
    """(line number, action reference, the comment after it) for every ``uses:`` line."""
    out = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        match = re.match(r"^\s*(?:-\s+)?uses:\s*(\S+)\s*(#.*)?$", line)
        if match:
            out.append((number, match.group(1).strip("'\""), match.group(2) or ""))
    return out


def test_there_are_workflows() -> None:
    assert {"pr.yml", "pr-comment.yml"} <= {p.name for p in FILES}


def test_top_level_permissions_are_empty(workflow) -> None:
    path, doc = workflow
    assert "permissions" in doc, (
        f"{path.name}: no top-level permissions (write `permissions: {{}}`)"
    )
    assert doc["permissions"] == {}, f"{path.name}: top-level permissions {doc['permissions']!r}"


def test_every_job_states_its_own_grants(workflow) -> None:
    path, doc = workflow
    for job_id, job in doc["jobs"].items():
        assert "permissions" in job, f"{path.name}: job {job_id} states no permissions"
        grants = job["permissions"]
        assert isinstance(grants, dict), (
            f"{path.name}: job {job_id} has permissions {grants!r}; name each scope it needs"
        )
        for scope, level in grants.items():
            assert level in ("read", "write", "none"), f"{path.name}: {job_id}.{scope}: {level}"


def test_every_action_is_pinned_to_a_commit_with_its_version(workflow) -> None:
    path, doc = workflow
    lines = _uses_lines(path)
    declared = [s["uses"] for _, _, s in _steps(doc) if "uses" in s]
    declared += [j["uses"] for j in doc["jobs"].values() if "uses" in j]
    assert sorted(ref for _, ref, _ in lines) == sorted(declared), (
        f"{path.name}: write every `uses:` on one line of its own"
    )
    for number, ref, comment in lines:
        assert not ref.startswith("docker://"), f"{path.name}:{number}: {ref} (not modelled)"
        if ref.startswith("./"):
            continue  # a local action is pinned by this very commit
        assert PIN.match(ref), f"{path.name}:{number}: {ref} is not pinned to a full commit SHA"
        assert VERSION_COMMENT.search(comment), (
            f"{path.name}:{number}: {ref} needs a `# vX.Y.Z` comment naming the pinned version"
        )


def test_the_same_action_has_the_same_pin_everywhere() -> None:
    pins: dict[str, set[tuple[str, str]]] = {}
    for path in FILES:
        for _, ref, comment in _uses_lines(path):
            if "@" in ref:
                action, sha = ref.split("@", 1)
                version = VERSION_COMMENT.search(comment)
                pins.setdefault(action.lower(), set()).add(
                    (sha, version.group(0) if version else "")
                )
    mixed = {action: sorted(p) for action, p in pins.items() if len(p) > 1}
    assert not mixed, f"one action, several pins: {mixed}"


def test_checkouts_persist_credentials_only_where_the_job_pushes(workflow) -> None:
    path, doc = workflow
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if re.search(r"persist-credentials:\s*true", line):
            assert re.search(r"#\s*\S", line), (
                f"{path.name}:{number}: say in a comment why this job keeps credentials"
            )
    for job_id, job, step in _steps(doc):
        if not str(step.get("uses", "")).lower().startswith("actions/checkout@"):
            continue
        with_ = step.get("with") or {}
        assert "persist-credentials" in with_, (
            f"{path.name}: job {job_id}: checkout without `persist-credentials:` keeps the token "
            "in .git/config; say `false` (or `true` with the reason this job pushes)"
        )
        if with_["persist-credentials"] is not False:
            assert with_["persist-credentials"] is True, with_["persist-credentials"]
            assert (job.get("permissions") or {}).get("contents") == "write", (
                f"{path.name}: job {job_id} persists credentials but cannot push "
                "(no contents: write): use persist-credentials: false"
            )


def _is_release_job(job: dict[str, Any]) -> bool:
    grants = job.get("permissions") or {}
    return "environment" in job or any(grants.get(s) == "write" for s in RELEASE_SCOPES)


def test_no_cache_restore_in_release_or_deploy_jobs(workflow) -> None:
    path, doc = workflow
    for job_id, job, step in _steps(doc):
        if not _is_release_job(job):
            continue
        uses = str(step.get("uses", "")).lower()
        assert not uses.startswith("actions/cache"), f"{path.name}: {job_id} restores a cache"
        assert "cache" not in (step.get("with") or {}), (
            f"{path.name}: job {job_id} ({uses}) restores a cache; release and deploy jobs "
            "build from the commit alone"
        )


TRUSTED_REF = "${{ github.event.repository.default_branch }}"


def test_no_pull_request_target_and_workflow_run_checks_out_only_the_default_branch(
    workflow,
) -> None:
    """A workflow_run job is privileged: it may check out this repository's default branch
    (trusted code, to render a fork's report), never a ref or commit the event names."""
    path, doc = workflow
    on = triggers(doc)
    assert "pull_request_target" not in on, f"{path.name} uses pull_request_target"
    if "workflow_run" in on:
        for job_id, _, step in _steps(doc):
            if not str(step.get("uses", "")).lower().startswith("actions/checkout@"):
                continue
            with_ = step.get("with") or {}
            assert with_.get("ref") == TRUSTED_REF and "repository" not in with_, (
                f"{path.name}: job {job_id} checks out something other than the default branch "
                "in a workflow_run (privileged) run"
            )
            assert with_.get("persist-credentials") is False, (
                f"{path.name}: job {job_id} keeps the token in its checkout"
            )


def test_no_expressions_inside_run_scripts(workflow) -> None:
    path, doc = workflow
    for job_id, _, step in _steps(doc):
        if "run" in step:
            assert "${{" not in str(step["run"]), (
                f"{path.name}: job {job_id} step {step.get('name', step['run'][:40])!r} has "
                "${{ }} in its script; pass the value through env:"
            )


def _codeowners() -> list[tuple[str, list[str]]]:
    path = ROOT / ".github" / "CODEOWNERS"
    assert path.is_file(), ".github/CODEOWNERS is missing"
    rules = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            pattern, *owners = line.split()
            rules.append((pattern, owners))
    return rules


def _codeowners_match(pattern: str, path: str) -> bool:
    """CODEOWNERS (gitignore-style) matching for the patterns a repository would use here."""
    anchored = pattern.startswith("/")
    pattern = pattern.lstrip("/")
    if pattern.endswith("/"):
        return path.startswith(pattern) if anchored else f"/{pattern}" in f"/{path}"
    if anchored or "/" in pattern:
        return fnmatch.fnmatch(path, pattern) or path.startswith(pattern.rstrip("*") + "/")
    return fnmatch.fnmatch(Path(path).name, pattern) or pattern == "*"


def test_codeowners_own_every_workflow() -> None:
    rules = _codeowners()
    for path in [*FILES, WORKFLOWS / "new-workflow.yml"]:
        rel = path.relative_to(ROOT).as_posix()
        owners = [o for pattern, o in rules if _codeowners_match(pattern, rel)]
        assert owners and owners[-1], f"CODEOWNERS gives {rel} no owner (the last match wins)"
        assert all(re.fullmatch(r"@[\w.-]+(/[\w.-]+)?|[^@\s]+@[^@\s]+", o) for o in owners[-1])


# ------------------------------------------------------------------ the checks catch violations

_CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2"
_SETUP = "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065 # v5.6.0"
_JOB = """
jobs:
  j:
    runs-on: ubuntu-latest
{perms}
    steps:
{steps}
"""
_VIOLATIONS = {
    "no top-level permissions": (
        test_top_level_permissions_are_empty,
        "",
        "    permissions: {}",
        "      - run: echo",
    ),
    "a job without grants": (
        test_every_job_states_its_own_grants,
        "permissions: {}",
        "",
        "      - run: echo",
    ),
    "a tag instead of a SHA": (
        test_every_action_is_pinned_to_a_commit_with_its_version,
        "permissions: {}",
        "    permissions: {}",
        "      - uses: actions/checkout@v4",
    ),
    "checkout keeps the token by default": (
        test_checkouts_persist_credentials_only_where_the_job_pushes,
        "permissions: {}",
        "    permissions:\n      contents: read",
        f"      - uses: {_CHECKOUT}",
    ),
    "credentials kept without contents: write": (
        test_checkouts_persist_credentials_only_where_the_job_pushes,
        "permissions: {}",
        "    permissions:\n      contents: read",
        f"      - uses: {_CHECKOUT}\n        with:\n          persist-credentials: true  # why",
    ),
    "a cache in a release job": (
        test_no_cache_restore_in_release_or_deploy_jobs,
        "permissions: {}",
        "    permissions:\n      contents: write",
        f"      - uses: {_SETUP}\n        with:\n          python-version: '3.11'\n"
        "          cache: pip",
    ),
    "an expression in a script": (
        test_no_expressions_inside_run_scripts,
        "permissions: {}",
        "    permissions: {}",
        "      - run: echo ${{ github.event.head_commit.message }}",
    ),
}


@pytest.mark.parametrize("name", list(_VIOLATIONS))
def test_each_check_catches_its_violation(tmp_path: Path, name: str) -> None:
    check, top, perms, steps = _VIOLATIONS[name]
    path = tmp_path / "w.yml"
    path.write_text(f"name: W\non: push\n{top}\n" + _JOB.format(perms=perms, steps=steps))
    with pytest.raises(AssertionError):
        check((path, load_workflow(path)))


def test_pull_request_target_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "w.yml"
    path.write_text(
        "name: W\non: pull_request_target\npermissions: {}\n"
        + _JOB.format(perms="    permissions: {}", steps="      - run: echo")
    )
    with pytest.raises(AssertionError, match="pull_request_target"):
        test_no_pull_request_target_and_workflow_run_checks_out_only_the_default_branch(
            (path, load_workflow(path))
        )


@pytest.mark.parametrize(
    "with_",
    [
        "{ref: '${{ github.event.workflow_run.head_sha }}', persist-credentials: false}",
        "{persist-credentials: false}",
        "{ref: '${{ github.event.repository.default_branch }}'}",
    ],
)
def test_a_workflow_run_checkout_of_anything_but_the_default_branch_is_caught(
    tmp_path: Path, with_: str
) -> None:
    path = tmp_path / "w.yml"
    checkout = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683"
    steps = f"      - uses: {checkout}\n        with: {with_}"
    path.write_text(
        "name: W\non:\n  workflow_run:\n    workflows: [X]\n    types: [completed]\n"
        "permissions: {}\n" + _JOB.format(perms="    permissions: {}", steps=steps)
    )
    with pytest.raises(AssertionError, match=r"workflow_run|keeps the token"):
        test_no_pull_request_target_and_workflow_run_checks_out_only_the_default_branch(
            (path, load_workflow(path))
        )
