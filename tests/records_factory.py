"""Sample result records in the study's format, for tests of the analysis and the report."""

from __future__ import annotations

import numpy as np

from emnist_lib.results import make_record, pack_correct, write_record
from emnist_lib.training import CONVERGENCE_CRITERION

SYNTH = {"source": "synthetic", "split": "balanced", "train_size": 940, "test_size": 470,
         "generator": {"generator_version": "1.0"}}
REAL_MNIST = {"source": "mnist", "split": "mnist", "train_size": 60000, "test_size": 10000}


def convergence(status: str = "converged") -> dict:
    return {"status": status, "reason": f"sample: {status}", "criterion": CONVERGENCE_CRITERION, "best": 0.5,
            "chance": 0.02, "gain_last_quarter": 0.0, "threshold": 0.01, "early_stopped": False, "epochs_run": 8}


BUDGET = {"epochs": 8, "steps_per_epoch": 30, "steps": 240, "images": 15360, "train_images": 846,
          "batch_size": 64, "schedule": "cosine"}


def correct_vector(acc: float, n: int, rng) -> np.ndarray:
    v = np.zeros(n, bool)
    v[rng.choice(n, round(acc * n), replace=False)] = True
    return v


def seeded(out, notebook: str, group: str, variant: str, seed: int, acc: float, rng, n_test: int = 400,
           status: str = "converged", data: dict | None = None, correct=None, extra: dict | None = None,
           model_kwargs: dict | None = None, metrics: dict | None = None):
    """One seeded run's record: test and validation accuracy ``acc``, per-image correctness."""
    correct = correct_vector(acc, n_test, rng) if correct is None else correct
    m = {"val_accuracy": acc, "train_accuracy": min(1.0, acc + 0.05), "test_accuracy": float(correct.mean()),
         "test_n": n_test, "test_correct": pack_correct(correct), "epochs_run": 8, **(metrics or {})}
    rec = make_record(f"{group}__{variant}__seed{seed}", notebook=notebook, data=data or SYNTH,
                      config={"model": variant, "model_kwargs": model_kwargs or {}}, seed=seed, metrics=m,
                      group=group, variant=variant, budget=BUDGET, convergence=convergence(status),
                      extra={"params": 1000, **(extra or {})}, wall_time_s=1.0, images_per_s=1000.0)
    return write_record(out / "results", rec)


def family(out, notebook: str, group: str, means: dict[str, float], rng, seeds=(0, 1, 2), spread: float = 0.005,
           statuses: dict | None = None, **kw):
    for variant, mean in means.items():
        for s in seeds:
            seeded(out, notebook, group, variant, s, mean + rng.normal(0, spread), rng,
                   status=(statuses or {}).get(variant, "converged"), **kw)


def whole_study(out, synthetic: bool = True, seed: int = 0):
    """Records for every notebook, shaped as the notebooks write them."""
    rng = np.random.default_rng(seed)
    data = SYNTH if synthetic else {"source": "nist", "split": "balanced", "train_size": 112800,
                                    "test_size": 18800, "sha256": {"f.gz": "ab" * 32}}
    write_record(out / "results", make_record("dataset_emnist-balanced", notebook="00_data", data=data, config={},
                                              seed=0, metrics={"name": "emnist-balanced", "train_size": 940,
                                                               "test_size": 470, "num_classes": 47}))
    for model, acc in (("chollet_dense", 0.97), ("chollet_convnet", 0.99)):
        seeded(out, "01_chollet_baselines", "mnist", model, 0, acc, rng, n_test=2000, data=REAL_MNIST)
        seeded(out, "01_chollet_baselines", "letters", model, 0, acc - 0.1, rng, data=data)
    family(out, "02_dnn_learning_rules", "activation", {"relu": 0.6, "sigmoid": 0.3, "selu": 0.61}, rng,
           data=data, statuses={"sigmoid": "still_improving"})
    family(out, "02_dnn_learning_rules", "learning_rate", {"lr=0.1": 0.6, "lr=0.0001": 0.03}, rng, data=data,
           statuses={"lr=0.0001": "did_not_train"})
    family(out, "03_cnn_depth", "depth", {"1 conv": 0.55, "2 conv": 0.6, "best MLP": 0.6}, rng, data=data)
    family(out, "04_regularisation_tuning", "ablation", {"baseline": 0.7, "batch_norm": 0.75, "dropout=0.3": 0.702},
           rng, data=data)
    family(out, "05_architectures", "architecture", {"deep_cnn": 0.8, "resnet_small": 0.79, "vit_small": 0.5},
           rng, data=data, model_kwargs={"width": 0.25})
    for variant, mean in (("clean", 0.8), ("kernel 5", 0.78)):
        for s in (0, 1, 2):
            c0, c5 = correct_vector(mean, 400, rng), correct_vector(mean - 0.2 if variant == "clean" else mean, 400, rng)
            seeded(out, "06_blur_robustness", "blur", variant, s, mean, rng, data=data,
                   metrics={"test_accuracy_blur_0": float(c0.mean()), "test_correct_blur_0": pack_correct(c0),
                            "test_accuracy_blur_5": float(c5.mean()), "test_correct_blur_5": pack_correct(c5)})
    family(out, "07_transfer_learning", "transfer", {"frozen": 0.7, "scratch": 0.6}, rng, n_test=254, data=data)
    family(out, "08_final_evaluation", "final", {"cnn": 0.85, "mlp": 0.7}, rng, n_test=470, data=data,
           metrics={k: 0.8 for k in ("test_precision_macro", "test_recall_macro", "test_f1_macro",
                                     "test_top_k_accuracy")}, extra={"from": "sample"})
