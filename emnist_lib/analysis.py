"""From result records to findings: seeded runs summarised with intervals, compared with tests.

The notebooks record one result per (variant, seed) with a ``group`` and a
``variant`` (:meth:`emnist_lib.study.Study.record`); this module reads them back
(as :class:`~emnist_lib.results.Record`) and answers the questions the study asks.
The same functions feed the notebook's closing cell and the report (each chapter's
findings), so both say the same. It computes; the words are the templates'.

Rules (the house style's "Reporting results", and what a skeptical reviewer asks):

* a recipe's accuracy over seeds carries a 95% interval that counts its seeds and its scored images, each
  once (:func:`emnist_lib.stats.recipe_interval`, inside [0, 1]); one accuracy of one model a Wilson interval;
* a claim about recipes (the normal case) is one paired comparison over seeds on the same images,
  with the same standard error (:func:`emnist_lib.stats.recipe_comparison`); a family of claims against one declared reference is Bonferroni-adjusted,
  intervals included, so a difference is "detectable" exactly when its reported interval excludes
  zero; every "no detectable difference" carries the smallest difference the design detects with
  80% power; runs that did not train are left out, budget-limited runs are compared "at this budget";
* a claim about two specific saved models: McNemar's test on their test images;
* cross-validated candidates: the Nadeau-Bengio corrected resampled t-test over folds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from . import stats
from .convergence import Status, worst_status
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
    if all(s == Status.NOT_TRAINED for s in found):
        return Status.NOT_TRAINED
    return worst_status(found)


def seeds_of(runs: list[Record]) -> list[int]:
    return [r.seed for r in runs]


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


# Where each metric's per-image correctness lives: (correct key, count key, scored on images shared by
# every seed). Test metrics are on one test set; validation metrics on each seed's own validation split.
SCORED_BY = {"test_accuracy": ("test_correct", "test_n", True), "val_accuracy": ("val_correct", "val_n", False),
             "val_accuracy_last": ("val_correct_last", "val_n", False)}
# What a comparison on validation images scores: the last epoch, never the epoch chosen on the same images (the kept,
# best-validation-loss epoch scores higher on them by selection); records without it fall back on the kept epoch.
VALIDATION_CLAIMS = "val_accuracy_last"


def metric_label(metric: str) -> str:
    """A table's name for a metric."""
    return {"val_accuracy": "validation accuracy", VALIDATION_CLAIMS: "validation accuracy (last epoch)",
            "test_accuracy": "test accuracy"}.get(metric, metric.replace("_", " "))


def validation_metric(runs) -> str:
    """The validation metric a comparison of ``runs`` uses: :data:`VALIDATION_CLAIMS` when every run records it."""
    return VALIDATION_CLAIMS if all(VALIDATION_CLAIMS in r.metrics for r in runs) else "val_accuracy"


def scored_by(metric: str) -> tuple[str, str, bool] | None:
    """``(correct key, count key, shared images)`` for ``metric``, or None when it has no per-image record."""
    if metric in SCORED_BY:
        return SCORED_BY[metric]
    if metric.startswith("test_accuracy_"):  # e.g. test_accuracy_blur_5: the same test images, transformed
        return "test_correct_" + metric.removeprefix("test_accuracy_"), "test_n", True
    return None


def per_image(runs: list[Record], metric: str) -> list[np.ndarray] | None:
    """Each run's per-image correctness for ``metric`` (seed order), or None when a run lacks it."""
    keys = scored_by(metric)
    if keys is None or not all(keys[0] in r.metrics for r in runs):
        return None
    return [correct_vector(r, keys[0], keys[1]) for r in runs]  # a record lacking the count is a RecordError


def interval(runs: list[Record], metric: str) -> dict:
    """A recipe's mean ``metric`` over its seeds with its 95% interval (:func:`emnist_lib.stats.recipe_interval`)
    when per-image correctness is recorded, else a t-interval over seeds (e.g. cross-validation folds)."""
    scores = per_image(runs, metric)
    if scores is None:
        return stats.mean_ci(values(runs, metric))
    return stats.recipe_interval(scores, shares_images(runs, metric))


def summarise(runs: dict[str, list[Record]], metric: str) -> list[VariantSummary]:
    """Mean with its 95% interval, and the convergence verdict, per variant (best first)."""
    out = [VariantSummary(v, interval(rs, metric), status(rs), seeds_of(rs),
                          [r.convergence.reason if r.convergence else "" for r in rs]) for v, rs in runs.items()]
    return sorted(out, key=lambda s: -s.interval["mean"])


COMPARABLE = (Status.PLATEAU, Status.UNDETERMINED, Status.IMPROVING)  # did-not-train runs are never compared


def two_recipes(runs_a: list[Record], runs_b: list[Record], name_a: str, name_b: str, metric: str = "test_accuracy",
                family_size: int = 1, metric_b: str | None = None) -> stats.Comparison:
    """Recipe A against recipe B over the seeds both have, scored on the same images per seed: the seeds x
    images standard error of the paired difference (:func:`emnist_lib.stats.recipe_comparison`), Bonferroni within a
    family of ``family_size``. ``metric_b`` scores B under another metric of the same images (one recipe on
    clean and on blurred test images). Without per-image correctness: a paired t-test over seeds."""
    by_seed = {r.seed: r for r in runs_b}
    pairs = [(r, by_seed[r.seed]) for r in runs_a if r.seed in by_seed]
    if len(pairs) < 2:
        raise ValueError(f"{name_a} vs {name_b}: a comparison of recipes needs at least 2 common seeds, "
                         f"got {len(pairs)}")
    a, b = [p[0] for p in pairs], [p[1] for p in pairs]
    sa, sb = per_image(a, metric), per_image(b, metric_b or metric)
    if sa is None or sb is None:
        c = stats.paired_test(values(a, metric), values(b, metric_b or metric), name_a, name_b)
        c = stats.bonferroni([c], family_size)[0]
    else:
        c = stats.recipe_comparison(sa, sb, shares_images(a + b, metric), name_a, name_b, family_size)
    return _with_inputs(c, a, b, metric, metric_b)


def _with_inputs(c: stats.Comparison, runs_a: list[Record], runs_b: list[Record], metric: str,
                 metric_b: str | None) -> stats.Comparison:
    """``c`` with what it was computed from: the records (``notebook/name``, in pairing order) and metrics, so that a
    reviewer's recomputation can start from the record files."""
    c.inputs = {"a": [f"{r.notebook}/{r.name}" for r in runs_a], "b": [f"{r.notebook}/{r.name}" for r in runs_b],
                "metric": metric, "metric_b": metric_b or metric}
    c.no_plateau = bool(unconverged(("a", runs_a), ("b", runs_b)))
    return c


def shares_images(runs: list[Record], metric: str) -> bool:
    """Whether every run was scored on the same images for ``metric``: the test set always; the validation split when
    every run held out the same one (one ``validation_seed`` for all, on the same training data)."""
    keys = scored_by(metric)
    if keys is None or keys[2]:
        return keys is not None
    seeds = {(r.config.get("train") or {}).get("validation_seed") for r in runs}
    data = {(r.data.split, r.data.source, r.data.n_train) for r in runs}
    return len(seeds) == 1 and None not in seeds and len(data) == 1


def compare(runs_a: list[Record], runs_b: list[Record], name_a: str, name_b: str, metric: str = "test_accuracy",
            family_size: int = 1, metric_b: str | None = None) -> stats.Comparison:
    """The declared test of one claim: recipes over two or more common seeds (:func:`two_recipes`); with a
    single seed the claim can only be about the two trained models, so McNemar on their test images, the
    names saying which seed (Bonferroni within a family either way). A recipe with a run that did not train is
    not compared: the comparison says so and calls nothing (every chapter's claims go through here)."""
    bad = [f"{name} did not train" for name, rs in ((name_a, runs_a), (name_b, runs_b))
           if status(rs) == Status.DID_NOT_TRAIN]
    if bad:
        c = stats.Comparison(name_a, name_b, "not compared", 0, float(np.mean(values(runs_a, metric)) -
                             np.mean(values(runs_b, metric_b or metric))), None, excluded="; ".join(bad),
                             kind="not_compared")
        return _with_inputs(c, runs_a, runs_b, metric, metric_b)
    common = sorted({r.seed for r in runs_a} & {r.seed for r in runs_b})
    if len(common) >= 2:
        return two_recipes(runs_a, runs_b, name_a, name_b, metric, family_size, metric_b)
    if not common:
        raise ValueError(f"{name_a} and {name_b} share no seed: nothing to compare")
    (a,), (b,) = [r for r in runs_a if r.seed == common[0]], [r for r in runs_b if r.seed == common[0]]
    keys_a, keys_b = scored_by(metric), scored_by(metric_b or metric)
    c = stats.mcnemar_test(correct_vector(a, keys_a[0], keys_a[1]), correct_vector(b, keys_b[0], keys_b[1]),
                           f"{name_a} (seed {a.seed})", f"{name_b} (seed {b.seed})", family_size)
    return _with_inputs(c, [a], [b], metric, metric_b)


def two_saved_models(run_a: Record, run_b: Record, name_a: str, name_b: str, correct_key: str = "test_correct",
                     n_key: str = "test_n") -> stats.Comparison:
    """Two specific trained models (e.g. the saved ones) on the same test images: McNemar's test."""
    c = stats.mcnemar_test(correct_vector(run_a, correct_key, n_key), correct_vector(run_b, correct_key, n_key),
                           name_a, name_b)
    return _with_inputs(c, [run_a], [run_b], correct_key.replace("_correct", "_accuracy"), None)


@dataclass
class Family:
    """A family of variants compared with one reference (a baseline, or the best)."""

    metric: str
    summaries: list[VariantSummary]
    reference: str | None
    comparisons: list[stats.Comparison] = field(default_factory=list)

    @property
    def excluded(self) -> list[VariantSummary]:
        """The variants not compared: those that did not train."""
        return [s for s in self.summaries if s.status not in COMPARABLE]

    @property
    def at_budget(self) -> list[VariantSummary]:
        """Compared, but without a plateau shown (still improving or undetermined): findings at this budget."""
        return [s for s in self.summaries if s.status in (Status.UNDETERMINED, Status.IMPROVING)]

    def best(self) -> VariantSummary | None:
        ok = [s for s in self.summaries if s.status in COMPARABLE]
        return ok[0] if ok else None

    def summary(self, variant: str | None) -> VariantSummary | None:
        return next((s for s in self.summaries if s.variant == variant), None)

    def by_direction(self, direction: int) -> list[stats.Comparison]:
        """The comparisons detectably better (+1), worse (-1) or not detectably different (0)."""
        return [c for c in self.comparisons if c.direction == direction and not c.excluded]

    def with_status(self, verdict: str) -> list[VariantSummary]:
        return [s for s in self.summaries if s.status == verdict]


def in_family(comparisons: list, name: str):
    """Label ``comparisons`` as one family (the report counts its families and says what error rate it controls)."""
    for c in comparisons:
        c.family = name
    return comparisons


def compare_family(runs: dict[str, list[Record]], metric: str, reference: str | None) -> Family:
    """Every variant that trained against the declared ``reference``, paired over seeds on the same images,
    Bonferroni-adjusted over the family (intervals included). The family is what was declared: every variant
    but the reference, so m does not shrink when one of them does not train (that one stays in the family as
    "not compared"). A reference that did not train compares nothing; without a declared reference (``None``) the
    family is only summarised."""
    summaries = summarise(runs, metric)
    fam = Family(metric, summaries, reference)
    ok = {s.variant for s in summaries if s.status in COMPARABLE}
    if reference is None or reference not in ok:
        return fam
    declared = [s.variant for s in summaries if s.variant != reference]
    fam.comparisons = [compare(runs[v], runs[reference], v, reference, metric, family_size=len(declared))
                       for v in declared]
    in_family(fam.comparisons, f"{metric} against {reference}")
    return fam


def unconverged(*variants: tuple[str, list[Record]]) -> list[tuple[str, str]]:
    """``(name, status)`` of the variants not converged (a model applied as is counts as fine):
    what a headline pair's sentence must warn about."""
    return [(name, status(rs)) for name, rs in variants if status(rs) not in (Status.PLATEAU, Status.NOT_TRAINED)]


# --------------------------------------------------------------------------- synthetic vs real
def twin_group(group: str) -> str:
    """The group under which a comparison run on real data is repeated on synthetic data (same sizes,
    seeds and budget): what says whether the offline study predicts the real one."""
    return f"{group}_synthetic"


def budget_group(group: str, factor: int = 2) -> str:
    """The group under which some seeds of a comparison are trained again at ``factor`` times the budget."""
    return f"{group}_budget{factor}x"


def is_budget_check(group: str | None) -> bool:
    """Whether ``group`` holds the longer runs of a budget check (:func:`budget_group`)."""
    import re

    return bool(group) and re.search(r"_budget\d+x$", group) is not None


@dataclass
class BudgetCheck:
    """The same variants at their budget and at a longer one, on the seeds both have: does the order hold?"""

    factor: int
    seeds: list[int]
    at_budget: dict[str, float]
    longer: dict[str, float]
    swaps: list[tuple[str, str]]  # pairs whose order differs between the two budgets
    # per swap, on one checked seed: McNemar on the longer runs' own images (unadjusted: an indication), or None
    swap_tests: dict[tuple[str, str], stats.Comparison | None] = field(default_factory=dict)

    @property
    def holds(self) -> bool:
        return not self.swaps


def budget_check(records: Iterable[Record], notebook: str, group: str, metric: str, factor: int = 2,
                 metric_longer: str | None = None, variants: Iterable[str] | None = None) -> BudgetCheck | None:
    """The budget check of a headline comparison (None when it was not run): the variants' mean ``metric`` on
    the checked seeds at the budget and at ``factor`` times it, and the pairs whose order swaps; ``variants``
    restricts it to the ones a claim compares."""
    records = list(records)
    longer = group_runs(records, notebook, budget_group(group, factor))
    if not longer:
        return None
    base = group_runs(records, notebook, group)
    seeds = sorted({r.seed for rs in longer.values() for r in rs})
    keep = set(variants) if variants is not None else None
    names = [v for v in base if v in longer and (keep is None or v in keep)]
    at = {v: float(np.mean([r.metric(metric) for r in base[v] if r.seed in seeds])) for v in names}
    more = {v: float(np.mean(values(longer[v], metric_longer or metric))) for v in names}
    swaps = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]
             if np.sign(at[a] - at[b]) != np.sign(more[a] - more[b])]
    tests = {}
    if len(seeds) == 1:  # one seed: whether the two longer runs differ beyond their images' noise
        for a, b in swaps:
            lead, other = (a, b) if more[a] >= more[b] else (b, a)  # the order at the longer budget
            scores = per_image([longer[lead][0], longer[other][0]], metric_longer or metric)
            tests[(a, b)] = stats.mcnemar_test(*scores, lead, other) if scores is not None else None
    return BudgetCheck(factor, seeds, at, more, swaps, tests)


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
    reference = reference or next(iter(real.values()))[0].extra.get("reference")  # as the chapter declared it
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


def accuracy_with_interval(run: Record, metric: str = "test_accuracy", n_key: str = "test_n") -> str:
    """One run's accuracy with its Wilson interval, e.g. ``98.1% [97.8, 98.4]``."""
    acc = float(run.metric(metric))
    n = int(run.metric(n_key))
    low, high = stats.proportion_ci(round(acc * n), n)
    return f"{100 * acc:.2f}% [{100 * low:.2f}, {100 * high:.2f}]"


def distinct_runs(records: list[Record]) -> list[Record]:
    """One record per training run: a run that several sweeps share (their common reference) is recorded under each
    sweep's name with the same notebook, config, seed and data; counted once."""
    import json

    seen, out = set(), []
    for r in records:
        key = (r.notebook, json.dumps(r.config, sort_keys=True, default=str), r.seed, r.data.split, r.data.source,
               r.data.n_train, r.data.n_test)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out
