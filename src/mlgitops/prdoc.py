"""The ``compare.json`` document: everything the PR report shows, from in-memory parts (pure).

The document is versioned (``schema_version``) and self-contained: the Markdown report is rendered
from it alone, so it can be re-rendered, diffed or posted anywhere later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlgitops.charts import confusion, error_curve, roc_chart
from mlgitops.compare import RESULT_VERSION, Comparison, Rows
from mlgitops.metrics import positives

DOCUMENT_KIND = "mlgitops.compare"


@dataclass(frozen=True)
class Side:
    """One of the two revisions being compared."""

    label: str  # "main", "this PR"
    rev: str
    commit: str | None
    model_sha256: str | None
    metadata: dict[str, Any] | None
    dvc_lock: dict[str, Any]
    source: str | None = None  # for the base: "dvc" | "reproduced" | "none"


def lock_hashes(lock: dict[str, Any]) -> dict[str, str]:
    """Output path -> md5 from a ``dvc.lock``, for the footer."""
    out = {}
    for entry in (lock.get("stages") or {}).values():
        for item in entry.get("outs") or []:
            if isinstance(item, dict) and "md5" in item:
                out[item["path"]] = item["md5"]
    return dict(sorted(out.items()))


def charts_for(rows: Rows, labels: tuple[str, str]) -> dict[str, Any]:
    """ROC (binary) or error curves (regression) and confusion matrices of both models."""
    base_label, cand_label = labels
    charts: dict[str, Any] = {}
    if rows.task == "binary":
        y = positives(rows.y_true, rows.positive_class)
        charts["roc"] = roc_chart(y, {base_label: rows.base_score, cand_label: rows.cand_score})
    if rows.task in ("binary", "multiclass"):
        classes = list(rows.classes or pd.unique(rows.y_true))
        charts["confusion"] = {
            "labels": [str(c) for c in classes],
            "series": {
                base_label: confusion(rows.y_true, rows.base_pred, classes),
                cand_label: confusion(rows.y_true, rows.cand_pred, classes),
            },
        }
    if rows.task == "regression":
        y = rows.y_true.astype(np.float64)
        charts["error_curve"] = error_curve(
            {
                base_label: rows.base_pred.astype(np.float64) - y,
                cand_label: rows.cand_pred.astype(np.float64) - y,
            }
        )
    return charts


def _side(side: Side) -> dict[str, Any]:
    meta = side.metadata or {}
    return {
        "label": side.label,
        "rev": side.rev,
        "commit": side.commit,
        "source": side.source,
        "model_sha256": side.model_sha256,
        "model": meta.get("estimator"),
        "train_rows": (meta.get("data") or {}).get("train_rows"),
        "schema_hash": meta.get("schema_hash"),
        "libraries": meta.get("libraries"),
        "dvc_lock": lock_hashes(side.dvc_lock),
    }


def compare_document(
    *,
    name: str,
    task: str,
    base: Side,
    candidate: Side,
    comparison: Comparison | None,
    verdict: str,
    passed: bool,
    reason: str,
    params_changes: list[dict[str, Any]],
    data_changes: dict[str, Any],
    charts: dict[str, Any],
    policy: dict[str, Any],
    rules: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Assemble ``compare.json``.

    ``rules``: whose gate judged the change (``from``: base or candidate), the gate keys the
    pull request changes, and a note for the report when they differ.
    """
    doc: dict[str, Any] = {
        "schema_version": RESULT_VERSION,
        "kind": DOCUMENT_KIND,
        "model": name,
        "task": task,
        "verdict": verdict,
        "passed": passed,
        "reason": reason,
        "policy": policy,
        "rules": rules or {"from": "candidate", "changed": [], "note": None},
        "base": _side(base),
        "candidate": _side(candidate),
        "params_changes": params_changes,
        "data_changes": data_changes,
        "charts": charts,
    }
    if comparison is not None:
        body = comparison.to_dict()
        for key in ("verdict", "passed", "reason"):
            body.pop(key)
        doc.update(body)
    else:
        doc.update({"alpha": policy["alpha"], "confidence": 1 - 2 * policy["alpha"], "rows": None})
        doc.update({"metrics": [], "slices": [], "warnings": []})
    return doc
