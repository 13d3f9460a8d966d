"""Plateau verdicts of training runs: pure Python, shared by training and the analysis.

Did a run stop improving before its budget ended? The test compares the model at the end with the model at half
of its epochs on the same validation images: the gain over the second half, with a two-sided 90% interval (two
one-sided 95% bounds) from the adjusted Wald interval for paired proportions (Bonett and Price 2012: one image
added to each discordant cell, so a run with no or few changed images still gets a bound of the right width, never
a zero standard error). Three honest states and two more:

* **plateau** -- shown: the upper bound of the second half's gain is below :data:`PLATEAU_MARGIN` (1 point).
* **still improving** -- shown: the lower bound is above zero (and the gain may be 1 point or more).
* **undetermined** -- neither: the validation set is too small, or the run too noisy, to tell (or one epoch).
* **did not train** -- its best accuracy stayed within :data:`CHANCE_MARGIN` of chance; never compared.
* **not trained** -- a model applied without training on this data.

The reference is mid-run, where a cosine schedule is still at half its peak rate, so the learning-rate tail cannot
hide a run that is still learning. A run ended by early stopping is judged the same way on the epochs it ran. The
verdict describes a run; it never gates a selection or a comparison. Whether the test can tell at a given
validation size is a property of that size and of how many images change between the two epochs
(:func:`plateau_power`); the property tests check it at the study's sizes.

Without per-image correctness (a run recorded without it) the bounds fall back on two independent proportions
(Agresti-Caffo), wider than the paired ones; the verdict says which it used.

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
# A plateau: the second half of the run gained less than this, with 95% confidence.
PLATEAU_MARGIN = 0.01


class Status(StrEnum):
    """A run's plateau verdict (module doc); ``NOT_TRAINED``: a model applied without training. A ``str`` enum:
    records store its value and compare equal to it. Records written before this verdict ("converged",
    "budget_limited") read back as ``PLATEAU`` and ``UNDETERMINED``."""

    PLATEAU = "plateau"
    UNDETERMINED = "undetermined"
    IMPROVING = "still_improving"
    DID_NOT_TRAIN = "did_not_train"
    NOT_TRAINED = "not_trained"

    @classmethod
    def _missing_(cls, value):
        return {"converged": cls.PLATEAU, "budget_limited": cls.UNDETERMINED}.get(value)


# Verdicts from best to worst: a group of runs is as good as its worst run.
STATUS_ORDER = (Status.PLATEAU, Status.UNDETERMINED, Status.IMPROVING, Status.DID_NOT_TRAIN)
CONVERGENCE_CRITERION = (f"plateau: from half of its epochs to the end the run gained less than "
                         f"{100 * PLATEAU_MARGIN:g} point in validation accuracy, with {100 * (1 - CONVERGENCE_ALPHA):g}% "
                         "confidence (adjusted Wald bound for paired proportions, Bonett and Price 2012, on the same "
                         "validation images; early-stopped runs judged on the epochs they ran); still improving: "
                         f"the gain's {100 * (1 - CONVERGENCE_ALPHA):g}% lower bound is above zero; undetermined: "
                         "neither; did not train: best accuracy "
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
    lower: float | None = None  # one-sided 95% lower bound
    n_images: int | None = None  # the validation images the gain is measured on
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


def paired_gain_bounds(improved: int, worsened: int, n: int) -> tuple[float, float, float]:
    """``(gain, lower, upper)``: the gain from one model to another on the same ``n`` images, of which ``improved``
    went from wrong to right and ``worsened`` from right to wrong, with its one-sided 95% bounds: the adjusted Wald
    interval for paired proportions (Bonett and Price 2012), which adds one image to each discordant cell."""
    from scipy.stats import norm

    if n <= 0 or improved < 0 or worsened < 0 or improved + worsened > n:
        raise ValueError(f"paired gain needs 0 <= improved + worsened <= n, got {improved}, {worsened} of {n}")
    p12, p21 = (improved + 1) / (n + 2), (worsened + 1) / (n + 2)
    centre = p12 - p21
    se = math.sqrt(max(p12 + p21 - centre ** 2, 0.0) / (n + 2))
    z = float(norm.ppf(1 - CONVERGENCE_ALPHA))
    return (improved - worsened) / n, centre - z * se, centre + z * se


def _paired_gain(reference: np.ndarray, last: np.ndarray) -> dict:
    n = reference.size
    improved, worsened = int(np.sum(last & ~reference)), int(np.sum(~last & reference))
    _, lower, upper = paired_gain_bounds(improved, worsened, n)
    return {"improved": improved, "worsened": worsened, "lower": float(lower), "upper": float(upper), "n_images": n,
            "method": f"one-sided {100 * (1 - CONVERGENCE_ALPHA):g}% bounds of the paired gain (adjusted Wald, "
                      f"Bonett-Price) on {n:,} validation images"}


def _unpaired_gain(ref_acc: float, last_acc: float, n: int) -> dict:
    from statsmodels.stats.proportion import confint_proportions_2indep

    low, high = confint_proportions_2indep(round(last_acc * n), n, round(ref_acc * n), n, method="agresti-caffo",
                                           alpha=2 * CONVERGENCE_ALPHA)
    return {"improved": None, "worsened": None, "lower": float(low), "upper": float(high), "n_images": n,
            "method": f"one-sided {100 * (1 - CONVERGENCE_ALPHA):g}% bounds of the gain, two independent "
                      f"proportions (Agresti-Caffo) on {n:,} images (no per-image record)"}


def plateau_power(n: int, changed: float, gain: float = 0.0, runs: int = 4000, seed: int = 0) -> float:
    """How often the plateau test calls a run with true second-half ``gain`` a plateau, on ``n`` validation images
    of which a share ``changed`` differ between the two epochs (Monte Carlo over the multinomial of improved,
    worsened and unchanged images, ``runs`` draws)."""
    if not 0 <= changed <= 1 or abs(gain) > changed:
        raise ValueError(f"need 0 <= |gain| <= changed <= 1, got gain {gain}, changed {changed}")
    from scipy.stats import norm

    rng = np.random.default_rng(seed)
    p_up, p_down = (changed + gain) / 2, (changed - gain) / 2
    up, down, _ = rng.multinomial(n, [p_up, p_down, 1 - p_up - p_down], size=runs).T
    p12, p21 = (up + 1) / (n + 2), (down + 1) / (n + 2)  # paired_gain_bounds, for all draws at once
    upper = p12 - p21 + norm.ppf(1 - CONVERGENCE_ALPHA) * np.sqrt(np.maximum(p12 + p21 - (p12 - p21) ** 2, 0) / (n + 2))
    return float(np.mean(upper < PLATEAU_MARGIN))


def convergence(history: dict, chance: float, epochs_planned: int | None = None, n_val: int | None = None,
                correct: Sequence[np.ndarray] | None = None) -> Convergence:
    """The convergence verdict of one run from its per-epoch history (module doc; :func:`_verdict`)."""
    return Convergence.from_dict(_verdict(history, chance, epochs_planned, n_val, correct))


def _verdict(history: dict, chance: float, epochs_planned: int | None, n_val: int | None,
             correct: Sequence[np.ndarray] | None) -> dict:
    """The convergence verdict of one run from its per-epoch history (module doc).

    ``correct[e]`` says which validation images epoch ``e``'s model got right (what the paired test needs);
    ``n_val`` is the number of images the accuracy is measured on (the training images when there is no validation
    split) for the fallback test; with neither, no plateau is claimed. Returns ``{"status": "plateau" | "still_improving" |
    "undetermined" | "did_not_train", "reason", "criterion", "metric", "best", "chance", "early_stopped",
    "epochs_run", "reference_epoch", "gain", "improved", "worsened", "lower", "upper", "n_images", "method"}``."""
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
        return {**out, "status": "undetermined", "reason": "one epoch: nothing to compare it with"}
    if correct is not None and len(correct) == ran and metric == "val_accuracy":
        test = _paired_gain(np.asarray(correct[ref], bool), np.asarray(correct[-1], bool))
    elif n_val:
        test = _unpaired_gain(acc[ref], acc[-1], int(n_val))
    else:
        return {**out, "status": "undetermined",
                "reason": "neither per-image correctness nor an image count: the gain cannot be bounded"}
    out.update(test)
    how = (f"epoch {ran} vs epoch {ref + 1}: {100 * (acc[-1] - acc[ref]):+.1f} points, 90% interval "
           f"[{100 * test['lower']:+.1f}, {100 * test['upper']:+.1f}]")
    if early:
        how += f"; early stopping ended it after {ran} of {epochs_planned} epochs"
    if test["upper"] < PLATEAU_MARGIN:
        return {**out, "status": "plateau", "reason": "plateau: " + how}
    if test["lower"] > 0:
        return {**out, "status": "still_improving", "reason": "still improving: " + how}
    return {**out, "status": "undetermined", "reason": "plateau undetermined: " + how}


def worst_status(statuses: Iterable[str]) -> str:
    """One verdict for several runs: a plateau only if all show one, did not train if any did not."""
    return max(statuses, key=STATUS_ORDER.index)


def worst_verdict(verdicts: Iterable[Convergence]) -> Convergence:
    """The worst of several runs' convergence verdicts (e.g. the folds of one candidate)."""
    return max(verdicts, key=lambda v: STATUS_ORDER.index(v.status))
