"""The papermill runner: a failing notebook is named with its cell and error, and its partial output kept."""

import nbformat
import pytest

from emnist_lib import config
from emnist_lib.runner import run_profile


def _notebook(path, cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell('output_dir: str = ""  # set by the runner')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(c) for c in cells)]
    nbformat.write(nb, path)


def test_failure_names_notebook_cell_and_error_and_keeps_partial_output(tmp_path, monkeypatch, capsys):
    nbs, params, out = tmp_path / "notebooks", tmp_path / "params", tmp_path / "out"
    nbs.mkdir()
    (params / "smoke").mkdir(parents=True)
    _notebook(nbs / "00_ok.ipynb", ["print('fine')"])
    _notebook(nbs / "01_broken.ipynb", ["x = 1", "raise ValueError('boom in cell')"])
    monkeypatch.setattr(config, "NOTEBOOKS_DIR", nbs)
    monkeypatch.setattr(config, "PARAMS_DIR", params)
    monkeypatch.setenv("EMNIST_OUTPUT_DIR", str(out))
    assert run_profile("smoke") == 1
    text = capsys.readouterr().out
    assert "00_ok done" in text
    assert "FAILED 01_broken.ipynb: cell" in text and "ValueError: boom in cell" in text
    assert (out / "notebooks" / "01_broken.ipynb").exists()


def test_a_budget_too_small_to_leave_chance_is_refused_before_training(tmp_path, monkeypatch):
    import yaml

    from emnist_lib.runner import check_budgets, load_params, notebook_paths

    (tmp_path / "quick").mkdir()
    (tmp_path / "quick" / "05_architectures.yaml").write_text(yaml.safe_dump({"n_train": 470, "epochs": 1,
                                                                                "batch_size": 128}))
    monkeypatch.setattr(config, "PARAMS_DIR", tmp_path)
    plan = [(p, load_params(p, "quick")) for p in notebook_paths(["05"])]
    import pytest

    with pytest.raises(ValueError, match=r"params/quick/05_architectures.yaml: notebook 05_architectures would "
                                         r"train for 4 optimizer steps \(epochs=1 epochs of n_train=470.*minimum "
                                         r"of 235 \(5 per class x 47 classes\).*raise epochs or n_train"):
        check_budgets("quick", plan)


def test_the_committed_profiles_pass_the_budget_check():
    from emnist_lib.runner import check_budgets, load_params, notebook_paths

    for profile in ("quick", "full"):
        check_budgets(profile, [(p, load_params(p, profile)) for p in notebook_paths()])


def test_dry_run_keeps_settings_and_shrinks_only_cost():
    from emnist_lib.runner import dry_run_params, load_params, parameters_cell

    path = config.NOTEBOOKS_DIR / "05_architectures.ipynb"
    full = load_params(path, "full")
    dry = dry_run_params(full, parameters_cell(nbformat.read(path, as_version=4))[1])
    assert dry["model_names"] == full["model_names"] and dry["model_kwargs"] == full["model_kwargs"]
    assert dry["epochs"] == 1 and dry["seeds"] == [0] and dry["n_train"] == 940


def test_a_whole_profile_starts_from_no_records_and_a_partial_run_keeps_the_others(tmp_path, monkeypatch):
    import papermill

    from emnist_lib import report

    nbs, params, out = tmp_path / "notebooks", tmp_path / "params", tmp_path / "out"
    nbs.mkdir()
    (params / "smoke").mkdir(parents=True)
    for name in ("00_a", "01_b"):
        _notebook(nbs / f"{name}.ipynb", ["pass"])
    monkeypatch.setattr(config, "NOTEBOOKS_DIR", nbs)
    monkeypatch.setattr(config, "PARAMS_DIR", params)
    monkeypatch.setenv("EMNIST_OUTPUT_DIR", str(out))
    monkeypatch.setattr(papermill, "execute_notebook", lambda *a, **k: None)  # the runner's bookkeeping only
    monkeypatch.setattr(report, "build_report", lambda *a: (out / "report.md", out / "report.html"))
    results = out / "results"
    results.mkdir(parents=True)
    for stale in ("00_a__old.json", "01_b__old.json", "99_gone__old.json"):
        (results / stale).write_text("{}")
    assert run_profile("smoke", notebooks=["01"]) == 0
    assert sorted(p.name for p in results.iterdir()) == ["00_a__old.json", "99_gone__old.json"]
    assert run_profile("smoke") == 0
    assert list(results.iterdir()) == []  # an older run's records never mix with this one's


def _plan(tmp_path, monkeypatch, notebook, values):
    import yaml

    from emnist_lib.runner import load_params

    (tmp_path / "quick").mkdir(exist_ok=True)
    (tmp_path / "quick" / f"{notebook}.yaml").write_text(yaml.safe_dump(values))
    monkeypatch.setattr(config, "PARAMS_DIR", tmp_path)
    path = config.NOTEBOOKS_DIR / f"{notebook}.ipynb"
    return [(path, load_params(path, "quick"))]


def test_a_declared_reference_that_is_not_a_variant_is_refused_before_training(tmp_path, monkeypatch):
    import pytest

    from emnist_lib.runner import check_params

    plan = _plan(tmp_path, monkeypatch, "05_architectures", {"seeds": [0, 1], "reference": "resnet50"})
    with pytest.raises(ValueError, match=r"params/quick/05_architectures.yaml: reference 'resnet50' is not one of "
                                         r"model_names \(deep_cnn_se, mobilenet_small, vit_small\)"):
        check_params("quick", plan)
    plan = _plan(tmp_path, monkeypatch, "04_regularisation_tuning", {"seeds": [0, 1], "ablation_names": ["dropout=0.3"]})
    with pytest.raises(ValueError, match="declared reference 'baseline' is not among them"):
        check_params("quick", plan)


def test_duplicate_seeds_or_too_few_for_a_paired_comparison_are_refused(tmp_path, monkeypatch):
    import pytest

    from emnist_lib.runner import check_params

    with pytest.raises(ValueError, match=r"03_cnn_depth.yaml: seeds \[0, 1, 1\] repeat a seed"):
        check_params("quick", _plan(tmp_path, monkeypatch, "03_cnn_depth", {"seeds": [0, 1, 1]}))
    with pytest.raises(ValueError, match=r"03_cnn_depth.yaml: seeds \[0\]: the comparisons of 03_cnn_depth pair "
                                         r"recipes over seeds and need at least 2"):
        check_params("quick", _plan(tmp_path, monkeypatch, "03_cnn_depth", {"seeds": [0]}))
    check_params("quick", _plan(tmp_path, monkeypatch, "01_chollet_baselines", {"seeds": [0]}))  # models, not recipes


# --------------------------------------------------------------------------- a quiet run
def test_a_quiet_run_sends_child_processes_noise_to_its_log_and_restores_stderr(tmp_path, capfd):
    import subprocess
    import sys

    from emnist_lib.runner import quiet_output

    log = tmp_path / "run.log"
    with quiet_output(log, verbose=False) as where:
        subprocess.run([sys.executable, "-c", "import sys; print('E0000 tensorflow noise', file=sys.stderr)"],
                       check=True)
        print("the study's own line", flush=True)
    assert where == log and "E0000 tensorflow noise" in log.read_text()
    out, err = capfd.readouterr()
    assert out == "the study's own line\n" and "noise" not in err
    subprocess.run([sys.executable, "-c", "import sys; print('after', file=sys.stderr)"], check=True)
    assert "after" in capfd.readouterr().err  # standard error is back
    with quiet_output(log, verbose=True) as where:
        assert where is None


def test_a_quiet_run_still_shows_the_package_warnings_once_each(tmp_path):
    import nbformat

    from emnist_lib.runner import user_warnings

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("load()")
    noise = "/x/keras/layers.py:12: UserWarning: Do not pass an `input_shape`\n"
    ours = ("/x/emnist_lib/data.py:283: StudyWarning: Real EMNIST is not available: using the SYNTHETIC "
            "handwriting.\n  warnings.warn(\n")
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text=noise + ours + ours)]
    nb.cells.append(cell)
    path = tmp_path / "executed.ipynb"
    nbformat.write(nb, path)
    assert user_warnings(path) == ["Real EMNIST is not available: using the SYNTHETIC handwriting."]
    assert user_warnings(tmp_path / "missing.ipynb") == []


# --------------------------------------------------------------------------- notebooks at once
def test_a_notebook_follows_those_whose_records_it_reads_in_the_study_order():
    from emnist_lib import chapters
    from emnist_lib.runner import notebook_order

    names = [c.notebook for c in chapters.CHAPTERS]
    order = notebook_order(names)
    assert order["03_cnn_depth"] == ["02_dnn_learning_rules"]
    assert order["08_final_evaluation"] == ["02_dnn_learning_rules", "04_regularisation_tuning"]
    # 00's conclusion reads 04's and 05's twins when they exist: in a sequential run it never sees them.
    assert order["04_regularisation_tuning"] == order["05_architectures"] == ["00_data"]
    assert order["00_data"] == order["01_chollet_baselines"] == []
    assert notebook_order(["08_final_evaluation", "05_architectures"]) == {"08_final_evaluation": [],
                                                                          "05_architectures": []}


def test_every_record_a_chapter_reads_from_another_is_declared():
    """A chapter that uses another chapter module's names (a record key, a group, a variant) reads its records: it
    must say so in ``reads``, or notebooks run at once could see them half-written or not at all. (Its NOTEBOOK
    and WORDING are words, not records.)"""
    import ast
    import inspect

    from emnist_lib import chapters

    for chapter in chapters.CHAPTERS:
        module = inspect.getmodule(chapter.findings)
        tree = ast.parse(inspect.getsource(module))
        aliases = {a.asname or a.name: a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                   for a in node.names if a.name.startswith("c0") and a.name != module.__name__.rsplit(".", 1)[1]}
        used = {aliases[n.value.id] for n in ast.walk(tree) if isinstance(n, ast.Attribute)
                and isinstance(n.value, ast.Name) and n.value.id in aliases and n.attr not in ("NOTEBOOK", "WORDING")}
        assert {u[1:] for u in used} == set(chapter.reads), chapter.notebook


def _paths(*names):
    from pathlib import Path

    return [(Path(f"{n}.ipynb"), {}) for n in names]


def test_notebooks_at_once_start_after_what_they_read_and_overlap_otherwise():
    import threading
    import time

    from emnist_lib.runner import run_notebooks

    events, lock = [], threading.Lock()

    def run_one(path, params, *before):
        with lock:
            events.append(("start", path.stem))
        time.sleep(0.3)
        with lock:
            events.append(("end", path.stem))
        return "ok"

    plan = _paths("00_data", "01_chollet_baselines", "02_dnn_learning_rules", "03_cnn_depth",
                  "04_regularisation_tuning", "08_final_evaluation")
    states = run_notebooks(plan, run_one, jobs=2)
    assert set(states.values()) == {"ok"} and len(states) == 6
    at = {e: i for i, e in enumerate(events)}
    for later, first in (("03_cnn_depth", "02_dnn_learning_rules"), ("04_regularisation_tuning", "00_data"),
                         ("08_final_evaluation", "04_regularisation_tuning")):
        assert at[("start", later)] > at[("end", first)]
    running = max(sum(1 if kind == "start" else -1 for kind, _ in events[:i + 1]) for i in range(len(events)))
    assert running == 2  # two at a time, never more
    events.clear()
    run_notebooks(plan, run_one, jobs=1)
    assert [n for kind, n in events if kind == "start"] == [p.stem for p, _ in plan]


def test_after_a_failure_its_readers_and_new_notebooks_do_not_start():
    from emnist_lib.runner import run_notebooks

    def run_one(path, params, *before):
        if any(b != "ok" for b in before):
            return "skipped"
        return "failed" if path.stem == "02_dnn_learning_rules" else "ok"

    states = run_notebooks(_paths("02_dnn_learning_rules", "03_cnn_depth"), run_one, jobs=2)
    assert states == {"02_dnn_learning_rules": "failed", "03_cnn_depth": "skipped"}


def test_a_job_count_below_one_is_refused_before_anything_runs(monkeypatch):
    import pytest

    with pytest.raises(ValueError, match="--jobs 0: run 1 or more notebooks"):
        run_profile("smoke", jobs=0)


def test_the_cell_timeout_is_a_hang_guard_sized_to_the_profile():
    """An EMNIST-scale cell trains a whole comparison: with --jobs 2, chapter 05's ran past the former 30-minute
    limit and was stopped mid-study. The long profiles' guard is hours; the preview's stays 30 minutes."""
    from emnist_lib.runner import cell_timeout

    assert cell_timeout("quick") == cell_timeout("smoke") == 1800
    assert cell_timeout("emnist") >= 4 * 3600 and cell_timeout("full") >= 4 * 3600
    assert cell_timeout("emnist", dry_run=True) == 1800
    assert cell_timeout("emnist", 60) == 60
    with pytest.raises(ValueError, match="--cell-timeout 0"):
        cell_timeout("quick", 0)
