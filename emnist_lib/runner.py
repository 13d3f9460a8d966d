"""Run the study's notebooks with papermill for a profile, then build the report.

One YAML of parameters per notebook per profile (``params/<profile>/<notebook>.yaml``).
A key the notebook does not declare in its ``parameters`` cell is an error
(papermill itself only warns). Before anything trains, every run's budget is
checked (:func:`check_budgets`): a profile whose runs cannot leave chance is an
error naming the notebook, the parameter and the minimum. ``dry_run`` executes a
profile's every code path at a tiny size (CI runs the full profile that way). Executed notebooks are kept in the profile's
output folder; a failure names the notebook, the cell and the error, keeps the
partial executed notebook, and makes the run exit non-zero.
"""

from __future__ import annotations

import ast
import contextlib
import json
import math
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
import yaml

from . import config

KERNEL = "python3"
# Notebooks executed at once unless --jobs says otherwise: one. Two at once on two local workers made the quick
# profile 1.09x faster than one at a time; its first two builds each had one run of 249 with other numbers than the
# sequential build (fixed since: training._PerThreadRandom), and both builds after the fix matched in 249 of 249.
# One at a time stays the default until more builds agree (docs/DESIGN.md, "Notebooks at once").
DEFAULT_JOBS = 1


def notebook_paths(selected: list[str] | None = None) -> list[Path]:
    paths = sorted(config.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
    if selected:
        paths = [p for p in paths if any(p.stem.startswith(s) for s in selected)]
        if not paths:
            raise ValueError(f"no notebook matches {selected}; have {[p.stem for p in notebook_paths()]}")
    return paths


def parameters_cell(nb) -> tuple[int, dict]:
    """Index and literal values of the cell tagged ``parameters``."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            values = {}
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                    values[node.target.id] = ast.literal_eval(node.value)
                elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    values[node.targets[0].id] = ast.literal_eval(node.value)
                else:
                    raise ValueError(f"parameters cell may hold only literal assignments: {ast.unparse(node)}")
            return i, values
    raise ValueError("no cell tagged 'parameters'")


def load_params(notebook: Path, profile: str) -> dict:
    """The profile's parameters for ``notebook``, checked against the declared names."""
    path = config.PARAMS_DIR / profile / f"{notebook.stem}.yaml"
    params = {}
    if path.exists():
        params = yaml.safe_load(path.read_text()) or {}
        if not isinstance(params, dict):
            raise ValueError(f"{path}: expected a mapping of parameter names to values")
    _, declared = parameters_cell(nbformat.read(notebook, as_version=4))
    unknown = sorted(set(params) - set(declared))
    if unknown:
        raise ValueError(f"{path}: parameter(s) {', '.join(unknown)} are not declared in {notebook.name} "
                         f"(declared: {', '.join(sorted(declared))})")
    return params


# A run needs at least this many optimizer steps per class to leave chance; far fewer
# (the committed report once trained ResNets for 55 steps on 47 classes) scores at chance.
MIN_STEPS_PER_CLASS = 5
VALIDATION_FRACTION = 0.1
LARGEST_AUTO_BATCH = 512  # batch_size 0 (automatic) is at most this (a GPU's)


def _split_facts(kind: str, params: dict) -> tuple[int, int]:
    """(full training size, classes) of the data a budget entry trains on."""
    from .splits import get_split

    if kind == "mnist":
        return 60_000, 10
    if kind == "alphadigits":
        return 760, 26
    spec = get_split(params.get("split", "letters") if kind == "split" else kind)
    return spec.train_size, spec.num_labels


def run_budgets(notebook: str, params: dict, declared: dict) -> list[dict]:
    """Each training budget ``notebook`` would run with ``params`` (declared defaults filled in), from
    its chapter's :class:`~emnist_lib.chapters.TrainingBudget` entries:
    ``{"size_param", "epochs_param", "steps", "minimum", "classes"}``."""
    from .chapters import get

    values = {**declared, **params}
    out = []
    for entry in get(notebook).budgets:
        full, classes = _split_facts(entry.data, values)
        n = (values.get(entry.size) or full) if entry.size else full
        batch = values.get(entry.batch) or LARGEST_AUTO_BATCH
        held = values.get("validation_fraction", VALIDATION_FRACTION)
        steps = values[entry.epochs] * math.ceil(n * (1 - held) / batch)
        out.append({"size_param": entry.size, "epochs_param": entry.epochs, "batch_param": entry.batch, "steps": steps,
                    "minimum": MIN_STEPS_PER_CLASS * classes, "classes": classes, "images": n,
                    "epochs": values[entry.epochs], "batch": batch, "held_out": held})
    return out


def check_params(profile: str, plan: list[tuple[Path, dict]]) -> None:
    """Refuse, before anything trains, parameters no claim can be drawn from: duplicate seeds, fewer seeds than a
    paired comparison needs, a declared reference that is not one of the variants (the chapter's own check)."""
    from .chapters import get

    for path, params in plan:
        _, declared = parameters_cell(nbformat.read(path, as_version=4))
        values, chapter, where = {**declared, **params}, get(path.stem), f"params/{profile}/{path.stem}.yaml"
        seeds = values.get("seeds")
        if seeds is not None:
            if len(set(seeds)) != len(seeds):
                raise ValueError(f"{where}: seeds {seeds} repeat a seed; a repeated seed is the same run twice, "
                                 "not another sample: list distinct seeds")
            if len(seeds) < chapter.min_seeds:
                raise ValueError(f"{where}: seeds {seeds}: the comparisons of {path.stem} pair recipes over seeds and "
                                 f"need at least {chapter.min_seeds}; list more seeds")
        problems = chapter.check(values) if chapter.check else []
        if problems:
            raise ValueError(f"{where}: " + "; ".join(problems))


def check_budgets(profile: str, plan: list[tuple[Path, dict]]) -> None:
    """Refuse a profile whose runs are too short to leave chance, before anything trains."""
    for path, params in plan:
        _, declared = parameters_cell(nbformat.read(path, as_version=4))
        for b in run_budgets(path.stem, params, declared):
            if b["steps"] < b["minimum"]:
                size = f"{b['size_param']}={b['images']}" if b["size_param"] else f"{b['images']} training images"
                raise ValueError(
                    f"params/{profile}/{path.stem}.yaml: notebook {path.stem} would train for {b['steps']} optimizer "
                    f"steps ({b['epochs_param']}={b['epochs']} epochs of {size}, {100 * (1 - b['held_out']):.0f}% after the "
                    "validation split, "
                    f"at {b['batch_param']}={b['batch']}), below the minimum of "
                    f"{b['minimum']} ({MIN_STEPS_PER_CLASS} per class x {b['classes']} classes) needed to leave "
                    f"chance; raise {b['epochs_param']} or {b['size_param'] or 'the data'}, or lower {b['batch_param']}")


# A dry run keeps a profile's every setting (models, widths, ablations, folds) and shrinks only
# what costs time: data sizes, epochs and seeds.
DRY_SIZES = {"search_trials": 2, "n_train": 940, "n_test": 235, "letters_train": 260, "letters_test": 130, "balanced_train": 470,
             "balanced_test": 235, "mnist_train": 200, "mnist_test": 100}


def dry_run_params(params: dict, declared: dict) -> dict:
    """``params`` at dry-run size: tiny data, one epoch, the first seed, at most 2 folds."""
    out = dict(params)
    for key in declared:
        if key in DRY_SIZES:
            out[key] = DRY_SIZES[key]
        elif key in ("epochs", "source_epochs"):
            out[key] = 1
        elif key == "seeds":
            out[key] = list((params.get(key) or declared[key])[:1])
        elif key == "budget_check_seeds":  # only seeds the shrunk run trains (a budget check pairs with them)
            seeds = list((params.get("seeds") or declared.get("seeds") or [])[:1])
            out[key] = [s for s in (params.get(key) or declared[key]) if s in seeds][:1]
        elif key == "folds":
            out[key] = 2
        elif key == "curve_sizes":  # a learning curve of one small size (the shrunk data holds ~16 per class)
            out[key] = [5] if (params.get(key) or declared[key]) else []
        elif key == "curve_seeds":
            out[key] = list((params.get(key) or declared[key])[:1])
    return out


def _failed_cell(executed: Path) -> str:
    try:
        nb = nbformat.read(executed, as_version=4)
    except Exception:  # noqa: BLE001
        return "unknown cell"
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
                return f"cell {i} ({first[:60]!r}): {out.get('ename')}: {out.get('evalue')}"
    return "unknown cell"


def _clear_outputs(out: Path, notebook: str) -> None:
    """Remove a notebook's earlier records and figures before it runs again, so a report never
    mixes runs of two versions of a notebook."""
    for pattern in (f"{notebook}__*.json", f"{notebook}_*.png", f"{notebook}_*.svg"):
        for folder in (config.records_dir(out), config.figures_dir(out)):
            for stale in folder.glob(pattern):
                stale.unlink()


def _clear_all_outputs(out: Path) -> None:
    """Remove every notebook's earlier records and figures (those of notebooks that no longer exist too): a whole
    profile starts from an empty results folder."""
    for nb in {p.stem for p in notebook_paths()} | {r.name.split("__")[0] for r in config.records_dir(out).glob("*.json")}:
        _clear_outputs(out, nb)


@contextlib.contextmanager
def executor_for_kernels(name: str | None):
    """Where the notebooks' runs execute (:mod:`emnist_lib.executors`), for the kernels papermill starts (they
    inherit this process's environment; no name: :data:`~emnist_lib.executors.STUDY_DEFAULT`). ``local:N`` starts
    one loopback Dask cluster for the whole profile, so its
    workers stay warm across notebooks; an address is checked before anything runs; the threads per run default to 1
    wherever runs share the machine. A bad name or an unreachable scheduler raises before any notebook starts."""
    from . import executors

    spec = executors.parse(name or os.environ.get("EMNIST_EXECUTOR") or executors.STUDY_DEFAULT)
    saved = {k: os.environ.get(k) for k in ("EMNIST_EXECUTOR", "EMNIST_THREADS")}
    cluster = None
    try:
        if spec.kind != "inline":
            os.environ.setdefault("EMNIST_THREADS", "1")
            executors.threads_per_run()  # a bad EMNIST_THREADS, before anything starts
        if spec.kind == "local":
            cluster = executors.local_cluster(spec.workers)
            os.environ["EMNIST_EXECUTOR"] = cluster.scheduler_address
        elif spec.kind == "address":
            executors.client(spec)  # reachable, or a clear error now
            os.environ["EMNIST_EXECUTOR"] = spec.address
        else:
            os.environ["EMNIST_EXECUTOR"] = "inline"
        yield spec
    finally:
        executors.close_all()
        if cluster is not None:
            cluster.close()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


LOG_NAME = "run.log"  # under the profile's output folder: everything a quiet run does not show


@contextlib.contextmanager
def quiet_output(log: Path, verbose: bool):
    """Unless ``verbose``, send this process's standard error, and so that of every process it starts (the notebook
    kernels, TensorFlow's C++ logs, oneDNN's notices, ipykernel's and Dask's messages), to ``log``: a run then shows
    only what :func:`_run_profile` prints to standard output. The file descriptor is redirected, not just
    ``sys.stderr``, so the child processes inherit it."""
    if verbose:
        yield None
        return
    import sys

    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    with open(log, "ab", buffering=0) as f:
        os.dup2(f.fileno(), 2)
        try:
            yield log
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


# Seconds a notebook cell may run before it is stopped, per profile: a guard against a hang, not a budget. The
# preview's cells take minutes; an EMNIST-scale cell trains a whole comparison (up to about 25 minutes alone on two
# cores, longer while another notebook shares the workers: chapter 05 passed 30 minutes so with --jobs 2). A dead
# cluster is caught by the executor itself (executors.WORKER_WAIT_S), so the long profiles' guard is generous.
CELL_TIMEOUT_S = {"smoke": 1800, "quick": 1800}
LONG_CELL_TIMEOUT_S = 6 * 3600


def cell_timeout(profile: str, given: int | None = None, dry_run: bool = False) -> int:
    """The per-cell timeout: ``given`` (``--cell-timeout``), else :data:`CELL_TIMEOUT_S` for the short profiles
    and dry runs, else :data:`LONG_CELL_TIMEOUT_S`."""
    if given is not None:
        if given < 1:
            raise ValueError(f"--cell-timeout {given}: give a number of seconds, 1 or more")
        return given
    return CELL_TIMEOUT_S["quick"] if dry_run else CELL_TIMEOUT_S.get(profile, LONG_CELL_TIMEOUT_S)


def run_profile(profile: str, notebooks: list[str] | None = None, verbose: bool = False,
                timeout: int | None = None, dry_run: bool = False, executor: str | None = None,
                jobs: int | None = None) -> int:
    """Execute the notebooks of ``profile`` in order and build the report. Returns an exit code.

    ``dry_run`` runs every notebook's code path with the profile's settings at a tiny size
    (:func:`dry_run_params`) into ``build/dry-run-<profile>``: a check of the code, not results. ``executor``:
    where the runs of each comparison execute (:func:`executor_for_kernels`); ``jobs``: notebooks executed at once
    (:func:`run_notebooks`; default :data:`DEFAULT_JOBS`). Unless ``verbose``, the run is quiet:
    one line per notebook with an estimate, a bar of its runs, the warnings a user must act on, and the rest in
    ``<output folder>/run.log``, which the last line names."""
    from . import executors

    executors.parse(executor or os.environ.get("EMNIST_EXECUTOR") or executors.STUDY_DEFAULT)  # a bad name: now
    if jobs is not None and jobs < 1:
        raise ValueError(f"--jobs {jobs}: run 1 or more notebooks at a time")
    timeout = cell_timeout(profile, timeout, dry_run)
    out = config.BUILD_DIR / f"dry-run-{profile}" if dry_run and not os.environ.get("EMNIST_OUTPUT_DIR") else \
        config.output_dir(profile)
    log = out / LOG_NAME
    if not verbose and log.exists():
        log.unlink()
    with quiet_output(log, verbose) as quiet:
        with executor_for_kernels(executor) as spec:
            jobs = jobs or DEFAULT_JOBS
            if spec.kind != "inline":
                print(f"[{profile}] runs execute on {spec} ({os.environ['EMNIST_EXECUTOR']}), "
                      f"{os.environ['EMNIST_THREADS']} thread(s) per run"
                      + (f"; {jobs} notebooks at a time" if jobs > 1 else ""), flush=True)
            code = _run_profile(profile, notebooks, verbose, timeout, dry_run, str(spec), jobs)
    if quiet:
        print(f"[{profile}] everything else (TensorFlow, kernels, workers) is in {quiet}; --verbose shows it",
              flush=True)
    return code


def _run_profile(profile: str, notebooks: list[str] | None, verbose: bool, timeout: int, dry_run: bool,
                 executor: str = "inline", jobs: int = 1) -> int:
    import papermill as pm

    os.environ.setdefault("EMNIST_PROGRESS", "0")  # the kernels inherit it: executed notebooks hold no bars
    out = config.output_dir(profile)
    if dry_run and not os.environ.get("EMNIST_OUTPUT_DIR"):
        out = config.BUILD_DIR / f"dry-run-{profile}"  # never over a profile's real results
    (out / "notebooks").mkdir(parents=True, exist_ok=True)
    paths = notebook_paths(notebooks)
    plan = [(p, load_params(p, profile)) for p in paths]  # check every file before running anything
    if dry_run:
        plan = [(p, dry_run_params(params, parameters_cell(nbformat.read(p, as_version=4))[1])) for p, params in plan]
    elif profile != "smoke":  # smoke checks the code path in seconds; it is never a result
        check_budgets(profile, plan)
        check_params(profile, plan)
    timings_path = out / "timings.json"
    last = json.loads(timings_path.read_text()) if timings_path.exists() else {}  # the estimates
    if notebooks is None:  # the whole profile: no record of an older run
        _clear_all_outputs(out)
    timings, counts, warned, failed, lock = {}, {}, set(), [], threading.Lock()

    def run_one(path: Path, params: dict, *before: str) -> str:
        """Execute one notebook: "ok", "failed", or "skipped" (a notebook it follows did not finish, or another
        failed first: nothing new starts after a failure)."""
        if any(b != "ok" for b in before) or failed:
            return "skipped"
        executed = out / "notebooks" / path.name
        params = {**params, "output_dir": str(out)}
        _clear_outputs(out, path.stem)
        start = time.perf_counter()
        estimate = last.get("notebooks", {}).get(path.stem)
        print(f"[{profile}] {path.stem}{f' (about {_duration(estimate)} last time)' if estimate else ''} ...", flush=True)
        try:
            with _records_bar(out, path.stem, last.get("records", {}).get(path.stem), enabled=not verbose and jobs == 1):
                pm.execute_notebook(str(path), str(executed), parameters=params, kernel_name=KERNEL,
                                    cwd=str(config.NOTEBOOKS_DIR), execution_timeout=timeout,
                                    log_output=verbose, progress_bar=verbose and jobs == 1, report_mode=False)
        except Exception as exc:  # noqa: BLE001 - papermill raises PapermillExecutionError and others
            with lock:
                failed.append(path.stem)
                print(f"[{profile}] FAILED {path.name}: {_failed_cell(executed)}\n"
                      f"  partial executed notebook kept at {executed}\n  ({type(exc).__name__})", flush=True)
            return "failed"
        with lock:
            timings[path.stem] = round(time.perf_counter() - start, 1)
            counts[path.stem] = len(list(config.records_dir(out).glob(f"{path.stem}__*.json")))
            for warning in user_warnings(executed):
                if warning not in warned:  # each kernel warns again: once per run is enough
                    warned.add(warning)
                    print(f"[{profile}]   WARNING {warning}", flush=True)
            print(f"[{profile}] {path.stem} done in {_duration(timings[path.stem])} ({counts[path.stem]} records)",
                  flush=True)
        return "ok"

    started = time.perf_counter()
    states = run_notebooks(plan, run_one, jobs)
    wall = round(time.perf_counter() - started, 1)
    if "failed" in states.values():
        skipped = [n for n, state in states.items() if state == "skipped"]
        if skipped:
            print(f"[{profile}] not run after the failure: {', '.join(skipped)}", flush=True)
        return 1
    # Merge: a partial run (--notebooks) updates its notebooks' timings and keeps the others.
    known, known_counts = last.get("notebooks", {}), last.get("records", {})
    known.update(timings)
    known_counts.update(counts)
    # total_s: the notebooks' times added up; wall_s: this run's wall time (less when notebooks ran at once).
    timings_path.write_text(json.dumps({"profile": profile, "notebooks": known, "records": known_counts,
                                        "executor": executor, "jobs": jobs, "total_s": round(sum(known.values()), 1),
                                        "wall_s": wall}, indent=1, sort_keys=True))
    from .report import build_report

    paths = build_report(out, f"{profile} (dry run)" if dry_run else profile)
    print(f"[{profile}] report: {', '.join(str(p) for p in paths)}")
    return 0


def notebook_order(names: list[str]) -> dict[str, list[str]]:
    """For each of ``names`` (notebook stems), those among them that must finish before it starts: of a notebook
    and one whose records it reads (:attr:`Chapter.reads <emnist_lib.chapters.Chapter>`), the one first in the
    study's order runs first, as in a sequential run, so each sees exactly the records it would see there."""
    from . import chapters

    reads = {c.notebook: c.reads for c in chapters.CHAPTERS}  # a notebook that is no chapter reads nothing
    before: dict[str, set[str]] = {n: set() for n in names}
    for name in names:
        for other in reads.get(name, ()):
            if other in before:
                first, then = sorted((name, other))
                before[then].add(first)
    return {n: sorted(b) for n, b in before.items()}


def run_notebooks(plan: list[tuple[Path, dict]], run_one: Callable[..., str], jobs: int = 1) -> dict[str, str]:
    """``run_one(path, params, *states of the notebooks it follows)`` for every notebook of ``plan``, at most ``jobs``
    at a time, each once those :func:`notebook_order` puts before it have finished; returns each notebook's state.
    Of the notebooks ready to start, the first in the plan (the study's order) starts first, so one at a time is the
    sequential run, and chapter 00, which 04, 05 and then 08 wait for, starts at once. The dependency graph is the
    standard library's (``graphlib``), the threads ``concurrent.futures``' (papermill waits on each kernel in its own
    thread; the runs the kernels train go to the study's executor)."""
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
    from graphlib import TopologicalSorter

    by_name = {p.stem: (p, params) for p, params in plan}
    rank = {name: i for i, name in enumerate(by_name)}
    before = notebook_order(list(by_name))
    graph = TopologicalSorter(before)
    graph.prepare()
    states: dict[str, str] = {}
    ready: list[str] = []
    running: dict = {}
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="notebook") as pool:
        while graph.is_active():
            ready = sorted([*ready, *graph.get_ready()], key=rank.__getitem__)
            while ready and len(running) < jobs:
                name = ready.pop(0)
                running[pool.submit(run_one, *by_name[name], *(states[b] for b in before[name]))] = name
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                name = running.pop(future)
                states[name] = future.result()
                graph.done(name)
    return {name: states[name] for name in by_name}


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


@contextlib.contextmanager
def _records_bar(out: Path, notebook: str, expected: int | None, enabled: bool):
    """A progress bar of the records ``notebook`` writes while it runs (out of as many as last time), on a
    terminal; nothing elsewhere (a log file, CI)."""
    import sys
    import threading

    if not enabled or not sys.stdout.isatty():
        yield
        return
    from tqdm import tqdm

    folder, stop = config.records_dir(out), threading.Event()
    bar = tqdm(total=expected, desc=f"  {notebook}", unit="record", file=sys.stdout, leave=False)

    def poll():
        while not stop.wait(1.0):
            bar.n = len(list(folder.glob(f"{notebook}__*.json")))
            bar.refresh()

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        bar.close()


def user_warnings(executed: Path) -> list[str]:
    """The warnings this package raised while a notebook ran (data fell back to synthetic, a setting that
    cannot be honoured), each once, from the executed notebook's outputs: what a quiet run must still show."""
    import re

    if not executed.exists():
        return []
    found = []
    for cell in nbformat.read(executed, as_version=4).cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                for m in re.finditer(r"StudyWarning: ([^\n]*)", output.get("text", "")):
                    text = m.group(1).strip()
                    if text not in found:
                        found.append(text)
    return found


def refresh_stored_notebooks(selected: list[str] | None = None, timeout: int = 1800) -> int:
    """Re-execute the notebooks in ``notebooks/`` with no parameters (the smoke defaults) and store
    their outputs in place: the nbval reference. Executes to ``build/refresh/`` first, so a failing
    notebook never overwrites its stored copy."""
    import shutil

    import papermill as pm

    os.environ.setdefault("EMNIST_PROGRESS", "0")
    tmp = config.BUILD_DIR / "refresh"
    tmp.mkdir(parents=True, exist_ok=True)
    if selected is None:  # all of them: no record of an older run (the notebooks write to the smoke folder)
        _clear_all_outputs(config.output_dir("smoke"))
    for path in notebook_paths(selected):
        print(f"[refresh] {path.stem} ...", flush=True)
        out = tmp / path.name
        try:
            pm.execute_notebook(str(path), str(out), kernel_name=KERNEL, cwd=str(config.NOTEBOOKS_DIR),
                                execution_timeout=timeout, progress_bar=False)
        except Exception:  # noqa: BLE001
            print(f"[refresh] FAILED {path.name}: {_failed_cell(out)}; stored copy left unchanged", flush=True)
            return 1
        shutil.copyfile(out, path)
    return 0
