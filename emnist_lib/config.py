"""One source of truth for every path the project uses.

Every path derives from the repository root (for outputs that belong to the
project) or from a per-user data directory (for downloaded or generated data).
Nothing here depends on the current working directory, so notebooks executed
by papermill from ``notebooks/`` and the CLI run from anywhere agree.

Environment variables:

``EMNIST_DATA_DIR``
    Where real EMNIST / AlphaDigits files live or are downloaded to.
    Default: ``$XDG_CACHE_HOME/emnist_lib`` (``~/.cache/emnist_lib``).
``EMNIST_CACHE_DIR``
    Where generated synthetic data and trained models are cached.
    Default: ``<data dir>/cache``.
``EMNIST_OFFLINE``
    ``1`` makes ``source="auto"`` never try the network.
``EMNIST_SHARED_DATA``
    Optional folder with real sample files (used by tests; skipped if absent).
``EMNIST_EXECUTOR``, ``EMNIST_THREADS``
    Where the seed loop's runs execute and TensorFlow's threads per run (:mod:`emnist_lib.executors`).
``EMNIST_PROGRESS``
    ``0`` hides progress bars (the report runner and ``make test`` set it, so executed
    notebooks hold results, not bars); otherwise they show, as widgets in JupyterLab.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
PARAMS_DIR = REPO_ROOT / "params"
REPORT_DIR = REPO_ROOT / "report"
BUILD_DIR = REPO_ROOT / "build"
PROFILES = ("smoke", "quick", "emnist", "full")
# What each profile is for (the report's title and abstract say it).
PROFILE_ROLES = {"smoke": "a code path (seconds, synthetic data), never a result",
                 "quick": "a preview: small training sets, minutes on a laptop",
                 "emnist": "the EMNIST-scale study: at least 400 training images per class for balanced, "
                           "1,000 for letters",
                 "full": "the official split sizes, for a GPU"}


def data_dir() -> Path:
    """Folder holding real data files (``EMNIST_DATA_DIR`` or the per-user cache)."""
    env = os.environ.get("EMNIST_DATA_DIR")
    if env:
        return Path(env).expanduser().resolve()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser().resolve() / "emnist_lib"


def cache_dir() -> Path:
    """Folder for generated synthetic data and trained models (``EMNIST_CACHE_DIR``)."""
    env = os.environ.get("EMNIST_CACHE_DIR")
    return Path(env).expanduser().resolve() if env else data_dir() / "cache"


def synthetic_dir() -> Path:
    return cache_dir() / "synthetic"


def model_cache_dir() -> Path:
    return cache_dir() / "models"


def offline() -> bool:
    """True when ``EMNIST_OFFLINE`` asks ``auto`` never to touch the network."""
    return os.environ.get("EMNIST_OFFLINE", "").lower() in {"1", "true", "yes"}


def threads_per_run() -> int | None:
    """TensorFlow's threads per run (``EMNIST_THREADS``, pinned by :mod:`emnist_lib.executors`); None: TensorFlow's
    default (every core). Records state it (``hardware.threads``): the same seed gives the same numbers on the same
    CPU model and thread count."""
    value = os.environ.get("EMNIST_THREADS", "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"EMNIST_THREADS={value!r}: give a whole number of threads, 1 or more")
    return int(value)


def progress_enabled() -> bool:
    """Progress bars on unless ``EMNIST_PROGRESS=0``."""
    return os.environ.get("EMNIST_PROGRESS", "1").lower() not in {"0", "false", "no"}


def progress(iterable=None, **kwargs):
    """A tqdm progress bar (a widget in JupyterLab, text in a terminal), hidden when ``EMNIST_PROGRESS=0``."""
    from tqdm.auto import tqdm

    return tqdm(iterable, disable=not progress_enabled(), **kwargs)


def shared_data_dir() -> Path | None:
    """Folder of real sample files beside the checkout, if there is one."""
    env = os.environ.get("EMNIST_SHARED_DATA")
    candidate = Path(env) if env else REPO_ROOT.parent / "shared" / "data"
    return candidate if candidate.is_dir() else None


def output_dir(profile: str) -> Path:
    """Per-profile output folder: executed notebooks, figures, records, tables.

    The ``quick``, ``emnist`` and ``full`` profiles write to ``report/<profile>`` (the
    committed reports are ``emnist`` and the ``quick`` preview); ``smoke`` writes under ``build/``
    so smoke and CI runs never overwrite the committed report.
    ``EMNIST_OUTPUT_DIR`` overrides it (used by tests).
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    env = os.environ.get("EMNIST_OUTPUT_DIR")
    if env:
        return Path(env).expanduser().resolve()
    if profile == "smoke":
        return BUILD_DIR / "smoke"
    return REPORT_DIR / profile


def figures_dir(out: Path) -> Path:
    return out / "figures"


def records_dir(out: Path) -> Path:
    return out / "results"
