"""Chapter 02, DNN learning rules: one factor at a time from a common MLP baseline, and the MLP selected."""

from __future__ import annotations

import warnings

import numpy as np

from .. import analysis
from ..conclusions import SHARED, Section, Wording, family_findings, family_table, open_section, threats
from ..results import Record
from .base import Chapter, TrainingBudget

NOTEBOOK = "02_dnn_learning_rules"
TITLE = "DNN learning rules"
QUESTION = ("Which learning rules (activation, learning rate, optimizer, schedule, initialisation, batch norm, "
            "dropout, L1/L2) change what a multilayer perceptron learns on EMNIST balanced?")
BEST_MLP = "best_mlp"  # the selected setting, read by notebooks 03 and 08
# The sweeps: (group, reference variant or None for "the best", table caption). Each group's first
# variant is its reference.
GROUPS = (("activation", "relu", "Activation functions"), ("learning_rate", None, "Learning rates (SGD with momentum)"),
          ("optimizer", "adam", "Optimizers"), ("schedule", "cosine", "Learning-rate schedules"),
          ("initialisation", "glorot_uniform", "Weight initialisation"),
          ("regularisation", "baseline", "Batch norm, dropout, L1/L2"))

WORDING = Wording("""
{%- import "findings.md.j2" as f -%}
{%- macro lead(label, ref, best) -%}{{ label }}{% if ref %} (reference {{ ref.variant }}: {{ ref.interval | interval }}){% endif %}: {% if best %}best {{ best.variant }} ({{ best.interval | interval }}).{% else %}no run converged.{% endif %}{%- endmacro -%}
{%- macro selected(name, accuracy) -%}Selected for notebooks 03 and 08: {{ name }} (highest mean validation accuracy among converged settings, {{ accuracy | pct }}).{%- endmacro -%}
{%- macro selection_threat() -%}Validation accuracy on a stratified split of the training data picks settings; the test set is kept for notebook 08.{%- endmacro -%}
""")


# --------------------------------------------------------------------------- procedures
def sweeps(activations: list[str], learning_rates: list[float], epochs: int) -> dict[str, dict]:
    """Every sweep's variants, each a change from the baseline MLP (ReLU, Glorot-uniform, Adam, cosine
    schedule, no regularisation): ``{group: {variant: {"model_kwargs", "train"}}}``."""
    return {
        "activation": {a: {"model_kwargs": {"activation": a}} for a in ["relu", *[a for a in activations if a != "relu"]]},
        "learning_rate": {f"lr={lr}": {"train": {"optimizer": "sgd_momentum", "learning_rate": lr}}
                          for lr in learning_rates},
        "optimizer": {"adam": {}, "sgd": {"train": {"optimizer": "sgd", "learning_rate": 0.01}},
                      "sgd_momentum": {"train": {"optimizer": "sgd_momentum", "learning_rate": 0.01}},
                      "rmsprop": {"train": {"optimizer": "rmsprop"}}},
        "schedule": {"cosine": {}, "constant": {"train": {"schedule": "constant"}},
                     "step": {"train": {"schedule": "step", "step_epochs": max(1, epochs // 3)}}},
        "initialisation": {"glorot_uniform": {}, "he_normal": {"model_kwargs": {"initializer": "he_normal"}},
                           "lecun_normal": {"model_kwargs": {"initializer": "lecun_normal"}}},
        "regularisation": {"baseline": {}, "batch_norm": {"model_kwargs": {"batch_norm": True}},
                           "dropout=0.2": {"model_kwargs": {"dropout": 0.2}}, "l2=1e-4": {"model_kwargs": {"l2": 1e-4}},
                           "l1=1e-5": {"model_kwargs": {"l1": 1e-5}},
                           "batch_norm+dropout": {"model_kwargs": {"batch_norm": True, "dropout": 0.2}}},
    }


def pick_best(records: list[Record], notebook: str, metric: str, groups: list[str]) -> dict:
    """The converged variant with the highest mean ``metric`` over seeds among ``notebook``'s
    ``groups``: ``{"from": "<group>__<variant>", "metrics": {metric: mean, "seeds": [...]}, "config",
    "converged"}``. When nothing converged (a smoke budget) the best of all is taken, with a
    warning and ``converged: False``: a selection, never a claim."""
    candidates = [(f"{g}__{v}", runs) for g in groups for v, runs in analysis.group_runs(records, notebook, g).items()]
    if not candidates:
        raise ValueError(f"{notebook}: no records in groups {groups}; run the sweeps first")
    pool = [(n, rs) for n, rs in candidates if analysis.status(rs) == "converged"]
    if not pool:
        warnings.warn(f"{notebook}: no setting converged within its budget; selecting among unconverged runs",
                      stacklevel=2)
    name, runs = max(pool or candidates, key=lambda c: float(np.mean(analysis.values(c[1], metric))))
    return {"from": name, "metrics": {metric: float(np.mean(analysis.values(runs, metric))),
                                      "seeds": [r.seed for r in runs]},
            "config": runs[0].config, "converged": bool(pool)}


def select_mlp(study, ds, groups: list[str]) -> dict:
    """Record the best converged setting by mean validation accuracy (:data:`BEST_MLP`); returns it."""
    best = pick_best(study.records(), study.notebook, "val_accuracy", groups)
    study.record(BEST_MLP, ds, best["metrics"], config=best["config"],
                 extra={"from": best["from"], "converged": best["converged"]})
    return best


# --------------------------------------------------------------------------- findings
def findings(records: list[Record]) -> Section:
    sec, runs = open_section(records, NOTEBOOK, TITLE, QUESTION)
    if sec.empty:
        return sec
    for group, reference, label in GROUPS:
        by_variant = analysis.group_runs(runs, NOTEBOOK, group)
        if not by_variant:
            continue
        fam = analysis.compare_family(by_variant, "val_accuracy", reference if reference in by_variant else None)
        sec.tables.append(family_table(label, fam, "validation accuracy"))
        sec.comparisons += fam.comparisons
        ref = fam.summary(fam.reference) if reference else None
        lead = WORDING.finding("lead", label=label, ref=ref, best=fam.best())
        sec.conclusions.append(SHARED.finding("joined", parts=[lead, *family_findings(fam)]))
    best = analysis.named(records, NOTEBOOK, BEST_MLP)
    if best:
        sec.conclusions.append(WORDING.finding("selected", name=best.extra["from"],
                                               accuracy=best.metric("val_accuracy")))
    sec.threats = threats(runs, [WORDING.finding("selection_threat")])
    return sec


CHAPTER = Chapter(NOTEBOOK, TITLE, QUESTION, findings, budgets=(TrainingBudget("n_train", "epochs", "batch_size",
                                                                                "balanced"),))
