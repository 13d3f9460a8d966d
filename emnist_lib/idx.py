"""Reading and writing IDX files (the MNIST/EMNIST binary format), gzip or not.

IDX layout: two zero bytes, a type code (0x08 = uint8), the number of
dimensions, then one big-endian uint32 per dimension, then the data.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from .errors import DataFormatError
from .fileio import atomic_path

_UBYTE = 0x08


def _open(path: Path):
    with open(path, "rb") as fh:
        gzipped = fh.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file of unsigned bytes (``.gz`` or plain) into a uint8 array.

    Raises :class:`DataFormatError` naming the file for a wrong magic number,
    a truncated file or a corrupt gzip stream.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(f"{path}: no such IDX file")
    try:
        with _open(path) as fh:
            raw = fh.read()
    except (EOFError, OSError, zlib.error) as exc:
        raise DataFormatError(
            f"{path}: cannot decompress ({exc}); the file is truncated or corrupt. "
            "Delete it and download it again (python -m emnist_lib data fetch)."
        ) from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != _UBYTE:
        raise DataFormatError(
            f"{path}: not an IDX file of unsigned bytes (magic {raw[:4].hex() or 'empty'}, "
            "expected 000008xx). Is this the right file?"
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataFormatError(f"{path}: IDX header truncated")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape)) if shape else 0
    if len(raw) - header != expected:
        raise DataFormatError(
            f"{path}: IDX header promises {expected} bytes of shape {shape} but the file "
            f"holds {len(raw) - header}; the file is truncated or corrupt."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def write_idx(path: str | Path, array: np.ndarray, compress: bool | None = None) -> None:
    """Write a uint8 array as IDX (gzip when the name ends in ``.gz``), atomically."""
    path = Path(path)
    array = np.ascontiguousarray(array)
    if array.dtype != np.uint8:
        raise ValueError(f"write_idx writes uint8 arrays only, got {array.dtype}")
    header = bytes([0, 0, _UBYTE, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    compress = path.suffix == ".gz" if compress is None else compress
    with atomic_path(path) as tmp, open(tmp, "wb") as raw:
        if compress:
            # No file name and mtime=0 in the header: identical data gives identical bytes.
            with gzip.GzipFile(filename="", fileobj=raw, mode="wb", compresslevel=6, mtime=0) as fh:
                fh.write(header)
                fh.write(array.tobytes())
        else:
            raw.write(header)
            raw.write(array.tobytes())
