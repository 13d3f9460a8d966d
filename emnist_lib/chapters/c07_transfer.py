"""Chapter 07, transfer learning: a letters model applied to Binary AlphaDigits, with a new head, fine-tuned,
against the same architecture trained from scratch."""

from __future__ import annotations

from dataclasses import asdict, replace

import numpy as np

from .. import analysis, stats
from ..conclusions import Section, Table, Wording, open_section, pair, status_words, threats
from ..convergence import worst_verdict
from ..dataset import Dataset
from ..results import Record
from .base import Chapter, TrainingBudget, trains

NOTEBOOK = "07_transfer_learning"
TITLE = "Transfer learning to Binary AlphaDigits"
QUESTION = ("Does a network pre-trained on EMNIST letters transfer to Binary AlphaDigits better than the same "
            "network trained from scratch on AlphaDigits alone?")
GROUP, KFOLD = "transfer", "transfer_kfold"
DIRECT, FROZEN, FINE_TUNED, SCRATCH = "direct", "frozen", "fine_tuned", "scratch"
SOURCE_MODEL = "chollet_convnet"  # the letters model of chapter 01, and the from-scratch architecture
METHODS = {DIRECT: "letters model applied directly (no AlphaDigits training)",
           FROZEN: "frozen letters base + new head", FINE_TUNED: "frozen base + head, then top layers fine-tuned",
           SCRATCH: "same architecture from scratch on AlphaDigits"}
SHORT = {FROZEN: "the frozen letters base with a new head", FINE_TUNED: "the fine-tuned letters base",
         SCRATCH: "training from scratch"}
FINE_TUNE_LEARNING_RATE = 1e-5  # low: the unfrozen top layers keep most of what they learnt on letters

WORDING = Wording("""
{%- import "findings.md.j2" as f -%}
{%- macro cross_validation(c) -%}Cross-validation: {{ f.verdict(c) }}.{%- endmacro -%}
{%- macro source_setup(letters, seed, convergence) -%}source model: Chollet's convnet trained on EMNIST letters ({{ letters }}), seed {{ seed }}, shared by every target seed ({{ convergence }}){%- endmacro -%}
{%- macro synthetic_source_threat() -%}The source model learnt from SYNTHETIC letters: transfer from real EMNIST letters may differ (the target data is real when its setup says so).{%- endmacro -%}
{%- macro small_target_threat() -%}AlphaDigits is small (39 images per class): the held-out part has about ten images per class, so single-seed differences are noisy.{%- endmacro -%}
""")


# --------------------------------------------------------------------------- procedures
@trains
def source_model(letters: Dataset, cfg):
    """The letters model (chapter 01's convnet with the same settings, so usually from the model cache)."""
    from ..training import train

    res = train(SOURCE_MODEL, letters.x_train, letters.y_train, letters.num_classes, cfg, verbose=0)
    print("source model from cache:", res.cache_hit, "| status:", res.convergence["status"])
    return res


@trains
def transfer_runs(study, source, letters: Dataset, target: Dataset, cfg, seeds: list[int],
                  fine_tune_layers: int) -> list[dict]:
    """Held-out comparison on the target: the source model applied directly (once), and per seed a
    frozen base with a new head, the same then fine-tuned, and the architecture from scratch."""
    from ..models import transfer
    from ..study import fit_metrics, test_metrics
    from ..training import fine_tune, train

    extra = {"letters_source": letters.provenance["source"], "source_seed": source.config["seed"],
             "source_convergence": source.convergence["status"]}
    rows = []

    def scores(res):
        return test_metrics(res.model, target.x_test, target.y_test, target.class_names)

    direct = scores(source)
    study.record(f"{GROUP}__{DIRECT}__seed{seeds[0]}", target, direct, seed=seeds[0], group=GROUP, variant=DIRECT,
                 config={"method": DIRECT}, extra=extra,
                 convergence={"status": "not_trained", "reason": "the letters model applied without training",
                              "criterion": "no training on the target"})
    rows.append({"method": DIRECT, "seed": seeds[0], "test_accuracy": direct["test_accuracy"]})
    for seed in seeds:
        run_cfg = replace(cfg, seed=seed)
        frozen = train(transfer(source.model, target.num_classes), target.x_train, target.y_train, cfg=run_cfg,
                       use_cache=False, verbose=0)
        scored = {FROZEN: (frozen, scores(frozen))}  # before fine-tuning trains this same model on
        tuned = fine_tune(frozen, target.x_train, target.y_train, fine_tune_layers,
                          replace(run_cfg, learning_rate=FINE_TUNE_LEARNING_RATE), verbose=0)
        scored[FINE_TUNED] = (tuned, scores(tuned))
        scratch = train(SOURCE_MODEL, target.x_train, target.y_train, target.num_classes, run_cfg, verbose=0)
        scored[SCRATCH] = (scratch, scores(scratch))
        for method, (res, metrics) in scored.items():
            study.record(f"{GROUP}__{method}__seed{seed}", target, {**fit_metrics(res), **metrics}, result=res,
                         seed=seed, group=GROUP, variant=method, config={"method": method, "train": asdict(run_cfg)},
                         extra=extra)
            rows.append({"method": method, "seed": seed, "test_accuracy": metrics["test_accuracy"],
                         "status": res.convergence["status"]})
    return rows


@trains
def transfer_kfold(study, source_model, target: Dataset, cfg, k: int = 3, seed: int = 0) -> list[dict]:
    """Stratified k-fold on the target's training part: frozen-base transfer vs the same architecture
    from scratch, on the same folds (paired); records ``transfer_kfold__<method>``."""
    from sklearn.model_selection import StratifiedKFold

    from ..models import transfer
    from ..study import accuracy_of
    from ..training import train

    x, y = target.x_train, target.y_train
    rows, verdicts = [], {FROZEN: [], SCRATCH: []}
    run_cfg = replace(cfg, seed=seed)
    for fold, (tr, va) in enumerate(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(x, y), 1):
        # Epoch selection on a validation split of the training folds; the held-out fold is only scored.
        frozen = train(transfer(source_model, target.num_classes), x[tr], y[tr], cfg=run_cfg, use_cache=False, verbose=0)
        scratch = train(SOURCE_MODEL, x[tr], y[tr], target.num_classes, run_cfg, verbose=0)
        verdicts[FROZEN].append(frozen.convergence)
        verdicts[SCRATCH].append(scratch.convergence)
        rows.append({"fold": fold, FROZEN: accuracy_of(frozen.model, x[va], y[va]),
                     SCRATCH: accuracy_of(scratch.model, x[va], y[va])})
    for method in (FROZEN, SCRATCH):
        accs = [r[method] for r in rows]
        study.record(f"{KFOLD}__{method}", target, {"folds": accs, "mean": float(np.mean(accs))},
                     config={"k": k, "method": method, "train": asdict(run_cfg)}, seed=seed, group=KFOLD,
                     variant=method, convergence=worst_verdict(verdicts[method]),
                     extra={"convergence_per_fold": [v["status"] for v in verdicts[method]]})
    return rows


# --------------------------------------------------------------------------- findings
def _kfold(sec: Section, records: list[Record]) -> None:
    kf = [r for r in analysis.of_notebook(records, NOTEBOOK) if r.group == KFOLD]
    folds = {r.variant: [float(v) for v in r.metric("folds")] for r in kf}
    if FROZEN not in folds or SCRATCH not in folds:
        return
    c = stats.paired_test(folds[FROZEN], folds[SCRATCH], "frozen-base transfer", "training from scratch", unit="folds")
    sec.comparisons.append(c)
    sec.tables.append(Table(f"{len(folds[FROZEN])}-fold cross-validation on the AlphaDigits training part",
                            ["method", "fold accuracy, mean [95% CI]"],
                            [[METHODS.get(v, v), stats.fmt_interval(stats.mean_ci(f))] for v, f in folds.items()]))
    sec.conclusions.append(WORDING.finding("cross_validation", c=c))


def findings(records: list[Record]) -> Section:
    sec, runs = open_section(records, NOTEBOOK, TITLE, QUESTION, GROUP)
    if sec.empty:
        return sec
    by_variant = analysis.group_runs(runs, NOTEBOOK, GROUP)
    rows = [[METHODS.get(v, v), stats.fmt_interval(stats.mean_ci(analysis.values(rs, "test_accuracy"))),
             status_words(analysis.status(rs))] for v, rs in by_variant.items()]
    sec.tables.append(Table("Held-out AlphaDigits accuracy, mean [95% CI] over seeds",
                            ["method", "test accuracy", "convergence"], rows))
    methods = [a for a in (FROZEN, FINE_TUNED) if a in by_variant and SCRATCH in by_variant]
    comps = stats.holm([analysis.two_models(by_variant[a], by_variant[SCRATCH], SHORT[a], SHORT[SCRATCH])
                        for a in methods])
    sec.comparisons += comps
    sec.conclusions += [pair(c, (a, by_variant[a]), (SCRATCH, by_variant[SCRATCH])) for c, a in zip(comps, methods)]
    _kfold(sec, records)
    src = next((r for r in runs if r.variant == DIRECT), runs[0])
    letters = src.extra.get("letters_source")
    extra = [WORDING.finding("small_target_threat")]
    if letters:
        sec.setup.append(WORDING.finding("source_setup", letters=letters, seed=src.extra.get("source_seed", 0),
                                         convergence=src.extra.get("source_convergence", "convergence not recorded")))
    if letters == "synthetic":
        sec.synthetic = True
        extra.insert(0, WORDING.finding("synthetic_source_threat"))
    sec.threats = threats(runs, extra)
    return sec


CHAPTER = Chapter(NOTEBOOK, TITLE, QUESTION, findings, in_abstract=True,
                  budgets=(TrainingBudget("letters_train", "source_epochs", "source_batch_size", "letters"),
                           TrainingBudget(None, "epochs", "batch_size", "alphadigits")))
