import numpy as np
import pytest

from emnist_lib import training
from emnist_lib.convergence import convergence
from emnist_lib.recipe import Recipe
from emnist_lib.results import Budget
from emnist_lib.training import TrainConfig, cross_validate, train

CFG = TrainConfig(epochs=2, batch_size=64, learning_rate=3e-3)


def test_same_seed_gives_identical_metrics(toy):
    x, y = toy
    a = train("chollet_dense", x, y, 10, CFG, use_cache=False, verbose=0)
    b = train("chollet_dense", x, y, 10, CFG, use_cache=False, verbose=0)
    assert a.history == b.history
    np.testing.assert_array_equal(a.model.predict(x[:5], verbose=0), b.model.predict(x[:5], verbose=0))


def _counting_convnet():
    """A small convnet whose train step counts how often Python runs it: once per trace."""
    import keras

    class Counting(keras.Model):
        traces = 0

        def train_step(self, data):
            type(self).traces += 1
            return super().train_step(data)

    inputs = keras.Input((28, 28), dtype="uint8")
    h = keras.layers.Rescaling(1 / 255)(keras.layers.Reshape((28, 28, 1))(inputs))
    h = keras.layers.Conv2D(4, 3, activation="relu")(h)
    h = keras.layers.Dropout(0.2)(keras.layers.GlobalAveragePooling2D()(h))
    return Counting(inputs, keras.layers.Dense(10, activation="softmax")(h), name="counting")


def test_the_train_step_is_traced_once_per_run(toy):
    x, y = toy  # 270 training images at batch 32: 9 steps per epoch, 3 per call, 3 epochs
    model = _counting_convnet()
    train(model, x, y, 10, TrainConfig(epochs=3, batch_size=32), use_cache=False, verbose=0)
    assert type(model).traces == 1  # optimizer slots and metrics created before fit: no retrace for new variables


def test_creating_the_training_state_before_fit_leaves_training_unchanged(toy, monkeypatch):
    x, y = toy
    cfg = TrainConfig(epochs=3, batch_size=32, learning_rate=3e-3, seed=4)
    ahead = train("cnn", x, y, 10, cfg, {"dropout": 0.2}, use_cache=False, verbose=0)
    monkeypatch.setattr(training, "build_state", lambda model: None)  # Keras' default: created in the first trace
    lazy = train("cnn", x, y, 10, cfg, {"dropout": 0.2}, use_cache=False, verbose=0)
    assert ahead.history == lazy.history
    np.testing.assert_array_equal(ahead.model.predict(x[:8], verbose=0), lazy.model.predict(x[:8], verbose=0))


def test_training_learns_the_toy_problem(toy):
    x, y = toy
    res = train("chollet_dense", x, y, 10, TrainConfig(epochs=4, batch_size=32, learning_rate=3e-3),
                use_cache=False, verbose=0)
    assert res.history["val_accuracy"][-1] > 0.8
    assert res.images_per_s > 0 and res.wall_time_s > 0 and 1 <= res.best_epoch <= 4


def test_cached_model_is_reused_without_retraining(toy, monkeypatch):
    x, y = toy
    first = train("keras_io_convnet", x, y, 10, CFG, verbose=0)
    assert not first.cache_hit

    def boom(*args, **kwargs):
        raise AssertionError("fit called on a cache hit")

    import keras

    monkeypatch.setattr(keras.Model, "fit", boom)
    again = train("keras_io_convnet", x, y, 10, CFG, verbose=0)
    assert again.cache_hit and again.key == first.key and again.history == first.history
    np.testing.assert_allclose(again.model.predict(x[:4], verbose=0), first.model.predict(x[:4], verbose=0),
                               rtol=1e-6)


def test_force_retrains_and_other_config_gets_another_key(toy):
    x, y = toy
    first = train("keras_io_convnet", x, y, 10, CFG, verbose=0)
    forced = train("keras_io_convnet", x, y, 10, CFG, verbose=0, force=True)
    assert not forced.cache_hit and forced.key == first.key
    other = train("keras_io_convnet", x, y, 10, TrainConfig(epochs=1, batch_size=64), verbose=0, use_cache=False)
    assert other.key != first.key


def test_wrong_class_count_is_refused(toy):
    x, y = toy
    with pytest.raises(ValueError, match="labels span 1..10 but the model has 10 outputs.*num_classes=27"):
        train("chollet_dense", x, y + 1, 10, CFG, verbose=0)


def test_early_stopping_restores_best_and_stops(toy):
    x, y = toy
    cfg = TrainConfig(epochs=30, batch_size=64, learning_rate=3e-3, early_stopping=1)
    res = train("chollet_dense", x, y, 10, cfg, use_cache=False, verbose=0)
    assert len(res.history["loss"]) < 30


@pytest.mark.parametrize("schedule", ["step", "cosine"])
def test_schedules_lower_the_learning_rate(schedule):
    cfg = TrainConfig(schedule=schedule, learning_rate=0.1, epochs=6, step_epochs=2, warmup_epochs=1)
    lr = training.learning_rate(cfg, steps_per_epoch=10)
    late = float(lr(55))
    assert late < 0.1 * 0.6
    if schedule == "cosine":
        assert float(lr(0)) < float(lr(10))  # warm-up rises first


def test_unknown_optimizer_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown optimizer 'adagrad'"):
        TrainConfig(optimizer="adagrad")


def test_augmented_pipeline_keeps_shapes_and_range(toy):
    from emnist_lib.transforms import augmentation

    x, y = toy
    ds = training.make_dataset(x, y, 16, shuffle=True, seed=0, augment=augmentation(seed=0))
    images, labels = next(iter(ds))
    assert images.shape == (16, 28, 28) and float(images.numpy().max()) <= 255.0
    assert labels.shape == (16,)


def test_augmentation_strengths_reach_the_pipeline(toy, monkeypatch):
    from emnist_lib import transforms

    seen = []
    real = transforms.augmentation
    monkeypatch.setattr(transforms, "augmentation", lambda *a, **k: seen.append((a, k)) or real(*a, **k))
    x, y = toy
    cfg = TrainConfig(epochs=1, batch_size=64, augment=True, augment_rotation=0.02, augment_translation=0.05,
                      augment_zoom=0.0)
    train("chollet_dense", x, y, 10, cfg, use_cache=False, verbose=0)
    assert seen == [((0.02, 0.05, 0.0), {"seed": 0})]


def test_label_smoothing_is_the_loss_trained_on_and_a_cached_model_reloads(toy):
    import keras

    loss = training.SmoothedSparseCrossEntropy(0.1)
    y_true, p = np.array([0, 1]), np.array([[0.9, 0.1], [0.2, 0.8]], dtype="float32")
    target = np.array([[0.95, 0.05], [0.05, 0.95]])
    expected = -np.mean(np.sum(target * np.log(p), axis=1))
    assert float(loss(y_true, p)) == pytest.approx(expected, rel=1e-5)
    assert float(training.SmoothedSparseCrossEntropy(0.0)(y_true, p)) == pytest.approx(
        float(keras.losses.SparseCategoricalCrossentropy()(y_true, p)), rel=1e-6)

    x, y = toy
    cfg = TrainConfig(epochs=2, batch_size=64, learning_rate=3e-3, label_smoothing=0.1)
    smoothed = train("chollet_dense", x, y, 10, cfg, verbose=0, force=True)
    plain = train("chollet_dense", x, y, 10, TrainConfig(epochs=2, batch_size=64, learning_rate=3e-3), verbose=0,
                  use_cache=False)
    assert smoothed.key != plain.key and smoothed.config["label_smoothing"] == 0.1
    assert smoothed.history["loss"] != plain.history["loss"]  # the smoothed targets are what it trained on
    again = train("chollet_dense", x, y, 10, cfg, verbose=0)
    assert again.cache_hit and isinstance(again.model.loss, training.SmoothedSparseCrossEntropy)
    np.testing.assert_allclose(again.model.predict(x[:4], verbose=0), smoothed.model.predict(x[:4], verbose=0),
                               rtol=1e-6)


def test_cross_validation_reports_folds_mean_std_best_first(toy):
    x, y = toy
    cands = [Recipe("tiny", "mlp", {"hidden": (4, 4, 4)}, TrainConfig(epochs=1, batch_size=64)),
             Recipe("wide", "mlp", {"hidden": (128, 64, 32)}, TrainConfig(epochs=3, batch_size=32, learning_rate=3e-3))]
    table = cross_validate(cands, x, y, 10, k=3, seed=0)
    assert list(table.columns) == ["name", "recipe", "folds", "mean", "std", "statuses", "convergence"]
    assert table.loc[0, "recipe"] == cands[1]
    assert all(len(v) == 3 for v in table["statuses"])
    assert all(len(f) == 3 for f in table["folds"])
    assert table.loc[0, "name"] == "wide" and table.loc[0, "mean"] == pytest.approx(np.mean(table.loc[0, "folds"]))
    assert table["mean"].is_monotonic_decreasing


def test_automatic_batch_depends_on_hardware_and_model(toy, monkeypatch):
    monkeypatch.setattr(training, "has_gpu", lambda: False)
    assert training.auto_batch_size("chollet_dense") == 256
    assert training.auto_batch_size("mlp", {"hidden": (8, 8, 8)}) == 256
    assert training.auto_batch_size("chollet_convnet") == 32
    assert training.auto_batch_size("mobilenet_small") == 32
    x, y = toy
    res = train("chollet_convnet", x[:64], y[:64], 10, TrainConfig(epochs=1, validation_fraction=0.0),
                use_cache=False, verbose=0)
    assert res.config["batch_size"] == 32
    assert res.model.jit_compile is False  # XLA measured slower on CPU
    monkeypatch.setattr(training, "has_gpu", lambda: True)
    assert training.auto_batch_size("chollet_dense") == 512 == training.auto_batch_size("chollet_convnet")
    assert training.accelerator_defaults()["policy"] == "mixed_float16"


def test_several_steps_per_call_change_nothing_but_speed(toy, monkeypatch):
    """Several steps per graph call (also when the cap does not divide steps/epoch, or exceeds
    it) run exactly the same optimisation steps as one step per call."""
    x, y = toy
    cfg = TrainConfig(epochs=2, batch_size=32, validation_fraction=0.2)  # 240 images: 8 steps/epoch
    many = train("chollet_dense", x, y, 10, cfg, use_cache=False, verbose=0)
    monkeypatch.setattr(training, "STEPS_PER_EXECUTION", 3)  # not a divisor of 8: 2 per call
    assert training.steps_per_execution(8) == 2
    three = train("chollet_dense", x, y, 10, cfg, use_cache=False, verbose=0)
    monkeypatch.setattr(training, "STEPS_PER_EXECUTION", 1)
    one = train("chollet_dense", x, y, 10, cfg, use_cache=False, verbose=0)
    assert int(many.model.optimizer.iterations.numpy()) == int(one.model.optimizer.iterations.numpy()) == 16
    assert int(three.model.optimizer.iterations.numpy()) == 16
    assert many.history == one.history == three.history


def test_steps_per_execution_divides_the_epoch():
    assert training.steps_per_execution(390) == 30
    assert training.steps_per_execution(3510) == 30
    assert training.steps_per_execution(8) == 8
    assert training.steps_per_execution(389) == 1  # a prime: one step per call
    assert training.steps_per_execution(1) == 1


def test_cosine_schedule_ends_at_zero_at_the_end_of_the_budget():
    cfg = TrainConfig(learning_rate=0.01, epochs=4, warmup_epochs=1)
    lr = training.learning_rate(cfg, steps_per_epoch=25)
    assert float(lr(25)) == pytest.approx(0.01)  # peak after the warm-up
    assert float(lr(100)) == pytest.approx(0.0, abs=1e-9)  # the last step of the budget
    assert float(lr(50)) > float(lr(75)) > float(lr(99))


def test_default_schedule_completes_within_the_budget():
    assert TrainConfig().schedule == "cosine"
    with pytest.raises(ValueError, match="warmup_epochs must be in 0..epochs-1"):
        TrainConfig(epochs=2, warmup_epochs=2)


def test_every_run_records_its_budget_and_convergence(toy):
    x, y = toy
    res = train("chollet_dense", x, y, 10, TrainConfig(epochs=4, batch_size=32, learning_rate=3e-3),
                use_cache=False, verbose=0)
    assert res.budget == Budget(epochs=4, steps_per_epoch=9, steps=36, images=1152, train_images=270, batch_size=32,
                                schedule="cosine")
    assert res.convergence.status in {"plateau", "still_improving", "undetermined"}
    assert res.convergence.chance == pytest.approx(0.1) and "Bonett and Price" in res.convergence.criterion
    assert "paired gain (adjusted Wald, Bonett-Price) on 30 validation images" in res.convergence.method  # per-image validation correctness
    assert res.val_correct is not None and len(res.val_correct) == 30


@pytest.mark.parametrize("val,n_val,status", [
    ([0.30, 0.70, 0.70, 0.698], 20000, "plateau"),    # -0.2 points since mid-run on 20,000 images: a plateau
    ([0.30, 0.69, 0.70, 0.705], 1000, "undetermined"),  # +1.5 points on 1,000 images (independent): cannot tell
    ([0.30, 0.69, 0.69, 0.69], 500, "undetermined"),  # flat, but 500 images cannot bound the gain below 1 point
    ([0.30, 0.50, 0.60, 0.70], 20000, "still_improving"),  # +20 points since mid-run
    ([0.10, 0.11, 0.12, 0.13], 20000, "did_not_train"),  # within 5 points of chance (10 classes)
    ([0.50], 20000, "undetermined"),                  # one epoch: nothing to judge
])
def test_convergence_verdict(val, n_val, status):
    v = convergence({"val_accuracy": val}, chance=0.1, epochs_planned=len(val), n_val=n_val)
    assert v.status == status, v.reason


def test_early_stopping_is_judged_on_the_epochs_it_ran():
    v = convergence({"val_accuracy": [0.3, 0.6, 0.5, 0.4]}, chance=0.1, epochs_planned=10, n_val=100)
    assert v.status == "plateau" and v.early_stopped


def test_without_per_image_records_or_an_image_count_no_plateau_is_claimed():
    v = convergence({"val_accuracy": [0.3, 0.6, 0.6, 0.6]}, chance=0.1, epochs_planned=4)
    assert v.status == "undetermined" and "cannot be bounded" in v.reason


def test_a_validation_split_too_small_for_the_classes_is_a_clear_error(toy):
    x, y = toy
    with pytest.raises(ValueError, match=r"validation split of 3 images \(0.1 of 30\) cannot hold one image of each "
                                         r"of the 10 classes"):
        train("chollet_dense", x[::10], y[::10], 10, CFG, use_cache=False, verbose=0)


def test_a_run_stopped_mid_fit_leaves_the_precision_policy_as_it_was(toy, monkeypatch):
    """A pruned Optuna trial leaves fit by an exception; on a GPU the run sets mixed precision."""
    import keras
    import optuna

    x, y = toy
    monkeypatch.setattr(training, "accelerator_defaults",
                        lambda: {"batch_size": None, "policy": "mixed_float16", "jit_compile": False})
    seen = []

    class Prune(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(keras.mixed_precision.global_policy().name)
            raise optuna.TrialPruned()

    with pytest.raises(optuna.TrialPruned):
        train("chollet_dense", x, y, 10, CFG, use_cache=False, verbose=0, callbacks=[Prune()])
    assert seen == ["mixed_float16"]
    assert keras.mixed_precision.global_policy().name == "float32"


# --------------------------------------------------------------------------- convergence: properties
def _line(start, step, epochs, n, rng):
    """Per-epoch validation correctness of a run whose accuracy rises ``step`` per epoch on ``n`` images."""
    order = rng.permutation(n)
    return [np.isin(np.arange(n), order[: round((start + step * e) * n)]) for e in range(epochs)]


def _plateau(base, epochs, flips, rng):
    """``epochs`` copies of ``base`` with ``flips`` images right->wrong and as many wrong->right each: noise only."""
    out = []
    for _ in range(epochs):
        f = base.copy()
        f[rng.choice(np.flatnonzero(base), flips, replace=False)] = False
        f[rng.choice(np.flatnonzero(~base), flips, replace=False)] = True
        out.append(f)
    return out


def test_a_run_still_learning_is_still_improving_whatever_its_learning_rate_tail():
    rng = np.random.default_rng(0)
    correct = _line(0.40, 0.02, 6, 260, rng)  # +2 points per epoch for 6 epochs on 260 images
    hist = {"val_accuracy": [float(c.mean()) for c in correct]}
    assert convergence(hist, chance=1 / 47, epochs_planned=6, correct=correct).status == "still_improving"
    sgd = _line(0.038, 0.043, 5, 940, rng)  # 3.8% -> 25.2%: the SGD run the review found "converged"
    v = convergence({"val_accuracy": [float(c.mean()) for c in sgd]}, chance=1 / 47, epochs_planned=5, correct=sgd)
    assert v.status == "still_improving" and v.upper > v.gain > v.lower > 0.05


def test_a_plateau_is_shown_and_early_stopping_on_a_plateau_too():
    rng = np.random.default_rng(1)
    rise = _line(0.30, 0.15, 3, 2000, rng)
    correct = rise + _plateau(rise[-1], 5, 3, rng)  # epoch-to-epoch noise: a few images flip both ways
    hist = {"val_accuracy": [float(c.mean()) for c in correct]}
    assert convergence(hist, 0.02, 8, correct=correct).status == "plateau"
    v = convergence(hist, 0.02, 20, correct=correct)  # stopped early after 8 of 20
    assert v.status == "plateau" and v.early_stopped


def test_a_plateau_on_too_few_images_to_show_it_is_undetermined():
    rng = np.random.default_rng(2)
    rise = _line(0.30, 0.15, 3, 150, rng)
    correct = rise + _plateau(rise[-1], 5, 3, rng)  # the same noise as a plateau on 2,000 images
    v = convergence({"val_accuracy": [float(c.mean()) for c in correct]}, 0.02, 8, correct=correct)
    assert v.status == "undetermined" and v.upper >= 0.01 and "plateau undetermined" in v.reason


def test_without_per_image_records_the_verdict_says_which_test_it_used():
    v = convergence({"val_accuracy": [0.3, 0.5, 0.6, 0.7]}, 0.1, 4, n_val=1000)
    assert v.status == "still_improving" and "independent proportions" in v.method


def test_a_thread_drawing_from_pythons_random_does_not_change_a_runs_weights(toy):
    """A Dask worker's event loop draws from Python's global random while a run builds its model; Keras' unseeded
    initializers draw their seeds from there too. The run must not notice (training._own_keras_rng)."""
    import random
    import threading

    x, y = toy
    cfg = TrainConfig(epochs=1, batch_size=32, seed=3)
    quiet = train("chollet_dense", x, y, 10, cfg, use_cache=False, verbose=0).model.get_weights()
    stop = threading.Event()

    def draw():
        while not stop.is_set():
            random.random()

    thread = threading.Thread(target=draw, daemon=True)
    thread.start()
    try:
        busy = [train("chollet_dense", x, y, 10, cfg, use_cache=False, verbose=0).model.get_weights() for _ in range(2)]
    finally:
        stop.set()
        thread.join()
    assert all(np.array_equal(a, b) for weights in busy for a, b in zip(quiet, weights))


def test_no_changed_image_is_no_proof_of_a_plateau():
    """The review's zero-SE passes: 0 images changed out of 76 gives a bound of about 3 points, not 0."""
    from emnist_lib.convergence import paired_gain_bounds

    gain, lower, upper = paired_gain_bounds(0, 0, 76)
    assert gain == 0 and upper > 0.02 and lower < -0.02
    base = np.r_[np.ones(50, bool), np.zeros(26, bool)]
    v = convergence({"val_accuracy": [0.5, 0.6578, 0.6578, 0.6578]}, 0.02, 4, correct=[base] * 4)
    assert v.status == "undetermined"


# --------------------------------------------------------------------------- plateau test: at the study's sizes
# Runs whose verdict no comparison rests on: screening and selection steps (each optimizer's learning rate on its
# tuning part, the search's trials, the cross-validation's folds: selection is never gated on the verdict, and a small
# validation set there only makes "undetermined" likelier, never a false plateau), and transfer to Binary
# AlphaDigits, whose 1,014 letters leave 76 validation images (the report states that floor).
SCREENING = {("02_dnn_learning_rules", "optimizer_tuning"), ("04_regularisation_tuning", "search"),
             ("04_regularisation_tuning", "cv")}
FLOOR_OF_THE_DATA = {"07_transfer_learning"}


def _study_validation_sizes() -> dict[str, int]:
    """The smallest validation set each chapter's compared runs in the committed EMNIST-scale report were judged on
    (the records' own ``convergence.n_images``: the study's actual sizes, whatever the params say)."""
    from emnist_lib import config
    from emnist_lib.results import read_records

    folder = config.records_dir(config.REPORT_DIR / "emnist")
    if not folder.is_dir():
        pytest.skip("no committed EMNIST-scale report")
    sizes: dict[str, int] = {}
    for r in read_records(folder):
        if (not r.group or not r.convergence or not r.convergence.n_images or r.notebook in FLOOR_OF_THE_DATA
                or (r.notebook, r.group.removesuffix("_budget2x")) in SCREENING):
            continue
        sizes[r.notebook] = min(sizes.get(r.notebook, r.convergence.n_images), r.convergence.n_images)
    return sizes


def _pilot_churn() -> float:
    """The share of validation images that changed between mid-run and the end in the EMNIST-scale pilot's runs
    (benchmarks/power_pilot.py), the largest of the runs that showed a plateau: a flat run's churn at these sizes."""
    import json

    from emnist_lib import config

    path = config.REPO_ROOT / "benchmarks" / "results" / "power_pilot.json"
    if not path.exists():
        pytest.skip("no pilot results (benchmarks/power_pilot.py)")
    runs = json.loads(path.read_text())["runs"]
    flat = [r["churn"] for r in runs if r["status"] == "plateau" and r["churn"] is not None]
    return max(flat) if flat else max(r["churn"] for r in runs if r["churn"] is not None)


@pytest.mark.parametrize("notebook", ["01_chollet_baselines", "02_dnn_learning_rules", "03_cnn_depth",
                                      "04_regularisation_tuning", "05_architectures", "06_blur_robustness",
                                      "08_final_evaluation", "09_anchors"])
def test_at_the_study_sizes_a_flat_run_shows_a_plateau_and_a_gaining_one_does_not(notebook):
    """At the smallest validation set a chapter's compared runs were judged on (from the committed records) and the
    churn the pilot measured, a run that is flat passes the plateau test at least 80% of the time, and one that
    gains 1 point in its second half at most 5% (the test's own alpha: a gain of exactly the margin sits on its
    boundary, so the Monte Carlo rate is allowed three of its standard errors above 5%)."""
    from emnist_lib.convergence import plateau_power

    n = _study_validation_sizes()[notebook]
    churn = _pilot_churn()
    runs = 4000
    assert plateau_power(n, churn, gain=0.0, runs=runs) >= 0.80, (n, churn)
    assert plateau_power(n, churn, gain=0.01, runs=runs) <= 0.05 + 3 * (0.05 * 0.95 / runs) ** 0.5, (n, churn)
    assert plateau_power(n, max(churn, 0.03), gain=0.02, runs=runs) <= 0.001


def test_the_plateau_size_check_fails_at_the_sizes_the_review_found():
    """The check above is not vacuous: at chapter 02's former 3,525 validation images, and at the 2,892 of chapters
    01 and 06, a flat run would pass under 80% of the time."""
    from emnist_lib.convergence import plateau_power

    churn = _pilot_churn()
    assert plateau_power(3525, churn, gain=0.0) < 0.80
    assert plateau_power(2892, churn, gain=0.0) < 0.80


def test_a_model_built_in_another_thread_leaves_a_runs_initial_weights_alone():
    """A Dask worker unpickles a large incoming task in another thread while a run builds its model; a task that
    carries Keras models (chapter 07's) builds them there, drawing initializer seeds. The run's weights must not
    move: each thread draws Keras' default seeds from a generator of its own."""
    import threading

    import numpy as np

    from emnist_lib import models
    from emnist_lib.training import set_seed

    def weights():
        return models.build("chollet_dense", 10).get_weights()

    set_seed(3)
    reference = weights()
    set_seed(3)
    other = threading.Thread(target=lambda: models.build("chollet_dense", 10))
    other.start()
    other.join()
    assert all(np.array_equal(a, b) for a, b in zip(reference, weights()))


def test_a_gpus_precision_is_part_of_the_key_and_the_record_and_a_cpus_changes_nothing(toy, monkeypatch):
    """Issue 23: a lever that changes numerics (a GPU's mixed precision) never changes a result silently. On a CPU
    (float32, XLA off) nothing is added, so every committed key and record stays; under another policy the cache key
    differs and the result (and so its record) names the policy."""
    from emnist_lib.results import make_record

    x, y = toy
    assert training.engine_settings() is None
    plain = train("chollet_dense", x, y, 10, CFG, verbose=0)
    assert plain.engine is None
    mixed = {"batch_size": None, "policy": "mixed_float16", "jit_compile": False}
    monkeypatch.setattr(training, "accelerator_defaults", lambda: mixed)
    other = train("chollet_dense", x, y, 10, CFG, verbose=0)
    assert other.key != plain.key and not other.cache_hit
    assert other.engine == {"policy": "mixed_float16", "jit_compile": False}
    rec = make_record("r", notebook="01_x", data={}, config={}, seed=0, metrics={}, engine=other.engine)
    assert rec["hardware"]["engine"] == other.engine
    assert "engine" not in make_record("r", notebook="01_x", data={}, config={}, seed=0, metrics={})["hardware"]


def test_a_record_names_the_machine_its_run_trained_on(monkeypatch):
    """A run executed on a cluster worker records that worker's machine (set where the run executes, in
    study._execute), not the notebook's; a record without one names this process's."""
    from dataclasses import replace

    from emnist_lib import results, study

    worker = {"cpu": "the worker's CPU", "cores": 64, "threads": 1}
    monkeypatch.setattr(results, "here", lambda: worker)
    fake = training.TrainResult(None, {}, 1, 0.0, 0.0, {}, "k")
    out = study._execute(lambda recipe, seed: replace(fake), lambda result, recipe, seed: {"acc": 1.0}, True,
                         (0, [Recipe("r", "chollet_dense")]))
    assert out[0][0].hardware == worker
    rec = results.make_record("r", notebook="01_x", data={}, config={}, seed=0, metrics={}, machine=worker)
    assert rec["hardware"] == worker
    monkeypatch.undo()
    assert results.make_record("r", notebook="01_x", data={}, config={}, seed=0, metrics={})["hardware"] == results.here()
