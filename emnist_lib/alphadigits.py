"""Binary AlphaDigits (S. Roweis): 1,404 binary 20x16 images of '0'-'9' and 'A'-'Z'.

The original ``binaryalphadigs.mat`` is a MATLAB 5 file whose ``dat`` is a
36x39 cell array (class x sample) of 20x16 {0,1} images, with ``classlabels``
'0'..'9','A'..'Z'. The npz form holds ``images`` (N, 20, 16) and ``labels``
(N,) as class indices 0..35.

For transfer from EMNIST letters, :func:`alphadigits_dataset` keeps the 26
letter classes (1,014 images) labelled like EMNIST letters (1..26, 0 unused),
pads them to 28x28 the way ``tf.image.resize_with_pad`` does (scale to fit,
keep the aspect ratio, centre) and makes a seeded stratified train/test split.

Offline, ``source="auto"`` falls back to a synthetic 20x16 set rendered from
fonts that synthetic EMNIST never uses (:mod:`emnist_lib.synthetic`), and says so.
"""

from __future__ import annotations

import string
import warnings
from pathlib import Path

import numpy as np

from . import config
from .dataset import Dataset
from .download import download, reachable
from .errors import DataFormatError, MissingDataError, StudyWarning
from .fileio import sha256_file
from .splits import ALPHADIGITS_FILE, ALPHADIGITS_SHA256, ALPHADIGITS_SIZE, ALPHADIGITS_URL, get_split

CLASS_NAMES = list(string.digits + string.ascii_uppercase)
SHAPE = (20, 16)
PER_CLASS = 39


def read_mat(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read Roweis' ``binaryalphadigs.mat``: images (N, 20, 16) uint8 {0,1}, labels 0..35."""
    from scipy.io import loadmat

    path = Path(path)
    try:
        mat = loadmat(path)
    except Exception as exc:  # noqa: BLE001 - scipy raises many kinds for bad files
        raise DataFormatError(f"{path}: not a readable MATLAB file ({exc}); fetch it again.") from exc
    if "dat" not in mat or "classlabels" not in mat:
        raise DataFormatError(f"{path}: has no 'dat'/'classlabels' variables; is it binaryalphadigs.mat?")
    dat = mat["dat"]
    names = [str(np.asarray(c).ravel()[0]) for c in mat["classlabels"].ravel()]
    images, labels = [], []
    for row, name in enumerate(names):
        if name not in CLASS_NAMES:
            raise DataFormatError(f"{path}: unexpected class label {name!r}")
        for cell in dat[row]:
            img = np.asarray(cell, dtype=np.uint8)
            if img.shape != SHAPE:
                raise DataFormatError(f"{path}: image of shape {img.shape}, expected {SHAPE}")
            images.append(img)
            labels.append(CLASS_NAMES.index(name))
    return np.stack(images), np.asarray(labels, np.int64)


def read_npz(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read the npz form (``images`` (N, 20, 16), ``labels`` 0..35)."""
    path = Path(path)
    with np.load(path) as npz:
        if "images" not in npz or "labels" not in npz:
            raise DataFormatError(f"{path}: needs arrays 'images' and 'labels', has {sorted(npz.files)}")
        images, labels = npz["images"].astype(np.uint8), npz["labels"].astype(np.int64)
    if images.shape[1:] != SHAPE or len(images) != len(labels):
        raise DataFormatError(f"{path}: images {images.shape} / labels {labels.shape} do not match (N, 20, 16) / (N,)")
    return images, labels


def synthetic_alphadigits(seed: int = 0, per_class: int = PER_CLASS) -> tuple[np.ndarray, np.ndarray]:
    """A 20x16 binary stand-in drawn from Hershey print families and fonts synthetic EMNIST never uses.

    Like the original, each character is stretched to fill the 20x16 frame.
    """
    from . import synthetic

    variants = {i: (c,) for i, c in enumerate(CLASS_NAMES)}
    labels = np.repeat(np.arange(len(CLASS_NAMES)), per_class)
    images = synthetic.generate(labels, variants, synthetic.alphadigits_style(), seed=seed + 424242,
                                workers=1, out_shape=SHAPE, border=0, binarize=True, fill=True)
    return images, labels


def find_local(data_dir: Path | None = None) -> Path | None:
    """The first ``binaryalphadigs.mat`` on disk: the data dir (flat or ``binaryalphadigits/``),
    then, when no data dir is given, the shared real-data folder (``EMNIST_SHARED_DATA`` or
    ``../shared/data`` beside the checkout)."""
    folder = Path(data_dir) if data_dir else config.data_dir()
    candidates = [folder / ALPHADIGITS_FILE, folder / "binaryalphadigits" / ALPHADIGITS_FILE]
    shared = config.shared_data_dir()
    if data_dir is None and shared is not None:
        candidates.append(shared / "binaryalphadigits" / ALPHADIGITS_FILE)
    return next((p for p in candidates if p.is_file()), None)


def find_or_fetch(data_dir: Path | None = None, download_ok: bool = True) -> Path:
    """Path of a verified ``binaryalphadigs.mat`` (:func:`find_local`), downloading it if allowed."""
    found = find_local(data_dir)
    if found is not None:
        return found
    folder = Path(data_dir) if data_dir else config.data_dir()
    path = folder / ALPHADIGITS_FILE
    if not path.exists():
        if not download_ok:
            raise MissingDataError(f"{path} not found; download it from {ALPHADIGITS_URL} or use source='synthetic'.")
        download(ALPHADIGITS_URL, path, sha256=ALPHADIGITS_SHA256, size=ALPHADIGITS_SIZE)
    return path


def load_alphadigits(source: str = "auto", path: str | Path | None = None, data_dir: str | Path | None = None,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray, dict]:
    """All 36 classes as raw 20x16 {0,1} images, labels 0..35 and provenance.

    ``source``: ``roweis`` (the original file: ``path``, else the data dir, else a
    download), ``synthetic``, or ``auto`` (roweis when present or downloadable).
    """
    local = Path(data_dir) if data_dir else None
    if source not in ("auto", "roweis", "synthetic"):
        raise ValueError(f"unknown AlphaDigits source {source!r}; choose auto, roweis or synthetic")
    if path is not None:
        source = "roweis"
    elif source == "auto":
        have = find_local(local) is not None
        source = "roweis" if have or (not config.offline() and reachable(ALPHADIGITS_URL)) else "synthetic"
        if source == "synthetic":
            warnings.warn("Binary AlphaDigits is not available offline: using a SYNTHETIC 20x16 stand-in "
                          "drawn from Hershey print families and fonts that synthetic EMNIST does not use.",
                          StudyWarning, stacklevel=2)
    if source == "synthetic":
        from .synthetic import GENERATOR_VERSION, alphadigits_style

        images, labels = synthetic_alphadigits(seed)
        return images, labels, {"source": "synthetic", "generator_version": GENERATOR_VERSION,
                                **alphadigits_style().describe(), "seed": seed}
    path = Path(path) if path else find_or_fetch(local)
    images, labels = read_npz(path) if path.suffix == ".npz" else read_mat(path)
    digest = sha256_file(path)
    return images, labels, {"source": "roweis", "file": str(path), "sha256": digest,
                            "official_checksum": digest == ALPHADIGITS_SHA256}


def letters_subset(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep 'A'..'Z' and label them like EMNIST letters: 1..26."""
    keep = labels >= 10
    return images[keep], labels[keep] - 9


def pad_to_28(images: np.ndarray) -> np.ndarray:
    """{0,1} 20x16 images -> uint8 0..255 28x28 with ``tf.image.resize_with_pad``."""
    import tensorflow as tf

    scaled = tf.convert_to_tensor(images[..., None].astype(np.float32) * 255.0)
    padded = tf.image.resize_with_pad(scaled, 28, 28, method="bilinear")
    return np.clip(np.rint(padded.numpy()[..., 0]), 0, 255).astype(np.uint8)


def alphadigits_dataset(source: str = "auto", letters_only: bool = True, pad: bool = True,
                        test_fraction: float = 0.25, seed: int = 0, path=None, data_dir=None) -> Dataset:
    """AlphaDigits as a :class:`Dataset` with a seeded stratified train/test split.

    With ``letters_only`` the labels are 1..26 and the class names those of EMNIST
    letters (27 outputs, 0 unused), so an EMNIST-letters model applies directly.
    """
    from sklearn.model_selection import train_test_split

    images, labels, prov = load_alphadigits(source, path=path, data_dir=data_dir, seed=seed)
    names = list(CLASS_NAMES)
    if letters_only:
        images, labels = letters_subset(images, labels)
        names = get_split("letters").class_names()
    full_size = len(labels)
    images = pad_to_28(images) if pad else images
    x_tr, x_te, y_tr, y_te = train_test_split(images, labels, test_size=test_fraction,
                                              random_state=seed, stratify=labels)
    prov = dict(prov, letters_only=letters_only, padded_to=list(images.shape[1:]), size=full_size,
                test_fraction=test_fraction, split_seed=seed)
    name = "alphadigits" + ("-letters" if letters_only else "")
    return Dataset(name, x_tr, y_tr, x_te, y_te, names, prov, split=name)
