"""The GPU path, one command away from being checked: the full profile's architectures chapter (every model of
``params/full/05_architectures.yaml`` at full width) on the full training data at hand, with mixed precision and a
batch of 512, one seed, timed per model, with its test accuracy.

It keeps under ``--budget-s`` seconds in all (default 420: under 8 minutes with start-up): after each model's
first epoch it caps the model's epochs so the rest fits its share of what is left, and records both the planned and
the run epochs. Without a GPU it refuses unless ``--allow-cpu`` (then it shrinks the data: a check of the script).

    python benchmarks/gpu_check.py --json benchmarks/results/gpu_check.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-s", type=float, default=420.0)
    parser.add_argument("--n-train", type=int, default=0, help="training images (0: everything the source holds)")
    parser.add_argument("--allow-cpu", action="store_true", help="run without a GPU, on 2,820 images (a script check)")
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args()

    import keras
    import numpy as np

    from emnist_lib import results, training
    from emnist_lib.data import load_emnist
    from emnist_lib.recipe import TrainConfig

    gpu = training.has_gpu()
    if not gpu and not args.allow_cpu:
        print("no GPU here: this check is for a GPU machine (--allow-cpu runs it small, as a script check)")
        return 2
    params = yaml.safe_load((ROOT / "params" / "full" / "05_architectures.yaml").read_text())
    n_train = args.n_train or (0 if gpu else 2820)
    start = time.perf_counter()
    ds = load_emnist("balanced", n_train=n_train or None, n_test=4700 if gpu else 470)
    data_s = time.perf_counter() - start
    print(f"data: {ds.name} ({ds.provenance.get('source')}), {len(ds.y_train):,} training images, {data_s:.0f} s")
    planned = int(params["epochs"])
    rows = []
    for i, name in enumerate(params["model_names"]):
        left = args.budget_s - (time.perf_counter() - start)
        share = left / (len(params["model_names"]) - i)
        if share < 5:
            rows.append({"model": name, "skipped": "time budget spent"})
            continue
        kwargs = params["model_kwargs"].get(name, {})
        cfg = TrainConfig(epochs=1, batch_size=512, learning_rate=float(params["learning_rate"]), seed=0)
        first = training.train(name, ds.x_train, ds.y_train, ds.num_classes, cfg, kwargs, use_cache=False, verbose=0)
        per_epoch = max(first.wall_time_s, 1e-3)
        epochs = max(1, min(planned, int(share / per_epoch)))
        cfg = TrainConfig(epochs=epochs, batch_size=512, learning_rate=float(params["learning_rate"]), seed=0)
        res = training.train(name, ds.x_train, ds.y_train, ds.num_classes, cfg, kwargs, use_cache=False, verbose=0)
        acc = float((res.model.predict(ds.x_test, batch_size=1024, verbose=0).argmax(1) == ds.y_test).mean())
        rows.append({"model": name, "width": kwargs.get("width", 1.0), "epochs_planned": planned, "epochs_run": epochs,
                     "first_epoch_s": round(per_epoch, 1), "wall_s": round(res.wall_time_s, 1),
                     "images_per_s": round(res.images_per_s), "test_accuracy": round(acc, 4),
                     "convergence": res.convergence.status.value, "params": res.params})
        print(json.dumps(rows[-1]), flush=True)
        keras.backend.clear_session()
    out = {"what": "full-profile architectures, one seed, mixed precision on a GPU, batch 512",
           "policy": training.accelerator_defaults()["policy"], "gpu": gpu, "data": ds.record_provenance,
           "n_train": int(len(ds.y_train)), "n_test": int(len(ds.y_test)), "data_s": round(data_s, 1),
           "total_s": round(time.perf_counter() - start, 1), "hardware": results.hardware(),
           "versions": results.versions(), "rows": rows, "numpy": np.__version__}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
