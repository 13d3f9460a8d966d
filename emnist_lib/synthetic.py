"""Synthetic EMNIST: font-rendered characters put through the EMNIST conversion.

The offline embedded default. Each image is one character drawn with one of
many fonts (every usable face matplotlib ships, the font packages in
``requirements.txt`` -- two of them hand-drawn -- and any system fonts found),
then distorted like handwriting varies: random rotation, shear, anisotropic
scale, translation, stroke-width change and an elastic (smooth random)
displacement. It then goes through the conversion of Cohen et al. (2017):
Gaussian blur (sigma 1) at 128x128, crop to the character's bounding box,
centre in a square frame keeping the aspect ratio with a 2-pixel border,
bicubic downsampling to 28x28 and rescaling to 0..255.

The result is written with the official file names, the official gzip IDX
format and the official (transposed) orientation plus the mapping file, so
:func:`emnist_lib.data.load_emnist` reads real and synthetic data through one
code path. Generation is deterministic for a seed (independent of the number
of worker processes), balanced per class, and cached on disk under a key of
split, size, seed and :data:`GENERATOR_VERSION`.

A few font families are held out of EMNIST and reserved for the synthetic
Binary AlphaDigits stand-in (:data:`ALPHADIGITS_FONT_PACKAGES`), so the
transfer-learning study crosses a real domain gap offline too.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from . import config
from .fileio import write_text_atomic
from .idx import write_idx
from .splits import DISTINCT_LOWER, get_split

GENERATOR_VERSION = "1.0"
CANVAS = 128
FONT_SIZE = 64
CHUNK = 512
DEFAULT_TRAIN_PER_CLASS = 200
DEFAULT_TEST_PER_CLASS = 40

EMNIST_FONT_PACKAGES = ("font_amatic_sc", "font_intuitive", "font_lato", "font_manrope", "font_hanken_grotesk")
ALPHADIGITS_FONT_PACKAGES = ("font_fredoka_one", "font_caladea", "font_fjallaone")
# Math-symbol faces map ASCII codes to symbols, not letters.
SYMBOL_FONTS = {"cmex10.ttf", "cmsy10.ttf", "DejaVuMathTeXGyre.ttf"}
NEEDED = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class Distortion:
    """Ranges of the random distortions (degrees, fractions, pixels at 128x128)."""

    rotation_deg: float = 12.0
    shear: float = 0.25
    scale: tuple[float, float] = (0.75, 1.15)
    translate_px: float = 10.0
    elastic_px: float = 3.5
    elastic_grid: int = 5
    stroke_widths: tuple[int, ...] = (-1, 0, 1, 1, 2, 3, 4)


def _package_fonts(packages) -> list[Path]:
    out = []
    for name in packages:
        spec = importlib.util.find_spec(name)
        if spec and spec.submodule_search_locations:
            for loc in spec.submodule_search_locations:
                out += sorted(Path(loc).rglob("*.ttf"))
    return out


def _covers(path: Path, chars: str) -> bool:
    from fontTools.ttLib import TTFont

    try:
        with TTFont(str(path), lazy=True, fontNumber=0) as font:
            cmap = font.getBestCmap() or {}
    except Exception:  # noqa: BLE001 - unreadable fonts are simply not used
        return False
    if not all(ord(c) in cmap for c in chars):
        return False
    # Symbol fonts (cm*, STIXSize*) map ASCII to math glyphs; keep those whose
    # 'A' and 'a' render as different, non-empty shapes.
    try:
        f = ImageFont.truetype(str(path), 32)
        return f.getmask("A").getbbox() is not None and f.getmask("A").getbbox() != f.getmask("a").getbbox()
    except OSError:
        return False


@functools.lru_cache(maxsize=4)
def emnist_fonts() -> tuple[str, ...]:
    """Every usable font for synthetic EMNIST, sorted (so seeds mean the same thing)."""
    import matplotlib
    from matplotlib import font_manager

    mpl = sorted((Path(matplotlib.get_data_path()) / "fonts" / "ttf").glob("*.ttf"))
    system = [Path(p) for p in font_manager.findSystemFonts(fontext="ttf")]
    reserved = {p.resolve() for p in _package_fonts(ALPHADIGITS_FONT_PACKAGES)}
    chosen: dict[str, Path] = {}  # one file per face name: system copies of matplotlib's fonts add nothing
    for p in [*mpl, *_package_fonts(EMNIST_FONT_PACKAGES), *sorted(system)]:
        p = p.resolve()
        if p.name not in chosen and p not in reserved and p.name not in SYMBOL_FONTS and _covers(p, NEEDED):
            chosen[p.name] = p
    fonts = [str(chosen[name]) for name in sorted(chosen)]
    if not fonts:
        raise RuntimeError("no usable TrueType font found for synthetic EMNIST (is matplotlib installed?)")
    return tuple(fonts)


@functools.lru_cache(maxsize=4)
def alphadigits_fonts() -> tuple[str, ...]:
    """Fonts for the synthetic AlphaDigits stand-in: never used by synthetic EMNIST."""
    fonts = sorted(str(p) for p in _package_fonts(ALPHADIGITS_FONT_PACKAGES) if _covers(p, NEEDED))
    if not fonts:
        raise RuntimeError(
            "the fonts reserved for synthetic AlphaDigits are missing: "
            f"pip install {' '.join(p.replace('_', '-') for p in ALPHADIGITS_FONT_PACKAGES)}"
        )
    return tuple(fonts)


def class_variants(split: str) -> list[tuple[int, tuple[str, ...]]]:
    """``(label, characters)`` per class: letters and merged classes draw either case."""
    spec = get_split(split)
    out = []
    for i, chars in enumerate(spec.chars):
        variants = tuple(chars)
        if len(chars) == 1 and chars.isupper() and split in ("balanced", "bymerge") \
                and chars.lower() not in DISTINCT_LOWER:
            variants = (chars, chars.lower())
        out.append((spec.first_label + i, variants))
    return out


# --------------------------------------------------------------------------- rendering
_TEMPLATES: dict = {}


@functools.lru_cache(maxsize=256)
def _font(path: str) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, FONT_SIZE)


def _template(font: str, ch: str, stroke: int) -> np.ndarray:
    """The glyph centred on a 128x128 canvas, values 0..1 (cached per process)."""
    key = (font, ch, stroke)
    if key not in _TEMPLATES:
        pil_font = _font(font)
        img = Image.new("L", (CANVAS, CANVAS), 0)
        draw = ImageDraw.Draw(img)
        width = max(stroke, 0)
        left, top, right, bottom = draw.textbbox((0, 0), ch, font=pil_font, stroke_width=width)
        xy = ((CANVAS - (right - left)) / 2 - left, (CANVAS - (bottom - top)) / 2 - top)
        draw.text(xy, ch, fill=255, font=pil_font, stroke_width=width, stroke_fill=255)
        arr = np.asarray(img, dtype=np.float32) / 255.0
        if stroke < 0:  # thinner than the face: erode once
            thin = cv2.erode(arr, np.ones((3, 3), np.uint8))
            arr = thin if thin.max() > 0.5 else arr
        _TEMPLATES[key] = arr
    return _TEMPLATES[key]


def _sample_maps(b: int, rng: np.random.Generator, d: Distortion) -> np.ndarray:
    """Per-image sampling maps (B, 2, 128, 128): random affine plus elastic displacement.

    The affine part is rotation, shear, anisotropic scale and translation; the
    elastic part is a coarse grid of Gaussian displacements upsampled bicubically
    (a smooth random field, cheap to draw).
    """
    theta = np.deg2rad(rng.uniform(-d.rotation_deg, d.rotation_deg, b))
    shear = rng.uniform(-d.shear, d.shear, b)
    sy, sx = rng.uniform(*d.scale, (2, b))
    cos, sin = np.cos(theta), np.sin(theta)
    # Inverse map (output pixel -> input pixel) in (x, y) order for cv2.remap.
    m = np.empty((b, 2, 2), np.float32)
    m[:, 0, 0] = (cos - sin * shear) / sx
    m[:, 0, 1] = -sin / sy
    m[:, 1, 0] = (sin + cos * shear) / sx
    m[:, 1, 1] = cos / sy
    c = (CANVAS - 1) / 2
    ys, xs = np.meshgrid(np.arange(CANVAS, dtype=np.float32), np.arange(CANVAS, dtype=np.float32), indexing="ij")
    grid = np.stack([xs.ravel(), ys.ravel()]) - c
    maps = (m @ grid).reshape(b, 2, CANVAS, CANVAS) + c
    maps += rng.uniform(-d.translate_px, d.translate_px, (b, 2, 1, 1)).astype(np.float32)
    coarse = rng.normal(0, d.elastic_px, (b, 2, d.elastic_grid, d.elastic_grid)).astype(np.float32)
    for i in range(b):
        for axis in range(2):
            maps[i, axis] += cv2.resize(coarse[i, axis], (CANVAS, CANVAS), interpolation=cv2.INTER_CUBIC)
    return maps


def emnist_convert(img: np.ndarray, out_shape=(28, 28), border: int = 2) -> np.ndarray:
    """Cohen et al. (2017) conversion of one blurred high-resolution image to 0..255 uint8.

    Crop to the bounding box of non-background pixels, centre in a frame of the
    output's aspect ratio (a square for EMNIST) keeping the character's aspect
    ratio, leave a ``border``-pixel margin, bicubic-resample, rescale to 0..255.
    """
    mask = img > 0.05 * img.max() if img.max() > 0 else img > 0
    if not mask.any():
        return np.zeros(out_shape, np.uint8)
    rows, cols = np.where(mask.any(1))[0], np.where(mask.any(0))[0]
    roi = img[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    oh, ow = out_shape
    inner_h, inner_w = oh - 2 * border, ow - 2 * border
    scale = min(inner_h / roi.shape[0], inner_w / roi.shape[1])
    new_h, new_w = max(1, round(roi.shape[0] * scale)), max(1, round(roi.shape[1] * scale))
    small = np.asarray(Image.fromarray(roi.astype(np.float32), mode="F").resize((new_w, new_h), Image.BICUBIC))
    out = np.zeros(out_shape, np.float32)
    top, left = (oh - new_h) // 2, (ow - new_w) // 2
    out[top:top + new_h, left:left + new_w] = np.clip(small, 0, None)
    peak = out.max()
    return np.round(out / peak * 255).astype(np.uint8) if peak > 0 else out.astype(np.uint8)


def render_chunk(labels: np.ndarray, variants: dict, fonts: tuple[str, ...], seed_entropy,
                 distortion: Distortion = Distortion(), out_shape=(28, 28), border: int = 2,
                 binarize: bool = False) -> np.ndarray:
    """Render one chunk of images for the given labels (runs in a worker process)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed_entropy))
    n = len(labels)
    font_idx = rng.integers(len(fonts), size=n)
    strokes = rng.choice(distortion.stroke_widths, size=n)
    case_pick = rng.random(n)
    maps = _sample_maps(n, rng, distortion)
    out = np.empty((n, *out_shape), np.uint8)
    for i, lab in enumerate(labels):
        opts = variants[int(lab)]
        ch = opts[int(case_pick[i] * len(opts))]
        glyph = _template(fonts[font_idx[i]], ch, int(strokes[i]))
        warped = cv2.remap(glyph, maps[i, 0], maps[i, 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        out[i] = emnist_convert(cv2.GaussianBlur(warped, (0, 0), 1.0), out_shape, border)
    return (out >= 128).astype(np.uint8) if binarize else out


def balanced_labels(classes: list[int], n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` labels with every class equally often (rounded up to a whole number per class), shuffled."""
    per_class = -(-n // len(classes))
    labels = np.repeat(np.asarray(classes), per_class)
    rng.shuffle(labels)
    return labels


def generate(labels: np.ndarray, variants: dict, fonts: tuple[str, ...], seed: int,
             workers: int | None = None, **kwargs) -> np.ndarray:
    """Render images for ``labels``; chunked so the result does not depend on ``workers``."""
    chunks = [labels[i:i + CHUNK] for i in range(0, len(labels), CHUNK)]
    seeds = [(seed, i) for i in range(len(chunks))]
    workers = workers or min(len(chunks), os.cpu_count() or 1)
    job = functools.partial(render_chunk, variants=variants, fonts=fonts, **kwargs)
    if workers <= 1 or len(chunks) <= 1:
        parts = [job(c, seed_entropy=s) for c, s in zip(chunks, seeds)]
    else:
        # spawn, not fork: the caller may have TensorFlow loaded, which fork can deadlock.
        try:
            with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
                parts = list(pool.map(_call, [(job, c, s) for c, s in zip(chunks, seeds)]))
        except BrokenProcessPool:
            # Typically a script without an `if __name__ == "__main__":` guard, which spawned
            # workers re-run. Same images, one process (chunk seeds do not depend on workers).
            import warnings

            warnings.warn("synthetic generation fell back to one process (worker pool failed; guard your "
                          "script with `if __name__ == '__main__':` to use all cores)", stacklevel=2)
            parts = [job(c, seed_entropy=s) for c, s in zip(chunks, seeds)]
    return np.concatenate(parts) if parts else np.zeros((0, 28, 28), np.uint8)


def _call(args):
    job, chunk, seed = args
    return job(chunk, seed_entropy=seed)


def fonts_digest(fonts: tuple[str, ...]) -> str:
    """Short digest of the font set: system fonts differ between machines."""
    import hashlib

    return hashlib.sha256("\n".join(Path(f).name for f in fonts).encode()).hexdigest()[:8]


def cache_key(split: str, n_train: int, n_test: int, seed: int, fonts: tuple[str, ...]) -> str:
    return f"{split}-n{n_train}-t{n_test}-s{seed}-v{GENERATOR_VERSION}-f{fonts_digest(fonts)}"


def ensure(split: str, n_train: int | None = None, n_test: int | None = None, seed: int = 0,
           workers: int | None = None, root: Path | None = None) -> Path:
    """Generate (or reuse from cache) a synthetic split in the official layout.

    Returns the folder holding the four official gzip IDX files, the mapping
    file and ``generator.json``. The folder appears only once complete.
    """
    spec = get_split(split)
    n_classes = spec.num_labels
    n_train = n_train or DEFAULT_TRAIN_PER_CLASS * n_classes
    n_test = n_test or DEFAULT_TEST_PER_CLASS * n_classes
    for name, value in (("n_train", n_train), ("n_test", n_test)):
        if value < n_classes:
            raise ValueError(f"{name}={value} is smaller than the {n_classes} classes of {split!r}")
    root = Path(root) if root else config.synthetic_dir()
    fonts = emnist_fonts()
    folder = root / cache_key(split, n_train, n_test, seed, fonts)
    if (folder / "generator.json").exists():
        return folder
    variants = dict(class_variants(split))
    classes = sorted(variants)
    rng = np.random.default_rng(np.random.SeedSequence((seed, 7919)))
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=root))
    try:
        for part, n, stream in (("train", n_train, 1), ("test", n_test, 2)):
            labels = balanced_labels(classes, n, rng)
            images = generate(labels, variants, fonts, seed=seed * 1000 + stream, workers=workers)
            # Official storage orientation: transposed.
            write_idx(tmp / spec.file_name(part, "images"), np.ascontiguousarray(images.transpose(0, 2, 1)))
            write_idx(tmp / spec.file_name(part, "labels"), labels.astype(np.uint8))
        write_text_atomic(tmp / spec.mapping_name(), "\n".join(spec.mapping_lines()) + "\n")
        meta = {"generator_version": GENERATOR_VERSION, "split": split, "seed": seed,
                "n_train": int(-(-n_train // n_classes) * n_classes),
                "n_test": int(-(-n_test // n_classes) * n_classes),
                "fonts": [Path(f).name for f in fonts], "fonts_digest": fonts_digest(fonts), "distortion": asdict(Distortion())}
        write_text_atomic(tmp / "generator.json", json.dumps(meta, indent=2, sort_keys=True))
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder
