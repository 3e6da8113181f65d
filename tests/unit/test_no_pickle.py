"""No pickle anywhere: the project's code never loads or writes pickle-based formats.

Loading a pickle runs whatever code its author chose, so models go through skops with an allowlist
(``mlgitops.artifact``) and data through parquet, CSV or JSON. This test reads every Python file
under src/, pipelines/, tests/, bench/ and tools/ (syntax tree, not text search: a docstring that
says "never pickle" is fine) and refuses:

* importing ``pickle``, ``cPickle``, ``_pickle``, ``shelve`` (pickle on disk), ``joblib``, ``dill``
  or ``cloudpickle``, with ``import``, ``from ... import`` (also ``from sklearn.externals import
  joblib``), ``__import__("...")`` or ``importlib.import_module("...")``;
* calling ``torch.load``, ``read_pickle`` or ``to_pickle`` (pandas), or anything with
  ``allow_pickle=`` other than a literal ``False`` (``np.load``), or with ``serialization_format=``
  other than ``"skops"`` (MLflow's sklearn flavour pickles by default);
* string constants that hold such an import (code written out to run elsewhere, e.g. a bundle).

Other text files there (Jinja templates, shell, YAML, TOML) are searched for the same import
statements. Skipped: this file (it names the patterns), virtual environments (bench/.venv-*),
caches and benchmark outputs (bench/out).
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("src", "pipelines", "tests", "bench", "tools")
TEXT_SUFFIXES = {".j2", ".sh", ".yml", ".yaml", ".toml", ".cfg", ".ini", ".txt"}
SKIPPED_PARTS = {"__pycache__", "node_modules", ".pytest_cache", ".ruff_cache"}

BANNED_MODULES = {"pickle", "cPickle", "_pickle", "shelve", "joblib", "dill", "cloudpickle"}
BANNED_CALLS = {"read_pickle", "to_pickle"}
IMPORT_TEXT = re.compile(
    r"\b(?:import|from)\s+(?:" + "|".join(sorted(BANNED_MODULES)) + r")\b"
    r"|\bfrom\s+sklearn\.externals\s+import\s+joblib\b"
)


def _skipped_dir(rel: Path) -> bool:
    return any(p in SKIPPED_PARTS or p.startswith(".venv") for p in rel.parts) or rel.parts[:2] == (
        "bench",
        "out",
    )


def scanned_files() -> list[Path]:
    found = []
    for top in SCANNED:
        for folder, dirs, files in os.walk(ROOT / top):
            here = Path(folder)
            dirs[:] = sorted(d for d in dirs if not _skipped_dir((here / d).relative_to(ROOT)))
            found += [
                here / f
                for f in sorted(files)
                if Path(f).suffix == ".py" or Path(f).suffix in TEXT_SUFFIXES
            ]
    this = Path(__file__).resolve()
    return [p for p in found if p.resolve() != this]


def _top(name: str | None) -> str:
    return (name or "").split(".")[0]


def _call_name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return f"{_call_name(func.value)}.{func.attr}"
    if isinstance(func, ast.Name):
        return func.id
    return "?"


def _is_docstring(node: ast.Constant, parents: dict[ast.AST, ast.AST]) -> bool:
    expr = parents.get(node)
    return isinstance(expr, ast.Expr) and isinstance(
        parents.get(expr), ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
    )


def python_findings(source: str, name: str = "<snippet>") -> list[str]:
    """Every pickle-based import or use in one Python source, as ``line: what``."""
    tree = ast.parse(source, filename=name)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import):
            found += [
                f"{line}: import {a.name}" for a in node.names if _top(a.name) in BANNED_MODULES
            ]
        elif isinstance(node, ast.ImportFrom):
            if _top(node.module) in BANNED_MODULES:
                found.append(f"{line}: from {node.module} import")
            found += [
                f"{line}: from {node.module} import {a.name}"
                for a in node.names
                if a.name in BANNED_MODULES
            ]
        elif isinstance(node, ast.Call):
            called = _call_name(node.func)
            last = called.rsplit(".", 1)[-1]
            if called.endswith("torch.load"):
                found.append(f"{line}: {called}()")
            if last in BANNED_CALLS:
                found.append(f"{line}: {called}()")
            if last in ("__import__", "import_module") and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and _top(str(first.value)) in BANNED_MODULES:
                    found.append(f"{line}: {called}({first.value!r})")
            for kw in node.keywords:
                value = kw.value
                literal = value.value if isinstance(value, ast.Constant) else object()
                if kw.arg == "allow_pickle" and literal is not False:
                    found.append(f"{line}: {called}(allow_pickle=...)")
                if kw.arg == "serialization_format" and literal != "skops":
                    found.append(f"{line}: {called}(serialization_format=...)")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and not _is_docstring(node, parents)
            and IMPORT_TEXT.search(node.value)
        ):
            found.append(f"{line}: a string holding {IMPORT_TEXT.search(node.value)[0]!r}")
    return sorted(set(found))


def text_findings(text: str) -> list[str]:
    return [
        f"{i}: {m[0]!r}"
        for i, row in enumerate(text.splitlines(), 1)
        for m in [IMPORT_TEXT.search(row)]
        if m
    ]


def test_no_file_of_the_project_imports_or_uses_pickle() -> None:
    files = scanned_files()
    # The scan reaches what it claims to: the artifact module, the pipelines, tests, bench, tools.
    rel = {str(p.relative_to(ROOT)) for p in files}
    assert {"src/mlgitops/artifact.py", "pipelines/train.py", "bench/mlflow_model.py"} <= rel
    assert any(r.startswith("tools/") for r in rel) and any(r.endswith(".j2") for r in rel)
    assert not any(".venv" in r for r in rel)
    problems = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        found = python_findings(text, str(path)) if path.suffix == ".py" else text_findings(text)
        problems += [f"{path.relative_to(ROOT)}:{f}" for f in found]
    assert problems == []


@pytest.mark.parametrize(
    "snippet",
    [
        "import pickle",
        "import cPickle as p",
        "import _pickle",
        "import shelve",
        "import joblib",
        "import dill.settings",
        "from cloudpickle import dumps",
        "from sklearn.externals import joblib",
        "__import__('pickle')",
        "importlib.import_module('joblib')",
        "torch.load('m.pt')",
        "pd.read_pickle('f.pkl')",
        "frame.to_pickle('f.pkl')",
        "np.load('a.npy', allow_pickle=True)",
        "np.load('a.npy', allow_pickle=flag)",
        "mlflow.sklearn.save_model(m, 'p', serialization_format='cloudpickle')",
        "SCRIPT = 'import sys\\nimport pickle\\n'",
    ],
)
def test_the_scan_catches_each_pattern(snippet: str) -> None:
    assert python_findings(snippet) != []


@pytest.mark.parametrize(
    "snippet",
    [
        '"""Saved with skops, never pickle or joblib."""',
        "np.load('a.npy', allow_pickle=False)",
        "np.load('a.npy')",
        "mlflow.sklearn.save_model(m, 'p', serialization_format='skops')",
        "raise ValueError('this file is a pickle; refused')",
        "import skops.io as sio",
    ],
)
def test_the_scan_allows_what_is_not_pickle(snippet: str) -> None:
    assert python_findings(snippet) == []


def test_templates_are_searched_for_imports_too() -> None:
    assert text_findings("run: python -c 'import joblib'\n") == ["1: 'import joblib'"]
    assert text_findings("no pickle or joblib here\n") == []
