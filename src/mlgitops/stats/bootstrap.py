"""Fast paired bootstrap for metrics that are smooth functions of per-row means.

The caller describes each evaluation row by a vector of ``p`` numbers (``values``, shape n x p)
and the metric difference by a vectorised ``statistic(means) -> difference`` acting on a
(B x p) matrix of column means. Examples, always candidate minus baseline:

* log loss, Brier score, MAE, accuracy: ``p = 2`` per-row losses (or correctness) of baseline
  and candidate, statistic ``means[:, 1] - means[:, 0]`` (:func:`mean_difference`);
* RMSE: ``p = 2`` squared errors, statistic ``sqrt(m_cand) - sqrt(m_base)``
  (:func:`root_mean_difference`);
* binary or macro F1: per-row 0/1 indicators of TP, FP and FN for each class and model
  (:func:`f1_difference`).

Resampling n rows with replacement only enters such a statistic through the column sums, and
the sums depend on the resample only through how many times each row is drawn; the vector of
draw counts is Multinomial(n, 1/n, ..., 1/n). Draw counts can be aggregated over any partition of
the rows into cells: the cell counts are exactly Multinomial(n, cell sizes / n), and given a
cell's count ``M`` its sum is the sum of ``M`` independent draws from the cell's rows. Three
cases:

Exact grouping.
    When the rows take at most ``max_groups`` distinct vectors (accuracy, F1 and other
    indicator metrics), the cells are the distinct vectors. Every row in a cell is the same, so
    drawing the cell counts from ``rng.multinomial(n, cell_share, size=B)`` *is* the
    nonparametric bootstrap: no approximation at all, at a cost of B x (number of cells)
    binomial draws instead of B x n random indices. (On sets of at most ``max_groups`` rows
    this is used only when there are at most n / 4 groups, where it is the cheaper option.)

Exact rows.
    Other evaluation sets of at most ``max_groups`` rows are resampled directly by row index,
    the textbook bootstrap, which is cheap at that size.

Binned, with a conditional normal within cells.
    Otherwise (continuous losses) the rows are sorted by a scalar key, by default the empirical
    influence of each row on the statistic (``(x_i - mean) . grad statistic``, by central finite
    differences), and cut into contiguous cells. Cell counts are again drawn exactly; the sum of
    a cell given its count ``M`` is drawn from the normal with the cell's exact mean ``M mu`` and
    covariance ``M Sigma`` (the within-cell covariance of its rows). Given the counts, the sum of
    independent normals over cells is one normal with mean ``sum_k M_k mu_k`` and covariance
    ``sum_k M_k Sigma_k``, so each resample costs one p-variate normal draw whatever the number
    of cells (with more than 8 distinct columns the pooled ``sum_k n_k Sigma_k`` is used
    instead, which keeps the total covariance exact). By the laws of total expectation and
    variance, the resampled sums have exactly the bootstrap mean and covariance, and all of the
    between-cell shape (where heavy tails live) is exact. What is lost is the within-cell part
    of the third and higher cumulants. Treating the counts as Poisson, the lost third cumulant
    of the key's sum is ``sum_k sum_{i in k} d_i^3`` and the lost fourth is
    ``sum_k [4 mu_k sum d_i^3 + sum d_i^4 - 3 (sum d_i^2)^2 / n_k]``, with ``d_i`` a row's key
    minus its cell mean and ``mu_k`` the cell's mean key. By the Cornish-Fisher expansion a
    lost standardised skewness ``g3`` and excess kurtosis ``g4`` move the alpha/2 quantile by
    about ``|z^2 - 1| / 6 * g3 + |z^3 - 3 z| / 24 * g4`` standard deviations. Cells start as
    ``min_cells`` equal-count groups and the cell with the largest contribution is halved until
    the summed bound is below ``tolerance`` (default 0.1) times the Monte-Carlo standard error
    of that quantile, ``sqrt(q (1 - q) / B) / phi(z_q)`` standard deviations, or ``max_cells``
    cells exist. Heavy tails concentrate the cumulants in the extreme rows, so halving isolates
    them in cells of one row, which are resampled exactly. For a statistic linear in the means
    the key carries all of its variation, so the bound covers the whole approximation to that
    order; smooth nonlinear statistics (RMSE, F1) add second-order terms only. The tests check
    the quantiles and the SE against index resampling on heavy-tailed data, and check that
    unrefined equal-count cells fail the same comparison.

The percentile interval and the p-values come from the sorted resampled differences:
``p_greater(d0) = (#{D* <= d0} + 1) / (B + 1)`` and ``p_less(d0) = (#{D* >= d0} + 1) / (B + 1)``,
so ``p_greater(d0) < alpha/2`` when ``d0`` is below the lower percentile limit (up to one
resample): the tests invert the percentile interval. The two-sided p-value for no difference
is ``min(1, 2 min(p_greater(0), p_less(0)))``.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

__all__ = [
    "BootstrapResult",
    "f1_difference",
    "mean_difference",
    "paired_bootstrap",
    "root_mean_difference",
]

Statistic = Callable[[np.ndarray], np.ndarray]

# Rows probed to rule out exact grouping cheaply before grouping all rows.
_GROUPING_PROBE_ROWS = 4096
# Row indices drawn per block by the direct resampler (bounds its memory).
_INDEX_BLOCK = 1 << 20
# Up to this many distinct columns the binned method draws each resample's within-cell noise
# with its exact conditional covariance (a batched q x q eigendecomposition per resample).
_CONDITIONAL_COLUMNS = 8


def _json_float(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def mean_difference(means: np.ndarray) -> np.ndarray:
    """Candidate minus baseline mean for ``values`` columns (baseline, candidate).

    Args:
        means: Column means, shape (B, 2).

    Returns:
        ``means[:, 1] - means[:, 0]``, shape (B,).
    """
    return means[:, 1] - means[:, 0]


def root_mean_difference(means: np.ndarray) -> np.ndarray:
    """Candidate minus baseline root of the mean, e.g. RMSE from per-row squared errors.

    Args:
        means: Column means of (baseline, candidate) squared errors, shape (B, 2).

    Returns:
        ``sqrt(means[:, 1]) - sqrt(means[:, 0])``, shape (B,).
    """
    return np.sqrt(means[:, 1]) - np.sqrt(means[:, 0])


def f1_difference(means: np.ndarray) -> np.ndarray:
    """Candidate minus baseline macro F1 from per-row TP/FP/FN indicator means.

    The columns are ``[baseline TP_1..TP_k, FP_1..FP_k, FN_1..FN_k, candidate TP_1..TP_k,
    FP_1..FP_k, FN_1..FN_k]``; ``k = 1`` is binary F1. A class with no TP, FP or FN has F1 0,
    as in scikit-learn's ``zero_division=0``.

    Args:
        means: Column means, shape (B, 6 k).

    Returns:
        Macro F1 of the candidate minus that of the baseline, shape (B,).
    """
    n_classes = means.shape[1] // 6
    blocks = means.reshape(means.shape[0], 2, 3, n_classes)
    tp, fp, fn = blocks[:, :, 0], blocks[:, :, 1], blocks[:, :, 2]
    denominator = 2.0 * tp + fp + fn
    f1 = np.divide(2.0 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    macro = f1.mean(axis=2)
    return macro[:, 1] - macro[:, 0]


@dataclass(frozen=True)
class BootstrapResult:
    """Paired bootstrap of a metric difference (candidate minus baseline).

    Attributes:
        estimate: The statistic at the full-sample column means.
        ci_low: Lower percentile limit.
        ci_high: Upper percentile limit.
        confidence: Confidence level of the interval.
        p_value: Two-sided bootstrap p-value for no difference.
        se: Standard deviation of the resampled differences (ddof = 1).
        n_rows: Number of evaluation rows.
        n_resamples: Number of bootstrap resamples B.
        seed: Seed of ``numpy.random.default_rng`` used for the resamples.
        method: ``"exact-rows"``, ``"exact-groups"`` or ``"binned-normal"`` (see the module
            docstring).
        n_cells: Number of multinomial cells drawn per resample.
    """

    estimate: float
    ci_low: float
    ci_high: float
    confidence: float
    p_value: float
    se: float
    n_rows: int
    n_resamples: int
    seed: int
    method: str
    n_cells: int
    sorted_differences: np.ndarray = field(repr=False, compare=False)

    def p_greater(self, delta0: float) -> float:
        """One-sided p-value of H0: difference <= delta0 against H1: difference > delta0.

        Args:
            delta0: Null value (``-margin`` for non-inferiority of a higher-is-better metric).

        Returns:
            ``(#{D* <= delta0} + 1) / (B + 1)`` over the resampled differences ``D*``.
        """
        delta0 = _check_delta0(delta0)
        below = np.searchsorted(self.sorted_differences, delta0, side="right")
        return float((below + 1) / (self.n_resamples + 1))

    def p_less(self, delta0: float) -> float:
        """One-sided p-value of H0: difference >= delta0 against H1: difference < delta0.

        Args:
            delta0: Null value (``+margin`` for non-inferiority of a lower-is-better metric).

        Returns:
            ``(#{D* >= delta0} + 1) / (B + 1)`` over the resampled differences ``D*``.
        """
        delta0 = _check_delta0(delta0)
        above = self.n_resamples - np.searchsorted(self.sorted_differences, delta0, side="left")
        return float((above + 1) / (self.n_resamples + 1))

    def quantile(self, q: float | ArrayLike) -> float | np.ndarray:
        """Quantiles of the resampled differences (linear interpolation, as ``np.quantile``).

        Args:
            q: Probability or probabilities in [0, 1].

        Returns:
            The quantile(s) of the bootstrap distribution.
        """
        result = np.quantile(self.sorted_differences, q)
        return float(result) if np.ndim(result) == 0 else result

    def to_dict(self) -> dict[str, object]:
        """Return the summary as JSON-safe python values (without the resampled differences)."""
        return {
            "test": "paired-bootstrap-percentile",
            "estimate": _json_float(self.estimate),
            "ci_low": _json_float(self.ci_low),
            "ci_high": _json_float(self.ci_high),
            "confidence": _json_float(self.confidence),
            "p_value": _json_float(self.p_value),
            "se": _json_float(self.se),
            "n_rows": int(self.n_rows),
            "n_resamples": int(self.n_resamples),
            "seed": int(self.seed),
            "method": self.method,
            "n_cells": int(self.n_cells),
        }


def _check_delta0(delta0: float) -> float:
    delta0 = float(delta0)
    if not math.isfinite(delta0):
        raise ValueError(f"delta0 must be a finite number, got {delta0!r}.")
    return delta0


def _evaluate(statistic: Statistic, means: np.ndarray, what: str) -> np.ndarray:
    result = np.asarray(statistic(means), dtype=float)
    if result.shape != (means.shape[0],):
        raise ValueError(
            f"statistic must map means of shape {means.shape} to shape ({means.shape[0]},), "
            f"got {result.shape}; make it vectorised over rows of means."
        )
    bad = int(np.count_nonzero(~np.isfinite(result)))
    if bad:
        raise ValueError(
            f"statistic returned {bad} non-finite values for {what}; define it for every "
            f"resample (for example F1 = 0 when a class has no TP, FP or FN)."
        )
    return result


def _influence_key(values: np.ndarray, means: np.ndarray, statistic: Statistic) -> np.ndarray:
    """Per-row linear influence on the statistic, falling back to the leading component."""
    p = values.shape[1]
    scale = np.maximum(values.std(axis=0), np.abs(means))
    step = 1e-6 * np.where(scale > 0.0, scale, 1.0)
    probes = np.repeat(means[None, :], 2 * p, axis=0)
    probes[np.arange(p), np.arange(p)] += step
    probes[p + np.arange(p), np.arange(p)] -= step
    with np.errstate(all="ignore"):
        shifted = np.asarray(statistic(probes), dtype=float)
    if shifted.shape == (2 * p,) and np.all(np.isfinite(shifted)):
        gradient = (shifted[:p] - shifted[p:]) / (2.0 * step)
        if np.any(gradient != 0.0):
            return np.einsum("np,p->n", values - means, gradient)
    # No usable gradient (flat or undefined): order by the direction of largest spread.
    centred = values - means
    _, vectors = np.linalg.eigh(centred.T @ centred)
    return centred @ vectors[:, -1]


def _bin_score(centred_key: np.ndarray, variance: float, coef3: float, coef4: float) -> float:
    """Cornish-Fisher bound on the quantile shift from normalising one cell, in SD units."""
    size = centred_key.size
    if size < 2:
        return 0.0
    cell_mean = centred_key.mean()
    deviation = centred_key - cell_mean
    square = deviation * deviation
    sum2 = square.sum()
    sum3 = (square * deviation).sum()
    sum4 = (square * square).sum()
    lost3 = abs(sum3) / variance**1.5
    lost4 = abs(4.0 * cell_mean * sum3 + sum4 - 3.0 * sum2 * sum2 / size) / variance**2
    return coef3 * lost3 + coef4 * lost4


def _cut_cells(
    sorted_key: np.ndarray, min_cells: int, max_cells: int, target: float, tail_q: float
) -> np.ndarray:
    """Edges of contiguous cells over the sorted key, refined where normality is lost."""
    n = sorted_key.size
    edges = np.unique(np.linspace(0, n, min(min_cells, max_cells, n) + 1).round().astype(int))
    centred = sorted_key - sorted_key.mean()
    variance = float(centred @ centred)
    if variance == 0.0:
        return edges
    z = float(special.ndtri(tail_q))
    coef3 = abs(z * z - 1.0) / 6.0
    coef4 = abs(z**3 - 3.0 * z) / 24.0
    heap: list[tuple[float, int, int]] = []
    total = 0.0
    for start, stop in itertools.pairwise(edges):
        score = _bin_score(centred[start:stop], variance, coef3, coef4)
        total += score
        heapq.heappush(heap, (-score, int(start), int(stop)))
    n_cells = len(heap)
    while total > target and n_cells < max_cells and heap and heap[0][0] < 0.0:
        neg_score, start, stop = heapq.heappop(heap)
        middle = (start + stop) // 2
        total += neg_score
        for lo, hi in ((start, middle), (middle, stop)):
            score = _bin_score(centred[lo:hi], variance, coef3, coef4)
            total += score
            heapq.heappush(heap, (-score, lo, hi))
        n_cells += 1
    return np.array(sorted({0, n} | {start for _, start, _ in heap}), dtype=int)


def _weighted_sums(counts: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``counts @ table`` for a narrow table, column by column, without BLAS.

    numpy's own single-threaded einsum loop is deterministic and, for these (B x K) by
    (K x few) shapes, faster than a threaded BLAS call, which stalls badly when the machine's
    cores are busy with other work.
    """
    return np.stack(
        [np.einsum("bk,k->b", counts, column) for column in np.ascontiguousarray(table.T)],
        axis=1,
    )


def _row_hashes(data: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each row's bit pattern, for grouping identical rows quickly."""
    # Adding 0.0 maps -0.0 to 0.0 so that equal numbers hash equally.
    bits = np.ascontiguousarray(data + 0.0).view(np.uint64)
    hashes = np.zeros(data.shape[0], dtype=np.uint64)
    for column in range(data.shape[1]):
        # splitmix64 finaliser of (bits + column constant), folded into the running hash.
        mixed = bits[:, column] + np.uint64((0x9E3779B97F4A7C15 * (column + 1)) % 2**64)
        mixed ^= mixed >> np.uint64(30)
        mixed *= np.uint64(0xBF58476D1CE4E5B9)
        mixed ^= mixed >> np.uint64(27)
        mixed *= np.uint64(0x94D049BB133111EB)
        mixed ^= mixed >> np.uint64(31)
        hashes = hashes * np.uint64(0x100000001B3) + mixed
    return hashes


def _exact_groups(data: np.ndarray, max_cells: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Distinct rows and their counts, or None when there are more than ``max_cells``."""
    with np.errstate(over="ignore"):
        hashes = _row_hashes(data)
    if np.unique(hashes[:_GROUPING_PROBE_ROWS]).size > max_cells:
        return None
    _, first, inverse, counts = np.unique(
        hashes, return_index=True, return_inverse=True, return_counts=True
    )
    if first.size > max_cells:
        return None
    groups = data[first]
    if not np.array_equal(groups[inverse] + 0.0, data + 0.0):
        # A hash collision (astronomically rare): group by value instead.
        groups, counts = np.unique(data + 0.0, axis=0, return_counts=True)
        if groups.shape[0] > max_cells:
            return None
    return groups, counts


def _distinct_columns(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct columns of ``data`` and, for each original column, its distinct column."""
    seen: dict[bytes, int] = {}
    column_of = np.empty(data.shape[1], dtype=int)
    for column in range(data.shape[1]):
        column_of[column] = seen.setdefault(
            np.ascontiguousarray(data[:, column] + 0.0).tobytes(), len(seen)
        )
    keep = [int(np.flatnonzero(column_of == index)[0]) for index in range(len(seen))]
    return data[:, keep], column_of


def paired_bootstrap(
    values: ArrayLike,
    statistic: Statistic,
    *,
    seed: int,
    n_resamples: int = 10_000,
    confidence: float = 0.95,
    max_groups: int = 512,
    max_cells: int = 256,
    min_cells: int = 32,
    tolerance: float = 0.1,
    key: ArrayLike | None = None,
) -> BootstrapResult:
    """Paired nonparametric bootstrap of a metric difference, by multinomial cell counts.

    Args:
        values: Per-row values, shape (n, p) (or (n,) for p = 1), both models' columns side by
            side, every row an evaluation row scored by both models.
        statistic: Vectorised map from column means, shape (B, p), to the difference
            candidate minus baseline, shape (B,).
        seed: Seed for ``numpy.random.default_rng``; equal inputs give bit-identical results.
        n_resamples: Number of bootstrap resamples B.
        confidence: Confidence level of the percentile interval.
        max_groups: Rows taking at most this many distinct vectors are resampled exactly by
            grouping (about B x groups binomial draws); otherwise sets of at most this many
            rows are resampled exactly by row index (B x n draws).
        max_cells: Most cells of the binned method (about B x cells binomial draws).
        min_cells: Number of equal-count cells the binned method starts from.
        tolerance: Binned method only: the bound on the approximation's shift of the
            percentile limits, as a fraction of their Monte-Carlo standard error.
        key: Binned method only: per-row ordering key, shape (n,); defaults to each row's
            linear influence on the statistic.

    Returns:
        Point estimate, percentile interval, two-sided p-value, bootstrap standard error, and
        one-sided p-values through ``p_greater`` / ``p_less``.

    Raises:
        ValueError: If ``values`` is empty, not 1-D or 2-D, or not finite; if the statistic is
            not vectorised or returns non-finite values; or if an option is out of range.
    """
    data = np.asarray(values, dtype=float)
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2 or data.shape[1] == 0:
        raise ValueError(f"values must have shape (n_rows, p), got {np.shape(values)}.")
    n = data.shape[0]
    if n < 2:
        raise ValueError(f"values has {n} rows; the bootstrap needs at least two rows.")
    if not np.all(np.isfinite(data)):
        raise ValueError("values contains NaN or infinite entries; clean them before testing.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer, got {seed!r}.")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)):
        raise ValueError(f"n_resamples must be an integer, got {n_resamples!r}.")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}.")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}.")
    if min_cells < 1 or max_cells < min_cells:
        raise ValueError(
            f"need 1 <= min_cells <= max_cells, got min_cells={min_cells}, max_cells={max_cells}."
        )
    if max_groups < 1:
        raise ValueError(f"max_groups must be at least 1, got {max_groups}.")
    if not tolerance > 0.0:
        raise ValueError(f"tolerance must be positive, got {tolerance!r}.")

    full_means = data.mean(axis=0)
    estimate = float(_evaluate(statistic, full_means[None, :], "the full-sample means")[0])
    rng = np.random.default_rng(seed)
    tail_q = (1.0 - confidence) / 2.0

    # Identical columns (a model compared with itself) are resampled once and copied, so that
    # they stay bit-for-bit identical in every resample.
    distinct, column_of = _distinct_columns(data)

    grouped = _exact_groups(distinct, max_groups)
    # Grouping costs about B x groups binomial draws and row resampling B x n cheaper integer
    # draws, so small sets are grouped only when rows repeat a lot.
    if grouped is not None and (n > max_groups or 4 * grouped[0].shape[0] <= n):
        groups, group_sizes = grouped
        counts = rng.multinomial(n, group_sizes / n, size=n_resamples).astype(float)
        sums = _weighted_sums(counts, groups)
        method, n_cells = "exact-groups", int(groups.shape[0])
    elif n <= max_groups:
        block = max(1, _INDEX_BLOCK // n)
        sums = np.empty((n_resamples, distinct.shape[1]))
        for start in range(0, n_resamples, block):
            stop = min(n_resamples, start + block)
            rows = rng.integers(0, n, size=(stop - start, n))
            rows += n * np.arange(stop - start)[:, None]
            counts = np.bincount(rows.ravel(), minlength=(stop - start) * n)
            sums[start:stop] = _weighted_sums(
                counts.reshape(stop - start, n).astype(float), distinct
            )
        method, n_cells = "exact-rows", int(n)
    else:
        if key is None:
            row_key = _influence_key(data, full_means, statistic)
        else:
            row_key = np.asarray(key, dtype=float)
            if row_key.shape != (n,) or not np.all(np.isfinite(row_key)):
                raise ValueError(f"key must be {n} finite numbers, one per row of values.")
        order = np.argsort(row_key, kind="stable")
        sorted_values = distinct[order]
        mc_quantile_se = math.sqrt(tail_q * (1.0 - tail_q) / n_resamples) / (
            math.exp(-0.5 * special.ndtri(tail_q) ** 2) / math.sqrt(2.0 * math.pi)
        )
        edges = _cut_cells(row_key[order], min_cells, max_cells, tolerance * mc_quantile_se, tail_q)
        starts, sizes = edges[:-1], np.diff(edges)
        cell_means = np.add.reduceat(sorted_values, starts, axis=0) / sizes[:, None]
        q = distinct.shape[1]
        cell_cov = np.empty((sizes.size, q * q))
        for cell, (start, stop) in enumerate(itertools.pairwise(edges)):
            deviations = sorted_values[start:stop] - cell_means[cell]
            cell_cov[cell] = np.einsum("ki,kj->ij", deviations, deviations).ravel() / (stop - start)
        counts = rng.multinomial(n, sizes / n, size=n_resamples).astype(float)
        sums = _weighted_sums(counts, cell_means)
        normals = rng.standard_normal((n_resamples, q))
        if q <= _CONDITIONAL_COLUMNS:
            cov = _weighted_sums(counts, cell_cov).reshape(n_resamples, q, q)
            eigenvalues, eigenvectors = np.linalg.eigh(cov)
            scaled = np.sqrt(np.maximum(eigenvalues, 0.0)) * normals
            sums += np.einsum("bij,bj->bi", eigenvectors, scaled)
        else:
            # Many columns: one pooled within-cell covariance, which keeps the total
            # covariance exact but not its dependence on the cell counts.
            pooled = (sizes @ cell_cov).reshape(q, q)
            eigenvalues, eigenvectors = np.linalg.eigh(pooled)
            scaled = normals * np.sqrt(np.maximum(eigenvalues, 0.0))
            sums += np.einsum("bj,ij->bi", scaled, eigenvectors)
        method, n_cells = "binned-normal", int(sizes.size)

    resampled_means = (sums / n)[:, column_of]
    differences = np.sort(_evaluate(statistic, resampled_means, "some resamples"))
    differences.setflags(write=False)
    low, high = np.quantile(differences, [tail_q, 1.0 - tail_q])
    below = np.searchsorted(differences, 0.0, side="right")
    above = n_resamples - np.searchsorted(differences, 0.0, side="left")
    one_sided = (min(below, above) + 1) / (n_resamples + 1)
    se = float(differences.std(ddof=1)) if n_resamples > 1 else 0.0
    return BootstrapResult(
        estimate=estimate,
        ci_low=float(low),
        ci_high=float(high),
        confidence=float(confidence),
        p_value=float(min(1.0, 2.0 * one_sided)),
        se=se,
        n_rows=int(n),
        n_resamples=int(n_resamples),
        seed=int(seed),
        method=method,
        n_cells=n_cells,
        sorted_differences=differences,
    )
