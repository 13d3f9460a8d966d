"""Convergence verdicts of training runs: pure Python, shared by training and the analysis.

Three verdicts, from the right noise:

* **converged** -- a plateau shown, not assumed: over the second half of the run (the model at the end
  against the model at half of its epochs, on the same validation images) the gain in accuracy is below
  :data:`PLATEAU_MARGIN` with 95% confidence (the one-sided upper bound of the paired difference of two
  proportions; McNemar's variance, from the images right at one epoch and wrong at the other). A run that
  is still learning fails it, and so does one whose validation set is too small to show a plateau: not
  failing to detect a gain, but bounding it. The reference is mid-run, where a cosine schedule is still at
  half its peak rate, so the learning-rate tail cannot hide a run that is still learning. A run ended by
  early stopping is judged the same way on the epochs it ran.
* **budget-limited** -- not shown to have stopped improving when its budget ended (or a single epoch:
  nothing to judge).
  Such runs may be compared, worded "at this budget".
* **did not train** -- its best accuracy stayed within :data:`CHANCE_MARGIN` of chance.

Without per-image correctness (a run recorded without it) the bound falls back on two independent
proportions on the validation images (wider than the paired one, so it calls fewer runs converged); the
verdict says which it used.

No TensorFlow here: the report and the analysis import it without loading a framework.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum

import numpy as np

# A run "did not train" when its best accuracy stays within this of chance.
CHANCE_MARGIN = 0.05
CONVERGENCE_ALPHA = 0.05
# Converged: the second half of the run gained less than this, with 95% confidence.
PLATEAU_MARGIN = 0.01


class Status(StrEnum):
    """A run's convergence verdict (module doc); ``NOT_TRAINED``: a model applied without training. A
    ``str`` enum: records store its value and compare equal to it."""

    CONVERGED = "converged"
    BUDGET_LIMITED = "budget_limited"
    DID_NOT_TRAIN = "did_not_train"
    NOT_TRAINED = "not_trained"



# Verdicts from best to worst: a group of runs is as good as its worst run.
STATUS_ORDER = (Status.CONVERGED, Status.BUDGET_LIMITED, Status.DID_NOT_TRAIN)
CONVERGENCE_CRITERION = (f"converged: from half of its epochs to the end the run gained less than "
                         f"{100 * PLATEAU_MARGIN:g} point in validation accuracy, with {100 * (1 - CONVERGENCE_ALPHA):g}% "
                         "confidence (one-sided upper bound of the paired difference on the same validation images; "
                         "early-stopped runs judged on the epochs they ran); budget-limited: not shown to have "
                         "stopped improving when its budget ended; did not train: best accuracy "
                         f"within {100 * CHANCE_MARGIN:.0f} points of chance")


@dataclass(frozen=True)
class Convergence:
    """A run's convergence verdict (:func:`convergence`); a record stores it as a mapping (:meth:`to_dict`) and
    reads it back (:meth:`from_dict`). Fields a verdict does not have are None and not recorded (a run that did
    not train has no gain bound; a model applied without training has only its status and reason)."""

    status: Status
    reason: str = ""
    criterion: str = ""
    metric: str | None = None
    best: float | None = None
    chance: float | None = None
    early_stopped: bool | None = None
    epochs_run: int | None = None
    reference_epoch: int | None = None
    gain: float | None = None
    improved: int | None = None
    worsened: int | None = None
    upper: float | None = None  # one-sided 95% upper bound of the gain over the second half
    p_value: float | None = None  # records written before the plateau bound (a McNemar p-value)
    method: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "status", Status(self.status))

    @classmethod
    def from_dict(cls, values: Mapping) -> Convergence:
        """A verdict from its recorded mapping; unknown or missing fields raise ``TypeError``."""
        return cls(**values)

    def to_dict(self) -> dict:
        """The recorded mapping: every field that is set; a gain test's counts also when it had none (the
        unpaired fallback)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None or (f.name in ("improved", "worsened") and self.method is not None):
                out[f.name] = value.value if isinstance(value, Status) else value
        return out

    @classmethod
    def not_trained(cls, reason: str, criterion: str) -> Convergence:
        """The verdict of a model applied without training."""
        return cls(Status.NOT_TRAINED, reason=reason, criterion=criterion)


def _paired_gain(reference: np.ndarray, last: np.ndarray) -> dict:
    """The gain from ``reference`` to ``last`` (per-image correctness on the same images) and the one-sided
    upper confidence bound of it: the difference of paired proportions with McNemar's variance."""
    from scipy.stats import norm

    n = reference.size
    improved, worsened = int(np.sum(last & ~reference)), int(np.sum(~last & reference))
    gain = (improved - worsened) / n
    se = math.sqrt(max(improved + worsened - (improved - worsened) ** 2 / n, 0.0)) / n
    return {"improved": improved, "worsened": worsened, "upper": float(gain + norm.ppf(1 - CONVERGENCE_ALPHA) * se),
            "method": f"one-sided {100 * (1 - CONVERGENCE_ALPHA):g}% upper bound of the paired gain on {n} "
                      "validation images"}


def _unpaired_gain(ref_acc: float, last_acc: float, n: int) -> dict:
    from scipy.stats import norm

    se = math.sqrt(max(ref_acc * (1 - ref_acc) + last_acc * (1 - last_acc), 1e-12) / n)
    return {"improved": None, "worsened": None,
            "upper": float(last_acc - ref_acc + norm.ppf(1 - CONVERGENCE_ALPHA) * se),
            "method": f"one-sided {100 * (1 - CONVERGENCE_ALPHA):g}% upper bound of the gain, two independent "
                      f"proportions on {n} images (no per-image record)"}


def convergence(history: dict, chance: float, epochs_planned: int | None = None, n_val: int | None = None,
                correct: Sequence[np.ndarray] | None = None) -> Convergence:
    """The convergence verdict of one run from its per-epoch history (module doc; :func:`_verdict`)."""
    return Convergence.from_dict(_verdict(history, chance, epochs_planned, n_val, correct))


def _verdict(history: dict, chance: float, epochs_planned: int | None, n_val: int | None,
             correct: Sequence[np.ndarray] | None) -> dict:
    """The convergence verdict of one run from its per-epoch history (module doc).

    ``correct[e]`` says which validation images epoch ``e``'s model got right (what the paired test needs);
    ``n_val`` is the number of images the accuracy is measured on (the training images when there is no validation
    split) for the fallback test; with neither, no plateau is claimed. Returns ``{"status": "converged" |
    "budget_limited" | "did_not_train", "reason", "criterion", "metric", "best", "chance", "early_stopped",
    "epochs_run", "reference_epoch", "gain", "improved", "worsened", "upper", "method"}``."""
    metric = "val_accuracy" if history.get("val_accuracy") else "accuracy"
    acc = [float(a) for a in history.get(metric, [])]
    if not acc:
        raise ValueError("convergence needs a history with 'val_accuracy' or 'accuracy'")
    ran = len(acc)
    early = epochs_planned is not None and ran < epochs_planned
    best = max(acc)
    ref = max(0, math.ceil(ran / 2) - 1)  # the epoch at half of those run (0-based)
    out = {"metric": metric, "best": best, "chance": chance, "early_stopped": early, "epochs_run": ran,
           "reference_epoch": ref + 1, "gain": acc[-1] - acc[ref], "criterion": CONVERGENCE_CRITERION}
    if best < chance + CHANCE_MARGIN:
        return {**out, "status": "did_not_train",
                "reason": f"best {metric} {100 * best:.1f}% is within {100 * CHANCE_MARGIN:.0f} points of chance "
                          f"({100 * chance:.1f}%)"}
    if ran < 2:
        return {**out, "status": "budget_limited", "reason": "one epoch: nothing to compare it with"}
    if correct is not None and len(correct) == ran and metric == "val_accuracy":
        test = _paired_gain(np.asarray(correct[ref], bool), np.asarray(correct[-1], bool))
    elif n_val:
        test = _unpaired_gain(acc[ref], acc[-1], int(n_val))
    else:
        return {**out, "status": "budget_limited",
                "reason": "neither per-image correctness nor an image count: the gain cannot be bounded"}
    out.update(test)
    still = test["upper"] >= PLATEAU_MARGIN
    how = (f"epoch {ran} vs epoch {ref + 1}: {100 * (acc[-1] - acc[ref]):+.1f} points, 95% upper bound "
           f"{100 * test['upper']:+.1f}")
    if early:
        how += f"; early stopping ended it after {ran} of {epochs_planned} epochs"
    return {**out, "status": "budget_limited" if still else "converged",
            "reason": ("not shown to plateau: " if still else "plateau: ") + how}


def worst_status(statuses: Iterable[str]) -> str:
    """One verdict for several runs: converged only if all converged, did not train if any did not."""
    return max(statuses, key=STATUS_ORDER.index)


def worst_verdict(verdicts: Iterable[Convergence]) -> Convergence:
    """The worst of several runs' convergence verdicts (e.g. the folds of one candidate)."""
    return max(verdicts, key=lambda v: STATUS_ORDER.index(v.status))
