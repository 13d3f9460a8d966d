"""The original MNIST (LeCun, Cortes & Burges), the data Chollet's baselines were published on.

``load_mnist(source="auto")`` returns a :class:`~emnist_lib.dataset.Dataset` named
``mnist`` of upright uint8 digits, labels 0..9:

``idx``
    The four original IDX files (``train-images-idx3-ubyte`` ..., each gzip or
    plain) from the first folder that has them: ``<data dir>/mnist``, the data dir,
    then the shared real-data folder (``EMNIST_SHARED_DATA`` or ``../shared/data``
    beside the checkout). Every file is checked against the official sha256.
``keras``
    ``keras.datasets.mnist.load_data()`` (downloads ``mnist.npz`` once into
    ``~/.keras/datasets``, checked against its sha256).
``synthetic``
    The synthetic EMNIST ``mnist`` split (:mod:`emnist_lib.synthetic`), with a warning.
``auto``
    ``idx`` if the files are on disk, else ``keras`` when online, else ``synthetic``.

MNIST frames a digit in a 20x20 box centred by its centre of mass; EMNIST crops to
the bounding box and fills 24x24. The EMNIST ``mnist`` split
(``load_emnist("mnist")``) is a different data set with the EMNIST framing; the
records name which one a result used.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from . import config
from .dataset import Dataset
from .errors import ChecksumError, DataFormatError, MissingDataError, StudyWarning, check_size
from .fileio import sha256_file
from .idx import read_idx
from .splits import MNIST_FILES, MNIST_NPZ_SHA256, MNIST_SHA256

SOURCES = ("auto", "idx", "keras", "synthetic")
CLASS_NAMES = [str(d) for d in range(10)]


def candidate_folders(data_dir: str | Path | None = None) -> list[Path]:
    """Where the IDX files are looked for, in order."""
    base = Path(data_dir) if data_dir else config.data_dir()
    folders = [base / "mnist", base]
    shared = config.shared_data_dir()
    if data_dir is None and shared is not None:
        folders.append(shared / "mnist")
    return folders


def _file(folder: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def find_idx_folder(data_dir: str | Path | None = None) -> Path | None:
    """The first candidate folder that holds all four IDX files (gzip or plain), or None."""
    for folder in candidate_folders(data_dir):
        if all(_file(folder, stem) for stem in MNIST_FILES.values()):
            return folder
    return None


def _read_idx_folder(folder: Path) -> tuple[list[np.ndarray], dict]:
    arrays, sums = [], {}
    for key, stem in MNIST_FILES.items():
        path = _file(folder, stem)
        digest = sha256_file(path)
        if MNIST_SHA256.get(path.name) != digest:
            raise ChecksumError(
                f"{path}: sha256 {digest} is not the official MNIST {path.name} "
                f"({MNIST_SHA256.get(path.name)}). The file is corrupt or not the original: delete it "
                "and put the official file there (or let keras.datasets.mnist download its copy)."
            )
        sums[path.name] = digest
        arr = read_idx(path)
        expected_ndim = 3 if key.endswith("images") else 1
        if arr.ndim != expected_ndim or (expected_ndim == 3 and arr.shape[1:] != (28, 28)):
            raise DataFormatError(f"{path}: unexpected shape {arr.shape} for MNIST {key}")
        arrays.append(arr)
    return arrays, sums


KERAS_MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"


def _load_keras() -> tuple[list[np.ndarray], dict]:
    """Keras' copy: what ``keras.datasets.mnist.load_data()`` fetches, with its sha256 checked."""
    import keras

    path = Path(keras.utils.get_file("mnist.npz", KERAS_MNIST_URL, file_hash=MNIST_NPZ_SHA256))
    with np.load(path) as npz:
        arrays = [npz["x_train"], npz["y_train"], npz["x_test"], npz["y_test"]]
    return arrays, {"file": str(path), "sha256": MNIST_NPZ_SHA256, "official_checksums": True}


def load_mnist(source: str = "auto", data_dir: str | Path | None = None, synthetic_train: int | None = None,
               synthetic_test: int | None = None, seed: int = 0):
    """Load MNIST as upright uint8 images ``(N, 28, 28)`` and labels 0..9 (see the module doc).

    Returns a :class:`~emnist_lib.dataset.Dataset` whose ``provenance["source"]`` is
    ``mnist`` (the original files), ``keras-mnist`` or ``synthetic``.
    """
    from .data import load_emnist

    synthetic_train = check_size("synthetic_train", synthetic_train)
    synthetic_test = check_size("synthetic_test", synthetic_test)
    if source not in SOURCES:
        raise ValueError(f"unknown MNIST source {source!r}; choose one of: {', '.join(SOURCES)}")
    folder = find_idx_folder(data_dir)
    requested = source
    if source == "auto":
        source = "idx" if folder else ("keras" if not config.offline() else "synthetic")
        if source == "keras":
            try:
                arrays, prov = _load_keras()
                return _dataset(arrays, {"source": "keras-mnist", **prov})
            except Exception as exc:  # noqa: BLE001 - any download failure means: fall back
                warnings.warn(f"The original MNIST is not available (no IDX files, and the keras.datasets download "
                              f"failed: {exc}): using the SYNTHETIC EMNIST 'mnist' split instead. Results are not "
                              "comparable to published MNIST numbers.", StudyWarning, stacklevel=2)
                source, requested = "synthetic", "synthetic"  # said once, here
    if source == "idx":
        if folder is None:
            looked = ", ".join(str(f) for f in candidate_folders(data_dir))
            raise MissingDataError(
                f"the original MNIST files ({', '.join(MNIST_FILES.values())}, .gz or plain) are not in any of: "
                f"{looked}. Put them there, or use source='keras' (downloads) or 'synthetic'.")
        arrays, sums = _read_idx_folder(folder)
        return _dataset(arrays, {"source": "mnist", "folder": str(folder), "sha256": sums,
                                 "official_checksums": True})
    if source == "keras":
        arrays, prov = _load_keras()
        return _dataset(arrays, {"source": "keras-mnist", **prov})
    if requested == "auto":  # an explicit source="synthetic" is the caller's choice, not a fallback
        warnings.warn("The original MNIST is not available (no IDX files, offline): using the SYNTHETIC EMNIST "
                      "'mnist' split instead. Results are not comparable to published MNIST numbers.", StudyWarning,
                      stacklevel=2)
    ds = load_emnist("mnist", source="synthetic", n_train=synthetic_train, n_test=synthetic_test,
                     seed=seed)
    return Dataset("mnist", ds.x_train, ds.y_train, ds.x_test, ds.y_test, CLASS_NAMES,
                   dict(ds.provenance, stands_in_for="MNIST (LeCun et al.)"))


def _dataset(arrays: list[np.ndarray], prov: dict):
    xtr, ytr, xte, yte = arrays
    for labels, part in ((ytr, "train"), (yte, "test")):
        if len(labels) and (labels.min() < 0 or labels.max() > 9):
            raise DataFormatError(f"MNIST {part} labels span {labels.min()}..{labels.max()}, expected 0..9")
    if len(xtr) != len(ytr) or len(xte) != len(yte):
        raise DataFormatError(f"MNIST images and labels differ in count: {len(xtr)}/{len(ytr)} train, "
                              f"{len(xte)}/{len(yte)} test")
    prov = dict(prov, split="mnist", train_size=int(len(ytr)), test_size=int(len(yte)), framing="mnist-20x20-com")
    return Dataset("mnist", np.ascontiguousarray(xtr, np.uint8), np.asarray(ytr, np.int64),
                   np.ascontiguousarray(xte, np.uint8), np.asarray(yte, np.int64), list(CLASS_NAMES), prov)
