"""The pull-request gate: a paired comparison of two models on the same rows (pure core).

Both models are scored on the candidate's evaluation rows. Each gated metric gets the paired test
that suits it (McNemar mid-p with Tango's interval for accuracy, DeLong for ROC AUC, a seeded
paired bootstrap for the rest), and three one-sided p-values against the metric's margin ``m``
(oriented so that a positive difference is an improvement):

* non-inferiority, H0: difference <= -m. Shown when p < alpha. The check needs *every* gated
  metric to be non-inferior, an intersection-union test, which is already a level-alpha test of
  the combined claim: no multiplicity correction is needed (or wanted: it would only cost power).
* inferiority, H0: difference >= -m ("worse by more than the margin"). Any one such finding fails
  the check, a union of claims, so these p-values are Holm-corrected across the metrics and the
  slices: a model no worse than main is failed with probability at most alpha.
* superiority, H0: difference <= 0. "Better" is claimed when any metric shows it, a union again,
  so Holm-corrected across the metrics.

The decision of a metric is then: ``out_of_bounds`` (its floor or ceiling is broken; floors and
ceilings bound the whole evaluation set, not its slices), ``worse``, ``better``, ``not_worse`` or
``inconclusive`` (none of them could be shown). The displayed intervals are two-sided at
1 - 2 alpha, so the lower limit is exactly the bound the non-inferiority test uses: an interval
that stays above ``-m`` is a pass.

Fail closed: a gated metric or a declared slice that cannot be computed is ``missing``, and a
missing anything makes the verdict ``missing``, which never passes. A slice metric that is
undefined on that slice (ROC AUC on a slice holding one class) is shown as ``undefined`` and not
judged, like a slice below the minimum size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
import pandas as pd

from mlgitops.evaluate import slice_labels
from mlgitops.metrics import compute_metrics, higher_is_better, positives
from mlgitops.params import GateParams, MetricGate, SliceSpec
from mlgitops.stats.bootstrap import (
    f1_difference,
    mean_difference,
    paired_bootstrap,
    root_mean_difference,
)
from mlgitops.stats.multiple import holm
from mlgitops.stats.paired import accuracy_test, auc_test
from mlgitops.stats.power import minimum_detectable_effect, noninferiority_power, required_rows

RESULT_VERSION = 1

#: The value shown for a declared slice whose column is not in the evaluation data.
MISSING_SLICE = "(column missing)"

#: Verdicts, best first. The check passes on the first two; on ``inconclusive``,
#: ``no_baseline`` and ``incomparable`` as the gate's policy says; never on the others.
VERDICTS = (
    "better",
    "not_worse",
    "inconclusive",
    "worse",
    "out_of_bounds",
    "missing",
    "no_baseline",
    "baseline_unavailable",
    "incomparable",
)

# Decisions of one metric, from best to worst; a slice's "too_small" and "undefined" are shown,
# not judged.
DECISIONS = ("better", "not_worse", "inconclusive", "worse", "out_of_bounds", "missing")
NOT_JUDGED = ("too_small", "undefined")


class PairedResult(Protocol):
    """What every paired test returns: a difference (candidate - baseline), its interval, its
    standard error, a two-sided p-value of no difference, and one-sided p-values at any null."""

    se: float
    p_value: float
    ci_low: float
    ci_high: float

    def p_greater(self, delta0: float) -> float: ...

    def p_less(self, delta0: float) -> float: ...


@dataclass(frozen=True)
class MetricComparison:
    """One metric of the two models on one set of rows, with its tests and its decision."""

    name: str
    higher_is_better: bool
    rows: int
    baseline: float | None
    candidate: float | None
    difference: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    test: str | None = None
    margin: float | None = None
    margin_relative: float | None = None  # the configured share, when the margin is relative
    p_noninferiority: float | None = None
    p_inferiority: float | None = None
    p_superiority: float | None = None
    p_inferiority_adjusted: float | None = None
    p_superiority_adjusted: float | None = None
    se: float | None = None
    mde: float | None = None
    noninferiority_power: float | None = None
    rows_for_power: int | None = None
    floor: float | None = None
    ceiling: float | None = None
    decision: str = "missing"
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: _plain(v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class SliceComparison:
    """The gated metrics of one slice of the evaluation rows."""

    column: str
    value: str
    rows: int
    judged: bool
    metrics: tuple[MetricComparison, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "value": self.value,
            "rows": self.rows,
            "judged": self.judged,
            "metrics": [m.to_dict() for m in self.metrics],
        }


@dataclass(frozen=True)
class Comparison:
    """The gate's full result: verdict, reason, metrics, slices and warnings."""

    verdict: str
    passed: bool
    reason: str
    alpha: float
    confidence: float
    rows: int
    metrics: tuple[MetricComparison, ...]
    slices: tuple[SliceComparison, ...]
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "passed": self.passed,
            "reason": self.reason,
            "alpha": self.alpha,
            "confidence": self.confidence,
            "rows": self.rows,
            "metrics": [m.to_dict() for m in self.metrics],
            "slices": [s.to_dict() for s in self.slices],
            "warnings": list(self.warnings),
        }


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


# ---------------------------------------------------------------------------------------------
# Per-row inputs of each metric's paired test
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rows:
    """The two models' predictions of the same rows, with the truth."""

    task: str
    y_true: np.ndarray
    base_pred: np.ndarray
    cand_pred: np.ndarray
    base_score: np.ndarray | None  # P(positive) for binary; (n, k) probabilities for multiclass
    cand_score: np.ndarray | None
    positive_class: Any
    classes: list[Any] | None

    def subset(self, mask: np.ndarray) -> Rows:
        def cut(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[mask]

        return replace(
            self,
            y_true=self.y_true[mask],
            base_pred=self.base_pred[mask],
            cand_pred=self.cand_pred[mask],
            base_score=cut(self.base_score),
            cand_score=cut(self.cand_score),
        )

    @property
    def n(self) -> int:
        return len(self.y_true)

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(baseline, candidate) predictions frames, for :func:`compute_metrics`."""
        out = []
        for pred, score in ((self.base_pred, self.base_score), (self.cand_pred, self.cand_score)):
            frame = pd.DataFrame({"y_true": self.y_true, "y_pred": pred})
            if self.task == "binary":
                frame["score"] = score
            elif self.task == "multiclass":
                for i, label in enumerate(self.classes or []):
                    frame[f"proba_{label}"] = score[:, i]
            out.append(frame)
        return out[0], out[1]


_EPS = np.finfo(np.float64).eps


def _log_losses(rows: Rows, score: np.ndarray) -> np.ndarray:
    if rows.task == "binary":
        y = positives(rows.y_true, rows.positive_class)
        p = np.clip(score, _EPS, 1 - _EPS)
        return -(y * np.log(p) + (1 - y) * np.log1p(-p))
    classes = list(rows.classes or [])
    index = np.array([classes.index(v) for v in rows.y_true])
    # scikit-learn renormalises each row after clipping; do the same so the means agree.
    p = np.clip(score, _EPS, 1 - _EPS)
    p = p / p.sum(axis=1, keepdims=True)
    return -np.log(p[np.arange(len(index)), index])


def _f1_indicators(rows: Rows, pred: np.ndarray) -> np.ndarray:
    labels = [rows.positive_class] if rows.task == "binary" else list(rows.classes or [])
    truth = rows.y_true
    tp = np.stack([(pred == c) & (truth == c) for c in labels], axis=1)
    fp = np.stack([(pred == c) & (truth != c) for c in labels], axis=1)
    fn = np.stack([(pred != c) & (truth == c) for c in labels], axis=1)
    return np.concatenate([tp, fp, fn], axis=1).astype(np.float64)


def _r2_difference(means: np.ndarray) -> np.ndarray:
    """Candidate minus baseline R², from means of (e_b², e_c², y, y²)."""
    sst = means[:, 3] - means[:, 2] ** 2
    return np.divide(means[:, 0] - means[:, 1], sst, out=np.zeros(len(means)), where=sst > 0)


def _bootstrap_inputs(name: str, rows: Rows) -> tuple[np.ndarray, Callable[..., np.ndarray]]:
    """The per-row matrix and the statistic of a bootstrap-tested metric."""
    if name == "log_loss":
        values = np.column_stack(
            [_log_losses(rows, rows.base_score), _log_losses(rows, rows.cand_score)]
        )
        return values, mean_difference
    if name == "brier_score_loss":
        y = positives(rows.y_true, rows.positive_class)
        values = np.column_stack([(rows.base_score - y) ** 2, (rows.cand_score - y) ** 2])
        return values, mean_difference
    if name == "f1_score":
        values = np.column_stack(
            [_f1_indicators(rows, rows.base_pred), _f1_indicators(rows, rows.cand_pred)]
        )
        return values, f1_difference
    y = rows.y_true.astype(np.float64)
    base_err = rows.base_pred.astype(np.float64) - y
    cand_err = rows.cand_pred.astype(np.float64) - y
    if name == "mean_absolute_error":
        return np.column_stack([np.abs(base_err), np.abs(cand_err)]), mean_difference
    if name == "root_mean_squared_error":
        return np.column_stack([base_err**2, cand_err**2]), root_mean_difference
    if name == "r2_score":
        return np.column_stack([base_err**2, cand_err**2, y, y**2]), _r2_difference
    raise ValueError(f"no paired test for metric {name!r}")


def paired_test(
    name: str, rows: Rows, *, confidence: float, resamples: int, seed: int
) -> tuple[PairedResult, str, float]:
    """The paired test of ``name`` on ``rows``: (result, test name, point difference)."""
    if name == "accuracy":
        result = accuracy_test(
            rows.base_pred == rows.y_true, rows.cand_pred == rows.y_true, confidence
        )
        return result, "McNemar mid-p, Tango score interval", result.difference
    if name == "roc_auc":
        y = positives(rows.y_true, rows.positive_class)
        result = auc_test(y, rows.base_score, rows.cand_score, confidence)
        return result, "DeLong", result.difference
    values, statistic = _bootstrap_inputs(name, rows)
    result = paired_bootstrap(
        values, statistic, seed=seed, n_resamples=resamples, confidence=confidence
    )
    return result, f"paired bootstrap ({resamples:,} resamples)", result.estimate


# ---------------------------------------------------------------------------------------------
# One metric on one set of rows
# ---------------------------------------------------------------------------------------------


def _margin(rule: MetricGate, baseline: float) -> float:
    return rule.margin if rule.margin_type == "absolute" else rule.margin * abs(baseline)


def _out_of_bounds(value: float, floor: float | None, ceiling: float | None) -> str | None:
    if floor is not None and value < floor:
        return f"is {value:.4f}, below its floor {floor:g}"
    if ceiling is not None and value > ceiling:
        return f"is {value:.4f}, above its ceiling {ceiling:g}"
    return None


def compare_metric(
    name: str,
    rule: MetricGate,
    rows: Rows,
    values: tuple[dict[str, float], dict[str, float]] | None,
    gate: GateParams,
    *,
    seed_offset: int = 0,
    bounded: bool = True,
) -> MetricComparison:
    """Test one metric on one set of rows (multiplicity adjustment comes later).

    ``bounded``: apply the metric's floor and ceiling (to the whole evaluation set, not slices).
    """
    up = higher_is_better(name)
    base_metrics, cand_metrics = values if values is not None else ({}, {})
    base_value, cand_value = base_metrics.get(name), cand_metrics.get(name)
    start = MetricComparison(
        name=name,
        higher_is_better=up,
        rows=rows.n,
        baseline=base_value,
        candidate=cand_value,
        floor=rule.floor if bounded else None,
        ceiling=rule.ceiling if bounded else None,
    )
    if base_value is None or cand_value is None:
        return replace(start, decision="missing", note=f"{name} is not defined on these rows")
    confidence = 1 - 2 * gate.alpha
    try:
        result, test, difference = paired_test(
            name,
            rows,
            confidence=confidence,
            resamples=gate.bootstrap_resamples,
            seed=gate.seed + seed_offset,
        )
    except ValueError as exc:
        return replace(start, decision="missing", note=str(exc))
    margin = _margin(rule, base_value)
    if up:
        p_ni, p_inf, p_sup = result.p_greater(-margin), result.p_less(-margin), result.p_greater(0)
    else:
        p_ni, p_inf, p_sup = result.p_less(margin), result.p_greater(margin), result.p_less(0)
    se = float(result.se)
    mde = rows_needed = None
    power = None
    if se > 0:
        mde = minimum_detectable_effect(se, gate.alpha, gate.power)
        power = noninferiority_power(se, margin, gate.alpha)
        if margin > 0 and power < gate.power:
            rows_needed = required_rows(se, rows.n, margin, gate.alpha, gate.power)
    elif margin > 0:
        power = 1.0
    return replace(
        start,
        difference=float(difference),
        ci_low=float(result.ci_low),
        ci_high=float(result.ci_high),
        p_value=float(result.p_value),
        test=test,
        margin=float(margin),
        margin_relative=rule.margin if rule.margin_type == "relative" else None,
        p_noninferiority=float(p_ni),
        p_inferiority=float(p_inf),
        p_superiority=float(p_sup),
        se=se,
        mde=mde,
        noninferiority_power=power,
        rows_for_power=rows_needed,
    )


def _decide(metric: MetricComparison, alpha: float, claims_better: bool) -> MetricComparison:
    if metric.decision == "missing" and metric.p_noninferiority is None:
        return metric
    assert metric.candidate is not None
    bound = _out_of_bounds(metric.candidate, metric.floor, metric.ceiling)
    if bound is not None:
        return replace(metric, decision="out_of_bounds", note=bound)
    if metric.p_inferiority_adjusted is not None and metric.p_inferiority_adjusted < alpha:
        return replace(metric, decision="worse")
    if metric.p_noninferiority is not None and metric.p_noninferiority < alpha:
        if (
            claims_better
            and metric.p_superiority_adjusted is not None
            and metric.p_superiority_adjusted < alpha
        ):
            return replace(metric, decision="better")
        return replace(metric, decision="not_worse")
    return replace(metric, decision="inconclusive")


# ---------------------------------------------------------------------------------------------
# The whole comparison
# ---------------------------------------------------------------------------------------------


def _metric_values(rows: Rows) -> tuple[dict[str, float], dict[str, float]]:
    """Every metric of both models on ``rows``.

    Raises:
        DataError: classification rows holding a single class (see :func:`compute_metrics`).
    """
    base, cand = rows.frames()
    kwargs = {"task": rows.task, "positive_class": rows.positive_class, "classes": rows.classes}
    return compute_metrics(base, **kwargs), compute_metrics(cand, **kwargs)


#: Metrics with no value on classification rows that hold a single class.
ONE_CLASS_UNDEFINED = frozenset({"roc_auc", "f1_score"})

#: Metrics whose value is the mean of a per-row loss, computed here without scikit-learn's
#: input validation (which costs far more than the arithmetic on a slice).
_ROW_MEANS = frozenset({"accuracy", "log_loss", "brier_score_loss"})


def _row_mean_values(rows: Rows, names: tuple[str, ...]) -> tuple[dict[str, float], ...]:
    out = []
    for pred, score in ((rows.base_pred, rows.base_score), (rows.cand_pred, rows.cand_score)):
        values: dict[str, float] = {}
        if "accuracy" in names:
            values["accuracy"] = float(np.mean(pred == rows.y_true))
        if score is not None and "log_loss" in names:
            values["log_loss"] = float(np.mean(_log_losses(rows, score)))
        if score is not None and rows.task == "binary" and "brier_score_loss" in names:
            y = positives(rows.y_true, rows.positive_class)
            values["brier_score_loss"] = float(np.mean((score - y) ** 2))
        out.append(values)
    return out[0], out[1]


def _slice_values(
    rows: Rows, names: tuple[str, ...]
) -> tuple[tuple[dict[str, float], dict[str, float]], bool]:
    """(the values of ``names`` for both models, whether the rows hold one class) of a slice."""
    one_class = rows.task != "regression" and len(pd.unique(rows.y_true)) < 2
    if one_class or (rows.task != "regression" and set(names) <= _ROW_MEANS):
        base, cand = _row_mean_values(rows, names)
        return (base, cand), one_class
    return _metric_values(rows), False


def compare_rows(
    rows: Rows,
    frame: pd.DataFrame,
    *,
    gate: GateParams,
    slices: tuple[SliceSpec, ...],
) -> Comparison:
    """Compare the two models' predictions in ``rows`` (aligned with ``frame``) under ``gate``."""
    values = _metric_values(rows)
    overall = [
        compare_metric(name, rule, rows, values, gate, seed_offset=i)
        for i, (name, rule) in enumerate(gate.metrics.items())
    ]
    slice_results: list[SliceComparison] = []
    warnings: list[str] = []
    offset = len(overall)
    for spec in slices:
        if spec.column not in frame.columns:
            slice_results.append(
                SliceComparison(
                    spec.column,
                    MISSING_SLICE,
                    0,
                    judged=True,
                    metrics=tuple(
                        MetricComparison(
                            name=m,
                            higher_is_better=higher_is_better(m),
                            rows=0,
                            baseline=None,
                            candidate=None,
                            decision="missing",
                            note=f"slice column {spec.column} is not in the evaluation data",
                        )
                        for m in gate.slices.metrics
                    ),
                )
            )
            continue
        labels = slice_labels(frame[spec.column].reset_index(drop=True), spec).to_numpy()
        for value in sorted(pd.unique(labels)):
            mask = labels == value
            sub = rows.subset(mask)
            judged = sub.n >= gate.slices.min_rows
            metrics = []
            sub_values, one_class = _slice_values(sub, gate.slices.metrics)
            for name in gate.slices.metrics:
                offset += 1
                base_v, cand_v = sub_values
                shown = MetricComparison(
                    name=name,
                    higher_is_better=higher_is_better(name),
                    rows=sub.n,
                    baseline=base_v.get(name),
                    candidate=cand_v.get(name),
                )
                if not judged:
                    metrics.append(
                        replace(
                            shown,
                            decision="too_small",
                            note=f"fewer than {gate.slices.min_rows} rows: shown, not judged",
                        )
                    )
                elif one_class and name in ONE_CLASS_UNDEFINED:
                    metrics.append(
                        replace(
                            shown,
                            decision="undefined",
                            note=f"{name} is not defined on rows of one class: not judged",
                        )
                    )
                else:
                    metrics.append(
                        compare_metric(
                            name,
                            gate.metrics[name],
                            sub,
                            sub_values,
                            gate,
                            seed_offset=offset,
                            bounded=False,
                        )
                    )
            slice_results.append(
                SliceComparison(spec.column, str(value), sub.n, judged, tuple(metrics))
            )

    # Holm across every judged "worse than the margin" claim: overall metrics and slices.
    family = [m for m in overall if m.p_inferiority is not None]
    family += [
        m for s in slice_results for m in s.metrics if s.judged and m.p_inferiority is not None
    ]
    adjusted_inf = (
        dict(zip(map(id, family), holm([m.p_inferiority for m in family]), strict=True))
        if family
        else {}
    )
    better_family = [m for m in overall if m.p_superiority is not None]
    adjusted_sup = (
        dict(
            zip(map(id, better_family), holm([m.p_superiority for m in better_family]), strict=True)
        )
        if better_family
        else {}
    )

    def settle(m: MetricComparison, claims_better: bool) -> MetricComparison:
        m = replace(
            m,
            p_inferiority_adjusted=_opt(adjusted_inf.get(id(m))),
            p_superiority_adjusted=_opt(adjusted_sup.get(id(m))) if claims_better else None,
        )
        return _decide(m, gate.alpha, claims_better)

    overall = [settle(m, True) for m in overall]
    slice_results = [
        replace(
            s,
            metrics=tuple(m if m.decision in NOT_JUDGED else settle(m, False) for m in s.metrics),
        )
        for s in slice_results
    ]
    for m in overall:
        if m.rows_for_power is not None:
            warnings.append(
                f"the evaluation set ({m.rows:,} rows) is too small to show {m.name} within its "
                f"margin ({m.margin:.4g}) with {gate.power:.0%} power (power "
                f"{m.noninferiority_power:.0%}); about {m.rows_for_power:,} rows would be needed"
            )
    verdict, reason = verdict_of(overall, slice_results, gate.alpha)
    passed = verdict in ("better", "not_worse") or (
        verdict == "inconclusive" and gate.on_inconclusive == "pass"
    )
    return Comparison(
        verdict=verdict,
        passed=passed,
        reason=reason,
        alpha=gate.alpha,
        confidence=1 - 2 * gate.alpha,
        rows=rows.n,
        metrics=tuple(overall),
        slices=tuple(slice_results),
        warnings=tuple(warnings),
    )


def _opt(value: float | None) -> float | None:
    return None if value is None else float(value)


def _signed(value: float) -> str:
    return f"{value:+.4f}".replace("-", "\u2212")


def fmt_diff(m: MetricComparison, confidence: float) -> str:
    """A difference and its interval in one phrase, as the report's tables write them:
    ``−0.0123 (90% CI −0.0200 to −0.0050)``."""
    if m.difference is None or m.ci_low is None or m.ci_high is None:
        return "n/a"
    level = f"{confidence * 100:g}%"
    return f"{_signed(m.difference)} ({level} CI {_signed(m.ci_low)} to {_signed(m.ci_high)})"


def verdict_of(
    overall: list[MetricComparison], slices: list[SliceComparison], alpha: float
) -> tuple[str, str]:
    """The verdict and its one-line reason, from the decided metrics and slices."""
    confidence = 1 - 2 * alpha
    worse = [m for m in overall if m.decision == "worse"]
    if worse:
        m = worse[0]
        return "worse", (
            f"{m.name} is worse by more than its margin ({m.margin:.4g}): {fmt_diff(m, confidence)}"
        )
    worse_slices = [(s, m) for s in slices for m in s.metrics if m.decision == "worse"]
    if worse_slices:
        s, m = worse_slices[0]
        return "worse", (
            f"{m.name} on {s.column} = {s.value} ({s.rows:,} rows) is worse by more than its "
            f"margin ({m.margin:.4g}): {fmt_diff(m, confidence)}"
        )
    bounds = [m for m in overall if m.decision == "out_of_bounds"]
    if bounds:
        return "out_of_bounds", f"{bounds[0].name} {bounds[0].note}"
    missing = [m for m in overall if m.decision == "missing"]
    if missing:
        return "missing", f"cannot judge {missing[0].name}: {missing[0].note}"
    missing_slices = [(s, m) for s in slices for m in s.metrics if m.decision == "missing"]
    if missing_slices:
        s, m = missing_slices[0]
        where = s.column if s.value == MISSING_SLICE else f"{s.column} = {s.value}"
        return "missing", f"cannot judge {m.name} on {where}: {m.note}"
    undecided = [m for m in overall if m.decision == "inconclusive"]
    if undecided:
        m = undecided[0]
        return "inconclusive", (
            f"{m.name} cannot be shown within its margin ({m.margin:.4g}) nor beyond it: "
            f"{fmt_diff(m, confidence)}"
        )
    better = [m for m in overall if m.decision == "better"]
    if better:
        names = ", ".join(f"{m.name} {fmt_diff(m, confidence)}" for m in better)
        return "better", f"significantly better on {names}; nothing worse beyond its margin"
    return "not_worse", "every gated metric is within its margin of the baseline"
