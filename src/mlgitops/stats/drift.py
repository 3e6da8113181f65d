"""Two-sample drift tests and effect sizes for the scheduled drift check.

The drift job compares a fresh production batch with the training data of the deployed model,
feature by feature. The training side is summarised once, at training time, into a reference
(``numeric_reference`` / ``categorical_reference``) that is cheap to store in the model's
profile; the job then tests each batch against that summary (``numeric_drift`` /
``categorical_drift``) without the training data and without a retrain.

Every test returns a raw p-value that is calibrated under "no drift": the per-feature false-alarm
rate P(p < alpha) stays at alpha (see ``tests/unit/stats/test_drift_calibration.py`` and
``docs/bench/drift.md``). Multiplicity across features is the caller's job (Holm or BH on the
returned p-values). Effect sizes (normalised Wasserstein, PSI, bias-corrected Cohen's w,
Cramér's V, Jensen-Shannon) are reported next to the p-values so that a tiny but significant
shift on a large batch can be told apart from a large one.

Conditions that make a test undefined or suspicious never produce NaN or an exception; they are
reported as flags (``FLAG_*``), the most severe of which is the result's ``status``.

Nulls: for numeric features NaN, None and +/-inf are all counted as null (a non-finite value has
no place on the real line the tests work on); for categorical features None, NaN and NA-like
values (anything that is not equal to itself) are null. The distribution tests always run on the
non-null values; the null rate has its own two-sample test.

Cost: a numeric column costs one sort of the batch and two binary-search merges, about 0.17 s at
1M vs 1M rows; a categorical column one hash count of the batch. The KS p-value is scipy's, and
so is its price: with an effective size n_ref * n_cur / (n_ref + n_cur) between 10^4 and 10^6
and a p-value between about 1e-160 and 0.03, ``scipy.stats.kstwo.sf`` sums the exact Smirnov
series (about 0.4 s at 1M vs 1M); with both sides at most 10,000 the exact two-sample p-value
of a strongly drifted, unequal-size pair can take up to 0.5 s. Everything here is pure (no
global state), so columns can be tested on a thread pool.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special, stats

__all__ = [
    "FLAG_ALL_NULL_CURRENT",
    "FLAG_ALL_NULL_REFERENCE",
    "FLAG_CONSTANT_REFERENCE",
    "FLAG_NEW_NULLS",
    "FLAG_TOO_FEW_ROWS",
    "FLAG_UNSEEN_CATEGORIES",
    "STATUS_OK",
    "CategoricalDrift",
    "CategoricalReference",
    "CategoryCount",
    "NullRateTest",
    "NumericDrift",
    "NumericReference",
    "categorical_drift",
    "categorical_reference",
    "cohens_w",
    "expected_psi",
    "numeric_drift",
    "numeric_reference",
    "psi_no_drift_bound",
]

STATUS_OK = "ok"
FLAG_ALL_NULL_REFERENCE = "all_null_reference"
FLAG_ALL_NULL_CURRENT = "all_null_current"
FLAG_TOO_FEW_ROWS = "too_few_rows"
FLAG_CONSTANT_REFERENCE = "constant_reference"
FLAG_NEW_NULLS = "new_nulls"
FLAG_UNSEEN_CATEGORIES = "unseen_categories"

# Most severe first: ``status`` is the first flag of this order that is raised.
_FLAG_ORDER = (
    FLAG_ALL_NULL_REFERENCE,
    FLAG_ALL_NULL_CURRENT,
    FLAG_TOO_FEW_ROWS,
    FLAG_CONSTANT_REFERENCE,
    FLAG_NEW_NULLS,
    FLAG_UNSEEN_CATEGORIES,
)

DEFAULT_MIN_ROWS = 10
DEFAULT_MIN_EXPECTED = 5.0
DEFAULT_PSI_BINS = 10
DEFAULT_MAX_LISTED = 100
# Share given to an empty PSI bin before renormalising; the usual convention of PSI tools.
PSI_EPSILON = 1e-4
#: The level of the PSI's no-drift bound (``psi_no_drift_bound``).
PSI_BOUND_LEVEL = 0.95
# scipy.stats.ks_2samp(method="auto") computes the exact p-value up to this size on both sides.
_KS_EXACT_MAX_N = 10_000


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


def _finite_or_none(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _status(flags: tuple[str, ...]) -> str:
    return flags[0] if flags else STATUS_OK


def _ordered_flags(raised: set[str]) -> tuple[str, ...]:
    return tuple(flag for flag in _FLAG_ORDER if flag in raised)


def _check_count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}.")
    return int(value)


def _check_min_rows(min_rows: int) -> int:
    if isinstance(min_rows, bool) or not isinstance(min_rows, (int, np.integer)) or min_rows < 1:
        raise ValueError(f"min_rows must be an integer of at least 1, got {min_rows!r}.")
    return int(min_rows)


@dataclass(frozen=True)
class NullRateTest:
    """Two-sample test that the null rate is the same in reference and current.

    Pearson's chi-square on the 2 x 2 null/non-null table (the pooled two-proportion z-test,
    squared) when every expected cell count is at least ``min_expected``; Fisher's exact test
    otherwise, since the z-test is anti-conservative for rare nulls.

    Attributes:
        method: ``"two_proportion_z"`` or ``"fisher_exact"``.
        statistic: The z statistic (current minus reference null share, pooled standard error)
            for the z-test; the sample odds ratio for Fisher's test (None when infinite).
        p_value: Two-sided p-value.
    """

    method: str
    statistic: float | None
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dictionary."""
        return {
            "method": self.method,
            "statistic": _finite_or_none(self.statistic),
            "p_value": float(self.p_value),
        }


def _null_rate_test(
    null_ref: int, rows_ref: int, null_cur: int, rows_cur: int, min_expected: float
) -> NullRateTest | None:
    # Undefined when a margin is empty: no rows on a side, or no nulls (or only nulls) anywhere.
    nulls = null_ref + null_cur
    rows = rows_ref + rows_cur
    if rows_ref == 0 or rows_cur == 0 or nulls == 0 or nulls == rows:
        return None
    table = np.array(
        [[null_ref, rows_ref - null_ref], [null_cur, rows_cur - null_cur]], dtype=np.float64
    )
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / rows
    if expected.min() >= min_expected:
        share_ref = null_ref / rows_ref
        share_cur = null_cur / rows_cur
        pooled = nulls / rows
        z = (share_cur - share_ref) / math.sqrt(
            pooled * (1 - pooled) * (1 / rows_ref + 1 / rows_cur)
        )
        p_value = float(special.ndtr(-abs(z)) * 2)
        return NullRateTest("two_proportion_z", float(z), min(1.0, p_value))
    result = stats.fisher_exact(table.astype(np.int64))
    return NullRateTest(
        "fisher_exact", _finite_or_none(result.statistic), float(np.clip(result.pvalue, 0, 1))
    )


# --------------------------------------------------------------------------------------------
# Numeric features
# --------------------------------------------------------------------------------------------


def _as_float_array(values: Any, name: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"{name} must hold numbers (None or NaN for missing values); convert it or use the "
            f"categorical test: {error}."
        ) from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}.")
    return array


def _psi_counts(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    # Bins are right-closed, (e[i-1], e[i]], with open ends, so a tie on an edge always lands in
    # the same bin on both sides.
    cumulative = np.searchsorted(sorted_values, edges, side="right")
    return np.diff(np.concatenate(([0], cumulative, [sorted_values.size])))


def _smooth(shares: np.ndarray) -> np.ndarray:
    smoothed = np.where(shares > 0, shares, PSI_EPSILON)
    return smoothed / smoothed.sum()


@dataclass(frozen=True)
class NumericReference:
    """Stored summary of a numeric feature's training data.

    Attributes:
        values: Sorted finite reference values (possibly a seeded subsample of the training
            data) used by the Kolmogorov-Smirnov test and the Wasserstein distance.
        n: Number of finite values in the full training data.
        n_null: Number of null or non-finite values in the full training data.
        mean: Mean of the finite training values (None when there are none).
        std: Population standard deviation (ddof=0) of the finite training values; exactly 0.0
            for a constant column; None when there are no finite values.
        psi_edges: Interior PSI bin edges, strictly increasing, on reference quantiles; the bins
            are (-inf, e1], (e1, e2], ..., (ek, inf).
        psi_shares: Reference share of each PSI bin (unsmoothed), one more than the edges.
    """

    values: np.ndarray = field(repr=False, compare=False)
    n: int
    n_null: int
    mean: float | None
    std: float | None
    psi_edges: tuple[float, ...]
    psi_shares: tuple[float, ...]

    def __post_init__(self) -> None:
        values = np.array(self.values, dtype=np.float64)
        if values.ndim != 1:
            raise ValueError(f"values must be one-dimensional, got shape {values.shape}.")
        if not np.all(np.isfinite(values)) or np.any(values[1:] < values[:-1]):
            raise ValueError("values must be finite and sorted; build it with numeric_reference.")
        n = _check_count(self.n, "n")
        n_null = _check_count(self.n_null, "n_null")
        if n + n_null == 0:
            raise ValueError("The reference has no rows; build it from the training column.")
        if values.size > n or (n > 0 and values.size == 0):
            raise ValueError(f"values must hold between 1 and n={n} values, got {values.size}.")
        if n > 0 and (self.mean is None or self.std is None or not self.std >= 0):
            raise ValueError("mean and a non-negative std are required when n > 0.")
        if len(self.psi_shares) != (len(self.psi_edges) + 1 if n else 0):
            raise ValueError("psi_shares must have one more entry than psi_edges (none if n=0).")
        edges = np.asarray(self.psi_edges, dtype=np.float64)
        if np.any(edges[1:] <= edges[:-1]) or not np.all(np.isfinite(edges)):
            raise ValueError("psi_edges must be finite and strictly increasing.")
        values.setflags(write=False)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "n", n)
        object.__setattr__(self, "n_null", n_null)
        object.__setattr__(self, "psi_edges", tuple(float(e) for e in self.psi_edges))
        object.__setattr__(self, "psi_shares", tuple(float(s) for s in self.psi_shares))

    @property
    def is_constant(self) -> bool:
        """Whether the reference has a single distinct finite value."""
        return self.n > 0 and self.std == 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dictionary that ``from_dict`` turns back into this reference."""
        return {
            "values": self.values.tolist(),
            "n": self.n,
            "n_null": self.n_null,
            "mean": _finite_or_none(self.mean),
            "std": _finite_or_none(self.std),
            "psi_edges": list(self.psi_edges),
            "psi_shares": list(self.psi_shares),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NumericReference:
        """Rebuild a reference from ``to_dict`` output (for example a stored profile).

        Args:
            data: Mapping with the keys written by ``to_dict``.

        Returns:
            The reference.

        Raises:
            ValueError: If a key is missing or a value is inconsistent.
        """
        missing = {"values", "n", "n_null", "mean", "std", "psi_edges", "psi_shares"} - set(data)
        if missing:
            raise ValueError(f"Numeric reference is missing {sorted(missing)}; re-profile it.")
        return cls(
            values=np.asarray(data["values"], dtype=np.float64),
            n=data["n"],
            n_null=data["n_null"],
            mean=data["mean"],
            std=data["std"],
            psi_edges=tuple(data["psi_edges"]),
            psi_shares=tuple(data["psi_shares"]),
        )


def numeric_reference(
    values: Any,
    psi_bins: int = DEFAULT_PSI_BINS,
    *,
    max_values: int | None = None,
    seed: int = 0,
) -> NumericReference:
    """Summarise a numeric training column for later drift tests.

    Args:
        values: One-dimensional numbers; NaN, None and +/-inf count as null.
        psi_bins: Number of PSI bins on reference quantiles; ties can merge bins, so the stored
            reference may have fewer.
        max_values: If given, keep at most this many values (a seeded simple random sample
            without replacement) for the KS test and the Wasserstein distance, so the stored
            profile stays small. ``n``, ``mean``, ``std`` and the PSI bins still use every value.
        seed: Seed of that subsample.

    Returns:
        The reference summary.

    Raises:
        ValueError: If ``values`` is empty, not one-dimensional or not numeric, or an argument
            is out of range.
    """
    if isinstance(psi_bins, bool) or not isinstance(psi_bins, (int, np.integer)) or psi_bins < 1:
        raise ValueError(f"psi_bins must be an integer of at least 1, got {psi_bins!r}.")
    if max_values is not None and (
        isinstance(max_values, bool)
        or not isinstance(max_values, (int, np.integer))
        or max_values < 1
    ):
        raise ValueError(f"max_values must be a positive integer or None, got {max_values!r}.")
    array = _as_float_array(values, "values")
    if array.size == 0:
        raise ValueError("values is empty; a reference needs the training column's rows.")
    finite = np.isfinite(array)
    n = int(finite.sum())
    n_null = int(array.size - n)
    if n == 0:
        return NumericReference(np.empty(0), 0, n_null, None, None, (), ())
    data = np.sort(array[finite])
    if data[0] == data[-1]:
        # np.std of a constant column can be 1e-17 instead of 0; the status must not depend on it.
        mean, std = float(data[0]), 0.0
    else:
        mean, std = float(np.mean(data)), float(np.std(data))
    probabilities = np.arange(1, psi_bins) / psi_bins
    # Edges are reference values (no interpolation), so ties collapse bins instead of leaving
    # empty slivers between a tied value and its neighbour.
    edges = np.unique(np.quantile(data, probabilities, method="inverted_cdf"))
    shares = _psi_counts(data, edges) / n
    sample = data
    if max_values is not None and n > max_values:
        rng = np.random.default_rng(seed)
        sample = np.sort(data[rng.choice(n, size=max_values, replace=False)])
    return NumericReference(
        values=sample,
        n=n,
        n_null=n_null,
        mean=mean,
        std=std,
        psi_edges=tuple(edges.tolist()),
        psi_shares=tuple(shares.tolist()),
    )


def expected_psi(n_ref: int, n_cur: int, bins: int) -> float:
    """Expected PSI between two samples of the same distribution.

    With bins on reference quantiles, n_ref * n_cur / (n_ref + n_cur) * PSI is asymptotically
    chi-square with bins - 1 degrees of freedom under no drift, so its mean is about
    (bins - 1) * (1 / n_ref + 1 / n_cur). A PSI near this value is sampling noise at these
    sizes, whatever fixed threshold (0.1, 0.25) a rule of thumb suggests.

    Args:
        n_ref: Reference sample size.
        n_cur: Current sample size.
        bins: Number of PSI bins.

    Returns:
        The expected PSI under no drift.

    Raises:
        ValueError: If an argument is not a positive integer.
    """
    for name, value in (("n_ref", n_ref), ("n_cur", n_cur), ("bins", bins)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return float((bins - 1) * (1.0 / n_ref + 1.0 / n_cur))


def psi_no_drift_bound(n_ref: int, n_cur: int, bins: int, level: float = PSI_BOUND_LEVEL) -> float:
    """The PSI that sampling noise alone stays below with probability ``level``.

    Under no drift n_ref * n_cur / (n_ref + n_cur) * PSI is asymptotically chi-square with
    bins - 1 degrees of freedom (see ``expected_psi``), so its ``level`` quantile is
    ``chi2.ppf(level, bins - 1) * (1 / n_ref + 1 / n_cur)``. A PSI below it is what noise gives
    in ``level`` of batches of these sizes; only a PSI above it says something moved (the KS
    test, not the PSI, is the calibrated test).

    Args:
        n_ref: Reference sample size.
        n_cur: Current sample size.
        bins: Number of PSI bins.
        level: Probability, strictly between 0 and 1.

    Returns:
        The no-drift bound of the PSI.

    Raises:
        ValueError: If an argument is out of range.
    """
    expected_psi(n_ref, n_cur, bins)  # validates the sizes
    if not 0 < level < 1:
        raise ValueError(f"level must be strictly between 0 and 1, got {level!r}.")
    if bins == 1:
        return 0.0
    return float(stats.chi2.ppf(level, bins - 1) * (1.0 / n_ref + 1.0 / n_cur))


def _ecdf_distances(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float]:
    """Sup and integral of |F_ref - F_cur| for two sorted samples, in O(n) after two searches.

    The sup is evaluated at every sample point exactly as ``scipy.stats.ks_2samp`` does (right
    counts divided by n), so it matches it bit for bit; the integral is the Wasserstein-1
    distance of ``scipy.stats.wasserstein_distance`` up to summation order.
    """
    n1, n2 = ref.size, cur.size
    refs_le_cur = np.searchsorted(ref, cur, side="right")
    curs_le_ref = np.searchsorted(cur, ref, side="right")
    # Only the last point of a run of ties carries the right count of its value.
    cur_end = np.empty(n2, dtype=bool)
    cur_end[-1] = True
    np.not_equal(cur[1:], cur[:-1], out=cur_end[:-1])
    ref_end = np.empty(n1, dtype=bool)
    ref_end[-1] = True
    np.not_equal(ref[1:], ref[:-1], out=ref_end[:-1])
    # F_ref - F_cur at each point: identical arithmetic to ks_2samp's (count / n - count / n).
    diff_cur = refs_le_cur / n1
    diff_cur -= np.arange(1, n2 + 1) / n2
    diff_ref = np.arange(1, n1 + 1) / n1
    diff_ref -= curs_le_ref / n2
    at_cur = diff_cur if cur_end.all() else diff_cur[cur_end]
    at_ref = diff_ref if ref_end.all() else diff_ref[ref_end]
    sup = max(
        float(np.max(at_cur)),
        float(np.max(at_ref)),
        float(-np.min(at_cur)),
        float(-np.min(at_ref)),
        0.0,
    )

    # Each distinct point x of the pooled sample opens the interval [x, next pooled point) on
    # which both ECDFs are constant. A point of ``cur`` covers its interval; a point of ``ref``
    # covers it only when no point of ``cur`` has the same value (else it would count twice).
    # Inside a run of ties the interval is empty, so the counts there do not matter.
    top = max(ref[-1], cur[-1])
    ref_pad = np.append(ref, top)
    cur_pad = np.append(cur, top)
    width = np.minimum(cur_pad[1:], ref_pad[refs_le_cur])
    width -= cur
    # np.sum of the product rather than np.dot: BLAS thread start-up dominates at these sizes.
    area = float(np.sum(np.abs(diff_cur, out=diff_cur) * width))
    below = np.concatenate(([-np.inf], cur))  # below[k] is cur[k - 1]
    width = np.minimum(ref_pad[1:], cur_pad[curs_le_ref])
    width -= ref
    width *= below[curs_le_ref] != ref
    area += float(np.sum(np.abs(diff_ref, out=diff_ref) * width))
    return sup, area


def _ks_asymptotic(sup: float, n1: int, n2: int) -> float:
    # ks_2samp's asymptotic branch: Smirnov's distribution at the rounded effective size.
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    return float(np.clip(stats.kstwo.sf(sup, np.round(en)), 0, 1))


def _ks_test(ref: np.ndarray, cur: np.ndarray, sup: float) -> tuple[float, float, str]:
    n1, n2 = ref.size, cur.size
    if max(n1, n2) <= _KS_EXACT_MAX_N:
        # scipy's exact path (lattice-path counting) is private API; at these sizes re-sorting
        # the already sorted samples inside ks_2samp costs well under a millisecond. When the
        # exact computation overflows, scipy switches to the asymptotic p-value (with a
        # RuntimeWarning, which catching would need warnings.catch_warnings: process-wide state,
        # not thread-safe). The method is told from the result instead: scipy's fallback is the
        # asymptotic formula on D (rounded to the lattice of the exact computation), and an
        # exact p-value strictly inside (0, 1) equal to it bit for bit does not happen.
        result = stats.ks_2samp(ref, cur)
        statistic, p_value = float(result.statistic), float(result.pvalue)
        lcm = (n1 // math.gcd(n1, n2)) * n2
        candidates = {sup, statistic, round(statistic * lcm) / lcm}
        fell_back = 0.0 < p_value < 1.0 and any(
            p_value == _ks_asymptotic(d, n1, n2) for d in candidates
        )
        return statistic, p_value, "asymp" if fell_back else "exact"
    # Same formula as ks_2samp's asymptotic branch, without sorting again.
    return sup, _ks_asymptotic(sup, n1, n2), "asymp"


@dataclass(frozen=True)
class NumericDrift:
    """Drift of a numeric feature (or of the model's scores) against its reference.

    Attributes:
        status: ``"ok"`` or the most severe of ``flags``.
        flags: Every condition raised, most severe first (``FLAG_*`` values).
        n_reference: Finite values in the full reference.
        n_current: Finite values in the current batch.
        null_share_reference: Share of null/non-finite values in the reference rows.
        null_share_current: Share of null/non-finite values in the current rows (None for an
            empty batch).
        null_test: Test of equal null rates (None when no side has nulls or a side has no rows).
        ks_statistic: Two-sample Kolmogorov-Smirnov statistic D.
        p_value: Two-sided KS p-value, equal to ``scipy.stats.ks_2samp`` (method "auto") on
            ``reference.values`` and the finite current values; None when the test did not run.
        ks_method: The method scipy's "auto" used: ``"exact"`` (both sides at most 10,000
            values, and the exact computation did not overflow) or ``"asymp"`` (larger samples,
            or scipy's fallback when the exact computation fails). At a p-value of exactly 0 or
            1 the two cannot be told apart; it then reads ``"exact"``.
        wasserstein: Wasserstein-1 distance between the two samples, in the feature's units.
        wasserstein_normalized: ``wasserstein`` divided by the reference std; None for a
            constant reference.
        psi: Population stability index on the reference's quantile bins (empty bins smoothed
            to ``PSI_EPSILON`` and renormalised).
        psi_expected: Expected PSI under no drift at these sample sizes (``expected_psi``).
        psi_bound: The PSI that noise alone stays below in 95 % of batches of these sizes
            (``psi_no_drift_bound``).
        psi_bins: Number of PSI bins actually used.
        mean_reference: Reference mean.
        mean_current: Mean of the finite current values.
        std_reference: Reference population std.
        std_current: Population std of the finite current values.
        min_rows: Minimum finite rows per side for the tests to run.
    """

    status: str
    flags: tuple[str, ...]
    n_reference: int
    n_current: int
    null_share_reference: float
    null_share_current: float | None
    null_test: NullRateTest | None
    ks_statistic: float | None
    p_value: float | None
    ks_method: str | None
    wasserstein: float | None
    wasserstein_normalized: float | None
    psi: float | None
    psi_expected: float | None
    psi_bound: float | None
    psi_bins: int | None
    mean_reference: float | None
    mean_current: float | None
    std_reference: float | None
    std_current: float | None
    min_rows: int

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dictionary (floats or None, never NaN or inf)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name == "flags":
                value = list(value)
            elif name == "null_test":
                value = None if value is None else value.to_dict()
            elif isinstance(value, float):
                value = _finite_or_none(value)
            out[name] = value
        return out


def numeric_drift(
    reference: NumericReference,
    current: Any,
    *,
    min_rows: int = DEFAULT_MIN_ROWS,
    min_expected: float = DEFAULT_MIN_EXPECTED,
) -> NumericDrift:
    """Test a current batch of a numeric feature against its reference.

    Runs the two-sample Kolmogorov-Smirnov test (the p-value), and reports the normalised
    Wasserstein-1 distance and the PSI as effect sizes. The current batch is sorted once and the
    sort is shared by all three. Model scores (for example probabilities in [0, 1] with many
    ties) go through this path unchanged.

    Args:
        reference: Summary of the training column from ``numeric_reference``.
        current: One-dimensional numbers of the batch; NaN, None and +/-inf count as null.
        min_rows: Below this many finite values on either side the tests do not run and the
            result is flagged ``too_few_rows``; the tests are valid for any size, but tiny
            samples give no power and noisy effect sizes.
        min_expected: Smallest expected count of the null-rate test's 2 x 2 table for its
            z-test; below it Fisher's exact test is used.

    Returns:
        The drift result.

    Raises:
        ValueError: If ``current`` is not one-dimensional numbers, or ``min_rows`` or
            ``min_expected`` is invalid.
    """
    if not isinstance(reference, NumericReference):
        raise ValueError("reference must be a NumericReference; build it with numeric_reference.")
    min_rows = _check_min_rows(min_rows)
    if not (isinstance(min_expected, (int, float)) and min_expected > 0):
        raise ValueError(f"min_expected must be a positive number, got {min_expected!r}.")
    array = _as_float_array(current, "current")
    finite = np.isfinite(array)
    cur = array[finite]  # boolean indexing copies: sort the copy in place, not a second one
    cur.sort()
    rows_cur = int(array.size)
    n_cur = int(cur.size)
    null_cur = rows_cur - n_cur
    rows_ref = reference.n + reference.n_null

    raised: set[str] = set()
    if reference.n == 0:
        raised.add(FLAG_ALL_NULL_REFERENCE)
    if rows_cur == 0:
        raised.add(FLAG_TOO_FEW_ROWS)
    elif n_cur == 0:
        raised.add(FLAG_ALL_NULL_CURRENT)
    elif reference.n > 0 and min(n_cur, reference.values.size) < min_rows:
        raised.add(FLAG_TOO_FEW_ROWS)
    if reference.is_constant:
        raised.add(FLAG_CONSTANT_REFERENCE)
    if reference.n_null == 0 and null_cur > 0:
        raised.add(FLAG_NEW_NULLS)
    flags = _ordered_flags(raised)
    testable = not raised & {FLAG_ALL_NULL_REFERENCE, FLAG_ALL_NULL_CURRENT, FLAG_TOO_FEW_ROWS}

    ks_statistic = p_value = wasserstein = w_norm = psi = psi_exp = psi_bound = None
    ks_method = None
    psi_bins = None
    if testable:
        ref = reference.values
        sup, wasserstein = _ecdf_distances(ref, cur)
        ks_statistic, p_value, ks_method = _ks_test(ref, cur, sup)
        if reference.std:
            w_norm = wasserstein / reference.std
        edges = np.asarray(reference.psi_edges)
        p_ref = _smooth(np.asarray(reference.psi_shares))
        p_cur = _smooth(_psi_counts(cur, edges) / n_cur)
        psi = float(np.sum((p_cur - p_ref) * np.log(p_cur / p_ref)))
        psi_bins = int(p_ref.size)
        psi_exp = expected_psi(reference.n, n_cur, psi_bins)
        psi_bound = psi_no_drift_bound(reference.n, n_cur, psi_bins)

    return NumericDrift(
        status=_status(flags),
        flags=flags,
        n_reference=reference.n,
        n_current=n_cur,
        null_share_reference=reference.n_null / rows_ref,
        null_share_current=null_cur / rows_cur if rows_cur else None,
        null_test=_null_rate_test(
            reference.n_null, rows_ref, null_cur, rows_cur, float(min_expected)
        ),
        ks_statistic=ks_statistic,
        p_value=p_value,
        ks_method=ks_method,
        wasserstein=wasserstein,
        wasserstein_normalized=w_norm,
        psi=psi,
        psi_expected=psi_exp,
        psi_bound=psi_bound,
        psi_bins=psi_bins,
        mean_reference=reference.mean,
        mean_current=float(np.mean(cur)) if n_cur else None,
        std_reference=reference.std,
        std_current=float(np.std(cur)) if n_cur else None,
        min_rows=min_rows,
    )


# --------------------------------------------------------------------------------------------
# Categorical features
# --------------------------------------------------------------------------------------------


def _is_null(key: Any) -> bool:
    if key is None:
        return True
    try:
        # NaN, NaT and NA-like values are the ones not equal to themselves.
        return bool(key != key)
    except (TypeError, ValueError):
        # pandas.NA: ``NA != NA`` is NA, whose truth value raises.
        return True


def _python_scalar(key: Any) -> Any:
    return key.item() if isinstance(key, np.generic) else key


def _sort_key(item: tuple[Any, int]) -> tuple[int, str, str]:
    category, count = item
    return (-count, type(category).__name__, repr(category))


def _count_categories(values: Any, name: str) -> tuple[dict[Any, int], int]:
    """Counts of non-null categories and the null count, from values or a counts mapping."""
    counts: dict[Any, int] = {}
    n_null = 0
    if isinstance(values, Mapping):
        items: Any = values.items()
    else:
        array = values if isinstance(values, np.ndarray) else np.asarray(values, dtype=object)
        if array.ndim != 1:
            raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}.")
        if array.dtype.kind == "f":
            nulls = np.isnan(array)
            n_null = int(nulls.sum())
            array = array[~nulls]
        if (
            array.dtype.kind in "biu"
            and array.size
            and array.min() >= 0
            and array.max() <= (4 * array.size + 1024)
        ):
            # Small non-negative codes (labels, booleans): counting by index is the fastest.
            freq = np.bincount(array.astype(np.intp, copy=False))
            labels = np.flatnonzero(freq)
            if array.dtype.kind == "b":
                items = zip(labels.astype(bool).tolist(), freq[labels].tolist(), strict=True)
            else:
                items = zip(labels.tolist(), freq[labels].tolist(), strict=True)
        elif array.dtype.kind in "biuf":
            uniques, freq = np.unique(array, return_counts=True)
            items = zip(uniques.tolist(), freq.tolist(), strict=True)
        else:
            # A hash map beats np.unique's sort on strings and objects by a wide margin.
            items = Counter(array.tolist()).items()
    for key, count in items:
        count = _check_count(count, f"the count of {key!r} in {name}")
        if _is_null(key):
            n_null += count
        elif count:
            key = _python_scalar(key)
            counts[key] = counts.get(key, 0) + count
    return counts, n_null


@dataclass(frozen=True)
class CategoryCount:
    """A category with its count and its share of the side's non-null rows."""

    category: Any
    count: int
    share: float

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dictionary."""
        return {"category": _json_category(self.category), "count": self.count, "share": self.share}


def _json_category(category: Any) -> Any:
    if isinstance(category, bool | int | str) or category is None:
        return category
    if isinstance(category, float) and math.isfinite(category):
        return category
    return str(category)


@dataclass(frozen=True)
class CategoricalReference:
    """Stored summary of a categorical feature's training data.

    Attributes:
        categories: Non-null categories, most frequent first (ties in a fixed order).
        counts: Count of each category, aligned with ``categories``.
        n_null: Number of null rows.
    """

    categories: tuple[Any, ...]
    counts: tuple[int, ...]
    n_null: int

    def __post_init__(self) -> None:
        if len(self.categories) != len(self.counts):
            raise ValueError("categories and counts must have the same length.")
        counts = tuple(_check_count(c, "a category count") for c in self.counts)
        categories = tuple(_python_scalar(c) for c in self.categories)
        if any(_is_null(c) for c in categories):
            raise ValueError("categories must not contain nulls; count them in n_null instead.")
        if len(set(categories)) != len(categories):
            raise ValueError("categories must be distinct; merge the counts of duplicates.")
        n_null = _check_count(self.n_null, "n_null")
        if sum(counts) + n_null == 0:
            raise ValueError("The reference has no rows; build it from the training column.")
        object.__setattr__(self, "categories", categories)
        object.__setattr__(self, "counts", counts)
        object.__setattr__(self, "n_null", n_null)

    @property
    def n(self) -> int:
        """Number of non-null reference rows."""
        return sum(self.counts)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dictionary that ``from_dict`` turns back into this reference.

        Categories that are not JSON scalars (for example dates) are written as strings.
        """
        return {
            "categories": [_json_category(c) for c in self.categories],
            "counts": list(self.counts),
            "n_null": self.n_null,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CategoricalReference:
        """Rebuild a reference from ``to_dict`` output (for example a stored profile).

        Args:
            data: Mapping with the keys written by ``to_dict``.

        Returns:
            The reference.

        Raises:
            ValueError: If a key is missing or a value is inconsistent.
        """
        missing = {"categories", "counts", "n_null"} - set(data)
        if missing:
            raise ValueError(f"Categorical reference is missing {sorted(missing)}; re-profile it.")
        return cls(tuple(data["categories"]), tuple(data["counts"]), data["n_null"])


def categorical_reference(values: Any) -> CategoricalReference:
    """Summarise a categorical training column for later drift tests.

    Args:
        values: One-dimensional category values (strings, integers, booleans...), or a mapping
            from category to count; None, NaN and NA-like values count as null.

    Returns:
        The reference summary.

    Raises:
        ValueError: If ``values`` is empty, not one-dimensional, or a count is not a
            non-negative integer.
    """
    counts, n_null = _count_categories(values, "values")
    if not counts and n_null == 0:
        raise ValueError("values is empty; a reference needs the training column's rows.")
    ordered = sorted(counts.items(), key=_sort_key)
    return CategoricalReference(
        categories=tuple(c for c, _ in ordered),
        counts=tuple(n for _, n in ordered),
        n_null=n_null,
    )


def _pool_rare(
    totals: np.ndarray, min_row: int, grand_total: int, min_expected: float
) -> tuple[np.ndarray, np.ndarray]:
    """Columns kept as they are, and the columns merged into one pooled cell.

    A column's smallest expected count in the 2 x K table is min_row * total / grand_total. The
    columns below ``min_expected`` are merged; while the merged cell is itself below it, the
    smallest kept column joins it. Pooling looks at the column totals only, which under no drift
    carry no information about the split between the rows, so it does not bias the test.
    """
    expected = min_row * totals / grand_total
    rare = expected < min_expected
    if not rare.any():
        return np.flatnonzero(~rare), np.empty(0, dtype=np.intp)
    kept = np.flatnonzero(~rare)
    kept = kept[np.argsort(totals[kept], kind="stable")]
    pooled = list(np.flatnonzero(rare))
    pooled_total = int(totals[rare].sum())
    start = 0
    while min_row * pooled_total / grand_total < min_expected and start < kept.size:
        pooled.append(kept[start])
        pooled_total += int(totals[kept[start]])
        start += 1
    return np.sort(kept[start:]), np.asarray(pooled, dtype=np.intp)


def _chi2_homogeneity(table: np.ndarray) -> tuple[float, int, float]:
    # Pearson's statistic on the 2 x K contingency table, as chi2_contingency(correction=False).
    rows = table.sum(axis=1)
    cols = table.sum(axis=0)
    expected = np.outer(rows, cols) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    dof = table.shape[1] - 1
    return statistic, dof, float(stats.chi2.sf(statistic, dof))


def cohens_w(statistic: float, dof: int, n_ref: int, n_cur: int) -> float:
    """Bias-corrected Cohen's w of a two-sample (2 x K) chi-square: the categorical effect size.

    ``w = sqrt(max(0, (chi2 - dof) / n_h))`` with the harmonic size
    ``n_h = n_ref * n_cur / (n_ref + n_cur)``.

    Why this one: on a 2 x K table Pearson's statistic is exactly
    ``n_h * sum_i (p_i - q_i) ** 2 / m_i`` (p, q the two sides' shares, m the pooled shares),
    so ``chi2 / n_h`` estimates the chi-square distance ``w ** 2 = sum_i (p_i - q_i) ** 2 / m_i``
    between the two distributions, a quantity that does not depend on the sample sizes (for
    categories present on both sides; m leans towards the larger side, which matters only for
    a category one side lacks, a change that is large whatever the weights). Under no drift
    ``E[chi2] = dof``, so ``(chi2 - dof) / n_h`` is an unbiased estimate of ``w ** 2`` at every
    sample size and number of categories: no drift gives ~0, where the Jensen-Shannon distance
    of two samples has a no-drift value that grows with the number of categories and shrinks
    with the sizes (0.09 at 8 categories and 300 vs 300 rows, 0.44 at 300 categories and 500 vs
    500). Cramér's V is not used because it carries the size imbalance:
    ``V ** 2 = chi2 / (n_ref + n_cur)`` shrinks by ``n_ref * n_cur / (n_ref + n_cur) ** 2``
    (about 4 times smaller at 24,421 vs 500 than at equal sizes, for the same change).

    Its noise under no drift is what is left: about ``0.41 * (2 * dof) ** 0.25 / sqrt(n_h)`` on
    average (0.06 at 8 categories and 300 vs 300 rows, 0.045 at 100 categories and 2,000 vs
    2,000), which the p-value gate absorbs. Scale (Cohen): 0.1 small, 0.3 medium, 0.5 large.
    Moving 2 points of a 70 % category to the others gives w = 0.04; 15 points, 0.31; a new
    category taking 5 % of an equal-size batch, 0.32.

    Args:
        statistic: Pearson's chi-square of the (pooled) 2 x K table.
        dof: Its degrees of freedom (K - 1).
        n_ref: Reference rows in the table.
        n_cur: Current rows in the table.

    Returns:
        The effect size, 0 or more.

    Raises:
        ValueError: If a size is not positive.
    """
    if n_ref < 1 or n_cur < 1:
        raise ValueError(f"both sides need rows, got {n_ref!r} and {n_cur!r}.")
    harmonic = n_ref * n_cur / (n_ref + n_cur)
    return math.sqrt(max(0.0, (statistic - dof) / harmonic))


def _cramers_v_corrected(statistic: float, n: int, rows: int, cols: int) -> float | None:
    # Bergsma (2013): remove the chi-square's expected value under independence from phi^2 and
    # shrink the table dimensions accordingly, so V is ~0 under no drift at any sample size.
    if n < 2:
        return None
    phi2 = max(0.0, statistic / n - (cols - 1) * (rows - 1) / (n - 1))
    rows_c = rows - (rows - 1) ** 2 / (n - 1)
    cols_c = cols - (cols - 1) ** 2 / (n - 1)
    denominator = min(rows_c - 1, cols_c - 1)
    if denominator <= 0:
        return None
    return math.sqrt(phi2 / denominator)


def _jensen_shannon(p: np.ndarray, q: np.ndarray) -> float:
    # scipy.spatial.distance.jensenshannon(p, q, base=2), step for step, but clipped at 0 so
    # rounding cannot take the square root of a tiny negative number.
    p = p / np.sum(p)
    q = q / np.sum(q)
    m = (p + q) / 2.0
    js = np.sum(special.rel_entr(p, m)) + np.sum(special.rel_entr(q, m))
    return float(np.sqrt(max(0.0, js / np.log(2.0)) / 2.0))


@dataclass(frozen=True)
class CategoricalDrift:
    """Drift of a categorical feature (or of predicted labels) against its reference.

    Attributes:
        status: ``"ok"`` or the most severe of ``flags``.
        flags: Every condition raised, most severe first (``FLAG_*`` values).
        n_reference: Non-null reference rows.
        n_current: Non-null current rows.
        null_share_reference: Share of null reference rows.
        null_share_current: Share of null current rows (None for an empty batch).
        null_test: Test of equal null rates (None when no side has nulls or a side has no rows).
        chi2_statistic: Pearson chi-square of the 2 x K homogeneity table after pooling.
        dof: Its degrees of freedom (cells after pooling minus one).
        p_value: Chi-square p-value, equal to ``scipy.stats.chi2_contingency(table,
            correction=False)`` on the pooled table; None when the test did not run or fewer
            than two cells remain after pooling.
        cohens_w: Bias-corrected Cohen's w of the pooled table (``cohens_w``): the effect size
            the decision gates on.
        cramers_v: Bias-corrected Cramér's V (Bergsma 2013) of the pooled table (reported
            only: it shrinks with the imbalance of the two sizes).
        js_distance: Jensen-Shannon distance (base 2, in [0, 1]) between the two category
            distributions, unpooled (reported only: its no-drift value grows with the number
            of categories).
        n_categories_reference: Distinct non-null categories in the reference.
        n_categories_current: Distinct non-null categories in the current batch.
        n_pooled: Categories merged into the pooled cell.
        pooled: The pooled categories (at most ``max_listed``, least frequent first).
        n_unseen: Distinct current categories absent from the reference.
        unseen_count: Current rows in those categories.
        unseen_share: Their share of the current non-null rows.
        unseen: The unseen categories with counts and shares (at most ``max_listed``, most
            frequent first).
        min_rows: Minimum non-null rows per side for the test to run.
        min_expected: Minimum expected count per cell used for pooling.
    """

    status: str
    flags: tuple[str, ...]
    n_reference: int
    n_current: int
    null_share_reference: float
    null_share_current: float | None
    null_test: NullRateTest | None
    chi2_statistic: float | None
    dof: int | None
    p_value: float | None
    cohens_w: float | None
    cramers_v: float | None
    js_distance: float | None
    n_categories_reference: int
    n_categories_current: int
    n_pooled: int
    pooled: tuple[Any, ...]
    n_unseen: int
    unseen_count: int
    unseen_share: float | None
    unseen: tuple[CategoryCount, ...]
    min_rows: int
    min_expected: float

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dictionary (floats or None, never NaN or inf)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name == "flags":
                value = list(value)
            elif name == "pooled":
                value = [_json_category(c) for c in value]
            elif name == "unseen":
                value = [u.to_dict() for u in value]
            elif name == "null_test":
                value = None if value is None else value.to_dict()
            elif isinstance(value, float):
                value = _finite_or_none(value)
            out[name] = value
        return out


def categorical_drift(
    reference: CategoricalReference,
    current: Any,
    min_expected: float = DEFAULT_MIN_EXPECTED,
    *,
    min_rows: int = DEFAULT_MIN_ROWS,
    max_listed: int = DEFAULT_MAX_LISTED,
) -> CategoricalDrift:
    """Test a current batch of a categorical feature against its reference.

    The test is Pearson's chi-square test of homogeneity on the 2 x K reference-versus-current
    contingency table: both rows are samples, so the reference's sampling noise is accounted
    for (a goodness-of-fit test that takes the reference shares as exact is not calibrated).
    Categories whose smallest expected count is below ``min_expected`` are merged into one
    pooled cell so that the chi-square approximation holds for rare and unseen categories.
    Predicted labels go through this path unchanged.

    Args:
        reference: Summary of the training column from ``categorical_reference``.
        current: The batch's category values, or a mapping from category to count (for
            example a value count); None, NaN and NA-like values count as null.
        min_expected: Smallest expected cell count allowed before pooling.
        min_rows: Below this many non-null rows on either side the test does not run and the
            result is flagged ``too_few_rows``; the same flag is raised when pooling leaves
            fewer than two cells (all expected counts too small).
        max_listed: Longest ``pooled`` and ``unseen`` lists to return; their totals are always
            complete.

    Returns:
        The drift result.

    Raises:
        ValueError: If ``current`` is not one-dimensional or a count is invalid, or an
            argument is out of range.
    """
    if not isinstance(reference, CategoricalReference):
        raise ValueError(
            "reference must be a CategoricalReference; build it with categorical_reference."
        )
    if not (isinstance(min_expected, (int, float)) and min_expected > 0):
        raise ValueError(f"min_expected must be a positive number, got {min_expected!r}.")
    min_rows = _check_min_rows(min_rows)
    if (
        isinstance(max_listed, bool)
        or not isinstance(max_listed, (int, np.integer))
        or max_listed < 0
    ):
        raise ValueError(f"max_listed must be a non-negative integer, got {max_listed!r}.")
    cur_counts, null_cur = _count_categories(current, "current")
    n_ref = reference.n
    n_cur = sum(cur_counts.values())
    rows_ref = n_ref + reference.n_null
    rows_cur = n_cur + null_cur

    ref_index = {c: i for i, c in enumerate(reference.categories)}
    unseen_items = sorted(
        ((c, k) for c, k in cur_counts.items() if c not in ref_index), key=_sort_key
    )
    categories = list(reference.categories) + [c for c, _ in unseen_items]
    ref_arr = np.zeros(len(categories), dtype=np.int64)
    ref_arr[: len(reference.counts)] = reference.counts
    cur_arr = np.zeros(len(categories), dtype=np.int64)
    for category, count in cur_counts.items():
        position = ref_index.get(category)
        if position is not None:
            cur_arr[position] = count
    cur_arr[len(reference.counts) :] = [k for _, k in unseen_items]
    present = (ref_arr + cur_arr) > 0
    unseen_count = int(sum(k for _, k in unseen_items))

    raised: set[str] = set()
    if n_ref == 0:
        raised.add(FLAG_ALL_NULL_REFERENCE)
    if rows_cur == 0:
        raised.add(FLAG_TOO_FEW_ROWS)
    elif n_cur == 0:
        raised.add(FLAG_ALL_NULL_CURRENT)
    elif n_ref > 0 and min(n_ref, n_cur) < min_rows:
        raised.add(FLAG_TOO_FEW_ROWS)
    if int(np.count_nonzero(ref_arr)) == 1:
        raised.add(FLAG_CONSTANT_REFERENCE)
    if reference.n_null == 0 and null_cur > 0:
        raised.add(FLAG_NEW_NULLS)
    if unseen_items:
        raised.add(FLAG_UNSEEN_CATEGORIES)
    testable = not raised & {FLAG_ALL_NULL_REFERENCE, FLAG_ALL_NULL_CURRENT, FLAG_TOO_FEW_ROWS}

    statistic = p_value = w = cramers_v = js_distance = None
    dof = None
    pooled_names: list[Any] = []
    if testable:
        ref_p = ref_arr[present]
        cur_p = cur_arr[present]
        names = [c for c, keep in zip(categories, present, strict=True) if keep]
        js_distance = _jensen_shannon(ref_p.astype(np.float64), cur_p.astype(np.float64))
        totals = ref_p + cur_p
        kept, pooled = _pool_rare(totals, min(n_ref, n_cur), n_ref + n_cur, float(min_expected))
        pooled_names = [names[i] for i in pooled[np.argsort(totals[pooled], kind="stable")]]
        columns = [np.stack([ref_p[kept], cur_p[kept]])]
        if pooled.size:
            columns.append(np.array([[ref_p[pooled].sum()], [cur_p[pooled].sum()]]))
        table = np.concatenate(columns, axis=1).astype(np.float64)
        if table.shape[1] >= 2:
            statistic, dof, p_value = _chi2_homogeneity(table)
            w = cohens_w(statistic, dof, n_ref, n_cur)
            cramers_v = _cramers_v_corrected(statistic, n_ref + n_cur, 2, table.shape[1])
        elif np.count_nonzero(present) >= 2:
            # Several categories, but every expected count is too small for a calibrated test.
            raised.add(FLAG_TOO_FEW_ROWS)
    flags = _ordered_flags(raised)

    unseen = tuple(CategoryCount(c, int(k), k / n_cur) for c, k in unseen_items[:max_listed])
    return CategoricalDrift(
        status=_status(flags),
        flags=flags,
        n_reference=n_ref,
        n_current=n_cur,
        null_share_reference=reference.n_null / rows_ref,
        null_share_current=null_cur / rows_cur if rows_cur else None,
        null_test=_null_rate_test(
            reference.n_null, rows_ref, null_cur, rows_cur, float(min_expected)
        ),
        chi2_statistic=statistic,
        dof=dof,
        p_value=p_value,
        cohens_w=w,
        cramers_v=cramers_v,
        js_distance=js_distance,
        n_categories_reference=int(np.count_nonzero(ref_arr)),
        n_categories_current=len(cur_counts),
        n_pooled=len(pooled_names),
        pooled=tuple(pooled_names[:max_listed]),
        n_unseen=len(unseen_items),
        unseen_count=unseen_count,
        unseen_share=unseen_count / n_cur if n_cur else None,
        unseen=unseen,
        min_rows=min_rows,
        min_expected=float(min_expected),
    )
