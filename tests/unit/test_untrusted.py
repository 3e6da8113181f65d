"""A fork's compare.json: its shape is checked and its text comes out as plain words."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlgitops.errors import MlgitopsError
from mlgitops.report import error_lines
from mlgitops.untrusted import neutral_text, sanitize_compare


def _doc(**changes):
    doc = {
        "schema_version": 1,
        "kind": "mlgitops.compare",
        "verdict": "not_worse",
        "passed": True,
        "reason": "fine",
        "base": {},
        "candidate": {},
        "policy": {},
        "data_changes": {},
        "charts": {},
        "metrics": [],
        "slices": [],
        "warnings": [],
        "params_changes": [],
    }
    doc.update(changes)
    return doc


@given(st.text(max_size=500))
def test_no_text_can_open_html_a_link_a_mention_a_code_span_or_a_new_line(text: str) -> None:
    out = neutral_text(text)
    for unsafe in ("<", ">", "`", "\n", "\r", "](", "://"):
        assert unsafe not in out
    assert "@" not in out.replace("@\u200b", "")
    assert "|" not in out.replace("\\|", "")
    assert len(out) <= 300 * 6  # each kept character becomes at most a short escape


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "something else"}, "not a compare document"),
        ({"schema_version": 2}, "schema_version 2 is not 1"),
        ({"verdict": "trust me"}, "unknown verdict"),
        ({"passed": "yes"}, "passed is not true or false"),
        ({"metrics": {}}, "metrics is not a list"),
        ({"reason": float("nan")}, "not a finite number"),
        ({"charts": {"roc": object()}}, "holds a object"),
    ],
)
def test_a_document_of_another_shape_is_refused(change: dict, message: str) -> None:
    with pytest.raises(MlgitopsError, match=message):
        sanitize_compare(_doc(**change))


def test_numbers_and_structure_pass_unchanged() -> None:
    doc = _doc(metrics=[{"name": "accuracy", "difference": -0.01, "rows": 10, "note": None}])
    assert sanitize_compare(doc)["metrics"] == doc["metrics"]


def test_the_failure_report_quotes_error_sentences_only() -> None:
    log = "\n".join(
        [
            "Running stage 'train':",
            "> python pipelines/train.py",
            "token=abc123 printed by a step",
            "mlgitops validate: error: data/prepared/test.parquet: column age ...",
            "ERROR: failed to reproduce 'validate': failed to run: mlgitops validate",
            "x" * 1000 + " error: long",
        ]
    )
    lines = error_lines(log)
    assert lines[0].startswith("mlgitops validate: error: ")
    assert lines[1].startswith("ERROR: failed to reproduce 'validate'")
    assert len(lines[2]) == 400 and lines[2].endswith("…")
    assert not any("token=" in line for line in lines)
