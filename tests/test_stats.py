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


def test_mcnemar_interval_and_adjusted_p_agree_inside_a_family():
    """The interval is the Clopper-Pearson inversion of the same exact test at ALPHA/m: it excludes zero exactly
    when the Bonferroni-adjusted p is below ALPHA, and it widens with the family (a broken adjustment, an interval
    left at 95% beside a p times m, fails the agreement for some of these tables)."""
    rng = np.random.default_rng(4)
    agree = 0
    for only_a, only_b in [(30, 12), (25, 10), (40, 22), (18, 5), (60, 38), (9, 1)]:
        a = np.zeros(2000, bool)
        b = np.zeros(2000, bool)
        a[:only_a] = True
        b[only_a:only_a + only_b] = True
        both = rng.random(2000) < 0.7
        both[:only_a + only_b] = False
        a, b = a | both, b | both
        one, family = stats.mcnemar_test(a, b), stats.mcnemar_test(a, b, family_size=3)
        assert family.p_adjusted == pytest.approx(min(1.0, 3 * one.p))
        assert family.high - family.low > one.high - one.low
        assert family.correction == "Bonferroni over 3"
        for c in (one, family):
            assert c.significant == (c.p_decisive < stats.ALPHA)
        agree += one.significant != family.significant
    assert agree >= 1  # the family changes at least one verdict among these tables


def test_bonferroni_refuses_a_test_it_cannot_adjust():
    c = stats.mcnemar_test(np.r_[np.ones(30, bool), np.zeros(70, bool)], np.zeros(100, bool))
    with pytest.raises(ValueError, match="family_size"):
        stats.bonferroni([c], 3)


def test_interval_bounds_share_their_decimals():
    assert stats.fmt_bounds(-0.00043, 0.081) == "[-0.04, +8.10]"
    assert stats.fmt_bounds(-0.012, 0.081) == "[-1.2, +8.1]"
    assert stats.fmt_bound(0.0004) == "+0.04"


# --------------------------------------------------------------------------- seeds x images
def _scores(rng, acc, n=1000, seeds=5):
    return [rng.random(n) < acc for _ in range(seeds)]


def test_recipe_interval_stays_in_zero_one_and_includes_the_test_set_sampling():
    rng = np.random.default_rng(0)
    near_one = [np.ones(300, bool)] * 4 + [np.r_[np.ones(299, bool), False]]
    ci = stats.recipe_interval(near_one, shared_images=True)
    assert 0 <= ci["low"] <= ci["mean"] <= ci["high"] <= 1
    same_seeds = [rng.random(2820) < 0.3] * 5  # identical seeds: a t-interval over seeds would have zero width
    ci = stats.recipe_interval(same_seeds, shared_images=True)
    low, high = stats.proportion_ci(round(0.3 * 2820), 2820)
    assert ci["high"] - ci["low"] > 0.5 * (high - low)  # as wide as one run's Wilson interval, roughly


def test_detectable_exactly_when_the_adjusted_interval_excludes_zero():
    rng = np.random.default_rng(1)
    for diff in (0.0, 0.01, 0.02, 0.04, -0.03):
        for family in (1, 4):
            a, b = _scores(rng, 0.7 + diff, 2000), _scores(rng, 0.7, 2000)
            c = stats.recipe_comparison(a, b, shared_images=False, family_size=family)
            assert c.significant == (c.low > 0 or c.high < 0)
            assert c.significant == (c.p_decisive < stats.ALPHA) or abs(c.p_decisive - stats.ALPHA) < 0.01
            assert c.mde > 0 and (c.correction is None) == (family == 1)


def test_a_null_difference_is_rarely_called():
    rng = np.random.default_rng(2)
    calls = sum(stats.recipe_comparison(_scores(rng, 0.6, 500), _scores(rng, 0.6, 500), shared_images=False).significant
                for _ in range(60))
    assert calls <= 8  # about 5% expected


def test_a_recipe_comparison_needs_two_seeds_and_the_same_images():
    one = [np.ones(10, bool)]
    with pytest.raises(ValueError, match="at least 2 seeds"):
        stats.recipe_comparison(one, one, shared_images=True, name_a="a", name_b="b")
    with pytest.raises(ValueError, match="the same images"):
        stats.recipe_comparison([np.ones(10, bool)] * 2, [np.ones(9, bool)] * 2, shared_images=False)


def test_the_corrected_resampled_t_is_wider_than_the_plain_paired_t():
    a, b = [0.71, 0.73, 0.72], [0.69, 0.70, 0.705]
    plain, corrected = stats.paired_test(a, b), stats.corrected_resampled_t(a, b, n_train=3133, n_test=1567)
    assert corrected.p > plain.p and (corrected.high - corrected.low) > (plain.high - plain.low)
    assert "Nadeau-Bengio" in corrected.test


def _twin(rng, flips: int):
    """Five seeds of a recipe on 5,000 shared images, and a twin that differs from it on ``flips`` images per seed."""
    base = [rng.random(5000) < 0.8 for _ in range(5)]
    twin = [b.copy() for b in base]
    for t in twin:
        flip = rng.choice(5000, flips, replace=False)
        t[flip] = ~t[flip]
    return base, twin


def test_equivalence_is_claimed_only_inside_the_margin():
    rng = np.random.default_rng(3)
    base, twin = _twin(rng, 20)
    assert stats.recipe_comparison(twin, base, shared_images=True).equivalent
    worse = [b & (rng.random(5000) > 0.05) for b in base]
    assert not stats.recipe_comparison(worse, base, shared_images=True).equivalent


def test_a_few_seeds_give_an_interval_no_narrower_than_the_paired_t_over_seeds():
    """Five seeds whose paired differences are +1.7, +1.8, +6.1, +3.6, +0.5 points (the case a review found called
    "detectable" by a percentile bootstrap): the t reference on 4 df keeps the seed-level uncertainty."""
    from scipy import stats as sps

    rng = np.random.default_rng(0)
    n, gains = 2820, [0.017, 0.018, 0.061, 0.036, 0.005]
    a, b = [], []
    for g in gains:
        base = rng.random(n) < 0.65
        better = base.copy()
        better[rng.choice(np.flatnonzero(~base), round(g * n), replace=False)] = True
        a.append(better)
        b.append(base)
    c = stats.recipe_comparison(a, b, shared_images=True, name_a="se", name_b="ref", family_size=4)
    d = np.array([x.mean() - y.mean() for x, y in zip(a, b)])
    half_t = sps.t.ppf(1 - 0.05 / 8, 4) * d.std(ddof=1) / np.sqrt(5)
    assert (c.high - c.low) / 2 >= 0.95 * half_t
    assert c.low < 0 < c.high and not c.significant and c.p_adjusted > 0.05  # interval and p agree


def _two_way(rng, k, n, acc=0.75, seed_sd=0.08, image_sd=1.5):
    """Per-image correctness of ``k`` seeds on ``n`` shared images (an image difficulty and a seed effect on the
    logit scale, independent Bernoulli noise per seed and image), and the truth an interval aims at: the expected
    accuracy of the recipe, over seeds and the population of images."""
    centre = np.log(acc / (1 - acc))
    difficulty, seed_effect = rng.normal(centre, image_sd, n), rng.normal(0, seed_sd, k)
    p = 1 / (1 + np.exp(-(difficulty[None, :] + seed_effect[:, None])))
    population = np.random.default_rng(0).normal(centre, image_sd, 100_000)
    return list(rng.random((k, n)) < p), float(np.mean(1 / (1 + np.exp(-population))))


@pytest.mark.parametrize("shared", [True, False])
def test_the_standard_error_counts_each_noise_once(shared):
    """Coverage of the 95% interval of a recipe's mean over 5 seeds, 300 simulated studies: near 95% (a standard
    error that counts the image noise twice, like the review's 1.9x, covers about 100%; one that leaves it out
    covers far less). Truth: the mean over these seeds of each seed's accuracy on the population of images."""
    rng = np.random.default_rng(5)
    covered = 0
    for _ in range(300):
        if shared:
            scores, truth = _two_way(rng, 5, 800)
        else:  # each seed its own images, drawn from the same population
            draws = [_two_way(rng, 1, 800) for _ in range(5)]
            scores, truth = [d[0][0] for d in draws], draws[0][1]
        ci = stats.recipe_interval(scores, shared_images=shared)
        covered += ci["low"] <= truth <= ci["high"]
    assert 0.91 <= covered / 300 <= 0.985


def test_separate_images_give_the_paired_t_over_seeds():
    """Each seed scored on its own images: the comparison is exactly scipy's paired t-test of the seed accuracies."""
    from scipy import stats as sps

    rng = np.random.default_rng(6)
    a, b = _scores(rng, 0.72, 400), _scores(rng, 0.70, 400)
    c = stats.recipe_comparison(a, b, shared_images=False)
    ref = sps.ttest_rel([x.mean() for x in a], [y.mean() for y in b])
    assert c.p == pytest.approx(ref.pvalue) and c.df == 4
    ci = ref.confidence_interval(0.95)
    assert (c.low, c.high) == (pytest.approx(ci.low), pytest.approx(ci.high))


def test_equivalence_needs_the_family_level_interval():
    """TOST at ALPHA/m: an equivalence at family size 1 can be lost at family size 10, never gained."""
    rng = np.random.default_rng(7)
    base, twin = _twin(rng, 120)
    one, ten = (stats.recipe_comparison(twin, base, shared_images=True, family_size=m) for m in (1, 10))
    assert ten.tost_high - ten.tost_low > one.tost_high - one.tost_low
    assert ten.equivalent <= one.equivalent


@pytest.mark.parametrize("seeds, family, seed_sd", [(3, 1, 0.3), (5, 4, 0.3), (3, 1, 0.05)])
def test_a_comparison_on_shared_images_keeps_its_level_with_few_seeds(seeds, family, seed_sd):
    """Two recipes with no true difference, each seed shifting its models by a seed effect (logit sd ``seed_sd``),
    scored on the same images: the family-level interval misses zero at most at its nominal rate (plus Monte Carlo
    slack). A Satterthwaite t on the combined standard error missed 7.6% at 3 seeds (nominal 5%): the seed part
    of the variance has only seeds - 1 degrees of freedom, whatever the images."""
    rng = np.random.default_rng(11)
    misses, sims, n = 0, 400, 1000
    for _ in range(sims):
        difficulty = rng.normal(1.2, 1.5, n)
        pa = 1 / (1 + np.exp(-(difficulty[None, :] + rng.normal(0, seed_sd, seeds)[:, None])))
        pb = 1 / (1 + np.exp(-(difficulty[None, :] + rng.normal(0, seed_sd, seeds)[:, None])))
        c = stats.recipe_comparison(list(rng.random((seeds, n)) < pa), list(rng.random((seeds, n)) < pb),
                                    shared_images=True, family_size=family)
        misses += c.significant
    nominal = stats.ALPHA / family
    assert misses / sims <= nominal + 2.5 * np.sqrt(nominal * (1 - nominal) / sims), misses


def test_no_spread_no_verdict():
    """The same difference on every seed and image estimates no spread: nothing is called, nothing is powered."""
    right, wrong = [np.ones(1000, bool)] * 2, [np.zeros(1000, bool)] * 2
    own = [np.r_[np.ones(997, bool), np.zeros(3, bool)]] * 2  # each seed its own images, the same score on each
    for a, b, shared in ((right, wrong, True), (own, wrong, False)):
        c = stats.recipe_comparison(a, b, shared_images=shared)
        assert c.p is None and c.low is None and not c.significant and c.power is None
    cv = stats.corrected_resampled_t([0.8, 0.8, 0.8], [0.7, 0.7, 0.7], n_train=900, n_test=100)
    assert cv.p is None and not cv.significant


# --------------------------------------------------------------------------- planning seeds from a pilot
def _pilot_diffs(rng, k, n, seed_sd, flip=0.1):
    """Per-image paired differences (-1/0/1) of two recipes over ``k`` seeds on ``n`` shared images, each seed's
    mean difference shifted by a seed effect of sd ``seed_sd``."""
    out = []
    for _ in range(k):
        shift = rng.normal(0.0, seed_sd)
        up, down = max(flip / 2 + shift / 2, 0.0), max(flip / 2 - shift / 2, 0.0)
        out.append(rng.choice([1.0, -1.0, 0.0], size=n, p=[up, down, 1 - up - down]))
    return out


def _planned_power(seed_var_unit, image_var_unit, k, n, m):
    """The power at 2 points of k seeds on n images, written out from the Methods' description (t on k - 1 df for
    the seed part, the normal for the image part, Bonferroni over m): independent of stats.SeedsImagesSE."""
    seed_var, image_var = seed_var_unit / k, image_var_unit / n
    se = np.sqrt(seed_var + image_var)
    q = 1 - 0.05 / (2 * m)
    tq, zq = sps.t.ppf(q, k - 1), sps.norm.ppf(q)
    # the seed part re-estimated on k - 1 df: a Monte Carlo over its chi-square (not the package's integral)
    v = np.random.default_rng(99).chisquare(k - 1, 400_000) / (k - 1)
    half = np.sqrt(tq ** 2 * seed_var * v + zq ** 2 * image_var)
    return float(np.mean(sps.norm.sf((half - 0.02) / se) + sps.norm.cdf((-half - 0.02) / se)))


@pytest.mark.parametrize("m", [1, 4])
def test_plan_seeds_is_the_smallest_design_with_80_percent_power(m):
    """Shared images: the plan's k reaches 80% at 2 points on the pilot's seed component taken at its 80% upper
    bound, and k - 1 does not; recomputed from the two-way ANOVA written out here."""
    rng = np.random.default_rng(21)
    diffs = _pilot_diffs(rng, 5, 3000, seed_sd=0.012)
    plan = stats.plan_seeds(diffs, family_size=m)
    x = np.stack(diffs)
    k0, n = x.shape
    g, sm, im = x.mean(), x.mean(1), x.mean(0)
    ms_seed = n * ((sm - g) ** 2).sum() / (k0 - 1)
    ms_image = k0 * ((im - g) ** 2).sum() / (n - 1)
    ms_resid = ((x - sm[:, None] - im[None, :] + g) ** 2).sum() / ((k0 - 1) * (n - 1))
    upper = (k0 - 1) * max(ms_seed, ms_resid) / sps.chi2.ppf(0.2, k0 - 1)
    seed_unit = n * max((upper - ms_resid) / n, 0) / n + ms_resid / n  # per-seed variance of a seed's mean
    image_unit = max((ms_image - ms_resid) / k0, 0)
    assert plan.seeds is not None and plan.seeds > 2
    assert _planned_power(seed_unit, image_unit, plan.seeds, n, m) >= 0.8
    assert _planned_power(seed_unit, image_unit, plan.seeds - 1, n, m) < 0.8


def test_plan_seeds_grows_with_the_spread_and_the_family():
    rng = np.random.default_rng(22)
    calm, noisy = _pilot_diffs(rng, 5, 3000, 0.006), _pilot_diffs(rng, 5, 3000, 0.02)
    assert stats.plan_seeds(calm).seeds < stats.plan_seeds(noisy).seeds
    assert stats.plan_seeds(calm).seeds <= stats.plan_seeds(calm, family_size=4).seeds
    huge = _pilot_diffs(rng, 5, 3000, 0.2)
    assert stats.plan_seeds(huge, max_seeds=30).seeds is None  # the images cannot make up for the seeds


def test_plan_seeds_on_own_images_is_a_paired_t_plan():
    """Each seed on its own images: the plan uses the spread of the seed means only (80% upper bound, t on k - 1)."""
    means = np.array([0.010, 0.030, 0.018, 0.025, 0.005])
    per_seed = [np.full(500, mu) for mu in means]  # one value per image; only the means matter here
    plan = stats.plan_seeds(per_seed, shared_images=False)
    upper = 4 * means.var(ddof=1) / sps.chi2.ppf(0.2, 4)
    assert _planned_power(upper, 0.0, plan.seeds, 1, 1) >= 0.8
    assert _planned_power(upper, 0.0, plan.seeds - 1, 1, 1) < 0.8
    with pytest.raises(ValueError, match="at least 2 seeds"):
        stats.plan_seeds(per_seed[:1], shared_images=False)


def test_an_underpowered_comparison_states_the_seeds_it_would_need():
    rng = np.random.default_rng(23)
    k, n = 3, 3000
    base = [(rng.random(n) < 0.8).astype(float) for _ in range(k)]
    noisy = [np.where(rng.random(n) < 0.2 + 0.1 * rng.normal(), 1 - b, b) for b in base]
    weak = stats.recipe_comparison(noisy, base, shared_images=True, family_size=4)
    assert weak.power < stats.POWER
    assert weak.seeds_max == stats.PLAN_MAX_SEEDS
    assert weak.seeds_needed is None or weak.seeds_needed > k
    assert "80% would take" in say("design", c=weak)
    twin = [np.where(rng.random(n) < 0.001, 1 - b, b) for b in base]  # almost the same model: a tight design
    strong = stats.recipe_comparison(twin, base, shared_images=True)
    assert strong.power >= stats.POWER and strong.seeds_needed is None and strong.seeds_max is None
    assert "would take" not in say("design", c=strong)


def test_the_power_of_the_interval_test_is_the_noncentral_t_without_an_image_part_and_never_below_its_level():
    """Seeds on their own images: the power is scipy's noncentral t; at no difference it is the test's level; with an
    image part it grows with the difference and a Monte Carlo of the test agrees (the old normal approximation, which
    held the half-width fixed, gave 0% where the test's level is 1.25%)."""
    est = stats.SeedsImagesSE(0.01, 1e-4, 0.0, 4.0, "")
    q = sps.t.isf(0.0125 / 2, 4)
    assert est.power(0.02, 0.0125) == pytest.approx(sps.nct.sf(q, 4, 2.0) + sps.nct.cdf(-q, 4, 2.0), rel=1e-5)
    assert est.power(0.0, 0.0125) == pytest.approx(0.0125, rel=1e-4)
    mixed = stats.SeedsImagesSE(float(np.sqrt(3e-5 + 4e-5)), 3e-5, 4e-5, 4.0, "")
    assert mixed.power(0.0, 0.05) <= 0.05
    rng = np.random.default_rng(5)
    n_sim = 200_000
    estimate = rng.normal(0.02, mixed.se, n_sim)
    seed_hat = 3e-5 * rng.chisquare(4, n_sim) / 4
    half = np.sqrt(sps.t.isf(0.025, 4) ** 2 * seed_hat + sps.norm.isf(0.025) ** 2 * 4e-5)
    assert mixed.power(0.02, 0.05) == pytest.approx(np.mean(np.abs(estimate) > half), abs=0.005)
    d = mixed.detectable(0.05)
    assert mixed.power(d, 0.05) == pytest.approx(0.8, abs=1e-6) and mixed.power(0.9 * d, 0.05) < 0.8


def test_a_power_short_of_the_target_never_prints_as_the_target():
    # 0.7996 rounds to "80%", which beside "(80% would take 10 seeds)" reads as a contradiction; powers round down
    assert [stats.fmt_power(p) for p in (0.7996, 0.8, 0.05, 0.999, 1.0)] == ["79%", "80%", "5%", "99%", "100%"]


def test_a_stored_pilot_plans_again_as_the_pilot_itself_would():
    """benchmarks/power_pilot.py --replan: the plan from a pilot's stored components is the pilot's own plan."""
    from emnist_lib import stats

    rng = np.random.default_rng(3)
    base = rng.random(2000) < 0.8
    pilot = [base.astype(float) - (rng.random(2000) < 0.78 + 0.01 * s).astype(float) for s in range(3)]
    for m in (1, 4):
        direct = stats.plan_seeds(pilot, family_size=m)
        again = stats.plan_from_components(direct.components, 2000, family_size=m)
        assert (again.seeds, again.power) == (direct.seeds, direct.power)


def test_the_seed_bound_factor_is_the_plans_one_sided_80_percent_bound():
    """What the report's Methods quote of the plans' caution: (k - 1) / chi-square(0.2; k - 1)."""
    assert stats.seed_bound_factor(3) == pytest.approx(2 / sps.chi2.ppf(0.2, 2)) == pytest.approx(4.48, abs=0.01)
    assert stats.seed_bound_factor(6) == pytest.approx(2.13, abs=0.01)
    assert stats.seed_bound_factor(30) < stats.seed_bound_factor(6) < stats.seed_bound_factor(3)
