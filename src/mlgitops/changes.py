"""What changed between the base and the candidate besides the model (pure core).

Params (every leaf key of params.yaml), the evaluation and training rows, and the model's input
schema: the "what did this pull request change" half of the report.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_MISSING = object()


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Leaf values of a nested mapping, keyed by dotted path (lists are leaves)."""
    if isinstance(tree, dict):
        out: dict[str, Any] = {}
        for key, value in tree.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: tree}


def params_diff(base: dict[str, Any], candidate: dict[str, Any]) -> list[dict[str, Any]]:
    """Every key whose value differs, was added or was removed, in key order."""
    old, new = flatten(base), flatten(candidate)
    rows = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, _MISSING), new.get(key, _MISSING)
        if a != b:
            rows.append(
                {
                    "key": key,
                    "old": None if a is _MISSING else a,
                    "new": None if b is _MISSING else b,
                    "change": "added"
                    if a is _MISSING
                    else "removed"
                    if b is _MISSING
                    else "changed",
                }
            )
    return rows


def schema_diff(
    base: dict[str, Any] | None, candidate: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """Input columns added, removed or with different rules between two model input schemas."""
    if not base or not candidate:
        return []
    old, new = base.get("columns", {}), candidate.get("columns", {})
    rows = []
    for column in sorted(set(old) | set(new)):
        a, b = old.get(column), new.get(column)
        if a == b:
            continue
        if a is None:
            rows.append({"column": column, "change": "added", "rules": b})
        elif b is None:
            rows.append({"column": column, "change": "removed", "rules": a})
        else:
            keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k) and k != "description")
            if keys:
                rows.append(
                    {
                        "column": column,
                        "change": "changed",
                        "rules": {k: {"old": a.get(k), "new": b.get(k)} for k in keys},
                    }
                )
    return rows


def row_changes(
    candidate_test: np.ndarray,
    candidate_train: np.ndarray | None,
    base_test: np.ndarray | None,
    base_train: np.ndarray | None,
) -> dict[str, Any]:
    """Row counts of both revisions' splits, and how the candidate's evaluation rows relate.

    ``evaluation_rows_in_base_training`` matters most: the baseline has seen those rows in
    training, so its score on them is optimistic and the comparison favours the baseline.
    """

    def n(a: np.ndarray | None) -> int | None:
        return None if a is None else len(a)

    out: dict[str, Any] = {
        "candidate": {"test_rows": n(candidate_test), "train_rows": n(candidate_train)},
        "base": {"test_rows": n(base_test), "train_rows": n(base_train)},
        "evaluation_rows_in_base_evaluation": None,
        "evaluation_rows_in_base_training": None,
    }
    if base_test is not None:
        out["evaluation_rows_in_base_evaluation"] = int(np.isin(candidate_test, base_test).sum())
    if base_train is not None:
        out["evaluation_rows_in_base_training"] = int(np.isin(candidate_test, base_train).sum())
    return out
