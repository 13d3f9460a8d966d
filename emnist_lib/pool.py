"""Real EMNIST splits re-split from the official files that exist (source ``nist-pool``).

Where a split's own official train and test files are absent but other official EMNIST files
are at hand (the data dir, or the shared real-data folder: on the development machines the
complete official *test* files of byclass, bymerge and mnist), this module builds the split
from them, the way the official splits were cut from one NIST pool:

1. every file is checked against its official sha256 (:data:`~emnist_lib.splits.OFFICIAL_FILES`)
   and every label against the official mapping file of its split;
2. labels are mapped to the target split by character (byclass to balanced/bymerge merges the
   15 case pairs; letters take both cases of a letter; digits take the digits). A bymerge class
   that merges two cases cannot become a byclass label and is left out of byclass;
3. duplicate images (byte-identical, across and within files) are kept once, so no image is
   both in train and test; copies whose labels disagree after mapping are all dropped;
4. train and test are drawn per class with a fixed seed: equal counts per class for balanced,
   letters, digits and mnist (as the official splits are), proportional to the pool for byclass
   and bymerge. The test images of a class are the first of its seeded order and its training
   images the next, so builds of one split and seed at different training sizes share their
   test set and never overlap it.

The result is real EMNIST handwriting but **not** the official train/test partition: its
provenance says so (source ``nist-pool``, the files and their sha256, seed and sizes), and
numbers from it are not directly comparable with published ones. Builds are cached in the
official file format (stored transposed, read upright by the usual loader), keyed on the files'
sha256, the split, the seed and the sizes; a failed build leaves nothing in the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import config
from .errors import ChecksumError, DataFormatError, MissingDataError, check_size
from .fileio import publish_folder, sha256_file, write_text_atomic
from .idx import read_idx, write_idx
from .splits import DISTINCT_LOWER, OFFICIAL_FILES, SPLITS, SplitSpec, get_split

POOL_VERSION = "1"  # part of the cache key: bump when a build would select other images
SOURCE = "nist-pool"
BALANCED_SPLITS = ("balanced", "letters", "digits", "mnist")
# The pool a split can be built from: the official splits whose images its classes can come from.
SOURCES_FOR = {"byclass": ("byclass", "bymerge", "digits", "mnist"),
               "bymerge": ("byclass", "bymerge", "balanced", "digits", "mnist"),
               "balanced": ("byclass", "bymerge", "balanced", "digits", "mnist"),
               "letters": ("byclass", "bymerge", "balanced", "letters"),
               "digits": ("byclass", "bymerge", "balanced", "digits", "mnist"),
               "mnist": ("byclass", "bymerge", "balanced", "digits", "mnist")}


@dataclass(frozen=True)
class PoolFile:
    """One official images/labels pair found on disk."""

    split: str
    part: str
    images: Path
    labels: Path


# --------------------------------------------------------------------------- finding the files
def pool_folders(data_dir: Path | None = None) -> list[Path]:
    """Where official files are looked for: the data dir (flat and ``gzip/``), then the shared folder."""
    folder = Path(data_dir) if data_dir else config.data_dir()
    shared = config.shared_data_dir()
    out = [folder, folder / "gzip"] + ([shared / "emnist"] if shared else [])
    return [f for f in out if f.is_dir()]


def find_files(target: str, data_dir: Path | None = None) -> list[PoolFile]:
    """The official file pairs ``target`` can be built from, first folder first. An images file
    without its labels file (or the other way round) is a :class:`MissingDataError` naming both."""
    found: dict[tuple[str, str], PoolFile] = {}
    for folder in pool_folders(data_dir):
        for name in SOURCES_FOR[target]:
            spec = SPLITS[name]
            for part in ("train", "test"):
                images, labels = folder / spec.file_name(part, "images"), folder / spec.file_name(part, "labels")
                if (name, part) in found or not (images.exists() or labels.exists()):
                    continue
                if not (images.exists() and labels.exists()):
                    have, lack = (images, labels) if images.exists() else (labels, images)
                    raise MissingDataError(f"{have} has no partner file {lack.name} in {folder}: an official images "
                                           "file needs its labels file (and the other way round). Add it, or remove "
                                           f"{have.name} from that folder.")
                found[(name, part)] = PoolFile(name, part, images, labels)
    return list(found.values())


def available(spec: SplitSpec, data_dir: Path | None = None) -> bool:
    """True when some official files ``spec`` can be built from are on disk."""
    try:
        return bool(find_files(spec.name, data_dir))
    except MissingDataError:
        return True  # present but broken: building it reports the problem


# --------------------------------------------------------------------------- labels
def read_mapping(spec: SplitSpec, folders: list[Path]) -> list[str]:
    """The characters of ``spec``'s labels from its official mapping file when one is at hand (checked
    against the split's known classes), else from :class:`~emnist_lib.splits.SplitSpec`."""
    known = [c[0] if spec.name != "letters" else c for c in spec.chars]
    for folder in folders:
        path = folder / spec.mapping_name()
        if not path.is_file():
            continue
        rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
        try:
            mapping = {int(r[0]): "".join(chr(int(v)) for v in r[1:]) for r in rows}
        except (ValueError, IndexError) as exc:
            raise DataFormatError(f"{path}: not an EMNIST mapping file ('label ascii [ascii]' per line)") from exc
        chars = [mapping.get(spec.first_label + i) for i in range(spec.num_labels)]
        if chars != known:
            raise DataFormatError(f"{path}: its labels {chars} are not those of the official {spec.name} split "
                                  f"{known}; is it the right mapping file?")
        return chars
    return known


def class_of(char: str, target: SplitSpec) -> int | None:
    """The target label of one character (or of a merged class, given by its upper case), or None."""
    if target.name in ("digits", "mnist"):
        return int(char) if char.isdigit() else None
    if target.name == "letters":
        return ord(char.upper()) - ord("A") + target.first_label if char.isalpha() else None
    if target.name in ("balanced", "bymerge"):
        key = char if char.isdigit() or char.isupper() or char in DISTINCT_LOWER else char.upper()
        names = [c[0] for c in target.chars]
        return names.index(key) if key in names else None
    names = [c[0] for c in target.chars]  # byclass: case kept
    return names.index(char) if char in names else None


def label_map(source: SplitSpec, chars: list[str], target: SplitSpec) -> np.ndarray:
    """``out[source label]`` = target label, or -1 for a class the target cannot take."""
    out = np.full(source.num_outputs, -1, np.int64)
    for i, char in enumerate(chars):
        merged = source.name in ("bymerge", "balanced") and char.isalpha() and char.isupper() and \
            char.lower() not in DISTINCT_LOWER
        if target.name == "byclass" and merged:
            continue  # 'C' here is c or C: byclass cannot tell which
        label = class_of(char[0], target)
        out[source.first_label + i] = -1 if label is None else label
    return out


# --------------------------------------------------------------------------- reading the pool
def _verify(path: Path) -> str:
    digest = sha256_file(path)
    official = OFFICIAL_FILES.get(path.name)
    if official is None:
        raise ChecksumError(f"{path}: not an official EMNIST file name; the pool takes only official files")
    if digest != official[0]:
        raise ChecksumError(f"{path}: sha256 {digest} differs from the official {official[0]}. The file is corrupt "
                            "or not the official one: delete it and fetch it again (python -m emnist_lib data fetch).")
    return digest


def source_chars(spec: SplitSpec, chars: list[str]) -> np.ndarray:
    """``out[label]``: the character a source label stands for, ``?`` where its case is unknown (a merged class)."""
    out = np.full(spec.num_outputs, "?", dtype="<U1")
    for i, c in enumerate(chars):
        merged = len(c) > 1 or (spec.name in ("bymerge", "balanced") and c.isalpha() and c.isupper()
                                and c.lower() not in DISTINCT_LOWER)
        out[spec.first_label + i] = "?" if merged else c
    return out


def read_pool(target: SplitSpec, files: list[PoolFile], folders: list[Path],
              with_chars: bool = False) -> tuple[np.ndarray, np.ndarray, dict]:
    """Every image of ``files`` the target can take, upright, with its target label, duplicates removed.

    Returns ``(images, labels, facts)``; ``facts`` holds the files with their sha256, the images read
    and the duplicates and conflicting copies removed, and with ``with_chars`` the character each
    image was written as (``?`` where its file merged the cases; the first file's copy is kept)."""
    images, labels, chars, sums, read = [], [], [], {}, 0
    for f in files:
        sums[f.images.name], sums[f.labels.name] = _verify(f.images), _verify(f.labels)
        x, y = read_idx(f.images), read_idx(f.labels).astype(np.int64)
        if x.ndim != 3 or x.shape[1:] != (28, 28) or y.ndim != 1 or len(y) != len(x):
            raise DataFormatError(f"{f.labels}: {len(y)} labels for images of shape {x.shape} in {f.images.name}; "
                                  "the pair does not belong together")
        spec = SPLITS[f.split]
        bad = (y < spec.first_label) | (y >= spec.num_outputs)
        if bad.any():
            raise DataFormatError(f"{f.labels}: label {int(y[bad][0])} is outside the {spec.name} mapping "
                                  f"({spec.first_label}..{spec.num_outputs - 1}); the file is corrupt")
        mapping = read_mapping(spec, folders)
        mapped = label_map(spec, mapping, target)[y]
        keep = mapped >= 0
        images.append(x[keep])
        labels.append(mapped[keep])
        chars.append(source_chars(spec, mapping)[y[keep]])
        read += len(y)
    x = np.concatenate(images) if images else np.zeros((0, 28, 28), np.uint8)
    y = np.concatenate(labels) if labels else np.zeros(0, np.int64)
    keep, removed, conflicting = _deduplicate(x, y)
    x, y = np.ascontiguousarray(np.transpose(x[keep], (0, 2, 1))), y[keep]  # official storage is transposed
    facts = {"files": sums, "images_read": read, "images_usable": int(len(y) + removed + conflicting),
             "duplicates_removed": removed, "conflicting_removed": conflicting, "pool_images": int(len(y))}
    if with_chars:
        facts["chars"] = np.concatenate(chars)[keep] if chars else np.zeros(0, "<U1")
    return x, y, facts


def _deduplicate(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, int, int]:
    """The indices to keep: one copy (the first) of each distinct image, none of an image whose copies
    disagree on the label; and how many copies and conflicting copies that removes."""
    digests = np.array([hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in x], dtype="S16")
    _, first, inverse = np.unique(digests, return_index=True, return_inverse=True)
    lo = np.full(len(first), np.iinfo(np.int64).max)
    hi = np.full(len(first), -1)
    np.minimum.at(lo, inverse, y)
    np.maximum.at(hi, inverse, y)
    agree = lo == hi
    keep = np.sort(first[agree])
    copies = np.bincount(inverse)
    conflicting = int(copies[~agree].sum())
    return keep, int(len(y) - conflicting - len(keep)), conflicting


# --------------------------------------------------------------------------- the split
def _per_class(n: int, classes: int) -> int:
    return -(-n // classes)  # rounded up, as the synthetic generator does


def draw(target: SplitSpec, y: np.ndarray, n_train: int | None, n_test: int | None, seed: int
         ) -> tuple[np.ndarray, np.ndarray, dict]:
    """Indices of the training and test images, stratified by class with ``seed``.

    Balanced splits get equal counts per class; byclass and bymerge counts proportional to the pool.
    Sizes of None take everything the pool holds (the official test share). Asking for more images
    of a class than the pool holds is an error naming the split, the class and the counts."""
    classes = np.arange(target.first_label, target.num_outputs)
    counts = np.array([(y == c).sum() for c in classes])
    share = target.test_size / (target.train_size + target.test_size)
    if target.name in BALANCED_SPLITS:
        avail = int(counts.min())
        te = _per_class(n_test, len(classes)) if n_test else round(avail * share)
        tr = _per_class(n_train, len(classes)) if n_train else avail - te
        want_test, want_train = np.full(len(classes), te), np.full(len(classes), tr)
    else:  # proportional to the pool; unset sizes split each class at the official test share
        total = int(counts.sum())
        want_test = (np.maximum(1, np.round(counts * n_test / total)) if n_test else np.round(counts * share)).astype(int)
        want_train = (np.maximum(1, np.round(counts * n_train / total)) if n_train else counts - want_test).astype(int)
    short = np.flatnonzero(want_test + want_train > counts)
    if len(short):
        i = short[np.argmax(want_test[short] + want_train[short] - counts[short])]
        name = target.class_names()[classes[i]]
        raise ValueError(f"{SOURCE}: split {target.name!r} asks for {want_train[i]} training + {want_test[i]} test "
                         f"images of class {name!r} (label {classes[i]}), but the pool holds only {counts[i]} of it "
                         "after removing duplicates; lower n_train/n_test (0 takes what the pool holds) or add "
                         "official files")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c, n_te, n_tr in zip(classes, want_test, want_train):
        order = rng.permutation(np.flatnonzero(y == c))
        test.append(order[:n_te])
        train.append(order[n_te:n_te + n_tr])
    sizes = {"per_class_train": want_train.tolist(), "per_class_test": want_test.tolist()}
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test)), sizes


def partition(split: str, per_class: dict[str, int], seed: int, data_dir: Path | None = None) -> dict:
    """Disjoint parts of the pool, ``per_class`` images of every class each, in the order given, from one
    seeded order per class (e.g. ``{"score": 100, "train": 400, "calibration": 200}``): what a benchmark
    needs to tune on one part and score on another. Returns ``{part: (images upright, labels)}``,
    ``"chars"`` (``{part: the character each image was written as}``, ``?`` where unknown) and
    ``"facts"`` (files, duplicates); asking for more than a class holds is the same error as :func:`draw`'s."""
    target = get_split(split)
    files = find_files(target.name, data_dir)
    if not files:
        raise MissingDataError(f"{SOURCE}: no official EMNIST files to build {split!r} from")
    x, y, facts = read_pool(target, files, pool_folders(data_dir), with_chars=True)
    chars = facts.pop("chars")
    classes = np.arange(target.first_label, target.num_outputs)
    need = sum(per_class.values())
    counts = np.array([(y == c).sum() for c in classes])
    if (counts < need).any():
        i = int(np.argmin(counts))
        raise ValueError(f"{SOURCE}: split {target.name!r} asks for {need} images of class "
                         f"{target.class_names()[classes[i]]!r} (label {classes[i]}), but the pool holds only "
                         f"{counts[i]} of it after removing duplicates")
    rng = np.random.default_rng(seed)
    orders = [rng.permutation(np.flatnonzero(y == c)) for c in classes]
    out, start = {"facts": facts}, 0
    for part, n in per_class.items():
        idx = np.sort(np.concatenate([order[start:start + n] for order in orders]))
        out[part] = (x[idx], y[idx])
        out.setdefault("chars", {})[part] = chars[idx]
        start += n
    return out


def cache_key(target: SplitSpec, files: list[PoolFile], n_train, n_test, seed: int) -> str:
    blob = json.dumps({"split": target.name, "files": sorted(OFFICIAL_FILES[p.name][0] for f in files
                                                             for p in (f.images, f.labels)),
                       "n_train": n_train, "n_test": n_test, "seed": seed, "version": POOL_VERSION}, sort_keys=True)
    return f"{target.name}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}"


def ensure(split: str, n_train: int | None = None, n_test: int | None = None, seed: int = 0,
           data_dir: Path | None = None) -> Path:
    """The cache folder holding ``split`` re-split from the pool (built on first use); its four files
    are in the official format and ``pool.json`` holds the provenance."""
    n_train, n_test = check_size("n_train", n_train), check_size("n_test", n_test)
    target = get_split(split)
    files = find_files(target.name, data_dir)
    if not files:
        raise MissingDataError(f"{SOURCE}: no official EMNIST files to build {split!r} from in "
                               f"{', '.join(str(f) for f in pool_folders(data_dir)) or 'the data dir'}")
    folder = config.cache_dir() / SOURCE / cache_key(target, files, n_train, n_test, seed)
    if (folder / "pool.json").is_file():
        return folder
    tmp = folder.with_name(f"{folder.name}.part-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        x, y, facts = read_pool(target, files, pool_folders(data_dir))
        train, test, sizes = draw(target, y, n_train, n_test, seed)
        for part, idx in (("train", train), ("test", test)):
            write_idx(tmp / target.file_name(part, "images"), np.transpose(x[idx], (0, 2, 1)))  # stored as official
            write_idx(tmp / target.file_name(part, "labels"), y[idx].astype(np.uint8))
        meta = {**facts, **sizes, "split": target.name, "seed": seed, "n_train": int(len(train)),
                "n_test": int(len(test)), "requested": {"n_train": n_train, "n_test": n_test},
                "pool_version": POOL_VERSION, "resplit_by": "emnist_lib", "official_partition": False,
                "balanced": target.name in BALANCED_SPLITS}
        write_text_atomic(tmp / "pool.json", json.dumps(meta, indent=1, sort_keys=True))
        publish_folder(tmp, folder, "pool.json")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def provenance(folder: Path) -> dict:
    """The provenance a data set built by :func:`ensure` carries into every record."""
    meta = json.loads((folder / "pool.json").read_text())
    return {"source": SOURCE, "folder": str(folder), "real": True, "official_files": meta["files"],
            "resplit": {k: meta[k] for k in ("seed", "n_train", "n_test", "per_class_train", "per_class_test",
                                             "pool_images", "duplicates_removed", "conflicting_removed",
                                             "pool_version", "balanced")},
            "official_partition": False,
            "note": "real EMNIST handwriting from the official files, re-split by emnist_lib (not the official "
                    "train/test partition)"}

