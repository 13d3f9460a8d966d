"""Does a model trained only on synthetic EMNIST work on real handwriting?

Trains the project's ``chollet_convnet`` with the book recipe (RMSprop 1e-3, constant,
batch 64, 5 epochs, no validation split) only on synthetic data -- 20,000 digits of the
``digits`` split, or 26,000 letters of the ``letters`` split -- and scores it on real
handwriting it never saw:

- real MNIST digits re-framed the EMNIST way (bounding box, aspect kept, 24x24 inside a
  2-pixel border: :func:`emnist_lib.framing.reframe`). ``--real-set dev`` uses the last
  10,000 *training* digits (the development set the generator was tuned on);
  ``--real-set test`` the 10,000 test digits (reported once, at the end of tuning);
- the 52 real EMNIST letters of the shared data folder.

It also compares summary statistics (mean ink, stroke width, slant, aspect; same code on
both sides) and draws synthetic and real samples side by side per class. Targets (issue 9):
95% on re-framed real MNIST test, 85% on the 52 letters, ink and stroke width within 10%.
Intervals: Wilson 95% (statsmodels). Needs ``../shared/data`` (or ``EMNIST_SHARED_DATA``);
without it, it says so and exits 0.

    python benchmarks/realism_check.py --real-set test --json benchmarks/results/realism_check.json \\
        --figure benchmarks/results/realism_samples.png
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

RECIPE = {"optimizer": "rmsprop", "learning_rate": 1e-3, "schedule": "constant", "epochs": 5, "batch_size": 64,
          "validation_fraction": 0.0}
N_DIGITS, N_LETTERS = 20_000, 26_000
DEV_SLICE = slice(50_000, 60_000)


def wilson(correct: int, n: int) -> list[float]:
    from statsmodels.stats.proportion import proportion_confint

    return list(proportion_confint(correct, n, alpha=0.05, method="wilson"))


def train_on(split: str, n_train: int, seed: int, root: Path):
    """chollet_convnet trained on ``n_train`` synthetic images of ``split``; returns (model, synthetic test)."""
    from emnist_lib.data import load_emnist
    from emnist_lib.training import TrainConfig, train

    ds = load_emnist(split, source="synthetic", n_train=n_train, n_test=n_train // 10, seed=seed)
    cfg = TrainConfig(**RECIPE, seed=seed)
    res = train("chollet_convnet", ds.x_train, ds.y_train, ds.num_classes, cfg, use_cache=False, verbose=0)
    return res.model, ds


def score(model, x, y) -> dict:
    pred = model.predict(x, batch_size=1000, verbose=0).argmax(1)
    correct = int((pred == y).sum())
    return {"accuracy": correct / len(y), "correct": correct, "n": int(len(y)), "wilson_95": wilson(correct, len(y))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--real-set", choices=("dev", "test"), default="dev")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-letters", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--figure", type=Path)
    args = parser.parse_args()

    from emnist_lib import config, framing, realism, synthetic
    from emnist_lib.data import env_summary, load_real_letters_sample
    from emnist_lib.mnist import load_mnist

    if config.shared_data_dir() is None:
        print("no real data (../shared/data or EMNIST_SHARED_DATA): nothing real to compare with")
        return 0
    mnist = load_mnist("idx")
    if args.real_set == "dev":
        x_real, y_real = framing.reframe(mnist.x_train[DEV_SLICE]), mnist.y_train[DEV_SLICE]
    else:
        x_real, y_real = framing.reframe(mnist.x_test), mnist.y_test
    out = {"generator_version": synthetic.GENERATOR_VERSION, "recipe": RECIPE, "seed": args.seed,
           "real_set": args.real_set, "environment": env_summary()}
    with tempfile.TemporaryDirectory() as tmp:
        import os

        os.environ["EMNIST_CACHE_DIR"] = tmp
        model, syn = train_on("digits", N_DIGITS, args.seed, Path(tmp))
        out["digits"] = {"synthetic_test": score(model, syn.x_test, syn.y_test),
                         "real_mnist_reframed": score(model, x_real, y_real),
                         "stats_synthetic": realism.summary(syn.x_train[:5000]),
                         "stats_real": realism.summary(x_real[:5000])}
        out["digits"]["relative_difference"] = realism.compare(out["digits"]["stats_real"],
                                                              out["digits"]["stats_synthetic"])
        pairs = [(str(d), syn.x_train[syn.y_train == d], x_real[y_real == d]) for d in range(10)]
        if not args.skip_letters:
            model, syn = train_on("letters", N_LETTERS, args.seed, Path(tmp))
            x_let, y_let = load_real_letters_sample()
            out["letters"] = {"synthetic_test": score(model, syn.x_test, syn.y_test),
                              "real_emnist_letters_52": score(model, x_let, y_let),
                              "stats_synthetic": realism.summary(syn.x_train[:5000]),
                              "stats_real": realism.summary(x_let)}
            out["letters"]["relative_difference"] = realism.compare(out["letters"]["stats_real"],
                                                                   out["letters"]["stats_synthetic"])
            names = syn.class_names
            pairs += [(names[c], syn.x_train[syn.y_train == c], x_let[y_let == c]) for c in range(1, 27)]
    for part in ("digits", "letters"):
        if part not in out:
            continue
        for name, s in out[part].items():
            if "accuracy" in s:
                lo, hi = s["wilson_95"]
                print(f"{part:8s} {name:24s} {100 * s['accuracy']:6.2f}%  [{100 * lo:.2f}, {100 * hi:.2f}]  n={s['n']}")
        for k, v in out[part]["relative_difference"].items():
            print(f"{part:8s} {k:24s} synthetic {out[part]['stats_synthetic'][k]:.3f} vs real "
                  f"{out[part]['stats_real'][k]:.3f} ({100 * v:+.1f}%)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2, sort_keys=True))
    if args.figure:
        from emnist_lib import plots

        args.figure.parent.mkdir(parents=True, exist_ok=True)
        plots.save(plots.real_vs_synthetic(pairs, f"Synthetic EMNIST {synthetic.GENERATOR_VERSION} vs real handwriting"),
                   args.figure)
    return 0


if __name__ == "__main__":
    sys.exit(main())
