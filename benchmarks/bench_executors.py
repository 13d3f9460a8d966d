"""Throughput of the study's model families per executor and worker count, against one run after the other.

Baseline ("inline"): the seed loop as the notebooks run it by default, every run in one process with TensorFlow's
default threads. Against it: ``inline`` with 1 thread per run, and Dask ``local:N`` worker processes (1 thread
each) for each N asked. Each configuration is a fresh process (``tests/executor_job.py``'s way: import, start,
run) that trains the same comparison: ``--runs`` runs (recipes x seeds) of one model family of the quick profile,
on synthetic images at that chapter's sizes, with its own empty model cache. Configurations alternate, baseline
first, for ``--repeats`` rounds (single figures here varied 2x between repeats: compare within a round). The
result is each configuration's wall time and its ratio to the baseline's in the same round, with the CPU model,
instruction set and threads.

    python benchmarks/bench_executors.py --families mlp cnn deep_cnn --workers 2 --repeats 2 \
        --json benchmarks/results/bench_executors.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FAMILIES = {  # model, settings, batch, epochs, training images: the quick profile's sizes
    "mlp": ("mlp", {"hidden": [256, 128, 64]}, 128, 5, 9400),
    "cnn": ("cnn", {"filters": [32, 64], "kernel_size": 3, "pooling": "max", "dense_units": 128}, 64, 6, 2820),
    "chollet_convnet": ("chollet_convnet", {}, 128, 6, 10400),
    "deep_cnn": ("deep_cnn", {"width": 0.25}, 64, 6, 2820),
}

WORKER = r"""
import sys, time, json
import numpy as np
from emnist_lib.recipe import Recipe, TrainConfig
from emnist_lib.study import Study, run_recipes, validation_scores
from emnist_lib.dataset import Dataset
from emnist_lib.executors import pin_threads
from emnist_lib.config import threads_per_run
pin_threads(threads_per_run())
model, settings, batch, epochs, n, runs, out = json.loads(sys.argv[1])
rng = np.random.default_rng(0)
y = np.arange(n) % 47
templates = rng.integers(0, 255, (47, 28, 28))
x = np.clip(0.5 * templates[y] + rng.normal(0, 60, (n, 28, 28)), 0, 255).astype(np.uint8)
ds = Dataset("bench", x, y, x[:470], y[:470], [str(k) for k in range(47)], {"source": "synthetic"}, split="bench")
study = Study("01_chollet_baselines", __import__("pathlib").Path(out), 0)
study.results.mkdir(parents=True, exist_ok=True)
recipes = [Recipe(f"lr{i}", model, settings, TrainConfig(epochs=epochs, batch_size=batch, learning_rate=1e-3 * (i + 1)))
           for i in range(max(1, runs // 2))]
start = time.perf_counter()
run_recipes(study, ds, recipes, [0, 1][: 1 if runs == 1 else 2], "bench", score=validation_scores)
print("WALL", time.perf_counter() - start)
"""


def configurations(workers: list[int]) -> list[tuple[str, dict]]:
    out = [("inline", {"EMNIST_EXECUTOR": "inline"}), ("inline, 1 thread", {"EMNIST_EXECUTOR": "inline",
                                                                            "EMNIST_THREADS": "1"})]
    return out + [(f"local:{n}", {"EMNIST_EXECUTOR": f"local:{n}", "EMNIST_THREADS": "1"}) for n in workers]


def run_once(family: str, runs: int, env_extra: dict) -> float:
    model, settings, batch, epochs, n = FAMILIES[family]
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, **env_extra, "EMNIST_CACHE_DIR": str(Path(tmp) / "cache"), "EMNIST_PROGRESS": "0",
               "TF_CPP_MIN_LOG_LEVEL": "3", "EMNIST_OFFLINE": "1"}
        if env_extra.get("EMNIST_EXECUTOR") == "inline" and "EMNIST_THREADS" not in env_extra:
            env.pop("EMNIST_THREADS", None)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", WORKER, json.dumps([model, settings, batch, epochs, n, runs,
                                                                          str(Path(tmp) / "out")])],
                              env=env, capture_output=True, text=True)
        total = time.perf_counter() - start
        if proc.returncode:
            raise RuntimeError(f"{family} {env_extra}: {proc.stderr[-2000:]}")
    return total  # the whole process: start-up, workers, every run (what a notebook pays)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", default=["mlp", "cnn", "deep_cnn"], choices=sorted(FAMILIES))
    parser.add_argument("--workers", nargs="+", type=int, default=[2])
    parser.add_argument("--runs", type=int, default=8, help="runs per comparison (recipes x 2 seeds)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json")
    args = parser.parse_args()

    from emnist_lib import results

    rows = []
    for family in args.families:
        for r in range(args.repeats):
            base = None
            for name, env in configurations(args.workers):
                wall = run_once(family, args.runs, env)
                base = base or wall
                rows.append({"family": family, "repeat": r, "executor": name, "wall_s": round(wall, 1),
                             "speedup_vs_inline": round(base / wall, 2), "runs": args.runs})
                print(f"{family} round {r}: {name}: {wall:.1f} s ({base / wall:.2f}x inline)", flush=True)
    hw = results.hardware()
    out = {"hardware": {k: hw[k] for k in ("cpu", "cores", "isa", "onednn")}, "versions": results.versions(),
           "baseline": "inline (TensorFlow's default threads, one run after the other)", "rows": rows}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
