"""Since when: a window that did not fire ends a drift only if it could have seen it.

Daily batches with a time column (the prediction log's ``_time``), through the real CLI: a small
partial last day must not erase the date, a drift that really stopped must not be dated, and
the report always says "Since", with a date or why there is none.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from mlgitops.drift_check import Rule, stretch_verdict
from tests.drift.helpers import invoke, sample

pytestmark = pytest.mark.filterwarnings("error")

DAY0 = pd.Timestamp("2024-06-10", tz="UTC")


def _days(production: pd.DataFrame, sizes: list[int], shifted: set[int], seed: int) -> pd.DataFrame:
    """One batch of daily rows (day i gets sizes[i] rows); days in ``shifted`` get age + 4."""
    parts = []
    for day, rows in enumerate(sizes):
        part = sample(production, rows, seed=seed + day).drop(columns=["income"])
        if day in shifted:
            part["age"] = part["age"] + 4
        step = pd.Timedelta(hours=20) / rows  # spread over the day, inside its window
        part["_time"] = [DAY0 + pd.Timedelta(days=day) + i * step for i in range(rows)]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _run(project: Path, batch: pd.DataFrame) -> tuple[dict, str]:
    path = project / "batch.parquet"
    batch.to_parquet(path, index=False)
    result = invoke("drift", "--current", str(path))
    assert result.exit_code in (0, 1), result.output
    reports = project / "reports"
    return json.loads((reports / "drift.json").read_text()), (reports / "drift.md").read_text()


def test_a_small_last_day_does_not_erase_the_date(project: Path, production: pd.DataFrame) -> None:
    # Five days of 400 rows, age + 4 from day 3 on, and a partial sixth day of 120 rows (also
    # shifted): too small for the shift to reach significance there.
    doc, markdown = _run(
        project, _days(production, [400] * 5 + [120], shifted={2, 3, 4, 5}, seed=200)
    )
    assert doc["verdict"] == "drift" and "age" in doc["decision"]["drifted"]
    windows = doc["windows"]
    assert [w["rows"] for w in windows] == [400] * 5 + [120]
    assert ["age" in w["drifted"] for w in windows] == [False, False, True, True, True, False]
    # The last day did not fire, but could not have: inconclusive, so the run goes on.
    assert "age" in windows[5]["inconclusive"]
    assert windows[0]["inconclusive"] == windows[1]["inconclusive"] == []  # before the drift
    age = next(f for f in doc["features"] if f["name"] == "age")
    assert age["since"] == "2024-06-12T00:00:00Z"
    assert doc["since"] == "2024-06-12T00:00:00Z"
    assert "**Since 2024-06-12T00:00:00Z**" in markdown
    assert "| 2024-06-15T00:00:00Z | 120 | none | age |" in markdown  # the windows table


def test_a_shifted_day_that_missed_does_not_end_the_run(
    project: Path, production: pd.DataFrame
) -> None:
    # The same shift; with these rows the fourth day does not fire (a 400-row day sees age + 4
    # at about 80 % power): on its own it cannot say the drift stopped.
    doc, _ = _run(project, _days(production, [400] * 5 + [120], shifted={2, 3, 4, 5}, seed=700))
    windows = doc["windows"]
    assert ["age" in w["drifted"] for w in windows] == [False, False, True, False, True, False]
    assert "age" in windows[3]["inconclusive"]
    assert doc["since"] == "2024-06-12T00:00:00Z"


def test_a_drift_that_stopped_is_not_dated_and_the_report_says_why(
    project: Path, production: pd.DataFrame
) -> None:
    doc, markdown = _run(project, _days(production, [400] * 5, shifted={0, 1, 2}, seed=0))
    assert "age" in doc["decision"]["drifted"]
    windows = doc["windows"]
    assert ["age" in w["drifted"] for w in windows] == [True, True, True, False, False]
    # Each clean day alone could not tell, but the two together (800 rows) had the power to
    # show the drift and did not: it stopped.
    assert windows[3]["inconclusive"] == windows[4]["inconclusive"] == ["age"]
    assert doc["since"] is None
    assert "not persistent" in doc["since_note"] and "2024-06-13T" in doc["since_note"]
    assert f"**Since**: could not be dated: {doc['since_note']}." in markdown


def test_the_since_line_is_always_there(project: Path, production: pd.DataFrame) -> None:
    untimed = sample(production, 400, seed=3).drop(columns=["income"])
    untimed["age"] = untimed["age"] + 10
    doc, markdown = _run(project, untimed)
    assert doc["verdict"] == "drift" and doc["since"] is None
    assert "**Since**: could not be dated: the batch has no time column (_time" in markdown
    quiet, markdown = _run(project, sample(production, 400, seed=4).drop(columns=["income"]))
    assert quiet["verdict"] == "no_drift"
    assert "**Since**: – (nothing drifted)." in markdown


def test_rows_that_did_not_fire_show_a_stop_only_with_power_in_every_aspect(
    profile, drift_params, production: pd.DataFrame
) -> None:
    # A drift of age seen in two ways where it fired: its values (KS D 0.12) and new missing
    # values (25 points). 150 unshifted rows without missing values have the power to show the
    # missing values stopped, but not the shift: they cannot say the drift stopped.
    rule = Rule.from_params(drift_params)
    column = profile.feature("age")
    level = rule.alpha / 15
    rows = sample(production, 150, seed=8)["age"]
    both = {"distribution": 0.12, "null_rate": 0.25}
    verdict = stretch_verdict(column, rows, both, drift_params, rule, level)
    assert verdict == "inconclusive"
    assert stretch_verdict(column, rows, {"null_rate": 0.25}, drift_params, rule, level) == (
        "not_drifted"
    )
    # 600 such rows have the power for both.
    more = sample(production, 600, seed=9)["age"]
    assert stretch_verdict(column, more, both, drift_params, rule, level) == "not_drifted"
    # Fewer rows than drift.min_rows are never tested, so never show anything.
    few = sample(production, 60, seed=10)["age"]
    assert stretch_verdict(column, few, {"null_rate": 0.25}, drift_params, rule, level) == (
        "inconclusive"
    )
