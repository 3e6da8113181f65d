"""The drift check (pure core): a batch against a model's profile, and the decision.

Per feature, two tests form part of one family:

- the **distribution** test: two-sample Kolmogorov-Smirnov for numeric features, with the
  normalised Wasserstein distance (in reference standard deviations) as its effect size; Pearson's
  chi-square on the reference-versus-current contingency table (rare categories pooled) for
  categorical features, with the bias-corrected Cohen's w as its effect size;
- the **null-rate** test (when either side has missing values), with the absolute change of the
  share of missing values as its effect size.

Cohen's w, ``sqrt(max(0, (chi2 - dof) / n_h))`` with the harmonic size
``n_h = n_ref n_cur / (n_ref + n_cur)`` (:func:`mlgitops.stats.drift.cohens_w`), for categorical
features: ``chi2 / n_h`` estimates the chi-square distance between the two category
distributions, which does not depend on the sample sizes, and subtracting the degrees of
freedom (the chi-square's mean under no drift) removes its bias, so under no drift it is ~0 at
any size and number of categories. The two alternatives fail one of these: Cramér's V carries
the size imbalance (``V ** 2 = chi2 / (n_ref + n_cur)``: a share moving from 67 % to 80 % gives
a bias-corrected V of 0.038 at 24,421 vs 500 rows and 0.148 at 5,000 vs 5,000), and the
Jensen-Shannon distance of two samples is biased upwards by sampling noise, by more the more
categories and the fewer rows (0.09 at 8 categories and 300 vs 300 rows, 0.44 at 300 categories
and 500 vs 500), so a fixed threshold on it was passed by noise alone. V and JS stay in the
details.

**Decision** (:func:`decide`): the p-values of every test that could run are adjusted together
(Holm or Benjamini-Hochberg over all features); a test *fires* when its adjusted p-value is below
``alpha`` and its effect size is above its threshold. A feature drifts when any of its tests
fires. The only test judged on its p-value alone is the KS test of a feature whose reference is
constant (its normalised Wasserstein distance is undefined): any departure from a constant is a
change of kind, and under no drift a constant stays constant (D = 0, p = 1). The batch drifts
when the share of drifted features reaches ``share_threshold`` or any key feature drifts.

**Alarm**: the check alarms (exit 1, the issue) when the batch drifts, or, with labels and
``performance_alarm``, when a metric is worse than at training time: its difference's interval,
simultaneous over the metrics (Bonferroni), lies wholly on the worse side. ``verdict`` names
which (:data:`VERDICTS`).

Under no drift the batch-level false-alarm rate is at most ``alpha``: an alarm needs at least one
test to reject, and both corrections bound that probability by ``alpha`` when no feature moved
(Holm under any dependence; BH too when nothing moved, since its FDR is then the family-wise
error). The effect-size gate only lowers it further. ``tests/drift/test_calibration.py``
measures it.

**Since when** (:func:`conclusive_flags`, :func:`persistent_start`): with a time column, the
batch is cut into windows of ``window`` (aligned to the UTC epoch, so ``1d`` windows start at
midnight UTC), the same rule is applied within each window, and a drifted feature's ``since`` is
the start of the first window from which it stays drifted in every window that could tell. A
window where the feature did not fire can tell only if it had the power to see the drift at the
size it has where it fired; a smaller one (a partial last day) is inconclusive and does not end
the run. When no date can be given, ``since_note`` says why.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from mlgitops.drift_profile import (
    ColumnReference,
    Profile,
    category_counts,
    numeric_values,
    output_columns,
)
from mlgitops.errors import DataError
from mlgitops.params import DriftParams, window_seconds
from mlgitops.stats.drift import (
    CategoricalDrift,
    CategoricalReference,
    NumericDrift,
    NumericReference,
    categorical_drift,
    numeric_drift,
)
from mlgitops.stats.multiple import benjamini_hochberg, holm

#: 2: ``verdict`` may be ``performance_drop`` or ``drift_and_performance_drop`` besides
#: ``drift`` and ``no_drift``; ``alarm`` and ``alarms`` say whether and why the check alarms;
#: the categorical effect is ``cohens_w``; ``since_note`` says why a drift is not dated.
DRIFT_SCHEMA_VERSION = 2

#: At most this many windows (the most recent) are tested for "since when".
MAX_WINDOWS = 366

EPOCH = pd.Timestamp("1970-01-01", tz="UTC")

#: What drift.json says about the model (absent ones are null).
MODEL_FIELDS = (
    "name",
    "version",
    "stage",
    "commit",
    "tag",
    "task",
    "model_sha256",
    "profile_sha256",
)

Aspect = Literal["distribution", "null_rate"]

#: A column with one value in the batch whose training values vary: a finding of its own (an
#: upstream default, a filter, a broken join), flagged by the check on top of the tests' flags.
FLAG_CONSTANT_CURRENT = "constant_current"

#: Most severe first, as in :mod:`mlgitops.stats.drift`, with the check's own flag in its place.
FLAG_ORDER = (
    "all_null_reference",
    "all_null_current",
    "too_few_rows",
    "constant_reference",
    FLAG_CONSTANT_CURRENT,
    "new_nulls",
    "unseen_categories",
)

EFFECT_NAMES = {"numeric": "wasserstein_normalized", "categorical": "cohens_w"}
TEST_NAMES = {"numeric": "ks", "categorical": "chi2"}


# --------------------------------------------------------------------------------- decision


@dataclass(frozen=True)
class Rule:
    """The decision rule (``drift`` params without the knobs that are not about deciding)."""

    alpha: float
    correction: Literal["holm", "bh"]
    numeric_threshold: float
    categorical_threshold: float
    null_threshold: float
    share_threshold: float
    key_features: tuple[str, ...] = ()

    @classmethod
    def from_params(cls, params: DriftParams) -> Rule:
        return cls(
            alpha=params.alpha,
            correction=params.correction,
            numeric_threshold=params.numeric_threshold,
            categorical_threshold=params.categorical_threshold,
            null_threshold=params.null_threshold,
            share_threshold=params.share_threshold,
            key_features=tuple(params.key_features),
        )

    def threshold(self, kind: str) -> float:
        return self.numeric_threshold if kind == "numeric" else self.categorical_threshold

    def to_dict(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "correction": self.correction,
            "numeric_threshold": self.numeric_threshold,
            "categorical_threshold": self.categorical_threshold,
            "null_threshold": self.null_threshold,
            "share_threshold": self.share_threshold,
            "key_features": list(self.key_features),
        }


@dataclass(frozen=True)
class FeatureTest:
    """One test of one feature, before the decision.

    Attributes:
        feature: The feature.
        aspect: ``distribution`` or ``null_rate``.
        p_value: The raw p-value; None when the test could not run (it is left out of the
            family).
        effect: The effect size; None with a p-value means no effect size is defined (a
            constant reference) and the test is judged on its p-value alone.
        threshold: The effect size the test must exceed.
    """

    feature: str
    aspect: Aspect
    p_value: float | None
    effect: float | None
    threshold: float


@dataclass(frozen=True)
class JudgedTest:
    """A test after the decision: adjusted p-value, both gates and whether it fires."""

    feature: str
    aspect: Aspect
    p_value: float | None
    p_adjusted: float | None
    effect: float | None
    threshold: float
    significant: bool
    large: bool | None
    fires: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "aspect": self.aspect,
            "p_value": _finite(self.p_value),
            "p_adjusted": _finite(self.p_adjusted),
            "effect": _finite(self.effect),
            "threshold": self.threshold,
            "significant": self.significant,
            "large": self.large,
            "fires": self.fires,
        }


@dataclass(frozen=True)
class Decision:
    """The verdict on a family of tests.

    Attributes:
        tests: Every test, in input order, with its outcome.
        features: The features judged (the share's denominator).
        drifted: The drifted features, in ``features`` order.
        key_drifted: The drifted key features.
        share: ``len(drifted) / len(features)``.
        drift: Whether the batch drifts.
        reasons: Why, in words.
        family_size: Number of p-values adjusted together.
    """

    tests: tuple[JudgedTest, ...]
    features: tuple[str, ...]
    drifted: tuple[str, ...]
    key_drifted: tuple[str, ...]
    share: float
    drift: bool
    reasons: tuple[str, ...]
    family_size: int

    def outcome(self, feature: str, aspect: Aspect) -> JudgedTest | None:
        for test in self.tests:
            if test.feature == feature and test.aspect == aspect:
                return test
        return None


def adjust(p_values: Sequence[float], correction: str) -> np.ndarray:
    """Multiplicity-adjusted p-values (Holm or Benjamini-Hochberg), in input order."""
    if correction == "holm":
        return holm(np.asarray(p_values, dtype=float))
    if correction == "bh":
        return benjamini_hochberg(np.asarray(p_values, dtype=float))
    raise ValueError(f"correction must be holm or bh, got {correction!r}")


def decide(tests: Sequence[FeatureTest], features: Sequence[str], rule: Rule) -> Decision:
    """Adjust the family's p-values, gate each test on significance and effect, judge the batch.

    Args:
        tests: Every test of every feature (tests without a p-value are not in the family).
        features: Every feature judged, tested or not (the share's denominator).
        rule: The decision rule.

    Returns:
        The decision.
    """
    defined = [i for i, t in enumerate(tests) if t.p_value is not None]
    adjusted = adjust([tests[i].p_value for i in defined], rule.correction) if defined else []
    p_adjusted: dict[int, float] = {i: float(a) for i, a in zip(defined, adjusted, strict=True)}
    outcomes = []
    for i, test in enumerate(tests):
        p_adj = p_adjusted.get(i)
        significant = p_adj is not None and p_adj < rule.alpha
        large = None if test.effect is None else bool(test.effect > test.threshold)
        fires = significant and (large is None or large)
        outcomes.append(
            JudgedTest(
                test.feature,
                test.aspect,
                test.p_value,
                p_adj,
                test.effect,
                test.threshold,
                significant,
                large,
                fires,
            )
        )
    fired = {o.feature for o in outcomes if o.fires}
    drifted = tuple(f for f in features if f in fired)
    key_drifted = tuple(f for f in drifted if f in rule.key_features)
    share = len(drifted) / len(features) if features else 0.0
    # Compare counts, not floats: 3 of 12 features reach a threshold of 0.25 exactly.
    by_share = bool(drifted) and len(drifted) >= rule.share_threshold * len(features) - 1e-9
    reasons = []
    if drifted:
        reasons.append(
            f"{len(drifted)} of {len(features)} features drifted ({share:.0%}; the batch drifts "
            f"from {rule.share_threshold:.0%})"
        )
    else:
        reasons.append(f"none of the {len(features)} features drifted")
    if key_drifted:
        reasons.append(f"key feature(s) {', '.join(key_drifted)} drifted")
    return Decision(
        tests=tuple(outcomes),
        features=tuple(features),
        drifted=drifted,
        key_drifted=key_drifted,
        share=share,
        drift=by_share or bool(key_drifted),
        reasons=tuple(reasons),
        family_size=len(defined),
    )


def persistent_start(flags: Sequence[bool | None]) -> int | None:
    """The first window from which a feature stays drifted until the last window.

    Args:
        flags: Per window, in time order: drifted (True), not drifted (False), or not tested
            (None: too few rows).

    Returns:
        The index of the first drifted window after the last window that was tested and not
        drifted; None when the last tested window is not drifted (the drift is not persistent)
        or no window was tested.
    """
    start = None
    for i in range(len(flags) - 1, -1, -1):
        flag = flags[i]
        if flag is False:
            break
        if flag is True:
            start = i
    if start is None:
        return None
    last_tested = next((f for f in reversed(flags) if f is not None), None)
    return start if last_tested else None


# --------------------------------------------------------------------------------- testing


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


ColumnDrift = NumericDrift | CategoricalDrift


def run_tests(column: ColumnReference, values: pd.Series, params: DriftParams) -> ColumnDrift:
    """Run the column's two-sample tests against its reference."""
    if column.kind == "numeric":
        assert isinstance(column.reference, NumericReference)
        return numeric_drift(
            column.reference,
            numeric_values(values),
            min_rows=params.min_rows,
            min_expected=params.min_expected,
        )
    assert isinstance(column.reference, CategoricalReference)
    return categorical_drift(
        column.reference,
        category_counts(values),
        params.min_expected,
        min_rows=params.min_rows,
    )


def feature_tests(
    name: str, kind: str, result: ColumnDrift, rule: Rule
) -> tuple[FeatureTest, FeatureTest | None]:
    """The column's distribution test and (when defined) its null-rate test."""
    numeric = isinstance(result, NumericDrift)
    effect = result.wasserstein_normalized if numeric else result.cohens_w
    distribution = FeatureTest(name, "distribution", result.p_value, effect, rule.threshold(kind))
    null = None
    if result.null_test is not None and result.null_share_current is not None:
        change = abs(result.null_share_current - result.null_share_reference)
        null = FeatureTest(name, "null_rate", result.null_test.p_value, change, rule.null_threshold)
    return distribution, null


def _family(
    columns: Sequence[ColumnReference], results: Mapping[str, ColumnDrift], rule: Rule
) -> list[FeatureTest]:
    tests: list[FeatureTest] = []
    for column in columns:
        distribution, null = feature_tests(column.name, column.kind, results[column.name], rule)
        tests.append(distribution)
        if null is not None:
            tests.append(null)
    return tests


def _tested(result: ColumnDrift) -> bool:
    return result.p_value is not None or result.null_test is not None


def constant_in_batch(column: ColumnReference, values: pd.Series, result: ColumnDrift) -> Any:
    """The one value a column takes in the batch when its training values vary, else None.

    Only for a batch the tests could run on (``min_rows`` non-missing values): a tiny batch
    with one value is not evidence of anything.
    """
    if result.p_value is None:
        return None
    if isinstance(result, NumericDrift):
        if result.std_reference in (None, 0.0):
            return None
        array = numeric_values(values)
        finite = array[np.isfinite(array)]
        if finite.size and finite.min() == finite.max():
            value = float(finite[0])
            return int(value) if value.is_integer() else value
        return None
    if result.n_categories_reference < 2 or result.n_categories_current != 1:
        return None
    present = values[values.notna()]
    return present.iloc[0] if len(present) else None


def _flags(result: ColumnDrift, constant: Any) -> list[str]:
    raised = set(result.flags) | ({FLAG_CONSTANT_CURRENT} if constant is not None else set())
    return [flag for flag in FLAG_ORDER if flag in raised] + sorted(raised - set(FLAG_ORDER))


# ----------------------------------------------------------------------------------- charts


def _percent(values: np.ndarray) -> list[float]:
    return [round(float(v) * 100, 1) for v in values]


def _label(value: Any, width: int = 16) -> str:
    text = str(value).replace('"', "'")
    return text if len(text) <= width else text[: width - 1] + "…"


def _edge_label(value: float, width: float) -> str:
    # Two significant digits of the bin width: 0.083-wide bins read 0.083, 0.17, 0.25.
    decimals = max(0, 1 - math.floor(math.log10(width))) if width > 0 else 0
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def numeric_chart(
    reference: NumericReference, current: np.ndarray, *, bins: int, integer: bool
) -> dict[str, Any]:
    """Reference and current shares (percent of all rows) on common bins, plus missing values.

    Bins span the 1st to the 99th percentile of both sides (values beyond fall in the end
    bins); an integer feature with at most ``bins`` distinct values in that span gets one bar
    per value.
    """
    ref = reference.values
    finite = current[np.isfinite(current)]
    rows_ref = reference.n + reference.n_null
    ref_scale = (reference.n / rows_ref) if rows_ref else 0.0
    cur_scale = finite.size / current.size if current.size else 0.0
    pools = [v for v in (ref, finite) if v.size]
    if not pools:
        labels: list[str] = []
        ref_share = np.empty(0)
        cur_share = np.empty(0)
    else:
        lo = min(float(np.quantile(v, 0.01)) for v in pools)
        hi = max(float(np.quantile(v, 0.99)) for v in pools)
        if integer and math.floor(hi) - math.ceil(lo) + 1 <= bins:
            points = np.arange(math.ceil(lo), math.floor(hi) + 1, dtype=float)
            edges = np.concatenate(([-np.inf], (points[:-1] + points[1:]) / 2, [np.inf]))
            labels = [f"{int(p)}" for p in points]
        else:
            if hi <= lo:
                hi = lo + 1.0
            inner = np.linspace(lo, hi, bins + 1)
            edges = np.concatenate(([-np.inf], inner[1:-1], [np.inf]))
            labels = [_edge_label(v, (hi - lo) / bins) for v in inner[:-1]]

        def shares(values: np.ndarray, scale: float) -> np.ndarray:
            if not values.size:
                return np.zeros(len(labels))
            counts = np.histogram(values, bins=edges)[0]
            return counts / values.size * scale

        ref_share = shares(ref, ref_scale)
        cur_share = shares(finite, cur_scale)
    series_ref = _percent(ref_share)
    series_cur = _percent(cur_share)
    null_ref = 1 - ref_scale if rows_ref else 0.0
    null_cur = 1 - cur_scale if current.size else 0.0
    if null_ref > 0 or null_cur > 0:
        labels = [*labels, "(missing)"]
        series_ref.append(round(null_ref * 100, 1))
        series_cur.append(round(null_cur * 100, 1))
    return {"x": labels, "series": {"reference": series_ref, "current": series_cur}}


def categorical_chart(
    reference: CategoricalReference, current: Mapping[Any, int], *, bins: int
) -> dict[str, Any]:
    """Reference and current shares (percent of all rows) of the largest categories.

    Categories are in reference order (most frequent first), then unseen ones (most frequent
    first); at most ``bins - 1`` are shown by their larger share, the rest are summed as
    ``(other)``; missing values have their own bar.

    Args:
        reference: The column's stored reference.
        current: The batch's rows per category, missing values under ``None`` (what
            :func:`~mlgitops.drift_profile.category_counts` returns).
        bins: Most bars, ``(other)`` included.
    """
    rows_ref = reference.n + reference.n_null
    ref_share = {
        c: k / rows_ref for c, k in zip(reference.categories, reference.counts, strict=True)
    }
    seen = {c: k for c, k in current.items() if c is not None and k}
    # Sorted as value_counts(sort=True) sorts its counts (stable), so tied categories keep the
    # order category_counts gives them (first appearance, or a categorical's category order).
    counts = (
        pd.Series(seen, dtype=np.int64).sort_values(ascending=False, kind="stable")
        if seen
        else pd.Series()
    )
    present = sum(seen.values())
    rows_cur = present + int(current.get(None, 0))
    cur_share = {c: int(k) / rows_cur for c, k in counts.items()} if rows_cur else {}
    order = list(reference.categories) + [c for c in cur_share if c not in ref_share]
    largest = sorted(order, key=lambda c: -max(ref_share.get(c, 0.0), cur_share.get(c, 0.0)))[
        : bins - 1
    ]
    shown = [c for c in order if c in set(largest)]
    rest = [c for c in order if c not in set(largest)]
    labels = [_label(c) for c in shown]
    series_ref = [ref_share.get(c, 0.0) for c in shown]
    series_cur = [cur_share.get(c, 0.0) for c in shown]
    if rest:
        labels.append("(other)")
        series_ref.append(sum(ref_share.get(c, 0.0) for c in rest))
        series_cur.append(sum(cur_share.get(c, 0.0) for c in rest))
    null_ref = reference.n_null / rows_ref if rows_ref else 0.0
    null_cur = (rows_cur - present) / rows_cur if rows_cur else 0.0
    if null_ref > 0 or null_cur > 0:
        labels.append("(missing)")
        series_ref.append(null_ref)
        series_cur.append(null_cur)
    return {
        "x": labels,
        "series": {
            "reference": _percent(np.asarray(series_ref)),
            "current": _percent(np.asarray(series_cur)),
        },
    }


def column_chart(column: ColumnReference, values: pd.Series, *, bins: int) -> dict[str, Any]:
    """The reference-versus-current chart data of one column."""
    if isinstance(column.reference, NumericReference):
        return numeric_chart(
            column.reference,
            numeric_values(values),
            bins=bins,
            integer=column.dtype == "integer",
        )
    return categorical_chart(column.reference, category_counts(values), bins=bins)


# ------------------------------------------------------------------------------ the check


@dataclass(frozen=True)
class Outputs:
    """The model's outputs on the batch's rows, and where they came from.

    Attributes:
        predictions: ``score_frame``'s shape: ``y_pred`` and ``score`` (binary) or
            ``proba_<class>`` (multiclass), one row per batch row, in batch order.
        source: ``logged`` (the prediction log's ``_prediction``/``_score``) or ``scored``
            (the model scored the batch).
        note: Why that source, in words.
    """

    predictions: pd.DataFrame
    source: str
    note: str


@dataclass(frozen=True)
class DriftReport:
    """The drift check's result; :meth:`to_dict` is ``drift.json``."""

    doc: dict[str, Any] = field(repr=False)

    @property
    def drift(self) -> bool:
        """Whether the features drifted by the rule (the performance alarm aside)."""
        return "drift" in self.doc["alarms"]

    @property
    def alarm(self) -> bool:
        """Whether the check alarms (exit 1, the issue): drift, or a performance drop."""
        return bool(self.doc["alarm"])

    @property
    def headline(self) -> str:
        return str(self.doc["headline"])

    def to_dict(self) -> dict[str, Any]:
        return self.doc


def _column_entry(
    column: ColumnReference,
    result: ColumnDrift,
    decision: Decision,
    *,
    key: bool,
    constant: Any = None,
) -> dict[str, Any]:
    distribution = decision.outcome(column.name, "distribution")
    null = decision.outcome(column.name, "null_rate")
    assert distribution is not None
    drifted = column.name in decision.drifted
    if drifted:
        verdict = "drifted"
    elif not _tested(result):
        verdict = "not_tested"
    elif distribution.significant or (null is not None and null.significant):
        verdict = "small"  # significant, but the effect is below its threshold
    else:
        verdict = "stable"
    stats_dict = result.to_dict()
    flags = _flags(result, constant)
    entry: dict[str, Any] = {
        "name": column.name,
        "kind": column.kind,
        "dtype": column.dtype,
        "key": key,
        "status": flags[0] if flags else "ok",
        "flags": flags,
        "constant_value": _json_value(constant),
        "test": TEST_NAMES[column.kind],
        "effect_name": EFFECT_NAMES[column.kind],
        "n_reference": result.n_reference,
        "n_current": result.n_current,
        "distribution": distribution.to_dict(),
        "null_rate": None if null is None else null.to_dict(),
        "null_share_reference": _finite(result.null_share_reference),
        "null_share_current": _finite(result.null_share_current),
        "drifted": drifted,
        "verdict": verdict,
        "since": None,
        "since_note": None,
        "stats": stats_dict,
    }
    if isinstance(result, NumericDrift):
        entry["psi"] = _finite(result.psi)
        entry["psi_expected"] = _finite(result.psi_expected)
        entry["psi_bound"] = _finite(result.psi_bound)
    else:
        entry["psi"] = None
        entry["psi_expected"] = None
        entry["psi_bound"] = None
    return entry


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return _finite(value)
    if isinstance(value, np.generic):
        return _json_value(value.item())
    return str(value)


def _sort_key(entry: Mapping[str, Any]) -> tuple[int, float, str]:
    effect = entry["distribution"]["effect"]
    threshold = entry["distribution"]["threshold"] or 1.0
    ratio = -1.0 if effect is None else effect / threshold
    return (0 if entry["drifted"] else 1, -ratio, entry["name"])


def _time_windows(
    times: pd.Series, width_seconds: int
) -> tuple[list[pd.Timestamp], list[np.ndarray]]:
    """Window starts (UTC, aligned to the epoch) and the row positions in each, oldest first."""
    valid = times.notna().to_numpy()
    index = np.flatnonzero(valid)
    seconds = (times[valid] - EPOCH) // pd.Timedelta(seconds=1)
    window = seconds.to_numpy(dtype=np.int64) // width_seconds
    starts, groups = [], []
    for value in np.unique(window):
        starts.append(EPOCH + pd.Timedelta(seconds=int(value) * width_seconds))
        groups.append(index[window == value])
    return starts, groups


def _iso(moment: pd.Timestamp | None) -> str | None:
    if moment is None or pd.isna(moment):
        return None
    return moment.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


#: The power a stretch of windows where a feature did not fire needs to say the drift stopped.
STOP_POWER = 0.8
# Under the alternative, sqrt(n_eff) * D has a standard deviation of at most 0.5 (the ECDF's
# largest one); using it gives a conservative (low) power of the KS test.
_KS_SD = 0.5


@dataclass(frozen=True)
class _Window:
    """One window: its rows' positions, and (when tested) its results and decision."""

    positions: np.ndarray
    results: Mapping[str, ColumnDrift] | None
    decision: Decision | None

    def fired(self, name: str) -> bool:
        return self.decision is not None and name in self.decision.drifted

    def tested(self, name: str) -> bool:
        return self.results is not None and _tested(self.results[name])


def _rows(reference: NumericReference | CategoricalReference) -> int:
    return reference.n + reference.n_null


def _drift_sizes(
    column: ColumnReference,
    batch: pd.DataFrame,
    windows: Sequence[_Window],
    fired: Sequence[int],
    params: DriftParams,
) -> dict[Aspect, float]:
    """The drift's size, per aspect that fired in some window, measured on the rows from the
    first window where the feature fired to the last (misses included, so that the windows that
    happened to fire do not inflate it): KS D, w squared, or the change of the missing share."""
    name = column.name
    aspects = {
        aspect
        for i in fired
        for aspect in ("distribution", "null_rate")
        if (outcome := windows[i].decision.outcome(name, aspect)) is not None and outcome.fires
    }
    positions = np.concatenate([w.positions for w in windows[fired[0] : fired[-1] + 1]])
    result = run_tests(column, batch[name].iloc[positions], params)
    sizes: dict[Aspect, float] = {}
    if "null_rate" in aspects and result.null_share_current is not None:
        sizes["null_rate"] = abs(result.null_share_current - result.null_share_reference)
    if "distribution" in aspects:
        if isinstance(result, NumericDrift) and result.ks_statistic is not None:
            sizes["distribution"] = result.ks_statistic
        elif isinstance(result, CategoricalDrift) and result.cohens_w is not None:
            sizes["distribution"] = result.cohens_w**2
    return sizes


def detection_power(
    column: ColumnReference,
    aspect: Aspect,
    size: float,
    result: ColumnDrift,
    rows: int,
    level: float,
    threshold: float,
) -> float | None:
    """The chance that a test on these rows fires (reaches ``level`` and, where the effect is
    the test's own statistic, ``threshold``) if the drift is there at ``size``.

    KS: normal approximation of sqrt(n_eff) D around sqrt(n_eff) D* with the largest standard
    deviation it can have (0.5), against Smirnov's critical value (the W/sigma gate is not
    modelled: where the feature fired its effect was above it). Chi-square: the non-central
    chi-square with non-centrality n_h w*^2 above both its critical value and the statistic at
    which w reaches the threshold. Missing rate: the change's normal approximation under the
    drift, above both the z-test's critical change and the threshold.
    """
    reference = column.reference
    if aspect == "null_rate":
        rows_ref = _rows(reference)
        share_ref = reference.n_null / rows_ref
        share_cur = min(1.0, share_ref + size)
        pooled = (share_ref * rows_ref + share_cur * rows) / (rows_ref + rows)
        spread = math.sqrt(
            share_ref * (1 - share_ref) / rows_ref + share_cur * (1 - share_cur) / rows
        )
        if not 0 < pooled < 1 or rows < 1 or spread == 0:
            return None
        critical = scipy_stats.norm.isf(level / 2) * math.sqrt(
            pooled * (1 - pooled) * (1 / rows_ref + 1 / rows)
        )
        return float(scipy_stats.norm.sf((max(critical, threshold) - size) / spread))
    if isinstance(result, NumericDrift):
        assert isinstance(reference, NumericReference)
        n_ref, n_cur = reference.values.size, result.n_current
        if not n_ref or not n_cur:
            return None
        effective = n_ref * n_cur / (n_ref + n_cur)
        critical = float(scipy_stats.kstwobign.isf(level))
        return float(scipy_stats.norm.sf((critical - math.sqrt(effective) * size) / _KS_SD))
    assert isinstance(result, CategoricalDrift)
    if result.dof is None or not result.n_current or not result.n_reference:
        return None
    harmonic = result.n_reference * result.n_current / (result.n_reference + result.n_current)
    critical = max(
        float(scipy_stats.chi2.isf(level, result.dof)), result.dof + harmonic * threshold**2
    )
    return float(scipy_stats.ncx2.sf(critical, result.dof, harmonic * size))


def stretch_verdict(
    column: ColumnReference,
    values: pd.Series,
    sizes: Mapping[Aspect, float],
    params: DriftParams,
    rule: Rule,
    level: float,
) -> Literal["drifted", "not_drifted", "inconclusive"]:
    """Whether rows where a feature did not fire window by window show the drift stopped.

    The rows are tested together (the same tests; significant at ``level``, Holm's first step,
    and above the effect threshold): if they fire, the drift is there after all. If not, they
    show it stopped only when they had the power (:data:`STOP_POWER`) to see the drift at the
    size it has where the feature fired, in every aspect that fired there (distribution,
    missing rate); otherwise, or with fewer than ``min_rows`` rows, they cannot tell.
    """
    result = run_tests(column, values, params)
    distribution, null = feature_tests(column.name, column.kind, result, rule)
    for test in (distribution, null):
        if test is None or test.p_value is None:
            continue
        if test.p_value < level and (test.effect is None or test.effect > test.threshold):
            return "drifted"
    if len(values) < params.min_rows:
        return "inconclusive"  # fewer rows than any window is tested on
    thresholds = {"distribution": rule.threshold(column.kind), "null_rate": rule.null_threshold}
    powers = [
        detection_power(column, aspect, size, result, len(values), level, thresholds[aspect])
        for aspect, size in sizes.items()
    ]
    # The feature drifted if any of its tests fired, so it stopped only if none of them would
    # have missed the drift: every aspect that fired needs the power.
    if powers and all(power is not None and power >= STOP_POWER for power in powers):
        return "not_drifted"
    return "inconclusive"


def conclusive_flags(
    column: ColumnReference,
    batch: pd.DataFrame,
    windows: Sequence[_Window],
    params: DriftParams,
    rule: Rule,
    level: float,
) -> list[bool | None]:
    """Per window: drifted (True), not drifted (False), or inconclusive / not tested (None).

    Windows where the feature fired are drifted. Each stretch of windows after a fired one
    where it did not fire (up to the next fired window, or the end) is judged as a whole by
    :func:`stretch_verdict`: its windows are not drifted only if together they had the power to
    show the drift and did not; a small stretch (a partial last day, a quiet night) is
    inconclusive and does not end the run of drifted windows.
    """
    name = column.name
    flags: list[bool | None] = [True if w.fired(name) else None for w in windows]
    fired = [i for i, w in enumerate(windows) if w.fired(name)]
    if not fired:
        return flags
    sizes = _drift_sizes(column, batch, windows, fired, params)
    bounds = [*fired, len(windows)]
    for after, until in itertools.pairwise(bounds):
        stretch = windows[after + 1 : until]
        if not stretch:
            continue
        positions = np.concatenate([w.positions for w in stretch])
        verdict = stretch_verdict(column, batch[name].iloc[positions], sizes, params, rule, level)
        if verdict == "not_drifted":
            for i in range(after + 1, until):
                flags[i] = False
    return flags


def _windows(
    profile: Profile,
    batch: pd.DataFrame,
    times: pd.Series,
    decision: Decision,
    whole: Mapping[str, ColumnDrift],
    params: DriftParams,
    rule: Rule,
) -> tuple[list[dict[str, Any]], dict[str, str | None], dict[str, str], list[str]]:
    warnings: list[str] = []
    starts, groups = _time_windows(times, window_seconds(params.window))
    if len(starts) > MAX_WINDOWS:
        warnings.append(
            f"the batch spans {len(starts)} windows of {params.window}; only the last "
            f"{MAX_WINDOWS} were tested for when the drift began (use a wider drift.window)."
        )
        starts, groups = starts[-MAX_WINDOWS:], groups[-MAX_WINDOWS:]
    names = [f.name for f in profile.features]
    windows: list[_Window] = []
    rows = []
    for start, positions in zip(starts, groups, strict=True):
        entry: dict[str, Any] = {
            "start": _iso(start),
            "rows": len(positions),
            "tested": False,
            "drifted": [],
            "inconclusive": [],
        }
        rows.append(entry)
        if len(positions) < params.min_rows:
            windows.append(_Window(positions, None, None))
            continue
        if len(positions) == len(batch):
            # One window holds every row (positions ascending): its tests are the whole batch's.
            results = dict(whole)
        else:
            part = batch[names].iloc[positions]  # only the features: no copy of other columns
            results = {f.name: run_tests(f, part[f.name], params) for f in profile.features}
        window_decision = decide(_family(profile.features, results, rule), names, rule)
        entry["tested"] = True
        entry["drifted"] = list(window_decision.drifted)
        windows.append(_Window(positions, results, window_decision))
    level = rule.alpha / max(1, decision.family_size)
    since: dict[str, str | None] = {}
    notes: dict[str, str] = {}
    for name in decision.drifted:
        column = profile.feature(name)
        flags = conclusive_flags(column, batch, windows, params, rule, level)
        start_index = persistent_start(flags)
        since[name] = None if start_index is None else rows[start_index]["start"]
        # Each tested window after the first fired one where the feature did not fire, on its
        # own: could it tell? (Stretches of them are judged together above.)
        fired = [i for i, w in enumerate(windows) if w.fired(name)]
        sizes = _drift_sizes(column, batch, windows, fired, params) if fired else {}
        later = zip(rows[fired[0] :], windows[fired[0] :], strict=True) if fired else ()
        for entry, window in later:
            if window.tested(name) and not window.fired(name):
                values = batch[name].iloc[window.positions]
                verdict = stretch_verdict(column, values, sizes, params, rule, level)
                if verdict == "inconclusive":
                    entry["inconclusive"].append(name)
        if start_index is None:
            if not fired:
                notes[name] = (
                    f"no single {params.window} window showed {name}'s drift (only the whole "
                    "batch did: the windows are too small)"
                )
            else:
                first = fired[-1] + 1  # the stretch after the last fired window
                notes[name] = (
                    f"{name}'s drift is not persistent: the windows from {rows[first]['start']} "
                    "on had the rows to show it and did not"
                )
    return rows, since, notes, warnings


def _outputs_section(
    profile: Profile, outputs: Outputs | None, params: DriftParams, rule: Rule
) -> dict[str, Any]:
    if outputs is None:
        return {"source": "unavailable", "note": "no model outputs for this batch", "columns": []}
    columns = output_columns(profile.task, outputs.predictions)
    refs = [o for o in profile.outputs if o.name in columns]
    results = {o.name: run_tests(o, columns[o.name], params) for o in refs}
    # Outputs are a family of their own: they are functions of the features, not more evidence.
    decision = decide(_family(refs, results, rule), [o.name for o in refs], rule)
    entries = []
    for o in refs:
        constant = constant_in_batch(o, columns[o.name], results[o.name])
        entry = _column_entry(o, results[o.name], decision, key=False, constant=constant)
        entry["chart"] = column_chart(o, columns[o.name], bins=params.chart_bins)
        entries.append(entry)
    return {
        "source": outputs.source,
        "note": outputs.note,
        "moved": bool(decision.drifted),
        "columns": entries,
    }


def _performance_section(
    profile: Profile, batch: pd.DataFrame, outputs: Outputs | None, params: DriftParams
) -> dict[str, Any]:
    target = profile.model["target"]
    compared = len(profile.performance)
    # Simultaneous intervals over the metrics (Bonferroni): with no change in performance, the
    # chance that any metric reads "worse" (and so alarms) is at most (1 - confidence) / 2.
    level = 1 - (1 - params.confidence) / max(1, compared)
    base: dict[str, Any] = {
        "target": target,
        "confidence": params.confidence,
        "simultaneous_over": compared,
        "level": level,
        "alarm_enabled": params.performance_alarm,
        "alarm": False,
        "dropped": [],
        "metrics": [],
    }
    if target not in batch.columns or not batch[target].notna().any():
        return {**base, "status": "no_labels", "rows": 0}
    labelled = batch[target].notna().to_numpy()
    rows = int(labelled.sum())
    if outputs is None:
        return {**base, "status": "unavailable", "rows": rows}
    predictions = outputs.predictions.loc[labelled].reset_index(drop=True).copy()
    predictions["y_true"] = batch.loc[labelled, target].to_numpy()
    task = profile.task
    if task == "multiclass" and not any(str(c).startswith("proba_") for c in predictions):
        return {**base, "status": "unavailable", "rows": rows}
    if rows < params.min_rows:
        return {**base, "status": "too_few_rows", "rows": rows}
    # scikit-learn (via intervals -> metrics) only when the batch has labels to score.
    from mlgitops.intervals import metric_intervals

    try:
        intervals = metric_intervals(
            predictions,
            task=task,
            positive_class=profile.model.get("positive_class"),
            classes=profile.model.get("classes"),
            confidence=level,
            resamples=params.bootstrap_resamples,
            seed=params.seed,
        )
    except (DataError, ValueError):
        # One class only, or too few of a class for the AUC's variance: no calibrated interval.
        return {**base, "status": "one_class", "rows": rows}
    z = float(scipy_stats.norm.ppf(0.5 + level / 2))
    current = {m.name: m for m in intervals}
    metrics = []
    for ref in profile.performance:
        cur = current.get(ref.name)
        if cur is None:
            continue
        se_cur = (cur.high - cur.low) / (2 * z)
        diff = cur.value - ref.value
        half = z * math.sqrt(se_cur**2 + ref.se**2)
        low, high = diff - half, diff + half
        worse = high < 0 if ref.higher_is_better else low > 0
        better = low > 0 if ref.higher_is_better else high < 0
        metrics.append(
            {
                "name": ref.name,
                "higher_is_better": ref.higher_is_better,
                "reference": _finite(ref.value),
                "reference_se": _finite(ref.se),
                "current": _finite(cur.value),
                "current_low": _finite(cur.low),
                "current_high": _finite(cur.high),
                "difference": _finite(diff),
                "low": _finite(low),
                "high": _finite(high),
                "change": "worse" if worse else "better" if better else "no_change",
                "method": cur.method,
            }
        )
    dropped = [m["name"] for m in metrics if m["change"] == "worse"]
    return {
        **base,
        "status": "dropped" if dropped else "ok",
        "alarm": bool(dropped) and params.performance_alarm,
        "rows": rows,
        "dropped": dropped,
        "metrics": metrics,
    }


def _signed(value: float) -> str:
    return f"{value:+.3f}".replace("-", "\u2212")


def performance_drop(performance: Mapping[str, Any]) -> str | None:
    """The performance drop in words (the first worse metric in full), or None.

    For example ``accuracy 0.876 → 0.637 (−0.239, 95% CI −0.270 to −0.208)``; further worse
    metrics are named after it.
    """
    worse = [m for m in performance.get("metrics", []) if m["change"] == "worse"]
    if not worse:
        return None
    first = worse[0]
    conf = round(performance["confidence"] * 100)
    text = (
        f"{first['name']} {first['reference']:.3f} \u2192 {first['current']:.3f} "
        f"({_signed(first['difference'])}, {conf}% CI {_signed(first['low'])} to "
        f"{_signed(first['high'])})"
    )
    if len(worse) > 1:
        text += f"; also {', '.join(m['name'] for m in worse[1:])}"
    return text


#: ``verdict`` of drift.json: what raised the alarm, if anything.
VERDICTS = {
    (False, False): "no_drift",
    (True, False): "drift",
    (False, True): "performance_drop",
    (True, True): "drift_and_performance_drop",
}


def _headline(decision: Decision, performance: Mapping[str, Any]) -> str:
    names = ", ".join(decision.drifted)
    n, m = len(decision.drifted), len(decision.features)
    drop = performance_drop(performance) if performance.get("alarm") else None
    if decision.drift:
        features = f"Drift in {n} of {m} features: {names}"
        return f"{features}; performance dropped: {drop}" if drop else features
    if drop:
        return f"Performance dropped: {drop}"
    if decision.drifted:
        return f"No drift: {n} of {m} features moved ({names}), below the alarm rule"
    return "No drift"


def check_drift(
    profile: Profile,
    batch: pd.DataFrame,
    params: DriftParams,
    *,
    outputs: Outputs | None,
    model: Mapping[str, Any],
    source: Mapping[str, Any],
) -> DriftReport:
    """Compare a batch with the profile; decide; build the ``drift.json`` document.

    Args:
        profile: The model's profile.
        batch: The current rows (validated against the input schema; every feature present).
        params: The ``drift`` section.
        outputs: The model's outputs on the batch (None: not available).
        model: What to say about the model (:data:`MODEL_FIELDS`; missing ones are null).
        source: Where the batch came from (``load_batch``'s description: current, kind,
            files, file_count, since, until).

    Returns:
        The report.

    Raises:
        DataError: a key feature is not a model feature.
    """
    rule = Rule.from_params(params)
    names = [f.name for f in profile.features]
    unknown = [k for k in rule.key_features if k not in names]
    if unknown:
        raise DataError(
            f"drift.key_features names {', '.join(unknown)}, which the model does not take "
            f"(its features: {', '.join(names)}); fix drift.key_features in params.yaml."
        )
    results = {f.name: run_tests(f, batch[f.name], params) for f in profile.features}
    decision = decide(_family(profile.features, results, rule), names, rule)
    constants = {
        f.name: constant_in_batch(f, batch[f.name], results[f.name]) for f in profile.features
    }
    entries = {
        f.name: _column_entry(
            f,
            results[f.name],
            decision,
            key=f.name in rule.key_features,
            constant=constants[f.name],
        )
        for f in profile.features
    }
    for name in decision.drifted:
        entries[name]["chart"] = column_chart(
            profile.feature(name), batch[name], bins=params.chart_bins
        )

    warnings: list[str] = []
    time_column = params.time_column
    windows: list[dict[str, Any]] = []
    since = None
    since_note = "nothing drifted" if not decision.drifted else None
    time_from = time_to = None
    if time_column in batch.columns:
        times = pd.to_datetime(batch[time_column], utc=True, errors="coerce")
        if times.notna().any():
            time_from, time_to = _iso(times.min()), _iso(times.max())
            windows, since_by_feature, notes, more = _windows(
                profile, batch, times, decision, results, params, rule
            )
            warnings.extend(more)
            for name, start in since_by_feature.items():
                entries[name]["since"] = start
                entries[name]["since_note"] = notes.get(name)
            starts = [s for s in since_by_feature.values() if s is not None]
            since = min(starts) if starts else None
            if since is None and decision.drifted:
                since_note = "; ".join(notes[name] for name in decision.drifted)
        else:
            warnings.append(f"the time column {time_column} holds no readable times.")
            if decision.drifted:
                since_note = f"the time column {time_column} holds no readable times"
    elif decision.drifted:
        since_note = (
            f"the batch has no time column ({time_column}, drift.time_column) to cut into "
            f"{params.window} windows"
        )
    for name, value in constants.items():
        if value is not None:
            warnings.append(
                f"{name} is constant in the batch (every value is {value!r}) but varied in "
                "training: check the source for a default, a filter or a broken join."
            )
    untested = [n for n in names if entries[n]["verdict"] == "not_tested"]
    if untested:
        warnings.append(
            f"{len(untested)} feature(s) could not be tested ({', '.join(untested)}): see "
            "their status."
        )
    versions = None
    if "_version" in batch.columns:
        counts = batch["_version"].astype(str).value_counts()
        versions = {str(k): int(v) for k, v in sorted(counts.items())}
    performance = _performance_section(profile, batch, outputs, params)
    if not decision.drifted and performance["alarm"]:
        since_note = "a performance drop is measured on the whole batch, not per window"
    reasons = list(decision.reasons)
    drop = performance_drop(performance)
    if drop:
        alarm_note = "" if performance["alarm"] else " (drift.performance_alarm is off: no alarm)"
        reasons.append(f"performance dropped: {drop}{alarm_note}")
    alarms = [
        name
        for name, raised in (("drift", decision.drift), ("performance", performance["alarm"]))
        if raised
    ]
    doc = {
        "schema_version": DRIFT_SCHEMA_VERSION,
        "verdict": VERDICTS[(decision.drift, bool(performance["alarm"]))],
        "alarm": bool(alarms),
        "alarms": alarms,
        "headline": _headline(decision, performance),
        "model": {key: model.get(key) for key in MODEL_FIELDS},
        "batch": {
            "current": source.get("current"),
            "kind": source.get("kind", "table"),
            "files": list(source.get("files", [])),
            "file_count": int(source.get("file_count", 1)),
            "since": source.get("since"),
            "until": source.get("until"),
            "rows": len(batch),
            "time_column": time_column if time_column in batch.columns else None,
            "from": time_from,
            "to": time_to,
            "versions": versions,
        },
        "rule": {**rule.to_dict(), "family_size": decision.family_size},
        "decision": {
            "drifted": list(decision.drifted),
            "key_drifted": list(decision.key_drifted),
            "share": decision.share,
            "features": len(decision.features),
            "reasons": reasons,
        },
        "window": params.window,
        "since": since,
        "since_note": since_note,
        "windows": windows,
        "features": sorted(entries.values(), key=_sort_key),
        "predictions": _outputs_section(profile, outputs, params, rule),
        "performance": performance,
        "profile": {
            "training_rows": profile.training_rows,
            "evaluation_rows": profile.evaluation_rows,
            "settings": profile.settings,
        },
        "warnings": warnings,
    }
    return DriftReport(doc)
