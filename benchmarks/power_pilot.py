"""Pilot of the EMNIST-scale study: how many seeds a comparison needs to detect 2 points, and do its runs plateau?

Trains a few recipes of the kind the EMNIST-scale profile (``params/emnist/``) compares, with ``--seeds`` seeds,
on its data: real EMNIST balanced re-split by the pool at that profile's sizes (``n_train``, ``n_test`` and
``validation_fraction`` of ``params/emnist/08_final_evaluation.yaml``: 400 training, 100 validation and 100 test
images per class), one validation split shared by every seed. Then, from the records it would write:

* per pair of recipes, the variance components of their paired per-image test differences (seed, image,
  residual) and the seeds a design needs to detect 2 points with 80% power at family sizes 1-6
  (:func:`emnist_lib.stats.plan_seeds`): what sets each chapter's ``seeds`` in ``params/emnist``;
* per run, its plateau verdict (:mod:`emnist_lib.convergence`), the second-half gain and the share of validation
  images that changed between mid-run and the end ("churn"), and the test's power at this validation size for that
  churn (:func:`emnist_lib.convergence.plateau_power`): what sets each chapter's ``epochs``.

    python benchmarks/power_pilot.py --json benchmarks/results/power_pilot.json

Needs real EMNIST (the shared folder or the data dir); says so and exits 0 without. Runs in process, one after
the other (about 5 minutes on a 2-core machine); not a timing.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# name: (builder, settings, training over the profile's defaults)
RECIPES = {
    "cnn": ("cnn", {"filters": [16, 32]}, {"learning_rate": 0.003, "batch_size": 128}),
    "cnn_bn": ("cnn", {"filters": [16, 32], "batch_norm": True}, {"learning_rate": 0.003, "batch_size": 128}),
    "mlp": ("mlp", {"hidden": [256, 128, 64], "activation": "relu"}, {"batch_size": 128}),
    "deep_cnn": ("deep_cnn", {"width": 0.25}, {"learning_rate": 0.002, "batch_size": 64}),
}
PAIRS = (("cnn_bn", "cnn"), ("cnn", "mlp"), ("deep_cnn", "cnn"))


def replan(path: Path | None) -> int:
    """The stored pilot's seed plans, computed again from its variance components with today's
    :func:`emnist_lib.stats.plan_from_components` (the power of the study's own interval): what the plans would have
    said had the pilot run today. Training is not repeated; the file records the old plans beside the new."""
    import datetime

    from emnist_lib import stats

    if path is None or not path.exists():
        print(f"--replan needs the stored pilot: --json {path} does not exist")
        return 2
    out = json.loads(path.read_text())
    n = out["n_test"]
    for pair in out["pairs"]:
        plans = {m: stats.plan_from_components(pair["components"], n, family_size=m) for m in range(1, 7)}
        pair["before_replan"] = {k: pair[k] for k in ("seeds_for_2_points", "power_at_plan")}
        pair["seeds_for_2_points"] = {str(m): p.seeds for m, p in plans.items()}
        pair["power_at_plan"] = {str(m): p.power for m, p in plans.items()}
        print(f"{pair['a']} vs {pair['b']}: seeds for 2 points at family sizes 1-6: "
              f"{list(pair['seeds_for_2_points'].values())} (before: {list(pair['before_replan']['seeds_for_2_points'].values())})")
    out["replanned"] = {"date": datetime.date.today().isoformat(), "how": "stats.plan_from_components on the stored "
                        "components: the power of the study's own interval (the pilot's plans predate it)"}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(out, indent=1, default=str))
    tmp.replace(path)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--recipes", nargs="*", default=list(RECIPES))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--replan", action="store_true",
                        help="plan the seeds again from the stored pilot in --json (its variance components) with "
                             "today's power calculation, without training; rewrites the plans in that file")
    args = parser.parse_args()
    if args.replan:
        return replan(args.json)

    from emnist_lib import convergence, stats
    from emnist_lib.data import load_emnist, real_source
    from emnist_lib.recipe import TrainConfig
    from emnist_lib.runner import load_params
    from emnist_lib.splits import get_split
    from emnist_lib.study import fit_metrics, test_metrics
    from emnist_lib.training import train

    if real_source(get_split("balanced")) is None:
        print("no real EMNIST on this machine: the pilot needs it")
        return 0
    from emnist_lib import config

    params = load_params(config.NOTEBOOKS_DIR / "08_final_evaluation.ipynb", "emnist")
    ds = load_emnist("balanced", source="nist-pool", n_train=params["n_train"] or None, n_test=params["n_test"] or None)
    held = params["validation_fraction"]
    runs, correct = [], {}
    for seed in range(args.seeds):
        for name in args.recipes:
            model, settings, overrides = RECIPES[name]
            cfg = TrainConfig(epochs=args.epochs, validation_fraction=held, seed=seed, **overrides)
            res = train(model, ds.x_train, ds.y_train, ds.num_classes, cfg, settings, use_cache=True, verbose=0)
            m = {**fit_metrics(res), **test_metrics(res.model, ds.x_test, ds.y_test, ds.class_names)}
            v = res.convergence
            churn = (v.improved + v.worsened) / v.n_images if v.improved is not None else None
            from emnist_lib.results import unpack_correct

            correct[(name, seed)] = unpack_correct(m["test_correct"], m["test_n"]).astype(float)
            runs.append({"recipe": name, "seed": seed, "val_accuracy": m["val_accuracy"],
                         "test_accuracy": m["test_accuracy"], "status": v.status.value, "gain": v.gain,
                         "lower": v.lower, "upper": v.upper, "churn": churn, "n_validation": v.n_images,
                         "plateau_power_if_flat": convergence.plateau_power(v.n_images, churn) if churn else None,
                         "seconds": res.wall_time_s if hasattr(res, "wall_time_s") else None})
            print(json.dumps(runs[-1]), flush=True)
    pairs = []
    for a, b in PAIRS:
        if a not in args.recipes or b not in args.recipes:
            continue
        diffs = [correct[(a, s)] - correct[(b, s)] for s in range(args.seeds)]
        plans = {m: stats.plan_seeds(diffs, family_size=m) for m in range(1, 7)}
        pairs.append({"a": a, "b": b, "diff": float(np.mean([d.mean() for d in diffs])),
                      "components": plans[1].components,
                      "seeds_for_2_points": {m: p.seeds for m, p in plans.items()},
                      "power_at_plan": {m: p.power for m, p in plans.items()}})
        print(json.dumps(pairs[-1]), flush=True)
    out = {"data": ds.provenance.get("source"), "n_train": params["n_train"], "n_test": params["n_test"],
           "validation_fraction": held, "epochs": args.epochs, "seeds": args.seeds, "runs": runs, "pairs": pairs,
           "cpu": platform.processor() or platform.machine()}
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
