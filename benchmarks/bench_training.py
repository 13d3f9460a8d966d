"""Training throughput of every builder: the project's path vs. a seed-style baseline.

Baseline (named "keras default"): ``model.fit`` on float32 arrays scaled to 0..1 outside
the model, one-hot labels, categorical cross-entropy, Keras' default batch size (32).
Project path: ``emnist_lib.training.train`` (uint8 tf.data pipeline, sparse labels,
batch 256 on CPU, fixed prefetch). Same model, data, epochs and seed; throughput is
images/s of the fastest epoch (the first includes tracing). Accuracy is on the same
held-out test set after the same number of epochs.
"""

from __future__ import annotations

import argparse
import sys
import time

import keras

from emnist_lib import models
from emnist_lib.data import load_emnist
from emnist_lib.training import TrainConfig, set_seed, train


class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.t = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times = getattr(self, "times", []) + [time.perf_counter() - self.t]


def baseline(name, ds, epochs, seed):
    keras.backend.clear_session()
    set_seed(seed)
    model = models.build(name, ds.num_classes)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy", metrics=["accuracy"])
    x = ds.x_train.astype("float32")  # the model's Rescaling layer still divides by 255
    y = keras.utils.to_categorical(ds.y_train, ds.num_classes)
    timer = EpochTimer()
    model.fit(x, y, epochs=epochs, verbose=0, callbacks=[timer])
    acc = float((model.predict(ds.x_test.astype("float32"), verbose=0).argmax(1) == ds.y_test).mean())
    return len(x) / min(timer.times), acc


def ours(name, ds, epochs, seed):
    res = train(name, ds.x_train, ds.y_train, ds.num_classes,
                TrainConfig(epochs=epochs, validation_fraction=0.0, seed=seed), use_cache=False, verbose=0)
    acc = float((res.model.predict(ds.x_test, verbose=0).argmax(1) == ds.y_test).mean())
    return res.images_per_s, acc


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="*", default=sorted(models.REGISTRY))
    parser.add_argument("--n-train", type=int, default=6240)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    ds = load_emnist("letters", source="synthetic", synthetic_train=args.n_train, synthetic_test=1040)
    print(f"synthetic letters, {len(ds.y_train)} train / {len(ds.y_test)} test images, {args.epochs} epochs\n")
    print("| model | baseline images/s | project images/s | speed-up | baseline acc | project acc |")
    print("|---|---|---|---|---|---|")
    for name in args.models:
        b_rate, b_acc = baseline(name, ds, args.epochs, 0)
        o_rate, o_acc = ours(name, ds, args.epochs, 0)
        print(f"| {name} | {b_rate:,.0f} | {o_rate:,.0f} | {o_rate / b_rate:.2f}x | {b_acc:.3f} | {o_acc:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
