"""Chapter 07, transfer learning: a letters model applied to Binary AlphaDigits, with a new head, fine-tuned,
against the same architecture trained from scratch."""

from __future__ import annotations

from dataclasses import asdict, replace

import numpy as np

from .. import analysis, stats
from ..conclusions import Section, Table, Wording, budget_check_findings, open_section, pair, status_words, threats
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
{%- macro source_setup(letters, seeds, statuses) -%}source models: Chollet's convnet trained on EMNIST letters ({{ letters }}), one per target seed (seeds {{ seeds | join(", ") }}; {{ statuses | join(", ") }}){%- endmacro -%}
{%- macro synthetic_source_threat() -%}The source model learnt from SYNTHETIC letters: transfer from real EMNIST letters may differ (the target data is real when its setup says so).{%- endmacro -%}
{%- macro small_target_threat() -%}AlphaDigits is small (39 images per class): the held-out part has about ten images per class, so single-seed differences are noisy.{%- endmacro -%}
""")


# --------------------------------------------------------------------------- procedures
@trains
def source_models(letters: Dataset, cfg, seeds: list[int]) -> dict:
    """One letters model per target seed (chapter 01's convnet and settings with that seed; the data seed's
    model usually from the model cache), so the source model's seed varies with the target's."""
    from ..training import train

    out = {}
    for seed in seeds:
        res = train(SOURCE_MODEL, letters.x_train, letters.y_train, letters.num_classes, replace(cfg, seed=seed),
                    verbose=0)
        print(f"source model seed {seed}: from cache {res.cache_hit}, {res.convergence['status']}")
        out[seed] = res
    return out


@trains
def transfer_runs(study, sources: dict, letters: Dataset, target: Dataset, cfg, seeds: list[int],
                  fine_tune_layers: int, group: str = GROUP) -> list[dict]:
    """Held-out comparison on the target, per seed: the letters model of that seed applied directly, its
    frozen base with a new head, the same then fine-tuned, and the architecture from scratch."""
    from ..models import transfer
    from ..study import fit_metrics, test_metrics
    from ..training import fine_tune, train

    rows = []

    def scores(res):
        return test_metrics(res.model, target.x_test, target.y_test, target.class_names)

    for seed in seeds:
        source = sources[seed]
        extra = {"letters_source": letters.provenance["source"], "source_seed": source.config["seed"],
                 "source_convergence": source.convergence["status"]}
        direct = scores(source)
        study.record(f"{group}__{DIRECT}__seed{seed}", target, direct, seed=seed, group=group, variant=DIRECT,
                     config={"method": DIRECT}, extra=extra,
                     convergence={"status": "not_trained", "reason": "the letters model applied without training",
                                  "criterion": "no training on the target"})
        rows.append({"method": DIRECT, "seed": seed, "test_accuracy": direct["test_accuracy"]})
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
            study.record(f"{group}__{method}__seed{seed}", target, {**fit_metrics(res), **metrics}, result=res,
                         seed=seed, group=group, variant=method, config={"method": method, "train": asdict(run_cfg)},
                         extra=extra)
            rows.append({"method": method, "seed": seed, "test_accuracy": metrics["test_accuracy"],
                         "status": res.convergence["status"]})
    return rows


@trains
def budget_check(study, sources: dict, letters: Dataset, target: Dataset, cfg, seeds: list[int],
                 fine_tune_layers: int, factor: int = 2) -> None:
    """``seeds`` of :func:`transfer_runs` trained again on the target at ``factor`` times the budget."""
    if seeds:
        transfer_runs(study, sources, letters, target, replace(cfg, epochs=factor * cfg.epochs), seeds,
                      fine_tune_layers, group=analysis.budget_group(GROUP, factor))


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
    n = kf[0].data.n_train  # the AlphaDigits training part the folds cut
    k = len(folds[FROZEN])
    c = stats.corrected_resampled_t(folds[FROZEN], folds[SCRATCH], n - n // k, n // k, "frozen-base transfer",
                                    "training from scratch")
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
    rows = [[METHODS.get(v, v), stats.fmt_interval(analysis.interval(rs, "test_accuracy")),
             status_words(analysis.status(rs))] for v, rs in by_variant.items()]
    sec.tables.append(Table("Held-out AlphaDigits accuracy, mean [95% CI] over seeds",
                            ["method", "test accuracy", "convergence"], rows))
    methods = [a for a in (FROZEN, FINE_TUNED) if a in by_variant and SCRATCH in by_variant]
    comps = analysis.in_family([analysis.compare(by_variant[a], by_variant[SCRATCH], SHORT[a], SHORT[SCRATCH],
                                                 family_size=len(methods)) for a in methods], "against scratch")
    sec.comparisons += comps
    sec.conclusions += [pair(c, (a, by_variant[a]), (SCRATCH, by_variant[SCRATCH])) for c, a in zip(comps, methods)]
    _kfold(sec, records)
    budget_check_findings(sec, records, NOTEBOOK, GROUP, "test_accuracy", "the transfer methods")
    src = next((r for r in runs if r.variant == DIRECT), runs[0])
    letters = src.extra.get("letters_source")
    extra = [WORDING.finding("small_target_threat")]
    if letters:
        sources = {r.extra.get("source_seed"): r.extra.get("source_convergence") for r in runs if r.variant == DIRECT}
        sec.setup.append(WORDING.finding("source_setup", letters=letters, seeds=sorted(sources),
                                         statuses=sorted({str(v) for v in sources.values()})))
    if letters == "synthetic":
        sec.synthetic = True
        extra.insert(0, WORDING.finding("synthetic_source_threat"))
    sec.threats = threats(runs, extra)
    return sec


CHAPTER = Chapter(NOTEBOOK, TITLE, QUESTION, findings, in_abstract=True,
                  budgets=(TrainingBudget("letters_train", "source_epochs", "source_batch_size", "letters"),
                           TrainingBudget(None, "epochs", "batch_size", "alphadigits")))
