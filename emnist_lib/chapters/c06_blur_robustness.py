"""Chapter 06, blur robustness: a CNN trained clean and on box-blurred images, each scored at every blur."""

from __future__ import annotations

import numpy as np

from .. import analysis, stats
from ..conclusions import Section, Table, Wording, budget_check_findings, open_section, pair, status_words, threats
from ..convergence import CHANCE_MARGIN
from ..dataset import Dataset
from ..recipe import Recipe
from ..results import Record
from .base import Chapter, TrainingBudget, trains

NOTEBOOK = "06_blur_robustness"
WORDING = Wording.of(NOTEBOOK)  # templates/chapters/06_blur_robustness.md.j2: title, question, caption, findings
TITLE = WORDING.say("title")
QUESTION = WORDING.say("question")
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


# --------------------------------------------------------------------------- procedures
def recipes(model: str, cfg, levels: list[int]) -> list[Recipe]:
    """One recipe per training blur level (0: clean images): ``model`` trained with ``cfg`` on images box-blurred
    with that kernel (recorded as the run's ``train_blur``)."""
    return [Recipe(variant(k), model, train=cfg, condition={"train_blur": k}) for k in levels]


@trains
def blur_runs(study, ds: Dataset, model: str, cfg, levels: list[int], seeds: list[int],
              check_seeds: list[int] = ()) -> np.ndarray:
    """Train on each blur level (0 = clean) with every seed, score on every blur level of the same test images
    (the seed loop records ``blur__<variant>__seed<k>``; ``check_seeds``: its budget check). Returns the
    seed-mean accuracy matrix (rows: training blur, columns: test blur)."""
    from ..study import fit_metrics, run_recipes, test_metrics
    from ..training import train
    from ..transforms import box_blur

    def blurred(x, k: int):  # where the run executes: a task carries the clean images only
        return box_blur(x, k) if k else x

    def fit(recipe: Recipe, seed: int):
        return train(recipe.model, blurred(ds.x_train, recipe.condition["train_blur"]), ds.y_train, ds.num_classes,
                     recipe.run_config(seed), recipe.model_settings, verbose=0)

    def score(result, recipe: Recipe, seed: int) -> dict:
        metrics = fit_metrics(result)
        for t in levels:
            m = test_metrics(result.model, blurred(ds.x_test, t), ds.y_test, ds.class_names, prefix="test")
            metrics.update({accuracy_key(t): m["test_accuracy"], correct_key(t): m["test_correct"], "test_n": m["test_n"]})
        return metrics

    runs = run_recipes(study, ds, recipes(model, cfg, levels), seeds, GROUP, score=score, fit=fit,
                       check_seeds=check_seeds)
    matrix = np.zeros((len(levels), len(levels)))
    for run in runs:
        i = levels.index(run.recipe.condition["train_blur"])
        matrix[i] += [run.metrics[accuracy_key(t)] / len(seeds) for t in levels]
    return matrix


# --------------------------------------------------------------------------- findings
def blur_drop(clean: list[Record], kernel: int, family_size: int = 1) -> stats.Comparison:
    """The clean-trained recipe on blurred vs clean test images: the same seeds and the same images, paired."""
    return analysis.compare(clean, clean, WORDING.say("drop_blurred", kernel=kernel),
                            WORDING.say("drop_clean"), metric=accuracy_key(kernel),
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
    trained_at = [variant(t) for t in levels if variant(t) in by_variant]  # rows by blur level, as the columns
    order = trained_at + [v for v in by_variant if v not in trained_at]
    rows = [[name] + [stats.fmt_interval(analysis.interval(by_variant[name], accuracy_key(t))) for t in levels]
            + [status_words(analysis.status(by_variant[name]))] for name in order]
    sec.tables.append(Table(WORDING.say("caption_accuracy"),
                            ["trained on"] + [variant(t) for t in levels] + ["plateau test"], rows))
    clean = by_variant.get(CLEAN)
    if clean:
        blurred = [t for t in levels if t]
        drops = analysis.in_family([blur_drop(clean, t, len(blurred)) for t in blurred], "drops")
        trained = [t for t in blurred if variant(t) in by_variant]
        recover = [analysis.compare(by_variant[variant(t)], clean, WORDING.say("trained_at", level=variant(t)),
                                    WORDING.say("trained_clean"), accuracy_key(t), family_size=len(trained))
                   for t in trained]
        for c, t in zip(recover, trained):
            c.test = WORDING.say("tested_at", test=c.test, level=variant(t))
        analysis.in_family(recover, "recovery")
        sec.comparisons += drops + recover
        sec.conclusions += [pair(c, (CLEAN, clean)) for c in drops]
        sec.conclusions += [pair(c, (CLEAN, clean), (variant(t), by_variant[variant(t)])) for c, t in zip(recover, trained)]
        worst = min(zip(drops, blurred), key=lambda ct: ct[0].diff) if drops else (None, None)
        sec.headline = [WORDING.finding("headline", worst=worst[0], worst_kernel=worst[1],
                                        helped=[variant(t) for c, t in zip(recover, trained) if c.direction > 0],
                                        same=[variant(t) for c, t in zip(recover, trained) if c.direction == 0],
                                        marked=any(c.no_plateau for c in recover))]
        low_power = [c for c in drops + recover if c.power is not None and c.power < stats.POWER and c.significant]
        if low_power:  # the 2-point power of gaps many times that size: why it is low, and what it does not mean
            sec.conclusions.append(WORDING.finding(
                "power_of_large_gaps", n=len(low_power), of=len(drops + recover),
                smallest=min(abs(c.diff) for c in low_power), largest=max(abs(c.diff) for c in low_power),
                power_low=min(c.power for c in low_power), power_high=max(c.power for c in low_power),
                mde_low=min(c.mde for c in low_power if c.mde), mde_high=max(c.mde for c in low_power if c.mde)))
    chance = float(runs[0].convergence.chance)
    near = _near_chance(by_variant, levels, chance)
    if near:
        sec.conclusions.append(WORDING.finding("near_chance", levels=near, chance=chance))
    for t in [t for t in levels if t and variant(t) in by_variant]:  # each claim "trained at k vs clean, at k"
        budget_check_findings(sec, records, NOTEBOOK, GROUP, accuracy_key(t), WORDING.say("check_what", level=variant(t)),
                              [CLEAN, variant(t)])
    sec.threats = threats(runs, [WORDING.finding("one_recipe_threat")])
    return sec


CHAPTER = Chapter(NOTEBOOK, TITLE, QUESTION, findings, in_abstract=True,
                  budgets=(TrainingBudget("n_train", "epochs", "batch_size", "split"),))
