"""What one run costs with its training state created before ``fit``, against Keras' default.

Baseline ("Keras default"): ``emnist_lib.training.train`` with :func:`~emnist_lib.training.build_state`
switched off, so Keras creates the optimizer slots and the accuracy metric's variables inside the first trace of
the train step; a ``tf.function`` that creates variables is then traced a second time (the whole forward and
backward graph, twice). Project: ``train`` as it is, the state created ahead, one trace.

Every model of chapter 05 at its quick-profile width, and chapter 02's MLP and chapter 04's CNN, each for the
quick profile's 6 epochs of 2,820 images at batch 64 (5 for the MLP at batch 128, as in 02), on separable
synthetic images. Both variants train the same seed on the same images in the same process, their order
alternating between repeats after one warm-up run; the time is the whole ``train`` call (build, both traces,
every epoch and its validation), the best of the repeats. It also checks that both give the same history.
Records the CPU's instruction set with the result.

    python benchmarks/bench_trace.py --json benchmarks/results/bench_trace.json
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

MODELS = (("deep_cnn", {"width": 0.25}, 64, 6), ("deep_cnn_se", {"width": 0.25}, 64, 6),
          ("resnet_small", {"width": 0.25, "stem_stride": 2}, 64, 6),
          ("mobilenet_small", {"width": 0.5, "stem_stride": 2}, 64, 6),
          ("vit_small", {"width": 0.5, "patch_size": 7}, 64, 6), ("cnn", {}, 64, 6), ("mlp", {}, 128, 5))


def images(n: int = 2820, classes: int = 47, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    templates = rng.integers(0, 255, (classes, 28, 28))
    return np.clip(0.5 * templates[y] + rng.normal(0, 60, (n, 28, 28)), 0, 255).astype(np.uint8), y


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args()

    from emnist_lib import training
    from emnist_lib.results import hardware
    from emnist_lib.training import TrainConfig, train

    ahead = training.build_state
    x, y = images()

    def run(variant, name, kwargs, batch, epochs):
        training.build_state = ahead if variant == "project" else (lambda model: None)
        start = time.perf_counter()
        res = train(name, x, y, 47, TrainConfig(epochs=epochs, batch_size=batch, learning_rate=2e-3, seed=0), kwargs,
                    use_cache=False, verbose=0)
        return time.perf_counter() - start, res.history

    run("project", "mlp", {}, 128, 1)  # warm-up: TensorFlow's one-off start-up costs
    rows = []
    for name, kwargs, batch, epochs in MODELS:
        times, hist = {"baseline": [], "project": []}, {}
        for r in range(args.repeats):
            for variant in (("baseline", "project") if r % 2 == 0 else ("project", "baseline")):
                t, hist[variant] = run(variant, name, kwargs, batch, epochs)
                times[variant].append(t)
        base, proj = min(times["baseline"]), min(times["project"])
        rows.append({"model": name, "model_kwargs": kwargs, "baseline_s": round(base, 2), "project_s": round(proj, 2),
                     "ratio": round(proj / base, 3), "saved_s": round(base - proj, 2),
                     "same_history": hist["baseline"] == hist["project"]})
    training.build_state = ahead
    print("| model | Keras default (s) | state built ahead (s) | ratio | saved per run (s) | same history |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['baseline_s']:.2f} | {r['project_s']:.2f} | {r['ratio']:.2f} | {r['saved_s']:.2f} "
              f"| {'yes' if r['same_history'] else 'NO'} |")
    hw = hardware()
    print(f"CPU: {hw.get('cpu')} ({hw.get('isa')}); best of {args.repeats}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"rows": rows, "hardware": hw, "repeats": args.repeats}, fh, indent=1)
    return 0 if all(r["same_history"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
