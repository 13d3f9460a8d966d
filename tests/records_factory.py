"""Sample result records in the study's format, for tests of the analysis and the report.

Written through the study's own writer (:meth:`emnist_lib.study.Study.record` semantics via
:func:`~emnist_lib.results.make_record`), with every notebook, group and record name taken from
its chapter module, so a renamed group or record breaks these tests rather than passing them.
"""

from __future__ import annotations

import numpy as np

from emnist_lib.chapters import (
    c00_data,
    c01_chollet_baselines,
    c02_dnn_learning_rules,
    c03_cnn_depth,
    c04_regularisation_tuning,
    c05_architectures,
    c06_blur_robustness,
    c07_transfer_learning,
    c08_final_evaluation,
    c09_anchors,
)
from emnist_lib.convergence import CONVERGENCE_CRITERION
from emnist_lib.results import make_record, pack_correct, write_record

SYNTH = {"source": "synthetic", "split": "balanced", "n_train": 940, "n_test": 470,
         "generator": {"generator_version": "1.0"}}
REAL_MNIST = {"source": "mnist", "split": "mnist", "n_train": 60000, "n_test": 10000}
REAL_BALANCED = {"source": "nist", "split": "balanced", "n_train": 112800, "n_test": 18800,
                 "sha256": {"f.gz": "ab" * 32}}


def convergence(status: str = "plateau") -> dict:
    return {"status": status, "reason": f"sample: {status}", "criterion": CONVERGENCE_CRITERION, "best": 0.5,
            "chance": 0.02, "reference_epoch": 4, "gain": 0.0, "improved": 3, "worsened": 3, "upper": 0.005,
            "method": "one-sided exact McNemar test on the validation images", "early_stopped": False,
            "epochs_run": 8}


BUDGET = {"epochs": 8, "steps_per_epoch": 30, "steps": 240, "images": 15360, "train_images": 846,
          "batch_size": 64, "schedule": "cosine"}


def correct_vector(acc: float, n: int, rng) -> np.ndarray:
    v = np.zeros(n, bool)
    v[rng.choice(n, round(acc * n), replace=False)] = True
    return v


def ranked_vector(acc: float, n: int, seed: int) -> np.ndarray:
    """Which of ``n`` images a model of accuracy ``acc`` gets right, the images ranked by difficulty the same way
    for every model of one seed (so models trained with one seed err on much the same images, as real ones do)."""
    v = np.zeros(n, bool)
    v[np.random.default_rng(1000 + seed).permutation(n)[: round(acc * n)]] = True
    return v


def seeded(out, notebook: str, group: str, variant: str, seed: int, acc: float, rng, n_test: int = 400,
           status: str = "plateau", data: dict | None = None, correct=None, extra: dict | None = None,
           model_kwargs: dict | None = None, metrics: dict | None = None, train: dict | None = None,
           early_stopped: bool = False, config: dict | None = None):
    """One seeded run's record: test and validation accuracy ``acc``, per-image correctness (``config``: more of
    its configuration)."""
    correct = ranked_vector(acc, n_test, seed) if correct is None else correct
    val = ranked_vector(acc, 500, seed)  # each seed its own validation split, shared by the variants of that seed
    m = {"val_accuracy": float(val.mean()), "val_n": 500, "val_correct": pack_correct(val),
         "train_accuracy": min(1.0, acc + 0.05), "test_accuracy": float(correct.mean()),
         "test_n": n_test, "test_correct": pack_correct(correct), "epochs_run": 8, **(metrics or {})}
    rec = make_record(f"{group}__{variant}__seed{seed}", notebook=notebook, data=data or SYNTH,
                      config={"model": variant, "model_kwargs": model_kwargs or {}, **({"train": train} if train else {}),
                              **(config or {})},
                      seed=seed, metrics=m, group=group, variant=variant, budget=BUDGET,
                      convergence={**convergence(status), "early_stopped": early_stopped},
                      extra={"params": 1000, **(extra or {})}, wall_time_s=1.0, images_per_s=1000.0)
    return write_record(out / "results", rec)


def single(out, notebook: str, name: str, metrics: dict, data: dict | None = None, **kw):
    """A record that is not a seeded run (a data set, a selection, a summary)."""
    rec = make_record(name, notebook=notebook, data=data or SYNTH, config=kw.pop("config", {}), seed=kw.pop("seed", 0),
                      metrics=metrics, **kw)
    return write_record(out / "results", rec)


def family(out, notebook: str, group: str, means: dict[str, float], rng, seeds=(0, 1, 2), spread: float = 0.005,
           statuses: dict | None = None, **kw):
    for variant, mean in means.items():
        for s in seeds:
            seeded(out, notebook, group, variant, s, mean + rng.normal(0, spread), rng,
                   status=(statuses or {}).get(variant, "plateau"), **kw)


def blur_family(out, rng, data: dict, levels=(0, 5)):
    """Chapter 06's runs: a clean-trained model that loses accuracy at kernel 5, a blur-trained one that does not."""
    for kernel, mean in ((0, 0.8), (5, 0.78)):
        for s in (0, 1, 2):
            scores = {}
            for t in levels:
                c = correct_vector(mean - 0.2 if (kernel == 0 and t) else mean, 400, rng)
                scores.update({c06_blur_robustness.accuracy_key(t): float(c.mean()), c06_blur_robustness.correct_key(t): pack_correct(c)})
            seeded(out, c06_blur_robustness.NOTEBOOK, c06_blur_robustness.GROUP, c06_blur_robustness.variant(kernel), s, mean, rng, data=data,
                   metrics=scores)


def whole_study(out, synthetic: bool = True, seed: int = 0):
    """Records for every chapter, shaped as the notebooks write them."""
    rng = np.random.default_rng(seed)
    data = SYNTH if synthetic else REAL_BALANCED
    single(out, c00_data.NOTEBOOK, f"{c00_data.DATASET_PREFIX}emnist-balanced",
           {"name": "emnist-balanced", "train_size": 940, "test_size": 470, "num_classes": 47}, data=data)
    for model, acc in ((c01_chollet_baselines.DENSE, 0.97), (c01_chollet_baselines.CONVNET, 0.99)):
        seeded(out, c01_chollet_baselines.NOTEBOOK, c01_chollet_baselines.MNIST, model, 0, acc, rng, n_test=2000, data=REAL_MNIST)
        seeded(out, c01_chollet_baselines.NOTEBOOK, c01_chollet_baselines.LETTERS, model, 0, acc - 0.1, rng, data=data)
    family(out, c02_dnn_learning_rules.NOTEBOOK, "activation", {"relu": 0.6, "sigmoid": 0.3, "selu": 0.61}, rng,
           data=data, statuses={"sigmoid": "undetermined"})
    family(out, c02_dnn_learning_rules.NOTEBOOK, "learning_rate", {"lr=0.1": 0.6, "lr=0.0001": 0.03}, rng, data=data,
           statuses={"lr=0.0001": "did_not_train"})
    family(out, c03_cnn_depth.NOTEBOOK, c03_cnn_depth.GROUP,
           {c03_cnn_depth.ONE_CONV: 0.55, c03_cnn_depth.TWO_CONV: 0.6, c03_cnn_depth.BEST_MLP: 0.6}, rng, data=data)
    family(out, c04_regularisation_tuning.NOTEBOOK, c04_regularisation_tuning.ABLATION,
           {c04_regularisation_tuning.BASELINE: 0.7, "batch_norm": 0.75, "dropout=0.3": 0.702}, rng, data=data)
    family(out, c05_architectures.NOTEBOOK, c05_architectures.GROUP,
           {"deep_cnn": 0.8, "resnet_small": 0.79, "vit_small": 0.5}, rng, data=data, model_kwargs={"width": 0.25},
           extra={"reference": "deep_cnn"})
    blur_family(out, rng, data)
    family(out, c07_transfer_learning.NOTEBOOK, c07_transfer_learning.GROUP, {c07_transfer_learning.FROZEN: 0.7, c07_transfer_learning.SCRATCH: 0.6}, rng,
           n_test=254, data=data)
    family(out, c08_final_evaluation.NOTEBOOK, c08_final_evaluation.GROUP, {c08_final_evaluation.CNN: 0.85, c08_final_evaluation.MLP: 0.7}, rng, n_test=470,
           data=data, metrics={k: 0.8 for k in c08_final_evaluation.METRICS[1:]}, extra={"from": "sample"})
    for split, acc in (("balanced", 0.88), ("letters", 0.93)):
        family(out, c09_anchors.NOTEBOOK, split, {c09_anchors.ANCHOR: acc}, rng, n_test=470, data={**data, "split": split},
               model_kwargs={"width": 0.5}, train={"epochs": 20, "augment": True, "label_smoothing": 0.1})
