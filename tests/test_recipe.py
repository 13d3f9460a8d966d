"""A training recipe is one type (emnist_lib.recipe), a comparison one loop (study.run_recipes), and what training
returns is typed (Convergence, Status, Budget)."""

import json

import pytest
from test_chapters import study_in, toy_dataset

from emnist_lib import chapters
from emnist_lib.chapters import c01_chollet_baselines as c01
from emnist_lib.convergence import Convergence, Status, convergence
from emnist_lib.recipe import LATER_FIELDS, Change, Recipe, TrainConfig
from emnist_lib.results import Budget, RecordKey, make_record, read_record, read_records, write_record

BASE = TrainConfig(epochs=3, batch_size=32, learning_rate=3e-3)


# --------------------------------------------------------------------------- the type
def test_a_recipe_is_recorded_as_its_config_and_read_back_as_the_same_recipe():
    recipe = Recipe("dropout", "cnn", {"filters": (8, 16), "dropout": 0.3}, BASE, origin="chapter 04")
    config = recipe.config(seed=4)
    first_fields = {k: v for k, v in json.loads(json.dumps(BASE.__dict__)).items() if k not in LATER_FIELDS}
    assert config == {"model": "cnn", "model_kwargs": {"dropout": 0.3, "filters": [8, 16]},
                      "train": {**first_fields, "seed": 4}}
    back = Recipe.from_config(json.loads(json.dumps(config)), name="dropout")
    assert back == recipe and back.config(seed=4) == config and back.train.seed == 4


def test_a_recipe_is_named_by_what_it_trains_not_by_its_name_origin_or_seed():
    a = Recipe("a", "mlp", {"hidden": [8]}, BASE, origin="here")
    assert a.digest == Recipe("b", "mlp", {"hidden": [8]}, BASE.__class__(**{**BASE.__dict__, "seed": 9})).digest
    assert a != a.with_train(learning_rate=1e-2) and a != a.changed("a", Change({"hidden": [16]}))
    assert len(a.digest) == 12 and a.digest in str(a)
    assert {a, a.changed("c")} == {a}  # hashable, by content


def test_a_change_replaces_only_what_it_names():
    base = Recipe("baseline", "cnn", {"filters": [8], "pooling": "max"}, BASE)
    changed = base.changed("avg", Change({"pooling": "average"}, {"schedule": "constant"}))
    assert changed.name == "avg" and changed.model_settings == {"filters": [8], "pooling": "average"}
    assert changed.train.schedule == "constant" and changed.train.learning_rate == BASE.learning_rate
    assert base.longer(2).train.epochs == 6 and base.longer(2).train.schedule == base.train.schedule


def test_a_setting_added_later_is_recorded_only_when_set_so_older_configs_and_keys_stay():
    # The fields every record has carried since the first study; a default config records exactly these (and so keeps
    # its cache key and its records' configs), a set later field is recorded and read back.
    assert set(TrainConfig().to_dict()) == {
        "optimizer", "learning_rate", "momentum", "weight_decay", "schedule", "step_epochs", "step_factor",
        "warmup_epochs", "epochs", "batch_size", "validation_fraction", "validation_seed", "early_stopping", "augment",
        "seed"}
    smoothed = Recipe("ls", "cnn", {}, BASE).with_train(label_smoothing=0.1, augment=True, augment_rotation=0.02)
    config = json.loads(json.dumps(smoothed.config(seed=1)))
    assert config["train"]["label_smoothing"] == 0.1 and config["train"]["augment_rotation"] == 0.02
    assert "augment_zoom" not in config["train"]
    back = Recipe.from_config(config)
    assert back == smoothed and back.train.augment_zoom == TrainConfig().augment_zoom
    assert smoothed.digest != Recipe("ls", "cnn", {}, BASE).digest
    # without augmentation its strengths change nothing, so they change neither the record nor the cache key
    unaugmented = Recipe("x", "cnn", {}, BASE).with_train(augment_zoom=0.3)
    assert "augment_zoom" not in unaugmented.config()["train"] and unaugmented == Recipe("x", "cnn", {}, BASE)


@pytest.mark.parametrize("setting", [{"label_smoothing": 1.0}, {"label_smoothing": -0.1}, {"augment_zoom": 1.5},
                                     {"augment_rotation": -0.01}])
def test_a_smoothing_or_augmentation_strength_out_of_range_is_a_clear_error(setting):
    with pytest.raises(ValueError, match=f"{next(iter(setting))} must be in"):
        TrainConfig(**setting)


def test_an_unknown_training_setting_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown training setting.*lerning_rate"):
        Recipe("x", "mlp").changed("y", Change(train={"lerning_rate": 0.1}))
    with pytest.raises(ValueError, match="trains nothing"):
        Recipe("direct", "cnn", train=None).run_config(0)


def test_a_condition_is_recorded_beside_model_and_training():
    recipe = Recipe("kernel 5", "cnn", train=BASE, condition={"train_blur": 5})
    config = recipe.config(seed=0)
    assert config["train_blur"] == 5 and set(config) == {"model", "model_kwargs", "train_blur", "train"}
    assert Recipe.from_config(config, condition_keys=("train_blur",)) == recipe
    assert Recipe.from_config(config) != recipe  # the condition is part of what the recipe trains


# --------------------------------------------------------------------------- typed verdicts
@pytest.mark.parametrize("history, correct, n_val, keys", [
    ({"val_accuracy": [0.5, 0.6, 0.6, 0.61]}, None, 400, {"improved", "worsened", "upper", "method"}),  # unpaired
    ({"val_accuracy": [0.01, 0.02]}, None, 400, set()),  # did not train: no gain bound
])
def test_a_verdict_records_exactly_the_fields_it_has(history, correct, n_val, keys):
    verdict = convergence(history, 0.1 if history["val_accuracy"][0] > 0.1 else 0.02, 4, n_val, correct)
    assert isinstance(verdict, Convergence) and isinstance(verdict.status, Status)
    recorded = verdict.to_dict()
    assert keys <= set(recorded) and not ({"improved", "upper"} - keys) & set(recorded)
    assert Convergence.from_dict(json.loads(json.dumps(recorded))) == verdict
    if keys:  # the unpaired fallback has no per-image counts, and says so with nulls
        assert recorded["improved"] is None and recorded["worsened"] is None


def test_a_status_is_an_enum_that_records_as_its_value(tmp_path):
    verdict = Convergence.not_trained("applied without training", "no training")
    assert verdict.to_dict() == {"status": "not_trained", "reason": "applied without training", "criterion": "no training"}
    assert verdict.status == "not_trained" and str(verdict.status) == "not_trained"
    rec = make_record("x", notebook="n", data={"source": "synthetic", "split": "s", "n_train": 1, "n_test": 1},
                      config={}, seed=0, metrics={}, convergence=verdict,
                      budget=Budget(1, 2, 2, 64, 50, 32, "cosine"))
    back = read_record(write_record(tmp_path, rec))
    assert back.status is Status.NOT_TRAINED and back.budget.steps == 2 and back.convergence == verdict


# --------------------------------------------------------------------------- one seed loop
def test_the_seed_loop_records_every_recipe_and_seed_and_its_budget_check(tmp_path):
    from emnist_lib.study import run_recipes

    study = study_in(tmp_path, c01)
    ds = toy_dataset()
    recipes = c01.recipes(["chollet_dense"], TrainConfig(epochs=1, batch_size=64, learning_rate=3e-3))
    recipes.append(recipes[0].changed("slow", Change(train={"learning_rate": 1e-4})))
    runs = run_recipes(study, ds, recipes, [0, 1], "mnist", extra=lambda r, s: {"tag": f"{r.name}/{s}"},
                       check_seeds=[1])
    assert [(r.seed, r.recipe.name) for r in runs] == [(0, "chollet_dense"), (0, "slow"), (1, "chollet_dense"),
                                                        (1, "slow")]  # seeds outer
    records = {r.name: r for r in read_records(study.results)}
    assert set(records) == {f"mnist__{n}__seed{s}" for n in ("chollet_dense", "slow") for s in (0, 1)} | \
        {f"mnist_budget2x__{n}__seed1" for n in ("chollet_dense", "slow")}
    slow = records["mnist__slow__seed1"]
    assert slow.recipe == recipes[1] and slow.config["train"]["seed"] == 1 and slow.extra["tag"] == "slow/1"
    assert slow.metric("test_n") == len(ds.y_test) and isinstance(slow.status, Status)
    assert records["mnist_budget2x__slow__seed1"].budget.epochs == 2
    assert runs.first_seed()[1].recipe.name == "slow" and set(runs.histories()) == {"chollet_dense", "slow"}
    assert study.find(RecordKey(c01.NOTEBOOK, group="mnist", variant="slow", seed=1)).name == "mnist__slow__seed1"
    assert study.find(RecordKey(c01.NOTEBOOK, name="nothing")) is None


def test_the_seed_loop_refuses_two_recipes_of_one_name(tmp_path):
    from emnist_lib.study import run_recipes

    recipe = Recipe("same", "chollet_dense", train=BASE)
    with pytest.raises(ValueError, match="two recipes share a name"):
        run_recipes(study_in(tmp_path, c01), toy_dataset(), [recipe, recipe.with_train(epochs=1)], [0], "g")


def test_no_chapter_trains_outside_the_seed_loop_or_cross_validation():
    """Every `train(` call in a chapter sits in a function the seed loop calls (a `fit`), in transfer's k-fold, or
    in the source models that chapter 07 caches; no chapter has a loop over seeds that records runs itself."""
    import inspect

    for chapter in chapters.CHAPTERS:
        module = inspect.getmodule(chapter.findings)
        source = inspect.getsource(module)
        assert "study.record(f\"{group}__" not in source and "__seed{seed}" not in source, module.__name__
