"""The notebook runtime: the few calls every study notebook makes, so notebooks stay thin.

``start()`` seeds everything, states versions and hardware, and makes the
output folders; ``Study.save_figure`` names a figure after its notebook;
``Study.record`` writes a result record; ``run_recipes`` (the study's one seed loop) trains,
scores and records every recipe of a comparison with every seed. What one chapter alone does lives in its
module (:mod:`emnist_lib.chapters`); data sets at a profile's sizes come from
:mod:`emnist_lib.loaders`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import config, plots, results
from .convergence import Convergence, Status
from .dataset import Dataset
from .recipe import Recipe


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

    def record(self, name: str, data: Dataset, metrics: dict, config: dict | None = None, result=None,
               extra: dict | None = None, seed: int | None = None, group: str | None = None,
               variant: str | None = None, convergence: Convergence | None = None) -> Path:
        """Write a result record for this notebook: ``data``'s provenance (source, split, sizes used),
        config, seed, metrics, timing, and for a training run (``result``) its budget and convergence."""
        rec = results.make_record(
            name, notebook=self.notebook, data=data.record_provenance,
            config=config or (result.config if result else {}), seed=self.seed if seed is None else seed,
            metrics=metrics, history=result.history if result else None,
            wall_time_s=result.wall_time_s if result else None,
            images_per_s=result.images_per_s if result else None,
            extra={**({"params": result.params, "best_epoch": result.best_epoch, "cache_hit": result.cache_hit}
                      if result else {}), **(extra or {})},
            group=group, variant=variant, budget=result.budget if result else None,
            machine=getattr(result, "hardware", None), engine=getattr(result, "engine", None),
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

    def find(self, key: results.RecordKey) -> results.Record | None:
        """Another chapter's record that ``key`` names (notebooks share records, never variables); None when
        that notebook has not run."""
        if key.name is not None:  # a named record is one file
            path = results.record_path(self.results, key.notebook, key.name)
            found = [results.read_record(path)] if path.exists() else []
        else:  # a run: read that notebook's records only
            found = [results.read_record(p) for p in sorted(self.results.glob(f"{key.notebook}__*.json"))]
        return next((r for r in found if key.matches(r)), None)

    def records(self) -> list[results.Record]:
        """Every record in this profile's results folder (all notebooks). This notebook's must be readable;
        another notebook's unreadable record (an older run, an older schema) is skipped with a note."""
        out, skipped = [], []
        for path in sorted(self.results.glob("*.json")):
            try:
                out.append(results.read_record(path))
            except results.RecordError:
                if path.name.startswith(f"{self.notebook}__"):
                    raise
                skipped.append(path.name)
        if skipped:
            print(f"(skipped {len(skipped)} unreadable record(s) of other notebooks, e.g. {skipped[0]}: rerun them)")
        return out


def start(notebook: str, output_dir: str = "", seed: int = 0) -> Study:
    """Seed, print versions/hardware/output folder, create figures/ and results/."""
    import keras

    from .executors import current, pin_threads
    from .training import set_seed

    pin_threads(config.threads_per_run())  # before TensorFlow's first operation in this kernel
    out = Path(output_dir) if output_dir else config.output_dir("smoke")
    study = Study(notebook, out.resolve(), seed)
    study.figures.mkdir(parents=True, exist_ok=True)
    study.results.mkdir(parents=True, exist_ok=True)
    keras.backend.clear_session()
    set_seed(seed)
    v = results.versions()
    print(f"{notebook}: seed {seed}; keras {v.get('keras')}, tensorflow "
          f"{v.get('tensorflow-cpu') or v.get('tensorflow')}, python {v['python']}")
    hw = results.hardware()
    print(f"hardware: {hw['cpu']} ({hw['cores']} cores, {hw['isa']}, oneDNN {hw['onednn']}), GPUs: {hw['gpus'] or 'none'}; "
          f"runs: {current()}, threads per run {config.threads_per_run() or 'default'}")
    return study


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
    out = {"val_accuracy": h["val_accuracy"][best] if "val_accuracy" in h else None,
           "val_loss": h["val_loss"][best] if "val_loss" in h else None,
           "train_accuracy": h["accuracy"][best], "epochs_run": len(h["loss"])}
    if getattr(res, "val_correct", None) is not None:  # per image: recipes compared on the same validation images
        out.update(val_correct=results.pack_correct(res.val_correct), val_n=int(len(res.val_correct)))
    if getattr(res, "val_correct_last", None) is not None:  # the last epoch's: no epoch was chosen on these scores
        out.update(val_accuracy_last=float(np.mean(res.val_correct_last)),
                   val_correct_last=results.pack_correct(res.val_correct_last))
    return out


@dataclass
class Run:
    """One run of the seed loop: the recipe, the seed, what training returned (a :class:`~emnist_lib.training.
    TrainResult`, or a :class:`Fitted` for a model applied without training), its metrics and the record written."""

    recipe: Recipe
    seed: int
    result: object
    metrics: dict
    path: Path
    group: str
    fit: object = None  # how the run was trained: trains it again (a model-cache hit) when its model stayed elsewhere

    def model(self):
        """The run's trained model: kept in this process, or (from a worker) loaded back from the model cache by
        training the recipe again (the same key, so the cache returns it)."""
        if self.result.model is None:
            self.result = self.fit(self.recipe, self.seed)
        return self.result.model

    @property
    def status(self) -> Status:
        return self.convergence.status

    @property
    def convergence(self) -> Convergence:
        return self.result.convergence

    def row(self) -> dict:
        """The run as a table row: its variant, seed, the metrics worth showing, verdict, size and time."""
        shown = {k: v for k, v in self.metrics.items() if not k.endswith(("_correct", "_n", "_loss"))
                 and not isinstance(v, (dict, list))}
        res = self.result
        return {"variant": self.recipe.name, "seed": self.seed, **shown, "status": self.status.value,
                "params": getattr(res, "params", None), "wall_time_s": getattr(res, "wall_time_s", None)}


@dataclass
class Fitted:
    """What a chapter's ``fit`` returns for a model it applies without training: the model and its verdict."""

    model: object
    convergence: Convergence
    hardware: dict | None = None  # the machine that applied it (set where it ran, as for a training run)


@dataclass
class Runs:
    """The runs of one :func:`run_recipes` call, in order (seeds outer, recipes inner)."""

    runs: list[Run]
    seeds: list[int]

    def __iter__(self):
        return iter(self.runs)

    def rows(self) -> list[dict]:
        return [r.row() for r in self.runs]

    def table(self, *columns: str, sort: str | None = None):
        df = table(self.rows(), sort=sort)
        return df[[c for c in columns if c in df.columns]] if columns else df

    def first_seed(self) -> list[Run]:
        """Each recipe's run with the first seed (learning curves, saved models, confusion matrices)."""
        return [r for r in self.runs if r.seed == self.seeds[0]]

    def histories(self) -> dict[str, dict]:
        """The first seed's learning curves, by variant."""
        return {r.recipe.name: r.result.history for r in self.first_seed() if hasattr(r.result, "history")}


def validation_scores(result, recipe: Recipe, seed: int) -> dict:
    """A run's validation and training metrics at its kept epoch (:func:`fit_metrics`)."""
    return fit_metrics(result)


def test_scores(ds: Dataset, x_test: np.ndarray | None = None, y_test: np.ndarray | None = None):
    """A scoring function: validation metrics plus accuracy, loss, macro F1 and per-image correctness on
    ``ds``'s test images (or ``x_test``/``y_test``)."""
    x = ds.x_test if x_test is None else x_test
    y = ds.y_test if y_test is None else y_test

    def score(result, recipe: Recipe, seed: int) -> dict:
        return {**fit_metrics(result), **test_metrics(result.model, x, y, ds.class_names)}

    return score


def run_recipes(study: Study, ds: Dataset, recipes: list[Recipe], seeds: list[int], group: str, *,
                score=None, fit=None, extra=None, check_seeds: list[int] = (), factor: int = 2,
                chain: bool = False) -> Runs:
    """The study's one seed loop: train every recipe with every seed, score it and record it.

    Each run is recorded as ``<group>__<recipe name>__seed<k>`` (variant: the recipe's name, config: the recipe
    with that seed). ``score(result, recipe, seed) -> metrics`` scores a run (default: :func:`test_scores` on
    ``ds``; :func:`validation_scores` for selection on validation data only); ``fit(recipe, seed)`` trains one
    (default: :func:`emnist_lib.training.train` on ``ds``'s training images; a chapter that trains on other
    images, or applies a model without training (a :class:`Fitted`), passes its own); ``extra`` is a dict, or a
    function of ``(recipe, seed)``, recorded in each record's ``extra``. The seed sets weights, data order and
    the validation split; the data set stays the same. Runs execute where ``EMNIST_EXECUTOR`` says
    (:mod:`emnist_lib.executors`: here, in local worker processes, or on a cluster) and are recorded here, in a
    fixed order (seeds outer, recipes inner), whatever ran them. ``chain``: the recipes of one seed build on each
    other (chapter 07: fine-tuning goes on from the frozen run), so each seed's recipes run in order, in one task.
    Prints one line per run and a progress bar.

    ``check_seeds``: the budget check of a headline comparison -- those seeds trained again at ``factor`` times
    each recipe's epochs (:meth:`Recipe.longer`), recorded under ``analysis.budget_group(group, factor)``.
    Returns the main runs."""
    from .analysis import budget_group

    runs = _loop(study, ds, recipes, list(seeds), group, score, fit, extra, chain)
    if check_seeds:
        _loop(study, ds, [r.longer(factor) for r in recipes], list(check_seeds), budget_group(group, factor), score,
              fit, extra, chain)
    return runs


def _loop(study: Study, ds: Dataset, recipes: list[Recipe], seeds: list[int], group: str, score, fit, extra,
          chain: bool = False) -> Runs:
    from . import executors
    from .training import train

    def default_fit(recipe: Recipe, seed: int):
        return train(recipe.model, ds.x_train, ds.y_train, ds.num_classes, recipe.run_config(seed),
                     recipe.model_settings, verbose=0)

    fit, score = fit or default_fit, score or test_scores(ds)
    names = [r.name for r in recipes]
    if len(set(names)) != len(names):
        raise ValueError(f"{group}: two recipes share a name ({', '.join(names)}): each run's record is named by it")
    spec = executors.current()
    portable = spec.kind != "inline"  # results cross a process boundary: without their model
    # One task per run; a chain (chapter 07: fine-tuning goes on from the frozen run) is one task per seed.
    tasks = [(seed, recipes) for seed in seeds] if chain else [(seed, [r]) for seed in seeds for r in recipes]
    bar = config.progress(total=len(recipes) * len(seeds), desc=group, unit="run")
    done = executors.run_tasks(
        functools.partial(_execute, fit, score, portable), tasks,
        [f"{group} {', '.join(r.name for r in rs)} seed {seed}" for seed, rs in tasks], spec,
        on_done=lambda name: bar.update(len(recipes) if chain else 1))
    bar.close()
    out = []
    for (seed, rs), outcomes in zip(tasks, done):
        for recipe, (result, metrics) in zip(rs, outcomes):
            fitted = isinstance(result, Fitted)
            path = study.record(f"{group}__{recipe.name}__seed{seed}", ds, metrics,
                                result=None if fitted else result, seed=seed, group=group, variant=recipe.name,
                                config=recipe.config(seed if recipe.train is not None else None),
                                extra=extra(recipe, seed) if callable(extra) else extra,
                                convergence=result.convergence if fitted else None)
            run = Run(recipe, seed, result, metrics, path, group, fit)
            out.append(run)
            shown = ", ".join(f"{k} {v:.4f}" for k, v in run.row().items()
                              if isinstance(v, float) and k.endswith("accuracy") and "_top_k_" not in k)
            timing = "" if fitted else f"; {result.wall_time_s:.1f} s" + (" (cached)" if result.cache_hit else "")
            print(f"{group} {recipe.name} seed {seed}: {shown}; {run.status.value}{timing}", flush=True)
    return Runs(out, seeds)


def _execute(fit, score, portable: bool, task) -> list[tuple]:
    """One task of the seed loop, wherever it runs: train and score each recipe of ``task`` (``(seed, recipes)``),
    in order. ``portable``: the results leave this process, so without their Keras model (:meth:`Run.model` gets
    it back from the model cache)."""
    from dataclasses import replace

    from .results import here

    seed, recipes = task
    out = []
    for recipe in recipes:
        result = replace(fit(recipe, seed), hardware=here())  # the machine it ran on, not the notebook's
        metrics = score(result, recipe, seed)
        out.append((replace(result, model=None) if portable else result, metrics))
    return out


def run_twin(study: Study, ds: Dataset, recipes: list[Recipe], seeds: list[int], group: str, **kwargs) -> Runs | None:
    """The same comparison as :func:`run_recipes` on the synthetic version of ``ds`` (same sizes, seeds and
    budget), recorded under ``analysis.twin_group(group)``, so the report can say whether the offline
    default ranks these recipes as real data does. Nothing to do (None) when ``ds`` is synthetic."""
    from .analysis import twin_group
    from .loaders import synthetic_twin

    twin = synthetic_twin(ds, study.seed)
    if twin is None:
        print("the data is synthetic already: no synthetic twin to run")
        return None
    if kwargs.get("score") is None:
        kwargs["score"] = test_scores(twin)
    return run_recipes(study, twin, recipes, seeds, twin_group(group), **kwargs)


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
