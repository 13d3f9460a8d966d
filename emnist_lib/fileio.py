"""Atomic file and folder writing and hashing: never leave a partial file behind, never pull a finished one
from under a reader."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(dest: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; rename it onto ``dest`` only on success.

    If the block raises, the temporary file is removed and ``dest`` is untouched.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; the final file gets the usual permissions
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, dest)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_bytes_atomic(dest: Path, data: bytes) -> None:
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(dest: Path, text: str) -> None:
    write_bytes_atomic(dest, text.encode("utf-8"))


def publish_folder(tmp: Path, folder: Path, marker: str, replace: bool = False) -> Path:
    """Move the finished folder ``tmp`` onto ``folder`` in one rename; returns ``folder``.

    A cache folder is complete once it holds ``marker``. One that another process published meanwhile (two
    workers filling the same cache entry) is kept and ``tmp`` is left for the caller to remove: the same key
    means the same content, and removing it would pull its files from under that process's readers.
    ``replace=True`` (an explicit rebuild) swaps it out instead: it is renamed aside, then removed. A folder
    without ``marker`` (an interrupted older layout) is always replaced."""
    tmp, folder = Path(tmp), Path(folder)
    if folder.exists():
        if (folder / marker).exists() and not replace:
            return folder
        aside = folder.with_name(f".{folder.name}.old-{os.getpid()}")
        with contextlib.suppress(FileNotFoundError):  # another process moved it first
            os.replace(folder, aside)
        shutil.rmtree(aside, ignore_errors=True)
    try:
        os.replace(tmp, folder)
    except OSError:  # a non-empty folder appeared between the check and the rename: another process published
        if not (folder / marker).exists():
            raise
    return folder


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()
