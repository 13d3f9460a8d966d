"""What every chapter's findings share: tables, sections, and findings that templates put in words.

Each chapter module (:mod:`emnist_lib.chapters`) builds one :class:`Section` from the
result records: its setup, tables with intervals, conclusions and threats to validity.
Python computes each finding as a small :class:`Finding` (a kind and its numbers, tests and
names); a Jinja macro of that kind writes the sentence: the shared ones in
``templates/findings.md.j2``, a chapter's own (with its title, question and table captions) in
``templates/chapters/<notebook>.md.j2``, its ``WORDING``. So each wording has one place, and the
notebook's closing cell and the report print the same text.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import jinja2

from . import analysis, stats
from .convergence import CHANCE_MARGIN, PLATEAU_MARGIN, Status, paired_gain_bounds
from .results import Budget, Provenance, Record


# --------------------------------------------------------------------------- wording
@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Jinja environment of the report and of every finding (number filters, the chance margin)."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("emnist_lib", "templates"), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(pct=pct, points=stats.fmt_points, bound=stats.fmt_bound, bounds=stats.fmt_bounds, p=stats.fmt_p,
                       power_pct=stats.fmt_power, interval=stats.fmt_interval, unwrap=unwrap, words=number_words,
                       capitalize_first=lambda text: text[:1].upper() + text[1:])
    env.globals.update(chance_margin_points=f"{100 * CHANCE_MARGIN:.0f}", alpha=stats.ALPHA, detect=stats.DETECT,
                       power_target=stats.POWER, style={"brief": False})
    return env


@contextlib.contextmanager
def brief():
    """While open, findings are worded briefly (the abstract): a difference and its interval, without the test's
    name, p-value and power (the templates read ``style.brief``: a mapping, since a template module keeps a copy of
    the globals it was made with, not the globals themselves)."""
    style = environment().globals["style"]
    style["brief"] = True
    try:
        yield
    finally:
        style["brief"] = False


def unwrap(text: str) -> str:
    """A sentence wrapped over several template lines, on one line: each line break, with the spaces
    around it, becomes one space (``{% filter unwrap %}`` in a template)."""
    return re.sub(r"[ \t]*\n\s*", " ", str(text)).strip()


NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")


def number_words(n: int) -> str:
    """A small count in words (``one``, ``ten``), a larger one in digits."""
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else f"{n:,}"


@dataclass(frozen=True)
class Finding:
    """One finding: the macro ``kind`` of a wording, called with ``args``, writes its sentence."""

    wording: Wording
    kind: str
    args: dict

    def render(self) -> str:
        return self.wording.say(self.kind, **self.args)

    def __str__(self) -> str:
        return self.render()


class Wording:
    """A set of Jinja macros (a template file, or Jinja source) that turn findings into sentences.
    ``finding(kind, **args)`` keeps the finding; ``say`` writes it now. A chapter's wording is
    ``templates/chapters/<notebook>.md.j2`` (:meth:`of`): its title, question, table captions and findings."""

    def __init__(self, source: str | None = None, name: str = "findings.md.j2"):
        self._source, self._name = source, name

    @classmethod
    def of(cls, notebook: str) -> Wording:
        """The wording of the chapter of ``notebook``: ``templates/chapters/<notebook>.md.j2``."""
        return cls(name=f"chapters/{notebook}.md.j2")

    @functools.cached_property
    def _macros(self):
        env = environment()
        template = env.from_string(self._source) if self._source is not None else env.get_template(self._name)
        return template.module

    def finding(self, kind: str, **args) -> Finding:
        if not hasattr(self._macros, kind):
            raise ValueError(f"no wording {kind!r} in {self._name if self._source is None else 'this chapter'}")
        return Finding(self, kind, args)

    def say(self, kind: str, **args) -> str:
        return str(getattr(self._macros, kind)(**args))


SHARED = Wording()
say = SHARED.say


def pct(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{100 * x:.{digits}f}%"


# --------------------------------------------------------------------------- tables and sections
@dataclass
class Table:
    caption: str
    headers: list[str]
    rows: list[list[str]]

    def markdown(self) -> str:
        lines = [f"| {' | '.join(self.headers)} |", "|" + "---|" * len(self.headers)]
        lines += [f"| {' | '.join(str(c) for c in row)} |" for row in self.rows]
        return "\n".join(lines)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass
class Section:
    notebook: str
    title: str
    question: str
    setup: list[Finding | str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    conclusions: list[Finding] = field(default_factory=list)
    threats: list[Finding] = field(default_factory=list)
    comparisons: list[stats.Comparison] = field(default_factory=list)
    synthetic: bool = False
    partly_real: bool = False
    empty: bool = False
    headline: list[Finding] = field(default_factory=list)
    budget_checks: list = field(default_factory=list)  # analysis.BudgetCheck, one per checked comparison
    per_class: dict[str, list[int]] = field(default_factory=dict)  # data split: training images per class (runs)

    @property
    def scale(self) -> str:
        """How many images per class its runs trained on, in words: "400 images per class", or per data set when
        it trains on several ("mnist 900, letters 400 images per class")."""
        def size(ns: list[int]) -> str:
            return f"{ns[0]:,}" if len(ns) == 1 else f"{ns[0]:,}-{ns[-1]:,}"

        if len(self.per_class) == 1:
            return f"{size(next(iter(self.per_class.values())))} images per class"
        return (", ".join(f"{split} {size(ns)}" for split, ns in self.per_class.items()) + " images per class"
                if self.per_class else "")

    @property
    def data_tag(self) -> str:
        if not self.synthetic:
            return ""
        return " [partly SYNTHETIC data]" if self.partly_real else " [SYNTHETIC data]"

    def summary(self) -> str:
        """The one sentence the abstract quotes (the first conclusion unless the section chose one), in brief: each
        difference with its interval; the test, p-value and power stay in the section."""
        parts = list(self.headline or self.conclusions[:1])
        changed = [c for c in self.budget_checks if not c.holds]
        if changed:  # a headline whose ranking a longer budget changes says so where it is quoted
            parts.append(SHARED.finding("budget_caveat", checks=changed))
        with brief():
            return _capital(" ".join(str(p) for p in parts))

    def sentences(self) -> list[str]:
        """The conclusions, each starting with a capital letter."""
        return [_capital(str(c)) for c in self.conclusions]

    def setup_lines(self) -> list[str]:
        return [str(s) for s in self.setup]

    def threat_lines(self) -> list[str]:
        return [str(t) for t in self.threats]

    def text(self) -> str:
        """Plain text for a notebook's closing cell: question, setup, conclusions."""
        out = [f"Question: {self.question}", "", "Setup:"] + [f"  - {s}" for s in self.setup_lines()]
        out += ["", "Conclusion:"] + [f"  - {c}" for c in self.sentences()]
        if self.threats:
            out += ["", "Threats to validity:"] + [f"  - {t}" for t in self.threat_lines()]
        return "\n".join(out)


# --------------------------------------------------------------------------- setup and threats
def data_lines(runs: list[Record]) -> list[Finding]:
    """One line per data set used by ``runs``: split, source, sizes."""
    seen: dict[str, Finding] = {}
    for r in runs:
        seen.setdefault(r.data.split, SHARED.finding("data_line", prov=r.data))
    return list(seen.values())


def budget_lines(runs: list[Record]) -> list[Finding]:
    """The training budgets of ``runs`` (epochs, optimizer steps, images seen, batch, schedule)."""
    first: dict[tuple, Budget] = {}  # one line per budget as a reader sees it (the first run's)
    for b in (r.budget for r in runs if r.budget):
        first.setdefault((b.epochs, b.steps, b.images, b.batch_size, b.schedule), b)
    budgets = list(first.values())
    if len(budgets) > 3:
        steps = [b.steps for b in budgets]
        return [SHARED.finding("budget_range", low=min(steps), high=max(steps), n=len(budgets))]
    return [SHARED.finding("budget_line", b=b) for b in budgets]


def seed_line(runs: list[Record]) -> list[Finding]:
    seeds = sorted({r.seed for r in runs if r.group})
    return [SHARED.finding("seed_line", seeds=seeds)] if seeds else []


def convergence_line(runs: list[Record]) -> list[Finding]:
    trained = analysis.distinct_runs([r for r in runs if r.convergence and r.status != Status.NOT_TRAINED])
    if not trained:
        return []
    counts = {s.value: sum(r.status == s for r in trained) for s in (Status.PLATEAU, Status.IMPROVING,
                                                                       Status.UNDETERMINED, Status.DID_NOT_TRAIN)}
    out = [SHARED.finding("convergence_line", counts=counts, trained=len(trained))]
    sizes = [r.convergence.n_images for r in trained if r.convergence.n_images]
    if sizes:  # too few validation images for the test to ever show a plateau: its "undetermined" is no evidence
        floor = paired_gain_bounds(0, 0, max(sizes))[2]
        if floor >= PLATEAU_MARGIN:
            out.append(SHARED.finding("plateau_floor", n=max(sizes), floor=floor))
    return out


def threats(runs: list[Record], extra: list[Finding] | None = None) -> list[Finding]:
    """The threats every comparison shares (synthetic or re-split data, few seeds, reduced budget), then ``extra``."""
    out = []
    if any(r.synthetic for r in runs):
        out.append(SHARED.finding("synthetic_threat"))
    if any(r.data.source == "nist-pool" for r in runs):
        out.append(SHARED.finding("pool_threat"))
    seeds = {r.seed for r in runs if r.group}
    if 0 < len(seeds) < 5:
        out.append(SHARED.finding("few_seeds", n=len(seeds)))
    if any(r.budget for r in runs):
        out.append(SHARED.finding("reduced_budget"))
    return out + (extra or [])


def status_words(s: str) -> str:
    return say("status", s=s)


def family_table(caption: str, fam: analysis.Family, label: str, extra_cols: Callable | None = None,
                 extra_headers: list[str] | None = None) -> Table:
    """A family's variants with their intervals, their test against the reference and convergence."""
    rows = []
    by_variant = {c.a: c for c in fam.comparisons}
    for s in fam.summaries:
        c = by_variant.get(s.variant)
        vs = ("reference" if s.variant == fam.reference else
              (f"{stats.fmt_points(c.diff)}, {stats.fmt_p(c.p_decisive)}" + (" *" if c.significant else "")
               if c and not c.excluded else "not tested"))
        row = [s.variant, stats.fmt_interval(s.interval), vs, status_words(s.status)]
        if extra_cols:
            row += extra_cols(s)
        rows.append(row)
    headers = ["variant", f"{label}, mean [95% CI]", f"vs {fam.reference or 'reference'} (Bonferroni-adjusted p)", "plateau test"]
    return Table(caption, headers + (extra_headers or []), rows)


def family_findings(fam: analysis.Family, reference_label: str | None = None) -> list[Finding]:
    """The family's findings (better, worse, no detectable difference, not ranked), each backed by its
    test or its exclusion."""
    ref = reference_label or fam.reference
    out = [SHARED.finding(kind, comparisons=comps, ref=ref)
           for kind, comps in (("better", fam.by_direction(1)), ("worse", fam.by_direction(-1)),
                               ("same", fam.by_direction(0))) if comps]
    out += [SHARED.finding(kind, summaries=fam.with_status(kind)) for kind in (Status.DID_NOT_TRAIN.value, Status.IMPROVING.value,
                                                                             Status.UNDETERMINED.value)
            if fam.with_status(kind)]
    if not fam.comparisons and fam.reference is not None and not fam.excluded:
        out.append(SHARED.finding("only_reference", ref=ref))
    return out


def pair(c: stats.Comparison, *variants: tuple[str, list[Record]]) -> Finding:
    """A headline pair's verdict, warning about any of ``variants`` that did not converge."""
    return SHARED.finding("pair", c=c, bad=analysis.unconverged(*variants))


def rank_agreement_of(records: list[Record], notebook: str, group: str, metric: str,
                      reference: str | None = None) -> analysis.RankAgreement | None:
    """The rank agreement of ``group`` with its synthetic twin, when the twin was run."""
    synthetic = analysis.group_runs(records, notebook, analysis.twin_group(group))
    if not synthetic:
        return None
    return analysis.rank_agreement(analysis.group_runs(records, notebook, group), synthetic, metric, reference)


def rank_agreement_findings(sec: Section, records: list[Record], notebook: str, group: str, metric: str,
                            what: str, reference: str | None = None) -> analysis.RankAgreement | None:
    """When ``group`` was also run on synthetic data (:func:`~emnist_lib.analysis.twin_group`): a table of
    both rankings and the rank agreement with the findings that flip, added to ``sec``."""
    ra = rank_agreement_of(records, notebook, group, metric, reference)
    if ra is None:
        return None
    order = sorted(ra.variants, key=lambda v: -ra.real[v])
    rows = [[v, pct(ra.real[v]), pct(ra.synthetic[v]), str(order.index(v) + 1),
             str(sorted(ra.variants, key=lambda w: -ra.synthetic[w]).index(v) + 1)] for v in order]
    sec.tables.append(Table(say("caption_rank_agreement", what=what),
                            ["variant", f"real, mean {metric.replace('_', ' ')}", "synthetic", "rank real",
                             "rank synthetic"], rows))
    sec.conclusions.append(SHARED.finding("rank_agreement", ra=ra, what=what))
    return ra


def budget_check_findings(sec: Section, records: list[Record], notebook: str, group: str, metric: str,
                          what: str, variants: list[str] | None = None) -> analysis.BudgetCheck | None:
    """When some seeds of ``group`` were trained again at a longer budget: the two orders and what swaps."""
    check = analysis.budget_check(records, notebook, group, metric, variants=variants)
    if check is not None:
        sec.conclusions.append(SHARED.finding("budget_check", check=check, what=what))
        sec.budget_checks.append(check)
    return check


# --------------------------------------------------------------------------- opening a section
def empty(notebook: str, title: str, question: str) -> Section:
    return Section(notebook, title, question, empty=True, conclusions=[SHARED.finding("no_records")])


def open_section(records: list[Record], notebook: str, title: str, question: str,
                 group: str | None = None) -> tuple[Section, list[Record]]:
    """A section and its runs (the records of ``group``, or of every group); empty without runs."""
    runs = [r for r in analysis.of_notebook(records, notebook) if (r.group == group if group else r.group)]
    return (base(notebook, title, question, runs) if runs else empty(notebook, title, question)), runs


def base(notebook: str, title: str, question: str, runs: list[Record]) -> Section:
    """A section with the setup lines of ``runs``: data, budgets, seeds, convergence."""
    sec = Section(notebook, title, question, synthetic=any(r.synthetic for r in runs),
                  partly_real=any(not r.synthetic for r in runs))
    trained = [r for r in runs if r.group and not analysis.is_budget_check(r.group)]  # a budget check has its own line
    sec.setup = data_lines(trained or runs) + budget_lines(trained) + seed_line(trained) + convergence_line(trained)
    sec.per_class = per_class(trained)
    return sec


def per_class(runs: list[Record]) -> dict[str, list[int]]:
    """The training images per class of ``runs`` (those a run trained on, after its validation hold-out) per data
    split, each distinct size once, from each record's budget and its number of classes (1 / chance)."""
    out: dict[str, set[int]] = {}
    for r in runs:
        if r.budget and r.convergence and r.convergence.chance:
            out.setdefault(r.data.split, set()).add(round(r.budget.train_images * r.convergence.chance))
    return {split: sorted(ns) for split, ns in out.items()}


def source_words(prov: Provenance) -> str:
    return say("source", prov=prov)
