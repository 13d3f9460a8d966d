"""Where the seed loop's runs execute (emnist_lib.executors): the same records whatever ran them, a loopback Dask
cluster that loses a worker to kill -9 and still finishes every run exactly once, and clear errors for a bad
executor. Every server binds to 127.0.0.1."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emnist_lib import executors

JOB = Path(__file__).resolve().parent / "executor_job.py"
PY = sys.executable
DASK = str(Path(sys.executable).parent / "dask")
COMPARED = ("metrics", "history", "seed", "budget", "convergence", "config", "group", "variant")


def _env(tmp_path: Path, name: str, executor: str) -> dict:
    return {**os.environ, "EMNIST_EXECUTOR": executor, "EMNIST_THREADS": "1", "EMNIST_OFFLINE": "1",
            "EMNIST_CACHE_DIR": str(tmp_path / f"cache-{name}"), "EMNIST_PROGRESS": "0", "TF_CPP_MIN_LOG_LEVEL": "3"}


def _job(tmp_path: Path, name: str, executor: str, n_recipes: int = 2, timeout: int = 300):
    out = tmp_path / name
    proc = subprocess.run([PY, str(JOB), str(out), str(n_recipes)], env=_env(tmp_path, name, executor),
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return _records(out), proc


def _records(out: Path) -> dict:
    return {p.name: {k: v for k, v in json.loads(p.read_text()).items() if k in COMPARED}
            for p in sorted((out / "results").glob("*.json"))}


# --------------------------------------------------------------------------- names
@pytest.mark.parametrize("name, spec", [(None, "inline"), ("inline", "inline"), ("local:3", "local:3"),
                                        ("local", f"local:{executors.LOCAL_WORKERS}"),
                                        ("tcp://127.0.0.1:8786", "tcp://127.0.0.1:8786")])
def test_executor_names(name, spec):
    assert str(executors.parse(name)) == spec


@pytest.mark.parametrize("name, says", [("threads", "unknown executor 'threads'"), ("local:0", "1 or more"),
                                        ("local:-2", "1 or more"), ("local:two", "1 or more"),
                                        ("127.0.0.1:8786", "unknown executor")])
def test_a_bad_executor_is_a_clear_error(name, says):
    with pytest.raises(executors.ExecutorError, match=says):
        executors.parse(name)


def test_an_unreachable_scheduler_is_a_clear_error_within_seconds():
    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(executors.ExecutorError, match=f"no Dask scheduler answers at tcp://127.0.0.1:{port}"):
        executors.client(executors.parse(f"tcp://127.0.0.1:{port}"))
    assert time.monotonic() - start < 30


def test_a_bad_thread_count_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("EMNIST_THREADS", "0")
    with pytest.raises(ValueError, match="EMNIST_THREADS='0'"):
        executors.threads_per_run()


# --------------------------------------------------------------------------- same numbers
@pytest.mark.slow
def test_the_same_runs_give_the_same_records_in_process_and_in_local_workers(tmp_path):
    inline, inline_proc = _job(tmp_path, "inline", "inline")
    local, proc = _job(tmp_path, "local", "local:2")
    assert len(inline) == 6  # 2 recipes x 2 seeds, and the budget check of seed 1
    assert inline == local
    assert all(json.loads(p.read_text())["hardware"]["threads"] == 1 for p in (tmp_path / "local" / "results").glob("*"))
    assert "runs: local:2, threads per run 1" in proc.stdout
    cv = [[line for line in p.stdout.splitlines() if line.startswith("cv:")] for p in (inline_proc, proc)]
    assert cv[0] == cv[1] and len(cv[0]) == 1  # cross-validation folds: the same accuracies on workers
    found = [[line for line in p.stdout.splitlines() if line.startswith("search:")] for p in (inline_proc, proc)]
    assert found[0] == found[1] and len(json.loads(found[0][0][len("search:"):])) == 4  # search batches: same trials


# --------------------------------------------------------------------------- a cluster on loopback
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def loopback_cluster(tmp_path):
    """A Dask scheduler and two single-threaded workers (no nanny: a killed worker stays dead), all on 127.0.0.1,
    dashboards off or on a loopback port. Yields ``(address, [worker processes])``."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = _env(tmp_path, "cluster", address)
    logs = tmp_path / "logs"
    logs.mkdir()
    procs = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--dashboard-address", "127.0.0.1:0"], env=env, stdout=open(logs / "scheduler", "w"),
                              stderr=subprocess.STDOUT)]
    workers = [subprocess.Popen([DASK, "worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny",
                                 "--no-dashboard", "--name", f"w{i}"], env=env,
                                stdout=open(logs / f"worker{i}", "w"), stderr=subprocess.STDOUT) for i in range(2)]
    procs += workers
    try:
        from distributed import Client

        with Client(address, timeout="30s") as c:
            c.wait_for_workers(2, timeout=120)
        yield address, workers
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.mark.slow
def test_a_loopback_cluster_that_loses_a_worker_still_records_every_run_exactly_once(tmp_path, loopback_cluster):
    from distributed import Client

    address, workers = loopback_cluster
    out = tmp_path / "cluster"
    job = subprocess.Popen([PY, str(JOB), str(out), "4"], env=_env(tmp_path, "cluster", address),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = None
    with Client(address, timeout="30s") as c:
        deadline = time.monotonic() + 180
        while killed is None and time.monotonic() < deadline and job.poll() is None:
            busy = {w: tasks for w, tasks in c.processing().items() if tasks}
            names = {w: info["name"] for w, info in c.scheduler_info()["workers"].items()}
            if len(busy) == 2:  # both workers are training: kill one mid-run
                victim = next(iter(busy))
                killed = workers[int(names[victim][1:])]
                os.kill(killed.pid, signal.SIGKILL)
            time.sleep(0.2)
    stdout, stderr = job.communicate(timeout=600)
    assert killed is not None, "no moment when both workers were busy"
    assert job.returncode == 0, stderr[-3000:]
    records = _records(out)
    expected = {f"01_chollet_baselines__mnist__{n}__seed{s}.json" for n in ("dense", "lr0", "lr1", "lr2")
                for s in (0, 1)} | {f"01_chollet_baselines__mnist_budget2x__{n}__seed1.json"
                                    for n in ("dense", "lr0", "lr1", "lr2")}
    assert set(records) == expected  # every run, once (a record per run; none half-written)
    assert stdout.count("mnist dense seed 0:") == 1
    inline, _ = _job(tmp_path, "inline4", "inline", n_recipes=4)
    assert records == inline  # a re-run task gives the same numbers


# --------------------------------------------------------------------------- the runner
@pytest.mark.parametrize("executor, says", [("threads", "unknown executor 'threads'"), ("local:0", "1 or more")])
def test_the_runner_refuses_a_bad_executor_before_any_notebook_runs(executor, says, tmp_path, monkeypatch, capsys):
    from emnist_lib import cli

    monkeypatch.setenv("EMNIST_OUTPUT_DIR", str(tmp_path / "out"))
    assert cli.main(["report", "--profile", "smoke", "--executor", executor]) == 2
    err = capsys.readouterr()
    assert says in err.err and "[smoke] 00_data" not in err.out
    assert not (tmp_path / "out").exists()
    assert os.environ.get("EMNIST_EXECUTOR") in (None, "inline")  # the process's environment is left as it was


def test_the_runner_gives_the_kernels_one_local_cluster_and_restores_the_environment(monkeypatch):
    from emnist_lib.runner import executor_for_kernels

    monkeypatch.delenv("EMNIST_EXECUTOR", raising=False)
    monkeypatch.delenv("EMNIST_THREADS", raising=False)
    with executor_for_kernels("local:1") as spec:
        assert str(spec) == "local:1"
        address = os.environ["EMNIST_EXECUTOR"]
        assert address.startswith("tcp://127.0.0.1:") and os.environ["EMNIST_THREADS"] == "1"
        from distributed import Client

        with Client(address, timeout="10s") as c:
            assert len(c.scheduler_info()["workers"]) == 1
    assert "EMNIST_EXECUTOR" not in os.environ and "EMNIST_THREADS" not in os.environ


# --------------------------------------------------------------------------- a scheduler without workers
@pytest.fixture
def lone_scheduler(tmp_path):
    """A Dask scheduler on 127.0.0.1 and one single-threaded worker without a nanny (killing it leaves none);
    yields ``(address, start_worker)``: the worker starts only when asked."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = _env(tmp_path, "lone", address)
    procs = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--dashboard-address", "127.0.0.1:0"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]

    def start_worker():
        procs.append(subprocess.Popen([DASK, "worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                                       "--no-nanny", "--no-dashboard"], env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        return procs[-1]

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the scheduler listens
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.2)
    try:
        yield address, start_worker
    finally:
        executors.close_all()
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=20)


@pytest.mark.slow
def test_a_scheduler_without_workers_is_a_clear_error_within_seconds(lone_scheduler, monkeypatch):
    address, _ = lone_scheduler
    monkeypatch.setattr(executors, "WORKER_WAIT_S", 3)
    start = time.monotonic()
    with pytest.raises(executors.ExecutorError, match=f"{address} has no worker after 3 s; start workers"):
        executors.client(executors.parse(address))
    assert time.monotonic() - start < 30


@pytest.mark.slow
def test_runs_whose_workers_all_died_are_a_clear_error_naming_them(lone_scheduler, monkeypatch):
    """Every worker killed mid-run: Dask would wait for new ones without end; the executor names the runs not done
    once no worker has been seen for WORKER_WAIT_S."""
    import threading

    address, start_worker = lone_scheduler
    monkeypatch.setattr(executors, "WORKER_WAIT_S", 3)
    worker = start_worker()
    spec = executors.parse(address)
    executors.client(spec)  # waits for the worker
    killer = threading.Timer(3.0, lambda: os.kill(worker.pid, signal.SIGKILL))
    killer.start()
    start = time.monotonic()
    try:
        with pytest.raises(executors.ExecutorError, match=r"no worker for 3 s with 2 run\(s\) not done \(a, b\)"):
            executors.run_tasks(time.sleep, [60, 60], ["a", "b"], spec)
    finally:
        killer.cancel()
    assert time.monotonic() - start < 40
