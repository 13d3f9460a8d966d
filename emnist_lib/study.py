"""Notebook helpers: the few calls every study notebook makes, so notebooks stay thin.

``start()`` seeds everything, states versions and hardware, and makes the
output folders; ``Study.save_figure`` names a figure after its notebook;
``Study.record`` writes a result record; ``load_split`` loads a data set at the
size a profile asks for; ``run_variants`` trains and records a sweep.
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
               result=None, extra: dict | None = None) -> Path:
        """Write a result record for this notebook (provenance, config, seed, metrics, timing)."""
        prov = data.provenance if isinstance(data, Dataset) else data
        rec = results.make_record(
            name, notebook=self.notebook, data=prov, config=config or (result.config if result else {}),
            seed=self.seed, metrics=metrics, history=result.history if result else None,
            wall_time_s=result.wall_time_s if result else None,
            images_per_s=result.images_per_s if result else None,
            extra={**({"params": result.params, "best_epoch": result.best_epoch, "cache_hit": result.cache_hit}
                      if result else {}), **(extra or {})})
        return results.write_record(self.results, rec)

    def save_model(self, model, name: str) -> Path:
        """Save a trained model as ``models/<name>.keras`` in the output folder."""
        path = self.output_dir / "models" / f"{name}.keras"
        path.parent.mkdir(parents=True, exist_ok=True)
        model.save(path)
        return path

    def find_record(self, notebook: str, name: str) -> dict | None:
        """Another notebook's record (notebooks share records, never variables)."""
        path = self.results / f"{notebook}__{name}.json"
        return json.loads(path.read_text()) if path.exists() else None


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


def describe(ds: Dataset) -> None:
    """Print a data set's deterministic summary (for ``# NBVAL_CHECK_OUTPUT`` cells)."""
    d = ds.describe()
    used = [c for c in d["train_counts"] if c]
    print(f"{d['name']}: source={d['source']}, train={d['train_size']}, test={d['test_size']}, "
          f"image={tuple(d['image_shape'])}, outputs={d['num_classes']}, classes={len(used)}, "
          f"per class={min(used)}..{max(used)}")


def run_variants(study: Study, ds: Dataset, model: str, base_kwargs: dict, base_cfg, variants: dict,
                 group: str, evaluate_test: bool = False) -> tuple[list[dict], dict]:
    """Train one model per variant ``{name: {"model_kwargs": {...}, "train": {...}, "model": str}}``.

    Every variant starts from the same base (a controlled ablation), is recorded
    as ``<group>__<name>``, and scored on validation data (and on the test set
    when ``evaluate_test``). Returns ``(rows, histories)``.
    """
    from .evaluation import evaluate
    from .training import train

    rows, histories = [], {}
    for name, change in variants.items():
        kwargs = {**base_kwargs, **change.get("model_kwargs", {})}
        cfg = replace(base_cfg, **change.get("train", {}))
        res = train(change.get("model", model), ds.x_train, ds.y_train, ds.num_classes, cfg, kwargs, verbose=0)
        best = res.best_epoch - 1
        metrics = {"val_accuracy": res.history["val_accuracy"][best], "val_loss": res.history["val_loss"][best],
                   "train_accuracy": res.history["accuracy"][best], "epochs_run": len(res.history["loss"])}
        if evaluate_test:
            test = evaluate(res.model, ds.x_test, ds.y_test, ds.class_names)
            metrics.update(test_accuracy=test["accuracy"], test_loss=test["loss"], test_f1_macro=test["f1_macro"])
        study.record(f"{group}__{name}", ds, metrics, config={"model": change.get("model", model),
                                                               "model_kwargs": kwargs, "train": asdict(cfg)},
                     result=res)
        rows.append({"variant": name, **metrics, "params": res.params, "wall_time_s": res.wall_time_s,
                     "images_per_s": res.images_per_s})
        histories[name] = res.history
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


def train_and_test(study: Study, ds: Dataset, model: str, cfg, model_kwargs: dict | None = None,
                   name: str | None = None, x_test=None, y_test=None, extra: dict | None = None):
    """Train (or reuse from the model cache), score on train and test, record. Returns ``(row, result)``."""
    from .evaluation import evaluate
    from .training import train

    res = train(model, ds.x_train, ds.y_train, ds.num_classes, cfg, model_kwargs, verbose=0)
    x_test = ds.x_test if x_test is None else x_test
    y_test = ds.y_test if y_test is None else y_test
    test = evaluate(res.model, x_test, y_test, ds.class_names)
    best = res.best_epoch - 1
    metrics = {"test_accuracy": test["accuracy"], "test_loss": test["loss"], "test_f1_macro": test["f1_macro"],
               "train_accuracy": res.history["accuracy"][best], "train_loss": res.history["loss"][best],
               "val_accuracy": res.history["val_accuracy"][best] if "val_accuracy" in res.history else None}
    name = name or f"{ds.name}__{model}"
    study.record(name, ds, metrics, config={"model": model, "model_kwargs": model_kwargs or {}, "train": asdict(cfg)},
                 result=res, extra=extra)
    row = {"run": name, "model": model, "data": ds.name, **metrics, "params": res.params,
           "wall_time_s": res.wall_time_s, "images_per_s": res.images_per_s}
    return row, res


def transfer_kfold(source_model, x: np.ndarray, y: np.ndarray, num_classes: int, cfg, k: int = 3,
                   seed: int = 0, scratch_model: str = "chollet_convnet") -> list[dict]:
    """Stratified k-fold on the target set: frozen-base transfer vs the same architecture from scratch."""
    from sklearn.model_selection import StratifiedKFold

    from .models import transfer
    from .training import train

    rows = []
    folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(x, y)
    for fold, (tr, va) in enumerate(folds, 1):
        # Epoch selection on a validation split of the training folds; the held-out fold is only scored.
        frozen = train(transfer(source_model, num_classes), x[tr], y[tr], cfg=cfg, use_cache=False, verbose=0)
        scratch = train(scratch_model, x[tr], y[tr], num_classes, cfg, verbose=0)
        rows.append({"fold": fold, "transfer_frozen": accuracy_of(frozen.model, x[va], y[va]),
                     "scratch": accuracy_of(scratch.model, x[va], y[va])})
    return rows
