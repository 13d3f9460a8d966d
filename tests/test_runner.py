"""The papermill runner: a failing notebook is named with its cell and error, and its partial output kept."""

import nbformat

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
