"""Serving throughput and latency: requests/s and p50/p95 of POST /predict on loopback.

Baseline (named "keras predict"): in this process, ``model.predict`` on one 28x28 image per call,
the way a first serving attempt would call Keras. Compared in the same run with:

- "predictor": ``emnist_lib.inference.Predictor.predict`` in process (one traced function, no retracing);
- "http sequential": ``python -m emnist_lib serve`` started as a user starts it, one client sending the
  drawing page's request (a 280x280 PNG, converted the EMNIST way on the server) ``--requests`` times;
- "http 4 clients": four concurrent clients, ``--requests`` each.

The server's memory (RSS) is read after a warm-up and after all requests.

    python benchmarks/serve_load.py [--model report/quick/models/final_cnn.keras] [--requests 200]
                                    [--json benchmarks/results/serve_load.json]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import io
import json
import time
import urllib.request
from pathlib import Path

import numpy as np


def drawing() -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(img).line([(70, 60), (210, 60), (125, 240)], fill=0, width=18, joint="curve")
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def stats(latencies: list[float], wall: float) -> dict:
    ms = np.asarray(latencies) * 1000
    return {"requests": len(ms), "requests_per_s": round(len(ms) / wall, 1), "p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p95_ms": round(float(np.percentile(ms, 95)), 2)}


def timed(fn, n: int) -> dict:
    lat = []
    start = time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        fn()
        lat.append(time.perf_counter() - t)
    return stats(lat, time.perf_counter() - start)


def post(url: str, body: bytes) -> float:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "image/png"}, method="POST")
    t = time.perf_counter()
    with urllib.request.urlopen(req, timeout=60) as r:
        r.read()
        if r.status != 200:
            raise SystemExit(f"HTTP {r.status}")
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    import keras
    import psutil

    from emnist_lib import results
    from emnist_lib.card import resolve_model
    from emnist_lib.inference import Predictor, prepare
    from emnist_lib.serve import running

    model_path = resolve_model(args.model)
    body = drawing()
    image = prepare(body)[None]
    keras_model = keras.saving.load_model(model_path, compile=False)
    predictor = Predictor(model_path)
    for _ in range(5):
        keras_model.predict(image, verbose=0)
    out = {"model": str(model_path), "versions": results.versions(), "hardware": results.hardware(), "runs": {}}
    out["runs"]["keras predict"] = timed(lambda: keras_model.predict(image, verbose=0), args.requests)
    out["runs"]["predictor"] = timed(lambda: predictor.predict(image), args.requests)

    with running(model_path) as (base_url, proc):
        url = base_url + "/predict"
        for _ in range(30):
            post(url, body)
        rss_warm = psutil.Process(proc.pid).memory_info().rss
        start = time.perf_counter()
        lat = [post(url, body) for _ in range(args.requests)]
        out["runs"]["http sequential"] = stats(lat, time.perf_counter() - start)
        start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(lambda: [post(url, body) for _ in range(args.requests)]) for _ in range(4)]
            lat = [x for f in futures for x in f.result()]
        out["runs"]["http 4 clients"] = stats(lat, time.perf_counter() - start)
        rss_end = psutil.Process(proc.pid).memory_info().rss
    base = out["runs"]["keras predict"]["requests_per_s"]
    for run in out["runs"].values():
        run["throughput_vs_keras_predict"] = round(run["requests_per_s"] / base, 2)
    out["server_rss_mib"] = {"after_warmup": round(rss_warm / 2**20, 1), "after_all": round(rss_end / 2**20, 1),
                             "growth_percent": round(100 * (rss_end / rss_warm - 1), 1)}
    print(f"model: {model_path}")
    print(f"{'run':18s} {'req/s':>8s} {'p50 ms':>8s} {'p95 ms':>8s} {'x keras predict':>16s}")
    for name, r in out["runs"].items():
        print(f"{name:18s} {r['requests_per_s']:8.1f} {r['p50_ms']:8.2f} {r['p95_ms']:8.2f} "
              f"{r['throughput_vs_keras_predict']:16.2f}")
    m = out["server_rss_mib"]
    print(f"server memory: {m['after_warmup']} MiB after warm-up, {m['after_all']} MiB after "
          f"{5 * args.requests} requests ({m['growth_percent']:+.1f}%)")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
