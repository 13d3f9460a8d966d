"""From result records to findings: seeded runs summarised with intervals, compared with tests.

The notebooks record one result per (variant, seed) with a ``group`` and a
``variant`` (:meth:`emnist_lib.study.Study.record`); this module reads them back
(as :class:`~emnist_lib.results.Record`) and answers the questions the study asks.
The same functions feed the notebook's closing cell and the report (each chapter's
findings), so both say the same. It computes; the words are the templates'.

Rules (the house style's "Reporting results"):

* every mean over seeds carries a 95% t-interval, every single accuracy a Wilson interval;
* comparisons between architectures or regularisers use converged runs only; a
  variant with any seed not converged is shown, marked, and left out of the tests;
* a family of comparisons against one reference is Holm-corrected;
* two models on one test set: McNemar for each seed and, with several seeds, a paired
  t-test over seeds; the difference is called only when every one of those tests
  rejects (an intersection-union test: its p-value is the largest of theirs).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from . import stats
from .convergence import worst_status
from .results import Record, unpack_correct


# --------------------------------------------------------------------------- grouping
def of_notebook(records: Iterable[Record], notebook: str) -> list[Record]:
    return [r for r in records if r.notebook == notebook]


def named(records: Iterable[Record], notebook: str, name: str) -> Record | None:
    """The record ``name`` of ``notebook`` (e.g. a selection record), or None."""
    return next((r for r in records if r.notebook == notebook and r.name == name), None)


def group_runs(records: Iterable[Record], notebook: str, group: str) -> dict[str, list[Record]]:
    """``{variant: [records sorted by seed]}`` for one comparison group, in recording order."""
    out: dict[str, list[Record]] = {}
    for r in records:
        if r.notebook == notebook and r.group == group:
            out.setdefault(r.variant, []).append(r)
    return {k: sorted(v, key=lambda r: r.seed) for k, v in out.items()}


def values(runs: list[Record], metric: str) -> list[float]:
    return [float(r.metric(metric)) for r in runs]


def status(runs: list[Record]) -> str:
    """One verdict for a variant over its seeds (:func:`~emnist_lib.convergence.worst_status`;
    ``not_trained``: a model applied without training, recorded as such)."""
    found = [r.status for r in runs]
    if all(s == "not_trained" for s in found):
        return "not_trained"
    return worst_status(found)


def seeds_of(runs: list[Record]) -> list[int]:
    return [r.seed for r in runs]


def _paired(runs_a: list[Record], runs_b: list[Record], metric: str) -> tuple[list[float], list[float]]:
    by_seed = {r.seed: r for r in runs_b}
    common = [r for r in runs_a if r.seed in by_seed]
    return values(common, metric), values([by_seed[r.seed] for r in common], metric)


# --------------------------------------------------------------------------- summaries
@dataclass
class VariantSummary:
    variant: str
    interval: dict
    status: str
    seeds: list[int]
    reasons: list[str]

    def row(self) -> dict:
        return {"variant": self.variant, "mean": self.interval["mean"], "low": self.interval["low"],
                "high": self.interval["high"], "seeds": len(self.seeds), "status": self.status}


def summarise(runs: dict[str, list[Record]], metric: str) -> list[VariantSummary]:
    """Mean with its 95% interval, and the convergence verdict, per variant (best first)."""
    out = [VariantSummary(v, stats.mean_ci(values(rs, metric)), status(rs), seeds_of(rs),
                          [r.convergence.reason if r.convergence else "" for r in rs]) for v, rs in runs.items()]
    return sorted(out, key=lambda s: -s.interval["mean"])


@dataclass
class Family:
    """A family of variants compared with one reference (a baseline, or the best)."""

    metric: str
    summaries: list[VariantSummary]
    reference: str | None
    comparisons: list[stats.Comparison] = field(default_factory=list)

    @property
    def excluded(self) -> list[VariantSummary]:
        return [s for s in self.summaries if s.status != "converged"]

    def best(self) -> VariantSummary | None:
        ok = [s for s in self.summaries if s.status == "converged"]
        return ok[0] if ok else None

    def summary(self, variant: str | None) -> VariantSummary | None:
        return next((s for s in self.summaries if s.variant == variant), None)

    def by_direction(self, direction: int) -> list[stats.Comparison]:
        """The comparisons detectably better (+1), worse (-1) or not detectably different (0)."""
        return [c for c in self.comparisons if c.direction == direction]

    def with_status(self, verdict: str) -> list[VariantSummary]:
        return [s for s in self.summaries if s.status == verdict]


def compare_family(runs: dict[str, list[Record]], metric: str, reference: str | None = None) -> Family:
    """Every converged variant against ``reference`` (default: the best converged one),
    paired over seeds, Holm-corrected. A reference that did not converge compares nothing."""
    summaries = summarise(runs, metric)
    fam = Family(metric, summaries, reference)
    ok = {s.variant for s in summaries if s.status == "converged"}
    if reference is None:
        best = fam.best()
        fam.reference = reference = best.variant if best else None
    if reference is None or reference not in ok:
        return fam
    for s in summaries:
        if s.variant == reference or s.variant not in ok:
            continue
        a, b = _paired(runs[s.variant], runs[reference], metric)
        fam.comparisons.append(stats.paired_test(a, b, s.variant, reference))
    stats.holm(fam.comparisons)
    return fam


def unconverged(*variants: tuple[str, list[Record]]) -> list[tuple[str, str]]:
    """``(name, status)`` of the variants not converged (a model applied as is counts as fine):
    what a headline pair's sentence must warn about."""
    return [(name, status(rs)) for name, rs in variants if status(rs) not in ("converged", "not_trained")]


# --------------------------------------------------------------------------- synthetic vs real
def twin_group(group: str) -> str:
    """The group under which a comparison run on real data is repeated on synthetic data (same sizes,
    seeds and budget): what says whether the offline study predicts the real one."""
    return f"{group}_synthetic"


@dataclass
class RankAgreement:
    """How a family ranks on synthetic vs real data: Kendall's tau of the variants' means with a 95%
    bootstrap interval over seeds, and the family's findings (vs the real family's reference) that flip."""

    metric: str
    variants: list[str]
    real: dict[str, float]
    synthetic: dict[str, float]
    tau: float
    low: float
    high: float
    p: float
    reference: str | None
    flips: list[tuple[str, int, int]]  # (variant, direction on real, direction on synthetic)
    agree: list[str]


def rank_agreement(real: dict[str, list[Record]], synthetic: dict[str, list[Record]], metric: str,
                   reference: str | None = None, n_boot: int = 2000, seed: int = 0) -> RankAgreement | None:
    """Kendall's tau (scipy.stats.kendalltau) between the variants' mean ``metric`` on real and on synthetic
    data; its interval from resampling the seeds of each side (a percentile bootstrap); and which of the real
    family's findings (better, worse, no detectable difference vs ``reference``) the synthetic family words
    otherwise. None with fewer than three variants on both sides."""
    from scipy.stats import kendalltau

    names = [v for v in real if v in synthetic]
    if len(names) < 3:
        return None
    means = {side: {v: float(np.mean(values(runs[v], metric))) for v in names}
             for side, runs in (("real", real), ("synthetic", synthetic))}
    tau, p = kendalltau([means["real"][v] for v in names], [means["synthetic"][v] for v in names])
    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(n_boot):
        sides = []
        for runs in (real, synthetic):
            seeds = sorted({r.seed for v in names for r in runs[v]})
            pick = rng.choice(seeds, len(seeds))
            sides.append([np.mean([r.metric(metric) for s in pick for r in runs[v] if r.seed == s] or [np.nan])
                          for v in names])
        t = kendalltau(*sides).statistic
        if np.isfinite(t):
            boot.append(t)
    fam_real = compare_family({v: real[v] for v in names}, metric, reference)
    fam_syn = compare_family({v: synthetic[v] for v in names}, metric, fam_real.reference)
    direction = {side: {c.a: c.direction for c in fam.comparisons} for side, fam in (("real", fam_real),
                                                                                     ("synthetic", fam_syn))}
    tested = [v for v in names if v in direction["real"] and v in direction["synthetic"]]
    flips = [(v, direction["real"][v], direction["synthetic"][v]) for v in tested
             if direction["real"][v] != direction["synthetic"][v]]
    low, high = (np.quantile(boot, [0.025, 0.975]) if boot else (np.nan, np.nan))
    return RankAgreement(metric, names, means["real"], means["synthetic"], float(tau), float(low), float(high),
                         float(p), fam_real.reference, flips, [v for v in tested if v not in {f[0] for f in flips}])


# --------------------------------------------------------------------------- two models, one test set
def correct_vector(run: Record, key: str = "test_correct", n_key: str = "test_n") -> np.ndarray:
    return unpack_correct(run.metric(key), int(run.metric(n_key)))


def two_models(runs_a: list[Record], runs_b: list[Record], name_a: str, name_b: str, metric: str = "test_accuracy",
               correct_key: str = "test_correct", n_key: str = "test_n", metric_b: str | None = None,
               correct_key_b: str | None = None) -> stats.Comparison:
    """Two models scored on the same test images, over the seeds both have.

    McNemar's test per seed (statsmodels) and, with two or more seeds, a paired t-test over
    seeds; the difference is called only when all of them reject (intersection-union test,
    p = the largest p). ``diff`` is the mean accuracy difference, the interval that of the
    paired t-test (absent with one seed). ``metric_b``/``correct_key_b`` read B's scores under
    other keys (one model on two versions of the same test images, e.g. blurred and clean)."""
    metric_b, correct_key_b = metric_b or metric, correct_key_b or correct_key
    by_seed = {r.seed: r for r in runs_b}
    pairs = [(r, by_seed[r.seed]) for r in runs_a if r.seed in by_seed]
    if not pairs:
        raise ValueError(f"{name_a} and {name_b} share no seed: nothing to compare")
    mc = [stats.mcnemar_test(correct_vector(a, correct_key, n_key), correct_vector(b, correct_key_b, n_key),
                             name_a, name_b) for a, b in pairs]
    if len(pairs) == 1:
        return mc[0]
    t = stats.paired_test([float(a.metric(metric)) for a, _ in pairs], [float(b.metric(metric_b)) for _, b in pairs],
                          name_a, name_b)
    ps = [c.p for c in mc] + [t.p]
    p = None if any(v is None for v in ps) else max(ps)
    test = (f"McNemar on {mc[0].n} test images for each of {len(pairs)} seeds and {t.test} "
            "(all must reject)")
    return stats.Comparison(name_a, name_b, test, len(pairs), t.diff, p, t.low, t.high)


def accuracy_with_interval(run: Record, metric: str = "test_accuracy", n_key: str = "test_n") -> str:
    """One run's accuracy with its Wilson interval, e.g. ``98.1% [97.8, 98.4]``."""
    acc = float(run.metric(metric))
    n = int(run.metric(n_key))
    low, high = stats.proportion_ci(round(acc * n), n)
    return f"{100 * acc:.2f}% [{100 * low:.2f}, {100 * high:.2f}]"
