"""The engine table: each model family's training throughput per precision and XLA setting on this CPU class,
and the accuracy check that lets :mod:`emnist_lib.engines` pick a faster engine.

Baseline: ``float32`` (what every run trained under before the table). Against it, every other engine of
``emnist_lib.engines.ENGINES`` (``mixed_bfloat16``; no XLA engine: under the op determinism every run enables, Keras
compiles without XLA whatever it is asked, so the first table's "+xla" arms, kept in it as ``ran_without_xla``, were
repeats of the engines without it). Each measurement is a
fresh process (``EMNIST_ENGINE`` forces the engine, ``EMNIST_THREADS`` pins the threads) that trains one family
through the study's own ``train()`` for 2 epochs on synthetic 28x28 images at the study's batch, without cache;
throughput is the fastest epoch's images/s (the first holds graph tracing). Engines alternate, their order rotating
from round to round, and each engine's ratio is taken against float32 **in the same round** (single figures on
these shared machines vary up to 2x between repeats).

An engine counts as faster when it beat float32 in every round and by at least ``--min-gain`` (default 10%) in the
median. For the fastest such engine of a family, the accuracy check trains float32 and it with ``--seeds`` seeds
(the same seeds for both) on the same data (real EMNIST balanced from the pool when ``../shared/data`` holds it,
else the synthetic default; ``--acc-epochs`` epochs) and keeps it only when the paired 95% interval of the accuracy
difference lies within +-``--margin`` (default 2 points, the difference the study's comparisons are designed to
detect): an equivalence test, so noisier runs make passing harder, not easier. When it fails, the next faster
engine is checked. The family's ``pick`` is the first engine kept, else float32. The table is keyed by CPU class
(model, instruction set and AVX-512 bfloat16, AMX, oneDNN, threads per run), so another machine never inherits this
one's pick; entries of other classes are kept. ``--recheck`` judges stored checks again without training.
``--confirm --families F --seeds N`` checks once more, on N seeds no check used, a family whose check failed without
showing a shift (its interval holds zero: too few seeds to tell); the pick follows the new check and both are kept.

    python benchmarks/engine_table.py --threads 1 --repeats 2 --install   # --threads 0: TensorFlow's default threads
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

# Engines of the first table, which Keras ran without XLA (op determinism): what each one really was (--recheck).
RAN_AS = {"float32+xla": "float32", "mixed_bfloat16+xla": "mixed_bfloat16"}

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


def faster_engines(measured: dict, min_gain: float) -> list[str]:
    """The engines that beat float32 in every round and by ``min_gain`` in the median (with 2 rounds, their mean),
    the largest median first."""
    faster = {e: statistics.median(m["ratio"]) for e, m in measured.items()
              if e != "float32" and min(m["ratio"]) > 1.0 and statistics.median(m["ratio"]) >= 1.0 + min_gain}
    return sorted(faster, key=faster.get, reverse=True)


def fastest(measured: dict, min_gain: float) -> str | None:
    ranked = faster_engines(measured, min_gain)
    return ranked[0] if ranked else None


def equivalent(base: list[float], other: list[float], margin: float) -> dict:
    """Accuracy under another engine against float32 on the same seeds: the paired mean difference (other - base)
    with its 95% t interval; ok when the whole interval lies within +-``margin`` (two one-sided tests at 2.5%
    each): the engine is shown not to move accuracy by ``margin`` or more, not merely not shown to move it."""
    from scipy import stats

    diffs = [o - b for o, b in zip(other, base, strict=True)]
    mean, sd = statistics.fmean(diffs), statistics.stdev(diffs)
    half = float(stats.t.ppf(0.975, len(diffs) - 1)) * sd / len(diffs) ** 0.5
    return {"difference": round(mean, 5), "ci95": [round(mean - half, 5), round(mean + half, 5)],
            "paired_sd": round(sd, 5), "margin": margin, "ok": bool(-margin <= mean - half and mean + half <= margin)}


def accuracy_check(family: str, engine: str, seeds: int, epochs: int, threads: int | None, source: str,
                   margin: float, first_seed: int = 0) -> dict:
    builder, kwargs, batch, _ = FAMILIES[family]
    acc = {e: [] for e in ("float32", engine)}
    for seed in range(first_seed, first_seed + seeds):
        for e in acc:
            out = run(ACCURACY, [builder, kwargs, batch, seed, epochs, source], e, threads)
            acc[e].append(out["accuracy"])
            print(f"  {family} seed {seed} {e}: {out['accuracy']:.4f} ({out['source']}, {out['n_train']} images)",
                  flush=True)
    return {"engine": engine, "seeds": seeds, "first_seed": first_seed, "epochs": epochs, "data": out["source"],
            "n_train": out["n_train"], "accuracy": acc, **equivalent(acc["float32"], acc[engine], margin)}


def entry(measured: dict, min_gain: float, checks: list[dict]) -> dict:
    """A family's table entry: its measurements, the accuracy checks run (fastest engine first, the next only when
    one failed), and its pick: the first faster engine whose check passed, else float32."""
    ranked = faster_engines(measured, min_gain)
    kept = next((c["engine"] for c in checks if c["ok"] and c["engine"] in ranked), None)
    return {"engines": measured, "faster": bool(ranked), "fastest": ranked[0] if ranked else None,
            "accuracy_checks": checks, "accuracy_ok": (kept is not None) if ranked else None,
            "pick": kept or "float32"}


def checked_entry(family: str, measured: dict, args, threads, source) -> dict:
    checks = []
    for engine in faster_engines(measured, args.min_gain):
        checks.append(accuracy_check(family, engine, args.seeds, args.acc_epochs, threads, source, args.margin))
        if checks[-1]["ok"]:
            break
    return entry(measured, args.min_gain, checks)


def confirmable(check: dict) -> bool:
    """An accuracy check that may be confirmed on new seeds: it failed, but no shift was shown either (its interval
    holds zero). A check that showed a shift is final."""
    low, high = check["ci95"]
    return not check["ok"] and low <= 0 <= high


def confirm(path: Path, cpu: str, families: list[str], args, threads, source: str) -> dict:
    """``--confirm``: for each family whose stored check of its fastest engine was inconclusive, one more check on
    ``--seeds`` new seeds (after every seed a stored check used), at the stored check's epochs and on its data,
    without measuring speed again. Both checks stay in the entry; the pick follows the new one. Once only: a family
    already confirmed is not checked a third time (two looks, each at 95%, raise the chance of a false equivalence to
    at most about twice the nominal one; more looks would raise it further)."""
    table = json.loads(path.read_text()) if path.exists() else {}
    section = table.get("cpus", {}).get(cpu)
    if section is None:
        raise SystemExit(f"{path}: no entry for {cpu!r}: run the table on this machine first (without --confirm)")
    done = {}
    for family in families:
        e = section["families"].get(family)
        ranked = faster_engines(e["engines"], section["min_gain"]) if e else []
        stored = [c for c in (e or {}).get("accuracy_checks", []) if ranked and c["engine"] == ranked[0]]
        if not stored or e["pick"] != "float32" or not confirmable(stored[-1]):
            print(f"{family}: nothing to confirm (no inconclusive check of a faster engine)", flush=True)
            continue
        if any(c.get("confirms") for c in e["accuracy_checks"]):
            print(f"{family}: already confirmed once; a third look is refused (measure the family again instead)",
                  flush=True)
            continue
        if stored[-1]["data"] != source:
            raise SystemExit(f"{family}: its stored check ran on {stored[-1]['data']!r} data, this machine has "
                             f"{source!r}: confirm where the first check's data is")
        first = max(c.get("first_seed", 0) + c["seeds"] for c in e["accuracy_checks"])
        check = accuracy_check(family, ranked[0], args.seeds, stored[-1]["epochs"], threads, source,
                               section["margin"], first_seed=first)
        if check["n_train"] != stored[-1]["n_train"]:
            raise SystemExit(f"{family}: {check['n_train']} training images against the stored check's "
                             f"{stored[-1]['n_train']}: not a confirmation of it")
        check |= {"confirms": True, "measured": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                  "command": "python benchmarks/engine_table.py " + " ".join(args.argv)}
        extra = {k: v for k, v in e.items() if k == "ran_without_xla"}
        section["families"][family] = done[family] = entry(e["engines"], section["min_gain"],
                                                           e["accuracy_checks"] + [check]) | extra
    write_table(path, table)
    return done


def recheck(path: Path, margin: float, min_gain: float) -> None:
    """Apply today's rules to a stored table without training: each stored accuracy check is judged again with
    :func:`equivalent` at ``margin``, and each section measured on this machine's CPU model is keyed by its CPU class
    as :func:`emnist_lib.engines.cpu_class` now spells it."""
    from emnist_lib import engines
    from emnist_lib.results import hardware

    table = json.loads(path.read_text())
    out = {}
    for cpu, section in table["cpus"].items():
        for family, e in section["families"].items():
            stored = e.get("accuracy_checks") or ([e["accuracy_check"]] if e.get("accuracy_check") else [])
            checks = []
            for c in stored:  # an engine that Keras ran as another (no XLA under op determinism) is that other
                ran = RAN_AS.get(c["engine"], c["engine"])
                c = {k: v for k, v in c.items() if k not in ("seed_sd", "paired_sd", "ok", "difference", "ci95")}
                c = {**c, **({"engine": ran, "asked_for": c["engine"]} if ran != c["engine"] else {}),
                     "accuracy": {"float32": c["accuracy"]["float32"], ran: c["accuracy"][c["engine"]]}}
                checks.append(c | equivalent(c["accuracy"]["float32"], c["accuracy"][ran], margin))
            measured = {k: v for k, v in e["engines"].items() if k in engines.ENGINES}
            ran_as = {k: v for k, v in {**e["engines"], **e.get("ran_without_xla", {})}.items()
                      if k not in engines.ENGINES}
            section["families"][family] = entry(measured, min_gain, checks) | (
                {"ran_without_xla": ran_as} if ran_as else {})
        section["margin"], section["min_gain"] = margin, min_gain
        same = section["hardware"]["cpu"] == hardware()["cpu"] and section["hardware"]["isa"] == hardware()["isa"]
        out[engines.cpu_class(section["threads"] if section["threads"] != "default" else None) if same else cpu] = section
    table["cpus"] = out
    write_table(path, table)
    for cpu, section in out.items():
        print(markdown(cpu, section))


def write_table(path: Path, table: dict) -> None:
    """The table as the package reads it, written atomically (a killed run leaves the old table, never half of one)."""
    from emnist_lib.fileio import write_text_atomic

    write_text_atomic(path, json.dumps(table, indent=1, sort_keys=True) + "\n")


def merge(path: Path, cpu: str, section: dict) -> None:
    table = json.loads(path.read_text()) if path.exists() else {}
    table.setdefault("about", "emnist_lib.engines: measured by benchmarks/engine_table.py, keyed by CPU class")
    table.setdefault("cpus", {})[cpu] = section
    path.parent.mkdir(parents=True, exist_ok=True)
    write_table(path, table)


def markdown(cpu: str, section: dict) -> str:
    engines = list(next(iter(section["families"].values()))["engines"])
    lines = [f"{cpu}: ratio of images/s to float32 (XLA off) in the same round, per round", "",
             "| family | float32 img/s | " + " | ".join(e for e in engines if e != "float32") + " | pick |",
             "|---|---|" + "---|" * (len(engines) - 1) + "---|"]
    for family, e in section["families"].items():
        base = ", ".join(f"{v:,.0f}" for v in e["engines"]["float32"]["images_per_s"])
        cells = [", ".join(f"{r:.2f}x" for r in e["engines"][k]["ratio"]) for k in engines if k != "float32"]
        why = "".join(f"; {c['engine']}: accuracy {c['difference'] * 100:+.2f} points, paired 95% CI "
                      f"[{c['ci95'][0] * 100:+.2f}, {c['ci95'][1] * 100:+.2f}] over {c['seeds']} seeds, "
                      f"{'within' if c['ok'] else 'not within'} +-{c['margin'] * 100:g}" for c in e["accuracy_checks"])
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
    ap.add_argument("--margin", type=float, default=0.02,
                    help="accuracy an engine must be shown not to move by (fraction; default 0.02: the 2 points the "
                         "study's comparisons are designed to detect)")
    ap.add_argument("--json", type=Path, help="merge this CPU class's section into this file")
    ap.add_argument("--install", action="store_true", help="and into the packaged table emnist_lib reads")
    ap.add_argument("--confirm", action="store_true",
                    help="no speed rounds: check again, on --seeds new seeds, the families (--families) whose stored "
                         "check of this CPU class was inconclusive (failed with an interval holding zero)")
    ap.add_argument("--recheck", action="store_true",
                    help="no training: judge the stored accuracy checks of --json (and, with --install, the packaged "
                         "table) again with today's rule and key them as today")
    args = ap.parse_args(argv)
    args.argv = list(argv if argv is not None else sys.argv[1:])
    if args.threads < 0 or args.repeats < 1 or args.seeds < 2 or not 0 < args.margin < 1:
        ap.error("--threads must be 0 or more, --repeats 1 or more, --seeds 2 or more, --margin in (0, 1)")
    if args.recheck:
        for path in ([args.json] if args.json else []) + ([engines.TABLE] if args.install else []):
            recheck(path, args.margin, args.min_gain)
            print(f"rechecked {path}")
        return {}
    eng = ["float32"] + [e for e in args.engines if e != "float32"]
    threads = args.threads or None
    os.environ.pop("EMNIST_ENGINE", None)
    os.environ.pop("EMNIST_THREADS", None)
    if threads:
        os.environ["EMNIST_THREADS"] = str(threads)
    cpu = engines.cpu_class(threads)
    print(cpu, flush=True)
    from emnist_lib.config import shared_data_dir

    source = "nist-pool" if shared_data_dir() is not None else "synthetic"
    if args.confirm:
        if bool(args.json) == bool(args.install):
            ap.error("--confirm updates one table: give --install (the packaged table) or --json FILE, not both")
        path = args.json or engines.TABLE
        for family, e in confirm(path, cpu, args.families, args, threads, source).items():
            print(f"{family}: {' then '.join(('ok' if c['ok'] else 'not ok') + str(c['ci95']) for c in e['accuracy_checks'])}"
                  f" -> {e['pick']}")
        print(markdown(cpu, json.loads(path.read_text())["cpus"][cpu]))
        print(f"wrote {path}")
        return {}
    measured = speeds(args.families, eng, args.repeats, threads)
    families = {family: checked_entry(family, measured[family], args, threads, source) for family in args.families}
    section = {"measured": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "hardware": hardware(),
               "threads": threads or "default", "versions": versions(), "repeats": args.repeats,
               "min_gain": args.min_gain, "margin": args.margin,
               "command": "python benchmarks/engine_table.py " + " ".join(args.argv), "families": families}
    print(markdown(cpu, section))
    for path in ([args.json] if args.json else []) + ([engines.TABLE] if args.install else []):
        merge(path, cpu, section)
        print(f"wrote {path}")
    return section


if __name__ == "__main__":
    main()
