"""Power of the gate's one-sided tests under the normal approximation.

The gate declares the candidate non-inferior when ``p_greater(-margin) < alpha``, that is when
``(estimate + margin) / se > z_(1 - alpha)``. With the estimate normal around the true
difference with standard error ``se``, this happens with probability
``Phi((true_difference + margin) / se - z_(1 - alpha))``. Standard errors of these paired
estimates shrink as ``1 / sqrt(n)``, which :func:`required_rows` uses to size an evaluation set.
"""

from __future__ import annotations

import math

from scipy import special

__all__ = ["minimum_detectable_effect", "noninferiority_power", "required_rows"]


def _check_se(se: float) -> float:
    se = float(se)
    if not (math.isfinite(se) and se >= 0.0):
        raise ValueError(f"se must be a finite non-negative number, got {se!r}.")
    return se


def _check_probability(value: float, name: str) -> float:
    value = float(value)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {value!r}.")
    return value


def _check_finite(value: float, name: str) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")
    return value


def minimum_detectable_effect(
    se: float, alpha: float, power: float = 0.8, one_sided: bool = True
) -> float:
    """Smallest true difference the test detects with the given power.

    Args:
        se: Standard error of the estimated difference.
        alpha: Significance level.
        power: Target probability of rejecting when the effect is present.
        one_sided: Use ``z_(1 - alpha)``; otherwise ``z_(1 - alpha / 2)``.

    Returns:
        ``(z_(1 - alpha) + z_power) * se`` (with ``alpha / 2`` when two-sided).

    Raises:
        ValueError: If ``se`` is negative or not finite, or ``alpha`` or ``power`` is not
            strictly between 0 and 1.
    """
    se = _check_se(se)
    alpha = _check_probability(alpha, "alpha")
    power = _check_probability(power, "power")
    tail = alpha if one_sided else alpha / 2.0
    return float((special.ndtri(1.0 - tail) + special.ndtri(power)) * se)


def noninferiority_power(
    se: float, margin: float, alpha: float, true_difference: float = 0.0
) -> float:
    """Probability that the one-sided non-inferiority test at level ``alpha`` passes.

    Args:
        se: Standard error of the estimated difference (candidate minus baseline, oriented so
            that higher is better).
        margin: Non-inferiority margin; H0 is ``difference <= -margin``.
        alpha: One-sided significance level.
        true_difference: The true difference at which to evaluate the power.

    Returns:
        ``Phi((true_difference + margin) / se - z_(1 - alpha))``; with ``se = 0``, 1 when
        ``true_difference + margin > 0`` and 0 otherwise.

    Raises:
        ValueError: If ``se`` is negative or not finite, ``margin`` or ``true_difference`` is
            not finite, or ``alpha`` is not strictly between 0 and 1.
    """
    se = _check_se(se)
    margin = _check_finite(margin, "margin")
    alpha = _check_probability(alpha, "alpha")
    true_difference = _check_finite(true_difference, "true_difference")
    distance = true_difference + margin
    if se == 0.0:
        return 1.0 if distance > 0.0 else 0.0
    return float(special.ndtr(distance / se - special.ndtri(1.0 - alpha)))


def required_rows(
    se: float,
    n_rows: int,
    margin: float,
    alpha: float,
    power: float = 0.8,
    true_difference: float = 0.0,
) -> int:
    """Evaluation rows needed for the non-inferiority test to reach ``power``.

    Scales the standard error measured on ``n_rows`` rows as ``se * sqrt(n_rows / n)``, which
    assumes the new rows come from the same distribution as the measured ones.

    Args:
        se: Standard error of the estimated difference measured on ``n_rows`` rows.
        n_rows: Number of rows ``se`` was measured on.
        margin: Non-inferiority margin.
        alpha: One-sided significance level.
        power: Target power.
        true_difference: True difference assumed for the planning (0 by default).

    Returns:
        The smallest whole number of rows whose power reaches ``power`` (at least 1).

    Raises:
        ValueError: If an argument is out of range, or ``true_difference + margin <= 0`` (then
            no number of rows suffices).
    """
    se = _check_se(se)
    if isinstance(n_rows, bool) or int(n_rows) != n_rows or n_rows < 1:
        raise ValueError(f"n_rows must be a positive integer, got {n_rows!r}.")
    margin = _check_finite(margin, "margin")
    alpha = _check_probability(alpha, "alpha")
    power = _check_probability(power, "power")
    true_difference = _check_finite(true_difference, "true_difference")
    distance = true_difference + margin
    if distance <= 0.0:
        raise ValueError(
            f"true_difference + margin = {distance!r} is not positive, so non-inferiority "
            f"cannot be shown with any number of rows; plan for a larger margin."
        )
    if se == 0.0:
        return 1
    z_sum = float(special.ndtri(1.0 - alpha) + special.ndtri(power))
    if z_sum <= 0.0:
        return 1
    rows = int(n_rows) * (se * z_sum / distance) ** 2
    needed = max(1, math.ceil(rows))
    # Guard the ceiling against rounding just above an integer.
    if needed > 1:
        one_fewer_se = se * math.sqrt(n_rows / (needed - 1))
        if noninferiority_power(one_fewer_se, margin, alpha, true_difference) >= power:
            needed -= 1
    return needed
