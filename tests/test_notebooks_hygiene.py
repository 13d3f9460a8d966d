"""Notebook hygiene: one literal parameters cell first, thin cells, no paths or magics, params files match."""

import ast
import re

import nbformat
import pytest
import yaml

from emnist_lib import config
from emnist_lib.runner import load_params, notebook_paths, parameters_cell

NOTEBOOKS = notebook_paths()
MAX_LINES = 16


def code_cells(path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def test_the_study_has_its_ten_notebooks():
    assert [p.stem[:2] for p in NOTEBOOKS] == [f"{i:02d}" for i in range(10)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exactly_one_parameters_cell_and_it_is_first(path):
    cells = code_cells(path)
    tagged = [i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", [])]
    assert tagged == [0]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_are_annotated_commented_literals(path):
    _, values = parameters_cell(nbformat.read(path, as_version=4))
    source = code_cells(path)[0].source
    for node in ast.parse(source).body:
        assert isinstance(node, ast.AnnAssign), ast.unparse(node)
    for line in source.splitlines():
        assert "#" in line, f"parameter without a comment: {line}"
    assert {"seed", "source", "output_dir"} <= set(values)
    assert values["source"] == "synthetic" and values["output_dir"] == ""  # smoke defaults, offline


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_papermill_parses_every_line_of_the_parameters_cell(path, caplog):
    """papermill's own parser (``--help-notebook``, and the check behind "Passed unknown parameter") skips a
    line holding a second '=' (even inside a string or a comment): every parameter must come out of it whole."""
    from papermill.translators import PythonTranslator

    _, values = parameters_cell(nbformat.read(path, as_version=4))
    with caplog.at_level("WARNING", logger="papermill"):
        parsed = PythonTranslator.inspect(code_cells(path)[0])
    assert not [r.getMessage() for r in caplog.records if "Unable to parse" in r.getMessage()]
    assert [p.name for p in parsed] == list(values)
    assert {p.name: ast.literal_eval(p.default) for p in parsed} == values


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_absolute_paths_sys_path_edits_or_shell_magics(path):
    for cell in code_cells(path):
        src = cell.source
        assert "sys.path" not in src
        assert not re.search(r"^\s*[!%]", src, re.M), src
        assert not re.search(r"['\"]/(home|root|tmp|work|Users)/", src), src


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_cells_are_short_and_define_no_long_functions(path):
    for cell in code_cells(path):
        lines = [l for l in cell.source.splitlines() if l.strip() and not l.strip().startswith("#")]
        # The parameters cell declares one setting a line (the profiles' YAML mirrors it): long is fine there.
        assert len(lines) <= MAX_LINES or "parameters" in cell.metadata.get("tags", []), cell.source
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.FunctionDef):
                assert node.end_lineno - node.lineno < 5, f"long def {node.name} belongs in the package"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_outputs_come_from_a_smoke_run(path):
    nb = nbformat.read(path, as_version=4)
    assert all(c.get("execution_count") for c in nb.cells if c.cell_type == "code"), "run `make notebooks` to refresh"
    assert "papermill" not in nb.metadata or not nb.metadata["papermill"].get("parameters")


@pytest.mark.parametrize("profile", config.PROFILES)
def test_every_parameter_file_key_is_declared(profile):
    for path in NOTEBOOKS:
        load_params(path, profile)  # raises on an undeclared key
    files = sorted((config.PARAMS_DIR / profile).glob("*.yaml"))
    assert {f.stem for f in files} <= {p.stem for p in NOTEBOOKS}


def test_undeclared_parameter_is_an_error(tmp_path, monkeypatch):
    (tmp_path / "quick").mkdir()
    (tmp_path / "quick" / "01_chollet_baselines.yaml").write_text(yaml.safe_dump({"epohcs": 3}))
    monkeypatch.setattr(config, "PARAMS_DIR", tmp_path)
    with pytest.raises(ValueError, match="epohcs are not declared in 01_chollet_baselines.ipynb"):
        load_params(config.NOTEBOOKS_DIR / "01_chollet_baselines.ipynb", "quick")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_notebook_opens_with_its_question_and_ends_with_its_conclusion(path):
    from emnist_lib import chapters

    cells = nbformat.read(path, as_version=4).cells
    assert cells[0].cell_type == "markdown" and chapters.get(path.stem).question in cells[0].source
    assert "chapters.conclude(study)" in cells[-1].source


def _training_calls() -> set[str]:
    """Every function a notebook can call that trains: train, run_recipes, run_twin, the chapters' @trains procedures."""
    import inspect

    from emnist_lib import chapters

    names = {"train", "run_recipes", "run_twin"}
    for chapter in chapters.CHAPTERS:
        module = inspect.getmodule(chapter.findings)
        names |= {n for n, fn in vars(module).items() if callable(fn) and getattr(fn, "trains", False)}
    return names


def test_the_training_calls_are_known():
    assert {"run_recipes", "select_by_cv", "run_search", "blur_runs", "transfer_runs", "final_runs"} <= _training_calls()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_training_cells_are_tagged_to_ignore_output_and_never_checked(path):
    calls = re.compile(r"\b(" + "|".join(sorted(_training_calls())) + r")\(")
    training = [c for c in code_cells(path) if calls.search(c.source)]
    if path.stem not in ("00_data",):
        assert training, f"{path.stem} trains nothing?"
    for cell in training:
        assert "nbval-ignore-output" in cell.metadata.get("tags", []), cell.source
        assert "NBVAL_CHECK_OUTPUT" not in cell.source, cell.source
