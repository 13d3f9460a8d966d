"""How long building a split from the official pool takes, against reading one official file.

Baseline: reading (gunzip + IDX parse) the largest official file the pool uses,
``emnist-byclass-test-images-idx3-ubyte.gz`` (116,323 images). Then, in the same run:

- a cold build of the quick profile's balanced split (9,400 train / 2,820 test) from the pool: sha256
  of every file, read, relabel, de-duplicate 242,646 images, draw, write the cache entry;
- the same split again, from the cache (what every later notebook does);
- a cold build of all of bymerge (191,550 / 31,920 images: the largest split it can build).

Needs the official EMNIST files (the shared data folder); says so and exits 0 without them.

    python benchmarks/bench_pool.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time


def best_of(fn, n: int = 3) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    from emnist_lib import config, pool
    from emnist_lib.data import load_emnist
    from emnist_lib.idx import read_idx
    from emnist_lib.splits import get_split

    if not pool.available(get_split("balanced")) or config.shared_data_dir() is None:
        print("no official EMNIST files in the shared folder: nothing to build from")
        return 0
    biggest = config.shared_data_dir() / "emnist" / "emnist-byclass-test-images-idx3-ubyte.gz"
    base = best_of(lambda: read_idx(biggest))
    rows = [("read one official file (baseline): byclass test images, 116,323", base)]
    with tempfile.TemporaryDirectory() as tmp:
        def cold(split, n_train, n_test):
            def run():
                os.environ["EMNIST_CACHE_DIR"] = tempfile.mkdtemp(dir=tmp)
                load_emnist(split, source="nist-pool", n_train=n_train, n_test=n_test, seed=0)
            return run

        rows.append(("build balanced 9,400 / 2,820 from the pool (cold)", best_of(cold("balanced", 9400, 2820))))
        os.environ["EMNIST_CACHE_DIR"] = tmp
        load_emnist("balanced", source="nist-pool", n_train=9400, n_test=2820, seed=0)
        rows.append(("load it again from the cache", best_of(
            lambda: load_emnist("balanced", source="nist-pool", n_train=9400, n_test=2820, seed=0))))
        rows.append(("build all of bymerge from the pool (cold)", best_of(cold("bymerge", None, None), n=1)))
    print("| step | seconds (best of 3) | ratio to baseline |\n|---|---|---|")
    for name, t in rows:
        print(f"| {name} | {t:.2f} | {t / base:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
