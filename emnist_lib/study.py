"""Notebook helpers: the few calls every study notebook makes, so notebooks stay thin.

``start()`` seeds everything, states versions and hardware, and makes the
output folders; ``Study.save_figure`` names a figure after its notebook;
``Study.record`` writes a result record; ``load_split`` loads a data set at the
size a profile asks for; ``run_seeds`` trains and records every variant of a
comparison with every seed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from . import config, plots, results
from .data import Dataset, load_emnist


@dataclass
class Study:
    notebook: str
    output_dir: Path
    seed: int

    @property
    def figures(self) -> Path:
        return config.figures_dir(self.output_dir)

    @property
    def results(self) -> Path:
        return config.records_dir(self.output_dir)

    def save_figure(self, fig, name: str):
        """Save ``fig`` as ``figures/<notebook>_<name>.png`` and return it for inline display."""
        plots.save(fig, self.figures / f"{self.notebook}_{name}.png")
        return fig

    def record(self, name: str, data: Dataset | dict, metrics: dict, config: dict | None = None,
               result=None, extra: dict | None = None, seed: int | None = None, group: str | None = None,
               variant: str | None = None, convergence: dict | None = None) -> Path:
        """Write a result record for this notebook (provenance, config, seed, metrics, timing,
        and for a training run its budget and convergence verdict)."""
        prov = data.provenance if isinstance(data, Dataset) else data
        rec = results.make_record(
            name, notebook=self.notebook, data=prov, config=config or (result.config if result else {}),
            seed=self.seed if seed is None else seed, metrics=metrics,
            history=result.history if result else None,
            wall_time_s=result.wall_time_s if result else None,
            images_per_s=result.images_per_s if result else None,
            extra={**({"params": result.params, "best_epoch": result.best_epoch, "cache_hit": result.cache_hit}
                      if result else {}), **(extra or {})},
            group=group, variant=variant, budget=result.budget if result else None,
            convergence=convergence or (result.convergence if result else None))
        return results.write_record(self.results, rec)

    def save_model(self, model, name: str, card: dict | None = None) -> Path:
        """Save a trained model as ``models/<name>.keras`` in the output folder (atomically), with
        its model card ``models/<name>.card.json`` when one is given (:mod:`emnist_lib.card`)."""
        from .card import card_path, save_model, write_card

        path = self.output_dir / "models" / f"{name}.keras"
        card_path(path).unlink(missing_ok=True)  # never a card that describes an older model
        save_model(model, path)
        if card is not None:
            write_card(path, card)
        return path

    def saved_models(self) -> list[Path]:
        """Print each saved model with its card's summary and how to use it; returns their paths."""
        from .card import describe, read_card

        paths = sorted((self.output_dir / "models").glob("*.keras"))
        for path in paths:
            print(f"{path.relative_to(self.output_dir)}: {describe(read_card(path))}")
        if paths:
            print("use them: python -m emnist_lib predict IMAGE --model <path> | serve | export (README: "
                  "'Use the trained models')")
        return paths

    def find_record(self, notebook: str, name: str) -> dict | None:
        """Another notebook's record (notebooks share records, never variables)."""
        path = self.results / f"{notebook}__{name}.json"
        return json.loads(path.read_text()) if path.exists() else None

    def records(self) -> list[dict]:
        """Every record in this profile's results folder (all notebooks)."""
        return results.read_records(self.results)


def start(notebook: str, output_dir: str = "", seed: int = 0) -> Study:
    """Seed, print versions/hardware/output folder, create figures/ and results/."""
    import keras

    from .training import set_seed

    out = Path(output_dir) if output_dir else config.output_dir("smoke")
    study = Study(notebook, out.resolve(), seed)
    study.figures.mkdir(parents=True, exist_ok=True)
    study.results.mkdir(parents=True, exist_ok=True)
    keras.backend.clear_session()
    set_seed(seed)
    v = results.versions()
    print(f"{notebook}: seed {seed}; keras {v.get('keras')}, tensorflow "
          f"{v.get('tensorflow-cpu') or v.get('tensorflow')}, python {v['python']}")
    print(f"hardware: {results.hardware()['cpu']} ({results.hardware()['cores']} cores), "
          f"GPUs: {results.hardware()['gpus'] or 'none'}")
    return study


def load_split(split: str, source: str = "auto", n_train: int = 0, n_test: int = 0, seed: int = 0,
               zero_based: bool = False) -> Dataset:
    """A split at the size a profile asks for (0 = everything / the generator default).

    Synthetic data is generated at exactly that size; real data is subsampled
    (stratified, seeded) when a size is given.
    """
    ds = load_emnist(split, source=source, synthetic_train=n_train or None, synthetic_test=n_test or None,
                     seed=seed, zero_based=zero_based)
    if not ds.is_synthetic and (n_train or n_test):
        ds = ds.subset(n_train or None, n_test or None, seed=seed)
    return ds


def load_mnist_split(source: str = "auto", n_train: int = 0, n_test: int = 0, seed: int = 0) -> Dataset:
    """The original MNIST (:func:`emnist_lib.mnist.load_mnist`) at the size a profile asks for
    (real data subsampled, stratified and seeded; synthetic stand-in generated at that size)."""
    from .mnist import load_mnist

    ds = load_mnist(source, synthetic_train=n_train or None, synthetic_test=n_test or None, seed=seed)
    if not ds.is_synthetic and (n_train or n_test):
        ds = ds.subset(n_train or None, n_test or None, seed=seed)
    return ds


def describe(ds: Dataset) -> None:
    """Print a data set's deterministic summary (for ``# NBVAL_CHECK_OUTPUT`` cells)."""
    d = ds.describe()
    used = [c for c in d["train_counts"] if c]
    print(f"{d['name']}: source={d['source']}, train={d['train_size']}, test={d['test_size']}, "
          f"image={tuple(d['image_shape'])}, outputs={d['num_classes']}, classes={len(used)}, "
          f"per class={min(used)}..{max(used)}")


def test_metrics(model, x: np.ndarray, y: np.ndarray, class_names: list[str], prefix: str = "test") -> dict:
    """Accuracy, loss and macro F1 on ``(x, y)``, plus which images were right (packed, for
    McNemar's test between models scored on the same images)."""
    from .evaluation import metrics_from_proba, predict_proba

    proba = predict_proba(model, x)
    m = metrics_from_proba(proba, y, class_names)
    return {f"{prefix}_accuracy": m["accuracy"], f"{prefix}_loss": m["loss"], f"{prefix}_f1_macro": m["f1_macro"],
            f"{prefix}_n": int(len(y)), f"{prefix}_correct": results.pack_correct(proba.argmax(1) == np.asarray(y))}


def fit_metrics(res) -> dict:
    """Validation and training accuracy at the restored (best-validation) epoch."""
    best = res.best_epoch - 1
    h = res.history
    return {"val_accuracy": h["val_accuracy"][best] if "val_accuracy" in h else None,
            "val_loss": h["val_loss"][best] if "val_loss" in h else None,
            "train_accuracy": h["accuracy"][best], "epochs_run": len(h["loss"])}


def run_seeds(study: Study, ds: Dataset, variants: dict, seeds: list[int], group: str, base_cfg,
              model: str | None = None, base_kwargs: dict | None = None, evaluate_test: bool = True,
              x_test: np.ndarray | None = None, y_test: np.ndarray | None = None,
              extra: dict | None = None) -> tuple[list[dict], dict]:
    """Train every variant with every seed and record each run as ``<group>__<variant>__seed<k>``.

    ``variants``: ``{name: {"model": str, "model_kwargs": {...}, "train": {TrainConfig fields}}}``,
    each a change from ``model``/``base_kwargs``/``base_cfg`` (a controlled comparison). The seed
    sets weights, data order and the validation split; the data set stays the same. Each record
    holds validation metrics, test metrics (unless ``evaluate_test`` is False) with the per-image
    correctness McNemar needs, the budget and the convergence verdict. Prints one line per run.
    Returns ``(rows, histories)``; histories are those of the first seed, for learning curves.
    """
    from .training import train

    rows, histories = [], {}
    x_test = ds.x_test if x_test is None else x_test
    y_test = ds.y_test if y_test is None else y_test
    bar = config.progress(total=len(variants) * len(seeds), desc=group, unit="run")
    for name, change in variants.items():
        model_name = change.get("model", model)
        kwargs = {**(base_kwargs or {}), **change.get("model_kwargs", {})}
        for seed in seeds:
            bar.set_postfix_str(f"{name}, seed {seed}")
            cfg = replace(base_cfg, **{**change.get("train", {}), "seed": seed})
            res = train(model_name, ds.x_train, ds.y_train, ds.num_classes, cfg, kwargs, verbose=0)
            metrics = fit_metrics(res)
            if evaluate_test:
                metrics.update(test_metrics(res.model, x_test, y_test, ds.class_names))
            study.record(f"{group}__{name}__seed{seed}", ds, metrics, result=res, seed=seed, group=group,
                         variant=name, config={"model": model_name, "model_kwargs": kwargs, "train": asdict(cfg)},
                         extra=extra)
            shown = {k: v for k, v in metrics.items() if not k.endswith(("_correct", "_n", "_loss"))}
            rows.append({"variant": name, "seed": seed, **shown, "status": res.convergence["status"],
                         "params": res.params, "wall_time_s": res.wall_time_s})
            print(f"{group} {name} seed {seed}: " + ", ".join(f"{k} {v:.4f}" for k, v in shown.items()
                                                            if isinstance(v, float))
                  + f"; {res.convergence['status']}; {res.wall_time_s:.1f} s" + (" (cached)" if res.cache_hit else ""),
                  flush=True)
            if seed == seeds[0]:
                histories[name] = res.history
            bar.update()
    bar.close()
    return rows, histories


def table(rows: list[dict], sort: str | None = None, digits: int = 4):
    """Rows as a rounded pandas DataFrame (for display)."""
    import pandas as pd

    df = pd.DataFrame(rows)
    if sort:
        df = df.sort_values(sort, ascending=False, kind="stable")
    return df.round(digits).reset_index(drop=True)


def accuracy_of(model, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of ``model`` on ``(x, y)`` (for tables where only accuracy is wanted)."""
    from .evaluation import predict_proba

    return float((predict_proba(model, x).argmax(1) == y).mean())


# --------------------------------------------------------------------------- selections
def pick_best(study: Study, metric: str, groups: list[str]) -> dict:
    """The converged variant with the highest mean ``metric`` over seeds among this notebook's
    ``groups``: ``{"from": "<group>__<variant>", "metrics": {metric: mean, ...}, "config",
    "converged"}``. When nothing converged (a smoke budget) the best of all is taken, with a
    warning and ``converged: False``: a selection, never a claim."""
    import warnings

    from . import analysis

    records = study.records()
    candidates = [(f"{g}__{v}", runs) for g in groups
                  for v, runs in analysis.group_runs(records, study.notebook, g).items()]
    if not candidates:
        raise ValueError(f"{study.notebook}: no records in groups {groups}; run the sweeps first")
    pool = [(n, rs) for n, rs in candidates if analysis.status(rs) == "converged"]
    if not pool:
        warnings.warn(f"{study.notebook}: no setting converged within its budget; selecting among unconverged runs",
                      stacklevel=2)
    name, runs = max(pool or candidates, key=lambda c: float(np.mean(analysis.values(c[1], metric))))
    return {"from": name, "metrics": {metric: float(np.mean(analysis.values(runs, metric))),
                                      "seeds": [r["seed"] for r in runs]},
            "config": runs[0]["config"], "converged": bool(pool)}


def select_by_cv(study: Study, ds: Dataset, ablations: dict, model: str, base_kwargs: dict, base_cfg,
                 seeds: list[int], n_candidates: int, k: int, seed: int, extra: list[dict] | None = None):
    """k-fold cross-validation of the baseline, the ``n_candidates`` best converged ablations
    (by mean validation accuracy over seeds) and the ``extra`` candidates (the search's best:
    ``{"name", "model", "model_kwargs", "train"}``); records ``cv__<name>`` (fold accuracies,
    convergence) and ``best_cnn`` (the converged candidate with the highest mean). Returns
    ``(table, best_name)``."""
    from . import analysis, stats
    from .training import cross_validate

    runs = analysis.group_runs(study.records(), study.notebook, "ablation")
    ranked = [s.variant for s in analysis.summarise(runs, "val_accuracy") if s.status == "converged"]
    chosen = list(dict.fromkeys(["baseline", *[v for v in ranked if v != "baseline"][:n_candidates]]))
    candidates = [{"name": n, "model": model, "model_kwargs": {**base_kwargs, **ablations[n].get("model_kwargs", {})},
                   "train": {**asdict(replace(base_cfg, **ablations[n].get("train", {}))), "seed": seed}}
                  for n in chosen]
    candidates += [{**c, "train": {**asdict(replace(base_cfg, **c["train"])), "seed": seed}} for c in extra or []]
    table, _ = cross_validate(candidates, ds.x_train, ds.y_train, ds.num_classes, k=k, seed=seed)
    for row in table.to_dict("records"):
        cand = next(c for c in candidates if c["name"] == row["name"])
        study.record(f"cv__{row['name']}", ds, {"folds": row["folds"], "mean": row["mean"], "std": row["std"]},
                     config={"k": k, "model": model, "model_kwargs": cand["model_kwargs"], "train": cand["train"]},
                     seed=seed, group="cv", variant=row["name"], convergence=row["convergence"],
                     extra={"convergence_per_fold": row["statuses"]})
    rows = table.to_dict("records")  # sorted by mean accuracy
    converged = [r for r in rows if r["convergence"]["status"] == "converged"]
    best = (converged or rows)[0]
    folds = {r["name"]: r["folds"] for r in rows}
    why = (f"highest mean {k}-fold accuracy among converged candidates" if converged else
           f"highest mean {k}-fold accuracy; NO candidate converged within its budget")
    if best["name"] != "baseline" and "baseline" in folds:
        c = stats.paired_test(best["folds"], folds["baseline"], best["name"], "baseline", unit="folds")
        why += f"; against the baseline: {stats.verdict(c)}"
    cand = next(c for c in candidates if c["name"] == best["name"])
    study.record("best_cnn", ds, {"cv_mean": best["mean"], "cv_std": best["std"]},
                 config={"model": model, "model_kwargs": cand["model_kwargs"], "train": cand["train"]},
                 extra={"from": best["name"], "why": why})
    return table, best["name"]


def run_search(study: Study, ds: Dataset, space: str, n_trials: int, base_kwargs: dict, base_cfg, seed: int) -> dict:
    """An Optuna search of ``space`` at this notebook's budget (:mod:`emnist_lib.search`), on a
    seeded validation split of the training set, in a fresh journal file under the output folder.

    Records every finished trial (``search__trial<N>``, group ``search``) and ``search``
    (counts, best trial, importances, expected best accuracy against the number of trials),
    saves the optimization history and the expected-best curve, and returns the best trial as
    a candidate for :func:`select_by_cv` (name ``search_best``).
    """
    from . import search

    folder = study.output_dir / "search"
    path = search.journal_path(folder, study.notebook)
    path.unlink(missing_ok=True)  # a notebook run is a fresh search; the CLI resumes instead
    storage = search.open_storage(f"journal:{path}", folder, study.notebook)
    x_tr, y_tr, x_val, y_val = ds.validation_split(0.1, seed=seed)
    data = search.SearchData(x_tr, y_tr, x_val, y_val, ds.num_classes, ds.provenance)
    budget = search.Budget(epochs=base_cfg.epochs, batch_size=base_cfg.batch_size or 128, seed=seed)
    fixed = {k: v for k, v in base_kwargs.items() if k in ("filters", "kernel_size", "dense_units")}
    summary = search.run_worker(study.notebook, space, data, n_trials, storage, budget, seed=seed, fixed_model=fixed)
    s = search.create_or_load(study.notebook, space, storage, seed)
    for t in s.get_trials(deepcopy=False):
        if t.state.name not in search.FINISHED:
            continue
        rec, res = t.user_attrs.get("record", {}), t.user_attrs.get("result", {})
        study.record(f"search__trial{t.number}", ds, {"val_accuracy": t.value if t.state.name == "COMPLETE" else None,
                                                      "state": t.state.name, "epochs_run": len(t.intermediate_values)},
                     config={"model": rec.get("model"), "model_kwargs": rec.get("model_kwargs"), "train": rec.get("config"),
                             "params": t.params}, seed=seed, group="search", variant=f"trial {t.number}",
                     convergence=res.get("convergence"))
    values = [t.value for t in s.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    curve = search.expected_max(values, n_trials)
    try:
        importance = search.importances(s)
    except (RuntimeError, ValueError, ZeroDivisionError):  # too few complete trials to tell
        importance = {}
    best = search.best_setup(s)
    study.record("search", ds, {**summary, "expected_max": curve, "importances": importance,
                                "epochs_budget": base_cfg.epochs},
                 config={"space": space, "trials": n_trials, "sampler": "TPE", "pruner": "median",
                         "model": best["model"], "model_kwargs": best["model_kwargs"], "train": best["train"]},
                 seed=seed)
    study.save_figure(plots.search_history(search.history(s), f"Search of the {space.upper()} ({n_trials} trials)",
                                           ds.is_synthetic), "search_history")
    study.save_figure(plots.expected_max_curve(curve, "Expected best validation accuracy vs trials",
                                               ds.is_synthetic), "search_expected_max")
    return {"name": "search_best", "model": best["model"], "model_kwargs": best["model_kwargs"], "train": best["train"]}


def selected_setup(study: Study, notebook: str, record: str, model: str, epochs: int, batch_size: int) -> dict:
    """The configuration another notebook selected (its ``record``), with this notebook's budget;
    the builder's defaults when that notebook has not run."""
    rec = study.find_record(notebook, record)
    train = {k: v for k, v in (rec["config"]["train"] if rec else {}).items() if k != "seed"}
    ratio = 2 if train.get("early_stopping") else 1  # early stopping gets room to stop, as in notebook 04
    train.update(epochs=ratio * epochs, batch_size=batch_size or None)
    return {"model": model, "model_kwargs": rec["config"]["model_kwargs"] if rec else {}, "train": train,
            "from": rec["extra"]["from"] if rec else f"builder defaults ({notebook} not run)"}


# --------------------------------------------------------------------------- notebook 06, 07, 08 runs
def blur_runs(study: Study, ds: Dataset, model: str, cfg, levels: list[int], seeds: list[int]) -> np.ndarray:
    """Train on each blur level (0 = clean) with every seed, score on every blur level of the same
    test images; record ``blur__<level>__seed<k>``. Returns the seed-mean accuracy matrix
    (rows: training blur, columns: test blur)."""
    from .training import train
    from .transforms import box_blur

    train_sets = {k: box_blur(ds.x_train, k) if k else ds.x_train for k in levels}
    test_sets = {k: box_blur(ds.x_test, k) if k else ds.x_test for k in levels}
    matrix = np.zeros((len(levels), len(levels)))
    for i, k in enumerate(levels):
        variant = f"kernel {k}" if k else "clean"
        for seed in seeds:
            res = train(model, train_sets[k], ds.y_train, ds.num_classes, replace(cfg, seed=seed), verbose=0)
            metrics = fit_metrics(res)
            for j, t in enumerate(levels):
                m = test_metrics(res.model, test_sets[t], ds.y_test, ds.class_names, prefix="test")
                metrics.update({f"test_accuracy_blur_{t}": m["test_accuracy"], f"test_correct_blur_{t}": m["test_correct"],
                                "test_n": m["test_n"]})
                matrix[i, j] += m["test_accuracy"] / len(seeds)
            study.record(f"blur__{k}__seed{seed}", ds, metrics, result=res, seed=seed, group="blur", variant=variant,
                         config={"model": model, "train_blur": k, "train": asdict(replace(cfg, seed=seed))})
            print(f"trained on {variant}, seed {seed}: " + " ".join(
                f"{metrics[f'test_accuracy_blur_{t}']:.3f}" for t in levels) + f"; {res.convergence['status']}",
                flush=True)
    return matrix


def transfer_runs(study: Study, source, letters: Dataset, target: Dataset, cfg, seeds: list[int],
                  fine_tune_layers: int) -> list[dict]:
    """Held-out comparison on the target: the source model applied directly (once), and per seed a
    frozen base with a new head, the same then fine-tuned, and the architecture from scratch."""
    from .models import transfer
    from .training import fine_tune, train

    extra = {"letters_source": letters.provenance["source"], "source_seed": source.config["seed"],
             "source_convergence": source.convergence["status"]}
    rows = []
    direct = test_metrics(source.model, target.x_test, target.y_test, target.class_names)
    study.record(f"transfer__direct__seed{seeds[0]}", target, direct, seed=seeds[0], group="transfer",
                 variant="direct", config={"method": "direct"}, extra=extra,
                 convergence={"status": "not_trained", "reason": "the letters model applied without training",
                              "criterion": "no training on the target"})
    rows.append({"method": "direct", "seed": seeds[0], "test_accuracy": direct["test_accuracy"]})
    for seed in seeds:
        run_cfg = replace(cfg, seed=seed)
        frozen = train(transfer(source.model, target.num_classes), target.x_train, target.y_train, cfg=run_cfg,
                       use_cache=False, verbose=0)
        results_ = {"frozen": (frozen, test_metrics(frozen.model, target.x_test, target.y_test, target.class_names))}
        tuned = fine_tune(frozen, target.x_train, target.y_train, fine_tune_layers, replace(run_cfg, learning_rate=1e-5),
                          verbose=0)
        results_["fine_tuned"] = (tuned, test_metrics(tuned.model, target.x_test, target.y_test, target.class_names))
        scratch = train("chollet_convnet", target.x_train, target.y_train, target.num_classes, run_cfg, verbose=0)
        results_["scratch"] = (scratch, test_metrics(scratch.model, target.x_test, target.y_test, target.class_names))
        for method, (res, metrics) in results_.items():
            study.record(f"transfer__{method}__seed{seed}", target, {**fit_metrics(res), **metrics}, result=res,
                         seed=seed, group="transfer", variant=method,
                         config={"method": method, "train": asdict(run_cfg)}, extra=extra)
            rows.append({"method": method, "seed": seed, "test_accuracy": metrics["test_accuracy"],
                         "status": res.convergence["status"]})
    return rows


def transfer_kfold(study: Study, source_model, target: Dataset, cfg, k: int = 3, seed: int = 0) -> list[dict]:
    """Stratified k-fold on the target's training part: frozen-base transfer vs the same architecture
    from scratch, on the same folds (paired); records ``transfer_kfold__<method>``."""
    from sklearn.model_selection import StratifiedKFold

    from .analysis import worst_verdict
    from .models import transfer
    from .training import train

    x, y = target.x_train, target.y_train
    rows, verdicts = [], {"frozen": [], "scratch": []}
    run_cfg = replace(cfg, seed=seed)
    for fold, (tr, va) in enumerate(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(x, y), 1):
        # Epoch selection on a validation split of the training folds; the held-out fold is only scored.
        frozen = train(transfer(source_model, target.num_classes), x[tr], y[tr], cfg=run_cfg, use_cache=False, verbose=0)
        scratch = train("chollet_convnet", x[tr], y[tr], target.num_classes, run_cfg, verbose=0)
        verdicts["frozen"].append(frozen.convergence)
        verdicts["scratch"].append(scratch.convergence)
        rows.append({"fold": fold, "frozen": accuracy_of(frozen.model, x[va], y[va]),
                     "scratch": accuracy_of(scratch.model, x[va], y[va])})
    for method in ("frozen", "scratch"):
        accs = [r[method] for r in rows]
        worst = worst_verdict(verdicts[method])
        study.record(f"transfer_kfold__{method}", target, {"folds": accs, "mean": float(np.mean(accs))},
                     config={"k": k, "method": method, "train": asdict(run_cfg)}, seed=seed, group="transfer_kfold",
                     variant=method, convergence=worst,
                     extra={"convergence_per_fold": [v["status"] for v in verdicts[method]]})
    return rows


def final_runs(study: Study, ds: Dataset, setups: dict, seeds: list[int]):
    """Train each selected setup with every seed on the training data, evaluate once on the test set
    (all metrics, per-image correctness for McNemar), record ``final__<name>__seed<k>``; save the first
    seed's models with a model card each (``models/final_<name>.keras`` and ``.card.json``: split, class
    names, input convention, data source, test metrics with intervals). Returns
    ``({name: (result, proba, metrics)} for the first seed, rows)``."""
    from .card import build_card
    from .evaluation import metrics_from_proba, predict_proba
    from .training import TrainConfig, train

    first, rows = {}, []
    for name, setup in setups.items():
        test_by_seed, record_files = {}, []
        for seed in seeds:
            cfg = TrainConfig(**{**setup["train"], "seed": seed})
            res = train(setup["model"], ds.x_train, ds.y_train, ds.num_classes, cfg, setup["model_kwargs"], verbose=0)
            proba = predict_proba(res.model, ds.x_test)
            m = metrics_from_proba(proba, ds.y_test, ds.class_names)
            metrics = {**fit_metrics(res), **{f"test_{k}": v for k, v in m.items()
                                              if seed == seeds[0] or k not in ("per_class", "confusion")},
                       "test_correct": results.pack_correct(proba.argmax(1) == ds.y_test)}
            path = study.record(f"final__{name}__seed{seed}", ds, metrics, result=res, seed=seed, group="final",
                                variant=name, extra={"from": setup["from"]},
                                config={"model": setup["model"], "model_kwargs": setup["model_kwargs"],
                                        "train": asdict(cfg)})
            test_by_seed[seed] = metrics
            record_files.append(path.name)
            rows.append({"model": name, "seed": seed, **{k: m[k] for k in ("accuracy", "precision_macro", "recall_macro",
                                                                            "f1_macro", "top_k_accuracy")},
                         "status": res.convergence["status"]})
            if seed == seeds[0]:
                first[name], saved_cfg = (res, proba, m), cfg
        saved = first[name][0].model
        card = build_card(name=f"final_{name}", model=saved, model_name=setup["model"],
                          model_kwargs=setup["model_kwargs"], train_config=asdict(saved_cfg), dataset=ds,
                          test_by_seed=test_by_seed, record_files=record_files, saved_seed=seeds[0],
                          selected_from=setup["from"], profile=study.output_dir.name)
        study.save_model(saved, f"final_{name}", card)
    return first, rows
