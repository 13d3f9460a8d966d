"""Statistics for comparisons: intervals, paired tests, multiple-comparison control.

Everything numeric comes from scipy.stats or statsmodels; this module only
chooses the test that fits the design:

* a recipe's accuracy over seeds, scored per image: the standard error of a seeds x images bootstrap
  with a Student-t quantile on seeds - 1 df, on the logit scale (:func:`recipe_interval`);
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
BOOTSTRAP = 4000  # replicates of the seed x test-image bootstrap
EQUIVALENCE_MARGIN = 0.01  # TOST margin (accuracy, 1 point) where a section argues two settings are equivalent


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
    equivalent: bool | None = None  # TOST within ``margin``
    margin: float | None = None
    tost_low: float | None = None  # the 90% interval TOST judges (both one-sided tests at ALPHA)
    tost_high: float | None = None
    family: str | None = None  # the family of claims it is adjusted within (None: a claim on its own)

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
                          diff if same else None, diff if same else None)
    res = stats.ttest_rel(a, b)
    ci = res.confidence_interval(CONFIDENCE)
    return Comparison(name_a, name_b, test, int(d.size), diff, float(res.pvalue), float(ci.low), float(ci.high))


def mcnemar_test(correct_a: Sequence[bool], correct_b: Sequence[bool], name_a: str = "A",
                 name_b: str = "B") -> Comparison:
    """McNemar's test (statsmodels) for two models scored on the same test images.

    ``correct_a[i]`` says whether model A got image ``i`` right. Exact binomial test
    when fewer than 25 images are discordant, chi-square with continuity correction
    otherwise. ``diff`` is A's accuracy minus B's accuracy."""
    from statsmodels.stats.contingency_tables import mcnemar

    ca, cb = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    if ca.shape != cb.shape or ca.ndim != 1 or ca.size == 0:
        raise ValueError(f"mcnemar_test needs two equally long non-empty 1-d sequences, got {ca.shape} and {cb.shape}")
    only_a, only_b = int(np.sum(ca & ~cb)), int(np.sum(~ca & cb))
    table = [[int(np.sum(ca & cb)), only_a], [only_b, int(np.sum(~ca & ~cb))]]
    exact = only_a + only_b < 25
    p = 1.0 if only_a + only_b == 0 else float(mcnemar(table, exact=exact, correction=True).pvalue)
    kind = "exact" if exact else "chi-square"
    n, diff = int(ca.size), float(ca.mean() - cb.mean())
    se = math.sqrt(max(only_a + only_b - (only_a - only_b) ** 2 / n, 0.0)) / n  # paired proportions (Wald)
    z = _z(1 - ALPHA / 2)
    low, high = (diff - z * se, diff + z * se) if se > 0 else (None, None)
    return Comparison(name_a, name_b, f"McNemar ({kind}) on {n} test images", n, diff, p, low, high)


def two_proportions(acc_a: float, n_a: int, acc_b: float, n_b: int, name_a: str = "A",
                    name_b: str = "B") -> Comparison:
    """Two accuracies on different (independent) test sets: two-proportion z-test (statsmodels)."""
    from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

    k = [round(acc_a * n_a), round(acc_b * n_b)]
    _, p = proportions_ztest(k, [n_a, n_b])
    low, high = confint_proportions_2indep(k[0], n_a, k[1], n_b, method="wald")
    return Comparison(name_a, name_b, f"two-proportion z-test ({n_a} and {n_b} test images)", n_a + n_b,
                      float(acc_a - acc_b), float(p), float(low), float(high))


def _z(q: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(q))


def bonferroni(comparisons: list[Comparison], family_size: int | None = None) -> list[Comparison]:
    """Bonferroni-adjust a family in place: p-values times the family size and, for t-based intervals, the
    interval at level 1 - ALPHA/size, so verdict and interval agree. Returns the comparisons."""
    from scipy import stats

    m = family_size or len(comparisons)
    if m <= 1:
        return comparisons
    for c in comparisons:
        if c.p is None or c.correction:
            continue
        c.p_adjusted, c.correction = min(1.0, c.p * m), f"Bonferroni over {m}"
        if c.low is not None and c.high is not None and c.n >= 2 and c.test.startswith(("paired t-test",)):
            half = (c.high - c.low) / 2
            scale = stats.t.ppf(1 - ALPHA / (2 * m), c.n - 1) / stats.t.ppf(1 - ALPHA / 2, c.n - 1)
            c.low, c.high = c.diff - half * scale, c.diff + half * scale
    return comparisons


def fmt_p(p: float | None) -> str:
    if p is None:
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def fmt_bound(value: float) -> str:
    """An interval bound (a fraction) in signed points, one decimal; more digits when one decimal would show
    a bound that is not zero as 0.0 (a reader checks "excludes zero" on the printed digits)."""
    text = f"{100 * value:+.1f}"
    return f"{100 * value:+.2g}" if value != 0 and float(text) == 0 else text


def fmt_points(value: float) -> str:
    """An accuracy difference (a fraction) in percentage points, signed."""
    return f"{100 * value:+.1f} points"


def fmt_interval(ci: dict, digits: int = 1) -> str:
    """``mean [low, high]`` in percent for an interval from :func:`mean_ci`."""
    if ci.get("low") is None:
        return f"{100 * ci['mean']:.{digits}f}% (one run)"
    return f"{100 * ci['mean']:.{digits}f}% [{100 * ci['low']:.{digits}f}, {100 * ci['high']:.{digits}f}]"


# --------------------------------------------------------------------------- seeds x images
def bootstrap_means(per_seed: Sequence[np.ndarray], shared_images: bool, n_boot: int = BOOTSTRAP,
                    seed: int = 0) -> np.ndarray:
    """``n_boot`` replicates of the mean over seeds of each seed's mean score, resampling both the seeds
    and the scored images (a two-level bootstrap, Bouthillier et al. 2021).

    ``per_seed[s]`` holds one value per image for seed ``s`` (correctness 0/1, or a paired difference
    -1/0/1). ``shared_images``: every seed is scored on the same images (a test set: one image resample
    per replicate, common to all seeds); otherwise each seed has images of its own (its validation split:
    resampled separately). Seeds are resampled exactly (multinomial); images with Poisson weights, so a
    replicate is a weighted mean and the whole bootstrap a few matrix products."""
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(a, np.float32) for a in per_seed]
    n_seeds = len(arrays)
    if n_seeds == 0 or any(a.size == 0 for a in arrays):
        raise ValueError("bootstrap_means needs at least one seed with at least one scored image")
    seed_w = rng.multinomial(n_seeds, np.full(n_seeds, 1 / n_seeds), size=n_boot).astype(np.float32)
    if shared_images:
        if len({a.size for a in arrays}) != 1:
            raise ValueError("shared_images needs every seed scored on the same number of images")
        image_w, total = _image_weights(n_boot, arrays[0].size, seed, 0)
        per = (image_w @ np.stack(arrays).T) / total[:, None]  # (n_boot, n_seeds)
    else:
        per = np.stack([(w @ a) / total for s, a in enumerate(arrays)
                        for w, total in [_image_weights(n_boot, a.size, seed, s)]], axis=1)
    return (seed_w * per).sum(axis=1) / n_seeds


@functools.lru_cache(maxsize=32)
def _image_weights(n_boot: int, n: int, seed: int, stream: int) -> tuple[np.ndarray, np.ndarray]:
    """Poisson(1) weights per image and replicate (the Poisson bootstrap, which for hundreds of images or more
    resamples like the multinomial one), and their row sums. Cached: every comparison scored on the same
    ``n`` images reuses one draw (common random numbers), so a report's dozens of comparisons stay cheap;
    ``stream`` gives each seed's own validation images a draw of their own."""
    w = np.random.default_rng((seed, n, stream)).poisson(1.0, size=(n_boot, n)).astype(np.float32)
    w[w.sum(axis=1) == 0, 0] = 1.0  # an all-zero row (vanishingly rare) would divide by zero
    w.setflags(write=False)
    return w, w.sum(axis=1)


def _bootstrap_se(reps: np.ndarray, n_seeds: int) -> float:
    """The standard error of a mean over ``n_seeds`` seeds from its seeds x images bootstrap replicates. A
    bootstrap over n seeds puts the seed level's variance at (n-1)/n of the usual estimate; the factor
    n/(n-1) gives it back (exact for the seed level, slightly conservative for the image level)."""
    return float(reps.std(ddof=1) * math.sqrt(n_seeds / (n_seeds - 1))) if n_seeds > 1 else float(reps.std(ddof=1))


def _t_quantile(q: float, df: int) -> float:
    from scipy.stats import t

    return float(t.ppf(q, df))


def recipe_interval(per_seed: Sequence[np.ndarray], shared_images: bool, confidence: float = CONFIDENCE) -> dict:
    """A recipe's accuracy over seeds with its interval: the standard error from :func:`bootstrap_means`
    (seeds and scored images), a Student-t quantile on seeds - 1 degrees of freedom (the seed-to-seed
    variance is estimated from that many seeds), on the logit scale, so it stays inside (0, 1). One seed:
    the percentile interval of the image bootstrap."""
    reps = bootstrap_means(per_seed, shared_images)
    n = len(per_seed)
    mean = float(np.mean([np.mean(a) for a in per_seed]))
    tail = (1 - confidence) / 2
    if n < 2 or not 0 < mean < 1:
        return {"mean": mean, "low": float(np.quantile(reps, tail)), "high": float(np.quantile(reps, 1 - tail)),
                "sd": float(reps.std()), "n": n, "method": "bootstrap over the scored images (percentile)"}
    se = _bootstrap_se(reps, n)
    logit, half = math.log(mean / (1 - mean)), _t_quantile(1 - tail, n - 1) * se / (mean * (1 - mean))
    return {"mean": mean, "low": 1 / (1 + math.exp(-(logit - half))), "high": 1 / (1 + math.exp(-(logit + half))),
            "sd": se, "n": n, "method": f"bootstrap SE over seeds and images, t on {n - 1} df, logit scale"}


def min_detectable(se: float, family_size: int = 1, power: float = POWER, df: int | None = None) -> float:
    """The smallest true difference a two-sided test at ALPHA/``family_size`` detects with ``power``, for
    an estimate with standard error ``se``: on a Student t with ``df`` degrees of freedom (the t-based
    comparisons here), or the normal approximation when ``df`` is None."""
    if df is not None:
        return float((_t_quantile(1 - ALPHA / (2 * family_size), df) + _t_quantile(power, df)) * se)
    from scipy.stats import norm

    return float((norm.ppf(1 - ALPHA / (2 * family_size)) + norm.ppf(power)) * se)


def recipe_comparison(a: Sequence[np.ndarray], b: Sequence[np.ndarray], shared_images: bool, name_a: str = "A",
                      name_b: str = "B", family_size: int = 1, unit: str = "seeds",
                      margin: float = EQUIVALENCE_MARGIN) -> Comparison:
    """Recipe A against recipe B, trained with the same seeds and scored on the same images per seed:
    the mean difference in accuracy, its standard error from a two-level (seeds x images) bootstrap and a
    Student-t reference on seeds - 1 degrees of freedom: with 3 or 5 seeds the seed-to-seed variance is
    itself uncertain, which percentile bootstrap quantiles over so few seeds would ignore.

    Within a family of ``family_size`` comparisons the interval is the Bonferroni-adjusted one (level
    1 - ALPHA/family_size) and the p-value is multiplied by ``family_size``; interval and p-value come from
    the same t statistic, so a difference is detectable exactly when its reported interval excludes zero. Each comparison also carries the smallest difference
    the design detects with 80% power and a TOST equivalence verdict within ``margin``."""
    if len(a) != len(b):
        raise ValueError(f"{name_a} and {name_b}: paired over seeds, but {len(a)} and {len(b)} seeds")
    if len(a) < 2:
        raise ValueError(f"{name_a} vs {name_b}: a comparison of recipes needs at least 2 seeds, got {len(a)}")
    if any(np.shape(x) != np.shape(y) for x, y in zip(a, b)):
        raise ValueError(f"{name_a} vs {name_b}: the two recipes must be scored on the same images per seed")
    diffs = [np.asarray(x, np.float32) - np.asarray(y, np.float32) for x, y in zip(a, b)]
    n = len(a)
    se = _bootstrap_se(bootstrap_means(diffs, shared_images), n)
    diff = float(np.mean([d.mean() for d in diffs]))
    df = n - 1
    q = _t_quantile(1 - ALPHA / (2 * family_size), df)
    q90 = _t_quantile(1 - ALPHA, df)  # TOST at ALPHA: the 90% interval inside the margin
    if se > 0:
        from scipy.stats import t

        p = float(2 * t.sf(abs(diff) / se, df))
    else:  # identical on every image of every seed
        p = 1.0 if diff == 0 else 0.0
    images = diffs[0].size if shared_images else int(np.mean([d.size for d in diffs]))
    test = (f"t on the seeds x images bootstrap SE ({n} {unit}, {images:,} images{'' if shared_images else ' each'}; "
            f"{df} df)")
    c = Comparison(name_a, name_b, test, n, diff, p, diff - q * se, diff + q * se,
                   p_adjusted=min(1.0, p * family_size) if family_size > 1 else None,
                   correction=f"Bonferroni over {family_size}" if family_size > 1 else None)
    c.mde = min_detectable(se, family_size, df=df)
    c.tost_low, c.tost_high = diff - q90 * se, diff + q90 * se
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
    if se == 0:
        return Comparison(name_a, name_b, test, k, mean, 1.0 if mean == 0 else None, mean, mean)
    t = mean / se
    p = float(2 * stats.t.sf(abs(t), k - 1))
    half = float(stats.t.ppf(1 - ALPHA / (2 * family_size), k - 1) * se)
    c = Comparison(name_a, name_b, test, k, mean, p, mean - half, mean + half,
                   p_adjusted=min(1.0, p * family_size) if family_size > 1 else None,
                   correction=f"Bonferroni over {family_size}" if family_size > 1 else None)
    c.mde = min_detectable(se, family_size, df=k - 1)
    return c
