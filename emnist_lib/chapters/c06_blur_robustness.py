"""Chapter 06, blur robustness: a CNN trained clean and on box-blurred images, each scored at every blur."""

from __future__ import annotations

from dataclasses import asdict, replace

import numpy as np

from .. import analysis, stats
from ..conclusions import Section, Table, Wording, budget_check_findings, open_section, pair, status_words, threats
from ..convergence import CHANCE_MARGIN
from ..dataset import Dataset
from ..results import Record
from .base import Chapter, TrainingBudget, trains

NOTEBOOK = "06_blur_robustness"
TITLE = "Robustness to blur"
QUESTION = ("How much accuracy does box blur cost a CNN trained on clean images, and does training on blurred "
            "images recover it?")
GROUP = "blur"
CLEAN = "clean"


def variant(kernel: int) -> str:
    """The name of the model trained at box-blur ``kernel`` (0: clean images)."""
    return f"kernel {kernel}" if kernel else CLEAN


def accuracy_key(kernel: int) -> str:
    """The metric holding a model's accuracy on the test images blurred with ``kernel`` (0: clean)."""
    return f"test_accuracy_blur_{kernel}"


def correct_key(kernel: int) -> str:
    """The metric holding which of those test images it got right (packed)."""
    return f"test_correct_blur_{kernel}"


WORDING = Wording("""
{%- import "findings.md.j2" as f -%}
{%- macro headline(worst, worst_kernel, helped, same) -%}
{%- if worst and worst.direction < 0 %}Blur costs the clean-trained model up to {{ worst.diff | points }} (kernel-{{ worst_kernel }} test images). {% endif -%}
Training on blurred images is detectably better at {{ helped | join(", ") if helped else "no blur level" }}{% if same %}; no detectable difference at {{ same | join(", ") }}{% endif %}.
{%- endmacro -%}
{%- macro near_chance(levels, chance) -%}Near chance by design: {% for n in levels %}at {{ n.level }} the clean-trained model scores {{ n.clean | pct }} (chance {{ chance | pct }}) and the best model on it, trained on {{ n.best }}, {{ n.best_accuracy | pct }}{{ "; " if not loop.last }}{% endfor %}. A box kernel this wide on a 28x28 image averages the stroke away (see the blur-levels figure), so accuracy near chance there is the finding, not a training failure.{%- endmacro -%}
{%- macro one_recipe_threat() -%}One architecture (the training recipe of this notebook); blur is a box filter applied after the EMNIST conversion.{%- endmacro -%}
""")


# --------------------------------------------------------------------------- procedures
@trains
def blur_runs(study, ds: Dataset, model: str, cfg, levels: list[int], seeds: list[int], group: str = GROUP) -> np.ndarray:
    """Train on each blur level (0 = clean) with every seed, score on every blur level of the same
    test images; record ``<group>__<level>__seed<k>`` (a budget check passes its own group and a longer ``cfg``).
    Returns the seed-mean accuracy matrix (rows: training blur, columns: test blur)."""
    from ..study import fit_metrics, test_metrics
    from ..training import train
    from ..transforms import box_blur

    train_sets = {k: box_blur(ds.x_train, k) if k else ds.x_train for k in levels}
    test_sets = {k: box_blur(ds.x_test, k) if k else ds.x_test for k in levels}
    matrix = np.zeros((len(levels), len(levels)))
    for i, k in enumerate(levels):
        for seed in seeds:
            res = train(model, train_sets[k], ds.y_train, ds.num_classes, replace(cfg, seed=seed), verbose=0)
            metrics = fit_metrics(res)
            for j, t in enumerate(levels):
                m = test_metrics(res.model, test_sets[t], ds.y_test, ds.class_names, prefix="test")
                metrics.update({accuracy_key(t): m["test_accuracy"], correct_key(t): m["test_correct"],
                                "test_n": m["test_n"]})
                matrix[i, j] += m["test_accuracy"] / len(seeds)
            study.record(f"{group}__{k}__seed{seed}", ds, metrics, result=res, seed=seed, group=group,
                         variant=variant(k), config={"model": model, "train_blur": k,
                                                     "train": asdict(replace(cfg, seed=seed))})
            print(f"trained on {variant(k)}, seed {seed}: " + " ".join(
                f"{metrics[accuracy_key(t)]:.3f}" for t in levels) + f"; {res.convergence['status']}", flush=True)
    return matrix


@trains
def budget_check(study, ds: Dataset, model: str, cfg, levels: list[int], seeds: list[int], factor: int = 2):
    """``seeds`` of :func:`blur_runs` trained again at ``factor`` times the budget (the section's budget check)."""
    if seeds:
        blur_runs(study, ds, model, replace(cfg, epochs=factor * cfg.epochs), levels, seeds,
                  group=analysis.budget_group(GROUP, factor))


# --------------------------------------------------------------------------- findings
def blur_drop(clean: list[Record], kernel: int, family_size: int = 1) -> stats.Comparison:
    """The clean-trained recipe on blurred vs clean test images: the same seeds and the same images, paired."""
    return analysis.compare(clean, clean, f"the clean-trained model on kernel-{kernel} test images",
                            "the same model on clean test images", metric=accuracy_key(kernel),
                            family_size=family_size, metric_b=accuracy_key(0))


def _levels(runs: list[Record]) -> list[int]:
    prefix = accuracy_key(0)[:-1]
    return sorted({int(k[len(prefix):]) for r in runs for k in r.metrics if k.startswith(prefix)})


def _near_chance(by_variant: dict, levels: list[int], chance: float) -> list[dict]:
    near = []
    for t in levels:
        means = {v: float(np.mean(analysis.values(rs, accuracy_key(t)))) for v, rs in by_variant.items()}
        if CLEAN in by_variant and t and means.get(CLEAN, 1.0) < chance + CHANCE_MARGIN:
            best = max(means, key=means.get)
            near.append({"level": variant(t), "clean": means[CLEAN], "best": best, "best_accuracy": means[best]})
    return near


def findings(records: list[Record]) -> Section:
    sec, runs = open_section(records, NOTEBOOK, TITLE, QUESTION)
    if sec.empty:
        return sec
    by_variant = analysis.group_runs(runs, NOTEBOOK, GROUP)
    levels = _levels(runs)
    rows = [[name] + [stats.fmt_interval(analysis.interval(rs, accuracy_key(t))) for t in levels]
            + [status_words(analysis.status(rs))] for name, rs in by_variant.items()]
    sec.tables.append(Table("Test accuracy, mean [95% CI] over seeds: trained on (rows) and tested on (columns)",
                            ["trained on"] + [variant(t) for t in levels] + ["convergence"], rows))
    clean = by_variant.get(CLEAN)
    if clean:
        blurred = [t for t in levels if t]
        drops = analysis.in_family([blur_drop(clean, t, len(blurred)) for t in blurred], "drops")
        trained = [t for t in blurred if variant(t) in by_variant]
        recover = [analysis.compare(by_variant[variant(t)], clean, f"training at {variant(t)}",
                                    "training on clean images", accuracy_key(t), family_size=len(trained))
                   for t in trained]
        for c, t in zip(recover, trained):
            c.test = f"{c.test}, tested at {variant(t)}"
        analysis.in_family(recover, "recovery")
        sec.comparisons += drops + recover
        sec.conclusions += [pair(c, (CLEAN, clean)) for c in drops]
        sec.conclusions += [pair(c, (CLEAN, clean), (variant(t), by_variant[variant(t)])) for c, t in zip(recover, trained)]
        worst = min(zip(drops, blurred), key=lambda ct: ct[0].diff) if drops else (None, None)
        sec.headline = [WORDING.finding("headline", worst=worst[0], worst_kernel=worst[1],
                                        helped=[variant(t) for c, t in zip(recover, trained) if c.direction > 0],
                                        same=[variant(t) for c, t in zip(recover, trained) if c.direction == 0])]
    chance = float(runs[0].convergence.chance)
    near = _near_chance(by_variant, levels, chance)
    if near:
        sec.conclusions.append(WORDING.finding("near_chance", levels=near, chance=chance))
    for t in [t for t in levels if t and variant(t) in by_variant]:  # each claim "trained at k vs clean, at k"
        budget_check_findings(sec, records, NOTEBOOK, GROUP, accuracy_key(t),
                              f"training at {variant(t)} against clean, tested at {variant(t)}", [CLEAN, variant(t)])
    sec.threats = threats(runs, [WORDING.finding("one_recipe_threat")])
    return sec


CHAPTER = Chapter(NOTEBOOK, TITLE, QUESTION, findings, in_abstract=True,
                  budgets=(TrainingBudget("n_train", "epochs", "batch_size", "split"),))
