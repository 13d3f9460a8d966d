"""Convergence verdicts of training runs: pure Python, shared by training and the analysis.

A run converged when its validation accuracy gained less than :data:`CONVERGENCE_GAIN`, or two
standard errors of that accuracy on the validation images if that is more (a smaller gain cannot
be told from noise), over the last quarter of its epochs (best of the last quarter minus best
before it), or when early stopping ended it; it did not train when its best accuracy stayed
within :data:`CHANCE_MARGIN` of chance (1 / number of classes in the training labels).

No TensorFlow here: the report and the analysis import it without loading a framework.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

# A run "did not train" when its best accuracy stays within this of chance.
CHANCE_MARGIN = 0.05
CONVERGENCE_GAIN = 0.01
# Verdicts from best to worst: a group of runs is as good as its worst run.
STATUS_ORDER = ("converged", "still_improving", "did_not_train")
CONVERGENCE_CRITERION = (f"converged: validation accuracy gained less than {100 * CONVERGENCE_GAIN:.0f} point, or "
                         "two standard errors of that accuracy on the validation images if more, over the last "
                         "quarter of the epochs (best of the last quarter minus best before it), or early stopping "
                         f"ended the run; did not train: best accuracy within {100 * CHANCE_MARGIN:.0f} points of "
                         "chance")


def convergence(history: dict, chance: float, epochs_planned: int | None = None, n_val: int | None = None) -> dict:
    """The convergence verdict of one run from its per-epoch history.

    ``n_val`` (validation images) sets the noise floor of the gain threshold. Returns
    ``{"status": "converged" | "still_improving" | "did_not_train", "reason", "criterion",
    "gain_last_quarter", "threshold", "best", "chance", "early_stopped"}``; a run of a single
    epoch has no last quarter to judge and counts as still improving.
    """
    metric = "val_accuracy" if history.get("val_accuracy") else "accuracy"
    acc = [float(a) for a in history.get(metric, [])]
    if not acc:
        raise ValueError("convergence needs a history with 'val_accuracy' or 'accuracy'")
    ran = len(acc)
    early = epochs_planned is not None and ran < epochs_planned
    best = max(acc)
    q = max(1, round(ran / 4))
    gain = max(acc[-q:]) - max(acc[:-q]) if ran > q else None
    noise = 2 * math.sqrt(best * (1 - best) / n_val) if n_val and metric == "val_accuracy" else 0.0
    threshold = max(CONVERGENCE_GAIN, noise)
    out = {"metric": metric, "best": best, "chance": chance, "early_stopped": early, "epochs_run": ran,
           "gain_last_quarter": gain, "threshold": threshold, "criterion": CONVERGENCE_CRITERION}
    if best < chance + CHANCE_MARGIN:
        return {**out, "status": "did_not_train",
                "reason": f"best {metric} {100 * best:.1f}% is within {100 * CHANCE_MARGIN:.0f} points of chance "
                          f"({100 * chance:.1f}%)"}
    if early:
        return {**out, "status": "converged", "reason": f"early stopping ended it after {ran} of {epochs_planned} epochs"}
    if gain is None:
        return {**out, "status": "still_improving", "reason": "one epoch: no last quarter to judge"}
    verdict = "converged" if gain < threshold else "still_improving"
    return {**out, "status": verdict,
            "reason": f"{metric} gained {100 * gain:+.1f} points over the last {q} of {ran} epochs "
                      f"(threshold {100 * threshold:.1f})"}


def worst_status(statuses: Iterable[str]) -> str:
    """One verdict for several runs: converged only if all converged, did not train if any did not."""
    return max(statuses, key=STATUS_ORDER.index)


def worst_verdict(verdicts: Iterable[dict]) -> dict:
    """The worst of several runs' convergence verdicts (e.g. the folds of one candidate)."""
    return max(verdicts, key=lambda v: STATUS_ORDER.index(v["status"]))
