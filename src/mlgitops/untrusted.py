"""A ``compare.json`` from a run the base repository does not trust (a fork's pull request).

A fork's pull request runs ``pr.yml`` from the fork's own commit, so the fork controls the
workflow, the code and every byte of the report artifact. The comment workflow re-renders the
report from ``compare.json`` with the base repository's own templates, after this module has
checked the document's shape and neutralised its text: no HTML, no links, autolinks or
images, no mentions, no line breaks, nothing that ends a code span or a table cell. What it
cannot do is make the verdict true: the comment says so above the report.
"""

from __future__ import annotations

import math
from typing import Any

from mlgitops.compare import RESULT_VERSION, VERDICTS
from mlgitops.errors import MlgitopsError
from mlgitops.prdoc import DOCUMENT_KIND

MAX_DEPTH = 12
MAX_ITEMS = 2000
MAX_TEXT = 300

_REPLACE = {
    "\r": " ",
    "\n": " ",
    "<": "&lt;",
    ">": "&gt;",
    "`": "'",
    "|": "\\|",
    "[": "\\[",
    "]": "\\]",
    '"': "'",
    "@": "@\u200b",  # a zero-width space: no one is mentioned
}


def neutral_text(text: str) -> str:
    """``text`` shortened and escaped so that it renders as plain words in Markdown."""
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT - 1] + "…"
    text = "".join(_REPLACE.get(ch, ch) for ch in text if ch.isprintable() or ch == " ")
    # No autolinks either: GitHub turns a bare https://... or www. into a link.
    return text.replace("://", ":\u200b//").replace("www.", "www\u200b.")


def _clean(value: Any, where: str, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise MlgitopsError(f"untrusted compare.json: {where} is nested too deeply.")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise MlgitopsError(f"untrusted compare.json: {where} is not a finite number.")
        return value
    if isinstance(value, str):
        return neutral_text(value)
    if isinstance(value, list):
        if len(value) > MAX_ITEMS:
            raise MlgitopsError(f"untrusted compare.json: {where} has more than {MAX_ITEMS} items.")
        return [_clean(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, dict):
        if len(value) > MAX_ITEMS:
            raise MlgitopsError(f"untrusted compare.json: {where} has more than {MAX_ITEMS} keys.")
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise MlgitopsError(f"untrusted compare.json: {where} has a key that is not text.")
            out[neutral_text(key)] = _clean(item, f"{where}.{key}", depth + 1)
        return out
    raise MlgitopsError(f"untrusted compare.json: {where} holds a {type(value).__name__}.")


def _require(doc: dict[str, Any], key: str, kind: type | tuple[type, ...], what: str) -> None:
    if not isinstance(doc.get(key), kind):
        raise MlgitopsError(f"untrusted compare.json: {key} is not {what}; it is not rendered.")


def sanitize_compare(doc: Any) -> dict[str, Any]:
    """The document, checked and with every text neutralised.

    Raises:
        MlgitopsError: the document is not a compare.json of this schema version (wrong kind,
            version, verdict or shape): nothing from it is posted.
    """
    if not isinstance(doc, dict) or doc.get("kind") != DOCUMENT_KIND:
        raise MlgitopsError("untrusted compare.json: not a compare document; it is not rendered.")
    if doc.get("schema_version") != RESULT_VERSION:
        raise MlgitopsError(
            f"untrusted compare.json: schema_version {doc.get('schema_version')!r} is not "
            f"{RESULT_VERSION}; it is not rendered."
        )
    if doc.get("verdict") not in VERDICTS:
        raise MlgitopsError("untrusted compare.json: unknown verdict; it is not rendered.")
    _require(doc, "passed", bool, "true or false")
    for key in ("base", "candidate", "policy", "data_changes", "charts"):
        _require(doc, key, dict, "a mapping")
    for key in ("metrics", "slices", "warnings", "params_changes"):
        _require(doc, key, list, "a list")
    return _clean(doc, "compare.json", 0)


def fork_notice(run_url: str | None) -> str:
    """The words above a fork's report: whose claim it is, and how to check it."""
    run = f"[the fork's CI run]({run_url})" if run_url else "the fork's CI run"
    return (
        f"This report comes from {run} of a pull request from a fork. A fork's pull request "
        "runs its own version of the workflow and the code, so this verdict is its author's "
        "claim, re-rendered here but not re-computed. Before merging, a maintainer opens the same "
        "commits as a pull request from a branch of this repository, whose check is trusted."
    )
