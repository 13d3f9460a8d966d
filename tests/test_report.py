"""The report builder on a folder of sample records in the study's format."""

import re

import numpy as np
import pytest
from records_factory import seeded, whole_study

from emnist_lib import chapters, plots
from emnist_lib.report import build_report, render_markdown
from emnist_lib.results import RecordError, RecordKey


def _figures(out, synthetic):
    fig = plots.blur_curves([0, 5], {"m": [0.9, 0.4]}, "Blur", synthetic)
    plots.save(fig, out / "figures" / "06_blur_robustness_blur_curves.png")
    plots.save(fig, out / "figures" / "00_data_samples.png")


def test_each_section_has_question_setup_conclusion_and_threats(tmp_path):
    whole_study(tmp_path)
    text, sections = render_markdown(tmp_path, "quick")
    for sec in sections:
        assert f"**Question.** {chapters.get(sec.notebook).question}" in text
    assert text.count("**Conclusion.**") == len(sections)
    assert text.count("**Threats to validity.**") >= 8
    assert "95%" in text and "Bonferroni" in text and "McNemar" in text


def test_synthetic_banner_appears_exactly_when_synthetic(tmp_path):
    whole_study(tmp_path / "s", synthetic=True)
    whole_study(tmp_path / "r", synthetic=False)
    syn, _ = render_markdown(tmp_path / "s", "quick")
    real, _ = render_markdown(tmp_path / "r", "quick")
    assert syn.splitlines()[0].endswith("[SYNTHETIC DATA]") and syn.count("**SYNTHETIC DATA in part.**") == 1
    assert "[SYNTHETIC DATA]" not in real and "SYNTHETIC DATA in part" not in real
    assert "real MNIST" in real


def test_an_all_synthetic_report_does_not_say_in_part(tmp_path):
    """Offline without any real file (a new user's first run): every record synthetic, and the banner says so."""
    import json

    whole_study(tmp_path, synthetic=True)
    for path in (tmp_path / "results").glob("*.json"):
        record = json.loads(path.read_text())
        record["synthetic"] = True
        record["data"]["source"] = "synthetic"
        path.write_text(json.dumps(record))
    text, _ = render_markdown(tmp_path, "quick")
    assert text.count("**SYNTHETIC DATA.** Every section uses") == 1 and "in part" not in text


def test_report_words_follow_the_tests(tmp_path):
    whole_study(tmp_path)
    text, sections = render_markdown(tmp_path, "quick")
    ties = [c for s in sections for c in s.comparisons if not c.significant]
    assert ties
    for c in ties:
        assert f"{c.a} is better than {c.b}" not in text and f"{c.a} is worse than {c.b}" not in text
    assert "No detectable difference" in text


def test_every_referenced_figure_exists_and_names_its_notebook(tmp_path):
    whole_study(tmp_path)
    _figures(tmp_path, True)
    md_path, html_path, *_ = build_report(tmp_path, "quick")
    text = md_path.read_text()
    refs = re.findall(r"\]\((figures/[^)]+)\)", text)
    assert refs and all((tmp_path / r).exists() for r in refs)
    assert "made by `notebooks/06_blur_robustness.ipynb`" in text
    html = html_path.read_text()
    assert html.count("data:image/png;base64,") == len(refs) and 'src="figures/' not in html


def test_no_records_is_a_clear_error(tmp_path):
    (tmp_path / "results").mkdir()
    with pytest.raises(ValueError, match="no result records; run the notebooks first"):
        render_markdown(tmp_path, "quick")


def test_a_record_lacking_a_needed_field_is_an_error_naming_the_file(tmp_path):
    whole_study(tmp_path)
    path = seeded(tmp_path, "03_cnn_depth", "depth", "2 conv", 0, 0.6, np.random.default_rng(0))
    path.write_text(path.read_text().replace('"test_n"', '"n"'))
    with pytest.raises(RecordError, match=re.escape(str(path)) + ".*lacks the metric 'test_n'"):
        build_report(tmp_path, "quick")
    assert not (tmp_path / "report.md").exists()  # nothing half-written


def test_the_sim_to_real_check_is_recorded_only_for_this_generator_and_worded_per_split(tmp_path):
    import json

    from emnist_lib.chapters import c00_data
    from emnist_lib.dataset import Dataset
    from emnist_lib.study import Study
    from emnist_lib.synthetic import GENERATOR_VERSION

    study = Study(c00_data.NOTEBOOK, tmp_path, 0)
    study.results.mkdir()
    x, y = np.zeros((2, 28, 28), np.uint8), np.array([1, 2])
    letters = Dataset("emnist-letters", x, y, x, y, ["(unused)", "A", "B"], {"source": "nist-pool"}, split="letters")
    path = tmp_path / "realism_check.json"
    assert c00_data.record_realism_check(study, letters, path) is None  # not run yet
    split = {"n_train": 18800, "n_scored": 4700, "ratio": 0.773, "ratio_95": [0.75, 0.79],
             "synthetic_trained": {"accuracy": 0.631, "n": 4700, "wilson_95": [0.617, 0.645]},
             "real_trained": {"accuracy": 0.816, "n": 4700, "wilson_95": [0.805, 0.827]}}
    digits = {**split, "real_mnist_reframed": {"accuracy": 0.9501, "n": 10000, "wilson_95": [0.9457, 0.9542]}}
    path.write_text(json.dumps({"generator_version": "0.1", "recipe": {"epochs": 5}, "splits": {"balanced": split}}))
    assert c00_data.record_realism_check(study, letters, path) is None  # another generator's numbers never
    path.write_text(json.dumps({"generator_version": GENERATOR_VERSION, "recipe": {"epochs": 5},
                                "splits": {"balanced": split, "digits": digits}}))
    assert c00_data.record_realism_check(study, letters, path)["generator_version"] == GENERATOR_VERSION
    balanced, digit = map(str, c00_data.sim_to_real_findings(study.find(RecordKey(c00_data.NOTEBOOK, name=c00_data.REALISM_CHECK))))
    assert balanced.startswith(f"Sim-to-real on real balanced (benchmarks/realism_check.py; generator v{GENERATOR_VERSION}")
    assert "trained on 18,800 synthetic images a convnet scores 63.1% [61.7, 64.5] on 4,700 real held-out images" in balanced
    assert "trained on as many real images 81.6% [80.5, 82.7]: ratio 0.77 [0.75, 0.79]." in balanced
    assert "on the 10,000 real MNIST test digits re-framed the EMNIST way it scores 95.0% [94.6, 95.4]" in digit


def test_search_section_ranks_importances_and_words_the_expected_best():
    from emnist_lib import search
    from emnist_lib.chapters import c04_regularisation_tuning as c04
    from emnist_lib.results import Record, make_record

    curve = search.expected_max([0.2, 0.4, 0.6], 3)
    rec = Record.parse(make_record(c04.SEARCH, notebook=c04.NOTEBOOK, config={"space": "cnn"}, seed=0,
                                   data={"source": "synthetic", "split": "balanced", "n_train": 9, "n_test": 9},
                                   metrics={"complete": 3, "pruned": 1, "best_value": 0.6, "best_trial": 2,
                                            "best_params": {"dropout": 0.25}, "expected_max": curve,
                                            "importances": {"augment": 0.2, "dropout": 0.5, "pooling": 0.3}}))
    table = c04.search_table(rec)
    assert [r[0] for r in table.rows if r[0].startswith("importance")] == [
        "importance: dropout", "importance: pooling", "importance: augment"]
    sentence = str(c04.WORDING.finding("search", complete=3, pruned=1, curve=rec.metrics["expected_max"]))
    assert "4 trials (1 pruned early, counted with the best accuracy they reached)" in sentence
    assert "from 40.0%" in sentence and "with 3" in sentence


def test_the_rank_agreement_benchmark_is_recorded_for_this_generator_and_worded_in_section_00(tmp_path):
    import json
    from dataclasses import asdict

    from records_factory import family

    from emnist_lib import analysis
    from emnist_lib.chapters import c00_data, c05_architectures
    from emnist_lib.dataset import Dataset
    from emnist_lib.results import read_records
    from emnist_lib.study import Study
    from emnist_lib.synthetic import GENERATOR_VERSION

    rng = np.random.default_rng(3)
    ref = {"reference": "a"}
    seeds = (0, 1, 2, 3, 4)  # the t reference on seeds - 1 df needs more than 3 seeds to detect these differences
    family(tmp_path / "twin", c05_architectures.NOTEBOOK, "architecture", {"a": 0.8, "b": 0.7, "c": 0.6}, rng, extra=ref,
           seeds=seeds)
    family(tmp_path / "twin", c05_architectures.NOTEBOOK, "architecture_synthetic", {"a": 0.6, "b": 0.65, "c": 0.4}, rng,
           extra=ref, seeds=seeds)
    runs = read_records(tmp_path / "twin" / "results")
    ra = analysis.rank_agreement(analysis.group_runs(runs, c05_architectures.NOTEBOOK, "architecture"),
                                 analysis.group_runs(runs, c05_architectures.NOTEBOOK, "architecture_synthetic"),
                                 "test_accuracy")
    path = tmp_path / "rank_agreement.json"
    path.write_text(json.dumps({"generator_version": GENERATOR_VERSION, "profile": "quick", "comparisons": {
        "architectures": {**asdict(ra), "n_train": 2820, "seeds": [0, 1, 2]}}}))
    study = Study(c00_data.NOTEBOOK, tmp_path, 0)
    study.results.mkdir()
    x, y = np.zeros((2, 28, 28), np.uint8), np.array([0, 1])
    ds = Dataset("emnist-balanced", x, y, x, y, ["0", "1"], {"source": "nist-pool"}, split="balanced")
    assert c00_data.record_rank_agreement(study, ds, path)["comparisons"]
    rec = study.find(RecordKey(c00_data.NOTEBOOK, name=c00_data.RANK_AGREEMENT))
    text, = map(str, c00_data.rank_agreements([rec]))
    assert text.startswith("Synthetic vs real EMNIST, architectures (benchmarks/rank_agreement.py, quick profile, "
                           "2,820 training images, seeds 0, 1, 2) (3 variants")
    assert "Kendall's tau of the mean test accuracy 0.33" in text and "b (real: worse, synthetic: better)" in text
    assert [r[4] for r in c00_data.rank_table(rec).rows] == ["1", "2", "3"]
    path.write_text(path.read_text().replace(GENERATOR_VERSION, "0.0"))
    assert c00_data.record_rank_agreement(study, ds, path) is None  # another generator's measurement, never quoted


def test_the_pdf_reads_as_the_report_with_every_figure_and_its_caption(tmp_path):
    """report.pdf from the same Markdown: its text holds the title, the abstract's findings, the Methods, every
    figure's caption and the references; a figure is embedded as vector (SVG) with its caption under it."""
    from pypdf import PdfReader

    from emnist_lib import plots
    from emnist_lib.report import pdf_unavailable

    if pdf_unavailable():
        pytest.skip(f"WeasyPrint cannot run here: {pdf_unavailable()}")
    whole_study(tmp_path, synthetic=False)
    import matplotlib.pyplot as plt

    captions = ["Test accuracy of five architectures", "Confusion of the selected CNN"]
    for name, caption in zip(("05_architectures_architectures", "08_final_evaluation_confusion_cnn"), captions):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1])
        ax.set_title(caption)
        plots.save(fig, tmp_path / "figures" / f"{name}.png")
        plt.close(fig)
    md_path, _, pdf_path = build_report(tmp_path, "quick")
    reader = PdfReader(pdf_path)
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    md = md_path.read_text()
    assert "Handwritten character classification on EMNIST" in text
    for heading in ("Abstract", "Methods", "Appendix: reproducibility", "References"):
        assert heading in text
    for caption in captions:
        assert f"{caption}" in text and f"{caption}" in md
    assert "Cohen, G., Afshar, S., Tapson, J. and van Schaik, A. (2017)" in text
    assert 4 <= len(reader.pages) <= 60


def test_making_a_pdf_leaves_pillow_strict_about_truncated_images():
    """WeasyPrint sets Pillow's LOAD_TRUNCATED_IMAGES on import; the report restores it, so predict and serve in the
    same process still refuse a cut-off image."""
    from PIL import ImageFile

    from emnist_lib.report import pdf_unavailable

    if pdf_unavailable():
        pytest.skip(f"WeasyPrint cannot run here: {pdf_unavailable()}")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_the_abstract_words_its_findings_briefly_and_the_sections_in_full(tmp_path):
    """Each abstract headline: the difference and its interval; the test, p-value and power stay in the section."""
    whole_study(tmp_path, synthetic=False)
    md_path, *_ = build_report(tmp_path, "quick")
    text = md_path.read_text()
    abstract = text[text.index("## Abstract"):text.index("## Methods")]
    sections = text[text.index("## Methods"):]
    verdicts = [line for line in abstract.splitlines() if line.startswith("- **")]
    assert verdicts and all("p = " not in v and "p < " not in v and "power" not in v for v in verdicts), verdicts
    assert "each with its 95% interval" in abstract and ("p = " in sections or "p < " in sections)  # said once
    assert all("95% CI" not in v and "Bonferroni-adjusted over" not in v for v in verdicts), verdicts
    assert any(re.search(r"\(\S+ points, \[\S+, \S+\]\)", v) for v in verdicts), verdicts  # difference, interval


def test_the_power_count_sets_detected_large_gaps_apart():
    """The review's finding: "7 of 20 can detect 2 points" counted nine detected gaps of 9-83 points whose power at
    2 points comes from the spread of a large gap; the abstract counts those apart (an undetected difference, however
    large its estimate, stays with the others)."""
    from emnist_lib.report import LARGE_GAP, _power_summary
    from emnist_lib.stats import Comparison

    def comp(diff, low, high, power):
        return Comparison("a", "b", "t", 5, diff, 0.01, low, high, power=power)

    powered = [comp(0.01, -0.01, 0.03, 0.90), comp(0.02, 0.005, 0.035, 0.50), comp(-0.50, -0.55, -0.45, 0.10),
               comp(0.09, 0.05, 0.13, 0.85), comp(0.06, -0.01, 0.13, 0.20)]
    assert _power_summary(powered) == {"n": 5, "enough": 2, "small_n": 3, "small_enough": 1, "large_n": 2,
                                       "large_enough": 1, "large_low": 0.09, "large_high": 0.50, "gap": LARGE_GAP}
    assert _power_summary(powered[:2])["large_n"] == 0 and _power_summary([])["n"] == 0


def test_an_abstract_null_finding_says_what_its_design_detects():
    """The Methods promise that every "no detectable difference" states the smallest difference the design detects;
    the abstract's brief wording kept only the interval."""
    from emnist_lib import conclusions
    from emnist_lib.stats import Comparison

    f = conclusions.environment().get_template("findings.md.j2").module
    null = Comparison("frozen", "scratch", "t", 5, 0.004, 1.0, -0.085, 0.093, mde=0.117, power=0.03)
    better = Comparison("cnn", "mlp", "t", 5, 0.046, 0.001, 0.039, 0.054, mde=None, power=0.99)
    with conclusions.brief():
        assert str(f.verdict(null)) == ("no detectable difference between frozen and scratch at this budget "
                                        "(+0.4 points, [-8.5, +9.3]; the design has 80% power at 11.7 points)")
        assert str(f.verdict(better)) == "cnn is better than mlp (+4.6 points, [+3.9, +5.4])"
    assert "the design detects a difference of 11.7 points with 80% power" in str(f.verdict(null))


def test_the_methods_say_how_cautious_the_seed_plans_are_and_which_verdicts_are_descriptive(tmp_path):
    """The plans' factor comes from the comparisons' own seed counts; the abstract's power count splits as worded."""
    from types import SimpleNamespace

    from emnist_lib.report import _descriptive

    whole_study(tmp_path, synthetic=False)
    text, _ = render_markdown(tmp_path, "quick")
    assert "That bound is cautious on purpose (the seed mean square taken at 4.5 times its estimate with 3 seeds)" in text
    assert "powers are printed rounded down" in text
    assert re.search(r"(\d+) of the (\d+) headline comparisons can detect 2 points with 80% power \((\d+) of the (\d+) "
                     r"that are not detected gaps of 5 points or more, and (\d+) of the (\d+) detected gaps of "
                     r"\d+\.\d to \d+\.\d points\)", " ".join(text.split()))
    check = SimpleNamespace(swap_tests={("a", "b"): object()})
    assert _descriptive([SimpleNamespace(budget_checks=[check])], []) == [
        "the budget checks' McNemar tests (one seed, made only where an order swaps)"]
    assert _descriptive([SimpleNamespace(budget_checks=[SimpleNamespace(swap_tests={("a", "b"): None})])], []) == []
