"""Chapter 07, transfer learning: a letters model applied to Binary AlphaDigits, with a new head, fine-tuned,
against the same architecture trained from scratch."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .. import analysis, stats
from ..conclusions import Section, Table, Wording, budget_check_findings, open_section, pair, status_words, threats
from ..convergence import Convergence, worst_verdict
from ..dataset import Dataset
from ..recipe import Recipe
from ..results import Record
from .base import Chapter, TrainingBudget, trains

NOTEBOOK = "07_transfer_learning"
WORDING = Wording.of(NOTEBOOK)  # templates/chapters/07_transfer_learning.md.j2: title, question, captions, findings
TITLE = WORDING.say("title")
QUESTION = WORDING.say("question")
GROUP, KFOLD = "transfer", "transfer_kfold"
DIRECT, FROZEN, FINE_TUNED, SCRATCH = "direct", "frozen", "fine_tuned", "scratch"
SOURCE_MODEL = "chollet_convnet"  # the letters model of chapter 01, and the from-scratch architecture
FINE_TUNE_LEARNING_RATE = 1e-5  # low: the unfrozen top layers keep most of what they learnt on letters


# --------------------------------------------------------------------------- procedures
@trains
def source_models(letters: Dataset, cfg, seeds: list[int]) -> dict:
    """One letters model per target seed (chapter 01's convnet and settings with that seed; the data seed's
    model usually from the model cache), so the source model's seed varies with the target's. The seeds train where
    ``EMNIST_EXECUTOR`` says (into the model cache); each model is then read back here."""
    import functools

    from .. import executors
    from ..training import train

    fit = functools.partial(train, SOURCE_MODEL, letters.x_train, letters.y_train, letters.num_classes, verbose=0)
    if executors.current().kind != "inline":  # train in parallel into the cache; read back below
        executors.run_tasks(functools.partial(_trained_elsewhere, fit), [replace(cfg, seed=s) for s in seeds],
                            [f"letters source seed {s}" for s in seeds])
    out = {}
    for seed in seeds:
        res = fit(cfg=replace(cfg, seed=seed))
        print(f"source model seed {seed}: from cache {res.cache_hit}, {res.convergence.status.value}")
        out[seed] = res
    return out


def _trained_elsewhere(fit, cfg) -> bool:
    """Train one source model (into the model cache) and return nothing heavy across the process boundary."""
    fit(cfg=cfg)
    return True


def recipes(cfg, fine_tune_layers: int) -> list[Recipe]:
    """The four methods on the target, in the order one seed runs them: the letters model applied directly, its
    frozen base with a new head (trained with ``cfg``), the same then fine-tuned, and the architecture from
    scratch (``cfg``). The fine-tuned recipe states what it is: ``cfg`` at :data:`FINE_TUNE_LEARNING_RATE` with the
    top ``fine_tune_layers`` of the base unfrozen, starting from the frozen run of its seed (whose epochs come
    first)."""
    tuned = replace(cfg, learning_rate=FINE_TUNE_LEARNING_RATE)
    return [Recipe(DIRECT, SOURCE_MODEL, train=None, condition={"method": DIRECT}),
            Recipe(FROZEN, SOURCE_MODEL, train=cfg, condition={"method": FROZEN}),
            Recipe(FINE_TUNED, SOURCE_MODEL, train=tuned,
                   condition={"method": FINE_TUNED, "starts_from": FROZEN, "unfrozen_top_layers": fine_tune_layers}),
            Recipe(SCRATCH, SOURCE_MODEL, train=cfg, condition={"method": SCRATCH})]


@trains
def transfer_runs(study, sources: dict, letters: Dataset, target: Dataset, cfg, seeds: list[int],
                  fine_tune_layers: int, check_seeds: list[int] = ()):
    """Held-out comparison on the target, per seed (the seed loop; ``check_seeds``: its budget check): the
    letters model of that seed applied directly, its frozen base with a new head, the same then fine-tuned (top
    ``fine_tune_layers`` unfrozen, at :data:`FINE_TUNE_LEARNING_RATE`), and the architecture from scratch."""
    from ..models import transfer
    from ..study import Fitted, fit_metrics, run_recipes, test_metrics
    from ..training import fine_tune, set_seed, train

    frozen: dict[int, object] = {}  # this seed's frozen run, which fine-tuning trains on

    def fit(recipe: Recipe, seed: int):
        source = sources[seed]
        if recipe.name == DIRECT:
            return Fitted(source.model, Convergence.not_trained("the letters model applied without training",
                                                                "no training on the target"))
        if recipe.name == FROZEN:
            set_seed(seed)  # the new head's initial weights: from the seed, whatever ran before in this process
            frozen[seed] = train(transfer(source.model, target.num_classes), target.x_train, target.y_train,
                                 cfg=recipe.run_config(seed), use_cache=False, verbose=0)
            return frozen[seed]
        if recipe.name == FINE_TUNED:
            return fine_tune(frozen.pop(seed), target.x_train, target.y_train, fine_tune_layers,
                             recipe.run_config(seed), verbose=0)
        return train(recipe.model, target.x_train, target.y_train, target.num_classes, recipe.run_config(seed),
                     verbose=0)

    def score(result, recipe: Recipe, seed: int) -> dict:
        metrics = test_metrics(result.model, target.x_test, target.y_test, target.class_names)
        return metrics if isinstance(result, Fitted) else {**fit_metrics(result), **metrics}

    def extra(recipe: Recipe, seed: int) -> dict:
        return {"letters_source": letters.provenance["source"], "source_seed": sources[seed].config["seed"],
                "source_convergence": sources[seed].convergence.status.value}

    return run_recipes(study, target, recipes(cfg, fine_tune_layers), seeds, GROUP, score=score, fit=fit, extra=extra,
                       check_seeds=check_seeds, chain=True)


@trains
def transfer_kfold(study, source_model, target: Dataset, cfg, k: int = 3, seed: int = 0) -> list[dict]:
    """Stratified k-fold over all of the target's images (training and test parts: Binary AlphaDigits holds only
    1,014 letters, so every image is scored once): frozen-base transfer vs the same architecture from scratch, on
    the same folds (paired); records ``transfer_kfold__<method>``."""
    from sklearn.model_selection import StratifiedKFold

    from ..models import transfer
    from ..study import accuracy_of
    from ..training import set_seed, train

    x, y = np.concatenate([target.x_train, target.x_test]), np.concatenate([target.y_train, target.y_test])
    rows, verdicts = [], {FROZEN: [], SCRATCH: []}
    run_cfg = replace(cfg, seed=seed)
    for fold, (tr, va) in enumerate(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(x, y), 1):
        # Epoch selection on a validation split of the training folds; the held-out fold is only scored.
        set_seed(seed)  # the new head's initial weights: from the seed, whatever ran before in this process
        frozen = train(transfer(source_model, target.num_classes), x[tr], y[tr], cfg=run_cfg, use_cache=False, verbose=0)
        scratch = train(SOURCE_MODEL, x[tr], y[tr], target.num_classes, run_cfg, verbose=0)
        verdicts[FROZEN].append(frozen.convergence)
        verdicts[SCRATCH].append(scratch.convergence)
        rows.append({"fold": fold, FROZEN: accuracy_of(frozen.model, x[va], y[va]),
                     SCRATCH: accuracy_of(scratch.model, x[va], y[va])})
    for method in (FROZEN, SCRATCH):
        accs = [r[method] for r in rows]
        study.record(f"{KFOLD}__{method}", target, {"folds": accs, "mean": float(np.mean(accs)), "images": int(len(y))},
                     config={"k": k, **Recipe(method, SOURCE_MODEL, train=run_cfg, condition={"method": method}).config()},
                     seed=seed, group=KFOLD, variant=method, convergence=worst_verdict(verdicts[method]),
                     extra={"convergence_per_fold": [v.status.value for v in verdicts[method]]})
    return rows


# --------------------------------------------------------------------------- findings
def _kfold(sec: Section, records: list[Record]) -> None:
    kf = [r for r in analysis.of_notebook(records, NOTEBOOK) if r.group == KFOLD]
    folds = {r.variant: [float(v) for v in r.metric("folds")] for r in kf}
    if FROZEN not in folds or SCRATCH not in folds:
        return
    n = kf[0].metrics.get("images") or kf[0].data.n_train  # the images the folds cut (all of them, or the training part)
    k = len(folds[FROZEN])
    c = stats.corrected_resampled_t(folds[FROZEN], folds[SCRATCH], n - n // k, n // k,
                                    WORDING.say("kfold_name", method=FROZEN), WORDING.say("kfold_name", method=SCRATCH))
    sec.comparisons.append(c)
    sec.tables.append(Table(WORDING.say("caption_kfold", k=k), ["method", "fold accuracy, mean [95% CI]"],
                            [[WORDING.say("method_label", method=v), stats.fmt_interval(stats.mean_ci(f))]
                             for v, f in folds.items()]))
    sec.conclusions.append(WORDING.finding("cross_validation", c=c, images=n))


def _small_target(run: Record):
    """The threat of a small target: AlphaDigits' images per class, and about how many of each the held-out part has."""
    from ..alphadigits import PER_CLASS

    classes = max(1, round((run.data.n_train + run.data.n_test) / PER_CLASS))
    return WORDING.finding("small_target_threat", per_class=PER_CLASS, held_out=round(run.data.n_test / classes))


def _fine_tuned_budget(by_variant: dict[str, list[Record]]) -> list:
    """The fine-tuned method's whole budget (its frozen run's epochs, then its own) beside the scratch runs' steps:
    a setup line and a threat, since it continues the frozen run of its seed (``starts_from``) and so trains longer
    than the methods it is compared with; none when the records lack a part."""
    tuned = next((r for r in by_variant.get(FINE_TUNED, []) if r.budget), None)
    if tuned is None or tuned.config.get("starts_from") != FROZEN:
        return []
    first = next((r.budget for r in by_variant.get(FROZEN, []) if r.seed == tuned.seed and r.budget), None)
    scratch = next((r.budget for r in by_variant.get(SCRATCH, []) if r.budget), None)
    lr, layers = tuned.config.get("train", {}).get("learning_rate"), tuned.config.get("unfrozen_top_layers")
    if first is None or scratch is None or lr is None or layers is None:
        return []
    ratio = (first.steps + tuned.budget.steps) / scratch.steps
    factor = round(ratio) if abs(ratio - round(ratio)) < 1e-9 else ratio
    return [WORDING.finding("fine_tuned_budget", first=first, then=tuned.budget, factor=factor,
                            lr=lr, layers=layers),
            WORDING.finding("fine_tuned_budget_threat", factor=factor)]


def findings(records: list[Record]) -> Section:
    sec, runs = open_section(records, NOTEBOOK, TITLE, QUESTION, GROUP)
    if sec.empty:
        return sec
    by_variant = analysis.group_runs(runs, NOTEBOOK, GROUP)
    rows = [[WORDING.say("method_label", method=v), stats.fmt_interval(analysis.interval(rs, "test_accuracy")),
             status_words(analysis.status(rs))] for v, rs in by_variant.items()]
    sec.tables.append(Table(WORDING.say("caption_heldout"), ["method", "test accuracy", "plateau test"], rows))
    methods = [a for a in (FROZEN, FINE_TUNED) if a in by_variant and SCRATCH in by_variant]
    name = {a: WORDING.say("claim_name", method=a) for a in (*methods, SCRATCH)}
    comps = analysis.in_family([analysis.compare(by_variant[a], by_variant[SCRATCH], name[a], name[SCRATCH],
                                                 family_size=len(methods)) for a in methods], "against scratch")
    sec.comparisons += comps
    sec.conclusions += [pair(c, (a, by_variant[a]), (SCRATCH, by_variant[SCRATCH])) for c, a in zip(comps, methods)]
    _kfold(sec, records)
    budget_check_findings(sec, records, NOTEBOOK, GROUP, "test_accuracy", WORDING.say("check_what"))
    src = next((r for r in runs if r.variant == DIRECT), runs[0])
    letters = src.extra.get("letters_source")
    budget_line, budget_threat = _fine_tuned_budget(by_variant) or (None, None)
    if budget_line:
        sec.setup.insert(next((i + 1 for i, f in enumerate(sec.setup) if f.kind.startswith("budget")), 0), budget_line)
    extra = [_small_target(src)] + ([budget_threat] if budget_threat else [])
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
