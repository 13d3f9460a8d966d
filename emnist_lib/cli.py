"""Command line: ``python -m emnist_lib <group> <command>``.

    data info     splits, counts, classes and source (text or --json)
    data fetch    download and verify the official files
    data synth    generate synthetic EMNIST in the official format
    data verify   check files in the data dir against the official checksums
    report        run the study's notebooks and build the report (--profile)
    notebooks     refresh the stored smoke outputs of notebooks/ (the nbval reference)
    search        one worker of a shared Optuna hyperparameter search
    predict       classify image files with a trained model (default: the best CNN of the newest report)
    serve         a drawing page and JSON API on 127.0.0.1 (FastAPI + uvicorn)
    export        SavedModel (TF Serving) or TFLite (optionally int8), checked against the Keras model
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import config
from .errors import EmnistError
from .splits import SPLITS


def _split_list(value: str) -> list[str]:
    names = list(SPLITS) if value == "all" else value.split(",")
    from .splits import get_split

    for name in names:
        get_split(name)
    return names


def cmd_info(args) -> int:
    from .data import env_summary, load_emnist

    rows = []
    for split in _split_list(args.split):
        ds = load_emnist(split, source=args.source, data_dir=args.data_dir, download=False,
                         n_train=args.synthetic_train, n_test=args.synthetic_test, seed=args.seed)
        rows.append(ds.describe())
    if args.json:
        print(json.dumps({"environment": env_summary(), "splits": rows}, indent=2, sort_keys=True))
        return 0
    env = env_summary()
    print(f"data dir: {env['data_dir']}   cache: {env['cache_dir']}   offline: {env['offline']}")
    for r in rows:
        p = r["provenance"]
        origin = p.get("generator", {}).get("generator_version")
        origin = f"synthetic generator v{origin}" if origin else ("official checksums ok" if p.get("official_checksums") else p.get("source"))
        print(f"\n{r['name']}: source={r['source'].upper()} ({origin})")
        print(f"  train {r['train_size']:,}  test {r['test_size']:,}  image {tuple(r['image_shape'])}  "
              f"outputs {r['num_classes']}")
        used = [n for n, c in zip(r["class_names"], r["train_counts"]) if c]
        print(f"  classes ({len(used)}): {' '.join(used)}")
        counts = [c for c in r["train_counts"] if c]
        print(f"  train images per class: min {min(counts)}, max {max(counts)}")
    return 0


def cmd_fetch(args) -> int:
    from .alphadigits import find_or_fetch
    from .data import fetch_nist
    from .splits import get_split

    folder = Path(args.data_dir) if args.data_dir else config.data_dir()
    urls = args.mirror or None
    for split in _split_list(args.split):
        fetch_nist(get_split(split), folder, urls=urls)
        print(f"{split}: ok in {folder}")
    if args.alphadigits:
        print(f"alphadigits: ok at {find_or_fetch(folder)}")
    return 0


def cmd_synth(args) -> int:
    from . import synthetic

    for split in _split_list(args.split):
        folder = synthetic.ensure(split, n_train=args.train, n_test=args.test, seed=args.seed,
                                  root=Path(args.out) if args.out else None, system_fonts=args.system_fonts)
        print(f"{split}: {folder}")
    return 0


def cmd_verify(args) -> int:
    from .data import verify_folder

    rows = verify_folder(Path(args.data_dir) if args.data_dir else None)
    present = [r for r in rows if r["status"] != "missing"]
    for r in present:
        print(f"{r['status']:8s} {r['file']}")
    bad = [r for r in present if r["status"] != "ok"]
    print(f"{len(present)} official file(s) present, {len(bad)} mismatched, {len(rows) - len(present)} absent")
    if not present:
        print(f"no official files in {args.data_dir or config.data_dir()}; run 'python -m emnist_lib data fetch'")
    return 1 if bad else 0


def cmd_report(args) -> int:
    from . import engines
    from .runner import run_profile

    previous = {k: os.environ.get(k) for k in ("EMNIST_ENGINE", "EMNIST_ENGINE_TABLE")}
    try:
        if args.engine is not None:  # read by the kernels and the local workers this process starts
            os.environ["EMNIST_ENGINE"] = engines.check_choice(args.engine)
        if engines.choice() == "table":  # checked here, before any notebook: the kernels run in notebooks/
            if os.environ.get("EMNIST_ENGINE_TABLE"):
                os.environ["EMNIST_ENGINE_TABLE"] = str(Path(os.environ["EMNIST_ENGINE_TABLE"]).resolve())
            here = engines.entries_here()
            print(f"[{args.profile}] engine table {engines.table_path()}: " + (
                f"entries for {', '.join(here)}" if here else
                f"no entry for this CPU ({engines.cpu_class()}): every run trains float32; measure one with "
                "`python benchmarks/engine_table.py --install`"))
        return run_profile(args.profile, notebooks=args.notebooks, verbose=args.verbose,
                           timeout=args.cell_timeout, dry_run=args.dry_run, executor=args.executor, jobs=args.jobs)
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def cmd_refresh(args) -> int:
    from .runner import refresh_stored_notebooks

    return refresh_stored_notebooks(args.notebooks)


def cmd_search(args) -> int:
    from . import search
    from .loaders import load_split

    if args.trials < 1:
        raise ValueError(f"--trials must be at least 1 (got {args.trials})")
    search.get_space(args.space)
    folder = Path(args.folder) if args.folder else config.REPORT_DIR / args.profile / "search"
    storage = search.open_storage(args.storage, folder, args.study)
    ds = load_split(args.split, args.source, args.n_train, 0, args.seed)
    x_tr, y_tr, x_val, y_val = ds.validation_split(0.1, seed=args.seed)
    data = search.SearchData(x_tr, y_tr, x_val, y_val, ds.num_classes, ds.provenance)
    budget = search.Budget(epochs=args.epochs, batch_size=args.batch_size, seed=args.seed)
    fixed = {"filters": args.filters} if args.space == "cnn" else {}
    out = search.run_worker(args.study, args.space, data, args.trials, storage, budget,
                            heartbeat_s=args.heartbeat, grace_s=args.grace, seed=args.seed, fixed_model=fixed)
    print(json.dumps(out, indent=1, default=str))
    return 0


def cmd_predict(args) -> int:
    from .card import describe
    from .inference import ImageError, Predictor, prepare

    if args.top < 1:
        raise ValueError(f"--top must be at least 1 (got {args.top})")
    predictor = Predictor(args.model)
    card = predictor.card
    if not args.json:
        print(f"model: {predictor.path}\n       {describe(card)}")
        if card["data"].get("synthetic"):
            print("       note: " + card["data"]["note"])
    out, failed = [], 0
    for name in args.images:
        try:
            image = prepare(name)
        except ImageError as exc:
            failed += 1
            print(f"error: {exc}", file=sys.stderr)
            out.append({"image": name, "error": str(exc)})
            continue
        if args.save_input:
            from PIL import Image

            folder = Path(args.save_input)
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(folder / f"{Path(name).stem}_28x28.png")
        top = predictor.classify(image, args.top)
        out.append({"image": name, "top": top})
        if not args.json:
            print(f"{name}: " + "  ".join(f"{t['class']} {100 * t['probability']:.1f}%" for t in top))
    if args.json:
        print(json.dumps({"model": str(predictor.path), "card": {k: card[k] for k in ("name", "split", "data", "test")},
                          "predictions": out}, indent=1, default=float))
    return 2 if failed else 0


def cmd_serve(args) -> int:
    from .serve import serve

    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving on {args.host}: other machines can reach this server", file=sys.stderr)
    serve(args.model, host=args.host, port=args.port)
    return 0


def cmd_export(args) -> int:
    from .export import MIN_INT8_AGREEMENT, export

    res = export(args.model, args.format, args.out, quantize=args.quantize, n_check=args.check_images)
    c = res["check"]
    print(f"exported {res['card']} as {res['format']}{f' ({q})' if (q := res['quantization']) else ''} to {res['export']} "
          f"({res['size_bytes'] / 1e6:.2f} MB, {res['seconds']:.1f} s)")
    print(f"check on {c['images']} {c['source']} {c['split']} test images: top-1 agreement with Keras "
          f"{100 * c['top1_agreement']:.2f}%; accuracy {100 * c['accuracy_export']:.2f}% (Keras "
          f"{100 * c['accuracy_keras']:.2f}%); details in {res['export']}.json")
    if res["quantization"] and c["top1_agreement"] < MIN_INT8_AGREEMENT:
        print(f"warning: {res['quantization']} agreement below {100 * MIN_INT8_AGREEMENT:.0f}%: prefer the float export", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m emnist_lib", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    groups = parser.add_subparsers(dest="group", required=True)
    data = groups.add_parser("data", help="data sets: info, fetch, synth, verify")
    sub = data.add_subparsers(dest="command", required=True)

    info = sub.add_parser("info", help="splits, counts, classes and source")
    info.add_argument("--split", default="all", help="split name, comma list, or 'all' (default)")
    info.add_argument("--source", default="auto", help="auto | nist | synthetic | tfds | extra-keras-datasets")
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    info.add_argument("--synthetic-train", type=int, default=None, help="synthetic training set size")
    info.add_argument("--synthetic-test", type=int, default=None, help="synthetic test set size")
    info.add_argument("--seed", type=int, default=0)
    info.add_argument("--data-dir", default=None)
    info.set_defaults(func=cmd_info)

    fetch = sub.add_parser("fetch", help="download and verify the official files")
    fetch.add_argument("--split", default="all")
    fetch.add_argument("--alphadigits", action="store_true", help="also fetch Binary AlphaDigits")
    fetch.add_argument("--mirror", action="append", help="URL of gzip.zip to try (repeatable)")
    fetch.add_argument("--data-dir", default=None)
    fetch.set_defaults(func=cmd_fetch)

    synth = sub.add_parser("synth", help="generate synthetic EMNIST in the official format")
    synth.add_argument("--split", default="all")
    synth.add_argument("--train", type=int, default=None, help="training images (default 200 per class)")
    synth.add_argument("--test", type=int, default=None, help="test images (default 40 per class)")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--out", default=None, help="root folder (default: the cache)")
    synth.add_argument("--system-fonts", action="store_true", default=None,
                       help="also draw with this machine's fonts (the data then differs between machines; "
                            "default: EMNIST_SYSTEM_FONTS)")
    synth.set_defaults(func=cmd_synth)

    verify = sub.add_parser("verify", help="check files against the official checksums")
    verify.add_argument("--data-dir", default=None)
    verify.set_defaults(func=cmd_verify)

    report = groups.add_parser("report", help="run the notebooks of a profile and build the report")
    report.add_argument("--profile", default="quick", choices=config.PROFILES)
    report.add_argument("--notebooks", nargs="*", default=None, help="only these notebooks (e.g. 00 01)")
    report.add_argument("--verbose", action="store_true", help="one progress line per cell")
    report.add_argument("--cell-timeout", type=int, default=None,
                        help="seconds a cell may run (a hang guard; default 1800 for smoke and quick and dry runs, "
                             "6 hours for emnist and full)")
    report.add_argument("--dry-run", action="store_true",
                        help="every notebook's code path with the profile's settings at a tiny size, into "
                             "build/dry-run-<profile> (a code check, not results)")
    report.add_argument("--executor", default=None,
                        help="where the runs execute: local (default on 2 cores or more: a worker process per core), "
                             "local:N, inline (in each notebook's process), or a Dask scheduler address tcp://HOST:PORT "
                             "(docs/DESIGN.md, 'Parallel runs')")
    report.add_argument("--jobs", type=int, default=None,
                        help="notebooks executed at once, each after those whose records it reads (default 1; 2 was "
                             "1.09x faster on 2 cores, its reproducibility still being confirmed: docs/DESIGN.md)")
    report.add_argument("--engine", default=None,
                        help="precision per run: float32 (the default, as the committed reports were built), "
                             "table (what benchmarks/engine_table.py measured faster on this CPU class and model "
                             "family at the same accuracy), or an engine's name; part of each run's record and cache key")
    report.set_defaults(func=cmd_report)

    srch = groups.add_parser("search", help="one search worker: run trials of a shared Optuna study until it has N")
    srch.add_argument("--study", required=True, help="study name (workers with the same name and storage share it)")
    srch.add_argument("--trials", type=int, required=True, help="finished trials the study should have in all")
    srch.add_argument("--space", default="cnn", help="search space: cnn | mlp")
    srch.add_argument("--storage", default=None,
                      help="postgresql://user:pass@host/db for many machines (or EMNIST_SEARCH_STORAGE); "
                           "default: a journal file in --folder")
    srch.add_argument("--folder", default=None, help="journal folder (default: report/<profile>/search)")
    srch.add_argument("--profile", default="quick", choices=config.PROFILES)
    srch.add_argument("--split", default="balanced")
    srch.add_argument("--source", default="auto")
    srch.add_argument("--n-train", type=int, default=4700, help="training images (0 = all)")
    srch.add_argument("--epochs", type=int, default=7)
    srch.add_argument("--batch-size", type=int, default=128)
    srch.add_argument("--filters", type=int, nargs="+", default=[32, 64], help="the CNN's conv channels (not searched)")
    srch.add_argument("--seed", type=int, default=0)
    srch.add_argument("--heartbeat", type=float, default=10.0, help="seconds between a running trial's heartbeats")
    srch.add_argument("--grace", type=float, default=30.0,
                      help="seconds without a heartbeat after which a trial counts as failed and is retried")
    srch.set_defaults(func=cmd_search)

    model_help = ("a .keras file with its .card.json beside it (default: final_cnn of report/full, else report/emnist, "
                  "else report/quick)")
    pred = groups.add_parser("predict", help="classify image files (PNG/JPEG/BMP, any size, either polarity)")
    pred.add_argument("images", nargs="+", metavar="IMAGE", help="image files, one handwritten character each")
    pred.add_argument("--model", default=None, help=model_help)
    pred.add_argument("--top", type=int, default=5, help="how many classes to show (default 5)")
    pred.add_argument("--json", action="store_true", help="print JSON")
    pred.add_argument("--save-input", default=None, metavar="DIR",
                      help="also write the 28x28 image the model saw for each file into DIR")
    pred.set_defaults(func=cmd_predict)

    srv = groups.add_parser("serve", help="a drawing page and JSON API (POST /predict, GET /health)")
    srv.add_argument("--model", default=None, help=model_help)
    srv.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    srv.add_argument("--port", type=int, default=8000)
    srv.set_defaults(func=cmd_serve)

    exp = groups.add_parser("export", help="SavedModel for TF Serving or TFLite for mobile, checked against Keras")
    exp.add_argument("--format", required=True, choices=("savedmodel", "tflite"))
    exp.add_argument("--quantize", nargs="?", const="int8", default=None, choices=("int8", "dynamic"),
                     help="tflite only: int8 weights and activations (the default when given alone), or dynamic "
                          "(int8 weights, float activations)")
    exp.add_argument("--model", default=None, help=model_help)
    exp.add_argument("--out", default=None, help="output path (default: models/export/<name>.<format> beside the model)")
    exp.add_argument("--check-images", type=int, default=1000, help="test images of the agreement check")
    exp.set_defaults(func=cmd_export)

    nbs = groups.add_parser("notebooks", help="re-run notebooks/ with smoke defaults, storing outputs (nbval reference)")
    nbs.add_argument("--notebooks", nargs="*", default=None, help="only these notebooks (e.g. 00 01)")
    nbs.set_defaults(func=cmd_refresh)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (EmnistError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
