"""A drawing page and a JSON API around one trained model (FastAPI + uvicorn).

``python -m emnist_lib serve`` binds to 127.0.0.1 unless told otherwise. Routes:

``GET /``          the drawing page (one static file, no CDN: works offline)
``GET /health``    ``{"status": "ok", "model": ...}`` with the model card's summary
``POST /predict``  the image as PNG/JPEG/BMP bytes (``Content-Type: image/...``), or JSON
                   ``{"pixels": 28x28 numbers 0..255}`` already in the model's convention, or
                   ``{"image_base64": "..."}``; answers the top-k classes with probabilities and
                   the 28x28 the model saw. Bad input is a 4xx with a message, never a crash.
"""

import base64
import binascii
import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from importlib.resources import files
from pathlib import Path

import numpy as np

from .inference import ImageError, Predictor, check_pixels, prepare

MAX_BODY = 10 * 1024 * 1024  # bytes; a 4000x3000 PNG photo of a character is well under this
MAX_TOP = 20


class BadRequest(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def page() -> str:
    return files("emnist_lib").joinpath("static/index.html").read_text(encoding="utf-8")


def png_base64(image28: np.ndarray) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image28).save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def summary(predictor: Predictor) -> dict:
    card = predictor.card
    return {"name": card["name"], "file": str(predictor.path), "split": card["split"],
            "classes": predictor.names, "data_source": card["data"].get("source"),
            "synthetic": bool(card["data"].get("synthetic")), "test": card["test"], "input": card["input"]}


async def read_body(request, limit: int = MAX_BODY) -> bytes:
    """The request body, refused (413) as soon as it passes ``limit`` bytes, whatever Content-Length says."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadRequest(400, f"bad Content-Length header {declared!r}")
        if int(declared) > limit:
            raise BadRequest(413, f"body of {int(declared):,} bytes is over the {limit:,}-byte limit; send a smaller image")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadRequest(413, f"body over the {limit:,}-byte limit; send a smaller image")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_request(body: bytes, content_type: str) -> np.ndarray:
    """The 28x28 uint8 image a request carries (raw image bytes or JSON)."""
    if not body:
        raise BadRequest(400, "empty body: send PNG/JPEG/BMP bytes, or JSON {\"pixels\": 28x28 numbers 0..255}")
    kind = content_type.split(";")[0].strip().lower()
    if kind != "application/json":
        return prepare(body, "request body")
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(400, f"body is not valid JSON ({exc})") from exc
    except RecursionError as exc:  # the parser's own depth limit: arrays inside arrays thousands deep
        raise BadRequest(400, "body is JSON nested too deeply; send {\"pixels\": 28 rows of 28 numbers}") from exc
    if not isinstance(doc, dict) or not ({"pixels", "image_base64"} & doc.keys()):
        raise BadRequest(422, "JSON must be an object with \"pixels\" (28x28 numbers 0..255, white ink on black, "
                              "upright) or \"image_base64\" (a PNG/JPEG/BMP file, base64)")
    if "pixels" in doc:
        return check_pixels(doc["pixels"], "pixels")
    if not isinstance(doc["image_base64"], str):
        raise BadRequest(422, "image_base64 must be a string")
    try:
        raw = base64.b64decode(doc["image_base64"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest(422, f"image_base64 is not valid base64 ({exc})") from exc
    return prepare(raw, "image_base64")


def create_app(predictor: Predictor, max_body: int = MAX_BODY):
    # (no `from __future__ import annotations` in this module: FastAPI reads the route annotations)
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse
    from starlette.concurrency import run_in_threadpool

    app = FastAPI(title="emnist_lib", description="Handwritten character recognition with a model of the EMNIST study",
                  docs_url=None, redoc_url=None)  # their pages load from a CDN; /openapi.json stays
    html = page()
    info = summary(predictor)

    @app.exception_handler(BadRequest)
    async def bad_request(_request, exc: BadRequest):
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def bad_parameter(_request, exc: RequestValidationError):
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return JSONResponse({"error": f"bad request parameter ({where})"}, status_code=422)

    @app.exception_handler(ImageError)
    async def bad_image(_request, exc: ImageError):
        return JSONResponse({"error": str(exc)}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(_request, exc: Exception):  # a bug, not bad input: say so, keep serving
        return JSONResponse({"error": f"internal error ({type(exc).__name__}: {exc}); please report it"},
                            status_code=500)

    @app.get("/", response_class=HTMLResponse)
    async def index():
        return html

    @app.get("/health")
    async def health():
        return {"status": "ok", "model": info}

    @app.post("/predict")
    async def predict(request: Request, top: int = 5):
        if not 1 <= top <= MAX_TOP:
            raise BadRequest(422, f"top must be between 1 and {MAX_TOP} (got {top})")
        body = await read_body(request, max_body)
        image = await run_in_threadpool(parse_request, body, request.headers.get("content-type", ""))
        proba = await run_in_threadpool(predictor.predict, image[None])
        return {"top": predictor.top(proba[0], top), "input_png_base64": png_base64(image),
                "model": info["name"], "split": info["split"], "synthetic": info["synthetic"]}

    return app


def serve(model: str | Path | None = None, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> None:
    import uvicorn

    predictor = Predictor(model)
    app = create_app(predictor)
    print(f"model: {predictor.path}", flush=True)
    print(f"open http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/ to draw a character", flush=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level)


def free_port() -> int:
    """A TCP port nothing listens on at 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running(model: str | Path | None = None, port: int | None = None, log=None, timeout: float = 120):
    """``python -m emnist_lib serve`` started in a child process as a user starts it (default host), on a
    free port: yields ``(base_url, process)`` once ``/health`` answers and stops the server afterwards.
    For tests, benchmarks and the README screenshot; ``log`` is an open file for its output."""
    port = port or free_port()
    cmd = [sys.executable, "-m", "emnist_lib", "serve", "--port", str(port)] + (["--model", str(model)] if model else [])
    out = log if log is not None else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT if log is not None else subprocess.DEVNULL,
                            env={"TF_CPP_MIN_LOG_LEVEL": "3", **os.environ})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(base + "/health", timeout=2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    why = f"exited with code {proc.returncode}" if proc.poll() is not None else f"gave no answer in {timeout:.0f} s"
                    logged = Path(log.name).read_text(errors="replace")[-3000:] if getattr(log, "name", None) else ""
                    raise RuntimeError(f"serve {why} ({' '.join(cmd)})\n{logged}") from None
                time.sleep(0.3)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
