"""Does the offline study predict the real one? Chapters 04 and 05 on real and on synthetic EMNIST, ranked.

Runs notebooks 04 (regularisation ablations) and 05 (architectures) with the quick profile's
parameters and ``synthetic_twin: true`` into ``build/rank-agreement/``: each comparison on the real
EMNIST the profile loads and again on synthetic EMNIST at the same sizes, seeds and budget
(:func:`emnist_lib.study.run_twin`). From their records it computes, per comparison, Kendall's tau
between the two rankings of the variants' means with a 95% bootstrap interval over seeds, and the
findings against the comparison's reference (better / worse / no detectable difference) that flip
(:func:`emnist_lib.analysis.rank_agreement`). Run after ``make report``: the real runs then come from
the model cache and only the synthetic ones train. Notebook 00 records the JSON for the generator
that made it, so section 00 of the report states it.

    python benchmarks/rank_agreement.py --json benchmarks/results/rank_agreement.json

Needs real EMNIST (the official files of the shared folder, or the data dir); says so and exits 0 without.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

COMPARISONS = (("05_architectures", "architecture", "test_accuracy", None, "architectures"),
               ("04_regularisation_tuning", "ablation", "val_accuracy", "baseline", "ablations"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import papermill as pm

    from emnist_lib import conclusions, config, results, synthetic
    from emnist_lib.data import real_source
    from emnist_lib.runner import KERNEL, load_params
    from emnist_lib.splits import get_split

    if real_source(get_split("balanced")) is None:
        print("no real EMNIST on this machine: nothing to rank the synthetic study against")
        return 0
    out = config.BUILD_DIR / "rank-agreement"
    (out / "notebooks").mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("EMNIST_PROGRESS", "0")
    seconds = {}
    for notebook, *_ in COMPARISONS:
        path = config.NOTEBOOKS_DIR / f"{notebook}.ipynb"
        params = {**load_params(path, args.profile), "synthetic_twin": True, "output_dir": str(out)}
        start = time.perf_counter()
        print(f"[rank-agreement] {notebook} ...", flush=True)
        pm.execute_notebook(str(path), str(out / "notebooks" / path.name), parameters=params, kernel_name=KERNEL,
                            cwd=str(config.NOTEBOOKS_DIR), progress_bar=False)
        seconds[notebook] = round(time.perf_counter() - start, 1)
    records = results.read_records(config.records_dir(out))
    found = {"generator_version": synthetic.GENERATOR_VERSION, "profile": args.profile, "seconds": seconds,
             "versions": results.versions(), "hardware": results.hardware(), "comparisons": {}}
    for notebook, group, metric, reference, what in COMPARISONS:
        ra = conclusions.rank_agreement_of(records, notebook, group, metric, reference)
        if ra is None:
            continue
        runs = [r for r in records if r.notebook == notebook and r.group == group]
        found["comparisons"][what] = {**asdict(ra), "notebook": notebook, "group": group,
                                      "data": runs[0].data.source, "seeds": sorted({r.seed for r in runs}),
                                      "n_train": runs[0].data.n_train}
        print(f"{what}: Kendall's tau {ra.tau:.2f} [{ra.low:.2f}, {ra.high:.2f}]; flips: "
              f"{', '.join(v for v, *_ in ra.flips) or 'none'}", flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
