"""Statistics for comparisons: intervals, paired tests, multiple-comparison control.

Everything numeric comes from scipy.stats or statsmodels; this module only
chooses the test that fits the design:

* a recipe's accuracy over seeds, scored per image: each source of noise counted once (the spread of the seed
  means where each seed has its own images; the two-way ANOVA of the seeds x images table where they share them,
  with a modified large-sample interval), on the logit scale (:func:`recipe_interval`);
* two recipes trained with the same seeds and scored on the same images: the paired difference with
  that standard error and t reference, Bonferroni within a family, with the minimum detectable
  difference and TOST (:func:`recipe_comparison`);
* cross-validated candidates: the Nadeau-Bengio corrected resampled t (:func:`corrected_resampled_t`);
* two specific models on the same test images: McNemar's test (:func:`mcnemar_test`, exact binomial when
  there are few disagreements);
* a mean over seeds without per-image scores: a Student-t interval (:func:`mean_ci`), a paired t-test
  (:func:`paired_test`); one accuracy on one test set: a Wilson interval (:func:`proportion_ci`).

A difference is called a difference only when its test rejects at :data:`ALPHA`
(after correction, :attr:`Comparison.direction`); otherwise the report's verdict
(``templates/findings.md.j2``) says "no detectable difference at this budget"
(Bouthillier et al. 2021; Dodge et al. 2019).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

ALPHA = 0.05
CONFIDENCE = 0.95
POWER = 0.80  # the power at which a "no detectable difference" states the smallest difference it would detect
EQUIVALENCE_MARGIN = 0.01  # TOST margin (accuracy, 1 point) where a section argues two settings are equivalent
DETECT = 0.02  # the difference (2 points) every headline comparison is designed to detect with POWER
PLAN_MAX_SEEDS = 30  # the most seeds a plan from a study's own runs looks at (beyond: "more than 30")


def mean_ci(values: Sequence[float], confidence: float = CONFIDENCE) -> dict:
    """Mean, sample standard deviation and Student-t interval of ``values`` (e.g. one per seed).

    With a single value there is no interval (``low``/``high`` are None)."""
    from scipy import stats

    a = np.asarray([v for v in values if v is not None], dtype=float)
    if a.size == 0:
        raise ValueError("mean_ci needs at least one value")
    mean = float(a.mean())
    if a.size < 2:
        return {"mean": mean, "low": None, "high": None, "sd": None, "n": 1}
    sd = float(a.std(ddof=1))
    if sd == 0:
        return {"mean": mean, "low": mean, "high": mean, "sd": 0.0, "n": int(a.size)}
    low, high = stats.t.interval(confidence, a.size - 1, loc=mean, scale=sd / math.sqrt(a.size))
    return {"mean": mean, "low": float(low), "high": float(high), "sd": sd, "n": int(a.size)}


def proportion_ci(successes: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval of a proportion (one accuracy on ``n`` test images)."""
    from statsmodels.stats.proportion import proportion_confint

    if n <= 0:
        raise ValueError(f"proportion_ci needs n > 0, got {n}")
    low, high = proportion_confint(int(successes), int(n), alpha=1 - confidence, method="wilson")
    return float(low), float(high)


# The tests a Comparison can be (its ``kind``).
TEST_KINDS = ("paired_t", "seeds_t", "anova_t", "mcnemar_exact", "nadeau_bengio", "not_compared")


@dataclass
class Comparison:
    """The outcome of one test of ``a`` against ``b`` (``diff`` = a - b)."""

    a: str
    b: str
    test: str
    n: int
    diff: float
    p: float | None
    low: float | None = None
    high: float | None = None
    p_adjusted: float | None = None
    correction: str | None = None
    mde: float | None = None  # the smallest difference the design detects with 80% power
    power: float | None = None  # the power to detect DETECT (2 points) at this design's standard error
    equivalent: bool | None = None  # TOST within ``margin``
    margin: float | None = None
    tost_low: float | None = None  # the 90% interval TOST judges (both one-sided tests at ALPHA)
    tost_high: float | None = None
    family: str | None = None  # the family of claims it is adjusted within (None: a claim on its own)
    se: float | None = None  # the standard error of ``diff`` the test used
    df: float | None = None  # its degrees of freedom (t-based tests)
    excluded: str | None = None  # why the two were not compared (one of them did not train)
    kind: str | None = None  # which test (TEST_KINDS): what an independent recomputation redoes
    inputs: dict | None = None  # what it was computed from (record ids, metrics): set by emnist_lib.analysis
    no_plateau: bool = False  # a run compared showed no plateau (the report's dagger): set by emnist_lib.analysis
    seeds_needed: int | None = None  # below 80% power for DETECT: the seeds :func:`plan_seeds` plans from these runs
    seeds_max: int | None = None  # the most seeds it planned for (seeds_needed None and seeds_max set: more needed)

    @property
    def p_decisive(self) -> float | None:
        return self.p_adjusted if self.p_adjusted is not None else self.p

    @property
    def significant(self) -> bool:
        """Detectable: the reported (family-adjusted) interval excludes zero; without an interval, p < ALPHA."""
        if self.low is not None and self.high is not None:
            return self.low > 0 or self.high < 0
        p = self.p_decisive
        return p is not None and p < ALPHA

    @property
    def direction(self) -> int:
        """+1 when ``a`` is detectably better, -1 when detectably worse, 0 otherwise."""
        if not self.significant or self.diff == 0:
            return 0
        return 1 if self.diff > 0 else -1

    def as_dict(self) -> dict:
        return {**asdict(self), "significant": self.significant, "direction": self.direction}


def paired_test(a: Sequence[float], b: Sequence[float], name_a: str = "A", name_b: str = "B",
                unit: str = "seeds") -> Comparison:
    """Paired t-test (scipy.stats.ttest_rel) of ``a`` against ``b``, paired by seed or fold.

    Returns the mean difference with its 95% interval. Fewer than 2 pairs, or identical
    differences, give no p-value (nothing can be called)."""
    from scipy import stats

    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired_test needs two equally long 1-d sequences, got {a.shape} and {b.shape}")
    d = a - b
    diff = float(d.mean()) if d.size else 0.0
    test = f"paired t-test over {len(d)} {unit}"
    if d.size < 2 or float(d.std(ddof=1)) == 0.0:
        same = d.size >= 2 and diff == 0.0
        return Comparison(name_a, name_b, test, int(d.size), diff, 1.0 if same else None,
                          diff if same else None, diff if same else None, kind="paired_t")
    res = stats.ttest_rel(a, b)
    ci = res.confidence_interval(CONFIDENCE)
    return Comparison(name_a, name_b, test, int(d.size), diff, float(res.pvalue), float(ci.low), float(ci.high),
                      kind="paired_t", df=float(d.size - 1))


def mcnemar_test(correct_a: Sequence[bool], correct_b: Sequence[bool], name_a: str = "A",
                 name_b: str = "B", family_size: int = 1) -> Comparison:
    """McNemar's exact test for two models scored on the same test images (``correct_a[i]``: model A got image
    ``i`` right), within a family of ``family_size`` claims.

    Of the ``d`` images the two models disagree on, A gets ``b`` right; under no difference ``b`` is
    Binomial(d, 1/2) (the exact test, statsmodels' ``mcnemar(exact=True)``). ``diff`` is A's accuracy minus B's,
    ``d/n (2 pi - 1)`` for the share ``pi`` of disagreements A wins; its interval is the Clopper-Pearson interval
    of ``pi`` at level 1 - ALPHA/m mapped onto it (conditional on ``d``), the inversion of the same exact test,
    so the interval excludes zero exactly when the Bonferroni-adjusted p-value is below ALPHA."""
    from statsmodels.stats.contingency_tables import mcnemar
    from statsmodels.stats.proportion import proportion_confint

    ca, cb = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    if ca.shape != cb.shape or ca.ndim != 1 or ca.size == 0:
        raise ValueError(f"mcnemar_test needs two equally long non-empty 1-d sequences, got {ca.shape} and {cb.shape}")
    only_a, only_b = int(np.sum(ca & ~cb)), int(np.sum(~ca & cb))
    table = [[int(np.sum(ca & cb)), only_a], [only_b, int(np.sum(~ca & ~cb))]]
    d, n, m = only_a + only_b, int(ca.size), family_size
    diff = float(ca.mean() - cb.mean())
    test = f"McNemar (exact) on {n:,} test images, {d:,} discordant"
    if d == 0:
        return Comparison(name_a, name_b, test, n, diff, 1.0, p_adjusted=1.0 if m > 1 else None,
                          correction=f"Bonferroni over {m}" if m > 1 else None, se=0.0, kind="mcnemar_exact")
    p = float(mcnemar(table, exact=True).pvalue)
    lo, hi = proportion_confint(only_a, d, alpha=ALPHA / m, method="beta")
    se = math.sqrt(max(d - (only_a - only_b) ** 2 / n, 0.0)) / n  # paired proportions (Wald), for the power
    c = Comparison(name_a, name_b, test, n, diff, p, d / n * (2 * lo - 1), d / n * (2 * hi - 1),
                   p_adjusted=min(1.0, p * m) if m > 1 else None,
                   correction=f"Bonferroni over {m}" if m > 1 else None, se=se, kind="mcnemar_exact")
    c.mde = min_detectable(se, m) if se > 0 else None
    c.power = power_at(DETECT, se, m) if se > 0 else None
    return c


def bonferroni(comparisons: list[Comparison], family_size: int | None = None) -> list[Comparison]:
    """Bonferroni-adjust a family of paired t-tests over seeds (:func:`paired_test`) in place: p-values times the
    family size and the interval at level 1 - ALPHA/size, so verdict and interval agree. Returns the comparisons.
    Other tests take the family size when they are made (``family_size=``); one given here is an error, not a
    comparison labelled adjusted whose interval is not."""
    from scipy import stats

    m = family_size or len(comparisons)
    if m <= 1:
        return comparisons
    for c in comparisons:
        if c.p is None or c.correction:
            continue
        if not c.test.startswith("paired t-test"):
            raise ValueError(f"bonferroni adjusts paired t-tests only; make {c.test!r} with family_size={m}")
        c.p_adjusted, c.correction = min(1.0, c.p * m), f"Bonferroni over {m}"
        if c.low is not None and c.high is not None and c.n >= 2:
            half = (c.high - c.low) / 2
            scale = stats.t.ppf(1 - ALPHA / (2 * m), c.n - 1) / stats.t.ppf(1 - ALPHA / 2, c.n - 1)
            c.low, c.high = c.diff - half * scale, c.diff + half * scale
    return comparisons


def fmt_df(df: float) -> str:
    """Degrees of freedom: whole numbers as such, fractional ones (an approximation) with one decimal."""
    return f"{df:.0f}" if abs(df - round(df)) < 0.05 else f"{df:.1f}"


def fmt_p(p: float | None) -> str:
    if p is None:
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def fmt_power(power: float) -> str:
    """A power in whole percent, rounded down: a design short of the 80% target never prints as "80%"."""
    return f"{math.floor(100 * power + 1e-9):.0f}%"


def fmt_bound(value: float) -> str:
    """An interval bound (a fraction) in signed points, one decimal; more digits when one decimal would show
    a bound that is not zero as 0.0 (a reader checks "excludes zero" on the printed digits)."""
    return f"{100 * value:+.{_decimals(value)}f}"


def _decimals(*values: float) -> int:
    """Decimals (1 or more) that show every non-zero value in points as non-zero."""
    digits = 1
    for v in values:
        while v != 0 and digits < 4 and float(f"{100 * v:.{digits}f}") == 0:
            digits += 1
    return digits


def fmt_bounds(low: float, high: float) -> str:
    """An interval ``[low, high]`` in signed points, both bounds with the same decimals (:func:`fmt_bound`)."""
    d = _decimals(low, high)
    return f"[{100 * low:+.{d}f}, {100 * high:+.{d}f}]"


def fmt_points(value: float) -> str:
    """An accuracy difference (a fraction) in percentage points, signed."""
    return f"{100 * value:+.1f} points"


def fmt_interval(ci: dict, digits: int = 1) -> str:
    """``mean [low, high]`` in percent for an interval from :func:`mean_ci`."""
    if ci.get("low") is None:
        return f"{100 * ci['mean']:.{digits}f}% (one run)"
    return f"{100 * ci['mean']:.{digits}f}% [{100 * ci['low']:.{digits}f}, {100 * ci['high']:.{digits}f}]"


# --------------------------------------------------------------------------- seeds x images
@dataclass(frozen=True)
class SeedsImagesSE:
    """The standard error of a mean over seeds of per-image scores as two parts: ``seed_var``, estimated from the
    seed means on ``df`` = seeds - 1 degrees of freedom, and ``image_var``, the shared images' own part, estimated from
    thousands of images (so taken as known); ``se`` = sqrt(seed_var + image_var). :meth:`half` is the half-width of a
    two-sided interval at level 1 - alpha, each part scaled by its own quantile (a modified large-sample interval,
    Graybill and Wang 1980): with few seeds, a Satterthwaite t on the combined estimate is too narrow when the seeds
    dominate."""

    se: float
    seed_var: float
    image_var: float
    df: float
    method: str

    def half(self, alpha: float) -> float:
        from scipy.stats import norm, t

        return math.sqrt(float(t.isf(alpha / 2, self.df)) ** 2 * self.seed_var
                         + float(norm.isf(alpha / 2)) ** 2 * self.image_var)

    def power(self, diff: float, alpha: float) -> float:
        """The power of this interval's own test at level ``alpha`` against a true difference ``diff``, taking the
        seed and image parts as the true variances: the estimate is normal with sd :attr:`se`, the seed part's
        estimate is seed_var times a chi-square on ``df`` over ``df`` (independent of it), the image part known; the
        test rejects when the estimate falls outside its half-width. Integrated over the chi-square's quantiles by
        Gauss-Legendre quadrature, so a few seeds' noisy variance counts (with the image part zero: the noncentral
        t's power)."""
        from scipy.stats import norm, t

        if self.se <= 0:
            return 1.0
        qt2, qz2 = float(t.isf(alpha / 2, self.df)) ** 2, float(norm.isf(alpha / 2)) ** 2
        v, w = _chi2_nodes(self.df) if self.seed_var > 0 else (np.array([self.df]), np.array([1.0]))
        h = np.sqrt(qt2 * self.seed_var * v / self.df + qz2 * self.image_var)
        return float(np.sum(w * (norm.sf((h - diff) / self.se) + norm.cdf((-h - diff) / self.se))))

    def detectable(self, alpha: float, power: float = POWER) -> float:
        """The smallest true difference this design's test at ``alpha`` detects with ``power`` (:meth:`power`)."""
        from scipy.optimize import brentq

        if self.se <= 0:
            return 0.0
        top = 2 * self.half(alpha) + 10 * self.se
        return float(brentq(lambda d: self.power(d, alpha) - power, 0.0, top, xtol=1e-9))

    def p_value(self, diff: float) -> float:
        """The two-sided p-value of ``diff`` against 0: the alpha at which :meth:`half` equals |diff| (so the interval
        at level 1 - alpha excludes zero exactly when p < alpha)."""
        from scipy.optimize import brentq
        from scipy.stats import t

        if self.se == 0:
            raise ValueError("no p-value without a standard error")
        if self.image_var == 0:
            return float(2 * t.sf(abs(diff) / math.sqrt(self.seed_var), self.df))
        if self.half(1e-15) <= abs(diff):
            return 1e-15
        return float(brentq(lambda a: self.half(a) - abs(diff), 1e-15, 1.0, xtol=1e-14, rtol=1e-12))


@functools.lru_cache(maxsize=64)
def _chi2_nodes(df: float, n: int = 48) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes on the chi-square(``df``) quantile scale and their weights: the integral of f(V) over
    V ~ chi-square(df) as sum(w * f(v)). Composite, with panels that narrow towards the lowest quantiles, where a
    small variance estimate makes the test reject most (the size at no difference comes out within 1e-9)."""
    from scipy.stats import chi2

    x, w = np.polynomial.legendre.leggauss(n)
    edges = (0.0, 1e-6, 1e-4, 1e-2, 0.2, 0.8, 1.0)
    u = np.concatenate([a + (b - a) * (x + 1) / 2 for a, b in zip(edges[:-1], edges[1:])])
    weights = np.concatenate([w * (b - a) / 2 for a, b in zip(edges[:-1], edges[1:])])
    return chi2.ppf(u, df), weights


def _mean_squares(x: np.ndarray) -> tuple[float, float, float]:
    """``(MS_seed, MS_image, MS_residual)`` of a seeds x images table with one value per cell (two-way ANOVA)."""
    k, n = x.shape
    grand, seed_means, image_means = x.mean(), x.mean(axis=1), x.mean(axis=0)
    ms_seed = n * float(np.sum((seed_means - grand) ** 2)) / (k - 1)
    ms_image = k * float(np.sum((image_means - grand) ** 2)) / (n - 1) if n > 1 else 0.0
    resid = x - seed_means[:, None] - image_means[None, :] + grand
    df_resid = (k - 1) * (n - 1)
    return ms_seed, ms_image, float(np.sum(resid ** 2)) / df_resid if df_resid else 0.0


def seeds_images_se(per_seed: Sequence[np.ndarray], shared_images: bool) -> SeedsImagesSE:
    """The standard error of the mean over seeds of each seed's mean score (a recipe's accuracy, or a paired
    difference of two recipes), counting each source of noise once.

    ``per_seed[s]`` holds one value per scored image for seed ``s`` (correctness 0/1, or a paired difference
    -1/0/1), at least 2 seeds.

    * Each seed scored on images of its own (its validation split): a seed's mean already holds both the
      seed-to-seed spread and the sampling of its images, so the variance is that of the seed means over seeds,
      all of it a seed part on seeds - 1 degrees of freedom (a paired t-test over seeds).
    * Every seed scored on the same images (a shared test or validation set): the scores form a seeds x images
      table with one value per cell; the variance of its grand mean, sigma_seed^2/k + sigma_image^2/n +
      sigma_residual^2/(k n), is estimated from the two-way ANOVA mean squares as a seed part max(MS_seed,
      MS_residual)/(k n) (seeds - 1 df) and an image part max(MS_image - MS_residual, 0)/(k n): together the usual
      (MS_seed + MS_image - MS_residual)/(k n) with a negative component set to zero. A bootstrap over seeds and
      images would count the seed-by-image noise twice."""
    arrays = [np.asarray(a, np.float64) for a in per_seed]
    k = len(arrays)
    if k < 2 or any(a.size == 0 for a in arrays):
        raise ValueError(f"a standard error over seeds needs at least 2 seeds with scored images, got {k}")
    if not shared_images:
        means = np.array([a.mean() for a in arrays])
        var = float(means.var(ddof=1) / k)
        return SeedsImagesSE(math.sqrt(var), var, 0.0, float(k - 1),
                             f"the spread of the {k} seed means (each seed its own images)")
    if len({a.size for a in arrays}) != 1:
        raise ValueError("shared_images needs every seed scored on the same number of images")
    ms_seed, ms_image, ms_resid = _mean_squares(np.stack(arrays))
    n = arrays[0].size
    seed_var = max(ms_seed, ms_resid) / (k * n)
    image_var = max(ms_image - ms_resid, 0.0) / (k * n)
    return SeedsImagesSE(math.sqrt(seed_var + image_var), seed_var, image_var, float(k - 1),
                         f"two-way ANOVA of {k} seeds x {n:,} shared images, modified large-sample interval")


def _t_quantile(q: float, df: float) -> float:
    from scipy.stats import t

    return float(t.ppf(q, df))


def recipe_interval(per_seed: Sequence[np.ndarray], shared_images: bool, confidence: float = CONFIDENCE) -> dict:
    """A recipe's accuracy over seeds with its interval: the standard error of :func:`seeds_images_se` with a
    Student-t quantile on its degrees of freedom, on the logit scale, so it stays inside (0, 1). One seed: the
    Wilson interval of its accuracy on its images."""
    n = len(per_seed)
    mean = float(np.mean([np.mean(a) for a in per_seed]))
    if n < 2:
        a = np.asarray(per_seed[0], float)
        low, high = proportion_ci(int(round(a.sum())), a.size, confidence)
        return {"mean": mean, "low": low, "high": high, "sd": None, "n": 1,
                "method": f"Wilson interval on {a.size:,} images (one seed)"}
    est = seeds_images_se(per_seed, shared_images)
    if not 0 < mean < 1 or est.se == 0:
        return {"mean": mean, "low": mean, "high": mean, "sd": est.se, "df": est.df, "n": n, "method": est.method}
    logit, half = math.log(mean / (1 - mean)), est.half(1 - confidence) / (mean * (1 - mean))
    return {"mean": mean, "low": 1 / (1 + math.exp(-(logit - half))), "high": 1 / (1 + math.exp(-(logit + half))),
            "sd": est.se, "df": est.df, "n": n, "method": f"{est.method}, logit scale"}


def min_detectable(se: float, family_size: int = 1, power: float = POWER, df: float | None = None) -> float:
    """The smallest true difference a two-sided test at ALPHA/``family_size`` detects with ``power``, for
    an estimate with standard error ``se``: the inverse of :func:`power_at` (the noncentral t on ``df`` degrees of
    freedom, or the normal when ``df`` is None), so a comparison's detectable difference and its power agree. (The
    shortcut (t quantile + t quantile) x se understates it on few degrees of freedom: 4.7 instead of 5.1 points on
    2 df.)"""
    from scipy.optimize import brentq

    if se <= 0:
        return 0.0
    top = 2 * se
    while power_at(top, se, family_size, df) < power:
        top *= 2
    return float(brentq(lambda d: power_at(d, se, family_size, df) - power, 0.0, top, xtol=1e-12 * max(se, 1e-12)))


def power_at(diff: float, se: float, family_size: int = 1, df: float | None = None) -> float:
    """The power of a two-sided test at ALPHA/``family_size`` to detect a true difference ``diff`` for an estimate
    with standard error ``se``: the noncentral t (scipy) on ``df`` degrees of freedom, or the normal when None."""
    from scipy.stats import nct, norm

    if se <= 0:
        return 1.0
    delta = abs(diff) / se
    if df is None:
        z = norm.ppf(1 - ALPHA / (2 * family_size))
        return float(norm.sf(z - delta) + norm.cdf(-z - delta))
    q = _t_quantile(1 - ALPHA / (2 * family_size), df)
    return float(nct.sf(q, df, delta) + nct.sf(q, df, -delta))  # the lower tail by symmetry (scipy: no nan)


@dataclass(frozen=True)
class SeedPlan:
    """How many seeds a comparison on shared images needs to detect ``target`` with ``power`` (:func:`plan_seeds`)."""

    seeds: int | None  # None: not reached within max_seeds (the images are the limit)
    power: float  # at ``seeds`` (or at max_seeds)
    target: float
    family_size: int
    n_images: int
    components: dict  # the pilot's variance components of a paired difference: seed, image, residual


def plan_seeds(pilot: Sequence[np.ndarray], n_images: int | None = None, family_size: int = 1, target: float = DETECT,
               power: float = POWER, max_seeds: int = 20, shared_images: bool = True) -> SeedPlan:
    """Seeds for a comparison of two recipes on shared images, from a pilot's paired differences (``pilot[s]``: one
    seed's per-image difference of the two recipes, -1/0/1, on the same images for every seed).

    ``shared_images=False`` (each seed scored on images of its own): the variance of a seed's mean difference,
    taken at its one-sided 80% upper confidence bound, over k seeds on k - 1 degrees of freedom (the paired t of
    :func:`seeds_images_se`); ``n_images`` does not apply.

    The pilot's two-way ANOVA gives the variance components of a difference (seed, image, residual; see
    :func:`seeds_images_se`), the seed component taken at its one-sided 80% upper confidence bound (a pilot of 2-3
    seeds often estimates it at zero: planning on that would promise power the study does not have). A design of
    ``k`` seeds on ``n_images`` images then has the seed part (n seed + residual)/(k n) on k - 1 degrees of freedom
    and the image part image/n of :class:`SeedsImagesSE`, the same interval the study will compute; the plan is the
    smallest ``k`` whose power (the estimate falling outside the interval at the family's level) reaches ``power``
    at ``target``."""

    if not shared_images:
        means = np.array([np.mean(np.asarray(a, np.float64)) for a in pilot])
        k0 = means.size
        if k0 < 2:
            raise ValueError(f"a pilot needs at least 2 seeds to estimate the seed-to-seed spread, got {k0}")
        var_upper = seed_bound_factor(k0) * float(means.var(ddof=1))
        comp = {"seed": var_upper, "image": 0.0, "residual": 0.0, "seed_estimate": float(means.var(ddof=1))}
        return _first_powered(lambda k: (var_upper / k, 0.0), target, power, family_size, max_seeds, 0, comp)
    x = np.stack([np.asarray(a, np.float64) for a in pilot])
    k0, n0 = x.shape
    if k0 < 2:
        raise ValueError(f"a pilot needs at least 2 seeds to estimate the seed-to-seed spread, got {k0}")
    n = n_images or n0
    ms_seed, ms_image, ms_resid = _mean_squares(x)
    ms_seed_upper = seed_bound_factor(k0) * max(ms_seed, ms_resid)
    comp = {"seed": max((ms_seed_upper - ms_resid) / n0, 0.0), "image": max((ms_image - ms_resid) / k0, 0.0),
            "residual": ms_resid, "seed_estimate": max((ms_seed - ms_resid) / n0, 0.0)}
    return plan_from_components(comp, n, family_size, target, power, max_seeds)


def seed_bound_factor(seeds: int) -> float:
    """The factor :func:`plan_seeds` puts on a pilot's seed mean square: its one-sided 80% upper confidence bound
    over the estimate, (seeds - 1) / chi-square quantile, for a pilot of ``seeds`` seeds."""
    from scipy.stats import chi2

    return (seeds - 1) / float(chi2.ppf(1 - POWER, seeds - 1))


def plan_from_components(comp: dict, n_images: int, family_size: int = 1, target: float = DETECT,
                         power: float = POWER, max_seeds: int = 20) -> SeedPlan:
    """:func:`plan_seeds` from a pilot's stored variance components (``seed`` at its 80% upper bound, ``image``,
    ``residual``) for a design on ``n_images`` shared images: a stored pilot planned again with today's power
    (``benchmarks/power_pilot.py --replan``) without training it again."""
    n = n_images
    return _first_powered(lambda k: ((n * comp["seed"] + comp["residual"]) / (k * n), comp["image"] / n), target,
                          power, family_size, max_seeds, n, comp)


def _first_powered(design, target: float, power: float, family_size: int, max_seeds: int, n: int,
                   comp: dict) -> SeedPlan:
    """The smallest k in 2..max_seeds whose design (``design(k)``: its seed and image variance parts, the seed part
    on k - 1 degrees of freedom) reaches ``power`` at ``target`` at the family's level."""
    best = 0.0
    for k in range(2, max_seeds + 1):
        seed_var, image_var = design(k)
        est = SeedsImagesSE(math.sqrt(seed_var + image_var), seed_var, image_var, float(k - 1), "")
        best = est.power(target, ALPHA / family_size)
        if best >= power:
            return SeedPlan(k, best, target, family_size, n, comp)
    return SeedPlan(None, best, target, family_size, n, comp)


def recipe_comparison(a: Sequence[np.ndarray], b: Sequence[np.ndarray], shared_images: bool, name_a: str = "A",
                      name_b: str = "B", family_size: int = 1, unit: str = "seeds",
                      margin: float = EQUIVALENCE_MARGIN) -> Comparison:
    """Recipe A against recipe B, trained with the same seeds and scored on the same images per seed:
    the mean difference in accuracy with the standard error and degrees of freedom of :func:`seeds_images_se`
    (a paired t over seeds when each seed has its own images; the seeds x images ANOVA when they share them).

    Within a family of ``family_size`` comparisons everything is at ALPHA/``family_size`` (Bonferroni): the
    interval (level 1 - ALPHA/m), the p-value (times m), the smallest difference detected with 80% power, and
    TOST, whose (1 - 2 ALPHA/m) interval must lie within ``margin`` for an equivalence; interval and p-value
    come from the same t statistic, so a difference is detectable exactly when its interval excludes zero."""
    if len(a) != len(b):
        raise ValueError(f"{name_a} and {name_b}: paired over seeds, but {len(a)} and {len(b)} seeds")
    if len(a) < 2:
        raise ValueError(f"{name_a} vs {name_b}: a comparison of recipes needs at least 2 seeds, got {len(a)}")
    if any(np.shape(x) != np.shape(y) for x, y in zip(a, b)):
        raise ValueError(f"{name_a} vs {name_b}: the two recipes must be scored on the same images per seed")
    diffs = [np.asarray(x, np.float64) - np.asarray(y, np.float64) for x, y in zip(a, b)]
    n, m = len(a), family_size
    est = seeds_images_se(diffs, shared_images)
    se, df = est.se, est.df
    diff = float(np.mean([d.mean() for d in diffs]))
    if shared_images:
        test = f"t on the seeds x images ANOVA SE ({n} {unit}, {diffs[0].size:,} shared images; {fmt_df(df)} df)"
    else:
        images = int(np.mean([d.size for d in diffs]))
        test = f"paired t over {n} {unit} (each its own {images:,} images; {fmt_df(df)} df)"
    kind = "anova_t" if shared_images else "seeds_t"
    if se == 0:  # the same difference on every seed (and image): nothing estimates its spread, nothing is called
        return Comparison(name_a, name_b, test, n, diff, None, se=0.0, df=df, kind=kind,
                          correction=f"Bonferroni over {m}" if m > 1 else None)
    p = est.p_value(diff)
    half = est.half(ALPHA / m)
    c = Comparison(name_a, name_b, test, n, diff, p, diff - half, diff + half,
                   p_adjusted=min(1.0, p * m) if m > 1 else None,
                   correction=f"Bonferroni over {m}" if m > 1 else None, se=se, df=df, kind=kind)
    c.mde = est.detectable(ALPHA / m)  # the smallest true difference the interval's test detects 80% of the time
    c.power = est.power(DETECT, ALPHA / m)
    if c.power < POWER:  # what a next study would need: planned from these runs, as from a pilot
        plan = plan_seeds(diffs, family_size=m, shared_images=shared_images, max_seeds=PLAN_MAX_SEEDS)
        c.seeds_needed, c.seeds_max = plan.seeds, PLAN_MAX_SEEDS
    tost = est.half(2 * ALPHA / m)  # TOST at ALPHA/m: the (1 - 2 ALPHA/m) interval inside the margin
    c.tost_low, c.tost_high = diff - tost, diff + tost
    c.equivalent = bool(-margin < c.tost_low and c.tost_high < margin)
    c.margin = margin
    return c


def corrected_resampled_t(a: Sequence[float], b: Sequence[float], n_train: int, n_test: int, name_a: str = "A",
                          name_b: str = "B", family_size: int = 1) -> Comparison:
    """k-fold (or repeated) cross-validation scores of A and B on the same folds: the Nadeau-Bengio (2003)
    corrected resampled t-test, whose variance grows by n_test/n_train for the overlap of training folds
    (a plain paired t over folds is anti-conservative, Dietterich 1998). Bonferroni within a family, with
    the matching adjusted interval."""
    from scipy import stats

    d = np.asarray(a, float) - np.asarray(b, float)
    k = d.size
    if k < 2:
        raise ValueError(f"{name_a} vs {name_b}: a cross-validated comparison needs at least 2 folds, got {k}")
    mean, var = float(d.mean()), float(d.var(ddof=1))
    se = float(np.sqrt((1 / k + n_test / n_train) * var))
    test = f"corrected resampled t-test over {k} folds (Nadeau-Bengio)"
    if se == 0:  # the same difference on every fold: nothing estimates its spread, nothing is called
        return Comparison(name_a, name_b, test, k, mean, None, kind="nadeau_bengio", se=0.0, df=float(k - 1))
    t = mean / se
    p = float(2 * stats.t.sf(abs(t), k - 1))
    half = float(stats.t.ppf(1 - ALPHA / (2 * family_size), k - 1) * se)
    c = Comparison(name_a, name_b, test, k, mean, p, mean - half, mean + half,
                   p_adjusted=min(1.0, p * family_size) if family_size > 1 else None,
                   correction=f"Bonferroni over {family_size}" if family_size > 1 else None, se=se,
                   df=float(k - 1), kind="nadeau_bengio",
                   inputs={"a": list(map(float, a)), "b": list(map(float, b)), "n_train": n_train, "n_test": n_test})
    c.mde = min_detectable(se, family_size, df=k - 1)
    c.power = power_at(DETECT, se, family_size, k - 1)
    return c
