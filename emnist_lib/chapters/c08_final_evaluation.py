"""Chapter 08, final evaluation: the selected MLP and CNN trained with every seed and tested once."""

from __future__ import annotations

from dataclasses import asdict

from .. import analysis, results, stats
from ..conclusions import Section, Table, Wording, budget_check_findings, open_section, pair, status_words, threats
from ..dataset import Dataset
from ..results import Record
from . import c02_dnn_learning_rules as c02
from . import c04_regularisation_tuning as c04
from .base import Chapter, TrainingBudget, trains

NOTEBOOK = "08_final_evaluation"
TITLE = "Final test evaluation"
QUESTION = ("On the held-out test set, is the selected CNN better than the selected MLP, and where do they fail?")
GROUP = "final"
MLP, CNN, BASELINE_CNN = "mlp", "cnn", "cnn_baseline"  # the last: chapter 04's baseline, what selection must beat
LABELS = {MLP: "MLP", CNN: "CNN", BASELINE_CNN: "baseline CNN"}
MOST_CONFUSED = "most_confused_cnn"
METRICS = ("test_accuracy", "test_precision_macro", "test_recall_macro", "test_f1_macro", "test_top_k_accuracy")

WORDING = Wording("""
{%- import "findings.md.j2" as f -%}
{%- macro most_confused(pairs, seed) -%}Most confused by the CNN (seed {{ seed }}, true → predicted, count): {% for p in pairs %}{{ p.true }} → {{ p.predicted }} ({{ p.count }}){{ "; " if not loop.last }}{% endfor %}.{%- endmacro -%}
{%- macro saved_models(c) -%}The models saved for predict, serve and export: {{ f.verdict(c) }}.{%- endmacro -%}
{%- macro baseline_kept() -%}Chapter 04's selection kept its baseline recipe, so the selected CNN has no baseline to be tested against: that comparison would test the recipe against itself, and is not made.{%- endmacro -%}
{%- macro first_seed_threat() -%}Per-class metrics and confusion matrices are those of the first seed's models.{%- endmacro -%}
""")


# --------------------------------------------------------------------------- procedures
def selected_setup(study, notebook: str, record: str, model: str, epochs: int, batch_size: int) -> dict:
    """The configuration another chapter selected (its ``record``), at this chapter's budget (early
    stopping keeps the room chapter 04 gives it); the builder's defaults when that notebook has not run."""
    rec = study.find_record(notebook, record)
    train = {k: v for k, v in (rec.config["train"] if rec else {}).items() if k != "seed"}
    train.update(epochs=c04.epochs_for(train, epochs), batch_size=batch_size or None)
    return {"model": model, "model_kwargs": rec.config["model_kwargs"] if rec else {}, "train": train,
            "from": rec.extra.get("from", record) if rec else f"builder defaults ({notebook} not run)"}


def selected_setups(study, epochs: int, batch_size: int) -> dict[str, dict]:
    """The MLP chapter 02 selected, the CNN chapter 04 cross-validated and, to test that selection on held-out
    images, chapter 04's baseline CNN (unless the selection kept the baseline's recipe: then the CNN's setup says
    ``baseline_recipe``); all at this budget (the same maximum epochs); prints them."""
    setups = {MLP: selected_setup(study, c02.NOTEBOOK, c02.BEST_MLP, "mlp", epochs, batch_size),
              CNN: selected_setup(study, c04.NOTEBOOK, c04.BEST_CNN, "cnn", epochs, batch_size)}
    if study.find_record(c04.NOTEBOOK, f"{c04.CV}__{c04.BASELINE}"):
        baseline = selected_setup(study, c04.NOTEBOOK, f"{c04.CV}__{c04.BASELINE}", "cnn", epochs, batch_size)
        if _recipe(baseline) == _recipe(setups[CNN]):
            setups[CNN]["baseline_recipe"] = True  # selection kept the baseline: nothing to test it against
        else:
            setups[BASELINE_CNN] = {**baseline, "from": f"{c04.BASELINE} of {c04.NOTEBOOK}"}
    for name, s in setups.items():
        print(name, "from", s["from"], s["model_kwargs"])
    return setups


def _recipe(setup: dict) -> tuple:
    return setup["model"], sorted(setup["model_kwargs"].items()), sorted(setup["train"].items())


@trains
def final_runs(study, ds: Dataset, setups: dict, seeds: list[int], saved: tuple[str, ...] = (MLP, CNN),
               group: str = GROUP):
    """Train each selected setup with every seed on the training data, evaluate once on the test set
    (all metrics, per-image correctness), record ``final__<name>__seed<k>``; save the first seed's ``saved``
    models with a model card each (``models/final_<name>.keras`` and ``.card.json``: split, class
    names, input convention, data source, test metrics with intervals). Returns
    ``({name: (result, proba, metrics)} for the first seed, rows)``."""
    from ..card import build_card
    from ..evaluation import metrics_from_proba, predict_proba
    from ..study import fit_metrics
    from ..training import TrainConfig, train

    first, rows = {}, []
    for name, setup in setups.items():
        written = []
        for seed in seeds:
            cfg = TrainConfig(**{**setup["train"], "seed": seed})
            res = train(setup["model"], ds.x_train, ds.y_train, ds.num_classes, cfg, setup["model_kwargs"], verbose=0)
            proba = predict_proba(res.model, ds.x_test)
            m = metrics_from_proba(proba, ds.y_test, ds.class_names)
            metrics = {**fit_metrics(res), **{f"test_{k}": v for k, v in m.items()
                                              if seed == seeds[0] or k not in ("per_class", "confusion")},
                       "test_correct": results.pack_correct(proba.argmax(1) == ds.y_test)}
            path = study.record(f"{group}__{name}__seed{seed}", ds, metrics, result=res, seed=seed, group=group,
                                variant=name, extra={"from": setup["from"],
                                                      **({"baseline_recipe": True} if setup.get("baseline_recipe")
                                                         else {})},
                                config={"model": setup["model"], "model_kwargs": setup["model_kwargs"],
                                        "train": asdict(cfg)})
            written.append(results.read_record(path))  # the card quotes the record as written
            rows.append({"model": name, "seed": seed, **{k: m[k] for k in ("accuracy", "precision_macro", "recall_macro",
                                                                            "f1_macro", "top_k_accuracy")},
                         "status": res.convergence["status"]})
            if seed == seeds[0]:
                first[name], saved_cfg = (res, proba, m), cfg
        if name not in saved:
            continue
        model = first[name][0].model
        card = build_card(name=f"final_{name}", model=model, model_name=setup["model"],
                          model_kwargs=setup["model_kwargs"], train_config=asdict(saved_cfg), dataset=ds,
                          records=written, saved_seed=seeds[0],
                          selected_from=setup["from"], profile=study.output_dir.name)
        study.save_model(model, f"final_{name}", card)
    return first, rows


@trains
def budget_check(study, ds: Dataset, setups: dict, seeds: list[int], factor: int = 2) -> None:
    """``seeds`` of :func:`final_runs` trained again at ``factor`` times the budget (no model saved)."""
    if seeds:
        longer = {n: {**s, "train": {**s["train"], "epochs": factor * s["train"]["epochs"]}} for n, s in setups.items()}
        final_runs(study, ds, longer, seeds, saved=(), group=analysis.budget_group(GROUP, factor))


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
    rows = [[LABELS.get(variant, variant), rs[0].extra.get("from", "")]
            + [stats.fmt_interval(analysis.interval(rs, k)) for k in METRICS]
            + [status_words(analysis.status(rs))] for variant, rs in by_variant.items()]
    sec.tables.append(Table("Test set, mean [95% CI] over seeds (accuracy: seeds x images bootstrap; the macro "
                            "metrics and top-5: t-interval over seeds only, without test-set sampling; on a "
                            "class-balanced test set macro recall equals accuracy)",
                            ["model", "selected setting", "accuracy", "macro precision", "macro recall", "macro F1",
                             "top-5 accuracy", "convergence"], rows))
    claims = [(CNN, MLP, "the selected CNN recipe", "the selected MLP recipe"),
              (CNN, BASELINE_CNN, "the selected CNN recipe", "chapter 04's baseline CNN")]
    claims = [c for c in claims if c[0] in by_variant and c[1] in by_variant]
    for a, b, name_a, name_b in claims:
        c = analysis.compare(by_variant[a], by_variant[b], name_a, name_b, family_size=len(claims))
        c.family = "final recipes"
        sec.comparisons.append(c)
        sec.conclusions.append(pair(c, (LABELS[a], by_variant[a]), (LABELS[b], by_variant[b])))
    if CNN in by_variant and by_variant[CNN][0].extra.get("baseline_recipe"):
        sec.conclusions.append(WORDING.finding("baseline_kept"))
    if CNN in by_variant and MLP in by_variant:
        saved = analysis.two_saved_models(by_variant[CNN][0], by_variant[MLP][0],
                                          f"the saved CNN (seed {by_variant[CNN][0].seed})",
                                          f"the saved MLP (seed {by_variant[MLP][0].seed})")
        sec.comparisons.append(saved)
        sec.conclusions.append(WORDING.finding("saved_models", c=saved))
    confused = analysis.named(records, NOTEBOOK, MOST_CONFUSED)
    if confused and confused.metrics.get("pairs"):
        sec.conclusions.append(WORDING.finding("most_confused", pairs=confused.metrics["pairs"][:5], seed=confused.seed))
    budget_check_findings(sec, records, NOTEBOOK, GROUP, "test_accuracy", "the final models")
    sec.threats = threats(runs, [WORDING.finding("first_seed_threat")])
    return sec


CHAPTER = Chapter(NOTEBOOK, TITLE, QUESTION, findings, in_abstract=True,
                  budgets=(TrainingBudget("n_train", "epochs", "batch_size", "balanced"),))
