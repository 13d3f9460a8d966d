"""How much synthetic handwriting looks like real handwriting, in numbers.

Summary statistics measured the same way on real and synthetic 28x28 images
(white ink on black, upright, EMNIST framing): mean ink, stroke width, slant and
aspect ratio. They calibrate :class:`emnist_lib.synthetic.Pen` and are reported
by ``benchmarks/realism_check.py``; no real image enters the generator.
"""

from __future__ import annotations

import cv2
import numpy as np

from .framing import INK_THRESHOLD, stroke_width


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


# The real pool cut for measuring and calibrating the generator (emnist_lib.pool.partition): one seeded
# order per class (EMNIST's release date, independent of the study's seed), images per class in each part.
# benchmarks/realism_check.py trains real models on "train" and reports on "score"; the generator is
# calibrated on "calibration" only, so nothing is tuned on what is scored.
POOL_SEED = 20170217
POOL_PARTS = {"balanced": {"score": 100, "train": 400, "calibration": 200},
              "letters": {"score": 200, "train": 1000, "calibration": 300},
              "digits": {"score": 500, "train": 2000, "calibration": 500}}


def lower_case_shares(chars: np.ndarray, labels: np.ndarray) -> tuple[float, ...]:
    """How often each letter A..Z is written in lower case, from real letters (labels 1..26) and the
    character each was written as (``?`` where the file merged the cases: not counted)."""
    out = []
    for letter in range(1, 27):
        known = chars[(labels == letter) & (chars != "?")]
        out.append(round(float(np.mean(np.char.islower(known))), 2) if len(known) else 0.5)
    return tuple(out)


def calibration_case_shares() -> tuple[float, ...]:
    """:func:`lower_case_shares` of the calibration part of the real letters pool (what the generator uses)."""
    from . import pool

    parts = pool.partition("letters", POOL_PARTS["letters"], POOL_SEED)
    return lower_case_shares(parts["chars"]["calibration"], parts["calibration"][1])


RELATIVE = ("ink_mean", "stroke_width_mean", "ink_fraction", "aspect_mean", "slant_sd")
ABSOLUTE = ("slant_mean",)  # degrees around zero: a ratio of means would mean nothing


def compare(real: dict[str, float], synthetic: dict[str, float]) -> dict[str, float]:
    """Synthetic against real: relative differences (synthetic / real - 1) of the ink, stroke width,
    inked fraction, aspect and slant spread; the mean slant's difference in degrees."""
    out = {k: synthetic[k] / real[k] - 1 for k in RELATIVE if k in real and k in synthetic}
    out.update({k: synthetic[k] - real[k] for k in ABSOLUTE if k in real and k in synthetic})
    return out


def compare_per_class(x_syn: np.ndarray, y_syn: np.ndarray, x_real: np.ndarray, y_real: np.ndarray,
                      class_names: list[str], per_class: int = 200) -> dict:
    """The same statistics on synthetic and real images of one split, overall and class by class
    (at most ``per_class`` images of each class on each side)."""
    out = {"synthetic": summary(x_syn), "real": summary(x_real), "per_class": {}}
    out["relative_difference"] = compare(out["real"], out["synthetic"])
    for c in np.unique(y_real):
        syn, real = x_syn[y_syn == c][:per_class], x_real[y_real == c][:per_class]
        if len(syn) and len(real):
            out["per_class"][class_names[c]] = compare(summary(real), summary(syn))
    return out


def emnist_twins(datasets, seed: int = 0) -> dict | None:
    """``{split: (synthetic, real)}``: each EMNIST data set of ``datasets`` beside its other version at the
    same sizes (synthetic generated, or real from the official files on this machine, never downloaded);
    None when there is no real EMNIST here."""
    from .data import real_source
    from .loaders import load_split
    from .splits import SPLITS

    out = {}
    for ds in datasets:
        if ds.split not in SPLITS:
            continue
        real = real_source(SPLITS[ds.split])
        if real is None:
            return None
        sizes = (len(ds.y_train), len(ds.y_test), seed)
        other = load_split(ds.split, real if ds.is_synthetic else "synthetic", *sizes)
        out[ds.split] = (ds, other) if ds.is_synthetic else (other, ds)
    return out or None


def compare_with_real(twins: dict, figure_split: str = "letters") -> dict:
    """Summary statistics of synthetic vs real EMNIST, overall and per class, for each split of
    :func:`emnist_twins`, and a figure of both side by side, class by class (``figure_split``)."""
    from . import plots

    stats, rows = {}, []
    for split, (syn, real) in twins.items():
        stats[split] = compare_per_class(syn.x_train, syn.y_train, real.x_train, real.y_train, syn.class_names)
        if split == figure_split:
            rows = [(syn.class_names[c], syn.x_train[syn.y_train == c], real.x_train[real.y_train == c])
                    for c in np.unique(real.y_train)]
    heading = f"Synthetic vs real EMNIST {figure_split} ({next(iter(twins.values()))[1].source})"
    return {"stats": stats, "figure": plots.real_vs_synthetic(rows, heading) if rows else None}


STATISTICS = (("ink_mean", "mean ink (0..255)"), ("stroke_width_mean", "stroke width (px)"),
              ("ink_fraction", "inked fraction"), ("slant_mean", "slant (deg)"), ("slant_sd", "slant spread (sd, deg)"),
              ("aspect_mean", "aspect (w/h)"))


def stats_rows(stats: dict) -> list[tuple[str, str, str, float, float, float, str]]:
    """``(set, statistic, label, synthetic, real, difference, unit)`` per set and statistic of
    :func:`compare_with_real`'s statistics (the text table here and the report's table): the
    difference relative (unit ``%``) except for the mean slant, in degrees."""
    rows = []
    for part, s in stats.items():
        diff = compare(s["real"], s["synthetic"])
        for key, label in STATISTICS:
            rows.append((part, key, label, s["synthetic"][key], s["real"][key], diff[key],
                         "deg" if key in ABSOLUTE else "%"))
    return rows


def fmt_difference(diff: float, unit: str) -> str:
    return f"{diff:+.1f} deg" if unit == "deg" else f"{100 * diff:+.1f}%"


def stats_table(stats: dict) -> str:
    """A plain-text table of :func:`compare_with_real`'s statistics."""
    lines = [f"{'':9s} {'statistic':18s} {'synthetic':>10s} {'real':>8s} {'diff':>9s}"]
    lines += [f"{part:9s} {key:18s} {syn:10.3f} {real:8.3f} {fmt_difference(diff, unit):>9s}"
              for part, key, _, syn, real, diff, unit in stats_rows(stats)]
    return "\n".join(lines)
