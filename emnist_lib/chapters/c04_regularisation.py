"""Chapter 04, regularisation and tuning: controlled ablations from one baseline CNN, an Optuna search,
and the cross-validation that selects the CNN chapter 08 trains."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

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
from ..dataset import Dataset
from ..results import Record
from .base import Chapter, TrainingBudget, trains

NOTEBOOK = "04_regularisation_tuning"
TITLE = "Regularisation, ablations and cross-validated tuning"
QUESTION = ("Which regularisers and training choices change a small CNN's validation accuracy, and which "
            "configuration does cross-validation select?")
ABLATION, CV, SEARCH = "ablation", "cv", "search"  # groups (and the search's summary record)
BASELINE = "baseline"
SEARCH_BEST = "search_best"  # the search's best trial, as a cross-validation candidate
BEST_CNN = "best_cnn"  # the selected configuration, read by chapter 08
# Early stopping gets room to stop: this many times the baseline's epochs, with this patience.
EARLY_STOPPING_ROOM = 2
EARLY_STOPPING_PATIENCE = 2

WORDING = Wording("""
{%- import "findings.md.j2" as f -%}
{%- macro baseline(ref) -%}Baseline CNN: {{ ref.interval | interval }} validation accuracy ({{ f.status(ref.status) }}).{%- endmacro -%}
{%- macro cross_validation(c) -%}Cross-validation: {{ f.verdict(c) }}.{%- endmacro -%}
{%- macro search(complete, pruned, curve) -%}Search: {{ complete + pruned }} trials ({{ pruned }} pruned early); the expected best validation accuracy grows from {{ curve.mean[0] | pct }} (sd {{ "%.1f" | format(100 * curve.sd[0]) }} points) with one trial to {{ curve.mean[-1] | pct }} (sd {{ "%.1f" | format(100 * curve.sd[-1]) }}) with {{ curve.mean | length }} (figure search_expected_max); its best trial joined the cross-validation.{%- endmacro -%}
{%- macro selected(name, k, converged, against) -%}Selected for notebook 08: {{ name }} (highest mean {{ k }}-fold accuracy{{ " among converged candidates" if converged else "; NO candidate converged within its budget" }}{% if against %}; against the baseline: {{ f.verdict(against) }}{% endif %}).{%- endmacro -%}
{%- macro one_factor_threat() -%}One factor at a time from one baseline: interactions between factors are not measured.{%- endmacro -%}
""")


@dataclass(frozen=True)
class Baseline:
    """The baseline CNN every ablation changes one thing of: builder, its kwargs, its training."""

    model: str
    model_kwargs: dict
    cfg: object  # a training.TrainConfig (not imported here: findings need no TensorFlow)

    def candidate(self, name: str, change: dict, seed: int) -> dict:
        """A cross-validation candidate: this baseline with ``change`` (``model_kwargs``/``train``)."""
        return {"name": name, "model": self.model, "model_kwargs": {**self.model_kwargs, **change.get("model_kwargs", {})},
                "train": {**asdict(replace(self.cfg, **change.get("train", {}))), "seed": seed}}


def baseline_kwargs(filters: list[int]) -> dict:
    """The baseline CNN: 3x3 convolutions with ``filters`` channels, max pooling, a 128-unit head."""
    return {"filters": filters, "kernel_size": 3, "pooling": "max", "dense_units": 128}


def ablations(epochs: int) -> dict[str, dict]:
    """Every ablation: one change from the baseline (``model_kwargs`` or ``train``)."""
    return {
        BASELINE: {}, "init=he_normal": {"model_kwargs": {"initializer": "he_normal"}},
        "activation=elu": {"model_kwargs": {"activation": "elu"}}, "activation=gelu": {"model_kwargs": {"activation": "gelu"}},
        "optimizer=sgd_momentum": {"train": {"optimizer": "sgd_momentum", "learning_rate": 0.01}},
        "optimizer=rmsprop": {"train": {"optimizer": "rmsprop"}}, "batch_norm": {"model_kwargs": {"batch_norm": True}},
        "augmentation": {"train": {"augment": True}}, "l2=1e-4": {"model_kwargs": {"l2": 1e-4}},
        "l1=1e-5": {"model_kwargs": {"l1": 1e-5}}, "dropout=0.3": {"model_kwargs": {"dropout": 0.3}},
        "early_stopping": {"train": {"epochs": EARLY_STOPPING_ROOM * epochs, "early_stopping": EARLY_STOPPING_PATIENCE}},
        "pooling=average": {"model_kwargs": {"pooling": "average"}}, "pooling=strided": {"model_kwargs": {"pooling": "strided"}},
        "schedule=constant": {"train": {"schedule": "constant"}},
        "schedule=step": {"train": {"schedule": "step", "step_epochs": max(1, epochs // 3)}}}


def epochs_for(train: dict, epochs: int) -> int:
    """The epochs a selected setting trains for at a budget of ``epochs``: early stopping keeps its room."""
    return EARLY_STOPPING_ROOM * epochs if train.get("early_stopping") else epochs


# --------------------------------------------------------------------------- procedures
@trains
def run_search(study, ds: Dataset, space: str, n_trials: int, baseline: Baseline, seed: int) -> dict:
    """An Optuna search of ``space`` at the baseline's budget (:mod:`emnist_lib.search`), on a
    seeded validation split of the training set, in a fresh journal file under the output folder.

    Records every finished trial (``search__trial<N>``, group ``search``) and ``search``
    (counts, best trial, importances, expected best accuracy against the number of trials),
    saves the optimization history and the expected-best curve, and returns the best trial as
    a candidate for :func:`select_by_cv` (name :data:`SEARCH_BEST`).
    """
    from .. import search

    cfg = baseline.cfg
    folder = study.output_dir / "search"
    path = search.journal_path(folder, study.notebook)
    path.unlink(missing_ok=True)  # a notebook run is a fresh search; the CLI resumes instead
    storage = search.open_storage(f"journal:{path}", folder, study.notebook)
    x_tr, y_tr, x_val, y_val = ds.validation_split(0.1, seed=seed)
    data = search.SearchData(x_tr, y_tr, x_val, y_val, ds.num_classes, ds.provenance)
    budget = search.Budget(epochs=cfg.epochs, batch_size=cfg.batch_size or 128, seed=seed)
    fixed = {k: v for k, v in baseline.model_kwargs.items() if k in ("filters", "kernel_size", "dense_units")}
    summary = search.run_worker(study.notebook, space, data, n_trials, storage, budget, seed=seed, fixed_model=fixed)
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
    values = [t.value for t in s.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    curve = search.expected_max(values, n_trials)
    try:
        importance = search.importances(s)
    except (RuntimeError, ValueError, ZeroDivisionError):  # too few complete trials to tell
        importance = {}
    best = search.best_setup(s)
    study.record(SEARCH, ds, {**summary, "expected_max": curve, "importances": importance, "epochs_budget": cfg.epochs},
                 config={"space": space, "trials": n_trials, "sampler": "TPE", "pruner": "median",
                         "model": best["model"], "model_kwargs": best["model_kwargs"], "train": best["train"]},
                 seed=seed)
    study.save_figure(plots.search_history(search.history(s), f"Search of the {space.upper()} ({n_trials} trials)",
                                           ds.is_synthetic), "search_history")
    study.save_figure(plots.expected_max_curve(curve, "Expected best validation accuracy vs trials",
                                               ds.is_synthetic), "search_expected_max")
    return {"name": SEARCH_BEST, "model": best["model"], "model_kwargs": best["model_kwargs"], "train": best["train"]}


def cv_candidates(records: list[Record], notebook: str, baseline: Baseline, ablations_: dict, n_best: int,
                  seed: int, extra: list[dict] = ()) -> list[dict]:
    """The baseline, the ``n_best`` best converged ablations (mean validation accuracy over seeds) and
    the ``extra`` candidates (the search's best), each as a full configuration."""
    runs = analysis.group_runs(records, notebook, ABLATION)
    ranked = [s.variant for s in analysis.summarise(runs, "val_accuracy") if s.status == "converged"]
    chosen = list(dict.fromkeys([BASELINE, *[v for v in ranked if v != BASELINE][:n_best]]))
    out = [baseline.candidate(n, ablations_[n], seed) for n in chosen]
    return out + [{**c, "train": {**asdict(replace(baseline.cfg, **c["train"])), "seed": seed}} for c in extra]


@trains
def select_by_cv(study, ds: Dataset, baseline: Baseline, ablations_: dict, *, n_best: int, k: int, seed: int,
                 extra: list[dict] = ()):
    """k-fold cross-validation of :func:`cv_candidates`; records ``cv__<name>`` (fold accuracies,
    convergence) and :data:`BEST_CNN` (the converged candidate with the highest mean; the best of
    all, marked, when none converged). Returns ``(table, best_name)``."""
    from ..training import cross_validate

    candidates = cv_candidates(study.records(), study.notebook, baseline, ablations_, n_best, seed, extra)
    table = cross_validate(candidates, ds.x_train, ds.y_train, ds.num_classes, k=k, seed=seed)
    rows = table.to_dict("records")  # sorted by mean accuracy
    for row in rows:
        cand = next(c for c in candidates if c["name"] == row["name"])
        study.record(f"{CV}__{row['name']}", ds, {"folds": row["folds"], "mean": row["mean"], "std": row["std"]},
                     config={"k": k, "model": cand["model"], "model_kwargs": cand["model_kwargs"], "train": cand["train"]},
                     seed=seed, group=CV, variant=row["name"], convergence=row["convergence"],
                     extra={"convergence_per_fold": row["statuses"]})
    converged = [r for r in rows if r["convergence"]["status"] == "converged"]
    best = (converged or rows)[0]
    cand = next(c for c in candidates if c["name"] == best["name"])
    study.record(BEST_CNN, ds, {"cv_mean": best["mean"], "cv_std": best["std"]},
                 config={"model": cand["model"], "model_kwargs": cand["model_kwargs"], "train": cand["train"]},
                 extra={"from": best["name"], "k": k, "converged": bool(converged)})
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
    return Table(f"Optuna search of the {rec.config['space'].upper()} (TPE sampler, median pruning; importances: "
                 "optuna.importance, fANOVA)", ["", "value"], rows)


def _cv(sec: Section, records: list[Record]) -> dict[str, list[float]]:
    cv = [r for r in analysis.of_notebook(records, NOTEBOOK) if r.group == CV]
    folds = {r.variant: [float(v) for v in r.metric("folds")] for r in cv}
    if not cv:
        return folds
    comps = [stats.paired_test(folds[r.variant], folds[BASELINE], r.variant, BASELINE, unit="folds")
             for r in cv if r.variant != BASELINE and BASELINE in folds]
    stats.holm(comps)
    rows = [[r.variant, stats.fmt_interval(stats.mean_ci(folds[r.variant])), status_words(r.status)] for r in cv]
    sec.tables.append(Table(f"{len(next(iter(folds.values())))}-fold cross-validation of the strongest settings",
                            ["setting", "fold accuracy, mean [95% CI]", "convergence"], rows))
    sec.comparisons += comps
    sec.conclusions += [WORDING.finding("cross_validation", c=c) for c in comps]
    return folds


def _selected(best: Record, folds: dict[str, list[float]]):
    name = best.extra["from"]
    against = (stats.paired_test(folds[name], folds[BASELINE], name, BASELINE, unit="folds")
               if name != BASELINE and BASELINE in folds and name in folds else None)
    return WORDING.finding("selected", name=name, k=best.extra["k"], converged=best.extra["converged"], against=against)


def findings(records: list[Record]) -> Section:
    sec, runs = open_section(records, NOTEBOOK, TITLE, QUESTION, ABLATION)
    if sec.empty:
        return sec
    by_variant = analysis.group_runs(runs, NOTEBOOK, ABLATION)
    fam = analysis.compare_family(by_variant, "val_accuracy", BASELINE if BASELINE in by_variant else None)
    sec.tables.append(family_table("Controlled ablations from one baseline CNN", fam, "validation accuracy"))
    sec.comparisons += fam.comparisons
    ref = fam.summary(BASELINE)
    if ref:
        sec.conclusions.append(WORDING.finding("baseline", ref=ref))
    sec.conclusions += family_findings(fam, "the baseline")
    rank_agreement_findings(sec, records, NOTEBOOK, ABLATION, "val_accuracy", "ablations", BASELINE)
    folds = _cv(sec, records)
    found = analysis.named(records, NOTEBOOK, SEARCH)
    if found:
        sec.tables.append(search_table(found))
        m = found.metrics
        sec.conclusions.append(WORDING.finding("search", complete=m["complete"], pruned=m["pruned"],
                                               curve=m["expected_max"]))
    best = analysis.named(records, NOTEBOOK, BEST_CNN)
    if best:
        sec.conclusions.append(_selected(best, folds))
    sec.threats = threats(runs, [WORDING.finding("one_factor_threat")])
    return sec


CHAPTER = Chapter(NOTEBOOK, TITLE, QUESTION, findings, budgets=(TrainingBudget("n_train", "epochs", "batch_size",
                                                                                "balanced"),))
