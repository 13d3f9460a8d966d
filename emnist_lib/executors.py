"""Where the seed loop's runs execute: in this process, in local worker processes, or on a cluster.

A comparison is a plan of independent runs (:func:`emnist_lib.study.run_recipes`: recipes x seeds). An executor
runs a list of such tasks and returns their results in the order given, so the records, the notebook and the report
read the same whatever ran them. The parallel executors are Dask distributed's (a ``LocalCluster`` of worker
processes on this machine, or a scheduler's address for a cluster): Dask schedules, retries a task whose worker died
and keeps every packet on the addresses it is given; nothing here schedules by hand.

Choose with ``EMNIST_EXECUTOR`` (the runner's ``--executor``, ``make report EXECUTOR=...``):

* ``inline``: in this process, one run after the other (the library's default; ``make report`` uses ``local`` where
  there are two cores or more, :data:`STUDY_DEFAULT`);
* ``local`` / ``local:N``: N worker processes on this machine (``local``: the number measured to pay here,
  :data:`LOCAL_WORKERS`), each with :func:`threads_per_run` threads, bound to 127.0.0.1;
* ``tcp://HOST:PORT`` (or ``tls://``): the Dask scheduler of a cluster whose workers run ``emnist_lib``
  (docs/DESIGN.md, "Parallel runs").

The same run gives the same numbers on the same CPU model and thread count whatever executed it: a worker pins
TensorFlow's threads to :func:`threads_per_run` before it trains, and records say how many
(``hardware.threads``).
"""

from __future__ import annotations

import atexit
import logging
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .config import threads_per_run

# Worker processes of ``local``: two small Keras trainings at once finished 1.3-1.4x sooner than one after the
# other on a 2-core machine (per-step overhead, not arithmetic, bounds them); one per core.
LOCAL_WORKERS = max(1, os.cpu_count() or 1)
CONNECT_TIMEOUT_S = 5
# A scheduler with no worker for this long (at the start, or after every worker died mid-run) is an error naming the
# runs not done, not a wait without end.
WORKER_WAIT_S = 60
# What ``make report`` uses when no executor is named: local workers where there are two cores or more (the quick
# profile: 11 min 44 s on local:2 against 14 min 02 s in process on a 2-core AMD EPYC, docs/BENCHMARKS.md), else
# in process. A notebook run by itself (JupyterLab, nbval) runs in process unless EMNIST_EXECUTOR says otherwise.
STUDY_DEFAULT = "local" if LOCAL_WORKERS > 1 else "inline"


class ExecutorError(ValueError):
    """An executor that cannot be used: an unknown name, a bad worker count, an unreachable scheduler."""


def pin_threads(threads: int | None) -> None:
    """Pin TensorFlow's thread pools to ``threads`` (before its first operation; a no-op for None or when the
    pools are already that size)."""
    if threads is None:
        return
    import tensorflow as tf

    if tf.config.threading.get_intra_op_parallelism_threads() == threads:
        return
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError as exc:  # TensorFlow ran an operation before
        raise ExecutorError(f"cannot pin TensorFlow to {threads} thread(s) once it has run ({exc}); set "
                            "EMNIST_THREADS before the process starts") from exc


@dataclass(frozen=True)
class Spec:
    """A parsed executor name: ``kind`` inline / local / address, with its worker count or address."""

    kind: str
    workers: int = 1
    address: str = ""

    def __str__(self) -> str:
        return {"inline": "inline", "local": f"local:{self.workers}"}.get(self.kind, self.address)


def parse(name: str | None) -> Spec:
    """The executor ``name`` names (module doc); anything else is an :class:`ExecutorError` saying what is valid."""
    name = (name or "inline").strip()
    if name == "inline":
        return Spec("inline")
    match = re.fullmatch(r"local(?::(-?\w+))?", name)
    if match:
        count = match.group(1)
        if count is None:
            return Spec("local", LOCAL_WORKERS)
        if not re.fullmatch(r"-?\d+", count) or int(count) < 1:
            raise ExecutorError(f"executor {name!r}: the worker count must be a whole number, 1 or more (local:2)")
        return Spec("local", int(count))
    if re.fullmatch(r"(tcp|tls)://[\w.\-\[\]:]+:\d+", name):
        return Spec("address", address=name)
    raise ExecutorError(f"unknown executor {name!r}: use inline, local, local:N (N worker processes here) or a Dask "
                        "scheduler address such as tcp://10.0.0.5:8786")


def current() -> Spec:
    """The executor this process is asked to use (``EMNIST_EXECUTOR``)."""
    return parse(os.environ.get("EMNIST_EXECUTOR"))


def _pin_plugin(threads: int):
    """A Dask worker plugin that pins TensorFlow's threads in each worker before any task trains."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class PinThreads(WorkerPlugin):
        name = "emnist-pin-threads"

        def __init__(self, threads: int):
            self.threads = threads

        def setup(self, worker):
            # What Dask's nanny sets for the workers it starts, also for a worker started without one (`dask worker
            # --no-nanny`), so the two kinds run alike. (Runs on such workers once differed from run to run; the cause
            # was Python's shared RNG, fixed in training._own_keras_rng, not these.)
            for key in ("EMNIST_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
                os.environ[key] = str(self.threads)
            pin_threads(self.threads)

    return PinThreads(threads)


_CLIENTS: dict[str, object] = {}


def local_cluster(workers: int):
    """A Dask ``LocalCluster`` of ``workers`` single-threaded worker processes on 127.0.0.1 (no dashboard), each
    pinning TensorFlow to :func:`threads_per_run` threads; the workers inherit this process's environment."""
    from distributed import LocalCluster

    threads = threads_per_run() or 1
    env = {"EMNIST_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
           "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                        dashboard_address=None, env=env, silence_logs=logging.ERROR)


def client(spec: Spec):
    """A Dask client for ``spec`` (kept for the process: a notebook's comparisons share one cluster). A local
    cluster binds to 127.0.0.1 with no dashboard; an address that does not answer within
    :data:`CONNECT_TIMEOUT_S` seconds is an :class:`ExecutorError`."""
    key = str(spec)
    if key in _CLIENTS:
        return _CLIENTS[key]
    import dask
    from distributed import Client

    # A task carries its data set (a few to tens of MB): expected here, not worth a warning per comparison.
    dask.config.set({"distributed.admin.large-graph-warning-threshold": "2GB"})

    threads = threads_per_run() or 1
    if spec.kind == "local":
        c = Client(local_cluster(spec.workers))
    else:
        try:
            c = Client(spec.address, timeout=f"{CONNECT_TIMEOUT_S}s")
        except (OSError, TimeoutError) as exc:
            raise ExecutorError(f"no Dask scheduler answers at {spec.address} within {CONNECT_TIMEOUT_S} s ({exc}); "
                                "start one (docs/DESIGN.md, 'Parallel runs') or use EMNIST_EXECUTOR=local") from exc
        try:
            c.wait_for_workers(1, timeout=WORKER_WAIT_S)
        except (OSError, TimeoutError) as exc:
            c.close()
            raise ExecutorError(f"the Dask scheduler at {spec.address} has no worker after {WORKER_WAIT_S} s; start "
                                f"workers (`dask worker {spec.address} --nthreads 1`, docs/DESIGN.md, 'Parallel "
                                "runs') or use EMNIST_EXECUTOR=local") from exc
    c.register_plugin(_pin_plugin(threads))
    _CLIENTS[key] = c
    atexit.register(close_all)
    return c


def close_all() -> None:
    """Close the clients (and local clusters) this process started."""
    for c in _CLIENTS.values():
        cluster = getattr(c, "cluster", None)
        c.close()
        if cluster is not None:
            cluster.close()
    _CLIENTS.clear()


def run_tasks(fn: Callable, items: Sequence, names: Sequence[str], spec: Spec | None = None, on_done=None) -> list:
    """``[fn(item) for item in items]``, in that order, on ``spec``'s executor (default :func:`current`).
    ``on_done(name)`` is called as each finishes (a progress bar). A task that raises is re-raised naming its
    ``names`` entry; a task whose worker died is run again by Dask (a run may start twice: runs are idempotent, the
    model cache publishes atomically and records are written here, once)."""
    spec = spec or current()
    if spec.kind == "inline":
        out = []
        for item, name in zip(items, names):
            out.append(fn(item))
            if on_done:
                on_done(name)
        return out
    import time

    from distributed import wait

    c = client(spec)
    futures = c.map(fn, list(items), pure=False, key=[f"{_safe(n)}-{os.urandom(4).hex()}" for n in names])
    index = {f.key: i for i, f in enumerate(futures)}
    out: list = [None] * len(futures)
    pending, alone_since = set(futures), None
    while pending:
        try:
            done, pending = wait(pending, timeout=2, return_when="FIRST_COMPLETED")
        except TimeoutError:  # none finished within the timeout (Dask raises rather than return nothing done)
            done = set()
        for future in sorted(done, key=lambda f: index[f.key]):
            i = index[future.key]
            try:
                out[i] = future.result()
            except Exception as exc:
                for f in futures:
                    f.cancel()
                raise RuntimeError(f"run {names[i]} failed on executor {spec}: {type(exc).__name__}: {exc}") from exc
            if on_done:
                on_done(names[i])
        if pending and not c.scheduler_info().get("workers"):  # every worker gone: Dask would wait for new ones
            alone_since = alone_since or time.monotonic()
            if time.monotonic() - alone_since > WORKER_WAIT_S:
                for f in futures:
                    f.cancel()
                left = sorted(names[index[f.key]] for f in pending)
                raise ExecutorError(f"executor {spec}: no worker for {WORKER_WAIT_S} s with {len(left)} run(s) not "
                                    f"done ({', '.join(left[:3])}{', ...' if len(left) > 3 else ''}); start workers "
                                    "or use EMNIST_EXECUTOR=local")
        else:
            alone_since = None
    return out


def _safe(name: str) -> str:
    return re.sub(r"[^\w.\-]+", "_", name)[:80]


