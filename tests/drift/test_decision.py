"""The decision rule, as unit tests of the pure core: correction, effect gate, share, key features.

Hand-made families of p-values and effects, so each case isolates one part of the rule.
"""

from __future__ import annotations

import numpy as np
import pytest

from mlgitops.drift_check import FeatureTest, Rule, adjust, decide, persistent_start
from mlgitops.stats.multiple import benjamini_hochberg, holm

FEATURES = tuple(f"f{i}" for i in range(12))


def rule(**changes) -> Rule:
    base = {
        "alpha": 0.05,
        "correction": "holm",
        "numeric_threshold": 0.1,
        "categorical_threshold": 0.1,
        "null_threshold": 0.05,
        "share_threshold": 0.25,
        "key_features": (),
    }
    return Rule(**{**base, **changes})


def family(p_values, effects=None, threshold=0.1) -> list[FeatureTest]:
    """One distribution test per feature: feature i gets p_values[i] and effects[i]."""
    effects = effects if effects is not None else [1.0] * len(p_values)
    return [
        FeatureTest(FEATURES[i], "distribution", p, e, threshold)
        for i, (p, e) in enumerate(zip(p_values, effects, strict=True))
    ]


def test_the_corrections_are_the_colleague_tested_holm_and_bh() -> None:
    # multiple.holm and multiple.benjamini_hochberg are checked against statsmodels in
    # tests/unit/stats/test_multiple.py; here: adjust picks the right one, in input order.
    p = np.random.default_rng(0).uniform(0, 1, size=20) ** 3
    np.testing.assert_array_equal(adjust(p, "holm"), holm(p))
    np.testing.assert_array_equal(adjust(p, "bh"), benjamini_hochberg(p))
    assert not np.array_equal(adjust(p, "holm"), adjust(p, "bh"))
    with pytest.raises(ValueError, match="holm or bh"):
        adjust(p, "bonferroni")


def test_bh_finds_what_holm_misses_in_the_same_family() -> None:
    # Twelve tests, four of them at p = 0.01: Holm multiplies the smallest by 12 (0.12 > 0.05),
    # BH by 12/4 (0.03 < 0.05).
    p = [0.01] * 4 + [0.5] * 8
    holm_decision = decide(family(p), FEATURES, rule(correction="holm"))
    bh_decision = decide(family(p), FEATURES, rule(correction="bh"))
    assert holm_decision.drifted == ()
    assert not holm_decision.drift
    assert bh_decision.drifted == FEATURES[:4]
    assert bh_decision.drift  # 4 of 12 = 33 % >= 25 %
    assert [t.p_adjusted for t in bh_decision.tests[:4]] == pytest.approx([0.03] * 4)
    assert [t.p_adjusted for t in holm_decision.tests[:4]] == pytest.approx([0.12] * 4)


def test_the_effect_gate_needs_both_significance_and_size() -> None:
    p = [1e-12, 1e-12, 0.9] + [0.9] * 9
    effects = [0.5, 0.05, 0.9] + [0.0] * 9
    decision = decide(family(p, effects), FEATURES, rule(key_features=FEATURES))
    by_feature = {t.feature: t for t in decision.tests}
    assert by_feature["f0"].fires  # significant and large
    assert by_feature["f1"].significant and by_feature["f1"].large is False
    assert not by_feature["f1"].fires  # significant but small: a large batch's tiny shift
    assert by_feature["f2"].large and not by_feature["f2"].significant
    assert not by_feature["f2"].fires  # large but not significant: a small batch's noise
    assert decision.drifted == ("f0",)


def test_an_effect_exactly_at_the_threshold_is_not_above_it() -> None:
    decision = decide(family([1e-9] + [0.9] * 11, [0.1] + [0.0] * 11), FEATURES, rule())
    assert decision.drifted == ()


def test_the_share_threshold_counts_features_exactly() -> None:
    strong = [1e-10] * 3 + [0.9] * 9
    at = decide(family(strong), FEATURES, rule(share_threshold=0.25))
    assert at.drifted == FEATURES[:3] and at.share == 0.25 and at.drift  # 3/12 reaches 25 %
    below = decide(family(strong), FEATURES, rule(share_threshold=0.26))
    assert below.drifted == FEATURES[:3] and not below.drift
    assert "3 of 12 features drifted (25%" in below.reasons[0]


def test_one_key_feature_is_enough_whatever_the_share() -> None:
    p = [0.9] * 11 + [1e-10]
    plain = decide(family(p), FEATURES, rule(share_threshold=0.5))
    keyed = decide(family(p), FEATURES, rule(share_threshold=0.5, key_features=("f11",)))
    assert plain.drifted == ("f11",) and not plain.drift
    assert keyed.drift and keyed.key_drifted == ("f11",)
    assert any("key feature(s) f11 drifted" in r for r in keyed.reasons)
    # A key feature that does not drift changes nothing.
    other_key = decide(family(p), FEATURES, rule(share_threshold=0.5, key_features=("f0",)))
    assert not other_key.drift


def test_tests_that_could_not_run_stay_out_of_the_family_but_count_as_features() -> None:
    tests = family([1e-3, None, None] + [0.9] * 9)
    decision = decide(tests, FEATURES, rule(share_threshold=1 / 12))
    assert decision.family_size == 10
    # Holm over 10 defined tests: 1e-3 * 10 = 0.01 < 0.05.
    assert decision.tests[0].p_adjusted == pytest.approx(0.01)
    assert decision.tests[1].p_adjusted is None and not decision.tests[1].fires
    assert decision.drifted == ("f0",) and decision.share == pytest.approx(1 / 12)


def test_a_test_without_an_effect_size_is_judged_on_its_p_value() -> None:
    # The KS test of a feature whose training values are constant: W / sigma is undefined.
    tests = [FeatureTest("f0", "distribution", 1e-8, None, 0.1)]
    tests += [FeatureTest(f, "distribution", 0.9, 0.0, 0.1) for f in FEATURES[1:]]
    decision = decide(tests, FEATURES, rule(key_features=("f0",)))
    first = decision.outcome("f0", "distribution")
    assert first is not None and first.large is None and first.fires
    assert decision.drift


def test_the_null_rate_test_is_part_of_the_family_and_can_drift_a_feature() -> None:
    tests = family([0.9] * 12)
    tests.append(FeatureTest("f3", "null_rate", 1e-9, 0.30, 0.05))
    decision = decide(tests, FEATURES, rule(key_features=("f3",)))
    assert decision.family_size == 13
    assert decision.drifted == ("f3",) and decision.drift
    small_change = [*family([0.9] * 12), FeatureTest("f3", "null_rate", 1e-9, 0.01, 0.05)]
    assert decide(small_change, FEATURES, rule(key_features=("f3",))).drifted == ()


def test_nothing_drifted_reads_as_such() -> None:
    decision = decide(family([0.9] * 12), FEATURES, rule())
    assert (decision.drifted, decision.drift, decision.share) == ((), False, 0.0)
    assert decision.reasons == ("none of the 12 features drifted",)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ([False, False, True, True], 2),
        ([True, True, True], 0),
        ([False, None, True, None, True], 2),  # untested windows do not break a run
        ([None, True], 1),
        ([True, True, False], None),  # not drifted now: not persistent
        ([True, False, True], 2),  # back to drifted: since the last return
        ([True, True, None], 0),  # the last window too small to tell
        ([None, None], None),
        ([], None),
        ([False, False], None),
    ],
)
def test_persistent_start(flags: list[bool | None], expected: int | None) -> None:
    assert persistent_start(flags) == expected
