"""Chapter 01, Chollet's baselines: his dense net and convnet on MNIST, then unchanged on EMNIST letters."""

from __future__ import annotations

from .. import analysis, stats
from ..conclusions import Section, Table, Wording, open_section, pair, pct, status_words, threats
from ..results import Record
from .base import Chapter, TrainingBudget

NOTEBOOK = "01_chollet_baselines"
TITLE = "Chollet's baselines on MNIST and EMNIST letters"
QUESTION = ("Do Chollet's dense net and convnet reproduce on MNIST, and is the convnet better than the dense net "
            "there and on EMNIST letters?")
MNIST, LETTERS = "mnist", "letters"  # the comparison groups: one per data set
GROUP_LABELS = {MNIST: "MNIST", LETTERS: "EMNIST letters"}
CONVNET, DENSE = "chollet_convnet", "chollet_dense"
# Published reference numbers (literature, not results of this project).
BOOK = {DENSE: (0.978, "Chollet, Deep Learning with Python (2017), ch. 2"),
        CONVNET: (0.992, "Chollet, Deep Learning with Python (2017, 1st ed.), ch. 5")}
REPRODUCTION_TOLERANCE = 0.005
BOOK_EPOCHS = 5  # the book trains both nets for 5 epochs on all 60,000 digits

WORDING = Wording("""
{%- import "findings.md.j2" as f -%}
{%- macro reproduction(model, mean, book, source, within, tolerance) -%}On the full real MNIST, {{ model }} scored {{ mean | pct(2) }} against the book's {{ book | pct }} ({{ source }}): {{ "reproduced" if within else "NOT reproduced" }} within {{ "%.1f" | format(100 * tolerance) }} points.{%- endmacro -%}
{%- macro not_comparable(model, mean, book, synthetic) -%}On MNIST, {{ model }} scored {{ mean | pct(2) }}; not comparable with the book's {{ book | pct }} ({{ "synthetic digits" if synthetic else "a reduced budget or subset" }}; benchmarks/reproduce_chollet.py runs the book's full setting).{%- endmacro -%}
{%- macro between_tasks(c, seed) -%}{{ f.verdict(c) }} (independent test sets: two-proportion z-test, seed {{ seed }}).{%- endmacro -%}
{%- macro tasks_threat() -%}MNIST and EMNIST letters differ in classes (10 vs 26), framing and source; the letters comparison is between tasks, not models.{%- endmacro -%}
""")


def _reproduction(model: str, runs: list[Record]):
    ref, source = BOOK[model]
    r = runs[0]
    full = r.data.source in ("mnist", "keras-mnist") and not r.data.details.get("subset") \
        and r.budget.epochs >= BOOK_EPOCHS
    mean = stats.mean_ci(analysis.values(runs, "test_accuracy"))["mean"]
    if full:
        return WORDING.finding("reproduction", model=model, mean=mean, book=ref, source=source,
                               within=abs(mean - ref) <= REPRODUCTION_TOLERANCE, tolerance=REPRODUCTION_TOLERANCE)
    return WORDING.finding("not_comparable", model=model, mean=mean, book=ref, synthetic=r.synthetic)


def findings(records: list[Record]) -> Section:
    sec, runs = open_section(records, NOTEBOOK, TITLE, QUESTION)
    if sec.empty:
        return sec
    rows = []
    order = sorted(dict.fromkeys(r.group for r in runs), key=lambda g: (g != MNIST, g))
    groups = {g: analysis.group_runs(runs, NOTEBOOK, g) for g in order}
    for g, by_model in groups.items():
        label = GROUP_LABELS.get(g, g)
        for model, rs in by_model.items():
            acc = (analysis.accuracy_with_interval(rs[0]) if len(rs) == 1 else
                   stats.fmt_interval(analysis.interval(rs, "test_accuracy")))
            book = BOOK.get(model)
            rows.append([label, model, acc, pct(book[0]) if book and g == MNIST else "",
                         status_words(analysis.status(rs))])
        if CONVNET in by_model and DENSE in by_model:
            c = analysis.compare(by_model[CONVNET], by_model[DENSE], f"Chollet's convnet on {label}",
                                 f"his dense net on {label}")
            sec.comparisons.append(c)
            sec.conclusions.append(pair(c, (CONVNET, by_model[CONVNET]), (DENSE, by_model[DENSE])))
    sec.tables.append(Table("Test accuracy (95% interval)", ["data", "model", "test accuracy", "book", "convergence"],
                            rows))
    mnist = groups.get(MNIST, {})
    sec.conclusions += [_reproduction(model, mnist[model]) for model in BOOK if mnist.get(model)]
    letters = groups.get(LETTERS, {})
    if CONVNET in letters and CONVNET in mnist:
        a, b = letters[CONVNET][0], mnist[CONVNET][0]
        c = stats.two_proportions(a.metric("test_accuracy"), a.metric("test_n"), b.metric("test_accuracy"),
                                  b.metric("test_n"), "the convnet on EMNIST letters", "the convnet on MNIST")
        sec.comparisons.append(c)
        sec.conclusions.append(WORDING.finding("between_tasks", c=c, seed=a.seed))
    sec.threats = threats(runs, [WORDING.finding("tasks_threat")])
    return sec


CHAPTER = Chapter(NOTEBOOK, TITLE, QUESTION, findings, in_abstract=True, min_seeds=1,
                  budgets=(TrainingBudget("mnist_train", "epochs", "batch_size", "mnist"),
                           TrainingBudget("letters_train", "epochs", "batch_size", "letters")))
