"""The engine table: each model family's training throughput per precision and XLA setting on this CPU class,
and the accuracy check that lets :mod:`emnist_lib.engines` pick a faster engine.

Baseline: ``float32`` with XLA off (what every run trained under before the table). Against it, every other engine of
``emnist_lib.engines.ENGINES`` (``float32+xla``, ``mixed_bfloat16``, ``mixed_bfloat16+xla``). Each measurement is a
fresh process (``EMNIST_ENGINE`` forces the engine, ``EMNIST_THREADS`` pins the threads) that trains one family
through the study's own ``train()`` for 2 epochs on synthetic 28x28 images at the study's batch, without cache;
throughput is the fastest epoch's images/s (the first holds graph tracing). Engines alternate, their order rotating
from round to round, and each engine's ratio is taken against float32 **in the same round** (single figures on
these shared machines vary up to 2x between repeats).

An engine counts as faster when it beat float32 in every round and by at least ``--min-gain`` (default 10%) in the
median. For the fastest such engine of a family, the accuracy check trains float32 and it with ``--seeds`` seeds
on the same data (real EMNIST balanced from the pool when ``../shared/data`` or ``EMNIST_DATA_DIR`` holds it, else
the synthetic default; ``--acc-epochs`` epochs) and keeps it only when the difference of the two means is within
the seeds' spread: its 95% Welch interval holds 0 and its size is at most the larger seed standard deviation. The
family's ``pick`` is that engine, else float32. The table is keyed by CPU class (model, instruction set, AMX,
threads per run), so another machine never inherits this one's pick; entries of other classes are kept.

    python benchmarks/engine_table.py --families mlp chollet_convnet cnn deep_cnn resnet_small --threads 1 \
        --repeats 2 --json benchmarks/results/engine_table.json --install
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

FAMILIES = {  # builder, kwargs, batch, training images: the study's settings (params/emnist)
    "mlp": ("mlp", {"hidden": [256, 128, 64]}, 128, 18800),
    "chollet_convnet": ("chollet_convnet", {}, 128, 9400),
    "cnn": ("cnn", {"filters": [32, 64], "batch_norm": True}, 64, 4700),
    "deep_cnn": ("deep_cnn", {"width": 0.25}, 64, 1920),
    "resnet_small": ("resnet_small", {"width": 0.25, "stem_stride": 2}, 64, 1920),
    "mobilenet_small": ("mobilenet_small", {"width": 0.5, "stem_stride": 2}, 64, 1920),
    "vit_small": ("vit_small", {"width": 0.5, "patch_size": 7}, 64, 1920),
}

SPEED = r"""
import json, sys
import numpy as np
from emnist_lib.config import threads_per_run
from emnist_lib.executors import pin_threads
pin_threads(threads_per_run())
from emnist_lib.training import TrainConfig, train
model, kwargs, batch, n = json.loads(sys.argv[1])
rng = np.random.default_rng(0)
y = np.arange(n) % 47
templates = rng.integers(0, 255, (47, 28, 28))
x = np.clip(0.5 * templates[y] + rng.normal(0, 60, (n, 28, 28)), 0, 255).astype(np.uint8)
res = train(model, x, y, 47, TrainConfig(epochs=2, batch_size=batch, validation_fraction=0.0), kwargs,
            use_cache=False, verbose=0)
print(json.dumps({"images_per_s": res.images_per_s, "engine": (res.engine or {}).get("engine", "float32")}))
"""

ACCURACY = r"""
import json, sys
from emnist_lib.config import threads_per_run
from emnist_lib.executors import pin_threads
pin_threads(threads_per_run())
from emnist_lib.data import load_emnist
from emnist_lib.training import TrainConfig, train
model, kwargs, batch, seed, epochs, source = json.loads(sys.argv[1])
ds = load_emnist("balanced", source=source, n_train=9400 if source == "synthetic" else 11750,
                 n_test=4700 if source == "synthetic" else None)
res = train(model, ds.x_train, ds.y_train, ds.num_classes, TrainConfig(epochs=epochs, batch_size=batch, seed=seed),
            kwargs, use_cache=False, verbose=0)
acc = float(res.model.evaluate(ds.x_test, ds.y_test, verbose=0, batch_size=512)[1])
print(json.dumps({"accuracy": acc, "engine": (res.engine or {}).get("engine", "float32"),
                  "source": ds.provenance.get("source"), "n_train": int(len(ds.y_train))}))
"""


def run(code: str, arg: list, engine: str, threads: int | None) -> dict:
    env = {**os.environ, "EMNIST_ENGINE": engine, "EMNIST_PROGRESS": "0", "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("EMNIST_THREADS", None)
    if threads:
        env["EMNIST_THREADS"] = str(threads)
    with tempfile.TemporaryDirectory() as tmp:
        env["EMNIST_CACHE_DIR"] = env.get("EMNIST_CACHE_DIR") if code is ACCURACY and env.get("EMNIST_CACHE_DIR") \
            else str(Path(tmp) / "cache")
        proc = subprocess.run([sys.executable, "-c", code, json.dumps(arg)], env=env, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"{arg[0]} under {engine}: {proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if out["engine"] != engine:
        raise RuntimeError(f"{arg[0]}: asked for {engine}, trained under {out['engine']}")
    return out


def speeds(families: list[str], engines: list[str], repeats: int, threads: int | None) -> dict:
    out = {f: {e: {"images_per_s": [], "ratio": []} for e in engines} for f in families}
    for r in range(repeats):
        for family in families:
            builder, kwargs, batch, n = FAMILIES[family]
            order = engines[r % len(engines):] + engines[:r % len(engines)]
            got = {e: run(SPEED, [builder, kwargs, batch, n], e, threads)["images_per_s"] for e in order}
            for e in engines:
                out[family][e]["images_per_s"].append(round(got[e], 1))
                out[family][e]["ratio"].append(round(got[e] / got["float32"], 3))
            print(f"round {r + 1} {family}: " + ", ".join(f"{e} {got[e]:,.0f} img/s ({got[e] / got['float32']:.2f}x)"
                                                          for e in order), flush=True)
    return out


def fastest(measured: dict, min_gain: float) -> str | None:
    """The engine that beat float32 in every round and by ``min_gain`` in the median, the largest median first."""
    faster = {e: statistics.median(m["ratio"]) for e, m in measured.items()
              if e != "float32" and min(m["ratio"]) > 1.0 and statistics.median(m["ratio"]) >= 1.0 + min_gain}
    return max(faster, key=faster.get) if faster else None


def within_spread(base: list[float], other: list[float]) -> dict:
    """Difference of means (other - base) with its 95% Welch interval; ok when the interval holds 0 and the
    difference is no larger than the larger of the two seed standard deviations."""
    from scipy import stats

    res = stats.ttest_ind(other, base, equal_var=False)
    ci = res.confidence_interval(0.95)
    diff = statistics.fmean(other) - statistics.fmean(base)
    spread = max(statistics.stdev(base), statistics.stdev(other))
    return {"difference": round(diff, 5), "ci95": [round(float(ci.low), 5), round(float(ci.high), 5)],
            "seed_sd": round(spread, 5), "ok": bool(ci.low <= 0 <= ci.high and abs(diff) <= spread)}


def accuracy_check(family: str, engine: str, seeds: int, epochs: int, threads: int | None, source: str) -> dict:
    builder, kwargs, batch, _ = FAMILIES[family]
    acc = {e: [] for e in ("float32", engine)}
    for seed in range(seeds):
        for e in acc:
            out = run(ACCURACY, [builder, kwargs, batch, seed, epochs, source], e, threads)
            acc[e].append(out["accuracy"])
            print(f"  {family} seed {seed} {e}: {out['accuracy']:.4f} ({out['source']}, {out['n_train']} images)",
                  flush=True)
    return {"engine": engine, "seeds": seeds, "epochs": epochs, "data": out["source"], "n_train": out["n_train"],
            "accuracy": acc, **within_spread(acc["float32"], acc[engine])}


def entry(measured: dict, min_gain: float, check: dict | None) -> dict:
    best = fastest(measured, min_gain)
    ok = bool(check and check["ok"])
    return {"engines": measured, "faster": best is not None, "fastest": best, "accuracy_check": check,
            "accuracy_ok": ok if best else None, "pick": best if best and ok else "float32"}


def merge(path: Path, cpu: str, section: dict) -> None:
    from emnist_lib.fileio import atomic_path

    table = json.loads(path.read_text()) if path.exists() else {}
    table.setdefault("about", "emnist_lib.engines: measured by benchmarks/engine_table.py, keyed by CPU class")
    table.setdefault("cpus", {})[cpu] = section
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")


def markdown(cpu: str, section: dict) -> str:
    engines = list(next(iter(section["families"].values()))["engines"])
    lines = [f"{cpu}: ratio of images/s to float32 (XLA off) in the same round, per round", "",
             "| family | float32 img/s | " + " | ".join(e for e in engines if e != "float32") + " | pick |",
             "|---|---|" + "---|" * (len(engines) - 1) + "---|"]
    for family, e in section["families"].items():
        base = ", ".join(f"{v:,.0f}" for v in e["engines"]["float32"]["images_per_s"])
        cells = [", ".join(f"{r:.2f}x" for r in e["engines"][k]["ratio"]) for k in engines if k != "float32"]
        check = e["accuracy_check"]
        why = "" if not check else (f" (accuracy {check['difference'] * 100:+.2f} points, 95% CI "
                                    f"[{check['ci95'][0] * 100:+.2f}, {check['ci95'][1] * 100:+.2f}], seed sd "
                                    f"{check['seed_sd'] * 100:.2f}: {'kept' if check['ok'] else 'rejected'})")
        lines.append(f"| {family} | {base} | " + " | ".join(cells) + f" | {e['pick']}{why} |")
    return "\n".join(lines)


def main(argv=None) -> dict:
    from emnist_lib import engines
    from emnist_lib.results import hardware, versions

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    ap.add_argument("--engines", nargs="+", default=list(engines.ENGINES), choices=list(engines.ENGINES))
    ap.add_argument("--threads", type=int, default=1, help="threads per run (0: TensorFlow's default)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--min-gain", type=float, default=0.10)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--acc-epochs", type=int, default=5)
    ap.add_argument("--json", type=Path, help="merge this CPU class's section into this file")
    ap.add_argument("--install", action="store_true", help="and into the packaged table emnist_lib reads")
    args = ap.parse_args(argv)
    if args.threads < 0 or args.repeats < 1 or args.seeds < 2:
        ap.error("--threads must be 0 or more, --repeats 1 or more, --seeds 2 or more")
    eng = ["float32"] + [e for e in args.engines if e != "float32"]
    threads = args.threads or None
    os.environ.pop("EMNIST_ENGINE", None)
    if threads:
        os.environ["EMNIST_THREADS"] = str(threads)
    cpu = engines.cpu_class(threads)
    print(cpu, flush=True)
    measured = speeds(args.families, eng, args.repeats, threads)
    from emnist_lib.config import shared_data_dir

    source = "nist-pool" if shared_data_dir() is not None else "synthetic"
    families = {}
    for family in args.families:
        best = fastest(measured[family], args.min_gain)
        check = accuracy_check(family, best, args.seeds, args.acc_epochs, threads, source) if best else None
        families[family] = entry(measured[family], args.min_gain, check)
    section = {"measured": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "hardware": hardware(),
               "threads": threads or "default", "versions": versions(), "repeats": args.repeats,
               "min_gain": args.min_gain, "command": "python benchmarks/engine_table.py " + " ".join(argv or sys.argv[1:]),
               "families": families}
    print(markdown(cpu, section))
    for path in ([args.json] if args.json else []) + ([engines.TABLE] if args.install else []):
        merge(path, cpu, section)
        print(f"wrote {path}")
    return section


if __name__ == "__main__":
    main()
