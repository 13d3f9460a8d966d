"""Intervals and tests come from scipy/statsmodels, and the words (the templates' verdict) follow the tests."""

import numpy as np
import pytest
from scipy import stats as sps

from emnist_lib import stats
from emnist_lib.conclusions import say


def verdict(c):
    """The sentence the report writes for ``c`` (the template's verdict macro)."""
    return say("verdict", c=c)


def test_mean_ci_is_the_student_t_interval():
    values = [0.81, 0.84, 0.80, 0.83]
    ci = stats.mean_ci(values)
    low, high = sps.t.interval(0.95, 3, loc=np.mean(values), scale=sps.sem(values))
    assert ci["mean"] == pytest.approx(np.mean(values))
    assert (ci["low"], ci["high"]) == pytest.approx((low, high))
    assert ci["n"] == 4


def test_one_value_has_no_interval():
    ci = stats.mean_ci([0.7])
    assert ci["low"] is None and ci["high"] is None
    assert stats.fmt_interval(ci) == "70.0% (one run)"


def test_wilson_interval_contains_the_proportion_and_is_asymmetric_near_one():
    low, high = stats.proportion_ci(990, 1000)
    assert low < 0.99 < high <= 1.0
    assert (high - 0.99) < (0.99 - low)


def test_paired_test_matches_scipy_and_reports_the_difference_interval():
    a, b = [0.80, 0.82, 0.81], [0.75, 0.78, 0.74]
    c = stats.paired_test(a, b, "A", "B")
    ref = sps.ttest_rel(a, b)
    assert c.p == pytest.approx(ref.pvalue)
    assert c.diff == pytest.approx(np.mean(np.subtract(a, b)))
    assert c.low < c.diff < c.high


def test_paired_test_with_one_pair_cannot_call_anything():
    c = stats.paired_test([0.9], [0.1], "A", "B")
    assert c.p is None and not c.significant and c.direction == 0
    assert "not testable" in verdict(c)


def test_mcnemar_uses_only_the_discordant_images():
    rng = np.random.default_rng(0)
    both = rng.random(500) < 0.8
    a, b = both.copy(), both.copy()
    a[:40] = True
    b[:40] = False  # A right, B wrong on 40 images; nowhere the other way round
    c = stats.mcnemar_test(a, b, "A", "B")
    assert c.p < 1e-6 and c.direction == 1
    same = stats.mcnemar_test(both, both)
    assert same.p == 1.0 and same.direction == 0


def test_mcnemar_is_exact_for_few_disagreements():
    a = np.ones(100, bool)
    b = a.copy()
    b[:5] = False
    c = stats.mcnemar_test(a, b)
    assert "exact" in c.test
    assert c.p == pytest.approx(sps.binomtest(0, 5, 0.5).pvalue)


def test_holm_adjusts_a_family_and_can_remove_a_win():
    comps = [stats.Comparison("A", "R", "t", 3, 0.02, 0.03), stats.Comparison("B", "R", "t", 3, 0.01, 0.04),
             stats.Comparison("C", "R", "t", 3, 0.01, 0.5)]
    assert comps[0].significant and comps[1].significant
    stats.holm(comps)
    assert [round(c.p_adjusted, 4) for c in comps] == [0.09, 0.09, 0.5]
    assert not any(c.significant for c in comps)


@pytest.mark.parametrize("diff,p", [(0.08, 0.2), (-0.08, 0.2), (0.001, 0.049), (0.3, 0.051)])
def test_a_non_significant_difference_is_never_worded_as_a_win_or_loss(diff, p):
    c = stats.Comparison("the CNN", "the MLP", "paired t-test over 3 seeds", 3, diff, p)
    text = verdict(c)
    if p < stats.ALPHA:
        assert ("better" in text) == (diff > 0) and ("worse" in text) == (diff < 0)
    else:
        assert text.startswith("no detectable difference between the CNN and the MLP at this budget")
        assert "better" not in text and "worse" not in text


def test_significant_differences_name_the_direction_the_test_and_p():
    c = stats.Comparison("the CNN", "the MLP", "McNemar (chi-square) on 2820 test images", 2820, 0.12, 1e-9)
    text = verdict(c)
    assert text.startswith("the CNN is better than the MLP (+12.0 points")
    assert "McNemar" in text and "p < 0.001" in text
    c.diff = -0.12
    assert verdict(c).startswith("the CNN is worse than the MLP")


def test_two_proportions_on_independent_test_sets():
    c = stats.two_proportions(0.70, 1000, 0.90, 1000, "letters", "digits")
    assert c.direction == -1 and c.p < 1e-6
    assert c.low < -0.2 < c.high < 0
