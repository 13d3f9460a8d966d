"""Hyperparameter search with Optuna: one search space per model family, workers sharing one study.

A study lives in a *storage* that any number of worker processes share:

* by default a journal file (``<folder>/<study>.journal``; nothing to start, works on one
  machine and on a shared file system);
* ``--storage postgresql://user:pass@host/db`` (or ``EMNIST_SEARCH_STORAGE``) for many
  machines: each worker is ``python -m emnist_lib search --study NAME --trials N --storage URL``.

Trials are sampled by TPE with a fixed seed and pruned by the median rule on the validation
accuracy of each epoch (``optuna-integration``'s Keras callback). Each trial is trained with
:func:`emnist_lib.training.train` at the budget the worker is given and recorded like every run
of the study (config, budget, convergence, data provenance, seed, versions) in the trial's
user attributes.

A worker that dies mid-trial (Ctrl-C, ``kill -9``, a lost machine) leaves a RUNNING trial.
Every running trial sends a heartbeat; a trial whose heartbeat is older than the grace period
is marked failed by the next worker that looks and its parameters are queued again, so the
study still finishes with exactly the requested number of finished (complete or pruned)
trials, and a finished trial is never rerun. PostgreSQL storage uses Optuna's own heartbeat
(``RDBStorage(heartbeat_interval=...)``); the journal file has none in Optuna 5, so this
module keeps one in the trial's user attributes, the same rule.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import EmnistError
from .recipe import Recipe, TrainConfig

STORAGE_ENV = "EMNIST_SEARCH_STORAGE"
HEARTBEAT_S = 10.0
GRACE_S = 30.0
MAX_RETRY = 3
FINISHED = ("COMPLETE", "PRUNED")


class SearchError(EmnistError):
    """A search that cannot run as asked (unknown space, unreachable storage, clashing study)."""


# --------------------------------------------------------------------------- search spaces
def cnn_space(trial) -> tuple[str, dict, dict]:
    """The CNN: initialisation, activation, optimizer, learning rate and schedule, batch norm,
    augmentation, L1/L2, dropout, early stopping and pooling. Returns (builder, model kwargs, config)."""
    model = {
        "pooling": trial.suggest_categorical("pooling", ["max", "average", "strided"]),
        "batch_norm": trial.suggest_categorical("batch_norm", [False, True]),
        "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        "activation": trial.suggest_categorical("activation", ["relu", "gelu", "elu"]),
        "initializer": trial.suggest_categorical("initializer", ["glorot_uniform", "he_normal"]),
        **_penalties(trial),
    }
    return "cnn", model, _train_space(trial)


def mlp_space(trial) -> tuple[str, dict, dict]:
    """The MLP: depth and width, activation, initialisation, batch norm, dropout, L1/L2, and the
    optimizer, learning rate and schedule."""
    depth = trial.suggest_int("depth", 2, 4)
    width = trial.suggest_categorical("width", [128, 256, 512])
    model = {
        "hidden": tuple(max(32, width // 2 ** i) for i in range(depth)),
        "activation": trial.suggest_categorical("activation", ["relu", "gelu", "tanh", "elu"]),
        "initializer": trial.suggest_categorical("initializer", ["glorot_uniform", "he_normal"]),
        "batch_norm": trial.suggest_categorical("batch_norm", [False, True]),
        "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        **_penalties(trial),
    }
    cfg = _train_space(trial)
    cfg.pop("augment")
    return "mlp", model, cfg


def _penalties(trial) -> dict:
    """L1 and L2 weight penalties, each either off or log-uniform."""
    return {"l1": trial.suggest_float("l1", 1e-7, 1e-3, log=True) if trial.suggest_categorical("use_l1", [False, True]) else 0.0,
            "l2": trial.suggest_float("l2", 1e-6, 1e-2, log=True) if trial.suggest_categorical("use_l2", [False, True]) else 0.0}


def _train_space(trial) -> dict:
    return {
        "optimizer": trial.suggest_categorical("optimizer", ["adam", "rmsprop", "sgd"]),
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 3e-2, log=True),
        "schedule": trial.suggest_categorical("schedule", ["cosine", "constant", "step"]),
        "augment": trial.suggest_categorical("augment", [False, True]),
        "early_stopping": trial.suggest_categorical("early_stopping", [0, 3]),
    }


SPACES: dict[str, Callable] = {"cnn": cnn_space, "mlp": mlp_space}


def get_space(name: str) -> Callable:
    if name not in SPACES:
        raise SearchError(f"unknown search space {name!r}; choose one of {', '.join(SPACES)}")
    return SPACES[name]


# --------------------------------------------------------------------------- storage
def journal_path(folder: Path, study: str) -> Path:
    return Path(folder) / f"{study}.journal"


def open_storage(url: str | None, folder: Path, study: str, heartbeat_s: float = HEARTBEAT_S,
                 grace_s: float = GRACE_S):
    """The storage for ``study``: ``url`` (or ``EMNIST_SEARCH_STORAGE``), else a journal file in ``folder``.

    A database URL is connected to once, with a 5-second timeout, so a wrong host or
    port is a clear error in seconds rather than a hang.
    """
    from optuna.storages import JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
    from optuna.storages.journal import JournalFileBackend

    url = url or os.environ.get(STORAGE_ENV) or None
    if url is None or url.startswith("journal:"):
        path = Path(url[len("journal:"):]) if url else journal_path(folder, study)
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    engine = {"connect_args": {"connect_timeout": 5}} if url.startswith("postgresql") else {}
    for attempt in range(4):
        try:
            return RDBStorage(url, engine_kwargs=engine, heartbeat_interval=int(heartbeat_s), grace_period=int(grace_s),
                              heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY))
        except Exception as err:  # noqa: BLE001 - sqlalchemy, driver and URL errors all mean the same to the user
            # Workers started together on an empty database race to create its tables: try again.
            message = str(err).lower()
            racing = attempt < 3 and (type(err).__name__ in ("IntegrityError", "ProgrammingError")
                                      or "duplicate" in message or "already exists" in message)
            if not racing:
                raise SearchError(f"cannot open the search storage {_redact(url)}: {type(err).__name__}: "
                                  f"{str(err).splitlines()[0] if str(err) else ''}. Check the URL, that the server "
                                  "runs and accepts connections, or leave --storage out for a journal file.") from None
            time.sleep(0.5 + attempt)
    raise AssertionError("unreachable")


def _redact(url: str) -> str:
    """``url`` without its password."""
    import re

    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


# --------------------------------------------------------------------------- data and objective
@dataclass
class SearchData:
    """What every trial trains and validates on, with its provenance for the records."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    num_classes: int
    provenance: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Budget:
    """The budget of every trial (the study's quick or full profile)."""

    epochs: int = 7
    batch_size: int = 128
    seed: int = 0


class _Heartbeat:
    """Writes ``heartbeat`` (seconds since the epoch) into the trial every ``interval`` seconds."""

    def __init__(self, trial, interval: float):
        self.trial, self.interval = trial, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(self.interval):
            try:
                self.trial.set_user_attr("heartbeat", time.time())
            except Exception:  # noqa: BLE001 - the trial may have just finished
                return

    def __enter__(self):
        self.trial.set_user_attr("heartbeat", time.time())
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


class _Surplus(Exception):
    """A trial started after the study already had its trials: recorded as failed, never run."""


def _trial_settings(build: Callable, trial, budget: Budget, fixed_model: dict | None):
    """Sample ``trial``'s settings from its space: (model, model kwargs, TrainConfig keywords, TrainConfig)."""
    model, model_kwargs, cfg_kwargs = build(trial)
    model_kwargs = {**(fixed_model or {}), **model_kwargs}
    cfg = TrainConfig(**cfg_kwargs, epochs=budget.epochs, batch_size=budget.batch_size, seed=budget.seed,
                      validation_fraction=0.0)
    return model, model_kwargs, cfg_kwargs, cfg


def _record_attr(model: str, model_kwargs: dict, cfg_kwargs: dict, budget: Budget, data: SearchData, environment) -> dict:
    """What a trial stores as its ``record`` user attribute (read back by :func:`best_recipe` and the notebook)."""
    return {"model": model, "model_kwargs": {k: list(v) if isinstance(v, tuple) else v for k, v in model_kwargs.items()},
            "config": {**cfg_kwargs}, "seed": budget.seed, "data": data.provenance, "environment": environment}


def _result_attr(res) -> dict:
    """What a complete trial stores as its ``result`` user attribute: budget, verdict, curve, timing."""
    return {"budget": dataclasses.asdict(res.budget), "convergence": res.convergence.to_dict(),
            "val_accuracy": res.history["val_accuracy"], "best_epoch": res.best_epoch, "wall_time_s": res.wall_time_s,
            "params": res.params}


def make_objective(space: str, data: SearchData, budget: Budget, n_trials: int, heartbeat_s: float,
                   own_heartbeat: bool, fixed_model: dict | None = None):
    """The function Optuna calls per trial: best validation accuracy of one training run.

    ``fixed_model`` holds builder arguments the search does not vary (the CNN's channels)."""
    import optuna
    from optuna_integration import KerasPruningCallback

    from .data import env_summary
    from .training import train

    build = get_space(space)

    def objective(trial: optuna.Trial) -> float:
        if _rank(trial) >= n_trials:
            trial.set_user_attr("surplus", True)
            raise _Surplus()
        model, model_kwargs, cfg_kwargs, cfg = _trial_settings(build, trial, budget, fixed_model)
        trial.set_user_attr("record", _record_attr(model, model_kwargs, cfg_kwargs, budget, data, env_summary()))
        beat = _Heartbeat(trial, heartbeat_s) if own_heartbeat else contextlib.nullcontext()
        with beat:
            res = train(model, data.x_train, data.y_train, data.num_classes, cfg, model_kwargs=model_kwargs,
                        validation=(data.x_val, data.y_val), use_cache=False, verbose=0,
                        callbacks=[KerasPruningCallback(trial, "val_accuracy")])
        trial.set_user_attr("result", _result_attr(res))
        return float(max(res.history["val_accuracy"]))

    return objective


def _rank(trial) -> int:
    """How many trials before this one count towards the requested number (not failed)."""
    from optuna.trial import TrialState

    before = trial.study.get_trials(deepcopy=False, states=None)
    return sum(1 for t in before if t.number < trial.number and t.state != TrialState.FAIL)


# --------------------------------------------------------------------------- worker
def _finished(study) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


def reap_stale(study, grace_s: float) -> list[int]:
    """Mark RUNNING trials whose heartbeat is older than ``grace_s`` as failed and queue their
    parameters again (at most :data:`MAX_RETRY` times). Returns the trial numbers reaped."""
    from optuna.trial import TrialState

    now, reaped = time.time(), []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        beat = t.user_attrs.get("heartbeat")
        if beat is None or now - beat <= grace_s:
            continue
        try:
            study._storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL)
        except Exception:  # noqa: BLE001 - another worker reaped it first
            continue
        reaped.append(t.number)
        retries = int(t.user_attrs.get("retries", 0))
        if retries < MAX_RETRY and t.params:
            study.enqueue_trial(t.params, user_attrs={"retry_of": t.number, "retries": retries + 1},
                                skip_if_exists=False)
    return reaped


def create_or_load(name: str, space: str, storage, seed: int = 0):
    """The study ``name`` in ``storage``, created for ``space`` if new; an existing study for
    another space is an error naming both."""
    import optuna

    get_space(space)
    sampler = optuna.samplers.TPESampler(seed=seed)
    pruner = _pruner()
    study = optuna.create_study(study_name=name, storage=storage, direction="maximize", sampler=sampler,
                                pruner=pruner, load_if_exists=True)
    existing = study.user_attrs.get("space")
    if existing is None:
        study.set_user_attr("space", space)
    elif existing != space:
        raise SearchError(f"study {name!r} already exists with search space {existing!r}, not {space!r}: "
                          f"use --space {existing} or another --study name")
    return study


def run_worker(name: str, space: str, data: SearchData, n_trials: int, storage, budget: Budget = Budget(),
               heartbeat_s: float = HEARTBEAT_S, grace_s: float = GRACE_S, seed: int = 0,
               fixed_model: dict | None = None) -> dict:
    """Run trials of study ``name`` until it has ``n_trials`` finished (complete or pruned) ones.

    Start as many workers as there are machines or GPUs, on the same storage; each one
    stops when the study is done. Returns a summary of the study.
    """
    import optuna
    from optuna.storages import RDBStorage

    study = create_or_load(name, space, storage, seed)
    own_heartbeat = not isinstance(storage, RDBStorage)  # RDBStorage keeps its own

    def reap() -> bool:
        if own_heartbeat:
            return bool(reap_stale(study, grace_s))
        failed = optuna.storages.fail_stale_trials(study)  # RDBStorage: its heartbeat, its retry callback
        return bool(failed)

    objective = make_objective(space, data, budget, n_trials, heartbeat_s, own_heartbeat, fixed_model)
    while _finished(study) < n_trials:
        reap()
        study.optimize(objective, n_trials=1, catch=(_Surplus,), gc_after_trial=True)
        _wait_for_running(study, n_trials, grace_s, reap)
    return summary(study)


# --------------------------------------------------------------------------- batches on the study's executor
@dataclass(frozen=True)
class TrialTask:
    """One trial's training, as an executor runs it: the settings the sampler chose (in the process that owns the
    study) and the complete trials before its batch, whose per-epoch accuracies the median rule prunes against."""

    model: str
    model_kwargs: dict
    cfg: TrainConfig
    completed: tuple[tuple[dict, float], ...]  # (intermediate values {epoch: accuracy}, value) per complete trial


def _pruner():
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)


def run_trial(data: SearchData, task: TrialTask) -> dict:
    """Train one :class:`TrialTask` (in a worker or in this process) and return what the study is told: its state,
    its per-epoch validation accuracies, and for a complete trial its value and ``result`` attribute.

    The pruning decision is Optuna's median rule (:func:`_pruner`, ``optuna-integration``'s Keras callback) on an
    in-memory study holding the batch's reference trials, so it does not depend on where or when the trial runs;
    with batches of one it is the decision the shared study would have made (``tests/test_search.py``)."""
    import optuna
    from optuna_integration import KerasPruningCallback

    from .data import env_summary
    from .training import train

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # "a new study created in memory" is not the study's news
    try:
        local = optuna.create_study(direction="maximize", pruner=_pruner())
    finally:
        optuna.logging.set_verbosity(verbosity)
    for intermediate, value in task.completed:
        local.add_trial(optuna.trial.create_trial(value=value, intermediate_values=intermediate))
    trial = local.ask()
    out = {"environment": env_summary()}
    try:
        res = train(task.model, data.x_train, data.y_train, data.num_classes, task.cfg, model_kwargs=task.model_kwargs,
                    validation=(data.x_val, data.y_val), use_cache=False, verbose=0,
                    callbacks=[KerasPruningCallback(trial, "val_accuracy")])
    except optuna.TrialPruned:
        out["state"] = "PRUNED"
    else:
        out.update(state="COMPLETE", value=float(max(res.history["val_accuracy"])), result=_result_attr(res))
    out["intermediate"] = dict(local.get_trials(deepcopy=False)[-1].intermediate_values)
    return out


def run_batches(name: str, space: str, data: SearchData, n_trials: int, storage, budget: Budget = Budget(),
                seed: int = 0, fixed_model: dict | None = None, batch: int = 1) -> dict:
    """Run study ``name`` to ``n_trials`` finished trials from this process, ``batch`` trials at a time on the
    study's executor (:mod:`emnist_lib.executors`: in process, local workers, a cluster).

    This process owns the study: TPE (fixed seed) samples a batch's settings with Optuna's ask-and-tell
    interface, the executor trains them (:func:`run_trial`), and the study is told their results in trial order.
    The batch size, not the executor, decides what each trial sees, so the same ``batch`` gives the same trials
    in process, in local workers or on a cluster; ``batch=1`` is the one-trial-at-a-time search of
    :func:`run_worker`. (For workers that share a database instead, see :func:`run_worker`.)"""
    import functools

    from optuna.trial import TrialState

    from . import executors

    if batch < 1:
        raise SearchError(f"search batch {batch}: give 1 or more trials trained at a time")
    study = create_or_load(name, space, storage, seed)
    build = get_space(space)
    while (finished := _finished(study)) < n_trials:
        completed = tuple((dict(t.intermediate_values), float(t.value))
                          for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
        asked = []
        for _ in range(min(batch, n_trials - finished)):
            trial = study.ask()
            model, model_kwargs, cfg_kwargs, cfg = _trial_settings(build, trial, budget, fixed_model)
            asked.append((trial, TrialTask(model, model_kwargs, cfg, completed), cfg_kwargs))
        done = executors.run_tasks(functools.partial(run_trial, data), [task for _, task, _ in asked],
                                   [f"{name} search trial {trial.number}" for trial, _, _ in asked])
        for (trial, task, cfg_kwargs), out in zip(asked, done):
            trial.set_user_attr("record", _record_attr(task.model, task.model_kwargs, cfg_kwargs, budget, data,
                                                       out["environment"]))
            for step, value in sorted(out["intermediate"].items()):
                trial.report(value, step)
            if out["state"] == "COMPLETE":
                trial.set_user_attr("result", out["result"])
                study.tell(trial, out["value"])
            else:
                study.tell(trial, state=TrialState.PRUNED)
    return summary(study)


def _wait_for_running(study, n_trials: int, grace_s: float, reap: Callable[[], bool]) -> None:
    """While the running trials of other workers would finish the study, wait for them (or reap them)
    rather than start trials that would be surplus."""
    from optuna.trial import TrialState

    while _finished(study) < n_trials:
        running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if not running or _finished(study) + len(running) < n_trials:
            return
        time.sleep(min(2.0, grace_s / 4))
        if reap():
            return


def best_recipe(study, name: str, base: TrainConfig | None = None) -> Recipe:
    """The best complete trial as a recipe named ``name``: its model, model settings and the training settings it
    searched, over ``base`` (the budget it is trained at later); its origin names the trial."""
    best = study.best_trial
    rec = best.user_attrs["record"]  # the trial as stored in the journal (objective above)
    return Recipe(name=name, model=rec["model"], model_settings=rec["model_kwargs"],
                  train=TrainConfig.from_dict(rec["config"], base), origin=f"search trial {best.number}")


def summary(study) -> dict:
    """Finished trials, pruned ones, the best trial and its value."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    best = max(complete, key=lambda t: t.value) if complete else None
    return {"study": study.study_name, "space": study.user_attrs.get("space"),
            "complete": len(complete), "pruned": sum(t.state == TrialState.PRUNED for t in trials),
            "failed": sum(t.state == TrialState.FAIL for t in trials),
            "best_trial": best.number if best else None, "best_value": best.value if best else None,
            "best_params": best.params if best else None}


# --------------------------------------------------------------------------- what the search bought
def expected_max(values, n_max: int | None = None) -> dict[str, list[float]]:
    """Expected best validation accuracy of ``n`` trials drawn from the observed ones, n = 1..n_max.

    Dodge et al. (2019), "Show Your Work": with the observed values sorted, v_(1) <= ... <= v_(N),
    E[max of n] = sum_i v_(i) [(i/N)^n - ((i-1)/N)^n] (draws with replacement), and the spread is
    the standard deviation of that maximum. Returns ``{"n": [...], "mean": [...], "sd": [...]}``.
    """
    v = np.sort(np.asarray(values, float))
    if v.size == 0:
        raise ValueError("expected_max needs at least one finished trial")
    big_n = v.size
    n_max = n_max or big_n
    i = np.arange(1, big_n + 1)
    out = {"n": [], "mean": [], "sd": []}
    for n in range(1, n_max + 1):
        p = (i / big_n) ** n - ((i - 1) / big_n) ** n
        mean = float(p @ v)
        out["n"].append(n)
        out["mean"].append(mean)
        out["sd"].append(float(np.sqrt(max(p @ v ** 2 - mean ** 2, 0.0))))
    return out


def history(study) -> list[dict]:
    """Each finished trial in order: number, state, value (complete ones) and the best so far."""
    from optuna.trial import TrialState

    rows, best = [], None
    for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        if t.state.name not in FINISHED:
            continue
        if t.state == TrialState.COMPLETE:
            best = t.value if best is None else max(best, t.value)
        rows.append({"number": t.number, "state": t.state.name, "value": t.value, "best": best})
    return rows


def importances(study) -> dict[str, float]:
    """Parameter importances of the complete trials (``optuna.importance``, fANOVA), largest first."""
    import optuna

    return dict(optuna.importance.get_param_importances(study))
