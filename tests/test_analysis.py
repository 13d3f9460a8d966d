"""Seeded runs to findings: families, exclusions, two-model tests, and the sections' words."""

import numpy as np
import pytest
from records_factory import family, seeded, whole_study

from emnist_lib import analysis, chapters
from emnist_lib.conclusions import family_findings, say
from emnist_lib.results import RecordError, read_records


def _runs(tmp_path, nb, group):
    return analysis.group_runs(read_records(tmp_path / "results"), nb, group)


def test_family_compares_runs_without_a_plateau_at_this_budget_and_leaves_runs_that_did_not_train_out(tmp_path):
    rng = np.random.default_rng(1)
    family(tmp_path, "04_regularisation_tuning", "ablation",
           {"baseline": 0.70, "batch_norm": 0.78, "dropout=0.3": 0.701, "slow": 0.9, "dead": 0.02}, rng,
           statuses={"slow": "undetermined", "dead": "did_not_train"}, seeds=(0, 1, 2, 3, 4))
    fam = analysis.compare_family(_runs(tmp_path, "04_regularisation_tuning", "ablation"), "val_accuracy", "baseline")
    tested = {c.a: c for c in fam.comparisons if not c.excluded}
    assert set(tested) == {"batch_norm", "dropout=0.3", "slow"}  # never the one that did not train
    (dead,) = [c for c in fam.comparisons if c.excluded]  # but it stays in the declared family: m does not shrink
    assert dead.a == "dead" and dead.p is None and not dead.significant and "did not train" in dead.excluded
    assert tested["batch_norm"].direction == 1 and tested["batch_norm"].low > 0
    assert tested["dropout=0.3"].direction == 0 and tested["dropout=0.3"].correction == "Bonferroni over 4"
    assert {c.family for c in fam.comparisons} == {tested["slow"].family}
    text = " ".join(str(f) for f in family_findings(fam, "the baseline"))
    assert "Detectably better than the baseline at this budget: " in text and "batch_norm (+" in text
    assert "No detectable difference from the baseline at this budget: dropout=0.3" in text
    assert "with 80% power" in text
    assert "Plateau undetermined (compared above, at this budget): slow" in text
    assert "Did not train" in text and "dead" in text


def test_a_family_without_a_declared_reference_compares_nothing(tmp_path):
    family(tmp_path, "05_architectures", "architecture", {"a": 0.7, "b": 0.8}, np.random.default_rng(0))
    fam = analysis.compare_family(_runs(tmp_path, "05_architectures", "architecture"), "test_accuracy", None)
    assert fam.comparisons == [] and fam.reference is None


def test_recipes_are_compared_over_seeds_and_images_and_saved_models_by_mcnemar(tmp_path):
    rng = np.random.default_rng(2)
    base = rng.random(400) < 0.7
    strong = base | (rng.random(400) < 0.5)
    def jitter(v):  # each seed's model errs a little differently
        out = v.copy()
        flip = rng.choice(len(v), 8, replace=False)
        out[flip] = ~out[flip]
        return out

    for s in (0, 1, 2):
        seeded(tmp_path, "08_final_evaluation", "final", "cnn", s, 0, rng, correct=jitter(strong))
        seeded(tmp_path, "08_final_evaluation", "final", "mlp", s, 0, rng, correct=jitter(base))
        seeded(tmp_path, "08_final_evaluation", "final", "twin", s, 0, rng, correct=jitter(base))
    runs = _runs(tmp_path, "08_final_evaluation", "final")
    win = analysis.compare(runs["cnn"], runs["mlp"], "the CNN", "the MLP")
    assert win.direction == 1 and win.low > 0 and win.test.startswith("t on the seeds x images ANOVA SE (3 seeds, 400 "
                                                                      "shared images; ")
    tie = analysis.compare(runs["twin"], runs["mlp"], "twin", "the MLP")
    assert tie.direction == 0 and tie.low <= 0 <= tie.high and tie.mde > 0
    saved = analysis.two_saved_models(runs["cnn"][0], runs["mlp"][0], "the saved CNN", "the saved MLP")
    assert saved.test.startswith("McNemar") and saved.direction == 1


def test_a_recipe_that_did_not_train_is_not_compared_by_any_chapter(tmp_path):
    rng = np.random.default_rng(4)
    for s in (0, 1, 2):
        seeded(tmp_path, "06_blur_robustness", "blur", "clean", s, 0.8, rng)
        seeded(tmp_path, "06_blur_robustness", "blur", "dead", s, 0.03, rng, status="did_not_train" if s == 1 else "plateau")
    runs = _runs(tmp_path, "06_blur_robustness", "blur")
    c = analysis.compare(runs["dead"], runs["clean"], "dead", "clean", family_size=2)
    assert c.excluded == "dead did not train" and c.p is None and c.direction == 0 and not c.significant
    assert say("verdict", c=c) == "dead vs clean: not compared (dead did not train)"


def test_one_seed_two_models_is_mcnemar_with_wilson_intervals(tmp_path):
    rng = np.random.default_rng(3)
    seeded(tmp_path, "01_chollet_baselines", "mnist", "a", 0, 0.99, rng, n_test=2000)
    seeded(tmp_path, "01_chollet_baselines", "mnist", "b", 0, 0.95, rng, n_test=2000)
    runs = _runs(tmp_path, "01_chollet_baselines", "mnist")
    c = analysis.compare(runs["a"], runs["b"], "a", "b")  # one seed: a claim about the two trained models
    assert c.test.startswith("McNemar") and c.direction == 1 and c.a == "a (seed 0)"
    assert analysis.accuracy_with_interval(runs["a"][0]).startswith("99.00% [")


def test_sections_word_non_significant_differences_as_no_detectable_difference(tmp_path):
    whole_study(tmp_path)
    sections = chapters.all_sections(read_records(tmp_path / "results"))
    checked = 0
    for sec in sections:
        text = " ".join(str(c) for c in sec.conclusions)
        for c in sec.comparisons:
            if not c.significant:
                assert f"{c.a} is better than {c.b}" not in text and f"{c.a} is worse than {c.b}" not in text, c
                assert f"better than {c.b}: {c.a} " not in text and f"worse than {c.b}: {c.a} " not in text, c
                checked += 1
            else:
                word = "better" if c.diff > 0 else "worse"
                assert f"{c.a} is {word} than {c.b}" in text or f"Detectably {word} than" in text, c
    assert checked >= 2  # the sample study has ties (dropout vs the baseline, 2 conv vs best MLP)


def test_architecture_section_states_the_width_multiplier(tmp_path):
    whole_study(tmp_path)
    arch = chapters.section("05_architectures", read_records(tmp_path / "results"))
    assert "width multiplier" in arch.tables[0].headers and arch.tables[0].rows[0][4] == "0.25"
    assert any("multiplier 0.25" in t for t in arch.threat_lines())


def test_every_section_states_question_setup_and_conclusion(tmp_path):
    whole_study(tmp_path)
    for sec in chapters.all_sections(read_records(tmp_path / "results")):
        assert sec.question == chapters.get(sec.notebook).question
        if not sec.empty:
            assert sec.setup and sec.conclusions, sec.notebook
    lr = next(s for s in chapters.all_sections(read_records(tmp_path / "results"))
              if s.notebook == "02_dnn_learning_rules")
    assert any("Did not train" in c and "lr=0.0001" in c for c in lr.sentences())


def test_a_record_missing_a_field_the_report_needs_names_its_file(tmp_path):
    rng = np.random.default_rng(4)
    path = seeded(tmp_path, "05_architectures", "architecture", "deep_cnn", 0, 0.8, rng)
    text = path.read_text().replace('"convergence"', '"convergenz"')
    path.write_text(text)
    with pytest.raises(RecordError, match=f"{path}.*lacks the field 'convergence'"):
        chapters.section("05_architectures", read_records(tmp_path / "results"))


def test_a_record_without_provenance_is_refused_when_read(tmp_path):
    rng = np.random.default_rng(5)
    path = seeded(tmp_path, "05_architectures", "architecture", "deep_cnn", 0, 0.8, rng)
    path.write_text(path.read_text().replace('"source": "synthetic"', '"origin": "synthetic"'))
    with pytest.raises(RecordError, match=f"{path}.*'data.source'"):
        read_records(tmp_path / "results")


def test_blur_levels_near_chance_are_explained_not_ranked_as_failures(tmp_path):
    from records_factory import correct_vector

    from emnist_lib.results import pack_correct

    rng = np.random.default_rng(6)
    for variant, clean_acc, blur_acc in (("clean", 0.8, 0.03), ("kernel 30", 0.1, 0.09)):
        for s in (0, 1, 2):
            c0, c30 = correct_vector(clean_acc, 400, rng), correct_vector(blur_acc, 400, rng)
            seeded(tmp_path, "06_blur_robustness", "blur", variant, s, clean_acc, rng,
                   metrics={"test_accuracy_blur_0": float(c0.mean()), "test_correct_blur_0": pack_correct(c0),
                            "test_accuracy_blur_30": float(c30.mean()), "test_correct_blur_30": pack_correct(c30)})
    sec = chapters.section("06_blur_robustness", read_records(tmp_path / "results"))
    note = next(c for c in sec.sentences() if c.startswith("Near chance by design"))
    assert "at kernel 30 the clean-trained model scores 3.0%" in note and "trained on kernel 30, 9.0%" in note


def test_every_finding_that_compares_a_run_without_a_plateau_carries_the_dagger(tmp_path):
    """A family's findings mark each comparison with a run not shown to plateau (the abstract's †), and only those."""
    rng = np.random.default_rng(8)
    family(tmp_path, "04_regularisation_tuning", "ablation", {"baseline": 0.70, "flat": 0.78, "rising": 0.79}, rng,
           statuses={"rising": "still_improving"}, seeds=(0, 1, 2, 3, 4))
    fam = analysis.compare_family(_runs(tmp_path, "04_regularisation_tuning", "ablation"), "val_accuracy", "baseline")
    marks = {c.a: c.no_plateau for c in fam.comparisons}
    assert marks == {"flat": False, "rising": True}
    text = " ".join(str(f) for f in family_findings(fam, "the baseline"))
    assert text.count("†") == 1 and text.index("rising (") < text.index(")†")


def test_a_section_says_when_its_validation_images_are_too_few_to_show_a_plateau(tmp_path):
    """On 76 validation images even a run with no image changing keeps an upper bound of 3 points: the section says
    "undetermined" is the data's limit; on 4,700 images it does not."""
    import dataclasses

    from emnist_lib.conclusions import convergence_line

    family(tmp_path, "07_transfer_learning", "transfer", {"scratch": 0.6}, np.random.default_rng(9),
           statuses={"scratch": "undetermined"})
    runs = _runs(tmp_path, "07_transfer_learning", "transfer")["scratch"]

    def with_images(n):
        return [dataclasses.replace(r, convergence=dataclasses.replace(r.convergence, n_images=n)) for r in runs]

    few = " ".join(str(f) for f in convergence_line(with_images(76)))
    assert "on 76 validation images the plateau test cannot show a plateau" in few and "3.0 points" in few
    assert "cannot show" not in " ".join(str(f) for f in convergence_line(with_images(4700)))


@pytest.mark.parametrize("synthetic", [False, True])
def test_the_anchors_state_accuracy_images_per_class_and_the_field_only_on_real_data(tmp_path, synthetic):
    from emnist_lib.chapters import c09_anchors as c09

    whole_study(tmp_path, synthetic=synthetic)
    sec = chapters.section(c09.NOTEBOOK, read_records(tmp_path / "results"))
    text = " ".join(sec.sentences())
    per_class = round(846 / 50)  # the factory's budget: 846 training images, chance 0.02
    for split in c09.SPLITS:
        assert f"On {split}, the anchor recipe reaches" in text and f"{per_class:,} images per class (3 seeds)" in text
    assert ("95.4% (TextCaps" in text and "90.5% (TextCaps" in text) is not synthetic
    assert [row[0] for row in sec.tables[0].rows].count("letters") == (1 if synthetic else 4)
    recipe = sec.tables[0].rows[0][1]  # the factory names the builder after the variant
    assert recipe.startswith("anchor (width 0.5); 20 epochs") and recipe.endswith("label smoothing 0.1")
    assert sec.headline == sec.conclusions[:2]
    # the published numbers' caveat is a threat only where they are shown (the factory's real data is official)
    assert any("other training protocols" in t for t in sec.threat_lines()) is not synthetic
    assert c09.check({"splits": ["balanced", "digits"]}) == ["splits 'digits' unknown; choose from balanced, letters"]
    assert c09.check({"splits": ["letters"]}) == []


def test_anchors_on_the_re_split_pool_say_the_test_images_were_seen_while_exploring(tmp_path):
    from records_factory import REAL_BALANCED

    from emnist_lib.chapters import c09_anchors as c09

    rng = np.random.default_rng(9)
    for split in c09.SPLITS:
        family(tmp_path, c09.NOTEBOOK, split, {c09.ANCHOR: 0.9}, rng, n_test=470,
               data={**REAL_BALANCED, "source": "nist-pool", "split": split}, model_kwargs={"width": 0.5},
               train={"epochs": 20})
    threats = " ".join(chapters.section(c09.NOTEBOOK, read_records(tmp_path / "results")).threat_lines())
    assert "fewer images per class than the full official sets" in threats and "lean slightly optimistic" in threats
