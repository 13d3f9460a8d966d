"""Figures for the study. Every function returns a matplotlib Figure; :func:`save` writes it.

Titles carry a "[SYNTHETIC data]" tag whenever the data is synthetic, so no
figure can be mistaken for a real-EMNIST result.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

if "inline" not in matplotlib.get_backend():
    matplotlib.use("Agg")  # headless by default; notebooks keep their inline backend
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .convergence import Status  # noqa: E402
from .fileio import atomic_path  # noqa: E402

DPI = 110
SYNTHETIC_TAG = "[SYNTHETIC data]"


def title(text: str, synthetic: bool) -> str:
    return f"{text} {SYNTHETIC_TAG}" if synthetic else text


def caption(fig) -> str:
    """A figure's caption: its suptitle, else its axes' titles (what the report prints under it)."""
    if fig._suptitle is not None and fig._suptitle.get_text():
        return fig._suptitle.get_text()
    return "; ".join(t for t in (ax.get_title() for ax in fig.axes) if t)


def save(fig, path: str | Path) -> Path:
    """Save as PNG at a fixed dpi (the Markdown and HTML reports) and as SVG beside it (the PDF report: vector, so
    at print resolution), with a tight box and no timestamp or version metadata (byte-stable); the PNG carries the
    figure's caption (:func:`caption`) as its Title, which the report prints under it."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight",
                    metadata={"Software": None, "Title": caption(fig)})
    with matplotlib.rc_context({"svg.hashsalt": path.stem, "svg.fonttype": "path"}), \
            atomic_path(path.with_suffix(".svg")) as tmp:
        fig.savefig(tmp, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    return path


def read_caption(path: str | Path) -> str:
    """The caption :func:`save` stored in a figure's PNG (empty for a PNG without one)."""
    from PIL import Image

    with Image.open(path) as im:
        return im.text.get("Title", "") if hasattr(im, "text") else ""


def sample_grid(images: np.ndarray, labels: np.ndarray, class_names: Sequence[str], heading: str,
                synthetic: bool, n: int = 40, cols: int = 10, seed: int = 0):
    """A grid of ``n`` random images with their class names."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(images), size=min(n, len(images)), replace=False)
    rows = -(-len(idx) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.9, rows * 1.05))
    for ax in np.atleast_1d(axes).ravel():
        ax.axis("off")
    for ax, i in zip(np.atleast_1d(axes).ravel(), idx):
        ax.imshow(images[i], cmap="gray_r", vmin=0, vmax=images.max() or 1)
        ax.set_title(class_names[labels[i]], fontsize=8)
    fig.suptitle(title(heading, synthetic), fontsize=10)
    return fig


def class_distribution(counts: Sequence[int], class_names: Sequence[str], heading: str, synthetic: bool):
    keep = [i for i, c in enumerate(counts) if c or class_names[i] != "(unused)"]
    fig, ax = plt.subplots(figsize=(max(6, len(keep) * 0.22), 3))
    ax.bar(range(len(keep)), [counts[i] for i in keep], color="tab:blue")
    ax.set_xticks(range(len(keep)), [class_names[i] for i in keep], fontsize=7)
    ax.set_xlabel("class")
    ax.set_ylabel("images")
    ax.set_title(title(heading, synthetic), fontsize=10)
    return fig


def learning_curves(histories: dict[str, dict], heading: str, synthetic: bool, metrics=("loss", "accuracy")):
    """Train (dashed) and validation (solid) curves per run, one panel per metric."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 3.6))
    for ax, metric in zip(np.atleast_1d(axes), metrics):
        for i, (name, hist) in enumerate(histories.items()):
            color = f"C{i % 10}"
            if metric in hist:
                ax.plot(range(1, len(hist[metric]) + 1), hist[metric], "--", color=color, alpha=0.7)
            if f"val_{metric}" in hist:
                ax.plot(range(1, len(hist[f"val_{metric}"]) + 1), hist[f"val_{metric}"], "-", color=color,
                        label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(f"{metric} (dashed: train, solid: validation)", fontsize=9)
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[-1].legend(fontsize=7, loc="best")
    fig.suptitle(title(heading, synthetic), fontsize=10)
    fig.tight_layout()
    return fig


def confusion_heatmap(cm: Sequence[Sequence[int]], names: Sequence[str], heading: str, synthetic: bool,
                      normalize: bool = True):
    """Confusion matrix heatmap, row-normalised, readable at 47x47 (one tick per class)."""
    cm = np.asarray(cm, dtype=float)
    if normalize:
        cm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    size = max(5, 0.2 * len(names) + 2)
    fig, ax = plt.subplots(figsize=(size, size * 0.9))
    im = ax.imshow(cm, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ticks = range(len(names))
    fs = 7 if len(names) <= 30 else 5.5
    ax.set_xticks(ticks, names, fontsize=fs, rotation=90)
    ax.set_yticks(ticks, names, fontsize=fs)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.colorbar(im, ax=ax, fraction=0.046, label="fraction of true class" if normalize else "count")
    ax.set_title(title(heading, synthetic), fontsize=10)
    return fig


def per_class_f1(per_class: dict, heading: str, synthetic: bool):
    names = [k for k, v in per_class.items() if isinstance(v, dict) and "f1-score" in v
             and k not in ("macro avg", "weighted avg", "micro avg")]
    f1 = [per_class[n]["f1-score"] for n in names]
    fig, ax = plt.subplots(figsize=(max(6, len(names) * 0.22), 3))
    ax.bar(range(len(names)), f1, color="tab:green")
    ax.set_xticks(range(len(names)), names, fontsize=7)
    ax.set_ylim(0, 1)
    ax.set_ylabel("F1")
    ax.set_title(title(heading, synthetic), fontsize=10)
    return fig


def comparison_bars(names: Sequence[str], means: Sequence[float], heading: str, synthetic: bool,
                    errors: Sequence[float] | None = None, ylabel: str = "accuracy", second=None):
    """Bars per setting (optionally with error bars, e.g. std over folds; ``second`` = (label, values))."""
    x = np.arange(len(names))
    width = 0.4 if second else 0.7
    fig, ax = plt.subplots(figsize=(max(5, len(names) * 0.7), 3.4))
    ax.bar(x - (width / 2 if second else 0), means, width, yerr=errors, capsize=3, label=ylabel, color="tab:blue")
    if second:
        ax.bar(x + width / 2, second[1], width, label=second[0], color="tab:orange")
        ax.legend(fontsize=8)
    ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title(heading, synthetic), fontsize=10)
    return fig


def interval_plot(summaries, heading: str, synthetic: bool, chance: float | None = None,
                  xlabel: str = "accuracy"):
    """Mean and 95% interval per variant (``analysis.VariantSummary``), best at the top; a run
    that did not converge is drawn hollow and labelled, so it cannot be read as ranked."""
    fig, ax = plt.subplots(figsize=(6.5, 0.45 * len(summaries) + 1.4))
    for i, s in enumerate(reversed(summaries)):
        ci = s.interval
        converged = s.status == Status.PLATEAU
        err = None if ci["low"] is None else [[ci["mean"] - ci["low"]], [ci["high"] - ci["mean"]]]
        ax.errorbar(ci["mean"], i, xerr=err, fmt="o", capsize=3, color="tab:blue" if converged else "tab:gray",
                    markerfacecolor="tab:blue" if converged else "white")
    labels = [s.variant + ("" if s.status == Status.PLATEAU else f" ({s.status.replace('_', ' ')})")
              for s in reversed(summaries)]
    ax.set_yticks(range(len(summaries)), labels, fontsize=8)
    if chance is not None:
        ax.axvline(chance, color="tab:red", ls=":", lw=1, label="chance")
        ax.legend(fontsize=7, loc="lower right")
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"{xlabel} (mean and 95% interval over seeds)")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title(heading, synthetic), fontsize=10)
    return fig


def scale_curve(points: dict[str, list[tuple[int, dict]]], field: Sequence[dict], heading: str, synthetic: bool):
    """Test accuracy (mean and 95% interval over seeds) against training images per class (log scale), one line per
    recipe; published accuracies marked at their training size (``field``: label, per_class, accuracy)."""
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for name, pts in points.items():
        sizes = [n for n, _ in pts]
        means = [ci["mean"] for _, ci in pts]
        err = [[ci["mean"] - (ci["low"] if ci["low"] is not None else ci["mean"]) for _, ci in pts],
               [(ci["high"] if ci["high"] is not None else ci["mean"]) - ci["mean"] for _, ci in pts]]
        ax.errorbar(sizes, means, yerr=err, fmt="o-", capsize=3, label=name)
    markers = iter("s^vD")
    for ref in field:
        ax.plot(ref["per_class"], ref["accuracy"], next(markers, "x"), color="black", ms=6, mfc="none",
                label=ref["label"])
    ax.set_xscale("log")
    ticks = sorted({n for pts in points.values() for n, _ in pts} | {ref["per_class"] for ref in field})
    crowded = any(b / a < 1.6 for a, b in zip(ticks, ticks[1:]))  # e.g. 400 and 527: labels would touch
    ax.set_xticks(ticks, [f"{n:,}" for n in ticks], **({"rotation": 45, "fontsize": 8} if crowded else {}))
    ax.xaxis.set_minor_locator(plt.NullLocator())
    ax.set_xlabel("training images per class (log scale)")
    ax.set_ylabel("test accuracy")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=6.5, loc="lower right")
    ax.set_title(title(heading, synthetic), fontsize=10)
    return fig


def blur_curves(kernels: Sequence[int], accuracy: dict[str, Sequence[float]], heading: str, synthetic: bool):
    """Test accuracy against blur kernel size (0 = clean), one line per trained model."""
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for name, acc in accuracy.items():
        ax.plot(kernels, acc, "o-", label=name)
    ax.set_xlabel("box-blur kernel of the test images (0 = clean)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, title="trained on", title_fontsize=7)
    ax.set_title(title(heading, synthetic), fontsize=10)
    return fig


def matrix_heatmap(matrix, row_names, col_names, heading: str, synthetic: bool, fmt: str = "{:.2f}"):
    """A small annotated table heatmap (e.g. train blur x test blur accuracy)."""
    matrix = np.asarray(matrix, dtype=float)
    fig, ax = plt.subplots(figsize=(1.1 * len(col_names) + 2, 0.6 * len(row_names) + 1.5))
    ax.imshow(matrix, cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(len(col_names)), col_names, fontsize=8)
    ax.set_yticks(range(len(row_names)), row_names, fontsize=8)
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            ax.text(j, i, fmt.format(matrix[i, j]), ha="center", va="center",
                    color="white" if matrix[i, j] < 0.6 else "black", fontsize=8)
    ax.set_title(title(heading, synthetic), fontsize=10)
    return fig


def image_gallery(images: np.ndarray, captions: Sequence[str], heading: str, synthetic: bool, cols: int = 8):
    """Images with captions (misclassified examples, confused pairs)."""
    rows = max(1, -(-len(images) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.2, rows * 1.45))
    for ax in np.atleast_1d(axes).ravel():
        ax.axis("off")
    for ax, img, cap in zip(np.atleast_1d(axes).ravel(), images, captions):
        ax.imshow(img, cmap="gray_r")
        ax.set_title(cap, fontsize=7)
    fig.suptitle(title(heading, synthetic), fontsize=10)
    return fig


def top_predictions_plot(images: np.ndarray, true_names: Sequence[str], tops, heading: str, synthetic: bool):
    """Each image beside a bar chart of its top-N class probabilities."""
    n = len(images)
    fig, axes = plt.subplots(n, 2, figsize=(5.5, 1.35 * n), gridspec_kw={"width_ratios": [1, 2.4]})
    axes = np.atleast_2d(axes)
    for (ax_img, ax_bar), img, true, top in zip(axes, images, true_names, tops):
        ax_img.imshow(img, cmap="gray_r")
        ax_img.axis("off")
        ax_img.set_title(f"true: {true}", fontsize=7)
        names = [t[0] for t in top][::-1]
        probs = [t[1] for t in top][::-1]
        ax_bar.barh(range(len(top)), probs, color=["tab:green" if nm == true else "tab:gray" for nm in names])
        ax_bar.set_yticks(range(len(top)), names, fontsize=7)
        ax_bar.set_xlim(0, 1)
        ax_bar.tick_params(axis="x", labelsize=6)
    fig.suptitle(title(heading, synthetic), fontsize=10)
    fig.tight_layout()
    return fig


def real_vs_synthetic(rows: Sequence[tuple[str, np.ndarray, np.ndarray]], heading: str, per_class: int = 6):
    """One row per class: ``per_class`` synthetic images, a grey bar, then ``per_class`` real ones."""
    fig, axes = plt.subplots(len(rows), 1, figsize=(per_class * 0.9, len(rows) * 0.48), squeeze=False)
    for ax, (name, syn, real) in zip(axes[:, 0], rows):
        blank = np.zeros((28, 28), np.uint8)
        tiles = [*syn[:per_class], *[blank] * (per_class - len(syn[:per_class])), np.full((28, 6), 128, np.uint8),
                 *real[:per_class], *[blank] * (per_class - len(real[:per_class]))]
        ax.imshow(np.hstack(tiles), cmap="gray", vmin=0, vmax=255)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    axes[0, 0].set_title(f"{heading}\nsynthetic (left) | real (right)", fontsize=9)
    fig.tight_layout()
    return fig


def search_history(rows: Sequence[dict], heading: str, synthetic: bool):
    """Each finished trial's validation accuracy (pruned ones marked) and the best so far."""
    fig, ax = plt.subplots(figsize=(6, 3.2))
    done = [r for r in rows if r["state"] == "COMPLETE"]
    pruned = [r for r in rows if r["state"] == "PRUNED"]
    ax.scatter([r["number"] for r in done], [r["value"] for r in done], s=18, label="complete")
    if pruned:
        ax.scatter([r["number"] for r in pruned], [0.0] * len(pruned), marker="x", color="grey", s=18,
                   label="pruned (stopped early)")
    ax.step([r["number"] for r in rows], [r["best"] if r["best"] is not None else np.nan for r in rows],
            where="post", color="C1", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel("validation accuracy")
    ax.set_title(title(heading, synthetic), fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def expected_max_curve(curve: dict, heading: str, synthetic: bool):
    """Expected best validation accuracy against the number of trials, with +-1 sd (Dodge et al. 2019)."""
    fig, ax = plt.subplots(figsize=(6, 3.2))
    n, mean, sd = (np.asarray(curve[k], float) for k in ("n", "mean", "sd"))
    ax.plot(n, mean, color="C0")
    ax.fill_between(n, mean - sd, mean + sd, alpha=0.25, color="C0")
    ax.set_xlabel("number of trials")
    ax.set_ylabel("expected best validation accuracy")
    ax.set_title(title(heading, synthetic), fontsize=9)
    fig.tight_layout()
    return fig
