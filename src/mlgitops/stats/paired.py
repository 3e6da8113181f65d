"""Paired tests of a difference between two models scored on the same evaluation rows.

Both tests work on ``difference = candidate - baseline`` in the metric's own units and take the
null value ``delta0`` explicitly, so the gate decides what "better" means:

* ``p_greater(delta0)`` tests H0: difference <= delta0 against H1: difference > delta0;
* ``p_less(delta0)`` tests H0: difference >= delta0 against H1: difference < delta0.

Non-inferiority of a higher-is-better metric with margin ``m`` is ``p_greater(-m) < alpha``.

Accuracy (:func:`accuracy_test`) uses the discordant pairs of the paired 2x2 table: the two-sided
test of no difference is McNemar's mid-p test (Fagerland, Lydersen and Laake 2013 recommend it
over the exact conditional test, which is needlessly conservative), and the interval and the
one-sided tests at any ``delta0`` come from Tango's (1998) score statistic, which uses the
variance restricted to the null and so behaves well near the boundary of the parameter space
where a Wald statistic does not.

ROC AUC (:func:`auc_test`) uses DeLong, DeLong and Clarke-Pearson (1988) for two correlated AUCs,
computed with the O(n log n) midrank algorithm of Sun and Xu (2014), which handles ties exactly
as the Mann-Whitney statistic does (a tied positive/negative pair counts one half).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, special, stats

__all__ = [
    "AUCTest",
    "AccuracyTest",
    "accuracy_test",
    "accuracy_test_from_counts",
    "auc_test",
    "delong_components",
    "mcnemar_midp",
    "tango_statistic",
]


def _json_float(value: float) -> float | None:
    """Return ``value`` as a python float, or None when it is NaN or infinite."""
    value = float(value)
    return value if math.isfinite(value) else None


def _check_confidence(confidence: float) -> None:
    if not (isinstance(confidence, (int, float)) and 0.0 < confidence < 1.0):
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}.")


def _check_delta0(delta0: float) -> float:
    delta0 = float(delta0)
    if not math.isfinite(delta0):
        raise ValueError(f"delta0 must be a finite number, got {delta0!r}.")
    return delta0


def _degenerate_p_greater(difference: float, delta0: float) -> float:
    # With a zero standard error the estimate is treated as known: there is no evidence
    # against H0 when delta0 is at or above it and conclusive evidence when it is below.
    return 1.0 if delta0 >= difference else 0.0


def _degenerate_p_less(difference: float, delta0: float) -> float:
    return 1.0 if delta0 <= difference else 0.0


def _normal_p_greater(difference: float, se: float, delta0: float) -> float:
    if se == 0.0:
        return _degenerate_p_greater(difference, delta0)
    return float(special.ndtr(-(difference - delta0) / se))


def _normal_p_less(difference: float, se: float, delta0: float) -> float:
    if se == 0.0:
        return _degenerate_p_less(difference, delta0)
    return float(special.ndtr((difference - delta0) / se))


def _as_binary(values: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a one-dimensional array, got shape {array.shape}.")
    if array.dtype == bool:
        return array
    if array.dtype.kind not in "biuf" or not np.all((array == 0) | (array == 1)):
        raise ValueError(f"{name} must hold only booleans or 0/1 values; convert it first.")
    return array.astype(bool)


def _as_scores(values: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a one-dimensional array, got shape {array.shape}.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite scores; clean them before testing.")
    return array


# --------------------------------------------------------------------------------------------
# Accuracy: McNemar mid-p and Tango's score interval
# --------------------------------------------------------------------------------------------


def mcnemar_midp(baseline_only: int, candidate_only: int) -> float:
    """Two-sided McNemar mid-p value for discordant counts ``b`` and ``c``.

    Args:
        baseline_only: Rows the baseline got right and the candidate got wrong (b).
        candidate_only: Rows the candidate got right and the baseline got wrong (c).

    Returns:
        ``2 P(X <= min(b, c)) - P(X = min(b, c))`` with ``X ~ Bin(b + c, 1/2)``, which is the exact
        conditional p-value minus ``P(X = b)`` (not clipped first, so ``b = c`` gives 1); 1 when
        there are no discordant rows.
    """
    discordant = baseline_only + candidate_only
    if discordant == 0:
        return 1.0
    smaller = min(baseline_only, candidate_only)
    p_value = 2.0 * stats.binom.cdf(smaller, discordant, 0.5) - stats.binom.pmf(
        smaller, discordant, 0.5
    )
    return float(min(1.0, max(0.0, p_value)))


def tango_statistic(n_rows: int, baseline_only: int, candidate_only: int, delta0: float) -> float:
    """Tango's (1998) score statistic for H0: difference = delta0.

    The statistic is ``(c - b - n delta0) / sqrt(n (2 q + delta0 (1 - delta0)))`` where ``q`` is
    the maximum-likelihood estimate of P(baseline right, candidate wrong) restricted to the null;
    it is approximately standard normal under H0 and decreases in ``delta0``. At ``delta0 = 0`` it
    is McNemar's ``(c - b) / sqrt(b + c)``.

    Args:
        n_rows: Number of evaluation rows (n).
        baseline_only: Rows only the baseline got right (b).
        candidate_only: Rows only the candidate got right (c).
        delta0: Null value of the difference, strictly between -1 and 1.

    Returns:
        The score statistic; 0 when it is 0/0 (no discordant rows and ``delta0 = 0``).
    """
    n, b, c = float(n_rows), float(baseline_only), float(candidate_only)
    quad_a = 2.0 * n
    quad_b = -b - c + (2.0 * n - c + b) * delta0
    quad_c = -b * delta0 * (1.0 - delta0)
    root = math.sqrt(max(0.0, quad_b * quad_b - 4.0 * quad_a * quad_c))
    # The larger root of the quadratic, written to avoid cancellation when quad_b > 0.
    if quad_b > 0.0:
        restricted = -2.0 * quad_c / (quad_b + root)
    else:
        restricted = (root - quad_b) / (2.0 * quad_a)
    variance = n * (2.0 * restricted + delta0 * (1.0 - delta0))
    numerator = c - b - n * delta0
    if variance <= 0.0:
        if numerator == 0.0:
            return 0.0
        return math.copysign(math.inf, numerator)
    return numerator / math.sqrt(variance)


def _tango_interval(
    n_rows: int, baseline_only: int, candidate_only: int, confidence: float
) -> tuple[float, float]:
    z = float(special.ndtri(0.5 + confidence / 2.0))
    difference = (candidate_only - baseline_only) / n_rows
    edge = 1.0 - 1e-12

    def excess(delta0: float, target: float) -> float:
        return tango_statistic(n_rows, baseline_only, candidate_only, delta0) - target

    # The statistic is 0 at the estimate and decreases in delta0, so each limit is bracketed
    # between the estimate and the edge of the parameter space (or is the edge itself).
    if difference <= -edge or excess(-edge, z) <= 0.0:
        low = -1.0
    else:
        low = optimize.brentq(excess, -edge, difference, args=(z,), xtol=1e-14, rtol=1e-14)
    if difference >= edge or excess(edge, -z) >= 0.0:
        high = 1.0
    else:
        high = optimize.brentq(excess, difference, edge, args=(-z,), xtol=1e-14, rtol=1e-14)
    return float(low), float(high)


@dataclass(frozen=True)
class AccuracyTest:
    """Paired comparison of two classifiers' accuracy on the same rows.

    Attributes:
        n_rows: Number of evaluation rows.
        baseline_only_correct: Rows the baseline got right and the candidate got wrong (b).
        candidate_only_correct: Rows the candidate got right and the baseline got wrong (c).
        baseline_accuracy: Baseline accuracy on the rows.
        candidate_accuracy: Candidate accuracy on the rows.
        difference: Candidate minus baseline accuracy, ``(c - b) / n``.
        se: Estimated standard error of ``difference``, ``sqrt(((b + c) / n - d^2) / n)``;
            the unrestricted estimate, meant for power and minimum-detectable-effect work.
        p_value: Two-sided McNemar mid-p value for no difference.
        ci_low: Lower limit of Tango's score interval.
        ci_high: Upper limit of Tango's score interval.
        confidence: Confidence level of the interval.
    """

    n_rows: int
    baseline_only_correct: int
    candidate_only_correct: int
    baseline_accuracy: float
    candidate_accuracy: float
    difference: float
    se: float
    p_value: float
    ci_low: float
    ci_high: float
    confidence: float

    @property
    def identical(self) -> bool:
        """True when the two models are right and wrong on exactly the same rows."""
        return self.baseline_only_correct + self.candidate_only_correct == 0

    def _z(self, delta0: float) -> float:
        delta0 = _check_delta0(delta0)
        if not -1.0 < delta0 < 1.0:
            raise ValueError(
                f"delta0 must lie strictly between -1 and 1 for a difference of accuracies, "
                f"got {delta0!r}."
            )
        return tango_statistic(
            self.n_rows, self.baseline_only_correct, self.candidate_only_correct, delta0
        )

    def p_greater(self, delta0: float) -> float:
        """One-sided p-value of H0: difference <= delta0 against H1: difference > delta0.

        Args:
            delta0: Null value, strictly between -1 and 1 (``-margin`` for non-inferiority).

        Returns:
            ``1 - Phi(T(delta0))`` with Tango's score statistic ``T``. When the models agree on
            every row the difference is taken as exactly 0: the p-value is 0 below 0 and 1 at or
            above it.
        """
        z = self._z(delta0)
        if self.identical:
            return _degenerate_p_greater(0.0, float(delta0))
        return float(special.ndtr(-z))

    def p_less(self, delta0: float) -> float:
        """One-sided p-value of H0: difference >= delta0 against H1: difference < delta0.

        Args:
            delta0: Null value, strictly between -1 and 1.

        Returns:
            ``Phi(T(delta0))`` with Tango's score statistic ``T``; see :meth:`p_greater` for
            models that agree on every row.
        """
        z = self._z(delta0)
        if self.identical:
            return _degenerate_p_less(0.0, float(delta0))
        return float(special.ndtr(z))

    def to_dict(self) -> dict[str, object]:
        """Return the result as JSON-safe python values."""
        return {
            "test": "mcnemar-midp/tango-score",
            "n_rows": int(self.n_rows),
            "baseline_only_correct": int(self.baseline_only_correct),
            "candidate_only_correct": int(self.candidate_only_correct),
            "baseline_accuracy": _json_float(self.baseline_accuracy),
            "candidate_accuracy": _json_float(self.candidate_accuracy),
            "difference": _json_float(self.difference),
            "se": _json_float(self.se),
            "p_value": _json_float(self.p_value),
            "ci_low": _json_float(self.ci_low),
            "ci_high": _json_float(self.ci_high),
            "confidence": _json_float(self.confidence),
        }


def accuracy_test_from_counts(
    n_rows: int,
    baseline_only_correct: int,
    candidate_only_correct: int,
    both_correct: int,
    confidence: float = 0.95,
) -> AccuracyTest:
    """Paired accuracy comparison from the counts of the paired 2x2 table.

    Args:
        n_rows: Number of evaluation rows.
        baseline_only_correct: Rows only the baseline got right (b).
        candidate_only_correct: Rows only the candidate got right (c).
        both_correct: Rows both models got right.
        confidence: Confidence level of Tango's interval.

    Returns:
        The test result; see :class:`AccuracyTest`.

    Raises:
        ValueError: If a count is negative or not an integer, or the counts exceed ``n_rows``.
    """
    _check_confidence(confidence)
    counts = (n_rows, baseline_only_correct, candidate_only_correct, both_correct)
    if any(isinstance(count, bool) or int(count) != count or count < 0 for count in counts):
        raise ValueError(f"the 2x2 counts must be non-negative integers, got {counts!r}.")
    n, b, c, a = (int(count) for count in counts)
    if n == 0:
        raise ValueError("the evaluation set is empty; accuracy needs at least one row.")
    if a + b + c > n:
        raise ValueError(
            f"both_correct + baseline_only_correct + candidate_only_correct = {a + b + c} "
            f"exceeds n_rows = {n}; pass the counts of one 2x2 table."
        )
    difference = (c - b) / n
    variance = max(0.0, ((b + c) / n - difference * difference) / n)
    if b + c == 0:
        # Identical right/wrong patterns: the difference is 0 on every row, so the interval
        # collapses to the point and the two-sided p-value is 1.
        low = high = 0.0
    else:
        low, high = _tango_interval(n, b, c, confidence)
    return AccuracyTest(
        n_rows=n,
        baseline_only_correct=b,
        candidate_only_correct=c,
        baseline_accuracy=(a + b) / n,
        candidate_accuracy=(a + c) / n,
        difference=difference,
        se=math.sqrt(variance),
        p_value=mcnemar_midp(b, c),
        ci_low=low,
        ci_high=high,
        confidence=float(confidence),
    )


def accuracy_test(
    correct_baseline: ArrayLike, correct_candidate: ArrayLike, confidence: float = 0.95
) -> AccuracyTest:
    """Paired comparison of two classifiers' accuracy on the same rows.

    Args:
        correct_baseline: Per-row booleans, True where the baseline's prediction is right.
        correct_candidate: Per-row booleans for the candidate, aligned with the baseline's.
        confidence: Confidence level of Tango's interval.

    Returns:
        Discordant counts, the difference, McNemar's two-sided mid-p value, Tango's interval,
        and one-sided p-values at any null value through ``p_greater`` / ``p_less``.

    Raises:
        ValueError: If the arrays are empty, of different lengths, or not boolean/0-1.
    """
    baseline = _as_binary(correct_baseline, "correct_baseline")
    candidate = _as_binary(correct_candidate, "correct_candidate")
    if baseline.shape != candidate.shape:
        raise ValueError(
            f"correct_baseline has {baseline.size} rows but correct_candidate has "
            f"{candidate.size}; score both models on the same rows."
        )
    if baseline.size == 0:
        raise ValueError("the evaluation set is empty; accuracy needs at least one row.")
    b = int(np.count_nonzero(baseline & ~candidate))
    c = int(np.count_nonzero(~baseline & candidate))
    a = int(np.count_nonzero(baseline & candidate))
    return accuracy_test_from_counts(baseline.size, b, c, a, confidence)


# --------------------------------------------------------------------------------------------
# ROC AUC: DeLong's test with the Sun & Xu midrank algorithm
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AUCTest:
    """DeLong comparison of two correlated ROC AUCs on the same rows.

    Attributes:
        n_positive: Number of rows with label 1.
        n_negative: Number of rows with label 0.
        baseline_auc: Baseline ROC AUC.
        candidate_auc: Candidate ROC AUC.
        difference: Candidate minus baseline AUC.
        variance: DeLong's estimate of the variance of ``difference``.
        se: Square root of ``variance``.
        p_value: Two-sided normal p-value for no difference.
        ci_low: Lower limit of the Wald interval.
        ci_high: Upper limit of the Wald interval.
        confidence: Confidence level of the interval.
    """

    n_positive: int
    n_negative: int
    baseline_auc: float
    candidate_auc: float
    difference: float
    variance: float
    se: float
    p_value: float
    ci_low: float
    ci_high: float
    confidence: float

    def p_greater(self, delta0: float) -> float:
        """One-sided p-value of H0: difference <= delta0 against H1: difference > delta0.

        Args:
            delta0: Null value (``-margin`` for non-inferiority).

        Returns:
            ``1 - Phi((difference - delta0) / se)``; with a zero standard error, 0 when
            ``delta0`` is below the difference and 1 otherwise.
        """
        return _normal_p_greater(self.difference, self.se, _check_delta0(delta0))

    def p_less(self, delta0: float) -> float:
        """One-sided p-value of H0: difference >= delta0 against H1: difference < delta0.

        Args:
            delta0: Null value.

        Returns:
            ``Phi((difference - delta0) / se)``; with a zero standard error, 0 when ``delta0``
            is above the difference and 1 otherwise.
        """
        return _normal_p_less(self.difference, self.se, _check_delta0(delta0))

    def to_dict(self) -> dict[str, object]:
        """Return the result as JSON-safe python values."""
        return {
            "test": "delong",
            "n_positive": int(self.n_positive),
            "n_negative": int(self.n_negative),
            "baseline_auc": _json_float(self.baseline_auc),
            "candidate_auc": _json_float(self.candidate_auc),
            "difference": _json_float(self.difference),
            "variance": _json_float(self.variance),
            "se": _json_float(self.se),
            "p_value": _json_float(self.p_value),
            "ci_low": _json_float(self.ci_low),
            "ci_high": _json_float(self.ci_high),
            "confidence": _json_float(self.confidence),
        }


def delong_components(
    y_true: np.ndarray, scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AUCs and DeLong structural components of several scorers, by Sun and Xu's algorithm.

    Args:
        y_true: Boolean labels, shape (n,), with at least one row of each class.
        scores: Scores, shape (k, n), one row per scorer; higher means "more likely positive".

    Returns:
        ``(auc, v10, v01)``: AUCs, shape (k,); for each positive row the share of negatives it
        outranks (ties count 1/2), shape (k, n_positive); for each negative row the share of
        positives that outrank it, shape (k, n_negative).
    """
    positives = scores[:, y_true]
    negatives = scores[:, ~y_true]
    n_pos, n_neg = positives.shape[1], negatives.shape[1]
    rank_pos = stats.rankdata(positives, axis=1)
    rank_neg = stats.rankdata(negatives, axis=1)
    rank_all = stats.rankdata(np.concatenate([positives, negatives], axis=1), axis=1)
    # A positive's midrank among all rows minus its midrank among positives counts the
    # negatives below it (ties one half); likewise for negatives.
    v10 = (rank_all[:, :n_pos] - rank_pos) / n_neg
    v01 = 1.0 - (rank_all[:, n_pos:] - rank_neg) / n_pos
    auc = (rank_all[:, :n_pos].sum(axis=1) - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
    return auc, v10, v01


def auc_test(
    y_true: ArrayLike,
    score_baseline: ArrayLike,
    score_candidate: ArrayLike,
    confidence: float = 0.95,
) -> AUCTest:
    """DeLong's test of the difference between two correlated ROC AUCs.

    Args:
        y_true: Per-row labels, 0/1 or booleans, 1 marking the positive class.
        score_baseline: Baseline scores; higher means "more likely positive".
        score_candidate: Candidate scores on the same rows.
        confidence: Confidence level of the Wald interval.

    Returns:
        Both AUCs, the difference, DeLong's variance, the two-sided normal p-value, the Wald
        interval, and one-sided p-values through ``p_greater`` / ``p_less``. When the variance
        is 0 (for instance identical scores) the interval is ``[difference, difference]`` and the
        two-sided p-value is 1 if the difference is 0 (0 otherwise).

    Raises:
        ValueError: If the arrays are empty, of different lengths, hold non-finite scores or
            labels other than 0/1, or a class has fewer than two rows.
    """
    _check_confidence(confidence)
    labels = _as_binary(y_true, "y_true")
    baseline = _as_scores(score_baseline, "score_baseline")
    candidate = _as_scores(score_candidate, "score_candidate")
    if not (labels.size == baseline.size == candidate.size):
        raise ValueError(
            f"y_true, score_baseline and score_candidate have {labels.size}, {baseline.size} "
            f"and {candidate.size} rows; score both models on the same rows."
        )
    if labels.size == 0:
        raise ValueError("the evaluation set is empty; AUC needs rows of both classes.")
    n_pos = int(np.count_nonzero(labels))
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        only = "positive" if n_neg == 0 else "negative"
        raise ValueError(
            f"the evaluation set has only one class ({labels.size} {only} rows); AUC needs both."
        )
    if n_pos < 2 or n_neg < 2:
        raise ValueError(
            f"the evaluation set has {n_pos} positive and {n_neg} negative rows; DeLong's "
            f"variance needs at least two rows of each class."
        )
    auc, v10, v01 = delong_components(labels, np.stack([baseline, candidate]))
    # Variance of the difference from the differences of the components, so that identical
    # scores give exactly zero rather than a rounding residue of S11 + S22 - 2 S12.
    variance = float(
        np.var(v10[1] - v10[0], ddof=1) / n_pos + np.var(v01[1] - v01[0], ddof=1) / n_neg
    )
    se = math.sqrt(variance)
    difference = float(auc[1] - auc[0])
    if se == 0.0:
        low = high = difference
        p_value = 1.0 if difference == 0.0 else 0.0
    else:
        z = float(special.ndtri(0.5 + confidence / 2.0))
        low, high = difference - z * se, difference + z * se
        p_value = float(min(1.0, 2.0 * special.ndtr(-abs(difference) / se)))
    return AUCTest(
        n_positive=n_pos,
        n_negative=n_neg,
        baseline_auc=float(auc[0]),
        candidate_auc=float(auc[1]),
        difference=difference,
        variance=variance,
        se=se,
        p_value=p_value,
        ci_low=float(low),
        ci_high=float(high),
        confidence=float(confidence),
    )
