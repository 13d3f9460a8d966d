"""Chapter 02, DNN learning rules: one factor at a time from a common MLP baseline, and the MLP selected."""

from __future__ import annotations

import warnings

import numpy as np

from .. import analysis
from ..conclusions import (
    SHARED,
    Section,
    Table,
    Wording,
    base,
    empty,
    family_findings,
    family_table,
    pct,
    status_words,
    threats,
)
from ..dataset import Dataset
from ..results import Record
from .base import Chapter, TrainingBudget, trains

NOTEBOOK = "02_dnn_learning_rules"
TITLE = "DNN learning rules"
QUESTION = ("Which learning rules (activation, learning rate, optimizer, schedule, initialisation, batch norm, "
            "dropout, L1/L2) change what a multilayer perceptron learns on EMNIST balanced?")
BEST_MLP = "best_mlp"  # the selected setting, read by notebooks 03 and 08
TUNING = "optimizer_tuning"  # the learning-rate grid of each optimizer, on a tuning part set apart
TUNING_VALIDATION = 0.2  # of the tuning part: its own validation split picks each optimizer's rate
# The sweeps: (group, reference variant or None for "the best", table caption). Each group's first
# variant is its reference.
GROUPS = (("activation", "relu", "Activation functions"), ("learning_rate", "lr=0.1", "Learning rates (SGD with momentum)"),
          ("optimizer", "adam", "Optimizers, each at its own tuned learning rate"), ("schedule", "cosine", "Learning-rate schedules"),
          ("initialisation", "glorot_uniform", "Weight initialisation"),
          ("regularisation", "baseline", "Batch norm, dropout, L1/L2"))

WORDING = Wording("""
{%- import "findings.md.j2" as f -%}
{%- macro lead(label, ref, best) -%}{{ label }}{% if ref %} (reference {{ ref.variant }}: {{ ref.interval | interval }}){% endif %}: {% if best %}best {{ best.variant }} ({{ best.interval | interval }}).{% else %}no run trained.{% endif %}{%- endmacro -%}
{%- macro selected(name, accuracy, converged) -%}Selected for notebooks 03 and 08: {{ name }} (highest mean validation accuracy {{ "among converged settings" if converged else "of all settings: NONE converged within its budget" }}, {{ accuracy | pct }}).{%- endmacro -%}
{%- macro shared_reference_threat() -%}The sweeps share their reference runs (ReLU, Glorot-uniform, Adam at 1e-3, cosine schedule, no regularisation: one MLP; the optimizer sweep runs Adam at its own tuned rate): each sweep is its own family, its error rate controlled within it, not across sweeps.{%- endmacro -%}
{%- macro selection_threat() -%}Validation accuracy on a stratified split of the training data picks settings; test accuracy is never used to select.{%- endmacro -%}
""")


# --------------------------------------------------------------------------- procedures
def check(params: dict) -> list[str]:
    """Problems with this chapter's parameters, before anything trains: each group's reference is one of its
    variants, and every optimizer has a grid of learning rates."""
    out = []
    rates = [f"lr={lr}" for lr in params.get("learning_rates", [])]
    ref = dict((g, r) for g, r, _ in GROUPS)
    if "learning_rate" in params.get("groups", []) and ref["learning_rate"] not in rates:
        out.append(f"learning_rates {params.get('learning_rates')}: the declared reference {ref['learning_rate']} is "
                   "not among them")
    missing = sorted({"adam", "sgd", "sgd_momentum", "rmsprop"} - set(params.get("optimizer_grid", {})))
    if "optimizer" in params.get("groups", []) and missing:
        out.append(f"optimizer_grid lacks a learning-rate grid for {', '.join(missing)}")
    return out


@trains
def tune_learning_rates(study, tuning: Dataset, grid: dict[str, list[float]], base_cfg, base_kwargs: dict,
                        seed: int, n_main: int) -> dict[str, float]:
    """Each optimizer's learning rate, chosen on images set apart from the comparison (``tuning``): one run per
    rate of its grid, judged on the tuning part's own validation split; recorded as :data:`TUNING`. The runs
    take as many optimizer steps as the comparison's (``n_main`` training images): more epochs of fewer images,
    the same batch, so the rate is tuned for the schedule it will run."""
    from dataclasses import replace

    from ..study import fit_metrics
    from ..training import train

    n_tune = round(len(tuning.y_train) * (1 - TUNING_VALIDATION))
    epochs = max(1, round(base_cfg.epochs * n_main * (1 - base_cfg.validation_fraction) / n_tune))
    chosen = {}
    for optimizer, rates in grid.items():
        scores = {}
        for lr in rates:
            cfg = replace(base_cfg, optimizer=optimizer, learning_rate=lr, seed=seed, epochs=epochs,
                          validation_fraction=TUNING_VALIDATION)
            res = train("mlp", tuning.x_train, tuning.y_train, tuning.num_classes, cfg, base_kwargs, verbose=0)
            metrics = fit_metrics(res)
            study.record(f"{TUNING}__{optimizer}__lr{lr}", tuning, metrics, result=res, seed=seed, group=TUNING,
                         variant=f"{optimizer} lr={lr}", config={"model": "mlp", "model_kwargs": base_kwargs,
                                                                 "train": {"optimizer": optimizer, "learning_rate": lr}},
                         extra={"optimizer": optimizer, "learning_rate": lr})
            if res.convergence["status"] != "did_not_train":
                scores[lr] = metrics["val_accuracy"]
        chosen[optimizer] = max(scores, key=scores.get) if scores else rates[0]
        print(f"{optimizer}: learning rate {chosen[optimizer]:g} "
              f"({', '.join(f'{lr:g}: {100 * v:.1f}%' for lr, v in scores.items()) or 'none trained'})")
    return chosen


def sweeps(activations: list[str], learning_rates: list[float], epochs: int,
           tuned: dict[str, float] | None = None) -> dict[str, dict]:
    """Every sweep's variants, each a change from the baseline MLP (ReLU, Glorot-uniform, Adam at 1e-3, cosine
    schedule, no regularisation): ``{group: {variant: {"model_kwargs", "train"}}}``. The optimizers each run at
    their ``tuned`` learning rate (:func:`tune_learning_rates`), so none is judged at another's rate."""
    tuned = tuned or {}
    optimizers = {opt: {"train": {"optimizer": opt, "learning_rate": tuned.get(opt, default)}}
                  for opt, default in (("adam", 1e-3), ("sgd", 0.01), ("sgd_momentum", 0.01), ("rmsprop", 1e-3))}
    return {
        "activation": {a: {"model_kwargs": {"activation": a}} for a in ["relu", *[a for a in activations if a != "relu"]]},
        "learning_rate": {f"lr={lr}": {"train": {"optimizer": "sgd_momentum", "learning_rate": lr}}
                          for lr in learning_rates},
        "optimizer": optimizers,
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
def tuning_table(runs: list[Record]) -> Table:
    """Each optimizer's learning-rate grid on the tuning part, and the rate it was compared at."""
    rows = []
    grids: dict[str, list[float]] = {}
    for r in runs:
        grids.setdefault(r.extra["optimizer"], []).append(float(r.extra["learning_rate"]))
    best = {o: max((r for r in runs if r.extra["optimizer"] == o), key=lambda r: r.metric("val_accuracy"))
            for o in grids}
    for r in runs:
        o, lr = r.extra["optimizer"], float(r.extra["learning_rate"])
        edge = r is best[o] and len(grids[o]) > 1 and lr in (min(grids[o]), max(grids[o]))
        rows.append([o, f"{lr:g}" + (" (chosen; at the edge of its grid: the best rate may lie beyond it)" if edge
                                     else " (chosen)" if r is best[o] else ""),
                     pct(r.metric("val_accuracy")), status_words(r.status)])
    return Table(f"Learning rate of each optimizer, chosen on a tuning part set apart from the comparison "
                 f"({runs[0].data.n_train:,} images, seed {runs[0].seed}; validation accuracy on its own "
                 f"{100 * TUNING_VALIDATION:.0f}% split; one seed: differences of a point or two are noise)", ["optimizer", "learning rate", "validation accuracy",
                                                           "convergence"], rows)


def findings(records: list[Record]) -> Section:
    names = {g for g, _, _ in GROUPS}
    runs = [r for r in analysis.of_notebook(records, NOTEBOOK) if r.group in names]
    if not runs:
        return empty(NOTEBOOK, TITLE, QUESTION)
    sec = base(NOTEBOOK, TITLE, QUESTION, runs)
    tuning = [r for r in analysis.of_notebook(records, NOTEBOOK) if r.group == TUNING]
    if tuning:
        sec.tables.append(tuning_table(tuning))
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
        sec.conclusions.append(WORDING.finding("selected", name=best.extra["from"], accuracy=best.metric("val_accuracy"),
                                               converged=best.extra.get("converged", True)))
    sec.threats = threats(runs, [WORDING.finding("shared_reference_threat"), WORDING.finding("selection_threat")])
    return sec


CHAPTER = Chapter(NOTEBOOK, TITLE, QUESTION, findings, check=check, budgets=(TrainingBudget("n_train", "epochs", "batch_size",
                                                                                "balanced"),))
