"""Chollet's MNIST baselines reproduced: the book's dense net and convnet on the full real MNIST.

Recipes (Chollet, Deep Learning with Python, 2017), each trained on all 60,000 training images,
no validation split, the model after its last epoch scored once on the 10,000 test images:

- ``chollet_dense`` (ch. 2): Dense(512, relu) + softmax; RMSprop, 5 epochs, batch 128.
- ``chollet_convnet`` (1st ed. ch. 5): Conv32-Pool-Conv64-Pool-Conv64-Dense64 + softmax;
  RMSprop, 5 epochs, batch 64.

Both at RMSprop's default learning rate (1e-3), held constant as in the book. The book's loss is
categorical cross-entropy on one-hot labels; ``emnist_lib.training`` uses the sparse form on
integer labels, the same loss without the one-hot copy. Data: the original IDX files, their
official sha256 checked (the JSON records the checksums). Interval: Wilson 95% on each test
accuracy (statsmodels, n = 10,000 test images). Target: within 0.5 points of the book's number
(``emnist_lib.conclusions.REPRODUCTION_TOLERANCE``). ``--seeds`` repeats every recipe once per
seed (weights and data order); with several seeds a summary gives the mean and the spread.

    python benchmarks/reproduce_chollet.py --json benchmarks/results/reproduce_chollet.json
    python benchmarks/reproduce_chollet.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys

RECIPES = {
    "chollet_dense": {"optimizer": "rmsprop", "learning_rate": 1e-3, "schedule": "constant", "epochs": 5,
                      "batch_size": 128},
    "chollet_convnet": {"optimizer": "rmsprop", "learning_rate": 1e-3, "schedule": "constant", "epochs": 5,
                        "batch_size": 64},
}
CONFIDENCE = 0.95


def run(ds, model: str, seed: int) -> dict:
    """Train ``model`` with its book recipe and ``seed``; score it on the test set."""
    from statsmodels.stats.proportion import proportion_confint

    from emnist_lib.conclusions import BOOK, REPRODUCTION_TOLERANCE
    from emnist_lib.training import TrainConfig, train

    cfg = TrainConfig(**RECIPES[model], validation_fraction=0.0, seed=seed)
    res = train(model, ds.x_train, ds.y_train, ds.num_classes, cfg, use_cache=False, verbose=0)
    pred = res.model.predict(ds.x_test, batch_size=1000, verbose=0).argmax(axis=1)
    correct, n = int((pred == ds.y_test).sum()), len(ds.y_test)
    low, high = proportion_confint(correct, n, alpha=1 - CONFIDENCE, method="wilson")
    book, source = BOOK[model]
    acc = correct / n
    return {"model": model, "seed": seed, "config": res.config, "budget": res.budget, "params": res.params,
            "test_accuracy": acc, "correct": correct, "n_test": n, "wilson_95": [low, high],
            "book_accuracy": book, "book_source": source, "difference_points": 100 * (acc - book),
            "within_target": abs(acc - book) <= REPRODUCTION_TOLERANCE, "tolerance_points": 100 * REPRODUCTION_TOLERANCE,
            "history": res.history, "convergence": res.convergence["status"], "wall_time_s": res.wall_time_s,
            "images_per_s": res.images_per_s}


def row(r: dict) -> str:
    low, high = r["wilson_95"]
    return (f"| {r['model']} | {r['seed']} | {100 * r['test_accuracy']:.2f}% | [{100 * low:.2f}, {100 * high:.2f}] | "
            f"{100 * r['book_accuracy']:.1f}% | {r['difference_points']:+.2f} | {'yes' if r['within_target'] else 'NO'} | "
            f"{r['wall_time_s']:.0f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="*", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--seeds", nargs="*", type=int, default=[0], help="one run per model per seed")
    parser.add_argument("--json", help="also write every run (config, history, data checksums) to this JSON file")
    args = parser.parse_args()

    from emnist_lib.mnist import candidate_folders, find_idx_folder

    if find_idx_folder() is None:
        print("SKIPPED: the original MNIST IDX files are not in any of "
              f"{', '.join(str(f) for f in candidate_folders())}; the book's numbers are on real MNIST, "
              "so this reproduction does not run on stand-in data.")
        return 0

    from emnist_lib.mnist import load_mnist
    from emnist_lib.results import hardware, versions

    ds = load_mnist(source="idx")
    hw, ver = hardware(), versions()
    print(f"real MNIST ({ds.provenance['folder']}, official sha256 checked): {len(ds.y_train):,} train / "
          f"{len(ds.y_test):,} test images; seeds {args.seeds}; {hw['cpu']}, {hw['cores']} cores; "
          f"TF {ver.get('tensorflow-cpu') or ver.get('tensorflow')}, Keras {ver.get('keras')}\n")
    for model in args.models:
        print(f"- {model}: {RECIPES[model]}, no validation split")
    print("\n| model | seed | test accuracy | Wilson 95% | book | difference (points) | within 0.5 points | "
          "train s |\n|---|---|---|---|---|---|---|---|", flush=True)
    runs = []
    for model in args.models:
        for seed in args.seeds:
            runs.append(run(ds, model, seed))
            print(row(runs[-1]), flush=True)
    summary = []
    if len(args.seeds) > 1:
        print("\n| model | mean test accuracy | sd over seeds | book | mean difference (points) | runs within target |"
              "\n|---|---|---|---|---|---|")
        for model in args.models:
            accs = [r["test_accuracy"] for r in runs if r["model"] == model]
            within = sum(r["within_target"] for r in runs if r["model"] == model)
            book = next(r["book_accuracy"] for r in runs if r["model"] == model)
            summary.append({"model": model, "mean": statistics.mean(accs), "sd": statistics.stdev(accs),
                            "runs_within_target": within, "runs": len(accs)})
            print(f"| {model} | {100 * statistics.mean(accs):.2f}% | {100 * statistics.stdev(accs):.2f} | "
                  f"{100 * book:.1f}% | {100 * (statistics.mean(accs) - book):+.2f} | {within}/{len(accs)} |")
    if args.json:
        from emnist_lib.fileio import atomic_path

        record = {"args": vars(args), "data": ds.provenance, "hardware": hw, "versions": ver,
                  "interval": f"Wilson {100 * CONFIDENCE:.0f}% (statsmodels proportion_confint)",
                  "runs": runs, "summary": summary}
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps(record, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
