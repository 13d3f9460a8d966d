"""From result records to findings: seeded runs summarised with intervals, compared with tests.

The notebooks record one result per (variant, seed) with a ``group`` and a
``variant`` (:meth:`emnist_lib.study.Study.record`); this module reads them back
and answers the questions the study asks. The same functions feed the notebook's
closing cell and the report (:mod:`emnist_lib.conclusions`), so both say the same.

Rules (the house style's "Reporting results"):

* every mean over seeds carries a 95% t-interval, every single accuracy a Wilson interval;
* comparisons between architectures or regularisers use converged runs only; a
  variant with any seed not converged is shown, marked, and left out of the tests;
* a family of comparisons against one reference is Holm-corrected;
* two models on one test set: McNemar for each seed and, with several seeds, a paired
  t-test over seeds; the difference is called only when every one of those tests
  rejects (an intersection-union test: its p-value is the largest of theirs);
* anything not significant is worded "no detectable difference at this budget".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from . import stats
from .results import field as record_field
from .results import unpack_correct

# A run "did not train" when its best accuracy stays within this of chance (training.convergence
# decides it; the wording here uses it). Kept here, TensorFlow-free, so reports need no TF.
CHANCE_MARGIN = 0.05
# Convergence verdicts from best to worst: a group of runs is as good as its worst run.
STATUS_ORDER = ("converged", "still_improving", "did_not_train")
STATUS_WORDS = {"converged": "converged", "still_improving": "still improving at the end of its budget",
                "did_not_train": "did not train (within 5 points of chance)",
                "not_trained": "not trained on this data (applied as is)"}


# --------------------------------------------------------------------------- grouping
def group_runs(records: Iterable[dict], notebook: str, group: str) -> dict[str, list[dict]]:
    """``{variant: [records sorted by seed]}`` for one comparison group, in recording order."""
    out: dict[str, list[dict]] = {}
    for r in records:
        if r.get("notebook") == notebook and r.get("group") == group:
            out.setdefault(record_field(r, "variant"), []).append(r)
    return {k: sorted(v, key=lambda r: r["seed"]) for k, v in out.items()}


def values(runs: list[dict], metric: str) -> list[float]:
    return [float(record_field(r, f"metrics.{metric}")) for r in runs]


def worst_status(statuses: Iterable[str]) -> str:
    """One verdict for several runs: converged only if all converged, did not train if any did not."""
    return max(statuses, key=STATUS_ORDER.index)


def worst_verdict(verdicts: Iterable[dict]) -> dict:
    """The worst of several runs' convergence verdicts (e.g. the folds of one candidate)."""
    return max(verdicts, key=lambda v: STATUS_ORDER.index(v["status"]))


def status(runs: list[dict]) -> str:
    """One verdict for a variant over its seeds (:func:`worst_status`; ``not_trained``: a model
    applied without training, recorded as such)."""
    found = [record_field(r, "convergence.status") for r in runs]
    if all(s == "not_trained" for s in found):
        return "not_trained"
    return worst_status(found)


def seeds_of(runs: list[dict]) -> list[int]:
    return [int(r["seed"]) for r in runs]


def _paired(runs_a: list[dict], runs_b: list[dict], metric: str) -> tuple[list[float], list[float]]:
    by_seed = {r["seed"]: r for r in runs_b}
    common = [r for r in runs_a if r["seed"] in by_seed]
    return values(common, metric), values([by_seed[r["seed"]] for r in common], metric)


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


def summarise(runs: dict[str, list[dict]], metric: str) -> list[VariantSummary]:
    """Mean with its 95% interval, and the convergence verdict, per variant (best first)."""
    out = [VariantSummary(v, stats.mean_ci(values(rs, metric)), status(rs), seeds_of(rs),
                          [record_field(r, "convergence.reason", "") for r in rs]) for v, rs in runs.items()]
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

    def sentences(self, reference_label: str | None = None) -> list[str]:
        """The family's findings in words, each backed by its test (or its exclusion)."""
        ref = reference_label or self.reference
        out = []
        better = [c for c in self.comparisons if c.direction > 0]
        worse = [c for c in self.comparisons if c.direction < 0]
        same = [c for c in self.comparisons if c.direction == 0]
        if better:
            out.append(f"Detectably better than {ref}: " + "; ".join(_short(c) for c in better) + ".")
        if worse:
            out.append(f"Detectably worse than {ref}: " + "; ".join(_short(c) for c in worse) + ".")
        if same:
            out.append(f"No detectable difference from {ref} at this budget: "
                       + "; ".join(_short(c) for c in same) + ".")
        out += excluded_sentences(self.excluded)
        if not self.comparisons and self.reference is not None and not self.excluded:
            out.append(f"Only {ref} ran: nothing to compare.")
        return out


def excluded_sentences(summaries: list[VariantSummary]) -> list[str]:
    """Variants left out of the tests, by reason, each with its best accuracy or last-quarter gain."""
    out = []
    dead = [s for s in summaries if s.status == "did_not_train"]
    slow = [s for s in summaries if s.status == "still_improving"]
    if dead:
        out.append("Did not train (best accuracy within 5 points of chance; not ranked): "
                   + ", ".join(f"{s.variant} ({_pct(s.interval['mean'])})" for s in dead) + ".")
    if slow:
        out.append("Still improving at the end of the budget (not converged; not ranked or tested): "
                   + ", ".join(f"{s.variant} ({_pct(s.interval['mean'])})" for s in slow) + ".")
    return out


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def unconverged_note(*variants: tuple[str, list[dict]]) -> str:
    """'' when every run converged, else a marker naming the unconverged runs (for headline pairs)."""
    bad = [f"{name}: {STATUS_WORDS[status(rs)]}" for name, rs in variants if status(rs) not in ("converged",
                                                                                              "not_trained")]
    return f" [Not converged, read with care: {'; '.join(bad)}.]" if bad else ""


def _short(c: stats.Comparison) -> str:
    return f"{c.a} ({stats.fmt_points(c.diff)}, {stats.fmt_p(c.p_decisive)})"


def compare_family(runs: dict[str, list[dict]], metric: str, reference: str | None = None) -> Family:
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


# --------------------------------------------------------------------------- two models, one test set
def correct_vector(run: dict, key: str = "test_correct", n_key: str = "test_n") -> np.ndarray:
    return unpack_correct(record_field(run, f"metrics.{key}"), int(record_field(run, f"metrics.{n_key}")))


def two_models(runs_a: list[dict], runs_b: list[dict], name_a: str, name_b: str, metric: str = "test_accuracy",
               correct_key: str = "test_correct", n_key: str = "test_n") -> stats.Comparison:
    """Two models scored on the same test images, over the seeds both have.

    McNemar's test per seed (statsmodels) and, with two or more seeds, a paired t-test over
    seeds; the difference is called only when all of them reject (intersection-union test,
    p = the largest p). ``diff`` is the mean accuracy difference, the interval that of the
    paired t-test (absent with one seed)."""
    by_seed = {r["seed"]: r for r in runs_b}
    pairs = [(r, by_seed[r["seed"]]) for r in runs_a if r["seed"] in by_seed]
    if not pairs:
        raise ValueError(f"{name_a} and {name_b} share no seed: nothing to compare")
    mc = [stats.mcnemar_test(correct_vector(a, correct_key, n_key), correct_vector(b, correct_key, n_key),
                             name_a, name_b) for a, b in pairs]
    if len(pairs) == 1:
        return mc[0]
    t = stats.paired_test([float(record_field(a, f"metrics.{metric}")) for a, _ in pairs],
                          [float(record_field(b, f"metrics.{metric}")) for _, b in pairs], name_a, name_b)
    ps = [c.p for c in mc] + [t.p]
    p = None if any(v is None for v in ps) else max(ps)
    test = (f"McNemar on {mc[0].n} test images for each of {len(pairs)} seeds and {t.test} "
            "(all must reject)")
    return stats.Comparison(name_a, name_b, test, len(pairs), t.diff, p, t.low, t.high)


def accuracy_with_interval(run: dict, metric: str = "test_accuracy", n_key: str = "test_n") -> str:
    """One run's accuracy with its Wilson interval, e.g. ``98.1% [97.8, 98.4]``."""
    acc = float(record_field(run, f"metrics.{metric}"))
    n = int(record_field(run, f"metrics.{n_key}"))
    low, high = stats.proportion_ci(round(acc * n), n)
    return f"{100 * acc:.2f}% [{100 * low:.2f}, {100 * high:.2f}]"
