"""The Optuna search: shared journal storage, exact trial counts, heartbeat retry after kill -9, bad input.

Workers are real ``python -m emnist_lib search`` processes on tiny synthetic data (a few
seconds per trial), so the tests exercise what a user runs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

optuna = pytest.importorskip("optuna")

from emnist_lib import search  # noqa: E402

TINY = ["--split", "digits", "--source", "synthetic", "--n-train", "300", "--batch-size", "64"]


def _worker(folder, study, trials, *extra, epochs=2):
    cmd = [sys.executable, "-m", "emnist_lib", "search", "--study", study, "--trials", str(trials),
           "--folder", str(folder), *TINY, "--epochs", str(epochs), *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


def _load(folder, study):
    storage = search.open_storage(None, folder, study)
    return optuna.load_study(study_name=study, storage=storage)


def _states(study):
    return [t.state.name for t in study.get_trials(deepcopy=False)]


def test_two_workers_share_one_journal_and_finish_exactly(tmp_path):
    procs = [_worker(tmp_path, "shared", 6), _worker(tmp_path, "shared", 6)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    study = _load(tmp_path, "shared")
    states = _states(study)
    finished = [t for t in study.get_trials(deepcopy=False) if t.state.name in search.FINISHED]
    assert len(finished) == 6, states
    assert len({t.number for t in finished}) == 6  # nothing duplicated
    # Every non-finished trial is an explained surplus start, never a lost one.
    assert all(t.user_attrs.get("surplus") for t in study.get_trials(deepcopy=False) if t.state.name == "FAIL")
    best = [json.loads(o[0])["best_trial"] for o in outs]
    # Both workers report the same best trial once both are done (the later one sees everything).
    assert study.best_trial.number in best
    record = finished[0].user_attrs["record"]
    assert record["data"]["source"] == "synthetic" and record["seed"] == 0 and "environment" in record


def test_killed_worker_trial_is_failed_by_heartbeat_and_retried(tmp_path):
    slow = ["--heartbeat", "1", "--grace", "4"]
    victim = _worker(tmp_path, "crash", 3, *slow, epochs=40)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            running = [t for t in _load(tmp_path, "crash").get_trials(deepcopy=False) if t.state.name == "RUNNING"]
        except KeyError:  # the study is not created yet
            running = []
        if running and running[0].user_attrs.get("heartbeat"):
            break
        time.sleep(0.5)
    else:
        pytest.fail("the first worker never started a trial")
    victim.send_signal(signal.SIGKILL)
    victim.wait(30)
    survivor = _worker(tmp_path, "crash", 3, *slow, epochs=2)
    out, err = survivor.communicate(timeout=600)
    assert survivor.returncode == 0, err[-2000:]
    study = _load(tmp_path, "crash")
    trials = study.get_trials(deepcopy=False)
    killed = trials[0]
    assert killed.state.name == "FAIL"
    retry = [t for t in trials if t.user_attrs.get("retry_of") == killed.number]
    assert len(retry) == 1 and retry[0].params == killed.params and retry[0].state.name in search.FINISHED
    assert sum(t.state.name in search.FINISHED for t in trials) == 3


def test_unknown_space_is_an_error(tmp_path):
    from emnist_lib.cli import main

    assert main(["search", "--study", "x", "--trials", "1", "--space", "resnet", "--folder", str(tmp_path)]) == 2
    with pytest.raises(search.SearchError, match="unknown search space 'resnet'; choose one of cnn, mlp"):
        search.get_space("resnet")


def test_unreachable_storage_is_a_clear_error_that_hides_the_password(tmp_path):
    pytest.importorskip("psycopg")
    with pytest.raises(search.SearchError, match=r"cannot open the search storage postgresql://u:\*\*\*@127\.0\.0\.1:9/db"):
        search.open_storage("postgresql://u:secret@127.0.0.1:9/db", tmp_path, "x")


def test_existing_study_with_another_space_names_both(tmp_path):
    storage = search.open_storage(None, tmp_path, "clash")
    search.create_or_load("clash", "cnn", storage)
    with pytest.raises(search.SearchError, match="study 'clash' already exists with search space 'cnn', not 'mlp'"):
        search.create_or_load("clash", "mlp", storage)


# --------------------------------------------------------------------------- a real PostgreSQL server
def _pg_bin():
    import glob
    import shutil
    from pathlib import Path

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("pg_ctl")
    return Path(which).parent if which else None


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres_url():
    """A throw-away PostgreSQL server on a free loopback port, run as an unprivileged user."""
    import pwd
    import shutil
    import tempfile
    from pathlib import Path

    pytest.importorskip("psycopg")
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql; .ci/run installs it)")
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="emnist-pg-", dir="/tmp"))
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and no 'postgres' user to run the server as")
        os.chown(folder, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", _free_port()
    try:
        subprocess.run([*as_user, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
                       check=True, capture_output=True)
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-t", "60",
                        "-o", f"-p {port} -k {folder} -h 127.0.0.1", "start"], check=True, capture_output=True)
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE search")
        yield f"postgresql://postgres@127.0.0.1:{port}/search"
    finally:
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def test_two_workers_on_a_real_postgresql_server(tmp_path, postgres_url):
    procs = [_worker(tmp_path, "pg", 4, "--storage", postgres_url) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [[line for line in o[1].splitlines() if "rror" in line]
                                                      for o in outs]
    study = optuna.load_study(study_name="pg", storage=postgres_url)
    finished = [t for t in study.get_trials(deepcopy=False) if t.state.name in search.FINISHED]
    assert len(finished) == 4 and len({t.number for t in finished}) == 4
    assert not list(tmp_path.glob("*.journal"))  # nothing went to a journal file


def test_expected_max_follows_show_your_work():
    values = [0.1, 0.2, 0.3]
    out = search.expected_max(values, 50)
    assert out["mean"][0] == pytest.approx(0.2)  # one trial: the mean
    assert out["sd"][0] == pytest.approx(float(__import__("numpy").std(values)))
    assert out["mean"] == sorted(out["mean"]) and out["mean"][-1] == pytest.approx(0.3, abs=1e-6)
    assert out["mean"][1] == pytest.approx(0.1 * (1 / 9) + 0.2 * (3 / 9) + 0.3 * (5 / 9))  # two draws
    with pytest.raises(ValueError, match="at least one finished trial"):
        search.expected_max([])


def test_history_and_importances_of_a_study(tmp_path):
    storage = search.open_storage(None, tmp_path, "toy")
    study = search.create_or_load("toy", "mlp", storage)
    study.set_user_attr("space", "mlp")
    study.optimize(lambda t: t.suggest_float("x", 0, 1) - (t.suggest_float("y", 0, 1) - 0.5) ** 2 * 0.01, n_trials=12)
    rows = search.history(study)
    assert len(rows) == 12 and [r["best"] for r in rows] == sorted(r["best"] for r in rows)
    imp = search.importances(study)
    assert set(imp) == {"x", "y"} and next(iter(imp)) == "x"


def test_workers_starting_together_on_an_empty_database_all_get_in(postgres_url):
    """Workers racing to create the tables of a new database retry instead of failing (15 of 24 did before)."""
    code = (f"from emnist_lib import search; st = search.open_storage({postgres_url!r}, '/tmp', 'x'); "
            "search.create_or_load('race', 'cnn', st)")
    procs = [subprocess.Popen([sys.executable, "-W", "ignore", "-c", code], stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [e.strip().splitlines()[-1:] for e in errors]


# --------------------------------------------------------------------------- batches on the study's executor
def _tiny_data():
    from emnist_lib.loaders import load_split

    ds = load_split("digits", "synthetic", 300, 0, 0)
    x_tr, y_tr, x_val, y_val = ds.validation_split(0.2, seed=0)
    return search.SearchData(x_tr, y_tr, x_val, y_val, ds.num_classes, ds.provenance)


def _trials(study):
    return [(t.number, t.state.name, t.params, t.value, t.intermediate_values,
             (t.user_attrs.get("result") or {}).get("val_accuracy")) for t in study.get_trials(deepcopy=False)]


def test_batches_of_one_are_the_search_one_worker_runs(tmp_path, monkeypatch):
    """The notebook's search (this process samples, the executor trains, batches of one) makes the trials a
    search worker makes on the shared study: same settings, same pruning decisions, same accuracies."""
    monkeypatch.setenv("EMNIST_EXECUTOR", "inline")
    data, budget = _tiny_data(), search.Budget(epochs=3, batch_size=64, seed=0)
    worker = search.open_storage(None, tmp_path / "worker", "s")
    search.run_worker("s", "mlp", data, 6, worker, budget, seed=3)
    batched = search.open_storage(None, tmp_path / "batched", "s")
    out = search.run_batches("s", "mlp", data, 6, batched, budget, seed=3, batch=1)
    a, b = (search.create_or_load("s", "mlp", s, 3) for s in (worker, batched))
    assert _trials(a) == _trials(b)
    assert out["complete"] + out["pruned"] == 6 and out["pruned"] >= 1  # the median rule had something to decide
    record = b.best_trial.user_attrs["record"]
    assert record["data"]["source"] == "synthetic" and "data_dir" in record["environment"]


def test_a_batch_below_one_is_a_clear_error(tmp_path):
    storage = search.open_storage(None, tmp_path, "s")
    with pytest.raises(search.SearchError, match="search batch 0"):
        search.run_batches("s", "mlp", _tiny_data(), 2, storage, batch=0)
