"""Use a trained model on anyone's handwriting: image files or bytes in, top-k classes out.

An image of one character, any size, photo, scan or drawing, dark ink on light paper or light
on dark, becomes what the study's models were trained on (see ``card.INPUT_CONVENTION``):

1. decode (PIL; EXIF rotation applied, transparency composited onto a contrasting background),
   grey levels 0..1, shrunk to at most 512 pixels a side;
2. polarity from the border: the median of the outer pixels is the background, and if it is
   light the image is inverted, so ink is always bright;
3. noise threshold: background subtracted, Otsu's threshold separates ink from paper, and
   specks (connected pieces under 2% of the ink) are dropped;
4. pen width: a thin pen (a ballpoint on a photo) is thickened so that, once the character is
   scaled into the 24-pixel box, its strokes are about as wide as EMNIST's (2.5 pixels);
5. the EMNIST framing, the same function synthetic EMNIST uses: bounding box, aspect kept,
   centred in 24x24 inside a 2-pixel border, resampled to 28x28 uint8, upright.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .card import ModelCardError, read_card, resolve_model
from .errors import EmnistError
from .evaluation import used_labels
from .framing import emnist_convert, mask_stroke_width

MAX_PIXELS = 50_000_000  # a 4000x3000 photo is 12 MP; a header promising more is refused before decoding
WORK_SIDE = 512  # images are shrunk to at most this many pixels a side before any processing
TARGET_STROKE = 2.5  # EMNIST stroke width in pixels of the 28x28 frame (realism.stroke_width on real data)
SPECK_FRACTION = 0.02  # ink pieces smaller than this share of all ink are noise
MIN_CONTRAST = 0.08  # ink must differ from the background by this much of the 0..1 range
FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP")  # JPEG includes phone cameras' MPO files


class ImageError(EmnistError, ValueError):
    """An input image cannot be used (unreadable, too large, no ink); the message names it."""


def decode(data: bytes | str | Path, name: str | None = None) -> np.ndarray:
    """Grey levels in 0..1 (float32, upright) of an image file or its bytes."""
    name = name or (str(data) if isinstance(data, (str, Path)) else "image")
    if isinstance(data, (str, Path)):
        try:
            data = Path(data).read_bytes()
        except OSError as exc:
            raise ImageError(f"{name}: cannot read the file ({exc.strerror or exc})") from exc
    if not data:
        raise ImageError(f"{name}: empty (0 bytes); send a PNG, JPEG or BMP image")
    try:
        img = Image.open(io.BytesIO(data), formats=FORMATS)
    except UnidentifiedImageError as exc:
        raise ImageError(f"{name}: not an image this tool can read; send one of {', '.join(FORMATS)}") from exc
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{name}: image too large ({exc}); at most {MAX_PIXELS:,} pixels") from exc
    w, h = img.size
    if w * h > MAX_PIXELS:
        raise ImageError(f"{name}: {w}x{h} pixels is more than the {MAX_PIXELS:,} this tool accepts; "
                         "crop or shrink it to the character")
    if w < 1 or h < 1:
        raise ImageError(f"{name}: the image has no pixels ({w}x{h})")
    try:
        img = ImageOps.exif_transpose(img)  # a phone photo is stored sideways with a rotation tag
        if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
            return _flatten_alpha(np.asarray(img.convert("RGBA"), np.float32) / 255)
        if img.mode in ("I", "I;16", "I;16B", "F"):  # 16-bit or float scans: stretch to 0..1
            grey = np.asarray(img, np.float32)
            lo, hi = float(grey.min()), float(grey.max())
            return (grey - lo) / (hi - lo) if hi > lo else np.zeros_like(grey)
        return np.asarray(img.convert("L"), np.float32) / 255
    except (OSError, ValueError, SyntaxError) as exc:  # truncated or corrupt data PIL only notices when decoding
        raise ImageError(f"{name}: the image data is broken ({exc})") from exc


def _flatten_alpha(rgba: np.ndarray) -> np.ndarray:
    """Composite onto a background that contrasts with the opaque pixels (a drawing app's dark
    strokes on a transparent canvas go onto white, light strokes onto black)."""
    grey = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)
    alpha = rgba[..., 3]
    opaque = alpha > 0.5
    background = 1.0 if opaque.any() and grey[opaque].mean() < 0.5 else 0.0
    return grey * alpha + background * (1 - alpha)


def _shrink(grey: np.ndarray) -> np.ndarray:
    h, w = grey.shape
    scale = WORK_SIDE / max(h, w)
    if scale >= 1:
        return grey
    return cv2.resize(grey, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def _border(grey: np.ndarray) -> np.ndarray:
    k = max(1, round(0.02 * min(grey.shape)))
    return np.concatenate([grey[:k].ravel(), grey[-k:].ravel(), grey[:, :k].ravel(), grey[:, -k:].ravel()])


def to_emnist(grey: np.ndarray, name: str = "image") -> np.ndarray:
    """One character image (grey levels 0..1, either polarity, any size) -> 28x28 uint8 the
    EMNIST way (white ink on black, upright). Raises :class:`ImageError` when there is no ink."""
    grey = np.asarray(grey, np.float32)
    if grey.ndim != 2 or min(grey.shape) < 1:
        raise ImageError(f"{name}: expected one 2-D grey image, got shape {grey.shape}")
    if not np.isfinite(grey).all():
        raise ImageError(f"{name}: the image holds NaN or infinite values")
    grey = _shrink(grey)
    background = float(np.median(_border(grey)))
    if background > 0.5:  # light paper: make the ink bright
        grey, background = 1 - grey, 1 - background
    ink = np.clip(grey - background, 0, None)
    peak = float(ink.max())
    if peak < MIN_CONTRAST:
        raise ImageError(f"{name}: no ink found (the darkest and lightest parts differ by {100 * peak:.0f}% of "
                         "the range); send an image of one handwritten character")
    ink8 = np.round(ink / peak * 255).astype(np.uint8)
    _, mask = cv2.threshold(ink8, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    n, labels, areas = cv2.connectedComponentsWithStats(mask, connectivity=8)[:3]
    areas = areas[1:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero(areas >= SPECK_FRACTION * areas.sum()) + 1
    if keep.size == 0:
        raise ImageError(f"{name}: no character found, only {len(areas)} scattered specks; send an image of one "
                         "handwritten character")
    mask = np.isin(labels, keep)
    # the ink of the kept pieces with its anti-aliased edge; full ink where a thin pen was widened
    soft = np.where(cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0, ink8, 0).astype(np.float32)
    soft[_widen(mask) & ~mask] = 255
    return emnist_convert(soft)


def _widen(mask: np.ndarray) -> np.ndarray:
    """Thicken a thin pen so the stroke is ``TARGET_STROKE`` pixels wide once the character's box is
    scaled into 24 pixels (a thick marker is left as it is)."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    box = max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
    wanted = TARGET_STROKE * box / 24  # EMNIST's width in working pixels
    width = np.nan_to_num(mask_stroke_width(mask), nan=1.0)  # a single pixel has no outline: width 1
    grow = int(round((wanted - width) / 2))
    if grow < 1:
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel) > 0


def prepare(data: bytes | str | Path, name: str | None = None) -> np.ndarray:
    """An image file or its bytes -> the 28x28 uint8 a model of the study takes."""
    name = name or (str(data) if isinstance(data, (str, Path)) else "image")
    return to_emnist(decode(data, name), name)


def _numbers_grid(pixels, name: str) -> list[list[float]]:
    """``pixels`` as JSON gives it: exactly 28 rows of 28 numbers (no strings, booleans or nesting)."""
    if not isinstance(pixels, list) or len(pixels) != 28 or not all(isinstance(r, list) and len(r) == 28 for r in pixels):
        shape = f"{len(pixels)} rows" if isinstance(pixels, list) else type(pixels).__name__
        raise ImageError(f"{name}: expected a 28x28 array (28 rows of 28 numbers 0..255), got {shape}")
    for i, row in enumerate(pixels):
        for j, v in enumerate(row):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ImageError(f"{name}[{i}][{j}]: expected a number 0..255, got {type(v).__name__} {v!r:.20}")
    return pixels


def check_pixels(pixels, name: str = "pixels") -> np.ndarray:
    """A 28x28 array already in the model's convention (0..255, white ink on black, upright): a numeric
    numpy array, or nested lists of numbers as JSON carries them (strings and booleans are refused)."""
    if isinstance(pixels, np.ndarray):
        if pixels.dtype.kind not in "iuf":
            raise ImageError(f"{name}: expected numbers 0..255, got an array of {pixels.dtype}")
        arr = pixels.astype(np.float64)
    else:
        arr = np.asarray(_numbers_grid(pixels, name), dtype=np.float64)
    if arr.shape != (28, 28):
        raise ImageError(f"{name}: expected a 28x28 array (rows of 28 numbers 0..255), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ImageError(f"{name}: holds NaN or infinite values; send numbers 0..255")
    if arr.min() < 0 or arr.max() > 255:
        raise ImageError(f"{name}: values must lie in 0..255 (got {arr.min():g}..{arr.max():g})")
    if arr.max() == 0:
        raise ImageError(f"{name}: all zero, no ink; white ink (255) on black (0) is expected")
    return np.round(arr).astype(np.uint8)


class Predictor:
    """A study model and its card: ``predict`` images, ``top`` classes with probabilities.

    Thread-safe (one lock around the model call); the model runs as one traced function with
    a fixed input signature, so repeated calls neither retrace nor grow memory.
    """

    def __init__(self, model_path: str | Path | None = None):
        import keras
        import tensorflow as tf

        self.path = resolve_model(model_path)
        self.card = read_card(self.path)
        try:
            self.model = keras.saving.load_model(self.path, compile=False)
        except Exception as exc:  # Keras raises many types for a broken file
            raise ModelCardError(f"{self.path}: cannot load the model ({type(exc).__name__}: {exc})") from exc
        outputs = int(self.model.output_shape[-1])
        if outputs != self.card["num_outputs"] or tuple(self.model.input_shape[1:3]) != (28, 28):
            raise ModelCardError(f"{self.path}: the model (input {self.model.input_shape}, {outputs} outputs) does not "
                                 f"match its card ({self.card['num_outputs']} outputs on 28x28 images)")
        self.classes = np.array(used_labels(self.card["class_names"]))  # the letters split's output 0 is unused
        self.names = [self.card["class_names"][i] for i in self.classes]
        model = self.model
        shape = [None, *self.model.input_shape[1:]]
        self._call = tf.function(lambda x: model(tf.reshape(tf.cast(x, tf.float32), [-1, *shape[1:]]),
                                                 training=False),
                                 input_signature=[tf.TensorSpec([None, 28, 28], tf.uint8)], reduce_retracing=True)
        self._lock = threading.Lock()
        self.predict(np.zeros((1, 28, 28), np.uint8))  # trace once now, not on the first request

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities (N x usable classes, rows sum to 1) for N x 28 x 28 uint8 images."""
        images = np.asarray(images, np.uint8).reshape(-1, 28, 28)
        with self._lock:
            proba = np.asarray(self._call(images), np.float64)
        proba = proba[:, self.classes]
        return proba / proba.sum(1, keepdims=True)

    def top(self, proba_row: np.ndarray, k: int = 5) -> list[dict]:
        order = np.argsort(-proba_row, kind="stable")[:k]
        return [{"class": self.names[i], "probability": float(proba_row[i])} for i in order]

    def classify(self, image28: np.ndarray, k: int = 5) -> list[dict]:
        return self.top(self.predict(image28[None])[0], k)
