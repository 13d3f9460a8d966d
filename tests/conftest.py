"""Shared fixtures: isolated data/cache folders, tiny official-format files, a local HTTP server."""

from __future__ import annotations

import http.server
import os
import re
import threading
from pathlib import Path

import numpy as np
import pytest

from emnist_lib import config
from emnist_lib.idx import write_idx
from emnist_lib.splits import get_split

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# An asymmetric glyph: an 'L'-like shape, upright. Its transpose is a different shape.
GLYPH = np.zeros((28, 28), np.uint8)
GLYPH[4:24, 6:9] = 255   # vertical bar on the left
GLYPH[21:24, 6:20] = 255  # foot to the right at the bottom

# Sizes every data source and loader refuses (negative, fractional, text, a bool), with one message.
BAD_SIZES = (-5, 2.5, "10", True)


def bad_size_message(name: str, value) -> str:
    """The pattern of the error :func:`emnist_lib.errors.check_size` raises for ``name=value``."""
    return rf"^{name}={re.escape(repr(value))} is not a valid size: give a whole number of images, 0 or more"


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory, monkeypatch):
    """Every test gets its own data dir; the synthetic/model cache is shared per session."""
    data = tmp_path_factory.mktemp("data")
    monkeypatch.setenv("EMNIST_DATA_DIR", str(data))
    monkeypatch.setenv("EMNIST_CACHE_DIR", str(_session_cache(tmp_path_factory)))
    monkeypatch.setenv("EMNIST_OFFLINE", "1")
    return data


_CACHE: dict = {}


def _session_cache(factory) -> Path:
    if "cache" not in _CACHE:
        _CACHE["cache"] = factory.mktemp("cache")
    return _CACHE["cache"]


def write_split(folder: Path, split: str, n_train: int = 0, n_test: int = 0, glyph=GLYPH) -> dict:
    """Tiny official-format files for ``split``: every image is ``glyph`` stored transposed."""
    spec = get_split(split)
    n_train = n_train or spec.num_labels * 2
    n_test = n_test or spec.num_labels
    out = {}
    for part, n in (("train", n_train), ("test", n_test)):
        labels = (np.arange(n) % spec.num_labels + spec.first_label).astype(np.uint8)
        images = np.repeat(glyph.T[None], n, axis=0)  # official storage: transposed
        write_idx(folder / spec.file_name(part, "images"), images)
        write_idx(folder / spec.file_name(part, "labels"), labels)
        out[part] = labels
    return out


@pytest.fixture
def shared_data() -> Path:
    folder = config.shared_data_dir()
    if folder is None:
        pytest.skip("../shared/data (real sample files) is not present on this machine")
    return folder


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict = {}

    def do_HEAD(self):  # noqa: N802
        self.do_GET(body=False)

    def do_GET(self, body=True):  # noqa: N802
        route = self.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        payload, content_type, drop_after = route
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if body:
            self.wfile.write(payload[:drop_after] if drop_after is not None else payload)
            if drop_after is not None:
                self.wfile.flush()
                self.connection.close()

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    """A real HTTP server on 127.0.0.1; ``serve(path, bytes, content_type, drop_after)`` adds a route."""
    routes: dict = {}
    handler = type("Handler", (_Handler,), {"routes": routes})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"

    def serve(path, payload, content_type="application/zip", drop_after=None):
        routes[path] = (payload, content_type, drop_after)
        return base + path

    yield serve
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def study_model(tmp_path_factory) -> Path:
    """A small CNN trained and saved by the study's own ``final_runs`` (so it carries the model card
    notebook 08 writes): Chollet's convnet on 3,000 synthetic EMNIST digits, 3 epochs, two seeds."""
    from emnist_lib.chapters.c08_final_evaluation import NOTEBOOK, final_runs
    from emnist_lib.loaders import load_split
    from emnist_lib.recipe import Recipe, TrainConfig
    from emnist_lib.study import Study

    env = pytest.MonkeyPatch()
    env.setenv("EMNIST_CACHE_DIR", str(_session_cache(tmp_path_factory)))
    env.setenv("EMNIST_DATA_DIR", str(tmp_path_factory.mktemp("model-data")))
    env.setenv("EMNIST_OFFLINE", "1")
    try:
        out = tmp_path_factory.mktemp("study")
        ds = load_split("mnist", "synthetic", 3000, 500, 0)
        study = Study(NOTEBOOK, out, 0)
        study.results.mkdir(parents=True)
        final_runs(study, ds, [Recipe("cnn", "chollet_convnet", train=TrainConfig(epochs=3, batch_size=64), origin="test")],
                   [0, 1])
    finally:
        env.undo()
    return out / "models" / "final_cnn.keras"


@pytest.fixture
def live_server(study_model, tmp_path):
    """``python -m emnist_lib serve --model <study_model>`` on a free loopback port (default host),
    as a user starts it; yields ``(base_url, process)`` once /health answers."""
    from emnist_lib.serve import running

    with open(tmp_path / "serve.log", "wb") as log, running(study_model, log=log, timeout=90) as (base, proc):
        yield base, proc


@pytest.fixture(scope="module")
def toy():
    """Separable toy images: class k has a bright bar at row 2k+3."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(10), 30)
    x = rng.integers(0, 40, (len(y), 28, 28), dtype=np.uint8)
    for i, k in enumerate(y):
        x[i, 2 * k + 3: 2 * k + 5, 4:24] = 250
    return x, y
