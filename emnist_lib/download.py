"""Streamed, verified, retried downloads that never leave a partial file.

The file is written to a temporary name beside its destination, its size and
sha256 checked against the official values, and only then renamed. An HTML
page (what a dead dataset address usually serves) is recognised and refused.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from tqdm.auto import tqdm

from .errors import ChecksumError, DownloadError
from .fileio import atomic_path

CHUNK = 1 << 20
USER_AGENT = "emnist_lib (+https://github.com/; research download)"


def mirrors_from_env(var: str = "EMNIST_MIRRORS") -> list[str]:
    """Extra mirror URLs from a whitespace- or comma-separated environment variable."""
    return [u for u in os.environ.get(var, "").replace(",", " ").split() if u]


def _looks_like_html(first: bytes, content_type: str) -> bool:
    head = first.lstrip()[:15].lower()
    return "text/html" in content_type.lower() or head.startswith((b"<!doctype", b"<html"))


def _fetch_once(url: str, tmp: Path, sha256: str | None, size: int | None,
                timeout: float, progress: bool) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    digest = hashlib.sha256()
    received = 0
    with urllib.request.urlopen(request, timeout=timeout) as resp, open(tmp, "wb") as out:
        announced = int(resp.headers.get("Content-Length") or 0)
        total = announced or size
        content_type = resp.headers.get("Content-Type", "")
        bar = tqdm(total=total, unit="B", unit_scale=True, desc=Path(url).name,
                   disable=not progress, leave=False)
        with bar:
            first = True
            while block := resp.read(CHUNK):
                if first and _looks_like_html(block, content_type):
                    raise DownloadError(
                        f"{url} returned an HTML page, not the data file; the address has "
                        "probably moved. Try another mirror (EMNIST_MIRRORS) or place the file by hand."
                    )
                first = False
                out.write(block)
                digest.update(block)
                received += len(block)
                bar.update(len(block))
    if announced and received != announced:
        raise DownloadError(f"{url}: connection dropped after {received} of {announced} bytes")
    if size is not None and received != size:
        raise ChecksumError(
            f"{url}: {received} bytes, but the official file has {size}; the file was not saved. "
            "The mirror serves a different file."
        )
    if sha256 is not None and digest.hexdigest() != sha256:
        raise ChecksumError(
            f"{url}: sha256 {digest.hexdigest()} does not match the official {sha256}; "
            "the file was not saved. The mirror serves a different file."
        )


def download(urls: str | Sequence[str], dest: Path, sha256: str | None = None,
             size: int | None = None, retries: int = 3, timeout: float = 30.0,
             backoff: float = 1.0, progress: bool = True) -> Path:
    """Download the first URL that works to ``dest``, verified, atomically.

    Each URL is tried ``retries`` times for transient errors (connection
    dropped, timeout, 5xx). A checksum mismatch or an HTML page is not retried
    on the same URL. Raises :class:`DownloadError` (or :class:`ChecksumError`)
    listing every attempt; ``dest`` is never left partial.
    """
    dest = Path(dest)
    urls = [urls] if isinstance(urls, str) else list(urls)
    failures: list[str] = []
    checksum_failed = False
    for url in urls:
        for attempt in range(1, retries + 1):
            try:
                with atomic_path(dest) as tmp:
                    _fetch_once(url, tmp, sha256, size, timeout, progress)
                return dest
            except ChecksumError as exc:
                failures.append(str(exc))
                checksum_failed = True
                break
            except DownloadError as exc:
                failures.append(str(exc))
                if "HTML" in str(exc):
                    break
            except urllib.error.HTTPError as exc:
                failures.append(f"{url}: HTTP {exc.code} {exc.reason}")
                if exc.code < 500:
                    break
            except (urllib.error.URLError, OSError, TimeoutError, http.client.HTTPException) as exc:
                reason = getattr(exc, "reason", exc)
                failures.append(f"{url}: {reason} (attempt {attempt}/{retries})")
            if attempt < retries:
                time.sleep(backoff * attempt)
    kind = ChecksumError if checksum_failed else DownloadError
    raise kind(f"could not download {dest.name}:\n  " + "\n  ".join(failures))


def reachable(url: str, timeout: float = 3.0) -> bool:
    """Quick check (one HEAD request) that ``url`` answers; never retries."""
    try:
        req = urllib.request.Request(url, method="HEAD", headers={"User-Agent": USER_AGENT})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status < 400
    except Exception:  # noqa: BLE001 - any failure means "not reachable now"
        return False
