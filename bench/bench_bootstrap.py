"""Benchmark of mlgitops' paired bootstrap against scipy.stats.bootstrap.

100,000 evaluation rows, 10,000 resamples, four metrics (accuracy, F1, log loss, Brier score) of
a synthetic binary classifier pair. Prints a Markdown table of wall times (median of repeats)
and of the percentile intervals, with the difference between the two implementations' interval
limits in units of its Monte-Carlo standard error.

Run from the repository root: ``python bench/bench_bootstrap.py`` (``--quick`` skips the
10,000-resample scipy run, which takes about half a minute).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

try:
    from mlgitops.stats.bootstrap import f1_difference, mean_difference, paired_bootstrap
except ImportError:  # running from a checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from mlgitops.stats.bootstrap import f1_difference, mean_difference, paired_bootstrap

N_ROWS = 100_000
N_RESAMPLES = 10_000
SCIPY_RESAMPLES = 2_000
CONFIDENCE = 0.95


def make_rows(n_rows: int, seed: int) -> dict[str, np.ndarray]:
    """Per-row values of four metrics for a baseline and a slightly different candidate."""
    rng = np.random.default_rng(seed)
    y = rng.random(n_rows) < 0.3
    signal = rng.normal(0.0, 2.0, n_rows) + np.where(y, 1.2, -1.2)
    logit_base = signal + rng.normal(0.0, 0.8, n_rows)
    logit_cand = signal + rng.normal(0.0, 0.8, n_rows) + 0.05
    # A few confidently wrong candidate predictions give log loss its heavy right tail.
    blunder = rng.random(n_rows) < 0.002
    logit_cand[blunder] = np.where(y[blunder], -9.0, 9.0)
    prob_base, prob_cand = 1 / (1 + np.exp(-logit_base)), 1 / (1 + np.exp(-logit_cand))
    pred_base, pred_cand = prob_base >= 0.5, prob_cand >= 0.5
    sign = np.where(y, 1.0, -1.0)

    def indicators(pred: np.ndarray) -> list[np.ndarray]:
        return [pred & y, pred & ~y, ~pred & y]

    return {
        "accuracy": np.column_stack([pred_base == y, pred_cand == y]).astype(float),
        "f1": np.column_stack(indicators(pred_base) + indicators(pred_cand)).astype(float),
        "log loss": np.column_stack(
            [np.logaddexp(0.0, -sign * logit_base), np.logaddexp(0.0, -sign * logit_cand)]
        ),
        "brier": np.column_stack([(prob_base - y) ** 2, (prob_cand - y) ** 2]),
    }


STATISTICS = {
    "accuracy": mean_difference,
    "f1": f1_difference,
    "log loss": mean_difference,
    "brier": mean_difference,
}


def scipy_statistic(name: str):
    """The same statistic in scipy's calling convention (one array per column)."""

    def statistic(*columns: np.ndarray, axis: int = -1) -> np.ndarray:
        means = np.stack([column.mean(axis=axis) for column in columns], axis=-1)
        flat = means.reshape(-1, means.shape[-1])
        return STATISTICS[name](flat).reshape(means.shape[:-1])

    return statistic


def quantile_se(sorted_draws: np.ndarray, q: float) -> float:
    """Monte-Carlo SE of a sample quantile from the binomial order-statistic interval."""
    count = sorted_draws.size
    half_width = 1.96 * np.sqrt(count * q * (1 - q))
    hi = sorted_draws[min(count - 1, int(np.ceil(count * q + half_width)))]
    lo = sorted_draws[max(0, int(np.floor(count * q - half_width)))]
    return float((hi - lo) / (2 * 1.96))


def run_scipy(name: str, values: np.ndarray, n_resamples: int, seed: int):
    return stats.bootstrap(
        tuple(values.T),
        scipy_statistic(name),
        n_resamples=n_resamples,
        batch=250,
        vectorized=True,
        paired=True,
        confidence_level=CONFIDENCE,
        method="percentile",
        rng=np.random.default_rng(seed),
    )


def agreement(ours_sorted: np.ndarray, theirs_sorted: np.ndarray) -> tuple[float, float]:
    """Differences of the two limits over their combined Monte-Carlo SE."""
    tail = (1 - CONFIDENCE) / 2
    z_scores = []
    for q in (tail, 1 - tail):
        gap = np.quantile(ours_sorted, q) - np.quantile(theirs_sorted, q)
        se = np.hypot(quantile_se(ours_sorted, q), quantile_se(theirs_sorted, q))
        z_scores.append(float(gap / se))
    return z_scores[0], z_scores[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats of ours")
    parser.add_argument("--quick", action="store_true", help="skip scipy at 10,000 resamples")
    args = parser.parse_args()

    rows = make_rows(N_ROWS, seed=20261201)
    ours = {}
    times: dict[str, list[float]] = {name: [] for name in rows}
    totals = []
    for _ in range(args.repeats):
        total = 0.0
        for index, (name, values) in enumerate(rows.items()):
            start = time.perf_counter()
            ours[name] = paired_bootstrap(
                values, STATISTICS[name], seed=index, n_resamples=N_RESAMPLES
            )
            elapsed = time.perf_counter() - start
            times[name].append(elapsed)
            total += elapsed
        totals.append(total)

    scipy_results, scipy_times = {}, {}
    for index, (name, values) in enumerate(rows.items()):
        start = time.perf_counter()
        scipy_results[name] = run_scipy(name, values, SCIPY_RESAMPLES, seed=100 + index)
        scipy_times[name] = time.perf_counter() - start
    full = None
    if not args.quick:
        start = time.perf_counter()
        full = run_scipy("log loss", rows["log loss"], N_RESAMPLES, seed=200)
        full_time = time.perf_counter() - start

    print(f"{N_ROWS:,} rows, {N_RESAMPLES:,} resamples, {CONFIDENCE:.0%} percentile intervals\n")
    print(
        "| metric | implementation | resamples | wall time (s) | cells | estimate | CI low |"
        " CI high | SE | limit gap / MC SE (low, high) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for name in rows:
        result = ours[name]
        print(
            f"| {name} | mlgitops ({result.method}) | {N_RESAMPLES:,} | "
            f"{statistics.median(times[name]):.3f} | {result.n_cells} | {result.estimate:+.5f} | "
            f"{result.ci_low:+.5f} | {result.ci_high:+.5f} | {result.se:.5f} | |"
        )
        theirs = scipy_results[name]
        theirs_sorted = np.sort(theirs.bootstrap_distribution)
        z_low, z_high = agreement(result.sorted_differences, theirs_sorted)
        ci = theirs.confidence_interval
        extrapolated = scipy_times[name] * N_RESAMPLES / SCIPY_RESAMPLES
        print(
            f"| {name} | scipy.stats.bootstrap | {SCIPY_RESAMPLES:,} | {scipy_times[name]:.2f}"
            f" (x{N_RESAMPLES // SCIPY_RESAMPLES} = {extrapolated:.1f} extrapolated) | | | "
            f"{ci.low:+.5f} | {ci.high:+.5f} | {theirs.standard_error:.5f} | "
            f"{z_low:+.2f}, {z_high:+.2f} |"
        )
        if name == "log loss" and full is not None:
            z_low, z_high = agreement(
                result.sorted_differences, np.sort(full.bootstrap_distribution)
            )
            print(
                f"| {name} | scipy.stats.bootstrap | {N_RESAMPLES:,} | {full_time:.2f} | | | "
                f"{full.confidence_interval.low:+.5f} | {full.confidence_interval.high:+.5f} | "
                f"{full.standard_error:.5f} | {z_low:+.2f}, {z_high:+.2f} |"
            )
    scipy_total = sum(scipy_times.values()) * N_RESAMPLES / SCIPY_RESAMPLES
    print(
        f"\nAll four metrics: mlgitops {statistics.median(totals):.3f} s (median of "
        f"{args.repeats}, min {min(totals):.3f} s); scipy extrapolated to {N_RESAMPLES:,} "
        f"resamples {scipy_total:.1f} s ({scipy_total / statistics.median(totals):.0f}x)."
    )


if __name__ == "__main__":
    main()
