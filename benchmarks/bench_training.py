"""Training throughput of every builder: the project's path vs. a seed-style baseline.

Baseline ("keras defaults"), what a notebook written from the Keras examples does:
``keras.utils.set_random_seed``, ``compile(optimizer="adam", loss="categorical_crossentropy")``
with every other compile argument at its default (``jit_compile="auto"``: XLA only where a GPU
is), ``model.fit`` on float32 arrays with one-hot labels and Keras' default
batch size (32).

Project path: ``emnist_lib.training.train`` with its defaults (uint8 tf.data pipeline with
cache, seeded shuffle, repeat + steps_per_epoch and fixed prefetch; sparse labels; 32 training
steps per graph call; XLA off on a CPU; automatic batch: 32 for convolutional models, 256 for
dense-only ones on a CPU).

``--decompose`` adds the project path with one step per graph call
(``STEPS_PER_EXECUTION = 1``), to show how much of the speed-up is the input pipeline and how
much is running several steps per call. (Keras' ``jit_compile="auto"`` leaves XLA off on
CPU-only machines, so both paths run without XLA here.)

Every measurement runs in its own Python process, so none inherits another's state (op
determinism, which the project enables, is process-wide). Variants alternate
their order between repeats; repeat r uses seed r. Throughput is images/s of the fastest
epoch (the first one includes graph tracing), the same rule for every variant; accuracy is on
the same held-out synthetic test set after the same number of epochs. Same data, same model
builder, same epochs, same machine, same run.

    python benchmarks/bench_training.py --models chollet_convnet --n-train 12480 --repeats 3 --decompose
    python benchmarks/bench_training.py --n-train 3120            # every builder, one repeat
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

VARIANTS = ("baseline", "project_1_step", "project")
LABELS = {"baseline": "baseline (Keras defaults)", "project_1_step": "project, 1 step per call", "project": "project"}


def load(args):
    from emnist_lib.data import load_emnist

    return load_emnist("letters", source="synthetic", n_train=args.n_train, n_test=args.n_test)


def worker(args) -> dict:
    """One measurement, in this (fresh) process."""
    import keras

    from emnist_lib import models, training
    from emnist_lib.training import TrainConfig, train

    ds = load(args)
    if args.worker.startswith("project"):
        if args.worker == "project_1_step":
            training.STEPS_PER_EXECUTION = 1
        res = train(args.model, ds.x_train, ds.y_train, ds.num_classes,
                    TrainConfig(epochs=args.epochs, validation_fraction=0.0, seed=args.seed),
                    use_cache=False, verbose=0)
        model, rate, batch = res.model, res.images_per_s, res.config["batch_size"]
    else:
        class EpochTimer(keras.callbacks.Callback):
            times: list = []

            def on_epoch_begin(self, epoch, logs=None):
                self.t = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.times = self.times + [time.perf_counter() - self.t]

        keras.utils.set_random_seed(args.seed)
        model = models.build(args.model, ds.num_classes)
        model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        x = ds.x_train.astype("float32")  # the model's Rescaling layer divides by 255
        y = keras.utils.to_categorical(ds.y_train, ds.num_classes)
        timer = EpochTimer()
        model.fit(x, y, epochs=args.epochs, verbose=0, callbacks=[timer])
        rate, batch = len(x) / min(timer.times), 32
    pred = model.predict(ds.x_test.astype("float32"), verbose=0, batch_size=512).argmax(1)
    return {"images_per_s": rate, "accuracy": float((pred == ds.y_test).mean()), "batch_size": batch,
            "jit_compile": str(model.jit_compile)}


def measure(args, variant: str, model: str, seed: int) -> dict:
    cmd = [sys.executable, __file__, "--worker", variant, "--model", model, "--seed", str(seed),
           "--n-train", str(args.n_train), "--n-test", str(args.n_test), "--epochs", str(args.epochs)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{variant} {model} seed {seed} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    from emnist_lib import models
    from emnist_lib.results import hardware, versions

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="*", default=sorted(models.REGISTRY))
    parser.add_argument("--n-train", type=int, default=3120)
    parser.add_argument("--n-test", type=int, default=2600)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1, help="seeds 0..R-1, variants alternating order")
    parser.add_argument("--decompose", action="store_true", help="also time the project path with one step per graph call")
    parser.add_argument("--json", help="also write every measurement to this JSON file")
    parser.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return 0
    unknown = sorted(set(args.models) - set(models.REGISTRY))
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; registered: {', '.join(sorted(models.REGISTRY))}")

    ds = load(args)  # generate (or reuse) the synthetic set once, before the workers read it
    hw, ver = hardware(), versions()
    print(f"synthetic letters (generator {ds.provenance['generator']['generator_version']}), {len(ds.y_train)} train / "
          f"{len(ds.y_test)} test images, {args.epochs} epochs, {args.repeats} repeat(s); "
          f"{hw['cpu']}, {hw['cores']} cores; TF {ver.get('tensorflow-cpu') or ver.get('tensorflow')}, "
          f"Keras {ver.get('keras')}\n")
    variants = [v for v in VARIANTS if args.decompose or v != "project_1_step"]
    head = ["model"] + [f"{LABELS[v]} img/s" for v in variants] + ["speed-up"]
    head += [f"{LABELS[v]} acc" for v in variants] + ["project batch"]
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head), flush=True)
    rows = []
    for name in args.models:
        runs = {v: [] for v in variants}
        for rep in range(args.repeats):
            order = variants if rep % 2 == 0 else variants[::-1]
            for v in order:
                runs[v].append(measure(args, v, name, seed=rep))
        rate = {v: statistics.median(r["images_per_s"] for r in runs[v]) for v in variants}
        acc = {v: statistics.mean(r["accuracy"] for r in runs[v]) for v in variants}
        spread = {v: (max(r["accuracy"] for r in runs[v]) - min(r["accuracy"] for r in runs[v])) / 2
                  for v in variants}
        ratios = [p["images_per_s"] / b["images_per_s"] for p, b in zip(runs["project"], runs["baseline"])]
        speedup = statistics.median(ratios)
        cells = [name] + [f"{rate[v]:,.0f}" for v in variants] + [f"{speedup:.2f}x"]
        cells += [f"{acc[v]:.3f}" + (f" ± {spread[v]:.3f}" if args.repeats > 1 else "") for v in variants]
        cells += [str(runs["project"][0]["batch_size"])]
        print("| " + " | ".join(cells) + " |", flush=True)
        rows.append({"model": name, "runs": runs, "median_images_per_s": rate, "mean_accuracy": acc,
                     "speedup_per_repeat": ratios, "speedup_median": speedup})
    target = next((r for r in rows if r["model"] == "chollet_convnet"), None)
    if target:
        acc_gap = target["mean_accuracy"]["project"] - target["mean_accuracy"]["baseline"]
        met = target["speedup_median"] >= 1.3 and acc_gap >= -0.01
        print(f"\nchollet_convnet: {target['speedup_median']:.2f}x (per repeat: "
              f"{', '.join(f'{r:.2f}' for r in target['speedup_per_repeat'])}), accuracy "
              f"{acc_gap:+.3f} vs baseline; target >= 1.3x with accuracy at most 0.01 below the baseline: "
              f"{'MET' if met else 'NOT MET'}")
    if args.json:
        from emnist_lib.fileio import atomic_path

        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps({"args": {k: v for k, v in vars(args).items() if k not in ("worker", "model", "seed")},
                                       "hardware": hw, "versions": ver, "rows": rows}, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
