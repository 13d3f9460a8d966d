"""Chapter 03, CNN depth: one and two convolutional layers against the MLP chapter 02 selected."""

from __future__ import annotations

from .. import analysis, stats
from ..conclusions import Section, Table, Wording, budget_check_findings, open_section, pair, status_words, threats
from ..recipe import Recipe
from ..results import Record
from . import c02_dnn_learning_rules as c02
from . import c05_architectures as c05
from .base import Chapter, TrainingBudget

NOTEBOOK = "03_cnn_depth"
WORDING = Wording.of(NOTEBOOK)  # templates/chapters/03_cnn_depth.md.j2: title, question, caption, findings
TITLE = WORDING.say("title")
QUESTION = WORDING.say("question")
GROUP = "depth"
ONE_CONV, TWO_CONV, BEST_MLP = "1 conv", "2 conv", "best MLP"
ONE_LAYER = {"filters": [5], "kernel_size": 5, "dense_units": 0}  # one 5x5 convolution with 5 maps
TWO_LAYERS = {"filters": [5, 10], "kernel_size": 5, "dense_units": 0}  # then a second with 10
DEFAULT_MLP = {"hidden": [256, 128, 64]}  # when chapter 02 has not run
PAIRS = ((TWO_CONV, ONE_CONV), (TWO_CONV, BEST_MLP), (ONE_CONV, BEST_MLP))

# --------------------------------------------------------------------------- procedures
def recipes(study, cfg) -> list[Recipe]:
    """The two small CNNs and the MLP that chapter 02 selected (its training settings but this chapter's
    budget: ``cfg``'s epochs and batch), or a default MLP when 02 has not run; prints which."""
    best = study.find(c02.SELECTED_MLP)
    selected = best.recipe if best else Recipe(BEST_MLP, "mlp", DEFAULT_MLP, cfg)
    mlp = selected.changed(BEST_MLP).with_train(epochs=cfg.epochs, batch_size=cfg.batch_size)
    print(f"best DNN from notebook {c02.NOTEBOOK[:2]}:", best.extra["from"] if best else "not run; default MLP",
          dict(mlp.model_settings))
    return [Recipe(ONE_CONV, "cnn", ONE_LAYER, cfg), Recipe(TWO_CONV, "cnn", TWO_LAYERS, cfg), mlp]


# --------------------------------------------------------------------------- findings
def findings(records: list[Record]) -> Section:
    sec, runs = open_section(records, NOTEBOOK, TITLE, QUESTION)
    if sec.empty:
        return sec
    by_variant = analysis.group_runs(runs, NOTEBOOK, GROUP)
    summaries = analysis.summarise(by_variant, "test_accuracy")
    params = {v: rs[0].extra.get("params") for v, rs in by_variant.items()}
    sec.tables.append(Table(WORDING.say("caption_accuracy"),
                            ["model", "parameters", "test accuracy, mean [95% CI]", "plateau test"],
                            [[s.variant, f"{params[s.variant]:,}", stats.fmt_interval(s.interval),
                              status_words(s.status)] for s in summaries]))
    pairs = [(a, b) for a, b in PAIRS if a in by_variant and b in by_variant]
    sec.comparisons = analysis.in_family([analysis.compare(by_variant[a], by_variant[b], a, b, family_size=len(pairs))
                                          for a, b in pairs], "depth pairs")
    sec.conclusions = [pair(c, (a, by_variant[a]), (b, by_variant[b])) for c, (a, b) in zip(sec.comparisons, pairs)]
    budget_check_findings(sec, records, NOTEBOOK, GROUP, "test_accuracy", WORDING.say("check_what", n=len(by_variant)))
    sec.threats = threats(runs, [WORDING.finding("tiny_threat", one=ONE_LAYER["filters"], two=TWO_LAYERS["filters"],
                                                 deeper=c05.NOTEBOOK[:2])])
    return sec


CHAPTER = Chapter(NOTEBOOK, TITLE, QUESTION, findings, budgets=(TrainingBudget("n_train", "epochs", "batch_size",
                                                                                "balanced"),),
                  reads=(c02.NOTEBOOK,))  # the MLP chapter 02 selected
