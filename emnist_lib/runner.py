"""Run the study's notebooks with papermill for a profile, then build the report.

One YAML of parameters per notebook per profile (``params/<profile>/<notebook>.yaml``).
A key the notebook does not declare in its ``parameters`` cell is an error
(papermill itself only warns). Executed notebooks are kept in the profile's
output folder; a failure names the notebook, the cell and the error, keeps the
partial executed notebook, and makes the run exit non-zero.
"""

from __future__ import annotations

import ast
import json
import time
from pathlib import Path

import nbformat
import yaml

from . import config

KERNEL = "python3"


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


def run_profile(profile: str, notebooks: list[str] | None = None, verbose: bool = False,
                timeout: int = 1800) -> int:
    """Execute the notebooks of ``profile`` in order and build the report. Returns an exit code."""
    import papermill as pm

    out = config.output_dir(profile)
    (out / "notebooks").mkdir(parents=True, exist_ok=True)
    paths = notebook_paths(notebooks)
    plan = [(p, load_params(p, profile)) for p in paths]  # check every file before running anything
    timings = {}
    for path, params in plan:
        executed = out / "notebooks" / path.name
        params = {**params, "output_dir": str(out)}
        start = time.perf_counter()
        print(f"[{profile}] {path.stem} ...", flush=True)
        try:
            pm.execute_notebook(str(path), str(executed), parameters=params, kernel_name=KERNEL,
                                cwd=str(config.NOTEBOOKS_DIR), execution_timeout=timeout,
                                log_output=verbose, progress_bar=verbose, report_mode=False)
        except Exception as exc:  # noqa: BLE001 - papermill raises PapermillExecutionError and others
            print(f"[{profile}] FAILED {path.name}: {_failed_cell(executed)}\n"
                  f"  partial executed notebook kept at {executed}\n  ({type(exc).__name__})", flush=True)
            return 1
        timings[path.stem] = round(time.perf_counter() - start, 1)
        print(f"[{profile}] {path.stem} done in {timings[path.stem]:.1f} s", flush=True)
    # Merge: a partial run (--notebooks) updates its notebooks' timings and keeps the others.
    timings_path = out / "timings.json"
    known = json.loads(timings_path.read_text())["notebooks"] if timings_path.exists() else {}
    known.update(timings)
    timings_path.write_text(json.dumps({"profile": profile, "notebooks": known,
                                        "total_s": round(sum(known.values()), 1)}, indent=1, sort_keys=True))
    from .report import build_report

    md, html = build_report(out, profile)
    print(f"[{profile}] report: {md} and {html}")
    return 0


def refresh_stored_notebooks(selected: list[str] | None = None, timeout: int = 1800) -> int:
    """Re-execute the notebooks in ``notebooks/`` with no parameters (the smoke defaults) and store
    their outputs in place: the nbval reference. Executes to ``build/refresh/`` first, so a failing
    notebook never overwrites its stored copy."""
    import shutil

    import papermill as pm

    tmp = config.BUILD_DIR / "refresh"
    tmp.mkdir(parents=True, exist_ok=True)
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
