"""The notebook runtime: the few calls every study notebook makes, so notebooks stay thin.

``start()`` seeds everything, states versions and hardware, and makes the
output folders; ``Study.save_figure`` names a figure after its notebook;
``Study.record`` writes a result record; ``run_seeds`` trains and records every
variant of a comparison with every seed. What one chapter alone does lives in its
module (:mod:`emnist_lib.chapters`); data sets at a profile's sizes come from
:mod:`emnist_lib.loaders`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from . import config, plots, results
from .dataset import Dataset


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
               variant: str | None = None, convergence: dict | None = None) -> Path:
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

    def find_record(self, notebook: str, name: str) -> results.Record | None:
        """Another notebook's record (notebooks share records, never variables)."""
        path = self.results / f"{notebook}__{name}.json"
        return results.read_record(path) if path.exists() else None

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
    hw = results.hardware()
    print(f"hardware: {hw['cpu']} ({hw['cores']} cores, {hw['isa']}, oneDNN {hw['onednn']}), GPUs: {hw['gpus'] or 'none'}")
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
    return out


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


def run_twin(study: Study, ds: Dataset, variants: dict, seeds: list[int], group: str, base_cfg, **kwargs) -> list[dict]:
    """The same comparison as :func:`run_seeds` on the synthetic version of ``ds`` (same sizes, seeds and
    budget), recorded under ``analysis.twin_group(group)``, so the report can say whether the offline
    default ranks these variants as real data does. Nothing to do (``[]``) when ``ds`` is synthetic."""
    from .analysis import twin_group
    from .loaders import synthetic_twin

    twin = synthetic_twin(ds, study.seed)
    if twin is None:
        print("the data is synthetic already: no synthetic twin to run")
        return []
    rows, _ = run_seeds(study, twin, variants, seeds, twin_group(group), base_cfg, **kwargs)
    return rows


def run_budget_check(study: Study, ds: Dataset, variants: dict, seeds: list[int], group: str, base_cfg, factor: int = 2,
                     **kwargs) -> list[dict]:
    """A headline comparison's budget check: ``seeds`` of it trained again at ``factor`` times the budget (the
    same schedule shape, stretched), recorded under ``analysis.budget_group(group)``. Nothing with no seeds."""
    from .analysis import budget_group

    if not seeds:
        return []
    cfg = replace(base_cfg, epochs=factor * base_cfg.epochs)
    longer = {name: {**change, "train": {**change.get("train", {}), "epochs": factor *
                                         change.get("train", {}).get("epochs", base_cfg.epochs)}}
              for name, change in variants.items()}
    rows, _ = run_seeds(study, ds, longer, seeds, budget_group(group, factor), cfg, **kwargs)
    return rows


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
