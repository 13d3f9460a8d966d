"""Synthetic EMNIST: characters drawn the way people write them, then converted like EMNIST.

The offline embedded default. Most images are pen trajectories
(:mod:`emnist_lib.strokes`): our table of hand-printed allographs and the
single-stroke Hershey fonts. Each trajectory is distorted the way one writer
differs from another -- per-stroke jitter, slant, aspect ratio, rotation and a
smooth elastic displacement -- and drawn with a round pen whose width and
pressure vary. A minority are typeset: glyphs of the fonts that the pinned
requirements install (matplotlib's and the font packages in
``requirements.txt``), warped the same way. System fonts are used only on
request (``system_fonts=True`` or ``EMNIST_SYSTEM_FONTS=1``) and are then named
in the generator record, so the same seed gives the same data on every
machine.

The distortion and pen distributions (:class:`Pen`) are calibrated against
summary statistics of real handwriting only (stroke width, ink, slant and
aspect ratio of real MNIST training digits and real EMNIST letters, see
:mod:`emnist_lib.realism` and ``benchmarks/realism_check.py``); no real image
is copied or traced.

Every drawing goes through the conversion of Cohen et al. (2017): Gaussian blur
(sigma 1) at 128x128, crop to the character's bounding box, centre in a square
frame keeping the aspect ratio with a 2-pixel border, bicubic downsampling to
28x28 and rescaling to 0..255. The result is written with the official file
names, the official gzip IDX format and the official (transposed) orientation
plus the mapping file, so :func:`emnist_lib.data.load_emnist` reads real and
synthetic data through one code path. Generation is deterministic for a seed
(independent of the number of worker processes), balanced per class, and cached
on disk under a key of split, size, seed, :data:`GENERATOR_VERSION` and the
glyph sources; a killed generation leaves no cache entry behind.

Some Hershey families and font packages are held out of EMNIST and reserved
for the synthetic Binary AlphaDigits stand-in (:func:`alphadigits_style`), so
the transfer-learning study crosses a real domain gap offline too.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from . import config, strokes
from .errors import check_size
from .fileio import publish_folder, write_text_atomic
from .framing import emnist_convert
from .idx import write_idx
from .splits import DISTINCT_LOWER, get_split

GENERATOR_VERSION = "2.1"
# How often each letter A..Z is written in lower case in real EMNIST (byclass images of the
# calibration part of the pool: benchmarks/calibrate_generator.py --case-shares; never the part
# that benchmarks/realism_check.py scores on). Generator 2.0 drew both cases equally often.
LOWER_SHARE = (0.60, 0.56, 0.23, 0.69, 0.80, 0.23, 0.58, 0.70, 0.15, 0.32, 0.59, 0.79, 0.22,
               0.59, 0.08, 0.26, 0.54, 0.74, 0.11, 0.62, 0.21, 0.44, 0.34, 0.43, 0.33, 0.44)
CANVAS = 128
FIT_PX = 96  # the longer side of a pen drawing on the 128x128 canvas
FONT_SIZE = 64
CHUNK = 512
DEFAULT_TRAIN_PER_CLASS = 200
DEFAULT_TEST_PER_CLASS = 40
SYSTEM_FONTS_ENV = "EMNIST_SYSTEM_FONTS"

EMNIST_FONT_PACKAGES = ("font_amatic_sc", "font_intuitive", "font_lato", "font_manrope", "font_hanken_grotesk")
ALPHADIGITS_FONT_PACKAGES = ("font_fredoka_one", "font_caladea", "font_fjallaone")
# Math-symbol faces map ASCII codes to symbols, not letters.
SYMBOL_FONTS = {"cmex10.ttf", "cmsy10.ttf", "DejaVuMathTeXGyre.ttf"}
NEEDED = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class Pen:
    """How one writer's character differs from the stroke table (glyph units: caps 10 tall).

    ``width`` is the pen's (median, log-sd) in glyph units (``letter_width`` times
    that for letters: real letters, framed the EMNIST way, have broader strokes than
    our letterforms drawn with the digits' pen), ``slant_deg`` the
    (mean, sd) of the italic slant, ``aspect_log`` the (mean, sd) of the log
    horizontal stretch, ``point_jitter`` the sd of each control point's move
    before the stroke is smoothed, ``proportion`` the sd of a vertical warp that moves
    the character's middle up or down (top-heavy or bottom-heavy writers), ``trim``
    the largest fraction cut from each end of a stroke (open loops, short tails),
    ``bend`` the sd of a smooth bow of each stroke (half and whole sine waves along it),
    ``stroke_jitter`` the sd of each stroke's own offset,
    ``elastic`` the amplitude of the smooth displacement field and
    ``pressure`` the range of a stroke's ink intensity.
    """

    width: tuple[float, float] = (1.25, 0.3)
    letter_width: float = 1.15
    slant_deg: tuple[float, float] = (8.0, 13.0)
    rotation_deg: float = 4.0
    aspect_log: tuple[float, float] = (0.12, 0.18)
    point_jitter: float = 0.7
    proportion: float = 0.6
    bend: float = 0.4
    trim: float = 0.04
    stroke_jitter: float = 0.5
    elastic: float = 1.0
    elastic_wavelength: tuple[float, float] = (8.0, 20.0)
    pressure: tuple[float, float] = (0.8, 1.0)


@dataclass(frozen=True)
class Warp:
    """Image-space distortions of typeset glyphs (degrees, fractions, pixels at 128x128)."""

    rotation_deg: float = 10.0
    shear: float = 0.25
    scale: tuple[float, float] = (0.8, 1.15)
    translate_px: float = 8.0
    elastic_px: float = 3.0
    elastic_grid: int = 5
    stroke_widths: tuple[int, ...] = (-1, 0, 0, 1, 2)


@dataclass(frozen=True)
class Style:
    """Where the glyphs come from and how they are drawn.

    ``weights`` share the images between the stroke table, the Hershey families
    and the typeset fonts (a source lacking a character gives its share to the
    others for that character); ``lower_share[i]`` is how often letter ``i`` (A..Z) of
    a class that takes both cases is drawn in lower case.
    """

    table: bool = True
    hershey: tuple[str, ...] = strokes.HERSHEY_EMNIST
    fonts: tuple[str, ...] = ()
    weights: tuple[float, float, float] = (0.7, 0.2, 0.1)
    lower_share: tuple[float, ...] = LOWER_SHARE
    pen: Pen = field(default_factory=Pen)
    warp: Warp = field(default_factory=Warp)

    def describe(self) -> dict:
        """JSON-ready description for the generator record (font file names, not paths)."""
        return {"stroke_table": self.table, "hershey": list(self.hershey),
                "fonts": [Path(f).name for f in self.fonts], "weights": list(self.weights),
                "lower_share": list(self.lower_share), "pen": asdict(self.pen), "warp": asdict(self.warp)}

    def digest(self) -> str:
        """Short digest of everything that shapes the images (cache keys use it)."""
        return hashlib.sha256(json.dumps(self.describe(), sort_keys=True).encode()).hexdigest()[:8]


# --------------------------------------------------------------------------- fonts
def _package_fonts(packages) -> list[Path]:
    out = []
    for name in packages:
        spec = importlib.util.find_spec(name)
        if spec and spec.submodule_search_locations:
            for loc in spec.submodule_search_locations:
                out += sorted(Path(loc).rglob("*.ttf"))
    return out


@functools.lru_cache(maxsize=512)
def _font_chars(path: str) -> frozenset[str] | None:
    """The characters of :data:`NEEDED` that the font file has; ``None`` when it is missing or unreadable."""
    from fontTools.ttLib import TTFont

    try:
        with TTFont(path, lazy=True, fontNumber=0) as font:
            cmap = font.getBestCmap() or {}
    except Exception:  # noqa: BLE001 - a missing or broken file is reported by the caller
        return None
    return frozenset(ch for ch in NEEDED if ord(ch) in cmap)


def _covers(path: Path, chars: str) -> bool:
    """True when ``path`` is a readable text face with every character of ``chars`` (of :data:`NEEDED`)."""
    have = _font_chars(str(path))
    if have is None or not set(chars) <= have:
        return False
    # Symbol fonts (cm*, STIXSize*) map ASCII to math glyphs; keep those whose
    # 'A' and 'a' render as different, non-empty shapes.
    try:
        f = ImageFont.truetype(str(path), 32)
        return f.getmask("A").getbbox() is not None and f.getmask("A").getbbox() != f.getmask("a").getbbox()
    except OSError:
        return False


def _usable(paths: list[Path], what: str) -> list[Path]:
    """The fonts of ``paths`` that cover every character; the others skipped with one warning."""
    good, bad = [], []
    for p in paths:
        (good if _covers(p, NEEDED) else bad).append(p)
    if bad:
        warnings.warn(f"{what}: skipped {len(bad)} font file(s) that are unreadable or lack some of "
                      f"0-9, A-Z, a-z: {', '.join(str(p) for p in bad)}", stacklevel=3)
    return good


def system_fonts_requested() -> bool:
    """True when ``EMNIST_SYSTEM_FONTS`` asks for the machine's own fonts too."""
    return os.environ.get(SYSTEM_FONTS_ENV, "").strip().lower() in ("1", "true", "yes")


@functools.lru_cache(maxsize=4)
def emnist_fonts(system_fonts: bool = False) -> tuple[str, ...]:
    """The typeset fonts of synthetic EMNIST, sorted (so seeds mean the same thing).

    Matplotlib's text faces and the EMNIST font packages of ``requirements.txt``;
    with ``system_fonts`` also the machine's own TrueType fonts (then the data
    depends on the machine, and the generator record lists them).
    """
    import matplotlib
    from matplotlib import font_manager

    mpl = [p for p in sorted((Path(matplotlib.get_data_path()) / "fonts" / "ttf").glob("*.ttf"))
           if p.name not in SYMBOL_FONTS and _covers(p, NEEDED)]  # the rest are symbol and display faces
    extra = _usable(_package_fonts(EMNIST_FONT_PACKAGES), "synthetic EMNIST font packages")
    if system_fonts:
        extra += _usable(sorted(Path(p) for p in font_manager.findSystemFonts(fontext="ttf")), "system fonts")
    reserved = {p.resolve() for p in _package_fonts(ALPHADIGITS_FONT_PACKAGES)}
    chosen: dict[str, Path] = {}  # one file per face name: system copies of matplotlib's fonts add nothing
    for p in [*mpl, *extra]:
        p = p.resolve()
        if p.name not in chosen and p not in reserved and p.name not in SYMBOL_FONTS:
            chosen[p.name] = p
    return tuple(str(chosen[name]) for name in sorted(chosen))


@functools.lru_cache(maxsize=4)
def alphadigits_fonts() -> tuple[str, ...]:
    """Fonts for the synthetic AlphaDigits stand-in: never used by synthetic EMNIST."""
    fonts = sorted(str(p) for p in _usable(_package_fonts(ALPHADIGITS_FONT_PACKAGES), "AlphaDigits fonts"))
    if not fonts:
        raise RuntimeError(
            "the fonts reserved for synthetic AlphaDigits are missing: "
            f"pip install {' '.join(p.replace('_', '-') for p in ALPHADIGITS_FONT_PACKAGES)}"
        )
    return tuple(fonts)


def emnist_style(system_fonts: bool | None = None) -> Style:
    """The style of synthetic EMNIST; ``system_fonts`` defaults to ``EMNIST_SYSTEM_FONTS``."""
    if system_fonts is None:
        system_fonts = system_fonts_requested()
    return Style(fonts=emnist_fonts(bool(system_fonts)))


def alphadigits_style() -> Style:
    """The AlphaDigits stand-in: held-out Hershey print families and fonts, upright, no stroke table."""
    return Style(table=False, hershey=strokes.HERSHEY_ALPHADIGITS, fonts=alphadigits_fonts(),
                 weights=(0.0, 0.7, 0.3), pen=Pen(width=(1.0, 0.2), slant_deg=(0.0, 5.0), point_jitter=0.3,
                                                  stroke_jitter=0.2, elastic=0.6, aspect_log=(0.0, 0.1)))


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


# --------------------------------------------------------------------------- glyph sources
def glyph_sources(style: Style, chars: str) -> dict[str, tuple[tuple, ...]]:
    """``{char: ((kind, payload, weight), ...)}``: every way ``style`` can draw each character.

    ``kind`` is ``"pen"`` (payload: strokes) or ``"font"`` (payload: font path).
    Runs in the parent process so that a bad source warns once, not once per worker.
    A character no source can draw is an error naming it.
    """
    table = strokes.table_glyphs(chars) if style.table else {}
    hershey = [strokes.hershey_glyphs(name, chars) for name in style.hershey]
    covered = {f: _font_chars(f) for f in style.fonts}
    unreadable = [f for f, c in covered.items() if c is None]
    if unreadable:
        warnings.warn(f"skipped {len(unreadable)} missing or unreadable font file(s): {', '.join(unreadable)}",
                      stacklevel=3)
    covered = {f: c for f, c in covered.items() if c is not None}
    lacking = {f: "".join(ch for ch in chars if ch not in c) for f, c in covered.items()}
    lacking = {f: missing for f, missing in lacking.items() if missing}
    if lacking:
        warnings.warn("fonts lacking characters are not used for those: "
                      + "; ".join(f"{Path(f).name} lacks {m!r}" for f, m in lacking.items()), stacklevel=3)
    w_table, w_hershey, w_fonts = style.weights
    out = {}
    for ch in chars:
        options = []
        allographs = table.get(ch, ())
        options += [("pen", a, w_table / len(allographs)) for a in allographs]
        families = [h[ch] for h in hershey if ch in h]
        options += [("pen", s, w_hershey / len(families)) for s in families]
        fonts = [f for f, c in covered.items() if ch in c]
        options += [("font", f, w_fonts / len(fonts)) for f in fonts]
        options = [o for o in options if o[2] > 0]
        if not options:
            raise RuntimeError(f"no stroke table entry, Hershey font or font can draw {ch!r}")
        out[ch] = tuple(options)
    return out


# --------------------------------------------------------------------------- pen drawings
def _elastic(points: np.ndarray, rng: np.random.Generator, pen: Pen) -> np.ndarray:
    """A smooth random displacement: three random plane waves per axis, evaluated at the points."""
    k = 3
    wavelength = rng.uniform(*pen.elastic_wavelength, (2, k))
    angle = rng.uniform(0, 2 * np.pi, (2, k))
    direction = np.stack([np.cos(angle), np.sin(angle)], -1) / wavelength[..., None] * 2 * np.pi
    phase = rng.uniform(0, 2 * np.pi, (2, k))
    amp = rng.normal(0, pen.elastic / np.sqrt(k), (2, k))
    waves = np.sin(points @ direction.reshape(-1, 2).T + phase.ravel())  # (N, 2k)
    return points + np.stack([waves[:, :k] @ amp[0], waves[:, k:] @ amp[1]], -1)


def draw_pen(glyph: tuple, rng: np.random.Generator, pen: Pen, letter: bool = False) -> np.ndarray:
    """One pen drawing of ``glyph`` on the 128x128 canvas, float32 0..1.

    The glyph is scaled to 10 units on its longer side; control points are
    jittered and the strokes re-smoothed, bowed, trimmed and offset independently;
    the whole character is warped top to bottom, slanted, stretched, rotated and
    elastically displaced, then drawn with a round pen of random width and a
    random pressure per stroke (``letter``: the broader pen of :attr:`Pen.letter_width`).
    """
    # Every glyph is first scaled to 10 units on its longer side: a lowercase letter is
    # written in its box as large as a capital, with the same pen and the same tremor.
    corners = np.concatenate([c for _, c, _ in glyph])
    unit = 10.0 / max(float(np.ptp(corners, axis=0).max()), 1e-6)
    parts = []
    for basis, ctrl, freedom in glyph:
        ctrl = ctrl * unit
        line = ctrl if basis is None else basis @ (ctrl + rng.normal(0, pen.point_jitter, ctrl.shape) * freedom)
        phase = np.linspace(0.0, np.pi, len(line))[:, None]
        line = line + np.sin(phase) * rng.normal(0, pen.bend, 2) + np.sin(2 * phase) * rng.normal(0, pen.bend / 2, 2)
        cut = (rng.uniform(0, pen.trim, 2) * len(line)).astype(int)
        if len(line) - cut.sum() >= 2:
            line = line[cut[0]:len(line) - cut[1]]
        parts.append(line + rng.normal(0, pen.stroke_jitter, 2))
    lengths = np.cumsum([len(s) for s in parts])[:-1]
    pts = np.concatenate(parts)
    top, bottom = pts[:, 1].min(), pts[:, 1].max()
    v = (pts[:, 1] - top) / max(bottom - top, 1e-6)  # 0 at the top, 1 at the bottom
    pts[:, 1] += rng.normal(0, pen.proportion) * v * (1 - v) * 4
    pts = pts - pts.mean(0)
    pts = _elastic(pts, rng, pen)
    slant = np.tan(np.deg2rad(rng.normal(*pen.slant_deg)))
    stretch = np.exp(rng.normal(*pen.aspect_log))
    theta = np.deg2rad(rng.normal(0, pen.rotation_deg))
    c, s = np.cos(theta), np.sin(theta)
    # y grows downwards: a right-leaning slant moves the top (small y) to the right.
    m = np.array([[c, -s], [s, c]]) @ np.array([[stretch, -slant], [0.0, 1.0]])
    pts = pts @ m.T
    lo, hi = pts.min(0), pts.max(0)
    scale = FIT_PX / max(float((hi - lo).max()), 1.0)
    pts = (pts - (lo + hi) / 2) * scale + CANVAS / 2
    width = pen.width[0] * (pen.letter_width if letter else 1.0) * np.exp(rng.normal(0, pen.width[1]))
    thickness = max(1, int(round(width * scale)))
    pressure = rng.uniform(*pen.pressure, len(parts))
    canvas = np.zeros((CANVAS, CANVAS), np.float32)
    fixed = np.round(pts * 16).astype(np.int32)  # 4 fractional bits (shift=4)
    for part, ink in zip(np.split(fixed, lengths), pressure):
        cv2.polylines(canvas, [part], False, float(ink), thickness, cv2.LINE_AA, shift=4)
    return canvas


# --------------------------------------------------------------------------- typeset glyphs
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


def _warp_map(rng: np.random.Generator, d: Warp) -> np.ndarray:
    """A sampling map (2, 128, 128): random affine plus a smooth elastic displacement."""
    theta = np.deg2rad(rng.uniform(-d.rotation_deg, d.rotation_deg))
    shear = rng.uniform(-d.shear, d.shear)
    sy, sx = rng.uniform(*d.scale, 2)
    cos, sin = np.cos(theta), np.sin(theta)
    # Inverse map (output pixel -> input pixel) in (x, y) order for cv2.remap.
    m = np.array([[(cos - sin * shear) / sx, -sin / sy], [(sin + cos * shear) / sx, cos / sy]], np.float32)
    c = (CANVAS - 1) / 2
    ys, xs = np.meshgrid(np.arange(CANVAS, dtype=np.float32), np.arange(CANVAS, dtype=np.float32), indexing="ij")
    maps = (m @ (np.stack([xs.ravel(), ys.ravel()]) - c)).reshape(2, CANVAS, CANVAS) + c
    maps += rng.uniform(-d.translate_px, d.translate_px, (2, 1, 1)).astype(np.float32)
    coarse = rng.normal(0, d.elastic_px, (2, d.elastic_grid, d.elastic_grid)).astype(np.float32)
    for axis in range(2):
        maps[axis] += cv2.resize(coarse[axis], (CANVAS, CANVAS), interpolation=cv2.INTER_CUBIC)
    return maps


def draw_font(font: str, ch: str, rng: np.random.Generator, warp: Warp) -> np.ndarray:
    """One typeset glyph, warped, on the 128x128 canvas, float32 0..1."""
    glyph = _template(font, ch, int(rng.choice(warp.stroke_widths)))
    maps = _warp_map(rng, warp)
    return cv2.remap(glyph, maps[0], maps[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def _pick_case(opts: tuple[str, ...], rng: np.random.Generator, lower_share: tuple[float, ...]) -> str:
    """One of a class's characters: upper or lower case of a letter as often as real writers use each."""
    if len(opts) == 2 and opts[0].isupper() and opts[1] == opts[0].lower():
        return opts[1] if rng.random() < lower_share[ord(opts[0]) - ord("A")] else opts[0]
    return opts[int(rng.integers(len(opts)))]


def render_chunk(labels: np.ndarray, variants: dict, sources: dict, style: Style, seed_entropy,
                 out_shape=(28, 28), border: int = 2, binarize: bool = False, fill: bool = False) -> np.ndarray:
    """Render one chunk of images for the given labels (runs in a worker process).

    An image that comes out without ink (a degenerate glyph or an empty font
    outline) is drawn again from another source; every image has ink.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed_entropy))
    out = np.empty((len(labels), *out_shape), np.uint8)
    for i, lab in enumerate(labels):
        opts = variants[int(lab)]
        ch = _pick_case(opts, rng, style.lower_share)
        options = sources[ch]
        p = np.array([o[2] for o in options])
        for _attempt in range(8):
            kind, payload, _ = options[int(rng.choice(len(options), p=p / p.sum()))]
            canvas = (draw_pen(payload, rng, style.pen, ch.isalpha()) if kind == "pen"
                      else draw_font(payload, ch, rng, style.warp))
            img = emnist_convert(cv2.GaussianBlur(canvas, (0, 0), 1.0), out_shape, border, fill)
            if binarize:
                img = (img >= 128).astype(np.uint8)
            if img.any():
                break
        else:
            raise RuntimeError(f"could not draw {ch!r} with ink from any source in 8 attempts")
        out[i] = img
    return out


def balanced_labels(classes: list[int], n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` labels with every class equally often (rounded up to a whole number per class), shuffled."""
    per_class = -(-n // len(classes))
    labels = np.repeat(np.asarray(classes), per_class)
    rng.shuffle(labels)
    return labels


def generate(labels: np.ndarray, variants: dict, style: Style, seed: int,
             workers: int | None = None, **kwargs) -> np.ndarray:
    """Render images for ``labels``; chunked so the result does not depend on ``workers``."""
    chars = "".join(sorted({c for v in variants.values() for c in v}))
    sources = glyph_sources(style, chars)
    chunks = [labels[i:i + CHUNK] for i in range(0, len(labels), CHUNK)]
    seeds = [(seed, i) for i in range(len(chunks))]
    workers = workers or min(len(chunks), os.cpu_count() or 1)
    job = functools.partial(render_chunk, variants=variants, sources=sources, style=style, **kwargs)
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
            warnings.warn("synthetic generation fell back to one process (worker pool failed; guard your "
                          "script with `if __name__ == '__main__':` to use all cores)", stacklevel=2)
            parts = [job(c, seed_entropy=s) for c, s in zip(chunks, seeds)]
    shape = kwargs.get("out_shape", (28, 28))
    return np.concatenate(parts) if parts else np.zeros((0, *shape), np.uint8)


def _call(args):
    job, chunk, seed = args
    return job(chunk, seed_entropy=seed)


def cache_key(split: str, n_train: int, n_test: int, seed: int, style: Style) -> str:
    return f"{split}-n{n_train}-t{n_test}-s{seed}-v{GENERATOR_VERSION}-g{style.digest()}"


def _remove_abandoned(root: Path) -> None:
    """Remove temporary folders of generations whose process is gone (killed mid-run)."""
    for tmp in root.glob(".*.pid*.tmp"):
        try:
            pid = int(tmp.name.rsplit(".pid", 1)[1].split(".")[0])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(tmp, ignore_errors=True)
        except (ValueError, PermissionError, IndexError):
            continue


def ensure(split: str, n_train: int | None = None, n_test: int | None = None, seed: int = 0,
           workers: int | None = None, root: Path | None = None, system_fonts: bool | None = None) -> Path:
    """Generate (or reuse from cache) a synthetic split in the official layout.

    Returns the folder holding the four official gzip IDX files, the mapping
    file and ``generator.json``. The folder appears only once complete.
    ``system_fonts`` (default: ``EMNIST_SYSTEM_FONTS``) adds the machine's fonts.
    """
    n_train, n_test = check_size("n_train", n_train), check_size("n_test", n_test)
    spec = get_split(split)
    n_classes = spec.num_labels
    n_train = n_train or DEFAULT_TRAIN_PER_CLASS * n_classes
    n_test = n_test or DEFAULT_TEST_PER_CLASS * n_classes
    for name, value in (("n_train", n_train), ("n_test", n_test)):
        if value < n_classes:
            raise ValueError(f"{name}={value} is smaller than the {n_classes} classes of {split!r}")
    root = Path(root) if root else config.synthetic_dir()
    style = emnist_style(system_fonts)
    folder = root / cache_key(split, n_train, n_test, seed, style)
    if (folder / "generator.json").exists():
        return folder
    variants = dict(class_variants(split))
    classes = sorted(variants)
    rng = np.random.default_rng(np.random.SeedSequence((seed, 7919)))
    root.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(root)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.pid{os.getpid()}.", suffix=".tmp", dir=root))
    try:
        for part, n, stream in (("train", n_train, 1), ("test", n_test, 2)):
            labels = balanced_labels(classes, n, rng)
            images = generate(labels, variants, style, seed=seed * 1000 + stream, workers=workers)
            # Official storage orientation: transposed.
            write_idx(tmp / spec.file_name(part, "images"), np.ascontiguousarray(images.transpose(0, 2, 1)))
            write_idx(tmp / spec.file_name(part, "labels"), labels.astype(np.uint8))
        write_text_atomic(tmp / spec.mapping_name(), "\n".join(spec.mapping_lines()) + "\n")
        meta = {"generator_version": GENERATOR_VERSION, "split": split, "seed": seed,
                "n_train": int(-(-n_train // n_classes) * n_classes),
                "n_test": int(-(-n_test // n_classes) * n_classes),
                "system_fonts": bool(system_fonts if system_fonts is not None else system_fonts_requested()),
                "style_digest": style.digest(), **style.describe()}
        write_text_atomic(tmp / "generator.json", json.dumps(meta, indent=2, sort_keys=True))
        publish_folder(tmp, folder, "generator.json")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder

