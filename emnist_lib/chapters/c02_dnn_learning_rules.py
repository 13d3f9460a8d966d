"""Chapter 02, DNN learning rules: one factor at a time from a common MLP baseline, and the MLP selected."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

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
from ..convergence import Status
from ..dataset import Dataset
from ..errors import StudyWarning
from ..recipe import Change, Recipe
from ..results import Record, RecordKey
from .base import Chapter, TrainingBudget, trains

NOTEBOOK = "02_dnn_learning_rules"
WORDING = Wording.of(NOTEBOOK)  # templates/chapters/02_dnn_learning_rules.md.j2: title, question, captions, findings
TITLE = WORDING.say("title")
QUESTION = WORDING.say("question")
BEST_MLP = "best_mlp"  # the selected setting, read by notebooks 03 and 08
SELECTED_MLP = RecordKey(NOTEBOOK, name=BEST_MLP)
TUNING = "optimizer_tuning"  # the learning-rate grid of each optimizer, on a tuning part set apart
TUNING_VALIDATION = 0.2  # of the tuning part: its own validation split picks each optimizer's rate
# The sweeps: (group, reference variant or None for "the best", table caption from the wording). Each
# group's first variant is its reference.
GROUPS = tuple((group, reference, WORDING.say("caption_sweep", group=group)) for group, reference in (
    ("activation", "relu"), ("learning_rate", "lr=0.1"), ("optimizer", "adam"), ("schedule", "cosine"),
    ("initialisation", "glorot_uniform"), ("regularisation", "baseline")))

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
def tune_learning_rates(study, tuning: Dataset, grid: dict[str, list[float]], baseline: Recipe, seed: int,
                        n_main: int) -> dict[str, float]:
    """Each optimizer's learning rate, chosen on images set apart from the comparison (``tuning``): one run of the
    ``baseline`` MLP per rate of its grid, judged on the tuning part's own validation split; recorded in group
    :data:`TUNING`. The runs take as many optimizer steps as the comparison's (``n_main`` training images): more
    epochs of fewer images, the same batch, so the rate is tuned for the schedule it will run."""
    from ..study import run_recipes, validation_scores

    cfg = baseline.train
    n_tune = round(len(tuning.y_train) * (1 - TUNING_VALIDATION))
    epochs = max(1, round(cfg.epochs * n_main * (1 - cfg.validation_fraction) / n_tune))
    candidates = [baseline.changed(f"{optimizer} lr={lr}", Change(train={
        "optimizer": optimizer, "learning_rate": lr, "epochs": epochs, "validation_fraction": TUNING_VALIDATION}))
        for optimizer, rates in grid.items() for lr in rates]
    runs = run_recipes(study, tuning, candidates, [seed], TUNING, score=validation_scores,
                       extra=lambda r, s: {"optimizer": r.train.optimizer, "learning_rate": r.train.learning_rate})
    chosen = {}
    for optimizer, rates in grid.items():
        scores = {run.recipe.train.learning_rate: run.metrics["val_accuracy"] for run in runs
                  if run.recipe.train.optimizer == optimizer and run.status != Status.DID_NOT_TRAIN}
        chosen[optimizer] = max(scores, key=scores.get) if scores else rates[0]
        print(f"{optimizer}: learning rate {chosen[optimizer]:g} "
              f"({', '.join(f'{lr:g}: {100 * v:.1f}%' for lr, v in scores.items()) or 'none trained'})")
    return chosen


def sweeps(baseline: Recipe, activations: list[str], learning_rates: list[float],
           tuned: dict[str, float] | None = None) -> dict[str, list[Recipe]]:
    """Every sweep's recipes, each one change from the ``baseline`` MLP (ReLU, Glorot-uniform, Adam at 1e-3, cosine
    schedule, no regularisation): ``{group: [recipe, ...]}``, the group's reference first. The optimizers each run
    at their ``tuned`` learning rate (:func:`tune_learning_rates`), so none is judged at another's rate."""
    tuned = tuned or {}
    epochs = baseline.train.epochs
    changes = {
        "activation": {a: Change({"activation": a}) for a in ["relu", *[a for a in activations if a != "relu"]]},
        "learning_rate": {f"lr={lr}": Change(train={"optimizer": "sgd_momentum", "learning_rate": lr})
                          for lr in learning_rates},
        "optimizer": {opt: Change(train={"optimizer": opt, "learning_rate": tuned.get(opt, default)})
                      for opt, default in (("adam", 1e-3), ("sgd", 0.01), ("sgd_momentum", 0.01), ("rmsprop", 1e-3))},
        "schedule": {"cosine": Change(), "constant": Change(train={"schedule": "constant"}),
                     "step": Change(train={"schedule": "step", "step_epochs": max(1, epochs // 3)})},
        "initialisation": {"glorot_uniform": Change(), "he_normal": Change({"initializer": "he_normal"}),
                           "lecun_normal": Change({"initializer": "lecun_normal"})},
        "regularisation": {"baseline": Change(), "batch_norm": Change({"batch_norm": True}),
                           "dropout=0.2": Change({"dropout": 0.2}), "l2=1e-4": Change({"l2": 1e-4}),
                           "l1=1e-5": Change({"l1": 1e-5}), "batch_norm+dropout": Change({"batch_norm": True, "dropout": 0.2})},
    }
    return {group: [baseline.changed(name, change) for name, change in variants.items()]
            for group, variants in changes.items()}


@dataclass(frozen=True)
class Selection:
    """A chapter's selected recipe: the winner's ``recipe`` (named ``<group>__<variant>``), its mean ``metric``
    over ``seeds``, and whether it showed a plateau (reported, never a condition of the selection)."""

    recipe: Recipe
    metric: str
    mean: float
    seeds: list[int]
    plateau: bool
    seed: int  # the seed of the run whose config the selection records


def pick_best(records: list[Record], notebook: str, metric: str, groups: list[str]) -> Selection:
    """The variant that trained with the highest mean ``metric`` over seeds among ``notebook``'s ``groups``, whatever
    its plateau verdict (a selection is never gated on it). When nothing trained the best of all is taken, with a
    warning: a
    selection, never a claim."""
    candidates = [(f"{g}__{v}", runs) for g in groups for v, runs in analysis.group_runs(records, notebook, g).items()]
    if not candidates:
        raise ValueError(f"{notebook}: no records in groups {groups}; run the sweeps first")
    pool = [(n, rs) for n, rs in candidates if analysis.status(rs) in analysis.COMPARABLE]
    if not pool:
        warnings.warn(f"{notebook}: no setting trained; selecting among runs that did not", StudyWarning, stacklevel=2)
    name, runs = max(pool or candidates, key=lambda c: float(np.mean(analysis.values(c[1], metric))))
    return Selection(runs[0].recipe.changed(name, origin=name), metric, float(np.mean(analysis.values(runs, metric))),
                     [r.seed for r in runs], analysis.status(runs) == Status.PLATEAU, runs[0].seed)


def select_mlp(study, ds, groups: list[str]) -> Selection:
    """Record the best setting that trained by mean validation accuracy (:data:`SELECTED_MLP`); returns it."""
    best = pick_best(study.records(), study.notebook, "val_accuracy", groups)
    study.record(BEST_MLP, ds, {best.metric: best.mean, "seeds": best.seeds}, config=best.recipe.config(best.seed),
                 extra={"from": best.recipe.origin, "plateau": best.plateau})
    return best


# --------------------------------------------------------------------------- findings
def tuning_table(runs: list[Record], compared: dict[str, float] | None = None) -> Table:
    """Each optimizer's learning-rate grid on the tuning part, and the rate it was compared at: ``compared``, read
    from the optimizer sweep's records (so a tie on the tuning part is labelled as training broke it), else the best
    on the tuning part."""
    rows = []
    grids: dict[str, list[float]] = {}
    for r in runs:
        grids.setdefault(r.extra["optimizer"], []).append(float(r.extra["learning_rate"]))
    best = {o: max((r for r in runs if r.extra["optimizer"] == o), key=lambda r: r.metric("val_accuracy"))
            for o in grids}
    chosen_rate = {o: (compared or {}).get(o, float(best[o].extra["learning_rate"])) for o in grids}
    for r in runs:
        o, lr = r.extra["optimizer"], float(r.extra["learning_rate"])
        chosen = math.isclose(lr, chosen_rate[o])
        edge = chosen and len(grids[o]) > 1 and lr in (min(grids[o]), max(grids[o]))
        rows.append([o, f"{lr:g}" + WORDING.say("rate_note", chosen=chosen, edge=edge),
                     pct(r.metric("val_accuracy")), status_words(r.status)])
    caption = WORDING.say("caption_tuning", n_train=runs[0].data.n_train, seeds=sorted({r.seed for r in runs}),
                          validation=TUNING_VALIDATION)
    return Table(caption, ["optimizer", "learning rate", "validation accuracy", "plateau test"], rows)


def findings(records: list[Record]) -> Section:
    names = {g for g, _, _ in GROUPS}
    runs = [r for r in analysis.of_notebook(records, NOTEBOOK) if r.group in names]
    if not runs:
        return empty(NOTEBOOK, TITLE, QUESTION)
    sec = base(NOTEBOOK, TITLE, QUESTION, runs)
    tuning = [r for r in analysis.of_notebook(records, NOTEBOOK) if r.group == TUNING]
    if tuning:
        compared = {r.recipe.train.optimizer: float(r.recipe.train.learning_rate)
                    for r in runs if r.group == "optimizer"}
        sec.tables.append(tuning_table(tuning, compared))
    for group, reference, label in GROUPS:
        by_variant = analysis.group_runs(runs, NOTEBOOK, group)
        if not by_variant:
            continue
        metric = analysis.validation_metric([r for rs in by_variant.values() for r in rs])
        fam = analysis.compare_family(by_variant, metric, reference if reference in by_variant else None)
        sec.tables.append(family_table(label, fam, analysis.metric_label(metric)))
        sec.comparisons += fam.comparisons
        ref = fam.summary(fam.reference) if reference else None
        lead = WORDING.finding("lead", label=label, ref=ref, best=fam.best())
        sec.conclusions.append(SHARED.finding("joined", parts=[lead, *family_findings(fam)]))
    best = analysis.named(records, NOTEBOOK, BEST_MLP)
    if best:
        sec.conclusions.append(WORDING.finding("selected", name=best.extra["from"], accuracy=best.metric("val_accuracy"),
                                               plateau=best.extra.get("plateau", best.extra.get("converged", True))))
    sec.threats = threats(runs, [WORDING.finding("shared_reference_threat"), WORDING.finding("selection_threat")])
    return sec


CHAPTER = Chapter(NOTEBOOK, TITLE, QUESTION, findings, check=check, budgets=(TrainingBudget("n_train", "epochs", "batch_size",
                                                                                "balanced"),))
