import numpy as np
import pytest
from scipy.ndimage import uniform_filter

from emnist_lib.transforms import augmentation, box_blur


@pytest.mark.parametrize("kernel", [5, 10, 20, 30])
def test_box_blur_matches_an_independent_reference(kernel):
    """scipy's uniform filter with 'mirror' borders is OpenCV's blur with BORDER_REFLECT_101."""
    img = np.random.default_rng(kernel).integers(0, 256, (28, 28), dtype=np.uint8)
    ref = uniform_filter(img.astype(np.float64), size=kernel, mode="mirror")
    assert np.abs(box_blur(img, kernel).astype(float) - ref).max() <= 0.5 + 1e-9


def test_box_blur_keeps_batch_shape_and_mean():
    imgs = np.random.default_rng(0).integers(0, 256, (4, 28, 28), dtype=np.uint8)
    out = box_blur(imgs, 5)
    assert out.shape == imgs.shape and out.dtype == np.uint8
    assert abs(out.mean() - imgs.mean()) < 3


def test_box_blur_rejects_bad_kernel():
    with pytest.raises(ValueError, match="blur kernel must be a positive integer, got 0"):
        box_blur(np.zeros((28, 28), np.uint8), 0)


def test_augmentation_changes_images_only_in_training():
    import numpy as np

    aug = augmentation(seed=1)
    x = np.zeros((2, 28, 28, 1), np.float32)
    x[:, 5:20, 10:14] = 255
    assert np.array_equal(np.asarray(aug(x, training=False)), x)
    assert not np.array_equal(np.asarray(aug(x, training=True)), x)
