"""The chapters registry and the decisions each chapter makes: what it selects, what it records, how it words it."""

import re
import warnings
from dataclasses import replace

import nbformat
import numpy as np
import pandas as pd
import pytest
from records_factory import REAL_BALANCED, family, seeded, single

from emnist_lib import chapters, config
from emnist_lib.chapters import c00_data as c00
from emnist_lib.chapters import c02_dnn_learning_rules as c02
from emnist_lib.chapters import c04_regularisation_tuning as c04
from emnist_lib.chapters import c06_blur_robustness as c06
from emnist_lib.chapters import c07_transfer_learning as c07
from emnist_lib.chapters import c08_final_evaluation as c08
from emnist_lib.dataset import Dataset
from emnist_lib.results import read_records
from emnist_lib.runner import notebook_paths, parameters_cell
from emnist_lib.study import Study


def toy_dataset(n_per_class: int = 30, classes: int = 10, seed: int = 0, name: str = "toy") -> Dataset:
    """Separable images (class k: a bright bar at row 2k+3), synthetic provenance."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(classes), n_per_class)
    x = rng.integers(0, 40, (len(y), 28, 28), dtype=np.uint8)
    for i, k in enumerate(y):
        x[i, 2 * k + 3: 2 * k + 5, 4:24] = 250
    prov = {"source": "synthetic", "generator": {"generator_version": "test"}}
    return Dataset(name, x, y, x[::3].copy(), y[::3].copy(), [str(k) for k in range(classes)], prov, split=name)


def study_in(tmp_path, chapter) -> Study:
    study = Study(chapter.NOTEBOOK, tmp_path, 0)
    study.results.mkdir(parents=True, exist_ok=True)
    study.figures.mkdir(parents=True, exist_ok=True)
    return study


# --------------------------------------------------------------------------- the registry
def test_one_chapter_per_notebook_in_order():
    assert [c.notebook for c in chapters.CHAPTERS] == [p.stem for p in notebook_paths()]


@pytest.mark.parametrize("chapter", chapters.CHAPTERS, ids=lambda c: c.notebook)
def test_every_budget_entry_names_parameters_its_notebook_declares(chapter):
    _, declared = parameters_cell(nbformat.read(config.NOTEBOOKS_DIR / f"{chapter.notebook}.ipynb", as_version=4))
    for entry in chapter.budgets:
        assert {entry.epochs, entry.batch} | ({entry.size} if entry.size else set()) <= set(declared), entry


def test_an_unknown_notebook_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown notebook '09_x'; have 00_data, 01_chollet_baselines"):
        chapters.get("09_x")


def test_a_wording_without_the_kind_asked_is_an_error():
    with pytest.raises(ValueError, match="no wording 'verdikt'"):
        c04.WORDING.finding("verdikt")


# --------------------------------------------------------------------------- 02: the MLP selected
def test_pick_best_takes_the_best_mean_of_the_settings_that_trained_whatever_their_plateau(tmp_path):
    rng = np.random.default_rng(0)
    family(tmp_path, c02.NOTEBOOK, "activation", {"relu": 0.60, "selu": 0.62, "sigmoid": 0.9}, rng,
           statuses={"sigmoid": "undetermined"})
    family(tmp_path, c02.NOTEBOOK, "optimizer", {"adam": 0.61, "sgd": 0.95}, rng, statuses={"sgd": "did_not_train"})
    best = c02.pick_best(read_records(tmp_path / "results"), c02.NOTEBOOK, "val_accuracy", ["activation", "optimizer"])
    assert best.recipe.origin == "activation__sigmoid" and best.plateau is False  # never the one that did not train
    assert best.seeds == [0, 1, 2]
    assert best.mean == pytest.approx(0.9, abs=0.01)


def test_pick_best_with_nothing_trained_warns_and_says_so(tmp_path):
    rng = np.random.default_rng(1)
    family(tmp_path, c02.NOTEBOOK, "activation", {"relu": 0.03, "selu": 0.04}, rng,
           statuses={"relu": "did_not_train", "selu": "did_not_train"})
    with pytest.warns(UserWarning, match="no setting trained"):
        best = c02.pick_best(read_records(tmp_path / "results"), c02.NOTEBOOK, "val_accuracy", ["activation"])
    assert best.recipe.origin == "activation__selu" and best.plateau is False


def test_pick_best_without_records_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no records in groups"):
        c02.pick_best([], c02.NOTEBOOK, "val_accuracy", ["activation"])


# --------------------------------------------------------------------------- 04: the CNN selected
def _baseline():
    from emnist_lib.recipe import TrainConfig

    return c04.baseline([8, 16], TrainConfig(epochs=4, batch_size=32, learning_rate=2e-3))


def _search_best(**train):
    from emnist_lib.recipe import Recipe, TrainConfig

    return Recipe(c04.SEARCH_BEST, "cnn", {"dropout": 0.1}, TrainConfig.from_dict(train, _baseline().train),
                  origin="search trial 3")


def test_cv_candidates_are_the_baseline_the_strongest_ablations_that_trained_and_the_search(tmp_path):
    rng = np.random.default_rng(2)
    family(tmp_path, c04.NOTEBOOK, c04.ABLATION, {"baseline": 0.7, "batch_norm": 0.75, "dropout=0.3": 0.72,
                                                  "augmentation": 0.9}, rng, statuses={"augmentation": "did_not_train",
                                                                                      "batch_norm": "still_improving"})
    ablations = c04.ablations(_baseline())
    cands = c04.cv_candidates(read_records(tmp_path / "results"), c04.NOTEBOOK, ablations, 1,
                              [_search_best(learning_rate=0.01)])
    assert [c.name for c in cands] == ["baseline", "batch_norm", "search_best"]  # never the 0.9 that did not train
    assert cands[1].model_settings["batch_norm"] is True and cands[1].model_settings["filters"] == [8, 16]
    assert all(c.train.epochs == 4 for c in cands)
    assert cands[2].train.learning_rate == 0.01 and cands[2].train.batch_size == 32


def test_every_ablation_is_one_change_of_the_baseline_at_its_budget():
    baseline = _baseline()
    ablations = c04.ablations(baseline)
    assert ablations["baseline"] == baseline
    stopping = ablations["early_stopping"]
    assert stopping.train.epochs == baseline.train.epochs and stopping.train.early_stopping == c04.EARLY_STOPPING_PATIENCE
    assert stopping.with_train(early_stopping=0) == baseline  # nothing else changed
    assert len({r.digest for r in ablations.values()}) == len(ablations)


def _fake_cv(rows):
    def cross_validate(candidates, x, y, num_classes, k, seed):
        assert [c.name for c in candidates] == [r["name"] for r in rows]
        table = pd.DataFrame([{**r, "recipe": c, "mean": float(np.mean(r["folds"])),
                               "std": float(np.std(r["folds"], ddof=1)),
                               "statuses": [r["convergence"].status.value] * k} for r, c in zip(rows, candidates)])
        return table.sort_values("mean", ascending=False, kind="stable").reset_index(drop=True)

    return cross_validate


def _cv_row(name, folds, status="plateau"):
    from emnist_lib.convergence import Convergence

    return {"name": name, "folds": folds, "convergence": Convergence(status, reason="test", criterion="test")}


def test_select_by_cv_records_the_best_candidate_that_trained_and_words_it(tmp_path, monkeypatch):
    from emnist_lib import training

    study = study_in(tmp_path, c04)
    ds = toy_dataset()
    family(tmp_path, c04.NOTEBOOK, c04.ABLATION, {"baseline": 0.7, "batch_norm": 0.75}, np.random.default_rng(3))
    rows = [_cv_row("baseline", [0.70, 0.71, 0.69]), _cv_row("batch_norm", [0.76, 0.78, 0.77]),
            _cv_row(c04.SEARCH_BEST, [0.90, 0.91, 0.92], "did_not_train")]
    monkeypatch.setattr(training, "cross_validate", _fake_cv(rows))
    _, best = c04.select_by_cv(study, ds, c04.ablations(_baseline()), n_best=1, k=3, seed=0, extra=[_search_best()])
    assert best == "batch_norm"  # the search trial that did not train in a fold scored higher but is not selected
    rec = study.find(c04.SELECTED_CNN)
    assert rec.extra == {"from": "batch_norm", "k": 3, "plateau": True}
    assert rec.config["model_kwargs"]["batch_norm"] is True
    sec = chapters.section(c04.NOTEBOOK, read_records(study.results))
    text = " ".join(sec.sentences())
    assert "Selected for notebook 08: batch_norm (highest mean 3-fold accuracy of the candidates that trained; a " \
           "plateau shown in every fold; against the baseline: batch_norm is better than baseline" in text
    assert "Cross-validation (selection evidence on the training data the candidates were chosen on, so a candidate " \
           "picked on it, such as the search's best, starts with a winner's-curse advantage; the selected setting is " \
           "tested on held-out images in the final evaluation): batch_norm is better than baseline (+7.0 points" in text
    assert "corrected resampled t-test over 3 folds (Nadeau-Bengio)" in text
    assert sec.tables[1].caption.startswith("3-fold cross-validation of the strongest settings (selection evidence")


def test_select_by_cv_without_a_plateau_says_so(tmp_path, monkeypatch):
    from emnist_lib import training

    study = study_in(tmp_path, c04)
    family(tmp_path, c04.NOTEBOOK, c04.ABLATION, {"baseline": 0.7}, np.random.default_rng(4))
    monkeypatch.setattr(training, "cross_validate", _fake_cv([_cv_row("baseline", [0.5, 0.6, 0.55], "undetermined")]))
    c04.select_by_cv(study, toy_dataset(), c04.ablations(_baseline()), n_best=1, k=3, seed=0)
    text = " ".join(chapters.section(c04.NOTEBOOK, read_records(study.results)).sentences())
    assert "Selected for notebook 08: baseline (highest mean 3-fold accuracy of the candidates that trained; no " \
           "plateau shown in every fold" in text


# --------------------------------------------------------------------------- 08: what the final runs train
def test_selected_recipe_takes_the_selection_at_this_budget(tmp_path):
    study = study_in(tmp_path, c08)
    assert c08.selected_recipe(study, c04.SELECTED_CNN, c08.CNN, "cnn", 6, 64).origin == \
        f"builder defaults ({c04.NOTEBOOK} not run)"
    config_ = {"model": "cnn", "model_kwargs": {"dropout": 0.3},
               "train": {"epochs": 14, "batch_size": 32, "seed": 5, "early_stopping": 2, "learning_rate": 0.003}}
    single(tmp_path, c04.NOTEBOOK, c04.BEST_CNN, {"cv_mean": 0.8}, config=config_,
           extra={"from": "early_stopping", "k": 3, "converged": True})
    recipe = c08.selected_recipe(study, c04.SELECTED_CNN, c08.CNN, "cnn", 6, 64)
    assert recipe.origin == "early_stopping" and recipe.model_settings == {"dropout": 0.3} and recipe.name == c08.CNN
    assert (recipe.train.epochs, recipe.train.batch_size, recipe.train.early_stopping, recipe.train.learning_rate,
            recipe.train.seed) == (6, 64, 2, 0.003, 0)  # this chapter's budget; its own seed is not carried over


@pytest.mark.parametrize("kept", [True, False])
def test_the_selected_cnn_is_tested_against_the_baseline_unless_selection_kept_the_baseline(tmp_path, kept):
    study = study_in(tmp_path, c08)
    baseline = {"model": "cnn", "model_kwargs": {}, "train": {"epochs": 6, "batch_size": 64, "seed": 0}}
    chosen = baseline if kept else {**baseline, "model_kwargs": {"batch_norm": True}}
    single(tmp_path, c04.NOTEBOOK, f"{c04.CV}__{c04.BASELINE}", {"cv_mean": 0.8}, config=baseline, group=c04.CV,
           variant=c04.BASELINE)
    single(tmp_path, c04.NOTEBOOK, c04.BEST_CNN, {"cv_mean": 0.8}, config=chosen,
           extra={"from": "baseline" if kept else "batch_norm", "k": 3, "converged": True})
    recipes, kept_baseline = c08.selected_recipes(study, 6, 64)
    assert (c08.BASELINE_CNN in [r.name for r in recipes]) is not kept
    assert kept_baseline is kept

    rng = np.random.default_rng(3)
    variants = {c08.CNN: 0.85, c08.MLP: 0.7, **({} if kept else {c08.BASELINE_CNN: 0.8})}
    family(tmp_path, c08.NOTEBOOK, c08.GROUP, variants, rng, seeds=range(5), n_test=470,
           metrics={k: 0.8 for k in c08.METRICS[1:]}, extra={"from": "x", **({"baseline_recipe": True} if kept else {})})
    sec = chapters.section(c08.NOTEBOOK, read_records(study.results))
    assert [(c.a, c.b) for c in sec.comparisons if c.family == "final recipes"] == \
        [("the selected CNN recipe", "the selected MLP recipe")] + \
        ([] if kept else [("the selected CNN recipe", "chapter 04's baseline CNN")])
    said = " ".join(sec.sentences())
    assert ("so the selected CNN has no baseline to be tested against" in said) is kept
    assert {row[0] for row in sec.tables[0].rows} == {"CNN", "MLP"} | (set() if kept else {"baseline CNN"})


# --------------------------------------------------------------------------- 06: blur
def test_blur_runs_score_every_model_at_every_level_and_the_drop_is_paired(tmp_path):
    from emnist_lib.training import TrainConfig

    study = study_in(tmp_path, c06)
    ds = toy_dataset()
    matrix = c06.blur_runs(study, ds, "chollet_dense", TrainConfig(epochs=2, batch_size=32, learning_rate=3e-3),
                           [0, 5], [0, 1])
    records = read_records(study.results)
    runs = [r for r in records if r.group == c06.GROUP]
    assert sorted((r.variant, r.seed) for r in runs) == [("clean", 0), ("clean", 1), ("kernel 5", 0), ("kernel 5", 1)]
    clean = sorted((r for r in runs if r.variant == c06.CLEAN), key=lambda r: r.seed)
    assert matrix[0, 1] == pytest.approx(np.mean([r.metric(c06.accuracy_key(5)) for r in clean]), abs=1e-6)
    drop = c06.blur_drop(clean, 5)
    assert drop.diff == pytest.approx(matrix[0, 1] - matrix[0, 0], abs=1e-6)
    assert drop.test == "t on the seeds x images ANOVA SE (2 seeds, 100 shared images; 1 df)" and drop.n == 2


def test_the_blur_table_lists_its_rows_by_blur_level_as_its_columns(tmp_path):
    """The review's finding: rows came in name order (clean, kernel 10, kernel 20, kernel 5)."""
    from emnist_lib.results import pack_correct

    rng = np.random.default_rng(8)
    levels = (0, 5, 10, 20)
    for kernel in levels:
        for s in (0, 1):
            scores = {}
            for t in levels:
                c = rng.random(300) < (0.8 if t == kernel else 0.3)
                scores.update({c06.accuracy_key(t): float(c.mean()), c06.correct_key(t): pack_correct(c)})
            seeded(tmp_path, c06.NOTEBOOK, c06.GROUP, c06.variant(kernel), s, 0.8, rng, n_test=300, metrics=scores)
    sec = chapters.section(c06.NOTEBOOK, read_records(tmp_path / "results"))
    assert [row[0] for row in sec.tables[0].rows] == ["clean", "kernel 5", "kernel 10", "kernel 20"]
    assert sec.tables[0].headers[1:-1] == ["clean", "kernel 5", "kernel 10", "kernel 20"]


def test_the_blur_headline_gives_the_loss_with_its_interval_and_no_double_negative():
    from emnist_lib.stats import Comparison

    worst = Comparison("clean-trained at kernel 20", "clean", "t", 5, -0.827, 0.001, -0.865, -0.788)
    text = c06.WORDING.finding("headline", worst=worst, worst_kernel=20, helped=["kernel 5"], same=[]).render()
    assert text.startswith("Blur costs the clean-trained model up to 82.7 points [78.8, 86.5] (kernel-20 test images).")


# --------------------------------------------------------------------------- 07: transfer
def test_transfer_records_each_method_and_scores_the_frozen_model_before_fine_tuning(tmp_path):
    from emnist_lib.models import transfer
    from emnist_lib.study import accuracy_of
    from emnist_lib.training import TrainConfig, train

    study = study_in(tmp_path, c07)
    letters, target = toy_dataset(name="letters"), toy_dataset(n_per_class=12, seed=1, name="target")
    sources = c07.source_models(letters, TrainConfig(epochs=2, batch_size=32, learning_rate=3e-3), [0])
    source = sources[0]
    cfg = TrainConfig(epochs=2, batch_size=16, learning_rate=3e-3)
    c07.transfer_runs(study, sources, letters, target, cfg, [0], fine_tune_layers=2)
    recs = {r.variant: r for r in read_records(study.results) if r.group == c07.GROUP}
    assert set(recs) == {c07.DIRECT, c07.FROZEN, c07.FINE_TUNED, c07.SCRATCH}
    assert recs[c07.DIRECT].status == "not_trained" and recs[c07.FROZEN].extra["source_seed"] == 0
    frozen_again = train(transfer(source.model, target.num_classes), target.x_train, target.y_train,
                         cfg=replace(cfg, seed=0), use_cache=False, verbose=0)
    assert recs[c07.FROZEN].metric("test_accuracy") == pytest.approx(
        accuracy_of(frozen_again.model, target.x_test, target.y_test), abs=1e-6)


def test_the_fine_tuned_budget_counts_the_frozen_run_it_continues(tmp_path):
    """The review's finding: fine-tuned records state their own phase's budget (20 epochs at 1e-5), but the method
    also trained its seed's frozen run first; the section says the whole budget and that it is unequal."""
    rng = np.random.default_rng(3)
    tuned = {"starts_from": c07.FROZEN, "unfrozen_top_layers": 2, "train": {"learning_rate": 1e-5}}
    for variant in (c07.FROZEN, c07.FINE_TUNED, c07.SCRATCH):
        for s in (0, 1):
            seeded(tmp_path, c07.NOTEBOOK, c07.GROUP, variant, s, 0.7, rng, n_test=254,
                   config=tuned if variant == c07.FINE_TUNED else None)
    sec = chapters.section(c07.NOTEBOOK, read_records(tmp_path / "results"))
    setup = [f.render() for f in sec.setup]
    line = next(s for s in setup if s.startswith("fine-tuned budget"))
    assert setup.index(line) == next(i for i, s in enumerate(setup) if s.startswith("budget:")) + 1
    assert line == ("fine-tuned budget: the frozen run's 8 epochs (240 optimizer steps), then 8 more at learning rate "
                    "1e-5 with the top 2 layers of the base unfrozen: 16 epochs = 480 optimizer steps = 30,720 images "
                    "seen in all, twice the steps of training from scratch")
    assert any("not at equal budgets" in t.render() for t in sec.threats)
    # A fine-tuned record that does not say what it continues gets no such line (never a guessed budget).
    broken = tmp_path / "broken"
    for variant in (c07.FROZEN, c07.FINE_TUNED, c07.SCRATCH):
        seeded(broken, c07.NOTEBOOK, c07.GROUP, variant, 0, 0.7, rng, n_test=254)
    sec = chapters.section(c07.NOTEBOOK, read_records(broken / "results"))
    assert not any(f.render().startswith("fine-tuned budget") for f in sec.setup)
    assert not any("not at equal budgets" in t.render() for t in sec.threats)


def test_transfer_kfold_is_worded_as_a_paired_test_over_folds(tmp_path):
    rng = np.random.default_rng(5)
    family(tmp_path, c07.NOTEBOOK, c07.GROUP, {c07.FROZEN: 0.7, c07.SCRATCH: 0.6}, rng, n_test=254)
    for method, folds in ((c07.FROZEN, [0.70, 0.72, 0.69]), (c07.SCRATCH, [0.60, 0.61, 0.62])):
        seeded(tmp_path, c07.NOTEBOOK, c07.KFOLD, method, 0, 0.7, rng, metrics={"folds": folds, "images": 1014})
    sec = chapters.section(c07.NOTEBOOK, read_records(tmp_path / "results"))
    cv = next(s for s in sec.sentences() if s.startswith("Cross-validation"))
    assert cv.startswith("Cross-validation over 1,014 images: frozen-base transfer is better than training from "
                         "scratch (+9.3 points")
    assert "corrected resampled t-test over 3 folds (Nadeau-Bengio)" in cv
    assert re.search(r"the smallest difference this 3-fold design detects with 80% power is \d+\.\d points; repeating "
                     r"the folds would lower it somewhat, but the data set's size bounds it", cv)
    assert sec.tables[-1].caption == "3-fold cross-validation over all AlphaDigits letters (each scored once)"


# --------------------------------------------------------------------------- records
def test_a_record_carries_the_split_and_the_sizes_actually_used(tmp_path):
    study = study_in(tmp_path, c08)
    ds = toy_dataset().subset(100, 50, seed=0)
    path = study.record("x", ds, {"m": 1.0})
    rec = read_records(path.parent)[0]
    assert (rec.data.split, rec.data.n_train, rec.data.n_test, rec.data.source) == ("toy", 100, 50, "synthetic")
    assert rec.synthetic and rec.data.generator_version == "test"


def test_no_warnings_from_reading_the_sample_study(tmp_path):
    from records_factory import whole_study

    whole_study(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(chapters.all_sections(read_records(tmp_path / "results"))) == len(chapters.CHAPTERS)


def test_the_readme_example_chapter_works_as_written(tmp_path):
    """The README's "Add a chapter" module, loaded as a chapter of the package, builds its section."""
    import importlib.util
    import re

    text = (config.REPO_ROOT / "README.md").read_text()
    code = re.search(r"```python\n(# emnist_lib/chapters/c10_rotation.py.*?)```", text, re.S).group(1)
    words = re.search(r"```jinja\n(\{# emnist_lib/templates/chapters/10_rotation.md.j2 #\}.*?)```", text, re.S).group(1)
    path = tmp_path / "c10_rotation.py"
    path.write_text(code)
    template = config.REPO_ROOT / "emnist_lib" / "templates" / "chapters" / "10_rotation.md.j2"
    assert not template.exists()
    template.write_text(words)  # where the README says it goes, for as long as the module loads
    try:
        spec = importlib.util.spec_from_file_location("emnist_lib.chapters.c10_rotation", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        template.unlink()
    rng = np.random.default_rng(6)
    family(tmp_path, module.NOTEBOOK, module.GROUP, {"upright": 0.8, "rotated": 0.5}, rng)
    sec = module.CHAPTER.section(read_records(tmp_path / "results"))
    assert sec.title == "Robustness to rotation" and sec.sentences()[0].startswith("Rotation: rotated is worse than")


def test_rank_agreement_of_a_comparison_and_its_synthetic_twin(tmp_path):
    from emnist_lib import analysis
    from emnist_lib.chapters import c05_architectures as c05

    rng = np.random.default_rng(7)
    real = {"deep_cnn": 0.80, "resnet_small": 0.70, "mobilenet_small": 0.60, "vit_small": 0.50}
    synthetic = {"deep_cnn": 0.62, "resnet_small": 0.71, "mobilenet_small": 0.55, "vit_small": 0.45}  # two swap
    ref = {"reference": "deep_cnn"}
    seeds = (0, 1, 2, 3, 4)  # with 3 seeds a t reference on 2 df leaves the synthetic differences undetectable
    family(tmp_path, c05.NOTEBOOK, c05.GROUP, real, rng, data={**REAL_BALANCED}, spread=0.003, extra=ref, seeds=seeds)
    family(tmp_path, c05.NOTEBOOK, analysis.twin_group(c05.GROUP), synthetic, rng, spread=0.003, extra=ref,
           seeds=seeds)
    records = read_records(tmp_path / "results")
    sec = chapters.section(c05.NOTEBOOK, records)
    assert not sec.synthetic  # the twin's synthetic runs do not make the section synthetic
    ra = analysis.rank_agreement(analysis.group_runs(records, c05.NOTEBOOK, c05.GROUP),
                                 analysis.group_runs(records, c05.NOTEBOOK, analysis.twin_group(c05.GROUP)),
                                 "test_accuracy")
    assert ra.tau == pytest.approx(4 / 6) and ra.low <= ra.tau <= ra.high and ra.reference == "deep_cnn"
    assert ("resnet_small", -1, 1) in ra.flips  # worse than deep_cnn on real data, better on synthetic
    text = " ".join(sec.sentences())
    assert "Kendall's tau of the mean test accuracy 0.67" in text and "resnet_small (real: worse, synthetic: better)" in text
    assert sec.tables[-1].headers[-2:] == ["rank real", "rank synthetic"]
    section = chapters.section_number(c05.NOTEBOOK)  # the number the report gives the section
    assert f"architectures (section {section})" in " ".join(str(f) for f in c00.rank_agreements(records))


def test_a_closing_cell_skips_another_notebooks_unreadable_record_but_not_its_own(tmp_path, capsys):
    rng = np.random.default_rng(8)
    family(tmp_path, c08.NOTEBOOK, c08.GROUP, {c08.CNN: 0.8, c08.MLP: 0.7}, rng,
           metrics={k: 0.8 for k in c08.METRICS[1:]})
    (tmp_path / "results" / "01_chollet_baselines__old.json").write_text('{"name": "old"}')  # an older schema
    study = Study(c08.NOTEBOOK, tmp_path, 0)
    sec = chapters.conclude(study)
    assert sec.conclusions and "skipped 1 unreadable record(s) of other notebooks" in capsys.readouterr().out
    (tmp_path / "results" / f"{c08.NOTEBOOK}__broken.json").write_text('{"name": "broken"}')
    with pytest.raises(Exception, match="broken.json"):
        chapters.conclude(study)


@pytest.mark.parametrize("stopped", [False, True])
def test_early_stopping_that_ended_no_run_is_not_compared_with_the_baseline_it_equals(tmp_path, stopped):
    rng = np.random.default_rng(5)
    for s in (0, 1, 2):
        seeded(tmp_path, c04.NOTEBOOK, c04.ABLATION, c04.BASELINE, s, 0.7, rng)
        seeded(tmp_path, c04.NOTEBOOK, c04.ABLATION, "early_stopping", s, 0.7, rng,
               train={"early_stopping": c04.EARLY_STOPPING_PATIENCE}, early_stopped=stopped and s == 1)
        seeded(tmp_path, c04.NOTEBOOK, c04.ABLATION, "batch_norm", s, 0.75, rng)
    sec = c04.findings(read_records(tmp_path / "results"))
    compared = {c.a for c in sec.comparisons}
    text = " ".join(sec.sentences())
    if stopped:  # one run stopped early: a real comparison
        assert "early_stopping" in compared and "ended none of its runs" not in text
    else:
        assert compared == {"batch_norm"}
        assert "Early stopping (patience 2) ended none of its runs within the baseline's 8 epochs (3 seeds)" in text


def test_the_abstract_says_when_a_longer_budget_changes_a_sections_ranking():
    from emnist_lib.analysis import BudgetCheck
    from emnist_lib.conclusions import Section

    sec = Section("07_x", "T", "Q", conclusions=["A is worse than B (-5.0 points, 95% CI [-10.0, -0.2])."])
    sec.budget_checks.append(BudgetCheck(2, [0], {"A": 0.6, "B": 0.7}, {"A": 0.6, "B": 0.7}, []))
    assert "ranking changes" not in sec.summary()
    sec.budget_checks.append(BudgetCheck(2, [0], {"A": 0.6, "B": 0.7}, {"A": 0.75, "B": 0.7}, [("A", "B")]))
    assert sec.summary().endswith("[At 2x the budget (one seed) the ranking changes (A and B swap); see the section.]")


def test_a_swap_at_the_longer_budget_says_whether_it_is_more_than_the_images_noise():
    """The review's finding: "fine_tuned and frozen swap" on 5 differing images of 254 (p = 1.0) read as a change of
    ranking. One seed's swap carries McNemar on the longer runs' own images, and the wording follows its verdict."""
    import numpy as np

    from emnist_lib import stats
    from emnist_lib.analysis import BudgetCheck
    from emnist_lib.conclusions import SHARED, Section

    same = np.ones(254, bool)
    few = same.copy()
    few[:3] = False
    noise = stats.mcnemar_test(same, few, "A", "B")  # 3 discordant images: p = 0.25
    many = np.r_[np.ones(4000, bool), np.zeros(700, bool)]
    other = many.copy()
    other[:300] = False  # A right on 300 images B gets wrong, B on none
    real = stats.mcnemar_test(many, other, "A", "B")
    assert not noise.significant and real.significant
    for test, words in ((noise, "within the images' noise"), (real, "beyond the images' noise")):
        check = BudgetCheck(2, [0], {"A": 0.6, "B": 0.7}, {"A": 0.75, "B": 0.7}, [("A", "B")], {("A", "B"): test})
        text = str(SHARED.finding("budget_check", check=check, what="the pair"))
        assert "A and B swap, A ahead at 2x by" in text and words in text, text
        assert f"{test.n:,} test images" in text and ("p = 0.25" in text) == (test is noise)
    sec = Section("07_x", "T", "Q", conclusions=["A is worse than B (-5.0 points, 95% CI [-10.0, -0.2])."])
    sec.budget_checks.append(BudgetCheck(2, [0], {"A": 0.6, "B": 0.7}, {"A": 0.75, "B": 0.7}, [("A", "B")],
                                         {("A", "B"): noise}))
    assert sec.summary().endswith("the ranking changes (A and B swap within the images' noise); see the section.]")


def test_the_budget_check_tests_one_seeds_swap_on_the_longer_runs_images(tmp_path):
    """analysis.budget_check pairs the two longer runs' per-image correctness (the leader first)."""
    import numpy as np
    from records_factory import seeded

    from emnist_lib import analysis
    from emnist_lib.results import read_records

    n, rng = 400, np.random.default_rng(0)
    base_a, base_b = rng.random(n) < 0.60, rng.random(n) < 0.70
    long_a, long_b = base_b.copy(), base_b.copy()
    long_b[:40] = False  # at 2x A leads B on 40 images
    for group, a, b in (("g", base_a, base_b), ("g_budget2x", long_a, long_b)):
        seeded(tmp_path, "03_cnn_depth", group, "A", 0, 0.6, rng, n_test=n, correct=a)
        seeded(tmp_path, "03_cnn_depth", group, "B", 0, 0.6, rng, n_test=n, correct=b)
    check = analysis.budget_check(read_records(tmp_path / "results"), "03_cnn_depth", "g", "test_accuracy")
    assert check.swaps == [("A", "B")]
    test = check.swap_tests[("A", "B")]
    assert test.a == "A" and test.diff > 0 and test.significant


def test_a_run_that_several_sweeps_share_is_counted_once_in_the_plateau_line(tmp_path):
    """The review's finding: chapter 02's "of 54 trained runs" counted its shared references (relu = adam =
    baseline) once per sweep; 45 runs were trained."""
    import numpy as np
    from records_factory import seeded

    from emnist_lib.conclusions import convergence_line
    from emnist_lib.results import read_records

    rng = np.random.default_rng(0)
    for group in ("activation", "optimizer"):  # the same reference run, recorded under two sweeps
        seeded(tmp_path, "02_dnn_learning_rules", group, "reference", 0, 0.7, rng)
    seeded(tmp_path, "02_dnn_learning_rules", "activation", "tanh", 0, 0.7, rng, model_kwargs={"activation": "tanh"})
    records = read_records(tmp_path / "results")
    assert len(records) == 3
    assert "of 2 distinct trained runs" in str(convergence_line(records)[0])
