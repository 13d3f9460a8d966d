"""The full profile's every notebook code path runs (tiny sizes, one epoch, one seed), and the report's sections
hold what the full profile's settings ask for."""

import json

import nbformat
import pytest

from emnist_lib import chapters
from emnist_lib.data import real_source
from emnist_lib.results import read_records
from emnist_lib.runner import load_params, notebook_paths, run_profile
from emnist_lib.splits import get_split


@pytest.mark.slow
def test_dry_run_of_the_full_profile_executes_every_notebook_and_fills_every_section(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EMNIST_OUTPUT_DIR", str(tmp_path))
    code = run_profile("full", dry_run=True)
    out, err = capsys.readouterr()
    assert code == 0, out
    shown = out.splitlines() + err.splitlines()
    assert len(shown) <= 40, "\n".join(shown)  # a quiet run: the study's progress and the warnings that matter
    assert not any("oneDNN" in line or "E0000" in line or "Kernel is running" in line for line in shown)
    log = (tmp_path / "run.log").read_text()
    assert "oneDNN" in log  # the noise is kept, in the log the last line names
    assert shown[-1].endswith(f"{tmp_path / 'run.log'}; --verbose shows it")
    if real_source(get_split("balanced")) is None:  # no real data here: the fallback must be said
        assert any("WARNING Real EMNIST is not available" in line for line in shown)
    else:
        assert not any("WARNING" in line for line in shown)
    for path in notebook_paths():
        used = nbformat.read(tmp_path / "notebooks" / path.name, as_version=4).metadata["papermill"]["parameters"]
        assert used["output_dir"] == str(tmp_path)
        assert all(used[k] == 1 for k in ("epochs", "source_epochs") if k in used)
        assert len(used.get("seeds", [0])) == 1
    text = (tmp_path / "report.md").read_text()
    assert "Profile `full (dry run)`" in text
    _pdf_holds_every_figure_caption(tmp_path)
    assert json.loads((tmp_path / "timings.json").read_text())["notebooks"].keys() == {p.stem for p in notebook_paths()}

    sections = {s.notebook: s for s in chapters.all_sections(read_records(tmp_path / "results"))}
    for nb, sec in sections.items():
        assert not sec.empty and sec.sentences() and sec.setup, nb
        assert f"**Question.** {sec.question}" in text
    full = {p.stem: load_params(p, "full") for p in notebook_paths()}
    arch = sections["05_architectures"].tables[0]
    assert {row[0] for row in arch.rows} == set(full["05_architectures"]["model_names"])  # every model, width 1
    assert {row[4] for row in arch.rows} == {"1"}
    ablations = sections["04_regularisation_tuning"].tables[0]
    # every ablation is in the table, or stated as not compared (early stopping that ended no run of one epoch)
    left_out = {c.args["name"] for c in sections["04_regularisation_tuning"].conclusions
                if c.kind == "early_stopping_idle"}
    assert left_out <= {"early_stopping"}
    assert {row[0] for row in ablations.rows} | left_out == set(full["04_regularisation_tuning"]["ablation_names"])
    assert not {row[0] for row in ablations.rows} & left_out
    rules = [t.caption for t in sections["02_dnn_learning_rules"].tables]
    assert rules[0].startswith("Learning rate of each optimizer")  # the tuning part's table, then one per group
    assert len(rules) == 1 + len(full["02_dnn_learning_rules"]["groups"])
    blur = sections["06_blur_robustness"].tables[0]
    assert len(blur.rows) == 1 + len(full["06_blur_robustness"].get("kernels", [5, 10, 20, 30]))
    # the selected MLP and CNN, and chapter 04's baseline CNN unless cross-validation kept it
    assert {"MLP", "CNN"} <= {row[0] for row in sections["08_final_evaluation"].tables[0].rows} <= {"MLP", "CNN",
                                                                                                  "baseline CNN"}


@pytest.mark.slow
def test_a_quiet_run_without_real_data_says_it_fell_back_to_synthetic(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "no-data"
    empty.mkdir()
    for var, value in (("EMNIST_OUTPUT_DIR", tmp_path / "out"), ("EMNIST_SHARED_DATA", empty),
                       ("EMNIST_DATA_DIR", empty), ("EMNIST_OFFLINE", "1")):
        monkeypatch.setenv(var, str(value))
    assert run_profile("quick", notebooks=["00"], dry_run=True, executor="inline") == 0
    shown = capsys.readouterr().out.splitlines()
    assert sum("WARNING Real EMNIST is not available" in line for line in shown) == 1, shown
    assert len(shown) <= 8, shown


def _pdf_holds_every_figure_caption(out):
    """The PDF beside the report: every figure of every notebook (as SVG) with its caption, which pdf text keeps."""
    from pypdf import PdfReader

    from emnist_lib.plots import read_caption
    from emnist_lib.report import pdf_unavailable

    if pdf_unavailable():
        return
    figures = sorted((out / "figures").glob("*.png"))
    assert figures and all(f.with_suffix(".svg").exists() for f in figures)
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(out / "report.pdf").pages)
    missing = [f.name for f in figures if " ".join(read_caption(f).split()) not in text]
    assert not missing, missing
