"""The batch-level false-alarm rate under no drift and the power against known shifts (simulated).

Each trial splits UCI Adult's 32,561 rows at random into a reference (profiled with the real
``summarise``, the ``profile`` stage's code) and a disjoint batch, so the two are exchangeable:
no drift, exactly. The batch is tested with the real column tests and judged with the real
decision rule (``run_tests`` + ``feature_tests`` + ``decide``, what ``check_drift`` runs), under
several rules at once on the same trial:

- ``configured``: params.yaml's drift section (Holm, W/sigma > 0.1, Cohen's w > 0.3,
  missing-share change > 0.05, 25 % of features or a key feature);
- ``p_only_holm`` / ``p_only_bh``: every effect threshold at 0 and any drifted feature enough,
  so the rate is the family-wise error of the p-values alone (the part that must be calibrated).

An alarm needs a rejected test, so every rate is bounded by alpha; the bound asserted is
alpha + 3 Monte-Carlo standard deviations (0.096 at 200 trials). Measured with these seeds
(200 trials each, alpha = 0.05):

    reference 10,000 vs batch 500:   configured 0.000, p_only_holm 0.050, p_only_bh 0.050
    reference 2,000 vs batch 2,000:  configured 0.005, p_only_holm 0.040, p_only_bh 0.045
    reference 500 vs batch 5,000:    configured 0.005, p_only_holm 0.050, p_only_bh 0.050

Categorical features alone, at tens of thousands of rows and with 100 and 300 categories, are in
``tests/drift/test_categorical_calibration.py``.

Power of the configured rule (30 trials, reference 20,000 vs batch 500): the injected shifts
(age + 10 years, hours per week x 1.3) are found in every trial, naming exactly those two
features; age + 5 years alone (W/sigma about 0.37) in every trial; age + 2 years (W/sigma about
0.15, just above the threshold) in a third: at 500 rows, Holm over 14 tests needs more evidence
than that.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mlgitops.drift_check import FeatureTest, Rule, decide, feature_tests, run_tests
from mlgitops.drift_profile import (
    ColumnReference,
    category_values,
    feature_kind,
    numeric_values,
    summarise,
)
from mlgitops.params import DriftParams, ProfileParams, load_params
from tests.drift.helpers import shifted

TRIALS = 200
POWER_TRIALS = 30

# scipy's exact two-sample KS overflows on some 2,000 vs 2,000 tied samples and falls back to the
# asymptotic p-value itself, with this warning (see mlgitops.stats.drift._ks_test).
pytestmark = pytest.mark.filterwarnings(
    "error", "ignore:ks_2samp. Exact calculation unsuccessful:RuntimeWarning"
)


def _mc_bound(alpha: float, trials: int) -> float:
    return alpha + 3 * math.sqrt(alpha * (1 - alpha) / trials)


@pytest.fixture(scope="module")
def params(root) -> tuple[DriftParams, ProfileParams]:
    loaded = load_params(root / "params.yaml")
    return loaded.drift, loaded.profile


@pytest.fixture(scope="module")
def features(profile) -> list[tuple[str, str]]:
    return [(f.name, f.dtype) for f in profile.features]


def _rules(drift: DriftParams) -> dict[str, Rule]:
    p_only = {
        "numeric_threshold": 0.0,
        "categorical_threshold": 0.0,
        "null_threshold": 0.0,
        "share_threshold": 0.01,
        "key_features": (),
    }
    return {
        "configured": Rule.from_params(drift),
        "p_only_holm": Rule.from_params(drift.model_copy(update=p_only)),
        "p_only_bh": Rule.from_params(drift.model_copy(update={**p_only, "correction": "bh"})),
    }


def _references(
    reference: pd.DataFrame, features: list[tuple[str, str]], profile_params: ProfileParams
) -> list[ColumnReference]:
    return [
        ColumnReference(name, kind, dtype, summarise(reference[name], kind, profile_params))
        for name, dtype in features
        for kind in (feature_kind(dtype),)
    ]


def _judge(
    columns: list[ColumnReference],
    batch: pd.DataFrame,
    drift: DriftParams,
    rules: dict[str, Rule],
):
    results = [(c, run_tests(c, batch[c.name], drift)) for c in columns]
    names = [c.name for c in columns]
    decisions = {}
    for label, rule in rules.items():
        tests: list[FeatureTest] = []
        for column, result in results:
            distribution, null = feature_tests(column.name, column.kind, result, rule)
            tests += [distribution] if null is None else [distribution, null]
        decisions[label] = decide(tests, names, rule)
    return decisions


@pytest.fixture(scope="module")
def data(adult: pd.DataFrame, features) -> pd.DataFrame:
    """The features as the tests take them (floats, objects with None), converted once."""
    return pd.DataFrame(
        {
            name: numeric_values(adult[name])
            if feature_kind(dtype) == "numeric"
            else category_values(adult[name])
            for name, dtype in features
        }
    )


@pytest.mark.parametrize(("n_reference", "n_batch"), [(10_000, 500), (2_000, 2_000), (500, 5_000)])
def test_batch_false_alarm_rate_under_no_drift_is_at_most_alpha(
    data: pd.DataFrame, features, params, n_reference: int, n_batch: int
) -> None:
    drift, profile_params = params
    rules = _rules(drift)
    rng = np.random.default_rng(20240611 + n_batch)
    alarms = dict.fromkeys(rules, 0)
    for _ in range(TRIALS):
        order = rng.permutation(len(data))
        columns = _references(data.iloc[order[:n_reference]], features, profile_params)
        batch = data.iloc[order[n_reference : n_reference + n_batch]]
        for label, decision in _judge(columns, batch, drift, rules).items():
            alarms[label] += decision.drift
    rates = {label: count / TRIALS for label, count in alarms.items()}
    print(f"\nfalse-alarm rate, reference {n_reference} vs batch {n_batch}: {rates}")
    bound = _mc_bound(drift.alpha, TRIALS)
    assert all(rate <= bound for rate in rates.values()), rates
    # The effect gate can only remove alarms.
    assert rates["configured"] <= rates["p_only_holm"]


def test_power_against_known_shifts(data: pd.DataFrame, features, params) -> None:
    drift, profile_params = params
    rules = {"configured": Rule.from_params(drift)}
    # More than 10,000 reference values puts KS on scipy's asymptotic p-value: its exact one
    # costs up to 0.5 s on a strongly shifted pair. Power at the configured cap of 10,000 is
    # practically the same (effective size 476 instead of 488 for 500 rows).
    uncapped = profile_params.model_copy(update={"max_reference_values": 20_000})
    rng = np.random.default_rng(7)
    shifts = {
        "age + 10, hours x 1.3": shifted,
        "age + 5": lambda f: f.assign(age=f["age"] + 5),
        "age + 2": lambda f: f.assign(age=f["age"] + 2),
    }
    found = dict.fromkeys(shifts, 0)
    exact = 0
    for _ in range(POWER_TRIALS):
        order = rng.permutation(len(data))
        columns = _references(data.iloc[order[:20_000]], features, uncapped)
        batch = data.iloc[order[20_000:20_500]]
        for label, shift in shifts.items():
            decision = _judge(columns, shift(batch), drift, rules)["configured"]
            found[label] += decision.drift
            if label == "age + 10, hours x 1.3":
                exact += decision.drifted == ("age", "hours_per_week")
    power = {label: count / POWER_TRIALS for label, count in found.items()}
    print(f"\npower, reference 20000 vs batch 500: {power}")
    assert power["age + 10, hours x 1.3"] == 1.0
    assert exact == POWER_TRIALS  # exactly the two shifted features, every time
    assert power["age + 5"] >= 0.9
    assert power["age + 2"] <= power["age + 5"]
