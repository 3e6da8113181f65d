#!/usr/bin/env python3
"""The recording stand-in for ``gh`` and ``cml``: the one thin shim at the GitHub boundary.

GitHub cannot be reached from the tests, so the workflow harness installs this one script as both
``gh`` (always on PATH, as on a hosted runner) and ``cml`` (on PATH after ``iterative/setup-cml``).
It keeps what would have been posted (PR comments with their watermark and target, issues with
their labels and bodies, labels, releases with their notes and assets, pull requests) in the
forge's JSON state file, ``../forge.json`` next to the directory it is installed in, and answers
the read commands the workflows use from that state, so "open or update, never duplicate" can be
tested.

It models GitHub's token permissions too: every call needs a token the harness issued for the
running job (``GH_TOKEN``/``GITHUB_TOKEN`` for gh, ``REPO_TOKEN`` and friends for cml), and the
job's ``permissions:`` must grant the scope the call needs (reads need read, writes need write),
so a job that asks for too little fails here as it would on GitHub.

Anything it does not model exits 2 with ``unsupported gh/cml invocation: ...``: an unexpected call
fails the test instead of passing silently. Only the standard library is used.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

EXIT_UNSUPPORTED = 2

#: gh's token variables, in gh's order of precedence.
GH_TOKEN_VARS = ("GH_TOKEN", "GITHUB_TOKEN")
#: cml's token variables, in cml's order of precedence.
CML_TOKEN_VARS = ("CML_TOKEN", "REPO_TOKEN", "repo_token", "GITHUB_TOKEN")


class Unsupported(Exception):
    """A call the shim does not model."""


class Refused(Exception):
    """A call GitHub would refuse (message as gh prints it, exit code)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


# --------------------------------------------------------------------------------------- state


def state_path() -> Path:
    """The forge state: ``forge.json`` in the parent of the directory the shim is installed in."""
    return Path(__file__).resolve().parent.parent / "forge.json"


def load_state() -> dict[str, Any]:
    return json.loads(state_path().read_text())


def save_state(state: dict[str, Any]) -> None:
    path = state_path()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".forge-")
    with os.fdopen(fd, "w") as f:
        json.dump(state, f, indent=2, sort_keys=True)
    Path(tmp).replace(path)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def next_number(state: dict[str, Any]) -> int:
    """Issues and pull requests share one sequence of numbers, as on GitHub."""
    state["next_number"] += 1
    return state["next_number"] - 1


# --------------------------------------------------------------------------------- arguments


def parse(args: list[str], options: dict[str, str], what: str) -> tuple[dict[str, Any], list[str]]:
    """Parse ``--opt value``, ``--opt=value``, ``-o value`` and flags; unknown options: unsupported.

    ``options`` maps every accepted spelling to ``"value"``, ``"multi"`` (repeatable) or
    ``"flag"``; the result is keyed by the first long spelling's name without dashes.
    """
    canonical: dict[str, str] = {}
    for spelling in options:
        for alias in spelling.split("|"):
            canonical[alias] = spelling.split("|")[0].lstrip("-")
    kinds = {spelling.split("|")[0].lstrip("-"): kind for spelling, kind in options.items()}
    values: dict[str, Any] = {k: ([] if kind == "multi" else None) for k, kind in kinds.items()}
    positional: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            positional.extend(args[i + 1 :])
            break
        if arg.startswith("-") and arg != "-":
            name, eq, inline = arg.partition("=")
            if name not in canonical:
                raise Unsupported(f"{what}: option {name}")
            key = canonical[name]
            kind = kinds[key]
            if kind == "flag":
                if eq:
                    values[key] = inline.lower() not in ("false", "0")
                else:
                    values[key] = True
            else:
                if eq:
                    value = inline
                else:
                    i += 1
                    if i == len(args):
                        raise Refused(f"flag needs an argument: {name}")
                    value = args[i]
                if kind == "multi":
                    values[key].extend(v for v in value.split(",") if v)
                else:
                    values[key] = value
        else:
            positional.append(arg)
        i += 1
    return values, positional


def body_from(values: dict[str, Any], what: str) -> str | None:
    if values.get("body") is not None and values.get("body-file") is not None:
        raise Refused("specify only one of `--body` or `--body-file`")
    if values.get("body-file") is not None:
        return read_file(values["body-file"], what)
    return values.get("body")


def read_file(name: str, what: str) -> str:
    if name == "-":
        return sys.stdin.read()
    path = Path(name)
    if not path.is_file():
        raise Refused(f"{what}: open {name}: no such file or directory")
    return path.read_text()


# ------------------------------------------------------------------------------- permissions


def token_permissions(state: dict[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    token = next((os.environ[n] for n in names if os.environ.get(n)), None)
    if token is None:
        raise Refused(
            "To get started with GitHub CLI, please run:  gh auth login\n"
            f"Alternatively, populate the {names[0]} environment variable with a GitHub API "
            "authentication token.",
            4,
        )
    grant = state["tokens"].get(token)
    if grant is None:
        raise Refused("HTTP 401: Bad credentials (https://api.github.com)")
    return grant["permissions"]


def need(perms: dict[str, str], *scopes: str, level: str) -> None:
    """Require ``level`` (read or write) on any one of ``scopes`` (write implies read)."""
    ok = {"read": ("read", "write"), "write": ("write",)}[level]
    if not any(perms.get(s) in ok for s in scopes):
        grants = ", ".join(f"{k}: {v}" for k, v in sorted(perms.items())) or "none"
        raise Refused(
            "HTTP 403: Resource not accessible by integration "
            f"(needs {' or '.join(scopes)}: {level}; the job's token has {grants})"
        )


# ---------------------------------------------------------------------------------- the repo


def current_repo(state: dict[str, Any], flag: str | None) -> str:
    """The repository a call is about: ``-R``, ``GH_REPO``, or the git remote of the cwd."""
    repo = flag or os.environ.get("GH_REPO")
    if repo is None:
        probe = subprocess.run(
            ["git", "config", "--get", "remote.origin.url"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode != 0:
            raise Refused(
                "failed to determine base repo: not a git repository with an origin remote "
                "(set GH_REPO or pass --repo)"
            )
        if probe.stdout.strip() not in state["origin_urls"]:
            raise Refused(
                "none of the git remotes configured for this repository point to a known "
                "GitHub host"
            )
        repo = state["repository"]
    if repo.removeprefix(state["server_url"] + "/") != state["repository"]:
        raise Unsupported(f"the shim models one repository, {state['repository']}, not {repo}")
    return state["repository"]


def url(state: dict[str, Any], *parts: object) -> str:
    return "/".join([state["server_url"], state["repository"], *map(str, parts)])


# ------------------------------------------------------------------------------------- jq


def jq(expression: str, value: Any) -> list[Any]:
    """A small, honest subset of jq: paths, ``.[]``, ``|``, ``length``, ``first``, ``last``,
    ``map(...)``; anything else is unsupported."""
    results = [value]
    for stage in _split_pipes(expression):
        out: list[Any] = []
        for item in results:
            out.extend(_jq_filter(stage.strip(), item, expression))
        results = out
    return results


def _split_pipes(expression: str) -> list[str]:
    stages, depth, current = [], 0, ""
    for ch in expression:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "|" and depth == 0:
            stages.append(current)
            current = ""
        else:
            current += ch
    stages.append(current)
    return stages


_PATH_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(-?\d+)\]|\[\]|\.\[(-?\d+)\]|\.\[\]")


def _jq_filter(stage: str, value: Any, whole: str) -> list[Any]:
    if stage == ".":
        return [value]
    if stage == "length":
        return [len(value) if value is not None else 0]
    if stage in ("first", "last"):
        return [value[0 if stage == "first" else -1]] if value else [None]
    match = re.fullmatch(r"map\((.*)\)", stage)
    if match:
        return [[r for item in value for r in _jq_filter(match.group(1).strip(), item, whole)]]
    if not stage.startswith("."):
        raise Unsupported(f"jq expression {whole!r}")
    items = [value]
    pos = 0
    text = stage
    while pos < len(text):
        part = _PATH_PART.match(text, pos)
        if part is None:
            raise Unsupported(f"jq expression {whole!r}")
        name, index, index2 = part.group(1), part.group(2), part.group(3)
        token = part.group(0)
        nxt: list[Any] = []
        for item in items:
            if name is not None:
                if item is not None and not isinstance(item, dict):
                    raise Refused(f"jq: cannot index {type(item).__name__} with {name!r}")
                nxt.append(None if item is None else item.get(name))
            elif index is not None or index2 is not None:
                k = int(index if index is not None else index2)
                if item is None:
                    nxt.append(None)
                elif not isinstance(item, list):
                    raise Refused(f"jq: cannot index {type(item).__name__} with number")
                else:
                    nxt.append(item[k] if -len(item) <= k < len(item) else None)
            elif token in ("[]", ".[]"):
                if isinstance(item, dict):
                    nxt.extend(item.values())
                elif isinstance(item, list):
                    nxt.extend(item)
                else:
                    raise Refused(f"jq: cannot iterate over {type(item).__name__}")
        items = nxt
        pos = part.end()
    return items


def emit(value: Any, jq_expression: str | None) -> None:
    """Print like gh: the JSON (indented), or each jq result (strings raw, others as JSON)."""
    if jq_expression is None:
        print(json.dumps(value, indent=2))
        return
    for result in jq(jq_expression, value):
        print(result if isinstance(result, str) else json.dumps(result))


def select_fields(records: list[dict[str, Any]], fields: str, known: set[str]) -> list[Any]:
    names = [f.strip() for f in fields.split(",") if f.strip()]
    unknown = [f for f in names if f not in known]
    if unknown:
        raise Refused(
            f'Unknown JSON field: "{unknown[0]}"\nAvailable fields:\n  '
            + "\n  ".join(sorted(known))
        )
    return [{f: r[f] for f in names} for r in records]


# ----------------------------------------------------------------------------------- issues


def issue_json(state: dict[str, Any], issue: dict[str, Any]) -> dict[str, Any]:
    return {
        "number": issue["number"],
        "title": issue["title"],
        "body": issue["body"],
        "state": issue["state"].upper(),
        "labels": [{"name": n} for n in issue["labels"]],
        "url": url(state, "issues", issue["number"]),
        "createdAt": issue["created_at"],
        "updatedAt": issue["updated_at"],
        "author": {"login": issue["author"]},
        "comments": [
            {"body": c["body"], "author": {"login": c["author"]}}
            for c in state["comments"]
            if c["target"] == f"issue/{issue['number']}"
        ],
    }


ISSUE_FIELDS = {
    "number",
    "title",
    "body",
    "state",
    "labels",
    "url",
    "createdAt",
    "updatedAt",
    "author",
    "comments",
}


def find_issue(state: dict[str, Any], number: str) -> dict[str, Any]:
    issue = state["issues"].get(str(number).lstrip("#"))
    if issue is None:
        raise Refused(
            f"GraphQL: Could not resolve to an issue or pull request with the number of {number}."
        )
    return issue


def check_labels(state: dict[str, Any], labels: list[str]) -> None:
    for name in labels:
        if name not in state["labels"]:
            raise Refused(f"could not add label: '{name}' not found")


def gh_issue(state: dict[str, Any], args: list[str]) -> dict[str, Any] | None:
    if not args:
        raise Unsupported("gh issue")
    verb, rest = args[0], args[1:]
    if verb == "list":
        v, pos = parse(
            rest,
            {
                "--label|-l": "multi",
                "--state|-s": "value",
                "--json": "value",
                "--jq|-q": "value",
                "--limit|-L": "value",
                "--repo|-R": "value",
                "--author|-A": "value",
            },
            "gh issue list",
        )
        if pos or v["json"] is None:
            raise Unsupported("gh issue list without --json (only JSON output is modelled)")
        current_repo(state, v["repo"])
        need(gh_perms(state), "issues", level="read")
        wanted = (v["state"] or "open").lower()
        if wanted not in ("open", "closed", "all"):
            raise Refused(f'invalid argument "{wanted}" for "-s, --state" flag')
        issues = [
            i
            for i in sorted(state["issues"].values(), key=lambda i: -i["number"])
            if (wanted == "all" or i["state"] == wanted)
            and all(label in i["labels"] for label in v["label"])
            and (v["author"] is None or i["author"] == v["author"])
        ]
        limit = int(v["limit"] or 30)
        records = [issue_json(state, i) for i in issues[:limit]]
        emit(select_fields(records, v["json"], ISSUE_FIELDS), v["jq"])
        return None
    if verb == "view":
        v, pos = parse(
            rest,
            {"--json": "value", "--jq|-q": "value", "--repo|-R": "value", "--comments": "flag"},
            "gh issue view",
        )
        if len(pos) != 1 or v["json"] is None:
            raise Unsupported("gh issue view without one issue number and --json")
        current_repo(state, v["repo"])
        need(gh_perms(state), "issues", level="read")
        record = issue_json(state, find_issue(state, pos[0]))
        emit(select_fields([record], v["json"], ISSUE_FIELDS)[0], v["jq"])
        return None
    if verb == "create":
        v, pos = parse(
            rest,
            {
                "--title|-t": "value",
                "--body|-b": "value",
                "--body-file|-F": "value",
                "--label|-l": "multi",
                "--repo|-R": "value",
                "--assignee|-a": "multi",
            },
            "gh issue create",
        )
        if pos:
            raise Unsupported(f"gh issue create with arguments {pos}")
        current_repo(state, v["repo"])
        perms = gh_perms(state)
        need(perms, "issues", level="write")
        body = body_from(v, "gh issue create")
        if not v["title"] or body is None:
            raise Refused(
                "must provide `--title` and `--body` (or `--body-file`) when not running "
                "interactively"
            )
        check_labels(state, v["label"])
        number = next_number(state)
        stamp = now()
        state["issues"][str(number)] = {
            "number": number,
            "title": v["title"],
            "body": body,
            "labels": list(dict.fromkeys(v["label"])),
            "assignees": v["assignee"],
            "state": "open",
            "author": "github-actions[bot]",
            "created_at": stamp,
            "updated_at": stamp,
            "edits": 0,
        }
        print(url(state, "issues", number))
        return state
    if verb in ("edit", "comment", "close", "reopen"):
        opts = {"--repo|-R": "value"}
        if verb == "edit":
            opts |= {
                "--title|-t": "value",
                "--body|-b": "value",
                "--body-file|-F": "value",
                "--add-label": "multi",
                "--remove-label": "multi",
            }
        elif verb == "comment":
            opts |= {"--body|-b": "value", "--body-file|-F": "value"}
        elif verb == "close":
            opts |= {"--comment|-c": "value", "--reason|-r": "value"}
        v, pos = parse(rest, opts, f"gh issue {verb}")
        if len(pos) != 1:
            raise Unsupported(f"gh issue {verb} without exactly one issue number")
        current_repo(state, v["repo"])
        need(gh_perms(state), "issues", level="write")
        issue = find_issue(state, pos[0])
        if verb == "edit":
            body = body_from(v, "gh issue edit")
            if body is not None:
                issue["body"] = body
            if v["title"]:
                issue["title"] = v["title"]
            check_labels(state, v["add-label"])
            issue["labels"] = [
                name
                for name in dict.fromkeys([*issue["labels"], *v["add-label"]])
                if name not in v["remove-label"]
            ]
            issue["edits"] += 1
        elif verb == "comment":
            body = body_from(v, "gh issue comment")
            if body is None:
                raise Refused("`--body` or `--body-file` required when not running interactively")
            add_comment(state, f"issue/{issue['number']}", body, None)
        elif verb == "close":
            if v["comment"]:
                add_comment(state, f"issue/{issue['number']}", v["comment"], None)
            issue["state"] = "closed"
        else:
            issue["state"] = "open"
        issue["updated_at"] = now()
        print(url(state, "issues", issue["number"]))
        return state
    raise Unsupported(f"gh issue {verb}")


def gh_perms(state: dict[str, Any]) -> dict[str, str]:
    return token_permissions(state, GH_TOKEN_VARS)


# ----------------------------------------------------------------------------------- labels


def gh_label(state: dict[str, Any], args: list[str]) -> dict[str, Any] | None:
    if not args or args[0] != "create":
        raise Unsupported(f"gh label {' '.join(args[:1])}")
    v, pos = parse(
        args[1:],
        {
            "--color|-c": "value",
            "--description|-d": "value",
            "--force|-f": "flag",
            "--repo|-R": "value",
        },
        "gh label create",
    )
    if len(pos) != 1:
        raise Unsupported("gh label create without exactly one name")
    current_repo(state, v["repo"])
    need(gh_perms(state), "issues", level="write")
    name = pos[0]
    if name in state["labels"] and not v["force"]:
        raise Refused(
            f'label with name "{name}" already exists; use `--force` to update its color and '
            "description"
        )
    state["labels"][name] = {"color": v["color"] or "ededed", "description": v["description"] or ""}
    return state


# ---------------------------------------------------------------------------------- releases


RELEASE_FIELDS = {
    "tagName",
    "name",
    "body",
    "isDraft",
    "isPrerelease",
    "assets",
    "url",
    "targetCommitish",
    "createdAt",
    "publishedAt",
}


def git_origin(
    state: dict[str, Any], *args: str, check: bool = True
) -> subprocess.CompletedProcess:
    result = subprocess.run(
        ["git", "--git-dir", state["origin"], *args], capture_output=True, text=True, check=False
    )
    if check and result.returncode != 0:
        raise Refused(f"git {' '.join(args)}: {result.stderr.strip()}")
    return result


def store_asset(state: dict[str, Any], tag: str, spec: str) -> dict[str, Any]:
    name, _, label = spec.partition("#")
    path = Path(name)
    if not path.is_file():
        raise Refused(f"open {name}: no such file or directory")
    dest = Path(state["assets_dir"]) / tag / path.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, dest)
    data = path.read_bytes()
    return {
        "name": path.name,
        "label": label,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "stored_at": str(dest),
    }


def gh_release(state: dict[str, Any], args: list[str]) -> dict[str, Any] | None:
    if not args:
        raise Unsupported("gh release")
    verb, rest = args[0], args[1:]
    if verb == "create":
        v, pos = parse(
            rest,
            {
                "--title|-t": "value",
                "--notes|-n": "value",
                "--notes-file|-F": "value",
                "--verify-tag": "flag",
                "--target": "value",
                "--draft|-d": "flag",
                "--prerelease|-p": "flag",
                "--latest": "flag",
                "--repo|-R": "value",
            },
            "gh release create",
        )
        if not pos:
            raise Unsupported("gh release create without a tag")
        current_repo(state, v["repo"])
        need(gh_perms(state), "contents", level="write")
        tag, files = pos[0], pos[1:]
        if tag in state["releases"]:
            raise Refused(
                "HTTP 422: Validation Failed (https://api.github.com/repos/"
                f"{state['repository']}/releases)\nRelease.tag_name already exists"
            )
        if v["notes"] is not None and v["notes-file"] is not None:
            raise Refused("specify only one of `--notes` or `--notes-file`")
        notes = read_file(v["notes-file"], "gh release create") if v["notes-file"] else v["notes"]
        if notes is None:
            raise Unsupported("gh release create without --notes or --notes-file")
        exists = git_origin(state, "rev-parse", "-q", "--verify", f"refs/tags/{tag}", check=False)
        if exists.returncode != 0:
            if v["verify-tag"]:
                raise Refused(
                    f"tag {tag} doesn't exist in the repo {state['repository']}, aborting due to "
                    "--verify-tag flag"
                )
            # GitHub creates the missing tag (lightweight) at the target (default: default branch).
            target = v["target"] or state["default_branch"]
            sha = git_origin(state, "rev-parse", "--verify", f"{target}^{{commit}}").stdout.strip()
            git_origin(state, "update-ref", f"refs/tags/{tag}", sha)
        commit = git_origin(state, "rev-parse", f"refs/tags/{tag}^{{commit}}").stdout.strip()
        stamp = now()
        state["releases"][tag] = {
            "tag": tag,
            "title": v["title"] or tag,
            "notes": notes,
            "draft": bool(v["draft"]),
            "prerelease": bool(v["prerelease"]),
            "latest": v["latest"],
            "commit": commit,
            "target": v["target"],
            "assets": [store_asset(state, tag, f) for f in files],
            "created_at": stamp,
        }
        print(url(state, "releases", "tag", tag))
        return state
    if verb == "view":
        v, pos = parse(
            rest, {"--json": "value", "--jq|-q": "value", "--repo|-R": "value"}, "gh release view"
        )
        if len(pos) != 1:
            raise Unsupported("gh release view without exactly one tag")
        current_repo(state, v["repo"])
        need(gh_perms(state), "contents", level="read")
        release = state["releases"].get(pos[0])
        if release is None:
            raise Refused("release not found")
        record = {
            "tagName": release["tag"],
            "name": release["title"],
            "body": release["notes"],
            "isDraft": release["draft"],
            "isPrerelease": release["prerelease"],
            "assets": [{"name": a["name"], "size": a["size"]} for a in release["assets"]],
            "url": url(state, "releases", "tag", release["tag"]),
            "targetCommitish": release["target"] or state["default_branch"],
            "createdAt": release["created_at"],
            "publishedAt": release["created_at"],
        }
        if v["json"] is None:
            if v["jq"] is not None:
                raise Refused("cannot use `--jq` without specifying `--json`")
            print(f"title:\t{record['name']}\ntag:\t{record['tagName']}")
            print(f"draft:\t{str(record['isDraft']).lower()}\nurl:\t{record['url']}")
            for asset in record["assets"]:
                print(f"asset:\t{asset['name']}")
            print("--")
            print(record["body"])
            return None
        emit(select_fields([record], v["json"], RELEASE_FIELDS)[0], v["jq"])
        return None
    if verb == "upload":
        v, pos = parse(rest, {"--clobber": "flag", "--repo|-R": "value"}, "gh release upload")
        if len(pos) < 2:
            raise Unsupported("gh release upload without a tag and files")
        current_repo(state, v["repo"])
        need(gh_perms(state), "contents", level="write")
        release = state["releases"].get(pos[0])
        if release is None:
            raise Refused("release not found")
        for spec in pos[1:]:
            asset = store_asset(state, release["tag"], spec)
            clash = [a for a in release["assets"] if a["name"] == asset["name"]]
            if clash and not v["clobber"]:
                raise Refused(f"asset under the same name already exists: [{asset['name']}]")
            release["assets"] = [a for a in release["assets"] if a["name"] != asset["name"]]
            release["assets"].append(asset)
        return state
    raise Unsupported(f"gh release {verb}")


# ----------------------------------------------------------------------------- pull requests


def pull_api(state: dict[str, Any], pr: dict[str, Any]) -> dict[str, Any]:
    """A pull request as the REST API returns it (the fields the workflows read)."""
    return {
        "number": pr["number"],
        "state": pr["state"],
        "title": pr["title"],
        "body": pr["body"],
        "html_url": url(state, "pull", pr["number"]),
        "user": {"login": pr["author"]},
        "draft": pr["draft"],
        "merged": pr["merged"],
        "head": {
            "ref": pr["head_ref"],
            "sha": pr["head_sha"],
            "label": f"{pr['head_repo'].split('/')[0]}:{pr['head_ref']}",
            "repo": {"full_name": pr["head_repo"], "fork": pr["head_repo"] != state["repository"]},
        },
        "base": {
            "ref": pr["base_ref"],
            "sha": pr["base_sha"],
            "repo": {"full_name": state["repository"]},
        },
    }


PR_FIELDS = {
    "number",
    "title",
    "body",
    "state",
    "url",
    "headRefName",
    "headRefOid",
    "baseRefName",
    "isDraft",
    "labels",
    "author",
}


def pr_json(state: dict[str, Any], pr: dict[str, Any]) -> dict[str, Any]:
    return {
        "number": pr["number"],
        "title": pr["title"],
        "body": pr["body"],
        "state": "MERGED" if pr["merged"] else pr["state"].upper(),
        "url": url(state, "pull", pr["number"]),
        "headRefName": pr["head_ref"],
        "headRefOid": pr["head_sha"],
        "baseRefName": pr["base_ref"],
        "isDraft": pr["draft"],
        "labels": [{"name": n} for n in pr["labels"]],
        "author": {"login": pr["author"]},
    }


def gh_pr(state: dict[str, Any], args: list[str]) -> dict[str, Any] | None:
    if not args:
        raise Unsupported("gh pr")
    verb, rest = args[0], args[1:]
    if verb == "list":
        v, pos = parse(
            rest,
            {
                "--head|-H": "value",
                "--base|-B": "value",
                "--state|-s": "value",
                "--label|-l": "multi",
                "--json": "value",
                "--jq|-q": "value",
                "--limit|-L": "value",
                "--repo|-R": "value",
            },
            "gh pr list",
        )
        if pos or v["json"] is None:
            raise Unsupported("gh pr list without --json (only JSON output is modelled)")
        current_repo(state, v["repo"])
        need(gh_perms(state), "pull-requests", level="read")
        wanted = (v["state"] or "open").lower()
        pulls = [
            p
            for p in sorted(state["pulls"].values(), key=lambda p: -p["number"])
            if (
                wanted == "all"
                or (wanted == "merged" and p["merged"])
                or (wanted in ("open", "closed") and p["state"] == wanted and not p["merged"])
            )
            and (v["head"] is None or p["head_ref"] == v["head"])
            and (v["base"] is None or p["base_ref"] == v["base"])
            and all(label in p["labels"] for label in v["label"])
        ]
        records = [pr_json(state, p) for p in pulls[: int(v["limit"] or 30)]]
        emit(select_fields(records, v["json"], PR_FIELDS), v["jq"])
        return None
    if verb == "create":
        v, pos = parse(
            rest,
            {
                "--title|-t": "value",
                "--body|-b": "value",
                "--body-file|-F": "value",
                "--base|-B": "value",
                "--head|-H": "value",
                "--label|-l": "multi",
                "--draft|-d": "flag",
                "--repo|-R": "value",
            },
            "gh pr create",
        )
        if pos or not v["head"]:
            raise Unsupported("gh pr create without --head (the shim does not guess the branch)")
        current_repo(state, v["repo"])
        need(gh_perms(state), "pull-requests", level="write")
        body = body_from(v, "gh pr create")
        if not v["title"] or body is None:
            raise Refused(
                "must provide `--title` and `--body` (or `--body-file`) when not running "
                "interactively"
            )
        base = v["base"] or state["default_branch"]
        head = git_origin(
            state, "rev-parse", "-q", "--verify", f"refs/heads/{v['head']}", check=False
        )
        if head.returncode != 0:
            raise Refused(
                "pull request create failed: GraphQL: Head sha can't be blank, Base sha can't be "
                f"blank, No commits between {base} and {v['head']}, Head ref must be a branch"
            )
        if any(
            p["head_ref"] == v["head"] and p["state"] == "open" for p in state["pulls"].values()
        ):
            raise Refused(
                f'a pull request for branch "{v["head"]}" into branch "{base}" already exists'
            )
        check_labels(state, v["label"])
        number = next_number(state)
        state["pulls"][str(number)] = {
            "number": number,
            "title": v["title"],
            "body": body,
            "state": "open",
            "merged": False,
            "draft": bool(v["draft"]),
            "labels": v["label"],
            "author": "github-actions[bot]",
            "head_ref": v["head"],
            "head_sha": head.stdout.strip(),
            "head_repo": state["repository"],
            "base_ref": base,
            "base_sha": git_origin(state, "rev-parse", f"refs/heads/{base}").stdout.strip(),
        }
        print(url(state, "pull", number))
        return state
    raise Unsupported(f"gh pr {verb}")


# --------------------------------------------------------------------------------------- api


def gh_api(state: dict[str, Any], args: list[str]) -> dict[str, Any] | None:
    v, pos = parse(
        args, {"--jq|-q": "value", "--method|-X": "value", "--paginate": "flag"}, "gh api"
    )
    if len(pos) != 1:
        raise Unsupported("gh api without exactly one endpoint")
    if (v["method"] or "GET").upper() != "GET":
        raise Unsupported(f"gh api --method {v['method']}")
    endpoint = pos[0].lstrip("/")
    if "{owner}" in endpoint or "{repo}" in endpoint:
        owner, name = current_repo(state, None).split("/")
        endpoint = endpoint.replace("{owner}", owner).replace("{repo}", name)
    match = re.fullmatch(r"repos/([^/]+/[^/]+)/(pulls|issues)/(\d+)", endpoint)
    if match is None:
        raise Unsupported(f"gh api {pos[0]}")
    current_repo(state, match.group(1))
    perms = gh_perms(state)
    kind, number = match.group(2), match.group(3)
    if kind == "pulls":
        need(perms, "pull-requests", level="read")
        pr = state["pulls"].get(number)
        if pr is None:
            raise Refused('gh: Not Found (HTTP 404)\n{"message":"Not Found"}', 1)
        emit(pull_api(state, pr), v["jq"])
    else:
        need(perms, "issues", level="read")
        record = issue_json(state, find_issue(state, number))
        emit(
            {
                "number": record["number"],
                "title": record["title"],
                "body": record["body"],
                "state": record["state"].lower(),
                "labels": record["labels"],
            },
            v["jq"],
        )
    return None


# --------------------------------------------------------------------------------------- cml


def add_comment(state: dict[str, Any], target: str, body: str, watermark: str | None) -> dict:
    state["next_comment_id"] += 1
    comment = {
        "id": state["next_comment_id"],
        "target": target,
        "body": body,
        "watermark": watermark,
        "author": "github-actions[bot]",
        "created_at": now(),
        "updates": 0,
    }
    state["comments"].append(comment)
    return comment


def cml(state: dict[str, Any], args: list[str]) -> dict[str, Any] | None:
    if len(args) < 2 or args[0] != "comment" or args[1] not in ("create", "update"):
        raise Unsupported("cml " + " ".join(args[:2]))
    v, pos = parse(
        args[2:],
        {
            "--target": "value",
            "--watermark-title": "value",
            "--no-publish": "flag",
            "--publish": "flag",
            "--driver": "value",
            "--repo": "value",
            "--token": "value",
        },
        f"cml comment {args[1]}",
    )
    if v["publish"] or not v["no-publish"]:
        raise Unsupported("cml comment without --no-publish (image upload to CML's host)")
    if v["driver"] not in (None, "github"):
        raise Unsupported(f"cml --driver={v['driver']}")
    if len(pos) != 1:
        raise Unsupported("cml comment without exactly one Markdown file")
    if v["token"] is not None:
        raise Unsupported("cml --token (tokens come from the environment here)")
    target = v["target"]
    if target is None or not re.fullmatch(r"(pr|issue)/\d+|commit/[0-9a-f]{7,40}", target):
        raise Unsupported(f"cml --target={target} (modelled: pr/N, issue/N, commit/SHA)")
    repo = v["repo"] or os.environ.get("GITHUB_REPOSITORY")
    if repo is None:
        raise Unsupported("cml without --repo or GITHUB_REPOSITORY")
    current_repo(state, repo)
    perms = token_permissions(state, CML_TOKEN_VARS)
    kind, _, ref = target.partition("/")
    if kind == "pr":
        need(perms, "pull-requests", "issues", level="write")
        if ref not in state["pulls"]:
            raise Refused(f"HTTP 404: pull request #{ref} not found in {state['repository']}")
    elif kind == "issue":
        need(perms, "issues", level="write")
        find_issue(state, ref)
    else:
        need(perms, "contents", level="write")
    body = read_file(pos[0], "cml comment")
    existing = [
        c
        for c in state["comments"]
        if c["target"] == target
        and v["watermark-title"] is not None
        and c["watermark"] == v["watermark-title"]
    ]
    if args[1] == "update" and existing:
        comment = existing[-1]
        comment["body"] = body
        comment["updates"] += 1
    else:
        comment = add_comment(state, target, body, v["watermark-title"])
    anchor = f"#issuecomment-{comment['id']}"
    print(
        url(state, "pull" if kind == "pr" else "issues", ref) + anchor
        if kind != "commit"
        else url(state, "commit", ref) + anchor
    )
    return state


# -------------------------------------------------------------------------------------- main


def dispatch(tool: str, state: dict[str, Any], args: list[str]) -> dict[str, Any] | None:
    if tool == "cml":
        return cml(state, args)
    if tool != "gh" or not args:
        raise Unsupported(f"{tool}")
    group, rest = args[0], args[1:]
    handlers = {"issue": gh_issue, "label": gh_label, "release": gh_release, "pr": gh_pr}
    if group == "api":
        return gh_api(state, rest)
    if group in handlers:
        return handlers[group](state, rest)
    raise Unsupported(f"gh {group}")


def main(argv: list[str]) -> int:
    tool = Path(argv[0]).name
    args = argv[1:]
    state = load_state()
    record = {"tool": tool, "args": args, "cwd": str(Path.cwd())}
    try:
        changed = dispatch(tool, state, args)
    except Unsupported as exc:
        print(f"unsupported gh/cml invocation: {tool} {' '.join(args)} ({exc})", file=sys.stderr)
        code = EXIT_UNSUPPORTED
        state = load_state()
    except Refused as exc:
        print(str(exc), file=sys.stderr)
        code = exc.code
        state = load_state()
    else:
        code = 0
        if changed is not None:
            state = changed
    record["exit"] = code
    state["calls"].append(record)
    save_state(state)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
