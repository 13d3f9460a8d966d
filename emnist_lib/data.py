"""EMNIST loading: one entry point for every split and every source.

``load_emnist(split, source=...)`` returns a :class:`Dataset` of **upright**
uint8 images ``(N, 28, 28)``. The official EMNIST files (and the
tensorflow-datasets copy of them) store each image transposed (column-major,
the NIST scanner's habit); this module transposes them once, vectorised, with
``np.transpose(images, (0, 2, 1))`` right after reading, so every caller sees a
letter the way a person writes it.

Sources:

``nist``
    The official per-split ``emnist-<split>-<part>-<kind>-idx?-ubyte.gz`` files
    in the data dir (also under ``gzip/``), else the official ``gzip.zip`` in
    the data dir, else a verified download of it.
``synthetic``
    The project's synthetic handwriting (:mod:`emnist_lib.synthetic`: pen trajectories of hand-printed
    letterforms),
    written in the official format and read by the same code path.
``nist-pool``
    Real EMNIST re-split by this package from the official files that *are* at hand when the
    split's own are not (:mod:`emnist_lib.pool`: checked, relabelled, de-duplicated, class-balanced,
    seeded); real handwriting, not the official partition.
``auto``
    ``nist`` if the split's own files are present, else ``nist-pool`` if other official files
    are (data dir or the shared real-data folder), else ``nist`` if the official address answers
    within a few seconds (never when ``EMNIST_OFFLINE=1``), else ``synthetic`` with one loud
    warning.
``tfds`` / ``extra-keras-datasets``
    Those packages' copies, normalised to the same output.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np

from . import config
from .dataset import Dataset
from .download import download, mirrors_from_env, reachable
from .errors import ChecksumError, DataFormatError, MissingDataError, StudyWarning, check_size
from .fileio import atomic_path, sha256_file
from .idx import read_idx
from .splits import GZIP_ZIP_SHA256, GZIP_ZIP_SIZE, GZIP_ZIP_URL, OFFICIAL_FILES, SplitSpec, get_split

SOURCES = ("auto", "nist", "nist-pool", "synthetic", "tfds", "extra-keras-datasets")
_WARNED_SYNTHETIC = False


def transpose_official(images: np.ndarray) -> np.ndarray:
    """Turn officially stored (transposed) EMNIST images upright, vectorised."""
    return np.ascontiguousarray(np.transpose(images, (0, 2, 1)))


def load_real_letters_sample(shared: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The 52 real EMNIST letters test images (upright) and labels 1..26 in ``../shared/data``
    (or ``EMNIST_SHARED_DATA``); a clear error when that folder is absent."""
    shared = shared or config.shared_data_dir()
    if shared is None:
        raise MissingDataError("no shared sample folder (../shared/data beside the checkout, or EMNIST_SHARED_DATA)")
    folder = Path(shared) / "emnist"
    return (transpose_official(read_idx(folder / "emnist-letters-sample-images-idx3-ubyte.gz")),
            read_idx(folder / "emnist-letters-sample-labels-idx1-ubyte.gz").astype(np.int64))


# --------------------------------------------------------------------------- nist files
def split_file_paths(spec: SplitSpec, folder: Path) -> dict[str, Path]:
    """Where the four files of a split are in ``folder`` (flat or under ``gzip/``)."""
    paths = {}
    for part in ("train", "test"):
        for kind in ("images", "labels"):
            name = spec.file_name(part, kind)
            flat, nested = folder / name, folder / "gzip" / name
            paths[f"{part}_{kind}"] = nested if (nested.exists() and not flat.exists()) else flat
    return paths


def _have_split_files(spec: SplitSpec, folder: Path) -> bool:
    return all(p.exists() for p in split_file_paths(spec, folder).values())


def read_split_folder(spec: SplitSpec, folder: Path, verify: dict[str, tuple[str, int]] | None = None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, str]]:
    """Read the four IDX files of ``spec`` from ``folder``; images come back upright.

    ``verify`` maps file names to official ``(sha256, size)``; a mismatch is a
    :class:`ChecksumError`. Returns ``x_train, y_train, x_test, y_test, sha256s``.
    """
    paths = split_file_paths(spec, folder)
    missing = [str(p) for p in paths.values() if not p.exists()]
    if missing:
        raise MissingDataError(
            f"EMNIST split {spec.name!r}: missing file(s) {', '.join(missing)}. "
            f"Run 'python -m emnist_lib data fetch --split {spec.name}', or place the official "
            f"files (from {GZIP_ZIP_URL}, folder gzip/) in {folder}."
        )
    sums = {}
    for path in paths.values():
        digest = sha256_file(path)
        sums[path.name] = digest
        if verify and path.name in verify and verify[path.name][0] != digest:
            raise ChecksumError(
                f"{path}: sha256 {digest} differs from the official {verify[path.name][0]}. "
                "The file is corrupt or not the official one: delete it and run "
                f"'python -m emnist_lib data fetch --split {spec.name}'."
            )
    out = []
    for part in ("train", "test"):
        images = read_idx(paths[f"{part}_images"])
        labels = read_idx(paths[f"{part}_labels"])
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise DataFormatError(f"{paths[f'{part}_images']}: expected images of shape (N, 28, 28), got {images.shape}")
        if labels.ndim != 1 or len(labels) != len(images):
            raise DataFormatError(
                f"{paths[f'{part}_labels']}: {len(labels)} labels for {len(images)} images in "
                f"{paths[f'{part}_images'].name}; the pair does not belong together."
            )
        _check_labels(spec, labels, paths[f"{part}_labels"])
        out += [transpose_official(images), labels.astype(np.int64)]
    return (*out, sums)


def _check_labels(spec: SplitSpec, labels: np.ndarray, where) -> None:
    if len(labels) and (labels.min() < spec.first_label or labels.max() >= spec.num_outputs):
        raise DataFormatError(
            f"{where}: labels span {labels.min()}..{labels.max()} but split {spec.name!r} has "
            f"labels {spec.first_label}..{spec.num_outputs - 1}; wrong split or corrupt file."
        )


def extract_from_zip(spec: SplitSpec, zip_path: Path, folder: Path) -> None:
    """Extract and verify one split's four files from the official ``gzip.zip``."""
    try:
        archive = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile as exc:
        raise DataFormatError(
            f"{zip_path}: not a valid zip file ({exc}); delete it and fetch it again."
        ) from exc
    with archive:
        names = set(archive.namelist())
        for part in ("train", "test"):
            for kind in ("images", "labels"):
                name = spec.file_name(part, kind)
                member = f"gzip/{name}"
                if member not in names:
                    raise DataFormatError(f"{zip_path}: has no member {member}; is it the official gzip.zip?")
                with atomic_path(folder / name) as tmp:
                    with archive.open(member) as src, open(tmp, "wb") as dst:
                        while block := src.read(1 << 20):
                            dst.write(block)
                    _verify_official(tmp, name)


def _verify_official(path: Path, name: str) -> None:
    if name not in OFFICIAL_FILES:
        return
    sha, size = OFFICIAL_FILES[name]
    actual_size = path.stat().st_size
    if actual_size != size or sha256_file(path) != sha:
        raise ChecksumError(
            f"{name}: size {actual_size} / sha256 differ from the official ({size} bytes, {sha}); "
            "the archive is corrupt or not the official one. Delete it and fetch it again."
        )


def fetch_nist(spec: SplitSpec, folder: Path | None = None, urls: list[str] | None = None,
               progress: bool = True) -> Path:
    """Make sure the official files of ``spec`` are in ``folder``; download if needed."""
    folder = Path(folder) if folder else config.data_dir()
    if _have_split_files(spec, folder):
        return folder
    zip_path = folder / "gzip.zip"
    if not zip_path.exists():
        urls = urls or [GZIP_ZIP_URL, *mirrors_from_env()]
        try:
            download(urls, zip_path, sha256=GZIP_ZIP_SHA256, size=GZIP_ZIP_SIZE, progress=progress)
        except Exception as exc:
            raise type(exc)(
                f"{exc}\nTo install by hand: download gzip.zip (561,753,746 bytes, sha256 "
                f"{GZIP_ZIP_SHA256}) from {GZIP_ZIP_URL} and put it, or its gzip/ files, in "
                f"{folder} (or set EMNIST_DATA_DIR). Offline, use source='synthetic'."
            ) from exc
    extract_from_zip(spec, zip_path, folder)
    return folder


# --------------------------------------------------------------------------- sources
def _load_nist(spec: SplitSpec, data_dir: Path | None, download_ok: bool, verify: bool):
    folder = Path(data_dir) if data_dir else config.data_dir()
    if not _have_split_files(spec, folder):
        if (folder / "gzip.zip").exists():
            extract_from_zip(spec, folder / "gzip.zip", folder)
        elif download_ok:
            fetch_nist(spec, folder)
    xtr, ytr, xte, yte, sums = read_split_folder(spec, folder, OFFICIAL_FILES if verify else None)
    official = all(OFFICIAL_FILES.get(n, ("",))[0] == s for n, s in sums.items())
    prov = {"source": "nist", "folder": str(folder), "sha256": sums, "official_checksums": official}
    return xtr, ytr, xte, yte, prov


def nist_available(spec: SplitSpec, data_dir: Path | None = None) -> bool:
    """True when the official files (or gzip.zip) for ``spec`` are on disk."""
    folder = Path(data_dir) if data_dir else config.data_dir()
    return _have_split_files(spec, folder) or (folder / "gzip.zip").exists()


def _load_pool(spec: SplitSpec, n_train: int | None, n_test: int | None, seed: int, data_dir: Path | None):
    from . import pool

    folder = pool.ensure(spec.name, n_train, n_test, seed, data_dir)
    xtr, ytr, xte, yte, sums = read_split_folder(spec, folder)
    return xtr, ytr, xte, yte, {**pool.provenance(folder), "sha256": sums}


def _load_synthetic(spec: SplitSpec, n_train: int | None, n_test: int | None, seed: int):
    from . import synthetic

    folder = synthetic.ensure(spec.name, n_train=n_train, n_test=n_test, seed=seed)
    xtr, ytr, xte, yte, sums = read_split_folder(spec, folder)
    meta = json.loads((folder / "generator.json").read_text())
    prov = {"source": "synthetic", "folder": str(folder), "sha256": sums, "generator": meta}
    return xtr, ytr, xte, yte, prov


def _load_tfds(spec: SplitSpec, data_dir: Path | None, download_ok: bool):
    import tensorflow_datasets as tfds

    kwargs = {"data_dir": str(data_dir)} if data_dir else {}
    parts = tfds.load(f"emnist/{spec.name}", split=["train", "test"], as_supervised=True,
                      download=download_ok, **kwargs)
    arrays = []
    for ds in parts:  # batched reads; batch_size=-1 needs split sizes the mock cannot give
        batches = list(tfds.as_numpy(ds.batch(65536)))
        arrays.append(np.concatenate([b[0] for b in batches]))
        arrays.append(np.concatenate([b[1] for b in batches]))
    xtr, ytr, xte, yte = arrays
    # tfds keeps the official transposed storage (its docs say to tf.transpose).
    xtr, xte = (transpose_official(np.asarray(x).reshape(-1, 28, 28)).astype(np.uint8) for x in (xtr, xte))
    return xtr, np.asarray(ytr, np.int64), xte, np.asarray(yte, np.int64), {"source": "tfds", "tfds_name": f"emnist/{spec.name}"}


def _load_extra_keras(spec: SplitSpec):
    from extra_keras_datasets import emnist

    # It writes a temporary .mat file into the working directory: keep it out of ours.
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):
        (xtr, ytr), (xte, yte) = emnist.load_data(type=spec.name)
    # extra-keras-datasets reshapes the matlab rows in Fortran order: already upright.
    xtr, xte = (np.ascontiguousarray(x.reshape(-1, 28, 28)).astype(np.uint8) for x in (xtr, xte))
    return xtr, np.asarray(ytr, np.int64), xte, np.asarray(yte, np.int64), {"source": "extra-keras-datasets"}


def real_source(spec: SplitSpec, data_dir: Path | None = None) -> str | None:
    """The real EMNIST source on this machine without any download: ``nist`` (the split's own
    official files), ``nist-pool`` (other official files), or None."""
    from . import pool

    if nist_available(spec, data_dir):
        return "nist"
    return "nist-pool" if pool.available(spec, data_dir) else None


def resolve_source(spec: SplitSpec, source: str, data_dir: Path | None = None) -> str:
    """Turn ``auto`` into ``nist`` or ``synthetic`` (with one loud warning)."""
    global _WARNED_SYNTHETIC
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; choose one of: {', '.join(SOURCES)}")
    if source != "auto":
        return source
    local = real_source(spec, data_dir)
    if local:
        return local
    if not config.offline() and reachable(GZIP_ZIP_URL, timeout=3.0):
        return "nist"
    if not _WARNED_SYNTHETIC:
        warnings.warn(
            "Real EMNIST is not available (no files in "
            f"{Path(data_dir) if data_dir else config.data_dir()} and no network): using the "
            "SYNTHETIC handwriting (pen-drawn letterforms, not real EMNIST). Results are NOT comparable to published "
            "EMNIST numbers. Run 'python -m emnist_lib data fetch' with internet for real data.",
            StudyWarning, stacklevel=3,
        )
        _WARNED_SYNTHETIC = True
    return "synthetic"


def load_emnist(split: str, source: str = "auto", data_dir: str | Path | None = None, *,
                zero_based: bool = False, download: bool = True, verify: bool = True,
                n_train: int | None = None, n_test: int | None = None, seed: int = 0) -> Dataset:
    """Load one EMNIST split as upright uint8 images.

    Args:
        split: byclass, bymerge, balanced, letters, digits or mnist.
        source: auto, nist, nist-pool, synthetic, tfds or extra-keras-datasets (module doc).
        data_dir: folder of the official files (default ``EMNIST_DATA_DIR`` or the user cache).
        zero_based: letters only: shift the official labels 1..26 to 0..25 (26 outputs
            instead of 27). Other splits are already zero-based.
        download: allow downloading the official ``gzip.zip`` when files are missing.
        verify: check official files against the embedded sha256 sums.
        n_train, n_test: sizes of a generated (synthetic; defaults in :mod:`emnist_lib.synthetic`) or
            re-split (nist-pool; default: all the pool holds) set; the official files come whole.
        seed: the synthetic generator's seed, or the nist-pool re-split's.

    Returns:
        A :class:`Dataset`; ``dataset.provenance["source"]`` says which data it is.
    """
    n_train, n_test = check_size("n_train", n_train), check_size("n_test", n_test)  # every source alike
    spec = get_split(split)
    data_dir = Path(data_dir) if data_dir else None
    resolved = resolve_source(spec, source, data_dir)
    if resolved == "nist":
        xtr, ytr, xte, yte, prov = _load_nist(spec, data_dir, download, verify)
    elif resolved == "synthetic":
        xtr, ytr, xte, yte, prov = _load_synthetic(spec, n_train, n_test, seed)
    elif resolved == "nist-pool":
        xtr, ytr, xte, yte, prov = _load_pool(spec, n_train, n_test, seed, data_dir)
    elif resolved == "tfds":
        xtr, ytr, xte, yte, prov = _load_tfds(spec, data_dir, download)
    else:
        xtr, ytr, xte, yte, prov = _load_extra_keras(spec)
    for labels, where in ((ytr, f"{resolved} train labels"), (yte, f"{resolved} test labels")):
        _check_labels(spec, labels, where)
    prov.update(split=spec.name, requested_source=source, zero_based=zero_based,
                train_size=int(len(ytr)), test_size=int(len(yte)))
    if zero_based and spec.first_label:
        ytr, yte = ytr - spec.first_label, yte - spec.first_label
    return Dataset(f"emnist-{spec.name}", xtr, ytr, xte, yte, spec.class_names(zero_based), prov, split=spec.name)


def verify_folder(folder: Path | None = None) -> list[dict]:
    """Check every official file present in ``folder`` against its sha256 and size.

    Returns one row per known file: ``{"file", "status"}`` with status ``ok``,
    ``missing``, or ``MISMATCH``.
    """
    folder = Path(folder) if folder else config.data_dir()
    rows = []
    known = {**OFFICIAL_FILES, "gzip.zip": (GZIP_ZIP_SHA256, GZIP_ZIP_SIZE)}
    for name, (sha, size) in sorted(known.items()):
        candidates = [folder / name, folder / "gzip" / name]
        path = next((p for p in candidates if p.exists()), None)
        if path is None:
            rows.append({"file": name, "status": "missing"})
            continue
        ok = path.stat().st_size == size and sha256_file(path) == sha
        rows.append({"file": str(path), "status": "ok" if ok else "MISMATCH"})
    return rows


def env_summary() -> dict:
    """Where data is looked for, for ``data info``."""
    return {"data_dir": str(config.data_dir()), "cache_dir": str(config.cache_dir()),
            "offline": config.offline(), "mirrors": mirrors_from_env(),
            "EMNIST_DATA_DIR": os.environ.get("EMNIST_DATA_DIR")}
