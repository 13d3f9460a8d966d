"""Synthetic EMNIST generation throughput (images/s): generator 2.0 against generator 1.0.

Baseline (named "generator 1.0"): the font-rendering generator this project shipped before
the pen-trajectory one, read from git (commit ``BASELINE_COMMIT``) and run in the same
process on the same labels. Both are timed the way a user meets them: one call of
``generate`` on 16,384 balanced-split labels with the default worker pool, *pool start-up
included* (spawned workers import numpy/cv2/PIL and build their caches). A warm
one-process rate and the cold end-to-end ``synthetic.ensure`` (writing gzip IDX files) are
reported too. Target (issue 9): 2,000 images/s or more with the pool on this machine.

    python benchmarks/bench_synthetic.py [--json benchmarks/results/bench_synthetic.json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from emnist_lib import synthetic

BASELINE_COMMIT = "644cccc"
ROOT = Path(__file__).resolve().parents[1]
N = 16_384


def load_generator_v1(folder: Path):
    """Generator 1.0 as a module, from git, with its package-relative imports made absolute."""
    src = subprocess.run(["git", "show", f"{BASELINE_COMMIT}:emnist_lib/synthetic.py"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    src = src.replace("from . import ", "from emnist_lib import ").replace("from .", "from emnist_lib.")
    path = folder / "synthetic_v1.py"
    path.write_text(src)
    sys.path.insert(0, str(folder))  # spawned workers inherit sys.path and import it by name
    spec = importlib.util.spec_from_file_location("synthetic_v1", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["synthetic_v1"] = module
    spec.loader.exec_module(module)
    return module


def rate(generate, glyphs, n: int, workers: int | None) -> float:
    variants = dict(synthetic.class_variants("balanced"))
    labels = np.tile(np.arange(47), -(-n // 47))[:n]
    t = time.perf_counter()
    generate(labels, variants, glyphs, seed=1, workers=workers)
    return n / (time.perf_counter() - t)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        try:
            v1 = load_generator_v1(Path(tmp))
        except (subprocess.CalledProcessError, FileNotFoundError) as err:
            print(f"generator 1.0 not readable from git ({err}); run this in a clone with history")
            return 0
        rows = {}
        for name, gen, glyphs in (("generator 1.0 (baseline)", v1.generate, v1.emnist_fonts()),
                                  ("generator 2.0", synthetic.generate, synthetic.emnist_style())):
            rows[name] = {"pool": rate(gen, glyphs, N, None)}
            rate(gen, glyphs, 2048, 1)  # warm caches in this process
            rows[name]["one_process_warm"] = rate(gen, glyphs, 8192, 1)
        t = time.perf_counter()
        synthetic.ensure("balanced", n_train=47 * 400, n_test=47 * 80, seed=3, root=Path(tmp) / "cache")
        cold = 47 * 480 / (time.perf_counter() - t)
    base = rows["generator 1.0 (baseline)"]["pool"]
    print(f"{N:,} balanced-split images, {cores} cores")
    print("| generator | images/s, pool start-up included | ratio to baseline | images/s, 1 process warm |")
    print("|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['pool']:,.0f} | {r['pool'] / base:.2f} | {r['one_process_warm']:,.0f} |")
    print(f"| generator 2.0, ensure() cold: 22,560 images to gzip IDX | {cold:,.0f} | {cold / base:.2f} | |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"images": N, "cores": cores, "baseline_commit": BASELINE_COMMIT,
                                         "rows": rows, "ensure_cold": cold,
                                         "target_images_per_s": 2000}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
