"""Where one run's time goes, in process: training steps, tracing, scoring, and shipping its data set to a worker.

A comparison's runs cost more than their training steps (issue 23: in process, the quick profile's runs trained for
494 s of its 832 s of notebooks). This profiles the seed loop (``run_recipes``, in process, one thread) over a few
runs at the quick profile's sizes (balanced, 9,400 training images: four MLPs, two small CNNs) with cProfile, and
prints the share of the time in TensorFlow's graph execution, in tracing (``tf.function`` building its graphs, once
per model), in scoring (``test_metrics``), and what pickling the data set a worker's task carries costs.

    python benchmarks/run_phases.py [--source auto|synthetic]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pickle
import pstats
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="auto", help="balanced's source: auto (real where present) or synthetic")
    args = parser.parse_args()
    # An empty model cache, so every run trains (the data cache too: building the split is not profiled).
    os.environ.update(EMNIST_EXECUTOR="inline", EMNIST_PROGRESS="0", EMNIST_THREADS="1",
                      EMNIST_CACHE_DIR=tempfile.mkdtemp(prefix="run_phases-cache-"))
    import cloudpickle

    from emnist_lib.executors import pin_threads
    from emnist_lib.loaders import load_split
    from emnist_lib.recipe import Recipe, TrainConfig
    from emnist_lib.results import hardware
    from emnist_lib.study import run_recipes, start

    pin_threads(1)
    ds = load_split("balanced", args.source, 9400, 2820, 0)
    start_t = time.perf_counter()
    payload = cloudpickle.dumps(ds)
    pickled = time.perf_counter() - start_t
    cnn = {"filters": [16, 32], "kernel_size": 3, "pooling": "max", "dense_units": 128}
    recipes = [Recipe(f"mlp{i}", "mlp", {"hidden": [256, 128]}, TrainConfig(epochs=5, batch_size=128,
                                                                           learning_rate=1e-3 * (i + 1)))
               for i in range(4)]
    recipes += [Recipe(f"cnn{i}", "cnn", cnn, TrainConfig(epochs=6, batch_size=64, learning_rate=1e-3 * (i + 1)))
                for i in range(2)]
    study = start("02_dnn_learning_rules", tempfile.mkdtemp(prefix="run_phases-"), 0)
    profile = cProfile.Profile()
    start_t = time.perf_counter()
    profile.enable()
    runs = run_recipes(study, ds, recipes, [0], "phases")
    profile.disable()
    total = time.perf_counter() - start_t
    stats = pstats.Stats(profile).stats

    def cumulative(name: str, file_part: str) -> float:
        return sum(v[3] for (file, _, func), v in stats.items() if func == name and file_part in file)

    parts = {"graph execution (TFE_Py_Execute)": sum(v[3] for (_, _, f), v in stats.items()
                                                     if f == "<built-in method tensorflow.python._pywrap_tfe.TFE_Py_Execute>"),
             "tracing (tf.function graphs)": cumulative("_create_concrete_function", "tracing_compilation"),
             "scoring (test_metrics)": cumulative("test_metrics", "emnist_lib/study.py")}
    print(f"balanced from {ds.source}; {hardware()}")
    print(f"{len(runs.rows())} runs in {total:.1f} s; their fit() wall times add up to "
          f"{sum(r.result.wall_time_s for r in runs):.1f} s")
    for label, seconds in parts.items():
        print(f"  {label}: {seconds:.1f} s ({seconds / total:.0%})")
    print(f"  pickling the data set a task carries: {len(payload) / 1e6:.1f} MB in {pickled * 1000:.0f} ms, "
          f"unpickled in {_timed(lambda: pickle.loads(payload)) * 1000:.0f} ms")


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
