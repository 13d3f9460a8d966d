"""Image transforms: box blur (OpenCV ``blur`` semantics) and Keras augmentation.

Both take raw uint8 images, the form every model in this project consumes.
"""

from __future__ import annotations

import numpy as np

BLUR_KERNELS = (5, 10, 20, 30)


def box_blur(images: np.ndarray, kernel: int) -> np.ndarray:
    """Normalised box blur of uint8 images (N, H, W) or (H, W) with a ``kernel`` x ``kernel`` window.

    Exactly ``cv2.blur(img, (kernel, kernel))``: anchor at the window centre
    (for even sizes, ``kernel // 2`` pixels before the pixel), borders reflected
    without repeating the edge (``BORDER_REFLECT_101``), result rounded to uint8.
    ``kernel=1`` returns a copy. Works for kernels larger than the image.
    """
    import cv2

    if not isinstance(kernel, (int, np.integer)) or kernel < 1:
        raise ValueError(f"blur kernel must be a positive integer, got {kernel!r}")
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"box_blur expects uint8 images, got {images.dtype}")
    if kernel == 1:
        return images.copy()
    single = images.ndim == 2
    batch = images[None] if single else images
    out = np.empty_like(batch)
    for i, img in enumerate(batch):
        out[i] = cv2.blur(img, (int(kernel), int(kernel)), borderType=cv2.BORDER_REFLECT_101)
    return out[0] if single else out


def augmentation(rotation: float = 0.05, translation: float = 0.1, zoom: float = 0.1, seed: int | None = None):
    """A Keras preprocessing block for handwriting: small rotation, shift and zoom.

    No flips: a mirrored letter is another letter (or none). Rotation is a
    fraction of a full turn (0.05 = +-18 degrees). Usable inside a model or in
    ``tf.data`` (``ds.map(lambda x, y: (aug(x[..., None], training=True)[..., 0], y))``).
    """
    import keras

    return keras.Sequential(
        [
            keras.layers.RandomRotation(rotation, fill_mode="constant", seed=seed),
            keras.layers.RandomTranslation(translation, translation, fill_mode="constant", seed=seed),
            keras.layers.RandomZoom(zoom, fill_mode="constant", seed=seed),
        ],
        name="augmentation",
    )
