import keras
import numpy as np
import pytest

from emnist_lib import models

CLASS_COUNTS = [10, 26, 27, 47, 62]


@pytest.mark.parametrize("name", sorted(models.REGISTRY))
def test_builder_builds_for_every_class_count_and_trains_one_step(name):
    x = np.random.default_rng(0).integers(0, 256, (8, 28, 28), dtype=np.uint8)
    for n in CLASS_COUNTS:
        keras.backend.clear_session()
        model = models.build(name, n)
        assert model.output_shape == (None, n)
        assert model.get_layer("features") is not None and model.get_layer("rescale") is not None
        # Eager: one step needs no graph tracing (10x faster here, same arithmetic).
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", run_eagerly=True)
        loss = model.train_on_batch(x, np.arange(8) % n)
        assert np.isfinite(loss), (name, n)


@pytest.mark.parametrize("name,expected", [("chollet_dense", 407_050), ("chollet_convnet", 93_322),
                                           ("keras_io_convnet", 34_826)])
def test_classic_models_have_the_published_parameter_counts(name, expected):
    assert models.build(name, 10).count_params() == expected


def test_unknown_model_lists_the_registry():
    with pytest.raises(ValueError, match="unknown model 'lenet'.*chollet_convnet"):
        models.build("lenet", 10)


def test_cnn_expresses_classic_one_and_two_layer_nets():
    one = models.build("cnn", 10, filters=(5,), kernel_size=5, dense_units=0)
    two = models.build("cnn", 10, filters=(5, 10), kernel_size=5, dense_units=0)
    assert one.get_layer("conv1").kernel.shape == (5, 5, 1, 5)
    assert two.get_layer("conv2").kernel.shape == (5, 5, 5, 10)
    assert one.get_layer("pool1") is not None and two.get_layer("pool2") is not None


def test_mlp_options_add_the_layers_they_name():
    m = models.build("mlp", 47, hidden=(64, 32, 16), activation="selu", initializer="lecun_normal",
                     batch_norm=True, dropout=0.2, l2=1e-4)
    names = [layer.name for layer in m.layers]
    assert {"dense3", "bn3", "dropout3", "act3"} <= set(names)
    assert m.get_layer("act1").activation.__name__ == "selu"
    assert m.get_layer("dense1").kernel_regularizer is not None


def test_se_variants_add_squeeze_excitation():
    assert any("_se_" in layer.name for layer in models.build("deep_cnn_se", 10).layers)
    assert not any("_se_" in layer.name for layer in models.build("deep_cnn", 10).layers)
    assert any("_se_" in layer.name for layer in models.build("resnet_small_se", 10).layers)


def test_transfer_freezes_base_and_unfreeze_top_opens_only_those_layers():
    source = models.build("resnet_small", 27)
    model = models.transfer(source, 27)
    base = model.get_layer("base")
    assert not base.trainable
    trainable_names = {w.path.split("/")[0] for w in model.trainable_weights}
    assert trainable_names == {"logits"}
    unfrozen = models.unfreeze_top(model, 3)
    weighted = [layer for layer in base.layers if layer.weights]
    top3 = [layer.name for layer in weighted[-3:] if not isinstance(layer, keras.layers.BatchNormalization)]
    assert unfrozen == top3
    for layer in weighted[:-3]:
        assert not layer.trainable
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            assert not layer.trainable


def test_model_accepts_raw_uint8_images():
    m = models.build("chollet_dense", 10)
    x = np.full((2, 28, 28), 255, np.uint8)
    first = m.get_layer("rescale")(x.astype("float32"))
    assert float(np.max(first)) == pytest.approx(1.0)
    assert m.predict(x, verbose=0).shape == (2, 10)


@pytest.mark.parametrize("name", ["deep_cnn", "deep_cnn_se", "resnet_small", "resnet_small_se", "mobilenet_small",
                                  "vit_small"])
def test_width_multiplier_shrinks_the_heavy_models(name):
    full = models.build(name, 47).count_params()
    half = models.build(name, 47, width=0.5).count_params()
    assert half < 0.6 * full
    assert models.build(name, 47, width=1.0).count_params() == full  # 1 = the published-scale builder


def test_width_rounds_channels_to_multiples_of_four():
    assert [models.scaled(c, 0.25) for c in (16, 24, 32, 48, 64, 256)] == [4, 8, 8, 12, 16, 64]
    with pytest.raises(ValueError, match="width multiplier must be > 0"):
        models.scaled(32, 0)


def test_stem_stride_halves_the_resolution():
    m = models.build("resnet_small", 10, width=0.25, stem_stride=2)
    assert m.get_layer("stem_conv").output.shape[1:3] == (14, 14)
    assert models.build("mobilenet_small", 10, stem_stride=2).get_layer("stem_conv").output.shape[1:3] == (14, 14)


def test_vit_width_must_divide_into_heads():
    with pytest.raises(ValueError, match="not divisible by 3 heads"):
        models.build("vit_small", 10, width=0.5, heads=3)
