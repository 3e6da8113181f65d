"""Details of the column tests the report states: the KS method, the missing-value test's
settings, and the PSI's no-drift bound."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.stats import _stats_py

from mlgitops.drift_check import run_tests
from mlgitops.drift_profile import ColumnReference
from mlgitops.params import DriftParams
from mlgitops.stats.drift import (
    expected_psi,
    numeric_drift,
    numeric_reference,
    psi_no_drift_bound,
)


def test_the_ks_method_is_the_one_scipy_used(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    ref, cur = rng.normal(0, 1, 3_000), rng.normal(0.1, 1, 2_000)
    exact = numeric_drift(numeric_reference(ref), cur)
    assert exact.ks_method == "exact"
    assert exact.p_value == stats.ks_2samp(ref, cur, method="exact").pvalue

    # When scipy's exact computation fails (it overflows on some large tied samples), scipy
    # switches to the asymptotic p-value: the result must say so, not "exact".
    def overflows(n1: int, n2: int, g: int, d: float, alternative: str):
        lcm = (n1 // g) * n2
        return False, round(d * lcm) / lcm, np.nan  # what scipy returns when it overflows

    monkeypatch.setattr(_stats_py, "_attempt_exact_2kssamp", overflows)
    with pytest.warns(RuntimeWarning, match="Exact calculation unsuccessful"):
        fallen = numeric_drift(numeric_reference(ref), cur)
    assert fallen.ks_method == "asymp"
    assert fallen.p_value == pytest.approx(
        stats.ks_2samp(ref, cur, method="asymp").pvalue, rel=1e-12
    )
    assert fallen.p_value != exact.p_value


def test_the_numeric_missing_value_test_uses_drift_min_expected(
    drift_params: DriftParams,
) -> None:
    # 1,000 training rows with 3 missing, 400 batch rows with 6 missing: the smallest expected
    # count of the 2 x 2 table is 2.6, so min_expected decides between the z-test and Fisher's.
    values = np.arange(1_000, dtype=float)
    values[:3] = np.nan
    column = ColumnReference("x", "numeric", "float", numeric_reference(values))
    batch = pd.Series(np.r_[np.full(6, np.nan), np.arange(394.0)])
    methods = {
        level: run_tests(
            column, batch, drift_params.model_copy(update={"min_expected": level})
        ).null_test.method
        for level in (1.0, 5.0)
    }
    assert methods == {1.0: "two_proportion_z", 5.0: "fisher_exact"}


def test_the_psi_bound_is_its_95_percent_no_drift_quantile() -> None:
    rng = np.random.default_rng(5)
    n_ref, n_cur, trials = 5_000, 1_000, 400
    reference = numeric_reference(rng.normal(size=n_ref), 10)
    results = [numeric_drift(reference, rng.normal(size=n_cur)) for _ in range(trials)]
    bound = results[0].psi_bound
    assert bound == pytest.approx(stats.chi2.ppf(0.95, 9) * (1 / n_ref + 1 / n_cur), rel=1e-12)
    assert bound == psi_no_drift_bound(n_ref, n_cur, 10)
    assert bound > expected_psi(n_ref, n_cur, 10)
    above = np.mean([r.psi > bound for r in results])
    # 5 % of no-drift batches exceed it, within 3 Monte-Carlo standard deviations.
    assert abs(above - 0.05) <= 3 * np.sqrt(0.05 * 0.95 / trials), above
    with pytest.raises(ValueError, match="level"):
        psi_no_drift_bound(10, 10, 10, level=1.0)
    assert psi_no_drift_bound(10, 10, 1) == 0.0
