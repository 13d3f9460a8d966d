"""Chapter 08, final evaluation: the selected MLP and CNN trained with every seed and tested once."""

from __future__ import annotations

import numpy as np

from .. import analysis, field, results, stats
from ..conclusions import Section, Table, Wording, budget_check_findings, open_section, pair, status_words, threats
from ..dataset import Dataset
from ..recipe import Recipe
from ..results import Record, RecordKey
from . import c02_dnn_learning_rules as c02
from . import c04_regularisation_tuning as c04
from .base import Chapter, TrainingBudget, trains

NOTEBOOK = "08_final_evaluation"
WORDING = Wording.of(NOTEBOOK)  # templates/chapters/08_final_evaluation.md.j2: title, question, caption, findings
TITLE = WORDING.say("title")
QUESTION = WORDING.say("question")
GROUP = "final"
MLP, CNN, BASELINE_CNN = "mlp", "cnn", "cnn_baseline"  # the last: chapter 04's baseline, what selection must beat
MOST_CONFUSED = "most_confused_cnn"
CURVE = "learning_curve"  # the final MLP and CNN recipes at several training sizes
# Published test accuracies on EMNIST balanced (literature, not results of this project; :mod:`emnist_lib.field`), marked
# on the learning curve at their training images per class (the official training set holds 2,400 per class).
FIELD = field.FIELD["balanced"]
METRICS = ("test_accuracy", "test_precision_macro", "test_recall_macro", "test_f1_macro", "test_top_k_accuracy")


# --------------------------------------------------------------------------- procedures
def selected_recipe(study, key: RecordKey, name: str, model: str, epochs: int, batch_size: int,
                    validation_fraction: float = 0.1) -> Recipe:
    """The recipe another chapter selected (its record ``key``), at this chapter's budget (``epochs``, and
    ``batch_size``: 0 means automatic) and validation hold-out, named ``name``; the builder's defaults when that
    notebook has not run."""
    rec = study.find(key)
    selected = rec.recipe if rec else Recipe(name, model, origin=f"builder defaults ({key.notebook} not run)")
    return selected.changed(name, origin=selected.origin or (rec.name if rec else "")).with_train(
        epochs=epochs, batch_size=batch_size or None, seed=0, validation_fraction=validation_fraction)


def selected_recipes(study, epochs: int, batch_size: int, validation_fraction: float = 0.1) -> tuple[list[Recipe], bool]:
    """The MLP chapter 02 selected, the CNN chapter 04 cross-validated and, to test that selection on held-out
    images, chapter 04's baseline CNN (unless the selection kept the baseline's recipe: then the second value is
    True, and the baseline is left out); all at this budget (the same maximum epochs); prints them."""
    held = validation_fraction
    recipes = [selected_recipe(study, c02.SELECTED_MLP, MLP, "mlp", epochs, batch_size, held),
               selected_recipe(study, c04.SELECTED_CNN, CNN, "cnn", epochs, batch_size, held)]
    kept_baseline = False
    if study.find(c04.BASELINE_CV):
        baseline = selected_recipe(study, c04.BASELINE_CV, BASELINE_CNN, "cnn", epochs, batch_size, held)
        if baseline == recipes[1]:
            kept_baseline = True  # selection kept the baseline: nothing to test it against
        else:
            recipes.append(baseline.changed(BASELINE_CNN, origin=f"{c04.BASELINE} of {c04.NOTEBOOK}"))
    for r in recipes:
        print(r.name, "from", r.origin, dict(r.model_settings))
    return recipes, kept_baseline


@trains
def final_runs(study, ds: Dataset, recipes: list[Recipe], seeds: list[int], kept_baseline: bool = False,
               saved: tuple[str, ...] = (MLP, CNN), check_seeds: list[int] = ()):
    """Train each selected recipe with every seed on the training data, evaluate once on the test set (all
    metrics, per-image correctness), record ``final__<name>__seed<k>`` (the seed loop; ``check_seeds``: its
    budget check); save the first seed's ``saved`` models with a model card each (``models/final_<name>.keras``
    and ``.card.json``: split, class names, input convention, data source, test metrics with intervals). Returns
    ``({name: (result, proba, metrics)} for the first seed, runs)``."""
    from ..card import build_card
    from ..evaluation import metrics_from_proba, predict_proba
    from ..study import fit_metrics, run_recipes

    def score(result, recipe: Recipe, seed: int) -> dict:
        proba = predict_proba(result.model, ds.x_test)
        m = metrics_from_proba(proba, ds.y_test, ds.class_names)
        first_seed = seed == (seeds if recipe in recipes else check_seeds)[0]  # per class, confusion: its loop's first
        return {**fit_metrics(result), **{f"test_{k}": v for k, v in m.items()
                                          if first_seed or k not in ("per_class", "confusion")},
                "test_correct": results.pack_correct(proba.argmax(1) == ds.y_test)}

    def extra(recipe: Recipe, seed: int) -> dict:
        return {"from": recipe.origin, **({"baseline_recipe": True} if kept_baseline and recipe.name == CNN else {})}

    runs = run_recipes(study, ds, recipes, seeds, GROUP, score=score, extra=extra, check_seeds=check_seeds)
    first = {}
    for run in runs.first_seed():  # the figures' and the saved models' (its model here, or back from the cache)
        proba = predict_proba(run.model(), ds.x_test)
        first[run.recipe.name] = (run.result, proba, metrics_from_proba(proba, ds.y_test, ds.class_names))
    for recipe in recipes:
        if recipe.name not in saved:
            continue
        written = [results.read_record(r.path) for r in runs if r.recipe.name == recipe.name]  # as the card quotes them
        model = first[recipe.name][0].model
        card = build_card(name=f"final_{recipe.name}", model=model, recipe=recipe.with_train(seed=seeds[0]), dataset=ds,
                          records=written, saved_seed=seeds[0], selected_from=recipe.origin,
                          profile=study.output_dir.name)
        study.save_model(model, f"final_{recipe.name}", card)
    return first, runs


def curve_recipes(recipes: list[Recipe], sizes: list[int]) -> list[Recipe]:
    """The final MLP and CNN recipes at each training size (images per class the run trains on, after the validation
    hold-out), named ``<recipe>@<size>``, the size recorded as the condition ``per_class``."""
    from dataclasses import replace

    return [replace(r, name=f"{r.name}@{n}", condition={**r.condition, "per_class": n})
            for r in recipes if r.name in (MLP, CNN) for n in sizes]


def nested_subset(y: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Indices of ``per_class`` images of every class of ``y``: the first of one seeded order per class, so a smaller
    size is a subset of a larger one (the curve adds data, it does not redraw it). Too few images is an error."""
    rng = np.random.default_rng(seed)
    out = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        if len(members) < per_class:
            raise ValueError(f"a learning-curve size of {per_class} images per class, but class {c} has only "
                             f"{len(members)} training images after the validation hold-out: lower curve_sizes or "
                             "raise n_train")
        out.append(rng.permutation(members)[:per_class])
    return np.sort(np.concatenate(out))


@trains
def learning_curve(study, ds: Dataset, recipes: list[Recipe], sizes: list[int], seeds: list[int]):
    """The final MLP and CNN recipes trained on ``sizes`` images per class (:func:`nested_subset` of the training
    images left after the same validation hold-out as the full runs, which validates every size) and scored on the
    same test images; records ``learning_curve__<recipe>@<size>__seed<k>``."""
    from ..study import run_recipes
    from ..training import hold_out, train

    def fit(recipe: Recipe, seed: int):
        cfg = recipe.run_config(seed)
        x, y, validation = hold_out(ds.x_train, ds.y_train, cfg)
        keep = nested_subset(y, recipe.condition["per_class"], cfg.validation_seed or 0)
        return train(recipe.model, x[keep], y[keep], ds.num_classes, cfg, recipe.model_settings,
                     validation=validation, verbose=0)

    return run_recipes(study, ds, curve_recipes(recipes, sizes), seeds, CURVE, fit=fit)


def curve_points(records: list[Record]) -> dict[str, list[tuple[int, dict]]]:
    """Per final recipe (its label), ``(images per class, test accuracy interval)`` by size: the curve's runs and the
    final runs at the full size."""
    out: dict[str, dict[int, dict]] = {}
    for group in (CURVE, GROUP):
        for variant, rs in analysis.group_runs(records, NOTEBOOK, group).items():
            name = variant.split("@")[0]
            if name not in (MLP, CNN):
                continue
            size = rs[0].config.get("per_class") or round(rs[0].budget.train_images * rs[0].convergence.chance)
            out.setdefault(WORDING.say("label", model=name), {})[size] = analysis.interval(rs, "test_accuracy")
    return {name: sorted(pts.items()) for name, pts in out.items()}


def record_most_confused(study, ds: Dataset, proba, seed: int, n: int = 8) -> list[dict]:
    """The CNN's most confused (true, predicted) pairs on the test set (:data:`MOST_CONFUSED`)."""
    from ..evaluation import most_confused

    pairs = most_confused(ds.y_test, proba.argmax(1), ds.class_names, n=n)
    study.record(MOST_CONFUSED, ds, {"pairs": pairs}, seed=seed)
    return pairs


# --------------------------------------------------------------------------- findings
def findings(records: list[Record]) -> Section:
    sec, runs = open_section(records, NOTEBOOK, TITLE, QUESTION, GROUP)
    if sec.empty:
        return sec
    by_variant = analysis.group_runs(runs, NOTEBOOK, GROUP)
    rows = [[WORDING.say("label", model=variant), rs[0].extra.get("from", "")]
            + [stats.fmt_interval(analysis.interval(rs, k)) for k in METRICS]
            + [status_words(analysis.status(rs))] for variant, rs in by_variant.items()]
    sec.tables.append(Table(WORDING.say("caption_test"),
                            ["model", "selected setting", "accuracy", "macro precision", "macro recall", "macro F1",
                             "top-5 accuracy", "plateau test"], rows))
    claims = [(a, b) for a, b in ((CNN, MLP), (CNN, BASELINE_CNN)) if a in by_variant and b in by_variant]
    name = {v: WORDING.say("claim_name", model=v, tuning=c04.NOTEBOOK[:2]) for v in (CNN, MLP, BASELINE_CNN)}
    label = {v: WORDING.say("label", model=v) for v in (CNN, MLP, BASELINE_CNN)}
    for a, b in claims:
        c = analysis.compare(by_variant[a], by_variant[b], name[a], name[b], family_size=len(claims))
        c.family = "final recipes"
        sec.comparisons.append(c)
        sec.conclusions.append(pair(c, (label[a], by_variant[a]), (label[b], by_variant[b])))
    if CNN in by_variant and by_variant[CNN][0].extra.get("baseline_recipe"):
        sec.conclusions.append(WORDING.finding("baseline_kept", tuning=c04.NOTEBOOK[:2]))
    if CNN in by_variant and MLP in by_variant:
        saved = analysis.two_saved_models(by_variant[CNN][0], by_variant[MLP][0],
                                          WORDING.say("saved_name", model=CNN, seed=by_variant[CNN][0].seed),
                                          WORDING.say("saved_name", model=MLP, seed=by_variant[MLP][0].seed))
        sec.comparisons.append(saved)
        sec.conclusions.append(WORDING.finding("saved_models", c=saved))
    confused = analysis.named(records, NOTEBOOK, MOST_CONFUSED)
    if confused and confused.metrics.get("pairs"):
        sec.conclusions.append(WORDING.finding("most_confused", pairs=confused.metrics["pairs"][:5], seed=confused.seed))
    budget_check_findings(sec, records, NOTEBOOK, GROUP, "test_accuracy", WORDING.say("check_what"))
    _curve(sec, records)
    sec.threats = threats(runs, [WORDING.finding("first_seed_threat")])
    return sec


def field_for(records: list[Record]) -> tuple[dict, ...]:
    """The published accuracies that apply to this chapter's runs in ``records``: on real EMNIST balanced only."""
    return field.field_for([r for r in analysis.of_notebook(records, NOTEBOOK) if r.group], "balanced")


def _curve(sec: Section, records: list[Record]) -> None:
    """The learning curve's table and sentence: each final recipe's test accuracy by training size, the published
    accuracies beside it."""
    points = curve_points(records)
    if not any(len(pts) > 1 for pts in points.values()):
        return
    published = field_for(records)
    rows = [[name, f"{n:,}", stats.fmt_interval(ci)] for name, pts in points.items() for n, ci in pts]
    rows += [[ref["label"], f"{ref['per_class']:,}", f"{100 * ref['accuracy']:.1f}% (published)"] for ref in published]
    sec.tables.append(Table(WORDING.say("caption_curve"), ["model", "training images per class", "test accuracy"],
                            rows))
    sec.conclusions.append(WORDING.finding("curve", points=points, field=published))


CHAPTER = Chapter(NOTEBOOK, TITLE, QUESTION, findings, in_abstract=True,
                  budgets=(TrainingBudget("n_train", "epochs", "batch_size", "balanced"),),
                  reads=(c02.NOTEBOOK, c04.NOTEBOOK))  # the MLP and the CNN they selected, the baseline's folds
