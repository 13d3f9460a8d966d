"""How much synthetic handwriting looks like real handwriting, in numbers.

Summary statistics measured the same way on real and synthetic 28x28 images
(white ink on black, upright, EMNIST framing): mean ink, stroke width, slant and
aspect ratio. They calibrate :class:`emnist_lib.synthetic.Pen` and are reported
by ``benchmarks/realism_check.py``; no real image enters the generator.
"""

from __future__ import annotations

import cv2
import numpy as np

from .framing import INK_THRESHOLD, reframe, stroke_width


def slant(image: np.ndarray) -> float:
    """Slant in degrees from the ink's second moments (positive: top leans right)."""
    m = cv2.moments(image.astype(np.float32))
    if m["mu02"] <= 0:
        return float("nan")
    return float(np.degrees(np.arctan(-m["mu11"] / m["mu02"])))


def aspect(image: np.ndarray) -> float:
    """Width over height of the inked bounding box."""
    mask = image >= INK_THRESHOLD
    if not mask.any():
        return float("nan")
    rows, cols = np.where(mask.any(1))[0], np.where(mask.any(0))[0]
    return float((cols[-1] - cols[0] + 1) / (rows[-1] - rows[0] + 1))


def summary(images: np.ndarray) -> dict[str, float]:
    """Mean ink (0..255), inked fraction, and mean and sd of stroke width, slant and aspect."""
    images = np.asarray(images)
    out = {"n": int(len(images)), "ink_mean": float(images.mean()),
           "ink_fraction": float((images >= INK_THRESHOLD).mean())}
    for name, fn in (("stroke_width", stroke_width), ("slant", slant), ("aspect", aspect)):
        values = np.array([fn(img) for img in images])
        out[f"{name}_mean"] = float(np.nanmean(values))
        out[f"{name}_sd"] = float(np.nanstd(values))
    return out


def compare(real: dict[str, float], synthetic: dict[str, float]) -> dict[str, float]:
    """Relative difference (synthetic / real - 1) of the ink and stroke width means."""
    return {k: synthetic[k] / real[k] - 1 for k in ("ink_mean", "stroke_width_mean", "ink_fraction")}


def real_handwriting(n_digits: int = 2000) -> dict | None:
    """Real samples to compare with, from the shared data folder; ``None`` when it is absent.

    ``digits``: the first ``n_digits`` real MNIST *training* digits re-framed the EMNIST
    way; ``letters``: the 52 real EMNIST letters. Each is ``(images, labels)``.
    """
    from . import config
    from .data import load_real_letters_sample
    from .mnist import find_idx_folder, load_mnist

    if config.shared_data_dir() is None or find_idx_folder() is None:
        return None
    mnist = load_mnist("idx")
    return {"digits": (reframe(mnist.x_train[:n_digits]), mnist.y_train[:n_digits]),
            "letters": load_real_letters_sample()}


def compare_with_real(digits, letters, real: dict | None = None) -> dict | None:
    """Summary statistics and a side-by-side figure of synthetic vs real handwriting.

    ``digits`` and ``letters`` are synthetic :class:`~emnist_lib.dataset.Dataset` s of
    the ``mnist``/``digits`` and ``letters`` splits. Returns ``None`` when no real
    data is at hand (or the datasets are real), else ``{"stats": {...}, "figure": Figure}``.
    """
    from . import plots

    real = real if real is not None else real_handwriting()
    if real is None or not (digits.is_synthetic and letters.is_synthetic):
        return None
    stats, rows = {}, []
    for part, ds in (("digits", digits), ("letters", letters)):
        x_real, y_real = real[part]
        stats[part] = {"synthetic": summary(ds.x_train[:3000]), "real": summary(x_real)}
        stats[part]["relative_difference"] = compare(stats[part]["real"], stats[part]["synthetic"])
        for c in sorted(set(y_real.tolist())):
            rows.append((ds.class_names[c], ds.x_train[ds.y_train == c], x_real[y_real == c]))
    fig = plots.real_vs_synthetic(rows, "Synthetic EMNIST vs real handwriting (real MNIST digits, real EMNIST letters)")
    return {"stats": stats, "figure": fig}


STATISTICS = (("ink_mean", "mean ink (0..255)"), ("stroke_width_mean", "stroke width (px)"),
              ("ink_fraction", "inked fraction"), ("slant_mean", "slant (deg)"), ("aspect_mean", "aspect (w/h)"))


def stats_rows(stats: dict) -> list[tuple[str, str, str, float, float, float]]:
    """``(set, statistic, label, synthetic, real, relative difference)`` per set and statistic of
    :func:`compare_with_real`'s statistics (the text table here and the report's table)."""
    return [(part, key, label, s["synthetic"][key], s["real"][key], s["synthetic"][key] / s["real"][key] - 1)
            for part, s in stats.items() for key, label in STATISTICS]


def stats_table(stats: dict) -> str:
    """A plain-text table of :func:`compare_with_real`'s statistics."""
    lines = [f"{'':8s} {'statistic':18s} {'synthetic':>10s} {'real':>8s} {'diff':>7s}"]
    lines += [f"{part:8s} {key:18s} {syn:10.3f} {real:8.3f} {100 * diff:+6.1f}%"
              for part, key, _, syn, real, diff in stats_rows(stats)]
    return "\n".join(lines)
