"""Model cards: a small JSON file beside every model the study keeps, so other tools can use it.

``final_cnn.keras`` gets ``final_cnn.card.json`` with what a user of the model needs and
nothing has to hard-code: the split and its class names (index -> name), the input convention,
where the training data came from (real or synthetic), the test metrics with intervals taken
from the study's records, and the versions and hardware that made it. :mod:`emnist_lib.inference`,
``serve`` and ``export`` read the card.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from pathlib import Path

from . import analysis, config, results, stats
from .errors import EmnistError
from .fileio import sha256_file, write_text_atomic
from .recipe import Recipe

CARD_VERSION = 1
CARD_SUFFIX = ".card.json"
# What every model of this package takes (models rescale inside, see emnist_lib.models).
INPUT_CONVENTION = {
    "shape": [28, 28], "dtype": "uint8", "range": [0, 255], "ink": "white on black (0 = background)",
    "orientation": "upright, as a person reads it (not the transposed layout of the official files)",
    "framing": "EMNIST: bounding box of the ink, aspect ratio kept, centred in 24x24 inside a 2-pixel border",
}
# The default model of `predict`, `serve` and `export`: the final CNN of the largest-scale report built.
DEFAULT_PROFILES = ("full", "emnist", "quick")  # the largest-scale final model there is
DEFAULT_MODEL = "final_cnn"


class ModelCardError(EmnistError):
    """A model or its card is missing or does not describe a usable model."""


def card_path(model_path: str | Path) -> Path:
    """``models/final_cnn.keras`` -> ``models/final_cnn.card.json``."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.name.removesuffix(".keras") + CARD_SUFFIX)


def save_model(model, path: str | Path) -> Path:
    """Save a Keras model atomically (a killed run never leaves half a ``.keras`` file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.part.keras")
    try:
        model.save(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def test_summary(records: list[results.Record], saved_seed: int) -> dict:
    """Test metrics for a card from a setup's final records (one per seed): the saved seed's accuracy
    with its Wilson interval, and the mean over seeds with its interval (:func:`emnist_lib.analysis.interval`)."""
    by_seed = {r.seed: r for r in records}
    if saved_seed not in by_seed:
        raise ModelCardError(f"no final run for the saved seed {saved_seed} (runs for seeds {sorted(by_seed)})")
    m = by_seed[saved_seed]
    n = int(m.metric("test_n", None) or 0) or None
    acc = float(m.metric("test_accuracy"))
    out = {"seed": saved_seed, "n_test": n, "accuracy": acc,
           "f1_macro": m.metric("test_f1_macro", None), "top_5_accuracy": m.metric("test_top_k_accuracy", None)}
    if n:
        lo, hi = stats.proportion_ci(round(acc * n), n)
        out["accuracy_ci95"] = [lo, hi]
        out["accuracy_ci_method"] = "Wilson score interval on this model's test images"
    seeds = sorted(by_seed)
    accs = [float(by_seed[s].metric("test_accuracy")) for s in seeds]
    runs = [by_seed[s] for s in seeds]
    method = ("mean over training seeds; 95% interval counting the seeds and the test images once each (two-way "
              "ANOVA of seeds x images, modified large-sample interval, logit scale)"
              if analysis.per_image(runs, "test_accuracy") is not None else
              "mean over training seeds with a t-interval (no per-image record)")
    out["over_seeds"] = {"seeds": seeds, "accuracies": accs, **analysis.interval(runs, "test_accuracy"),
                         "method": method}
    return out


def build_card(*, name: str, model, recipe: Recipe, dataset, records: list[results.Record], saved_seed: int,
               selected_from: str | None = None, profile: str | None = None) -> dict:
    """The card of a final model trained by ``recipe`` (with the saved model's seed): ``dataset`` is the
    :class:`~emnist_lib.dataset.Dataset` it was trained on; ``records`` the recipe's final result records (one per
    seed), read back as written."""
    prov = dataset.provenance
    synthetic = bool(dataset.is_synthetic)
    return {
        "card_version": CARD_VERSION, "name": name, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "profile": profile,
        "model": {"builder": recipe.model, "kwargs": dict(recipe.model_settings), "parameters": int(model.count_params()),
                  "selected_from": selected_from, "train": asdict(recipe.train)},
        "dataset": dataset.name, "split": dataset.split, "num_outputs": int(dataset.num_classes),
        "class_names": list(dataset.class_names), "input": INPUT_CONVENTION,
        "data": {"source": prov.get("source"), "synthetic": synthetic, "train_size": int(len(dataset.y_train)),
                 "test_size": int(len(dataset.y_test)), "provenance": prov,
                 "note": ("trained and tested on SYNTHETIC handwriting: expect lower accuracy on real handwriting "
                          "(benchmarks/realism_check.py measures how much)") if synthetic else
                         "trained and tested on real handwriting"},
        "test": test_summary(records, saved_seed),
        "records": sorted(Path(r.path).name for r in records),
        "versions": results.versions(), "hardware": results.hardware(),
    }


def write_card(model_path: str | Path, card: dict) -> Path:
    """Write ``card`` beside the model, with the model file's sha256 (atomically)."""
    model_path = Path(model_path)
    card = {**card, "model_file": model_path.name, "model_sha256": sha256_file(model_path)}
    path = card_path(model_path)
    write_text_atomic(path, json.dumps(card, indent=1, sort_keys=True, default=float) + "\n")
    return path


REQUIRED = ("name", "split", "class_names", "num_outputs", "input", "data", "test")


def read_card(model_path: str | Path) -> dict:
    """The card beside ``model_path``, checked; a clear error when it is missing or broken."""
    model_path = Path(model_path)
    path = card_path(model_path)
    if not path.is_file():
        raise ModelCardError(f"{path}: no model card beside {model_path.name}. The card names the classes and the "
                             "input convention; models saved by notebook 08 have one (run 'make report'), or write "
                             "one with emnist_lib.card.write_card")
    try:
        card = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelCardError(f"{path}: not a JSON model card ({exc}); delete it and re-run notebook 08") from exc
    missing = [k for k in REQUIRED if k not in card] if isinstance(card, dict) else list(REQUIRED)
    if missing:
        raise ModelCardError(f"{path}: model card lacks {', '.join(missing)}; re-run notebook 08 to rewrite it")
    if len(card["class_names"]) != card["num_outputs"]:
        raise ModelCardError(f"{path}: {len(card['class_names'])} class names for {card['num_outputs']} outputs")
    return card


def default_model() -> Path:
    """The final CNN of the largest-scale report there is (full, else emnist, else the quick preview)."""
    tried = []
    for profile in DEFAULT_PROFILES:
        path = config.output_dir(profile) / "models" / f"{DEFAULT_MODEL}.keras"
        if path.is_file():
            return path
        tried.append(str(path))
    raise ModelCardError("no trained model found (looked for " + ", ".join(tried) + "). Run 'make report' to train "
                         "the study's models, or pass --model PATH to a .keras file with a card beside it")


def resolve_model(path: str | Path | None) -> Path:
    """``path`` checked to exist, or the default model when it is None."""
    if path is None:
        return default_model()
    path = Path(path).expanduser()
    if path.is_dir():
        path = path / f"{DEFAULT_MODEL}.keras"
    if not path.is_file():
        raise ModelCardError(f"{path}: no such model file; pass a .keras file saved by the study "
                             "(report/<profile>/models/final_cnn.keras after 'make report')")
    return path


def describe(card: dict) -> str:
    """One line: what the model is, what it was trained on, and how well it did."""
    t = card["test"]
    ci = t.get("accuracy_ci95")
    ci_text = f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci else ""
    src = "SYNTHETIC" if card["data"].get("synthetic") else str(card["data"].get("source", "?")).upper()
    return (f"{card['name']} ({card['model'].get('builder')}) on {card.get('dataset', card['split'])} "
            f"({card['num_outputs']} outputs), {src} data; test accuracy {100 * t['accuracy']:.1f}%{ci_text} "
            f"on {t.get('n_test')} images")
