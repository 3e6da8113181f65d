"""What the workflow harness runs instead of ``python -m pip install ARGS``.

The test venv is installed already and there is no network, so installing would either do
nothing or fail. This checks instead that everything the command names is installed in the
running interpreter and satisfies the requested versions: a local project (``.``, ``-e .``) by its
``pyproject.toml`` name, dependencies and importable package, ``--group NAME`` from the same
file, ``-r FILE`` requirement files, and plain requirement specifiers. An option it does not know
is an error. Exit 0 when all is there, 1 (naming what is missing) otherwise.
"""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

FLAGS = {
    "-q",
    "--quiet",
    "-U",
    "--upgrade",
    "--no-deps",
    "--no-cache-dir",
    "--disable-pip-version-check",
    "--no-input",
    "--user",
    "--pre",
    "--require-virtualenv",
}
VALUED = {"--progress-bar", "--upgrade-strategy", "-c", "--constraint"}


def missing(requirement: str) -> str | None:
    """Why ``requirement`` is not satisfied here (None when it is)."""
    req = Requirement(requirement)
    if req.marker is not None and not req.marker.evaluate():
        return None
    try:
        version = metadata.version(req.name)
    except metadata.PackageNotFoundError:
        return f"{req.name} is not installed"
    if req.specifier and not req.specifier.contains(version, prereleases=True):
        return f"{req.name} {version} does not satisfy {req.specifier}"
    return None


def check_project(path: Path, problems: list[str], checked: list[str]) -> None:
    pyproject = path / "pyproject.toml"
    if not pyproject.is_file():
        problems.append(f"{path} has no pyproject.toml")
        return
    doc = tomllib.loads(pyproject.read_text())
    name = doc["project"]["name"]
    why = missing(name)
    if why:
        problems.append(why)
        return
    for dep in doc["project"].get("dependencies", []):
        why = missing(dep)
        if why:
            problems.append(f"{why} (a dependency of {name})")
    module = name.replace("-", "_")
    if importlib.util.find_spec(module) is None:
        problems.append(f"{name} is installed but `import {module}` fails")
    checked.append(f"{name} {metadata.version(name)}")


def main(argv: list[str]) -> int:
    problems: list[str] = []
    checked: list[str] = []
    groups: list[str] = []
    requirements: list[str] = []
    projects: list[Path] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in FLAGS:
            pass
        elif arg in VALUED:
            i += 1
        elif arg in ("-e", "--editable"):
            i += 1
            projects.append(Path(argv[i]))
        elif arg.startswith("--group"):
            value = arg.partition("=")[2] if "=" in arg else argv[(i := i + 1)]
            groups.append(value)
        elif arg in ("-r", "--requirement"):
            i += 1
            for line in Path(argv[i]).read_text().splitlines():
                line = line.split("#", 1)[0].strip()
                if line:
                    requirements.append(line)
        elif arg.startswith("-"):
            print(f"harness pip check: option {arg} is not modelled", file=sys.stderr)
            return 2
        elif arg.startswith((".", "/")) or Path(arg).is_dir():
            projects.append(Path(arg))
        else:
            requirements.append(arg)
        i += 1
    for path in projects:
        check_project(path, problems, checked)
    if groups:
        doc = tomllib.loads(Path("pyproject.toml").read_text())
        for group in groups:
            entries = doc.get("dependency-groups", {}).get(group)
            if entries is None:
                problems.append(f"pyproject.toml has no dependency group {group!r}")
                continue
            requirements.extend(e for e in entries if isinstance(e, str))
    for requirement in requirements:
        why = missing(requirement)
        if why:
            problems.append(why)
        else:
            checked.append(requirement)
    if problems:
        for p in problems:
            print(f"harness pip check: {p}", file=sys.stderr)
        return 1
    print("harness: `pip install` mapped to a check (no network); installed: " + ", ".join(checked))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
