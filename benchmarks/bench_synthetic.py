"""Synthetic EMNIST generation throughput (images/s) on this machine.

Baseline (named "1 worker"): the same generator in one process. Project path: the
default worker pool (one process per core). Each is timed after a warm-up run
(templates cached per process), and the end-to-end cold time of ``synthetic.ensure``
(process start-up, font discovery, writing gzip IDX files) is reported too.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

import numpy as np

from emnist_lib import synthetic


def rate(n, workers):
    variants = dict(synthetic.class_variants("balanced"))
    labels = np.tile(np.arange(47), -(-n // 47))[:n]
    fonts = synthetic.emnist_fonts()
    t = time.perf_counter()
    synthetic.generate(labels, variants, fonts, seed=1, workers=workers)
    return n / (time.perf_counter() - t)


def main() -> int:
    cores = os.cpu_count() or 1
    n = 8192
    rate(2048, 1)  # warm-up: templates in this process
    one = rate(n, 1)
    many = rate(n * cores, cores)  # includes spawning the pool and its template warm-up
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        synthetic.ensure("balanced", n_train=47 * 400, n_test=47 * 80, seed=3, root=tmp)
        cold = 47 * 480 / (time.perf_counter() - t)
    print("| path | images/s | ratio to baseline |\n|---|---|---|")
    print(f"| 1 worker, warm (baseline) | {one:,.0f} | 1.00 |")
    print(f"| {cores} workers (pool start-up included) | {many:,.0f} | {many / one:.2f} |")
    print(f"| ensure(): cold, 22,560 images to gzip IDX | {cold:,.0f} | {cold / one:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
