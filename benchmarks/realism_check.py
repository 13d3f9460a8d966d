"""Sanity check of the synthetic data's realism (not a speed benchmark, not a target).

Trains a small CNN (keras_io_convnet) only on synthetic EMNIST letters, then evaluates it on
the 52 real EMNIST letters test images in ../shared/data/emnist (or EMNIST_SHARED_DATA).
Prints accuracy on the synthetic test set and on the real images.
"""

from __future__ import annotations

import argparse
import sys

from emnist_lib import config
from emnist_lib.data import load_emnist, load_real_letters_sample
from emnist_lib.training import TrainConfig, train


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-train", type=int, default=26 * 1000)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--model", default="keras_io_convnet")
    args = parser.parse_args()
    shared = config.shared_data_dir()
    if shared is None:
        print("no ../shared/data: nothing real to compare with")
        return 0
    x_real, y_real = load_real_letters_sample(shared)
    ds = load_emnist("letters", source="synthetic", synthetic_train=args.n_train, synthetic_test=26 * 100)
    cfg = TrainConfig(epochs=args.epochs, augment=False, seed=0)
    res = train(args.model, ds.x_train, ds.y_train, ds.num_classes, cfg, verbose=0)
    syn = float((res.model.predict(ds.x_test, verbose=0).argmax(1) == ds.y_test).mean())
    pred = res.model.predict(x_real, verbose=0).argmax(1)
    real = float((pred == y_real).mean())
    distinct = float((pred[:26] == y_real[:26]).mean())
    print(f"{args.model}, {len(ds.y_train)} synthetic letters, {args.epochs} epochs")
    print(f"synthetic test accuracy: {syn:.3f}")
    print(f"real EMNIST letters (52 images): {real:.3f}  (one of each letter: {distinct:.3f}; "
          f"chance 1/26 = {1 / 26:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
