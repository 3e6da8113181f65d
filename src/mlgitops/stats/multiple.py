"""Multiplicity adjustments for the gate's family of metric comparisons.

Holm (1979) controls the family-wise error rate under any dependence between the tests;
Benjamini and Hochberg (1995) control the false discovery rate for independent or positively
dependent tests. Both return adjusted p-values in the input order, so a comparison is
significant at level ``alpha`` when its adjusted p-value is at most ``alpha``. They match
``statsmodels.stats.multitest.multipletests(method="holm" / "fdr_bh")[1]``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["benjamini_hochberg", "holm"]


def _as_p_values(p_values: ArrayLike) -> np.ndarray:
    array = np.asarray(p_values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"p_values must be a one-dimensional array, got shape {array.shape}.")
    if not np.all((array >= 0.0) & (array <= 1.0)):
        raise ValueError("p_values must all lie in [0, 1] (no NaN); check how they were computed.")
    return array


def holm(p_values: ArrayLike) -> np.ndarray:
    """Holm step-down adjusted p-values.

    Args:
        p_values: Unadjusted p-values, shape (m,).

    Returns:
        Adjusted p-values in the input order: the running maximum, in increasing order of p, of
        ``(m - i) p_(i)`` (``i`` from 0), capped at 1. Empty input gives an empty array.

    Raises:
        ValueError: If the input is not one-dimensional or holds values outside [0, 1].
    """
    p = _as_p_values(p_values)
    m = p.size
    if m == 0:
        return np.empty(0)
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate(p[order] * np.arange(m, 0, -1))
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted


def benjamini_hochberg(p_values: ArrayLike) -> np.ndarray:
    """Benjamini-Hochberg step-up adjusted p-values (q-values).

    Args:
        p_values: Unadjusted p-values, shape (m,).

    Returns:
        Adjusted p-values in the input order: the running minimum, from the largest p down, of
        ``m p_(i) / i`` (``i`` from 1), capped at 1. Empty input gives an empty array.

    Raises:
        ValueError: If the input is not one-dimensional or holds values outside [0, 1].
    """
    p = _as_p_values(p_values)
    m = p.size
    if m == 0:
        return np.empty(0)
    order = np.argsort(p, kind="stable")
    scaled = p[order] / (np.arange(1, m + 1) / m)
    stepped = np.minimum.accumulate(scaled[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted
