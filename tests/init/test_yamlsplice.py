"""Line edits of YAML at places ruamel.yaml finds: everything outside an edit stays as it was."""

from __future__ import annotations

import pytest
import yaml

from mlgitops.errors import ConfigError
from mlgitops.yamlsplice import YamlText, yaml_scalar

DOC = """\
# head
stages:
  a:
    cmd: run a   # eol
    # a's own comment, deeper than its key
  # introduces b
  b:
    cmd: >-
      run
      b

# introduces plots
plots:
  - one: {x: 1}
  -
    two: 2
flow: {k: 1}
"""


def test_spans_end_before_the_comments_that_introduce_what_follows() -> None:
    doc = YamlText(DOC, "t")
    assert doc.lines[slice(*doc.span(("stages", "a")))] == (
        "  a:",
        "    cmd: run a   # eol",
        "    # a's own comment, deeper than its key",
    )
    assert doc.lines[slice(*doc.span(("stages", "b")))][-1] == "      b"
    assert doc.lines[slice(*doc.span(("plots", 1)))] == ("  -", "    two: 2")
    assert doc.block(("stages", "b")) == "b:\n  cmd: >-\n    run\n    b\n"


def test_edits_keep_every_other_byte() -> None:
    doc = YamlText(DOC, "t")
    added = doc.insert_after(("stages", "b"), "c:\n  cmd: run c\n", blank_line=True)
    assert added.text == DOC.replace("      b\n\n", "      b\n\n  c:\n    cmd: run c\n\n")
    assert yaml.safe_load(added.text)["stages"]["c"] == {"cmd": "run c"}
    first = doc.insert_before(("stages", "a"), "z: 1\n")
    assert first.text == DOC.replace("stages:\n", "stages:\n  z: 1\n")
    item = doc.insert_after(("plots", 1), "- three: 3\n")
    assert yaml.safe_load(item.text)["plots"][-1] == {"three": 3}
    assert item.text.replace("  - three: 3\n", "") == DOC
    replaced = doc.replace(("stages", "a"), "a:\n  cmd: other\n")
    assert replaced.text == DOC.replace(
        "    cmd: run a   # eol\n    # a's own comment, deeper than its key\n", "    cmd: other\n"
    )
    gone = doc.delete(("plots", 0))
    assert yaml.safe_load(gone.text)["plots"] == [{"two": 2}]
    assert doc.append("new: 1\n").text == DOC + "\nnew: 1\n"


def test_flow_collections_are_replaced_whole_never_edited_inside() -> None:
    doc = YamlText(DOC, "t")
    with pytest.raises(ConfigError, match="flow is written in flow style"):
        doc.insert_after(("flow", "k"), "j: 2\n")
    assert yaml.safe_load(doc.replace(("flow",), "flow:\n  k: 2\n").text)["flow"] == {"k": 2}


def test_bad_yaml_names_the_file_and_line() -> None:
    with pytest.raises(ConfigError, match=r"params.yaml is not valid YAML at line 3"):
        YamlText("a: 1\nb: [\n", "params.yaml")
    with pytest.raises(ConfigError, match="must be a mapping"):
        YamlText("- a\n", "dvc.yaml")


@pytest.mark.parametrize(
    "value", [None, True, False, 0, -3, 0.5, 1e-05, ">50K", "1", "yes", "a: b", "x, y", "", "ok"]
)
def test_scalars_read_back_as_themselves(value: object) -> None:
    text = yaml_scalar(value)
    assert yaml.safe_load(text) == value
    assert yaml.safe_load(f"[{text}]") == [value]


def test_a_crlf_file_stays_crlf() -> None:
    doc = YamlText(DOC.replace("\n", "\r\n"), "t")
    added = doc.insert_after(("stages", "b"), "c:\n  cmd: run c\n")
    assert "\n" not in added.text.replace("\r\n", "")
    assert yaml.safe_load(added.text)["stages"]["c"] == {"cmd": "run c"}
