"""docs/reference.md cannot go stale: it is what the generator writes from the code, it names every
key of this repository's params.yaml, and every command has help with an example.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from mlgitops.cli import main
from mlgitops.docs import KeyDoc, command_help, commands, key_docs, key_path, summary

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference.md"


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("gen_reference", ROOT / "tools/gen_reference.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


GENERATOR = _generator()
SECTIONS = {
    name: KeyDoc(name, "section", "", summary(model)) for name, model, _ in GENERATOR.sections()
}
DOCS = SECTIONS | {
    doc.path: doc for name, model, _ in GENERATOR.sections() for doc in key_docs(name, model)
}


def test_the_committed_reference_is_what_the_generator_writes() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == GENERATOR.render(), (
        "docs/reference.md is out of date: run python tools/gen_reference.py and commit it"
    )


def _keys(value: Any, prefix: tuple[str | int, ...] = ()):
    """Every key path of a params.yaml document (list items by index, when they are mappings)."""
    if isinstance(value, dict):
        for key, sub in value.items():
            yield (*prefix, key)
            yield from _keys(sub, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, dict):
                yield from _keys(item, (*prefix, i))


def test_every_key_of_this_repositorys_params_is_in_the_reference() -> None:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    reference = REFERENCE.read_text(encoding="utf-8")
    assert set(params) == {name for name, _, _ in GENERATOR.sections()}
    missing = []
    for parts in _keys(params):
        path = key_path(parts, DOCS)
        shown = f"### {path}\n" if path in SECTIONS else f"| `{path}` |"
        if path is None or shown not in reference:
            missing.append(".".join(map(str, parts)))
    assert not missing, f"params.yaml keys the reference does not document: {missing}"


def test_every_key_says_what_it_means() -> None:
    undocumented = [path for path, doc in DOCS.items() if len(doc.description) < 10]
    assert not undocumented, f"add description= to these fields: {undocumented}"


@pytest.mark.parametrize("path", list(commands(main)), ids=" ".join)
def test_every_command_has_help_with_an_example_and_is_in_the_reference(
    path: tuple[str, ...],
) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0
    assert "Example: mlgitops " in result.output, f"mlgitops {' '.join(path)}: no Example: line"
    reference = REFERENCE.read_text(encoding="utf-8")
    assert f"\n### mlgitops {' '.join(path)}\n" in reference
    assert command_help(main, path) in reference.replace("```text\n", "").replace("\n```", "\n")


def test_the_readme_links_the_reference() -> None:
    assert "(docs/reference.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
