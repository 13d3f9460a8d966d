"""Chapter 03, CNN depth: one and two convolutional layers against the MLP chapter 02 selected."""

from __future__ import annotations

from .. import analysis, stats
from ..conclusions import Section, Table, Wording, budget_check_findings, open_section, pair, status_words, threats
from ..results import Record
from . import c02_dnn_learning_rules as c02
from .base import Chapter, TrainingBudget

NOTEBOOK = "03_cnn_depth"
TITLE = "CNN depth"
QUESTION = "Does a second convolutional layer help a small CNN, and does a small CNN beat the best MLP?"
GROUP = "depth"
ONE_CONV, TWO_CONV, BEST_MLP = "1 conv", "2 conv", "best MLP"
ONE_LAYER = {"filters": [5], "kernel_size": 5, "dense_units": 0}  # one 5x5 convolution with 5 maps
TWO_LAYERS = {"filters": [5, 10], "kernel_size": 5, "dense_units": 0}  # then a second with 10
DEFAULT_MLP = {"hidden": [256, 128, 64]}  # when chapter 02 has not run
PAIRS = ((TWO_CONV, ONE_CONV), (TWO_CONV, BEST_MLP), (ONE_CONV, BEST_MLP))

WORDING = Wording("""
{%- macro tiny_threat() -%}The two CNNs are the classic tiny nets (5 and 5+10 maps); deeper CNNs are in notebook 05.{%- endmacro -%}
""")


# --------------------------------------------------------------------------- procedures
def variants(study) -> dict[str, dict]:
    """The two small CNNs and the MLP that chapter 02 selected (its training settings but this
    chapter's budget), or a default MLP when 02 has not run; prints which."""
    best = study.find_record(c02.NOTEBOOK, c02.BEST_MLP)
    mlp_kwargs = best.config["model_kwargs"] if best else DEFAULT_MLP
    mlp_train = {k: v for k, v in (best.config["train"] if best else {}).items()
                 if k not in ("epochs", "batch_size", "seed")}
    print(f"best DNN from notebook {c02.NOTEBOOK[:2]}:", best.extra["from"] if best else "not run; default MLP",
          mlp_kwargs)
    return {ONE_CONV: {"model": "cnn", "model_kwargs": ONE_LAYER}, TWO_CONV: {"model": "cnn", "model_kwargs": TWO_LAYERS},
            BEST_MLP: {"model": "mlp", "model_kwargs": mlp_kwargs, "train": mlp_train}}


# --------------------------------------------------------------------------- findings
def findings(records: list[Record]) -> Section:
    sec, runs = open_section(records, NOTEBOOK, TITLE, QUESTION)
    if sec.empty:
        return sec
    by_variant = analysis.group_runs(runs, NOTEBOOK, GROUP)
    summaries = analysis.summarise(by_variant, "test_accuracy")
    params = {v: rs[0].extra.get("params") for v, rs in by_variant.items()}
    sec.tables.append(Table("Test accuracy over seeds", ["model", "parameters", "test accuracy, mean [95% CI]",
                                                         "convergence"],
                            [[s.variant, f"{params[s.variant]:,}", stats.fmt_interval(s.interval),
                              status_words(s.status)] for s in summaries]))
    pairs = [(a, b) for a, b in PAIRS if a in by_variant and b in by_variant]
    sec.comparisons = analysis.in_family([analysis.compare(by_variant[a], by_variant[b], a, b, family_size=len(pairs))
                                          for a, b in pairs], "depth pairs")
    sec.conclusions = [pair(c, (a, by_variant[a]), (b, by_variant[b])) for c, (a, b) in zip(sec.comparisons, pairs)]
    budget_check_findings(sec, records, NOTEBOOK, GROUP, "test_accuracy", "the three models")
    sec.threats = threats(runs, [WORDING.finding("tiny_threat")])
    return sec


CHAPTER = Chapter(NOTEBOOK, TITLE, QUESTION, findings, budgets=(TrainingBudget("n_train", "epochs", "batch_size",
                                                                                "balanced"),))
