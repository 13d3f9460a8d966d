"""Loading a full-size EMNIST balanced split from local gzip files vs. a plain gzip read.

Baseline (named "plain gzip read"): ``gzip.open(f).read()`` of the four files, nothing else.
Project path: ``read_split_folder`` = decompress + parse IDX + sha256-verify + transpose upright.
The files are written at the official size (112,800 + 18,800 images) from tiled synthetic
images, so they compress like real handwriting does. Prints the ratio (project / baseline time).
"""

from __future__ import annotations

import gzip
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from emnist_lib import synthetic
from emnist_lib.data import read_split_folder
from emnist_lib.idx import write_idx
from emnist_lib.splits import get_split


def best_of(fn, repeats=3):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> int:
    spec = get_split("balanced")
    variants = dict(synthetic.class_variants("balanced"))
    labels = np.tile(np.arange(47), 40)
    tile = synthetic.generate(labels, variants, synthetic.emnist_style(), seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for part, n in (("train", spec.train_size), ("test", spec.test_size)):
            reps = -(-n // len(tile))
            write_idx(folder / spec.file_name(part, "images"), np.tile(tile, (reps, 1, 1))[:n].transpose(0, 2, 1).copy())
            write_idx(folder / spec.file_name(part, "labels"), np.tile(labels, reps)[:n].astype(np.uint8))
        files = sorted(folder.glob("*.gz"))
        size = sum(f.stat().st_size for f in files)
        base = best_of(lambda: [gzip.open(f).read() for f in files])
        ours = best_of(lambda: read_split_folder(spec, folder))
    print(f"balanced split, {size / 1e6:.1f} MB of gzip, {spec.train_size + spec.test_size:,} images")
    print("| path | seconds (best of 3) | ratio to baseline |")
    print("|---|---|---|")
    print(f"| plain gzip read (baseline) | {base:.2f} | 1.00 |")
    print(f"| load (decompress, parse, sha256, transpose) | {ours:.2f} | {ours / base:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
