"""Training: one ``train(...)`` for every model, deterministic, cached, with records.

The input pipeline is ``tf.data``: cached in memory, shuffled with a seed,
repeated (with ``steps_per_epoch``; a fixed prefetch depth rather than
AUTOTUNE, which stalled for seconds at epoch boundaries on 2-core CPUs),
batched, optionally augmented with Keras preprocessing layers. Labels stay
integer (sparse cross-entropy): no one-hot copy of the data set.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import random
import shutil
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from . import config, models
from .convergence import Convergence, convergence, worst_verdict
from .fileio import publish_folder
from .recipe import OPTIMIZERS, SCHEDULES, Recipe, TrainConfig  # noqa: F401 - TrainConfig's public home stays here
from .results import Budget, pack_correct, unpack_correct


@dataclass
class TrainResult:
    """What :func:`train` returns: the model (best weights) and how training went."""

    model: keras.Model
    history: dict
    best_epoch: int
    wall_time_s: float
    images_per_s: float
    config: dict
    key: str
    cache_hit: bool = False
    params: int = 0
    budget: Budget | None = None
    convergence: Convergence | None = None
    val_correct: np.ndarray | None = None  # which validation images the kept (best-epoch) weights get right
    val_correct_last: np.ndarray | None = None  # and the last epoch's: scores no epoch was selected on
    # the precision policy and XLA setting it trained under, when not the CPU default (float32, XLA off): part of
    # its cache key and of its record, so a GPU's mixed precision never changes a result silently
    engine: dict | None = None
    hardware: dict | None = None  # the machine that ran it (set where it ran: a worker's own, on a cluster)


# --------------------------------------------------------------------------- environment
def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow and make TF ops deterministic."""
    keras.utils.set_random_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    _own_keras_rng(seed)
    tf.config.experimental.enable_op_determinism()


class _PerThreadRandom:
    """``random.Random`` methods drawn from a generator of the calling thread's own (what Keras reads as
    ``python_random``). :meth:`reseed` seeds the calling thread's; a thread that never did starts from seed 0, so
    what it draws does not depend on when it runs either."""

    def __init__(self):
        self._local = threading.local()

    def _rng(self) -> random.Random:
        rng = getattr(self._local, "rng", None)
        if rng is None:
            rng = self._local.rng = random.Random(0)
        return rng

    def reseed(self, seed: int) -> None:
        self._local.rng = random.Random(seed)

    def __getattr__(self, name: str):
        return getattr(self._rng(), name)


def _own_keras_rng(seed: int) -> None:
    """Give Keras, in this thread, a Python RNG of its own, seeded like the global one.

    Keras draws the seed of every unseeded initializer and random layer from Python's global ``random``
    (``keras.src.random.seed_generator.make_default_seed``). In a Dask worker other threads of the process draw too:
    its event loop (heartbeats, jitter) from ``random``, and the thread that unpickles a large incoming task
    (``distributed.comm.offload``, over 10 MiB) builds the Keras models the task carries (chapter 07's source
    models), each drawing initializer seeds. Either changes a run's initial weights when it happens while the run
    builds its model: the same seed gave other numbers (tests/test_executors.py, tests/test_training.py). Each
    thread now draws from a generator of its own, and this thread's
    starts in the state ``random.seed(seed)`` leaves the global one in, so a run draws the same sequence as before.
    (The offload thread is the likely cause of the one run in 249 per build that differed with two notebooks at
    once: both differing runs trained beside chapter 07, whose tasks carry its source models.)"""
    from keras.src.random import seed_generator

    if not isinstance(seed_generator.python_random, _PerThreadRandom):
        seed_generator.python_random = _PerThreadRandom()
    seed_generator.python_random.reseed(seed)


def has_gpu() -> bool:
    return bool(tf.config.list_physical_devices("GPU"))


def engine_settings(family: str | None = None, built: keras.Model | None = None) -> dict | None:
    """The precision policy (and XLA setting) :func:`train` uses here for a model of builder ``family``, or for a model
    ``built`` elsewhere, when they differ from the CPU default (float32, XLA off); else None, so every default run's
    cache key and record are what they were before this was recorded. On a GPU: :func:`accelerator_defaults`. On a
    CPU: float32 with XLA off unless ``EMNIST_ENGINE`` opts into the measured engine table's pick for this CPU class and
    family, or forces an engine (:func:`emnist_lib.engines.pick`); a model built elsewhere keeps the policies its
    layers were built with (a transfer model from a bfloat16 source: bfloat16 base, float32 head), stated here."""
    if has_gpu():
        d = accelerator_defaults()
    elif built is not None:
        return built_engine(built)
    else:
        from . import engines

        d = engines.pick(family) or accelerator_defaults()
    engine = {k: d[k] for k in ("policy", "jit_compile", "engine") if k in d}
    return None if engine == {"policy": "float32", "jit_compile": False} else engine


def built_engine(model: keras.Model) -> dict | None:
    """A built model's precision as its weighted layers carry it (None when they are all float32)."""
    policies = sorted({layer.dtype_policy.name for layer in _layers(model) if layer.weights})
    if policies in ([], ["float32"]):
        return None
    return {"policy": "+".join(policies), "jit_compile": False, "engine": "as built"}


def accelerator_defaults() -> dict:
    """Precision policy and XLA setting for this machine: mixed precision only on a GPU
    (on CPU it is several times slower); XLA left to Keras on a GPU and off on a CPU, where
    it is slower (1.7x for the dense/conv nets on 2 cores; Keras' "auto" also leaves it off
    on CPU-only machines, this keeps it off on a CPU even when a GPU exists)."""
    if has_gpu():
        return {"batch_size": 512, "policy": "mixed_float16", "jit_compile": "auto"}
    return {"batch_size": None, "policy": "float32", "jit_compile": False}


def _layers(model: keras.Model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _layers(layer)


_CONVOLUTIONAL: dict[tuple[str, str], bool] = {}


def is_convolutional(model: str | keras.Model, model_kwargs: dict | None = None) -> bool:
    """Whether a model (a built one, or a registered name with its kwargs) has convolution layers."""
    if isinstance(model, str):
        key = (model, json.dumps(model_kwargs or {}, sort_keys=True, default=repr))
        if key not in _CONVOLUTIONAL:
            built = models.build(model, 10, **(model_kwargs or {}))
            _CONVOLUTIONAL[key] = is_convolutional(built)
            keras.backend.clear_session()
        return _CONVOLUTIONAL[key]
    conv = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D, keras.layers.DepthwiseConv2D,
            keras.layers.SeparableConv2D)
    return any(isinstance(layer, conv) for layer in _layers(model))


def auto_batch_size(model: str | keras.Model, model_kwargs: dict | None = None) -> int:
    """The batch size ``TrainConfig(batch_size=None)`` resolves to.

    512 on a GPU. On a CPU: 32 (Keras' default) for convolutional models, whose throughput
    there barely depends on the batch (Chollet convnet: about 2,200 img/s at 32 and 2,400 at
    256 on 2 cores), so a small batch costs little speed and keeps the number of updates per
    epoch the published recipes were tuned with; 256 for dense-only models, which run 3-5x
    faster at 256 than at 32.
    """
    fixed = accelerator_defaults()["batch_size"]
    if fixed:
        return fixed
    return 32 if is_convolutional(model, model_kwargs) else 256


def under_automation() -> bool:
    """True under papermill/nbval/CI or any non-terminal stdout: no progress bars then."""
    return bool(os.environ.get("CI")) or not sys.stdout.isatty()


def resolve_verbose(verbose) -> int:
    if verbose == "auto":
        return 2 if under_automation() else 1
    return int(verbose)


# --------------------------------------------------------------------------- pieces
def make_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool, seed: int,
                 augment: keras.Layer | None = None, repeat: bool = False) -> tf.data.Dataset:
    """A tf.data pipeline of raw uint8 images: cache -> seeded shuffle -> repeat -> batch -> augment -> prefetch."""
    ds = tf.data.Dataset.from_tensor_slices((x, y.astype(np.int32))).cache()
    if shuffle:
        ds = ds.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size)
    if augment is not None:
        def _augment(images, labels):
            out = augment(tf.cast(images, tf.float32)[..., None], training=True)[..., 0]
            return tf.clip_by_value(out, 0.0, 255.0), labels

        ds = ds.map(_augment, num_parallel_calls=2, deterministic=True)
    return ds.prefetch(2)


def learning_rate(cfg: TrainConfig, steps_per_epoch: int):
    """The learning rate or Keras schedule for ``cfg``."""
    if cfg.schedule == "step":
        boundaries = [steps_per_epoch * e for e in range(cfg.step_epochs, cfg.epochs, cfg.step_epochs)]
        values = [cfg.learning_rate * cfg.step_factor**i for i in range(len(boundaries) + 1)]
        return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values) if boundaries else cfg.learning_rate
    if cfg.schedule == "cosine":
        warmup = steps_per_epoch * cfg.warmup_epochs
        decay = max(steps_per_epoch * cfg.epochs - warmup, 1)
        if warmup:
            return keras.optimizers.schedules.CosineDecay(0.0, decay, warmup_target=cfg.learning_rate,
                                                          warmup_steps=warmup)
        return keras.optimizers.schedules.CosineDecay(cfg.learning_rate, decay)
    return cfg.learning_rate


def make_optimizer(cfg: TrainConfig, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    lr = learning_rate(cfg, steps_per_epoch)
    if cfg.optimizer == "sgd":
        return keras.optimizers.SGD(lr)
    if cfg.optimizer == "sgd_momentum":
        return keras.optimizers.SGD(lr, momentum=cfg.momentum, nesterov=True)
    if cfg.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(lr)
    if cfg.optimizer == "adamw":
        return keras.optimizers.AdamW(lr, weight_decay=cfg.weight_decay)
    return keras.optimizers.Adam(lr)


CACHE_FORMAT = 2

# At most this many training steps per call into the compiled graph: amortises Keras'
# per-step Python work (callbacks, iterator, metric bookkeeping), which matters for small
# models at small batches. The optimisation itself is unchanged (same steps, same order).
STEPS_PER_EXECUTION = 32


def steps_per_execution(steps_per_epoch: int) -> int:
    """The largest divisor of ``steps_per_epoch`` up to :data:`STEPS_PER_EXECUTION`.

    A divisor, because Keras rounds an epoch up to whole calls on a repeated dataset
    (8 steps at 3 per call run 9), which would change the steps each epoch takes."""
    return max(d for d in range(1, max(1, min(STEPS_PER_EXECUTION, steps_per_epoch)) + 1)
               if steps_per_epoch % d == 0)


@keras.saving.register_keras_serializable(package="emnist_lib")
class SmoothedSparseCrossEntropy(keras.losses.Loss):
    """Cross-entropy of integer labels against targets with ``smoothing`` of a uniform distribution mixed in
    (Szegedy et al. 2016): Keras' categorical cross-entropy with ``label_smoothing`` on the one-hot labels, which its
    sparse loss does not offer."""

    def __init__(self, smoothing: float, name: str = "smoothed_sparse_cross_entropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.smoothing = float(smoothing)

    def call(self, y_true, y_pred):
        labels = keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32")
        onehot = keras.ops.one_hot(labels, keras.ops.shape(y_pred)[-1])
        return keras.losses.categorical_crossentropy(onehot, y_pred, label_smoothing=self.smoothing)

    def get_config(self) -> dict:
        return {**super().get_config(), "smoothing": self.smoothing}


def compile_model(model: keras.Model, cfg: TrainConfig, steps_per_epoch: int) -> None:
    """Compile ``model`` for ``cfg`` and create its optimizer's and metrics' variables now (:func:`build_state`).
    The loss is sparse cross-entropy, with ``cfg.label_smoothing`` when it is set."""
    if cfg.label_smoothing:
        loss = SmoothedSparseCrossEntropy(cfg.label_smoothing)
        metric = keras.metrics.SparseCategoricalAccuracy("accuracy")
    else:
        loss, metric = "sparse_categorical_crossentropy", "accuracy"
    model.compile(optimizer=make_optimizer(cfg, steps_per_epoch), loss=loss,
                  metrics=[metric], jit_compile=accelerator_defaults()["jit_compile"],
                  steps_per_execution=steps_per_execution(steps_per_epoch))
    build_state(model)


def build_state(model: keras.Model) -> None:
    """Create a compiled model's optimizer slots and metric variables before ``fit``.

    Without a distribution strategy Keras leaves them to the first trace of the train step; a ``tf.function``
    that creates variables is traced a second time, so every run paid for two traces of its whole forward
    and backward graph (2-8 s per model here). The slots start at zero either way and the metrics are reset
    at every epoch, so training is unchanged: same steps, same numbers."""
    model.optimizer.build(model.trainable_variables)
    x = np.zeros((1, *model.input_shape[1:]), dtype=model.inputs[0].dtype)
    y = np.zeros((1,), dtype=np.int32)
    model.compute_metrics(x, y, model(x, training=False), sample_weight=None)
    model.reset_metrics()


def fingerprint(*arrays: np.ndarray) -> str:
    """Content hash of the arrays a model is trained on (part of the model cache key)."""
    digest = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        digest.update(f"{a.dtype}{a.shape}".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()[:16]


def cache_key(model_name: str, model_kwargs: dict, cfg: TrainConfig, data_id: str, extra: dict | None = None) -> str:
    blob = json.dumps({"model": model_name, "kwargs": model_kwargs, "config": cfg.to_dict(), "data": data_id,
                       "extra": extra or {}, "keras": keras.__version__}, sort_keys=True, default=str)
    return f"{model_name}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}"


def _load_cached(folder: Path):
    meta = json.loads((folder / "meta.json").read_text())
    model = keras.saving.load_model(folder / "model.keras")
    return model, meta


def _store(folder: Path, model: keras.Model, meta: dict, replace: bool = False) -> None:
    """Cache a trained model; an entry another process stored under the same key meanwhile is kept unless
    ``replace`` (a forced retrain)."""
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        model.save(tmp / "model.keras")
        (tmp / "meta.json").write_text(json.dumps(meta, sort_keys=True, indent=1, default=float))
        publish_folder(tmp, folder, "meta.json", replace=replace)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class _Throughput(keras.callbacks.Callback):
    """Training time per epoch, without the validation pass."""

    def __init__(self):
        super().__init__()
        self.epoch_times: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._t = time.perf_counter()
        self._done = False

    def on_test_begin(self, logs=None):
        if not self._done:
            self.epoch_times.append(time.perf_counter() - self._t)
            self._done = True

    def on_epoch_end(self, epoch, logs=None):
        if not self._done:
            self.epoch_times.append(time.perf_counter() - self._t)


class _ValidationCorrect(keras.callbacks.Callback):
    """Which validation images each epoch's model gets right (for the convergence test between epochs and
    for comparisons of recipes on the same images); an eager forward pass, no extra graph to trace."""

    def __init__(self, x_val: np.ndarray, y_val: np.ndarray, batch: int = 1024):
        super().__init__()
        self.x, self.y, self.batch = x_val, np.asarray(y_val), batch
        self.correct: list[np.ndarray] = []

    def on_epoch_end(self, epoch, logs=None):
        pred = np.concatenate([np.asarray(self.model(self.x[i:i + self.batch], training=False)).argmax(1)
                               for i in range(0, len(self.y), self.batch)])
        self.correct.append(pred == self.y)


class _BestWeights(keras.callbacks.Callback):
    """Keep the weights of the epoch with the lowest ``monitor`` in memory (what
    ModelCheckpoint(save_best_only=True) does, without a model file per epoch)."""

    def __init__(self, monitor: str):
        super().__init__()
        self.monitor, self.best, self.weights = monitor, math.inf, None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and value < self.best:
            self.best, self.weights = value, self.model.get_weights()


# --------------------------------------------------------------------------- train
@contextlib.contextmanager
def precision_policy(policy: str):
    """Keras' global dtype policy set to ``policy`` inside the block and restored after it, also when
    the block raises (a pruned Optuna trial leaves by an exception in the middle of ``fit``)."""
    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(policy)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _checked_classes(model, y: np.ndarray, num_classes: int | None) -> int:
    if num_classes is None:
        num_classes = model.output_shape[-1] if isinstance(model, keras.Model) else int(y.max()) + 1
    if y.min() < 0 or y.max() >= num_classes:
        raise ValueError(f"labels span {y.min()}..{y.max()} but the model has {num_classes} outputs; "
                         "letters with official labels 1..26 need num_classes=27 (or zero_based=True)")
    return num_classes


def hold_out(x: np.ndarray, y: np.ndarray, cfg: TrainConfig):
    """``(x, y, validation)``: a stratified ``cfg.validation_fraction`` of the images held out, drawn with
    ``cfg.validation_seed`` (the run's seed when None)."""
    from sklearn.model_selection import train_test_split

    n_val, n_classes = math.ceil(cfg.validation_fraction * len(y)), len(np.unique(y))
    if n_val < n_classes:
        raise ValueError(f"a validation split of {n_val} images ({cfg.validation_fraction:g} of {len(y)}) cannot hold "
                         f"one image of each of the {n_classes} classes: train on more images or raise "
                         "validation_fraction")
    split_seed = cfg.seed if cfg.validation_seed is None else cfg.validation_seed
    x, x_val, y, y_val = train_test_split(x, y, test_size=cfg.validation_fraction, random_state=split_seed, stratify=y)
    return x, y, (x_val, y_val)


def run_budget(n_images: int, cfg: TrainConfig) -> Budget:
    """A run's budget: epochs of its ``n_images`` training images as optimizer steps and images seen."""
    steps = math.ceil(n_images / cfg.batch_size)
    return Budget(epochs=cfg.epochs, steps_per_epoch=steps, steps=steps * cfg.epochs,
                  images=steps * cfg.epochs * cfg.batch_size, train_images=int(n_images),
                  batch_size=cfg.batch_size, schedule=cfg.schedule)


def _callbacks(cfg: TrainConfig, monitor: str, validation, extra: list | None):
    """The run's callbacks: its timer, per-image validation correctness, the caller's, early stopping or
    plateau, and best-weight keeping."""
    timer = _Throughput()
    correct = _ValidationCorrect(*validation) if validation else None
    callbacks = [timer, *([correct] if correct else []), *(extra or [])]
    if cfg.early_stopping:
        callbacks.append(keras.callbacks.EarlyStopping(monitor=monitor, patience=cfg.early_stopping,
                                                       restore_best_weights=True))
    if cfg.schedule == "plateau":
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=cfg.step_factor, patience=1))
    best_weights = _BestWeights(monitor) if validation and not cfg.early_stopping else None
    if best_weights:
        callbacks.append(best_weights)
    return callbacks, timer, best_weights, correct


def _fit(built: keras.Model, x, y, validation, cfg: TrainConfig, steps: int, extra_callbacks, verbose):
    """Compile and fit ``built`` for ``cfg.epochs`` of ``steps``; the best-validation weights are kept.
    Returns ``(history, best_epoch, wall seconds, images per second, per-epoch validation correctness)``."""
    compile_model(built, cfg, steps)
    aug = None
    if cfg.augment:
        from .transforms import augmentation

        aug = augmentation(cfg.augment_rotation, cfg.augment_translation, cfg.augment_zoom, seed=cfg.seed)
    train_ds = make_dataset(x, y, cfg.batch_size, shuffle=True, seed=cfg.seed, augment=aug, repeat=True)
    val_ds = make_dataset(*validation, cfg.batch_size, shuffle=False, seed=cfg.seed) if validation else None
    monitor = "val_loss" if validation else "loss"
    callbacks, timer, best_weights, correct = _callbacks(cfg, monitor, validation, extra_callbacks)
    start = time.perf_counter()
    hist = built.fit(train_ds, epochs=cfg.epochs, steps_per_epoch=steps, validation_data=val_ds,
                     callbacks=callbacks, verbose=resolve_verbose(verbose), shuffle=False)
    wall = time.perf_counter() - start
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items() if k != "learning_rate"}
    if best_weights and best_weights.weights is not None:
        built.set_weights(best_weights.weights)
    # Throughput from the fastest epoch: the first includes graph tracing.
    images_per_s = float(steps * cfg.batch_size / min(timer.epoch_times)) if timer.epoch_times else 0.0
    return history, int(np.argmin(history[monitor])) + 1, wall, images_per_s, (correct.correct if correct else None)


def train(model: str | keras.Model, x: np.ndarray, y: np.ndarray, num_classes: int | None = None,
          cfg: TrainConfig | None = None, model_kwargs: dict | None = None,
          validation: tuple[np.ndarray, np.ndarray] | None = None, use_cache: bool = True,
          force: bool = False, verbose="auto", callbacks: list | None = None) -> TrainResult:
    """Compile and fit a model; return it with its history, speed, budget and convergence verdict.

    Args:
        model: a registered builder name (built here, after seeding) or a built model
            (then it is never cached: its weights are not described by a name).
        x, y: uint8 images (N, 28, 28) and integer labels.
        num_classes: model outputs; checked against the labels (letters need 27).
        cfg: :class:`TrainConfig`.
        validation: explicit validation data; else a stratified ``cfg.validation_fraction``
            of ``x`` is held out (none if the fraction is 0).
        use_cache: reuse a model trained before under the same key (builder, kwargs,
            config, data content, seed); ``force=True`` retrains and overwrites it.
        verbose: "auto" (a progress bar for a person, one line per epoch under
            automation), or 0/1/2 as in Keras.
        callbacks: extra Keras callbacks (a search's pruning callback); they do not run
            when a cached model is returned.
    """
    cfg = cfg or TrainConfig()
    model_kwargs = dict(model_kwargs or {})
    y = np.asarray(y)
    num_classes = _checked_classes(model, y, num_classes)
    cfg = replace(cfg, batch_size=cfg.batch_size or auto_batch_size(model, model_kwargs))
    if validation is None and cfg.validation_fraction > 0:
        x, y, validation = hold_out(x, y, cfg)
    name = model if isinstance(model, str) else model.name
    # "cached": the format of what is cached with a model (2: its per-epoch validation correctness too), so a model
    # cached without what the convergence test needs is never reused.
    engine = engine_settings(model) if isinstance(model, str) else engine_settings(built=model)
    key = cache_key(name, model_kwargs, cfg, fingerprint(x, y, *(validation or ())),
                    {"num_classes": num_classes, "cached": CACHE_FORMAT, **({"engine": engine} if engine else {})})
    folder = config.model_cache_dir() / key
    budget = run_budget(len(y), cfg)

    def verdict(history: dict, correct) -> Convergence:
        return convergence(history, 1.0 / len(np.unique(y)), cfg.epochs, len(validation[1]) if validation else len(y),
                           correct)

    keras.backend.clear_session()
    set_seed(cfg.seed)
    cacheable = use_cache and isinstance(model, str)
    if cacheable and not force and (folder / "meta.json").exists():
        built, meta = _load_cached(folder)
        n_val = len(validation[1]) if validation else 0
        correct = [unpack_correct(c, n_val) for c in meta["val_correct"]] if meta.get("val_correct") else None
        return TrainResult(built, meta["history"], meta["best_epoch"], meta["wall_time_s"], meta["images_per_s"],
                           meta["config"], key, cache_hit=True, params=built.count_params(), budget=budget,
                           convergence=verdict(meta["history"], correct),
                           val_correct=correct[meta["best_epoch"] - 1] if correct else None,
                           val_correct_last=correct[-1] if correct else None, engine=engine)
    # the policy a model built here is built under (a model built elsewhere already carries its own)
    policy = engine["policy"] if engine and isinstance(model, str) else accelerator_defaults()["policy"]
    with precision_policy(policy):
        built = models.build(model, num_classes, **model_kwargs) if isinstance(model, str) else model
        history, best_epoch, wall, images_per_s, correct = _fit(built, x, y, validation, cfg,
                                                                budget.steps_per_epoch, callbacks, verbose)
    result = TrainResult(built, history, best_epoch, wall, images_per_s, cfg.to_dict(), key,
                         params=built.count_params(), budget=budget, convergence=verdict(history, correct),
                         val_correct=correct[best_epoch - 1] if correct else None,
                         val_correct_last=correct[-1] if correct else None, engine=engine)
    if cacheable:
        _store(folder, built, {"history": history, "best_epoch": best_epoch, "wall_time_s": wall,
                               "images_per_s": images_per_s, "config": cfg.to_dict(), "model": name,
                               "model_kwargs": model_kwargs,
                               "val_correct": [pack_correct(c) for c in correct] if correct else None},
               replace=force)
    return result


def fine_tune(result: TrainResult, x, y, n_layers: int, cfg: TrainConfig, validation=None, verbose="auto"):
    """Unfreeze the top ``n_layers`` of a transfer model's base and train on at a low learning rate
    (the same model object goes on training: score the frozen run before calling this)."""
    models.unfreeze_top(result.model, n_layers)
    return train(result.model, x, y, cfg=cfg, validation=validation, use_cache=False, verbose=verbose)


# --------------------------------------------------------------------------- cross-validation
def _fold_run(x: np.ndarray, y: np.ndarray, num_classes: int, verbose, task) -> tuple[float, Convergence]:
    """One cross-validation run: ``task`` = (recipe, seed, training fold, scored fold); its accuracy on the scored
    fold and its convergence verdict. Epoch selection uses a validation split of the training folds, never the scored
    fold."""
    recipe, seed, tr, va = task
    res = train(recipe.model, x[tr], y[tr], num_classes, recipe.run_config(seed), recipe.model_settings,
                verbose=verbose)
    return float(res.model.evaluate(x[va], y[va], verbose=0, batch_size=512)[1]), res.convergence


def cross_validate(candidates: list[Recipe], x: np.ndarray, y: np.ndarray, num_classes: int, k: int = 3,
                   seed: int = 0, verbose=0):
    """Stratified k-fold (scikit-learn) over candidate recipes, each trained with ``seed``.

    Returns a pandas DataFrame, best mean first, one row per recipe: its ``name``, the ``recipe``, per-fold
    accuracies, mean and std, and each fold run's convergence verdict (``statuses``, ``convergence``: the worst
    of the folds). Every candidate sees the same folds, so candidates can be compared paired over folds. The
    candidates x folds runs execute where ``EMNIST_EXECUTOR`` says (:mod:`emnist_lib.executors`).
    """
    import functools

    import pandas as pd
    from sklearn.model_selection import StratifiedKFold

    from . import executors

    folds = list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(x, y))
    tasks = [(recipe, seed, tr, va) for recipe in candidates for tr, va in folds]
    # Each fold run is independent: where EMNIST_EXECUTOR says (in process, local workers, a cluster).
    done = executors.run_tasks(functools.partial(_fold_run, x, y, num_classes, verbose), tasks,
                               [f"cv {recipe.name} fold {i % k + 1}" for i, (recipe, *_) in enumerate(tasks)])
    rows = []
    for j, recipe in enumerate(candidates):
        accs, verdicts = (list(v) for v in zip(*done[j * k:(j + 1) * k]))
        rows.append({"name": recipe.name, "recipe": recipe, "folds": accs, "mean": float(np.mean(accs)),
                     "std": float(np.std(accs, ddof=1)) if k > 1 else 0.0,
                     "statuses": [v.status.value for v in verdicts], "convergence": worst_verdict(verdicts)})
    return pd.DataFrame(rows).sort_values("mean", ascending=False, kind="stable").reset_index(drop=True)
