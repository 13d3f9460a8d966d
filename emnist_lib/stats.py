"""Statistics for comparisons: intervals, paired tests, multiple-comparison control.

Everything numeric comes from scipy.stats or statsmodels; this module only
chooses the test that fits the design:

* a mean over seeds gets a 95% Student-t interval (:func:`mean_ci`);
* one accuracy on one test set gets a Wilson interval (:func:`proportion_ci`);
* two models scored on the same test images are compared with McNemar's test
  (:func:`mcnemar_test`, exact binomial when there are few disagreements);
* two recipes trained with the same seeds (or on the same folds) are compared with a
  paired t-test over seeds or folds (:func:`paired_test`);
* several comparisons against one reference are Holm-corrected (:func:`holm`).

A difference is called a difference only when its test rejects at :data:`ALPHA`
(after correction, :attr:`Comparison.direction`); otherwise the report's verdict
(``templates/findings.md.j2``) says "no detectable difference at this budget"
(Bouthillier et al. 2021; Dodge et al. 2019).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

ALPHA = 0.05
CONFIDENCE = 0.95


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

    @property
    def p_decisive(self) -> float | None:
        return self.p_adjusted if self.p_adjusted is not None else self.p

    @property
    def significant(self) -> bool:
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
    return Comparison(name_a, name_b, f"McNemar ({kind}) on {ca.size} test images", int(ca.size),
                      float(ca.mean() - cb.mean()), p)


def two_proportions(acc_a: float, n_a: int, acc_b: float, n_b: int, name_a: str = "A",
                    name_b: str = "B") -> Comparison:
    """Two accuracies on different (independent) test sets: two-proportion z-test (statsmodels)."""
    from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

    k = [round(acc_a * n_a), round(acc_b * n_b)]
    _, p = proportions_ztest(k, [n_a, n_b])
    low, high = confint_proportions_2indep(k[0], n_a, k[1], n_b, method="wald")
    return Comparison(name_a, name_b, f"two-proportion z-test ({n_a} and {n_b} test images)", n_a + n_b,
                      float(acc_a - acc_b), float(p), float(low), float(high))


def holm(comparisons: list[Comparison]) -> list[Comparison]:
    """Holm-adjust the p-values of a family of comparisons in place (statsmodels); returns them."""
    from statsmodels.stats.multitest import multipletests

    testable = [c for c in comparisons if c.p is not None]
    if len(testable) > 1:
        _, adjusted, _, _ = multipletests([c.p for c in testable], alpha=ALPHA, method="holm")
        for c, p in zip(testable, adjusted):
            c.p_adjusted, c.correction = float(p), f"Holm over {len(testable)} comparisons"
    return comparisons


def fmt_p(p: float | None) -> str:
    if p is None:
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def fmt_points(value: float) -> str:
    """An accuracy difference (a fraction) in percentage points, signed."""
    return f"{100 * value:+.1f} points"


def fmt_interval(ci: dict, digits: int = 1) -> str:
    """``mean [low, high]`` in percent for an interval from :func:`mean_ci`."""
    if ci.get("low") is None:
        return f"{100 * ci['mean']:.{digits}f}% (one run)"
    return f"{100 * ci['mean']:.{digits}f}% [{100 * ci['low']:.{digits}f}, {100 * ci['high']:.{digits}f}]"
