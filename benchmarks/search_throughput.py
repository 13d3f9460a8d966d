"""Search throughput: trials/hour for one and two workers on one journal file, and what pruning saves.

Baseline (named "1 worker"): one ``python -m emnist_lib search`` process running ``--trials`` trials
of the CNN space at the quick profile's budget for notebook 04 (balanced split, 4,700 training images,
7 epochs, batch 128). Then two worker processes share a second study with the same number of trials.
Both timed end to end (process start, data, every trial). Pruning: trials pruned and the epochs they
did not run, as a share of the epochs all trials would have run unpruned.

    python benchmarks/search_throughput.py --trials 8 [--json benchmarks/results/search_throughput.json]
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

BUDGET = ["--split", "balanced", "--n-train", "4700", "--epochs", "7", "--batch-size", "128"]


def run(folder: Path, study: str, trials: int, workers: int) -> float:
    cmd = [sys.executable, "-m", "emnist_lib", "search", "--study", study, "--trials", str(trials),
           "--folder", str(folder), *BUDGET]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    start = time.perf_counter()
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(workers)]
    for p in procs:
        _, err = p.communicate()
        if p.returncode:
            raise SystemExit(f"worker failed: {err[-2000:]}")
    return time.perf_counter() - start


def pruning(folder: Path, study: str, epochs: int) -> dict:
    import optuna

    from emnist_lib import search

    s = optuna.load_study(study_name=study, storage=search.open_storage(None, folder, study))
    finished = [t for t in s.get_trials(deepcopy=False) if t.state.name in search.FINISHED]
    pruned = [t for t in finished if t.state.name == "PRUNED"]
    run_epochs = sum(len(t.intermediate_values) for t in finished)
    return {"finished": len(finished), "pruned": len(pruned),
            "epochs_saved_share": 1 - run_epochs / (len(finished) * epochs),
            "best_value": s.best_value}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            study = f"bench-{workers}w"
            wall = run(Path(tmp), study, args.trials, workers)
            rows[f"{workers} worker{'s' if workers > 1 else ''}"] = {
                "wall_s": wall, "trials_per_hour": args.trials / wall * 3600, **pruning(Path(tmp), study, 7)}
    base = rows["1 worker"]["trials_per_hour"]
    print(f"{args.trials} CNN trials per run, budget {' '.join(BUDGET)}, {os.cpu_count()} cores")
    print("| workers | wall s | trials/hour | ratio to baseline | pruned | epochs saved by pruning |")
    print("|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name}{' (baseline)' if name == '1 worker' else ''} | {r['wall_s']:.0f} | {r['trials_per_hour']:.0f} "
              f"| {r['trials_per_hour'] / base:.2f} | {r['pruned']} of {r['finished']} | {100 * r['epochs_saved_share']:.0f}% |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"trials": args.trials, "budget": BUDGET, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
