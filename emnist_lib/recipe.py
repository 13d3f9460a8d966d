"""What a run trains: a :class:`Recipe` (the model, its settings, how it is trained, where it came from).

Every chapter, the seed loop (:func:`emnist_lib.study.run_recipes`), cross-validation, the search's best
trial and the final evaluation pass recipes; a record stores one as its ``config`` (:meth:`Recipe.config`)
and reads it back (:meth:`Recipe.from_config`, :attr:`emnist_lib.results.Record.recipe`). Nothing else
builds or reads a recipe's dictionary form. Pure Python: the report and the analysis import it without
loading a framework.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace

OPTIMIZERS = ("sgd", "sgd_momentum", "rmsprop", "adam", "adamw")
SCHEDULES = ("constant", "step", "cosine", "plateau")
# Training settings added after the first records were written: a config leaves one out while it holds its default
# (:meth:`TrainConfig.to_dict`), so older records and cached models keep their configs and keys.
LATER_FIELDS = ("augment_rotation", "augment_translation", "augment_zoom", "label_smoothing")
AUGMENT_STRENGTHS = ("augment_rotation", "augment_translation", "augment_zoom")


@dataclass(frozen=True)
class TrainConfig:
    """How to train: optimizer, schedule, epochs, batch, regularising callbacks, seed.

    ``epochs`` x the training images is the run's budget (images seen); ``batch_size``
    turns it into optimizer steps. ``batch_size=None`` means automatic
    (:func:`emnist_lib.training.auto_batch_size`): 512 on a GPU (with mixed precision); on a CPU 32 for
    models with convolutions and 256 for dense-only ones.
    ``schedule``: cosine (the default: optional ``warmup_epochs`` of linear warm-up, then a
    cosine decay that reaches zero at the last step of the budget, so every run ends trained
    for its budget rather than cut off mid-descent), constant, step (x``step_factor`` every
    ``step_epochs``) or plateau (reduce-on-plateau).
    ``early_stopping`` is a patience in epochs (0 = off); the best weights are restored.
    ``validation_fraction`` of the training images is held out, stratified, drawn with ``validation_seed``: the
    same split for every seed of a comparison by default (0), so their validation scores are paired on the same
    images and the plateau test has all of them; None draws it with the run's ``seed`` (a split per seed).
    ``augment`` turns on random rotation, shift and zoom of the training images (no flips), at strengths
    ``augment_rotation`` (a fraction of a full turn), ``augment_translation`` and ``augment_zoom`` (fractions of
    the image); ``label_smoothing`` mixes that share of a uniform distribution into the one-hot targets.

    Fields added after records were first written (:data:`LATER_FIELDS`) are left out of :meth:`to_dict` while
    they hold their default, so a record or cached model from before they existed keeps its config and key; the
    augmentation strengths are left out too while ``augment`` is off, where they change nothing.
    For letters (27 outputs, label 0 unused) label smoothing spreads its share over all 27 outputs.
    """

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 1e-4
    schedule: str = "cosine"
    step_epochs: int = 3
    step_factor: float = 0.5
    warmup_epochs: int = 0
    epochs: int = 5
    batch_size: int | None = None
    validation_fraction: float = 0.1
    validation_seed: int | None = 0
    early_stopping: int = 0
    augment: bool = False
    seed: int = 0
    augment_rotation: float = 0.05
    augment_translation: float = 0.1
    augment_zoom: float = 0.1
    label_smoothing: float = 0.0

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}")
        if self.epochs < 1 or self.learning_rate <= 0:
            raise ValueError(f"epochs must be >= 1 and learning_rate > 0 (got {self.epochs}, {self.learning_rate})")
        if not 0 <= self.warmup_epochs < self.epochs:
            raise ValueError(f"warmup_epochs must be in 0..epochs-1 (got {self.warmup_epochs} of {self.epochs})")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must be in [0, 1) (got {self.label_smoothing})")
        for name in AUGMENT_STRENGTHS:
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0, 1) (got {getattr(self, name)})")

    def to_dict(self) -> dict:
        """The config as a record stores it: every field, except a :data:`LATER_FIELDS` one at its default and the
        augmentation strengths without augmentation."""
        defaults = {f.name: f.default for f in fields(self)}
        return {k: v for k, v in asdict(self).items()
                if not (k in LATER_FIELDS and v == defaults[k]) and not (k in AUGMENT_STRENGTHS and not self.augment)}

    @classmethod
    def from_dict(cls, values: Mapping, base: TrainConfig | None = None) -> TrainConfig:
        """A config from its recorded fields over ``base`` (the defaults); an unknown field is a clear error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown training setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return replace(base or cls(), **dict(values))


def _frozen(kwargs: Mapping | None) -> dict:
    """Model settings as plain JSON values (tuples as lists), as records store them."""
    return json.loads(json.dumps(dict(kwargs or {}), sort_keys=True))


@dataclass(frozen=True)
class Change:
    """One change from a reference recipe (an ablation, a sweep's variant): model settings and/or training
    settings that replace the reference's, and optionally another model builder."""

    model_settings: Mapping = field(default_factory=dict)
    train: Mapping = field(default_factory=dict)
    model: str | None = None


@dataclass(frozen=True, eq=False)
class Recipe:
    """A training recipe: ``model`` (a registered builder name), its ``model_settings``, ``train`` (a
    :class:`TrainConfig`; its seed is set per run by the seed loop), a short ``name`` (the variant a record
    names) and ``origin`` (where it came from: a chapter's selection, a search trial). ``condition`` holds what
    else defines the run beside model and training (``{"train_blur": 5}``, ``{"method": "frozen"}``); it is
    recorded beside them. ``train=None``: a model applied without training.

    Two recipes are equal when they train the same thing (``name`` and ``origin`` aside): :attr:`digest`."""

    name: str
    model: str | None
    model_settings: Mapping = field(default_factory=dict)
    train: TrainConfig | None = field(default_factory=TrainConfig)
    origin: str = ""
    condition: Mapping = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "model_settings", _frozen(self.model_settings))
        object.__setattr__(self, "condition", _frozen(self.condition))

    # ------------------------------------------------------------------ serialisation
    def config(self, seed: int | None = None) -> dict:
        """The record's ``config``: model, model settings, the run's ``condition`` and the training config with
        ``seed`` (the recipe's own seed when None)."""
        out: dict = {}
        if self.model is not None:
            out["model"] = self.model
        out["model_kwargs"] = dict(self.model_settings)  # the record's name for them
        out.update(self.condition)
        if self.train is not None:
            out["train"] = (self.train if seed is None else replace(self.train, seed=seed)).to_dict()
        return out

    @classmethod
    def from_config(cls, config: Mapping, name: str = "", origin: str = "", base: TrainConfig | None = None,
                    condition_keys: tuple[str, ...] = ()) -> Recipe:
        """The recipe a record's ``config`` describes (the inverse of :meth:`config`); a ``train`` that names
        only some fields (a search trial's) is taken over ``base``."""
        train = config.get("train")
        return cls(name=name, model=config.get("model"), model_settings=config.get("model_kwargs") or {},
                   train=TrainConfig.from_dict(train, base) if train is not None else None, origin=origin,
                   condition={k: config[k] for k in condition_keys if k in config})

    # ------------------------------------------------------------------ identity
    @property
    def digest(self) -> str:
        """A content hash of what the recipe trains (model, settings, training without its seed)."""
        blob = json.dumps(self.config(seed=0), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def __eq__(self, other) -> bool:
        return isinstance(other, Recipe) and self.digest == other.digest

    def __hash__(self) -> int:
        return hash(self.digest)

    def __str__(self) -> str:
        return f"{self.name} ({self.model} {dict(self.model_settings)}, {self.digest})"

    # ------------------------------------------------------------------ derived recipes
    def run_config(self, seed: int) -> TrainConfig:
        """The training config of this recipe's run with ``seed``."""
        if self.train is None:
            raise ValueError(f"recipe {self.name!r} trains nothing (a model applied without training)")
        return replace(self.train, seed=seed)

    def changed(self, name: str, change: Change | None = None, origin: str | None = None) -> Recipe:
        """This recipe with ``change`` applied, named ``name``."""
        change = change or Change()
        train = TrainConfig.from_dict(change.train, self.train) if change.train else self.train
        return replace(self, name=name, model=change.model or self.model,
                       model_settings={**self.model_settings, **change.model_settings}, train=train,
                       origin=self.origin if origin is None else origin)

    def with_train(self, **changes) -> Recipe:
        """This recipe with some training settings replaced."""
        return replace(self, train=replace(self.train, **changes))

    def longer(self, factor: int) -> Recipe:
        """The same recipe at ``factor`` times its epochs (the same schedule shape, stretched): a budget check."""
        return self if self.train is None else self.with_train(epochs=factor * self.train.epochs)
