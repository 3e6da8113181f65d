"""The model card of a released version: its JSON document and its Markdown (pure core).

:func:`card_document` assembles everything a reader needs to judge the version (metrics with
intervals, data, params, lineage, intended use and limits) into one JSON-safe document;
:func:`render_card` renders the Markdown from that document alone, with the package template
``templates/model_card.md.j2``, so a card can always be re-rendered from its JSON.

Intended use, out-of-scope uses and limitations are the model owners' words: they come from the
``model_card`` section of params.yaml, reviewed like any other change.
"""

from __future__ import annotations

import math
from typing import Any

import jinja2

from mlgitops.intervals import MetricInterval
from mlgitops.metrics import higher_is_better
from mlgitops.params import ModelCardParams
from mlgitops.report import markdown_environment
from mlgitops.versioning import SchemaChange

CARD_VERSION = 1


def _feature_rule(spec: dict[str, Any]) -> str:
    parts = []
    if spec.get("min") is not None or spec.get("max") is not None:
        low = "−∞" if spec.get("min") is None else _plain_number(spec["min"])
        high = "∞" if spec.get("max") is None else _plain_number(spec["max"])
        parts.append(f"{low} to {high}")
    allowed = spec.get("allowed")
    if allowed is not None:
        shown = ", ".join(map(str, allowed[:6])) + (", …" if len(allowed) > 6 else "")
        parts.append(f"{len(allowed)} categories ({shown})")
    return "; ".join(parts) or "any value"


def _plain_number(x: Any) -> str:
    return str(int(x)) if isinstance(x, float) and x.is_integer() else str(x)


def card_document(
    *,
    name: str,
    version: str,
    tag: str,
    commit: str,
    released_at: str,
    parent: dict[str, Any] | None,
    bump: str,
    reason: str,
    changes: tuple[SchemaChange, ...],
    intervals: tuple[MetricInterval, ...],
    confidence: float,
    evaluation_rows: int,
    metadata: dict[str, Any],
    lock_hashes: dict[str, str],
    use: ModelCardParams,
) -> dict[str, Any]:
    """The model card's JSON document."""
    schema = metadata.get("input_schema") or {"columns": {}}
    features = [
        {
            "name": column,
            "dtype": spec["dtype"],
            "nullable": bool(spec.get("nullable", False)),
            "rule": _feature_rule(spec),
        }
        for column, spec in schema.get("columns", {}).items()
    ]
    data = metadata.get("data") or {}
    return {
        "schema_version": CARD_VERSION,
        "name": name,
        "version": version,
        "tag": tag,
        "commit": commit,
        "released_at": released_at,
        "parent": parent,
        "decision": {"bump": bump, "reason": reason},
        "schema_changes": [c.to_dict() for c in changes],
        "metrics": {
            "confidence": confidence,
            "rows": evaluation_rows,
            "intervals": [
                {**i.to_dict(), "higher_is_better": higher_is_better(i.name)} for i in intervals
            ],
        },
        "data": {
            "task": metadata.get("task"),
            "target": metadata.get("target"),
            "positive_class": metadata.get("positive_class"),
            "classes": metadata.get("classes"),
            "train_rows": data.get("train_rows"),
            "train_hash": data.get("train_hash"),
            "class_counts": data.get("class_counts"),
            "evaluation_rows": evaluation_rows,
            "schema_hash": metadata.get("schema_hash"),
            "extra_columns": schema.get("extra_columns"),
            "features": features,
        },
        "params": metadata.get("params") or {},
        "estimator": metadata.get("estimator") or [],
        "lineage": {
            "commit": commit,
            "parent_version": None if parent is None else parent["version"],
            "model_sha256": metadata.get("model_sha256"),
            "dvc_lock": [{"path": p, "md5": h} for p, h in sorted(lock_hashes.items())],
            "libraries": metadata.get("libraries") or {},
        },
        "use": {
            "intended_use": use.intended_use,
            "out_of_scope": list(use.out_of_scope),
            "limitations": list(use.limitations),
        },
    }


def _num(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _plain(value: Any) -> str:
    """A param as written in params.yaml (YAML spelling of null and booleans)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _share(count: int, total: int) -> str:
    return f"{count / total:.1%}" if total else "–"


def _flat(tree: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(tree, dict):
        rows: list[tuple[str, Any]] = []
        for key, value in tree.items():
            rows.extend(_flat(value, f"{prefix}{key}."))
        return rows
    return [(prefix[:-1], tree)]


def _environment() -> jinja2.Environment:
    # The reports' environment; the card formats numbers and commits its own way.
    return markdown_environment(
        {"num": _num, "plain": _plain, "short": lambda c: str(c)[:12] if c else "–", "flat": _flat},
        {"share": _share},
    )


def render_card(doc: dict[str, Any]) -> str:
    """The Markdown model card, from its document alone."""
    return _environment().get_template("model_card.md.j2").render(doc=doc)
