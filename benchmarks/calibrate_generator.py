"""Calibrate the synthetic generator on real EMNIST: tune on the calibration part, never on what is scored.

``--case-shares`` prints how often each letter is written in lower case in the calibration part (from
the byclass images, which keep the case): generator 2.1's ``LOWER_SHARE``.

Each trial draws a synthetic balanced training set (``--per-class`` images of each of the 47
classes) with a proposed :class:`emnist_lib.synthetic.Pen` and source mix, trains the book's
``chollet_convnet`` on it (the recipe of ``benchmarks/realism_check.py``, ``--epochs``), and scores it
on the **calibration** part of the real pool (:data:`realism_check.PARTS`, the same seeded order
per class as the check, disjoint from the ``score`` part the check reports). Optuna's TPE sampler
(fixed seed) proposes; trial 0 is the generator's current defaults, the baseline. The result file
lists every trial; adopting the best one (as new ``Pen`` defaults and a new generator version) is
a decision made by hand, and ``realism_check.py`` then measures it once on the ``score`` part.

    python benchmarks/calibrate_generator.py --trials 24 --json benchmarks/results/calibrate_generator.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import realism_check  # noqa: E402

SPLIT = "balanced"


def propose(trial, pen):
    """A pen (and source mix) around the current defaults."""
    width = trial.suggest_float("width", 0.9, 1.7)
    return replace(
        pen, width=(width, pen.width[1]), letter_width=trial.suggest_float("letter_width", 1.0, 1.4),
        slant_deg=(trial.suggest_float("slant_mean", 0.0, 14.0), trial.suggest_float("slant_sd", 5.0, 18.0)),
        rotation_deg=trial.suggest_float("rotation_deg", 0.0, 8.0),
        aspect_log=(trial.suggest_float("aspect_mean", -0.05, 0.25), trial.suggest_float("aspect_sd", 0.08, 0.3)),
        point_jitter=trial.suggest_float("point_jitter", 0.3, 1.3), proportion=trial.suggest_float("proportion", 0.2, 1.0),
        bend=trial.suggest_float("bend", 0.1, 0.9), elastic=trial.suggest_float("elastic", 0.4, 1.8))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--per-class", type=int, default=150, help="synthetic training images per class per trial")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--verify", type=Path, metavar="JSON",
                        help="train the baseline and the best trial of an earlier run again with --verify-seeds and "
                             "add their calibration accuracies to that file (is the best trial's lead real?)")
    parser.add_argument("--verify-seeds", default="1,2")
    parser.add_argument("--case-shares", action="store_true",
                        help="print how often real writers use lower case per letter (calibration part) and exit")
    args = parser.parse_args()
    if args.case_shares:
        from emnist_lib import realism

        print("LOWER_SHARE =", realism.calibration_case_shares())
        return 0

    import numpy as np
    import optuna

    from emnist_lib import pool, synthetic
    from emnist_lib.splits import get_split

    spec = get_split(SPLIT)
    if not pool.available(spec):
        print("no official EMNIST files: nothing real to calibrate on")
        return 0
    x_cal, y_cal = pool.partition(SPLIT, realism_check.PARTS[SPLIT], realism_check.SEED)["calibration"]
    variants = dict(synthetic.class_variants(SPLIT))
    base = synthetic.emnist_style()
    if args.verify:
        return verify(args, base, variants, spec, x_cal, y_cal)
    rng = np.random.default_rng(args.seed)
    labels = synthetic.balanced_labels(sorted(variants), args.per_class * spec.num_labels, rng)
    rows = []

    def objective(trial):
        style = base if trial.number == 0 else replace(base, pen=propose(trial, base.pen),
                                                       weights=_weights(trial, base.weights))
        start = time.perf_counter()
        x = synthetic.generate(labels, variants, style, seed=args.seed * 1000 + 1)
        cfg = {**realism_check.RECIPE, "epochs": args.epochs}
        from emnist_lib.training import TrainConfig, train

        model = train("chollet_convnet", x, labels, spec.num_outputs, TrainConfig(**cfg, seed=args.seed),
                      use_cache=False, verbose=0).model
        acc = float(realism_check.correct_of(model, x_cal, y_cal).mean())
        rows.append({"trial": trial.number, "accuracy": acc, "pen": asdict(style.pen), "weights": list(style.weights),
                     "seconds": round(time.perf_counter() - start, 1)})
        print(f"trial {trial.number}: calibration accuracy {100 * acc:.2f}% ({rows[-1]['seconds']} s)", flush=True)
        return acc

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["EMNIST_CACHE_DIR"] = tmp
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=args.seed))
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study.enqueue_trial({})  # trial 0: the current defaults (its parameters are not used)
        study.optimize(objective, n_trials=args.trials)
    best = max(rows, key=lambda r: r["accuracy"])
    out = {"generator_version": synthetic.GENERATOR_VERSION, "split": SPLIT, "per_class": args.per_class,
           "epochs": args.epochs, "seed": args.seed, "pool_seed": realism_check.SEED, "scored_on": "calibration",
           "calibration_images": int(len(y_cal)), "baseline": rows[0], "best": best, "trials": rows}
    print(f"baseline {100 * rows[0]['accuracy']:.2f}% -> best trial {best['trial']} {100 * best['accuracy']:.2f}% "
          f"on {len(y_cal):,} calibration images")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    return 0


def _accuracy(style, variants, spec, per_class, epochs, seed, x_cal, y_cal) -> float:
    import numpy as np

    from emnist_lib import synthetic
    from emnist_lib.training import TrainConfig, train

    labels = synthetic.balanced_labels(sorted(variants), per_class * spec.num_labels, np.random.default_rng(seed))
    x = synthetic.generate(labels, variants, style, seed=seed * 1000 + 1)
    model = train("chollet_convnet", x, labels, spec.num_outputs,
                  TrainConfig(**{**realism_check.RECIPE, "epochs": epochs}, seed=seed), use_cache=False, verbose=0).model
    return float(realism_check.correct_of(model, x_cal, y_cal).mean())


def verify(args, base, variants, spec, x_cal, y_cal) -> int:
    from emnist_lib.synthetic import Pen

    found = json.loads(args.verify.read_text())
    best = found["best"]
    pen = Pen(**{k: tuple(v) if isinstance(v, list) else v for k, v in best["pen"].items()})
    styles = {"baseline": base, f"trial {best['trial']}": replace(base, pen=pen, weights=tuple(best["weights"]))}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["EMNIST_CACHE_DIR"] = tmp
        for seed in (int(s) for s in args.verify_seeds.split(",")):
            for name, style in styles.items():
                acc = _accuracy(style, variants, spec, found["per_class"], found["epochs"], seed, x_cal, y_cal)
                rows.append({"seed": seed, "style": name, "accuracy": acc})
                print(f"seed {seed}: {name} {100 * acc:.2f}% on the calibration part", flush=True)
    found["verification"] = rows
    args.verify.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    return 0


def _weights(trial, weights):
    table = trial.suggest_float("table_share", 0.5, 0.9)
    rest = 1.0 - table
    hershey = rest * weights[1] / (weights[1] + weights[2])
    return (table, hershey, rest - hershey)


if __name__ == "__main__":
    sys.exit(main())
