"""The full profile's every notebook code path runs (tiny sizes, one epoch, one seed) and builds a report."""

import json

import nbformat
import pytest

from emnist_lib.runner import notebook_paths, run_profile


@pytest.mark.slow
def test_dry_run_of_the_full_profile_executes_every_notebook(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EMNIST_OUTPUT_DIR", str(tmp_path))
    assert run_profile("full", dry_run=True) == 0, capsys.readouterr().out
    for path in notebook_paths():
        used = nbformat.read(tmp_path / "notebooks" / path.name, as_version=4).metadata["papermill"]["parameters"]
        assert used["output_dir"] == str(tmp_path)
        assert all(used[k] == 1 for k in ("epochs", "source_epochs") if k in used)
        assert len(used.get("seeds", [0])) == 1
    params05 = nbformat.read(tmp_path / "notebooks" / "05_architectures.ipynb", as_version=4).metadata["papermill"]
    assert params05["parameters"]["model_names"][-1] == "vit_small"  # the full profile's settings, kept
    text = (tmp_path / "report.md").read_text()
    assert "Profile `full (dry run)`" in text
    assert json.loads((tmp_path / "timings.json").read_text())["notebooks"].keys() == {p.stem for p in notebook_paths()}
