"""Chapter 04, regularisation and tuning: controlled ablations from one baseline CNN, an Optuna search,
and the cross-validation that selects the CNN chapter 08 trains."""

from __future__ import annotations

from .. import analysis, plots, stats
from ..conclusions import (
    Section,
    Table,
    Wording,
    family_findings,
    family_table,
    open_section,
    pct,
    rank_agreement_findings,
    status_words,
    threats,
)
from ..convergence import Status
from ..dataset import Dataset
from ..recipe import Change, Recipe
from ..results import Record, RecordKey
from .base import Chapter, TrainingBudget, trains

NOTEBOOK = "04_regularisation_tuning"
WORDING = Wording.of(NOTEBOOK)  # templates/chapters/04_regularisation_tuning.md.j2: title, question, captions, findings
TITLE = WORDING.say("title")
QUESTION = WORDING.say("question")
ABLATION, CV, SEARCH = "ablation", "cv", "search"  # groups (and the search's summary record)
BASELINE = "baseline"
SEARCH_BEST = "search_best"  # the search's best trial, as a cross-validation candidate
BEST_CNN = "best_cnn"  # the selected configuration, read by chapter 08
SELECTED_CNN = RecordKey(NOTEBOOK, name=BEST_CNN)
BASELINE_CV = RecordKey(NOTEBOOK, group=CV, variant=BASELINE)  # the baseline's cross-validation, read by chapter 08
# Early stopping gets the baseline's budget (the same maximum epochs: a controlled comparison), with this
# patience; more epochs for it would compare budgets, not early stopping.
EARLY_STOPPING_PATIENCE = 2

def check(params: dict) -> list[str]:
    """Problems with this chapter's parameters, before anything trains: the baseline is among the ablations run,
    and every ablation named exists."""
    names, known = params.get("ablation_names", []), changes(1)
    out = [] if BASELINE in names else [f"ablation_names {names}: the declared reference {BASELINE!r} is not among them"]
    unknown = [n for n in names if n not in known]
    return out + ([f"ablation_names: unknown {', '.join(unknown)} (known: {', '.join(known)})"] if unknown else [])


def baseline(filters: list[int], cfg) -> Recipe:
    """The baseline CNN every ablation changes one thing of: 3x3 convolutions with ``filters`` channels, max
    pooling, a 128-unit head, trained with ``cfg``."""
    return Recipe(BASELINE, "cnn", {"filters": filters, "kernel_size": 3, "pooling": "max", "dense_units": 128}, cfg)


def changes(epochs: int) -> dict[str, Change]:
    """Every ablation: one change from the baseline (its model settings or its training)."""
    return {
        BASELINE: Change(), "init=he_normal": Change({"initializer": "he_normal"}),
        "activation=elu": Change({"activation": "elu"}), "activation=gelu": Change({"activation": "gelu"}),
        "optimizer=sgd_momentum": Change(train={"optimizer": "sgd_momentum", "learning_rate": 0.01}),
        "optimizer=rmsprop": Change(train={"optimizer": "rmsprop"}), "batch_norm": Change({"batch_norm": True}),
        "augmentation": Change(train={"augment": True}), "l2=1e-4": Change({"l2": 1e-4}),
        "l1=1e-5": Change({"l1": 1e-5}), "dropout=0.3": Change({"dropout": 0.3}),
        "early_stopping": Change(train={"early_stopping": EARLY_STOPPING_PATIENCE}),
        "pooling=average": Change({"pooling": "average"}), "pooling=strided": Change({"pooling": "strided"}),
        "schedule=constant": Change(train={"schedule": "constant"}),
        "schedule=step": Change(train={"schedule": "step", "step_epochs": max(1, epochs // 3)})}


def ablations(reference: Recipe) -> dict[str, Recipe]:
    """Every ablation of ``reference`` (the baseline) as a recipe, by name."""
    return {name: reference.changed(name, change) for name, change in changes(reference.train.epochs).items()}


# --------------------------------------------------------------------------- procedures
@trains
def run_search(study, ds: Dataset, space: str, n_trials: int, reference: Recipe, seed: int, batch: int = 1) -> Recipe:
    """An Optuna search of ``space`` at the baseline's budget (:mod:`emnist_lib.search`), on a
    seeded validation split of the training set, in a fresh journal file under the output folder; ``batch`` trials
    are sampled together and trained at once on the study's executor (:func:`emnist_lib.search.run_batches`: the same
    trials whatever executes them).

    Records every finished trial (``search__trial<N>``, group ``search``) and ``search``
    (counts, best trial, importances, expected best accuracy against the number of trials),
    saves the optimization history and the expected-best curve, and returns the best trial as
    a recipe for :func:`select_by_cv` (name :data:`SEARCH_BEST`, trained over ``reference``'s settings).
    """
    from .. import search

    cfg = reference.train
    folder = study.output_dir / "search"
    path = search.journal_path(folder, study.notebook)
    path.unlink(missing_ok=True)  # a notebook run is a fresh search; the CLI resumes instead
    storage = search.open_storage(f"journal:{path}", folder, study.notebook)
    x_tr, y_tr, x_val, y_val = ds.validation_split(0.1, seed=seed)
    data = search.SearchData(x_tr, y_tr, x_val, y_val, ds.num_classes, ds.provenance)
    budget = search.Budget(epochs=cfg.epochs, batch_size=cfg.batch_size or 128, seed=seed)
    fixed = {k: v for k, v in reference.model_settings.items() if k in ("filters", "kernel_size", "dense_units")}
    summary = search.run_batches(study.notebook, space, data, n_trials, storage, budget, seed=seed, fixed_model=fixed,
                                 batch=batch)
    s = search.create_or_load(study.notebook, space, storage, seed)
    for t in s.get_trials(deepcopy=False):
        if t.state.name not in search.FINISHED:
            continue
        rec, res = t.user_attrs.get("record", {}), t.user_attrs.get("result", {})
        study.record(f"{SEARCH}__trial{t.number}", ds,
                     {"val_accuracy": t.value if t.state.name == "COMPLETE" else None, "state": t.state.name,
                      "epochs_run": len(t.intermediate_values)},
                     config={"model": rec.get("model"), "model_kwargs": rec.get("model_kwargs"), "train": rec.get("config"),
                             "params": t.params}, seed=seed, group=SEARCH, variant=f"trial {t.number}",
                     convergence=res.get("convergence"))
    # Every finished trial counts: a pruned one with the best accuracy it reached before it was stopped (a lower
    # bound of what it would have reached), and the curve ends at the number of trials that finished.
    finished = [t for t in s.get_trials(deepcopy=False) if t.state.name in search.FINISHED]
    values = [t.value if t.state.name == "COMPLETE" else max(t.intermediate_values.values(), default=0.0)
              for t in finished]
    curve = search.expected_max(values, len(values))
    try:
        importance = search.importances(s)
    except (RuntimeError, ValueError, ZeroDivisionError):  # too few complete trials to tell
        importance = {}
    best = search.best_recipe(s, SEARCH_BEST, base=cfg)
    study.record(SEARCH, ds, {**summary, "expected_max": curve, "importances": importance, "epochs_budget": cfg.epochs},
                 config={"space": space, "trials": n_trials, "batch": batch, "sampler": "TPE", "pruner": "median",
                         **best.config(seed)}, seed=seed)
    study.save_figure(plots.search_history(search.history(s), f"Search of the {space.upper()} ({n_trials} trials)",
                                           ds.is_synthetic), "search_history")
    study.save_figure(plots.expected_max_curve(curve, "Expected best validation accuracy vs trials",
                                               ds.is_synthetic), "search_expected_max")
    return best


def cv_candidates(records: list[Record], notebook: str, ablations_: dict[str, Recipe], n_best: int,
                  extra: list[Recipe] = ()) -> list[Recipe]:
    """The baseline, the ``n_best`` best ablations that trained (mean validation accuracy over seeds; the plateau
    verdict does not gate selection) and the ``extra`` recipes (the search's best)."""
    runs = analysis.group_runs(records, notebook, ABLATION)
    ranked = [s.variant for s in analysis.summarise(runs, "val_accuracy") if s.status in analysis.COMPARABLE]
    chosen = list(dict.fromkeys([BASELINE, *[v for v in ranked if v != BASELINE][:n_best]]))
    return [ablations_[n] for n in chosen] + list(extra)


@trains
def select_by_cv(study, ds: Dataset, ablations_: dict[str, Recipe], *, n_best: int, k: int, seed: int,
                 extra: list[Recipe] = ()):
    """k-fold cross-validation of :func:`cv_candidates`; records ``cv__<name>`` (fold accuracies,
    convergence) and :data:`BEST_CNN` (the candidate that trained with the highest mean, whatever its plateau
    verdict, which the record states). Returns ``(table, best_name)``."""
    from ..training import cross_validate

    candidates = cv_candidates(study.records(), study.notebook, ablations_, n_best, extra)
    table = cross_validate(candidates, ds.x_train, ds.y_train, ds.num_classes, k=k, seed=seed)
    rows = table.to_dict("records")  # sorted by mean accuracy
    for row in rows:
        study.record(f"{CV}__{row['name']}", ds, {"folds": row["folds"], "mean": row["mean"], "std": row["std"]},
                     config={"k": k, **row["recipe"].config(seed)}, seed=seed, group=CV, variant=row["name"],
                     convergence=row["convergence"], extra={"convergence_per_fold": row["statuses"]})
    trained = [r for r in rows if r["convergence"].status != Status.DID_NOT_TRAIN]
    best = (trained or rows)[0]
    study.record(BEST_CNN, ds, {"cv_mean": best["mean"], "cv_std": best["std"]}, config=best["recipe"].config(seed),
                 extra={"from": best["name"], "k": k, "plateau": best["convergence"].status == Status.PLATEAU})
    return table, best["name"]


# --------------------------------------------------------------------------- findings
def search_table(rec: Record) -> Table:
    """The search's best trial, its settings and the most important parameters."""
    m = rec.metrics
    rows = [["trials finished (complete / pruned)", f"{m['complete'] + m['pruned']} ({m['complete']} / {m['pruned']})"],
            ["best validation accuracy", f"{pct(m['best_value'])} (trial {m['best_trial']})"]]
    rows += [[f"best trial: {k}", f"{v:.3g}" if isinstance(v, float) else str(v)]
             for k, v in (m.get("best_params") or {}).items()]
    ranked = sorted((m.get("importances") or {}).items(), key=lambda kv: -kv[1])
    rows += [[f"importance: {k}", f"{v:.2f}"] for k, v in ranked[:5]]
    caption = WORDING.say("caption_search", space=rec.config["space"], sampler=rec.config.get("sampler"),
                          pruner=rec.config.get("pruner"), n_trials=m["complete"] + m["pruned"],
                          n_params=len(m.get("best_params") or {}))
    return Table(caption, ["", "value"], rows)


def _cv(sec: Section, records: list[Record]) -> dict[str, object]:
    """The cross-validation table and, against the baseline, the Nadeau-Bengio corrected comparisons: selection
    evidence (the candidates were chosen on this training data), not a test of the winner (section 9 has that)."""
    cv = [r for r in analysis.of_notebook(records, NOTEBOOK) if r.group == CV]
    folds = {r.variant: [float(v) for v in r.metric("folds")] for r in cv}
    if not cv:
        return {}
    k, n = len(next(iter(folds.values()))), cv[0].data.n_train
    others = [r.variant for r in cv if r.variant != BASELINE]
    comps = {v: stats.corrected_resampled_t(folds[v], folds[BASELINE], n - n // k, n // k, v, BASELINE,
                                            family_size=len(others)) for v in others if BASELINE in folds}
    rows = [[r.variant, stats.fmt_interval(stats.mean_ci(folds[r.variant])), status_words(r.status)] for r in cv]
    sec.tables.append(Table(WORDING.say("caption_cv", k=k), ["setting", "fold accuracy, mean [95% CI]", "plateau test"],
                            rows))
    sec.comparisons += analysis.in_family(list(comps.values()), "cross-validation")
    sec.conclusions += [WORDING.finding("cross_validation", c=c) for c in comps.values()]
    return comps


def _selected(best: Record, comps: dict):
    name = best.extra["from"]
    return WORDING.finding("selected", name=name, k=best.extra["k"], plateau=best.extra.get("plateau", best.extra.get("converged")),
                           against=comps.get(name))


def _idle_early_stopping(by_variant: dict[str, list[Record]]):
    """When early stopping ended none of its runs, they trained exactly as the baseline did (same budget, same
    seeds, best weights kept either way): drop them from the family, where they would be a comparison of the
    baseline with itself, and say so."""
    for name, rs in list(by_variant.items()):
        stops = [r.recipe.train.early_stopping if r.recipe.train else None for r in rs]
        if name == BASELINE or not rs or not all(stops):
            continue
        if not any(r.convergence and r.convergence.early_stopped for r in rs):
            del by_variant[name]
            return WORDING.finding("early_stopping_idle", name=name, epochs=rs[0].budget.epochs if rs[0].budget else "?",
                                   patience=stops[0], seeds=len(rs))
    return None


def findings(records: list[Record]) -> Section:
    sec, runs = open_section(records, NOTEBOOK, TITLE, QUESTION, ABLATION)
    if sec.empty:
        return sec
    by_variant = analysis.group_runs(runs, NOTEBOOK, ABLATION)
    idle = _idle_early_stopping(by_variant)
    fam = analysis.compare_family(by_variant, analysis.validation_metric([r for rs in by_variant.values() for r in rs]),
                                  BASELINE if BASELINE in by_variant else None)
    sec.tables.append(family_table(WORDING.say("caption_ablations"), fam, analysis.metric_label(fam.metric)))
    sec.comparisons += fam.comparisons
    ref = fam.summary(BASELINE)
    if ref:
        sec.conclusions.append(WORDING.finding("baseline", ref=ref))
    sec.conclusions += family_findings(fam, WORDING.say("reference_name"))
    if idle:
        sec.conclusions.append(idle)
    rank_agreement_findings(sec, records, NOTEBOOK, ABLATION, "val_accuracy", WORDING.say("twin_what"), BASELINE)
    comps = _cv(sec, records)
    found = analysis.named(records, NOTEBOOK, SEARCH)
    if found:
        sec.tables.append(search_table(found))
        m = found.metrics
        sec.conclusions.append(WORDING.finding("search", complete=m["complete"], pruned=m["pruned"],
                                               curve=m["expected_max"]))
    best = analysis.named(records, NOTEBOOK, BEST_CNN)
    if best:
        sec.conclusions.append(_selected(best, comps))
    sec.threats = threats(runs, [WORDING.finding("one_factor_threat")])
    return sec


CHAPTER = Chapter(NOTEBOOK, TITLE, QUESTION, findings, check=check, budgets=(TrainingBudget("n_train", "epochs", "batch_size",
                                                                                "balanced"),))
