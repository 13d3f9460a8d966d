"""`serve`: the JSON API answers good requests, refuses bad ones with a message, and keeps going."""

from __future__ import annotations

import base64
import concurrent.futures
import io
import json
import urllib.error
import urllib.request

import numpy as np
import pytest
from conftest import GLYPH
from PIL import Image

from emnist_lib.cli import build_parser
from emnist_lib.inference import Predictor
from emnist_lib.serve import create_app


def png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


def drawing() -> bytes:
    """What the page sends: black ink on a white 280x280 canvas."""
    page = np.full((280, 280), 255, np.uint8)
    page[40:240, 60:200] = 255 - np.asarray(Image.fromarray(GLYPH).resize((140, 200)))
    return png(page)


@pytest.fixture(scope="module")
def client(study_model):
    from fastapi.testclient import TestClient

    predictor = Predictor(study_model)
    with TestClient(create_app(predictor, max_body=10 * 1024 * 1024)) as c:
        c.predictor = predictor
        yield c


def good(client) -> dict:
    r = client.post("/predict", content=drawing(), headers={"Content-Type": "image/png"})
    assert r.status_code == 200, r.text
    return r.json()


def test_health_and_page(client):
    h = client.get("/health").json()
    assert h["status"] == "ok" and h["model"]["split"] == "mnist" and h["model"]["synthetic"] is True
    assert h["model"]["classes"] == [str(d) for d in range(10)] and "accuracy_ci95" in h["model"]["test"]
    page = client.get("/").text
    assert "<canvas" in page and "pointerup" in page and "/predict" not in page.replace('"predict?', "")
    assert "http://" not in page and "https://" not in page  # no CDN: works offline
    assert client.get("/docs").status_code == 404 and client.get("/openapi.json").json()["paths"]["/predict"]


def test_a_good_png_request(client):
    out = good(client)
    assert len(out["top"]) == 5 and out["model"] == "final_cnn" and out["synthetic"] is True
    probs = [t["probability"] for t in out["top"]]
    assert probs == sorted(probs, reverse=True) and all(0 <= p <= 1 for p in probs)
    seen = np.asarray(Image.open(io.BytesIO(base64.b64decode(out["input_png_base64"]))))
    assert seen.shape == (28, 28) and seen.max() == 255 and seen[:2].max() == 0
    # the API answers what the model says about the image it shows
    assert out["top"][0]["class"] == client.predictor.classify(seen)[0]["class"]


def test_json_pixels_and_base64(client):
    r = client.post("/predict?top=3", json={"pixels": GLYPH.tolist()})
    assert r.status_code == 200 and len(r.json()["top"]) == 3
    expected = client.predictor.classify(GLYPH, 3)
    assert [t["class"] for t in r.json()["top"]] == [t["class"] for t in expected]
    r = client.post("/predict", json={"image_base64": base64.b64encode(drawing()).decode()})
    assert r.status_code == 200 and r.json()["top"][0]["class"] == good(client)["top"][0]["class"]


NAN_JSON = '{"pixels": [' + ",".join(["[" + ",".join(["NaN"] * 28) + "]"] * 28) + "]}"


@pytest.mark.parametrize("body, content_type, status, message", [
    (b"this is not an image", "image/png", 422, "not an image this tool can read"),
    (b"", "image/png", 400, "empty body"),
    (b"\0" * (50 * 1024 * 1024), "image/png", 413, "over the 10,485,760-byte limit"),
    (png(np.full((100, 100), 255, np.uint8)), "image/png", 422, "no ink found"),
    (json.dumps({"pixels": [[0] * 28] * 27}).encode(), "application/json", 422, "expected a 28x28 array"),
    (json.dumps({"pixels": "abc"}).encode(), "application/json", 422, "expected a 28x28 array"),
    (NAN_JSON.encode(), "application/json", 422, "NaN"),
    (json.dumps({"pixels": (np.ones((28, 28)) * 1e9).tolist()}).encode(), "application/json", 422, "0..255"),
    (json.dumps([1, 2, 3]).encode(), "application/json", 422, "JSON must be an object"),
    (json.dumps({"image": "x"}).encode(), "application/json", 422, "JSON must be an object with"),
    (json.dumps({"image_base64": "@@@"}).encode(), "application/json", 422, "not valid base64"),
    (json.dumps({"image_base64": 5}).encode(), "application/json", 422, "must be a string"),
    (b"{not json", "application/json", 400, "not valid JSON"),
    (b'{"pixels": ' + b"[" * 200_000 + b"]" * 200_000 + b"}", "application/json", 400, "nested too deeply"),
    (json.dumps({"pixels": [["7"] * 28] * 28}).encode(), "application/json", 422, "pixels[0][0]: expected a number"),
    (json.dumps({"pixels": [[True] * 28] * 28}).encode(), "application/json", 422, "got bool True"),
    (json.dumps({"pixels": [[0] * 27 + [None]] + [[0] * 28] * 27}).encode(), "application/json", 422,
     "pixels[0][27]: expected a number 0..255, got NoneType"),
    (json.dumps({"pixels": [[[0]] * 28] * 28}).encode(), "application/json", 422, "got list"),
])
def test_bad_requests_are_4xx_with_a_message_and_the_server_goes_on(client, body, content_type, status, message):
    r = client.post("/predict", content=body, headers={"Content-Type": content_type})
    assert r.status_code == status and message in r.json()["error"], r.text
    assert len(good(client)["top"]) == 5


def test_bad_top_and_bad_content_length(client):
    r = client.post("/predict?top=0", content=drawing(), headers={"Content-Type": "image/png"})
    assert r.status_code == 422 and "top must be between 1 and 20" in r.json()["error"]
    r = client.post("/predict?top=abc", content=drawing(), headers={"Content-Type": "image/png"})
    assert r.status_code == 422
    assert good(client)["top"]


def test_serve_binds_to_loopback_by_default():
    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1" and args.port == 8000


def rss(pid: int) -> int:
    import psutil

    return psutil.Process(pid).memory_info().rss


def post(url: str, body: bytes, content_type: str = "image/png", timeout: float = 30) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.mark.slow
def test_a_real_server_under_load_keeps_answering_without_growing(live_server):
    """200 sequential requests, then 4 concurrent clients (50 each), mixed with bad requests, on a real
    uvicorn server started by the CLI: no error, and memory after warm-up grows by less than 10%."""
    import psutil

    base, proc = live_server
    listening = [c.laddr for c in psutil.Process(proc.pid).net_connections() if c.status == psutil.CONN_LISTEN]
    assert listening and all(addr.ip == "127.0.0.1" for addr in listening)  # loopback unless told otherwise

    body = drawing()
    for _ in range(30):  # warm-up: code paths traced, allocator pools filled
        assert post(base + "/predict", body)[0] == 200
    before = rss(proc.pid)
    for i in range(200):
        status, out = post(base + "/predict", body)
        assert status == 200 and len(out["top"]) == 5
        if i % 50 == 0:
            assert post(base + "/predict", b"junk")[0] == 422

    def client(n):
        return [post(base + "/predict", body)[0] for _ in range(n)]

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        statuses = [s for f in [pool.submit(client, 50) for _ in range(4)] for s in f.result(timeout=180)]
    assert statuses == [200] * 200
    after = rss(proc.pid)
    assert after <= 1.10 * before, f"RSS grew from {before / 2**20:.0f} MiB to {after / 2**20:.0f} MiB"
    assert proc.poll() is None


def test_an_unexpected_error_is_a_json_500_and_the_server_goes_on(study_model, monkeypatch):
    from fastapi.testclient import TestClient

    predictor = Predictor(study_model)
    with TestClient(create_app(predictor), raise_server_exceptions=False) as c:
        calls = iter([RuntimeError("boom")])

        def flaky(images, _real=predictor.predict):
            exc = next(calls, None)
            if exc:
                raise exc
            return _real(images)

        monkeypatch.setattr(predictor, "predict", flaky)
        r = c.post("/predict", content=drawing(), headers={"Content-Type": "image/png"})
        assert r.status_code == 500 and "internal error (RuntimeError: boom)" in r.json()["error"]
        assert len(good(c)["top"]) == 5
