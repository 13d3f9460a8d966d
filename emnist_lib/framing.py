"""EMNIST framing and stroke measurements, shared by the synthetic generator, the realism
statistics and inference on user images (no generator, no framework imported here).

Cohen et al. (2017) turned each NIST character into a 28x28 image by blurring it, cropping to the
bounding box, centring it in a square keeping its aspect ratio, leaving a 2-pixel border and
resampling; :func:`emnist_convert` is that conversion. :func:`mask_stroke_width` measures a pen's
width the same way on real and synthetic images.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

INK_THRESHOLD = 128  # a pixel of a 0..255 image is ink from this value up (stroke measurements)


def emnist_convert(img: np.ndarray, out_shape=(28, 28), border: int = 2, fill: bool = False) -> np.ndarray:
    """Cohen et al. (2017) conversion of one blurred high-resolution image to 0..255 uint8.

    Crop to the bounding box of non-background pixels, centre in a frame of the
    output's aspect ratio (a square for EMNIST) keeping the character's aspect
    ratio, leave a ``border``-pixel margin, bicubic-resample, rescale to 0..255.
    ``fill`` stretches the box to the whole frame instead (Binary AlphaDigits' framing),
    a thin side by at most 2.5 times.
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
    if fill:  # stretch to the frame, but a thin side (I, 1) at most 2.5-fold, not into a block
        new_h, new_w = min(inner_h, round(new_h * 2.5)), min(inner_w, round(new_w * 2.5))
    small = np.asarray(Image.fromarray(roi.astype(np.float32), mode="F").resize((new_w, new_h), Image.BICUBIC))
    out = np.zeros(out_shape, np.float32)
    top, left = (oh - new_h) // 2, (ow - new_w) // 2
    out[top:top + new_h, left:left + new_w] = np.clip(small, 0, None)
    peak = out.max()
    return np.round(out / peak * 255).astype(np.uint8) if peak > 0 else out.astype(np.uint8)


def reframe(images: np.ndarray) -> np.ndarray:
    """Re-frame MNIST-style digits the EMNIST way: bounding box, aspect kept, 24x24 inside a 2-pixel border."""
    return np.stack([emnist_convert(img.astype(np.float32)) for img in images])


def mask_stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width in pixels of a boolean ink mask: twice the inked area over its outline length.

    For a stroke of width w and length L the area is about wL and the outline
    about 2L, so 2 * area / outline is w, whatever the character.
    """
    mask = np.asarray(mask).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    outline = sum(cv2.arcLength(c, True) for c in contours)
    return float(2 * mask.sum() / outline) if outline > 0 else float("nan")


def stroke_width(image: np.ndarray) -> float:
    """Mean stroke width in pixels of a 0..255 image (ink: at least :data:`INK_THRESHOLD`)."""
    return mask_stroke_width(image >= INK_THRESHOLD)
