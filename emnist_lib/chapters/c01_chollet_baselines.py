"""Chapter 01, Chollet's baselines: his dense net and convnet on MNIST, then unchanged on EMNIST letters."""

from __future__ import annotations

from .. import analysis, stats
from ..conclusions import Section, Table, Wording, open_section, pair, pct, status_words, threats
from ..recipe import Recipe
from ..results import Record
from .base import Chapter, TrainingBudget

NOTEBOOK = "01_chollet_baselines"
WORDING = Wording.of(NOTEBOOK)  # templates/chapters/01_chollet_baselines.md.j2: title, question, captions, findings
TITLE = WORDING.say("title")
QUESTION = WORDING.say("question")
MNIST, LETTERS = "mnist", "letters"  # the comparison groups: one per data set
CONVNET, DENSE = "chollet_convnet", "chollet_dense"
# Published reference numbers (literature, not results of this project).
BOOK = {DENSE: (0.978, "Chollet, Deep Learning with Python (2017), ch. 2"),
        CONVNET: (0.992, "Chollet, Deep Learning with Python (2017, 1st ed.), ch. 5")}
REPRODUCTION_TOLERANCE = 0.005
BOOK_EPOCHS = 5  # the book trains both nets for 5 epochs on all 60,000 digits

# --------------------------------------------------------------------------- procedures
def recipes(model_names: list[str], cfg) -> list[Recipe]:
    """One recipe per model of ``model_names``, each trained with ``cfg`` (Chollet's optimizer and budget)."""
    return [Recipe(name, name, train=cfg) for name in model_names]


# --------------------------------------------------------------------------- findings
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
        label = WORDING.say("data_label", group=g)
        for model, rs in by_model.items():
            acc = (analysis.accuracy_with_interval(rs[0]) if len(rs) == 1 else
                   stats.fmt_interval(analysis.interval(rs, "test_accuracy")))
            book = BOOK.get(model)
            rows.append([label, model, acc, pct(book[0]) if book and g == MNIST else "",
                         status_words(analysis.status(rs))])
        if CONVNET in by_model and DENSE in by_model:
            c = analysis.compare(by_model[CONVNET], by_model[DENSE], WORDING.say("convnet_on", data=label),
                                 WORDING.say("dense_on", data=label))
            sec.comparisons.append(c)
            sec.conclusions.append(pair(c, (CONVNET, by_model[CONVNET]), (DENSE, by_model[DENSE])))
    sec.tables.append(Table(WORDING.say("caption_accuracy"),
                            ["data", "model", "test accuracy", "book", "plateau test"], rows))
    mnist = groups.get(MNIST, {})
    sec.conclusions += [_reproduction(model, mnist[model]) for model in BOOK if mnist.get(model)]
    sec.threats = threats(runs, [WORDING.finding("tasks_threat")])
    return sec


CHAPTER = Chapter(NOTEBOOK, TITLE, QUESTION, findings, in_abstract=True, min_seeds=1,
                  budgets=(TrainingBudget("mnist_train", "epochs", "batch_size", "mnist"),
                           TrainingBudget("letters_train", "epochs", "batch_size", "letters")))
