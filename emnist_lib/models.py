"""Model builders: uncompiled Keras 3 functional models on raw uint8 images.

Every builder takes ``num_classes`` and ``input_shape`` (default 28x28), scales
its input inside the model (a ``Rescaling`` layer, so uint8 images go in
everywhere), names its layers, ends with a layer named ``features`` (the
representation transfer learning reuses), a ``logits`` Dense layer and a
float32 ``predictions`` softmax (kept float32 under mixed precision).

``build(name, num_classes, **kwargs)`` picks a builder from :data:`REGISTRY`
by name, which is how notebooks choose models with a string parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
from keras import layers

REGISTRY: dict[str, Callable[..., keras.Model]] = {}
INPUT_SHAPE = (28, 28)


def register(name: str):
    def wrap(fn):
        REGISTRY[name] = fn
        return fn

    return wrap


def build(name: str, num_classes: int, input_shape: Sequence[int] = INPUT_SHAPE, **kwargs) -> keras.Model:
    """Build registered model ``name`` for ``num_classes`` outputs."""
    if name not in REGISTRY:
        raise ValueError(f"unknown model {name!r}; registered: {', '.join(sorted(REGISTRY))}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    return REGISTRY[name](num_classes=num_classes, input_shape=tuple(input_shape), **kwargs)


def _input(input_shape, channels: bool):
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    if channels and len(input_shape) == 2:
        x = layers.Reshape((*input_shape, 1), name="add_channel")(x)
    return inputs, x


def _head(x, inputs, num_classes: int, name: str) -> keras.Model:
    x = layers.Identity(name="features")(x)
    logits = layers.Dense(num_classes, name="logits")(x)
    # float32 softmax: numerically safe when the rest runs in mixed precision.
    outputs = layers.Activation("softmax", dtype="float32", name="predictions")(logits)
    return keras.Model(inputs, outputs, name=name)


# Moving statistics that settle within a few hundred steps: Keras' default momentum (0.99)
# leaves them far from the batch statistics after short trainings on small subsets, and
# such models then score at chance in inference mode although they trained fine.
BN_MOMENTUM = 0.9


def _bn(name: str) -> layers.BatchNormalization:
    return layers.BatchNormalization(momentum=BN_MOMENTUM, name=name)


def scaled(channels: int, width: float) -> int:
    """``channels`` times the width multiplier, rounded to a multiple of 4 (at least 4).

    Multiples of 4 keep attention heads and depthwise blocks evenly divisible; the
    multiplier is how a profile sizes the heavy models to its hardware (MobileNet's alpha)."""
    if width <= 0:
        raise ValueError(f"width multiplier must be > 0, got {width}")
    return max(4, int(round(channels * width / 4)) * 4)


def _regularizer(l1: float, l2: float):
    return keras.regularizers.L1L2(l1=l1, l2=l2) if (l1 or l2) else None


@register("chollet_dense")
def chollet_dense(num_classes: int, input_shape=INPUT_SHAPE) -> keras.Model:
    """Chollet, Deep Learning with Python, ch. 2: Dense(512, relu) + softmax (407,050 params at 10 classes)."""
    inputs, x = _input(input_shape, channels=False)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(512, activation="relu", name="dense_512")(x)
    return _head(x, inputs, num_classes, "chollet_dense")


@register("chollet_convnet")
def chollet_convnet(num_classes: int, input_shape=INPUT_SHAPE) -> keras.Model:
    """Chollet, 1st ed. ch. 5: Conv32-Pool-Conv64-Pool-Conv64-Dense64 (93,322 params at 10 classes)."""
    inputs, x = _input(input_shape, channels=True)
    x = layers.Conv2D(32, 3, activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv3")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(64, activation="relu", name="dense_64")(x)
    return _head(x, inputs, num_classes, "chollet_convnet")


@register("keras_io_convnet")
def keras_io_convnet(num_classes: int, input_shape=INPUT_SHAPE) -> keras.Model:
    """keras-io mnist_convnet: Conv32-Pool-Conv64-Pool-Dropout(0.5) (34,826 params at 10 classes)."""
    inputs, x = _input(input_shape, channels=True)
    x = layers.Conv2D(32, 3, activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    return _head(x, inputs, num_classes, "keras_io_convnet")


ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu")


@register("mlp")
def mlp(num_classes: int, input_shape=INPUT_SHAPE, hidden: Sequence[int] = (256, 128, 64),
        activation: str = "relu", initializer: str = "glorot_uniform", batch_norm: bool = False,
        dropout: float = 0.0, l1: float = 0.0, l2: float = 0.0) -> keras.Model:
    """Fully connected net: ``hidden`` widths (3+ layers by default), each Dense [-> BN] -> act [-> dropout]."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")
    inputs, x = _input(input_shape, channels=False)
    x = layers.Flatten(name="flatten")(x)
    for i, width in enumerate(hidden, 1):
        # BN before the nonlinearity (Ioffe & Szegedy); its shift makes the Dense bias redundant.
        x = layers.Dense(width, kernel_initializer=initializer, use_bias=not batch_norm,
                         kernel_regularizer=_regularizer(l1, l2), name=f"dense{i}")(x)
        if batch_norm:
            x = _bn(name=f"bn{i}")(x)
        x = layers.Activation(activation, name=f"act{i}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"dropout{i}")(x)
    return _head(x, inputs, num_classes, "mlp")


POOLINGS = ("max", "average", "strided", "none")


@register("cnn")
def cnn(num_classes: int, input_shape=INPUT_SHAPE, filters: Sequence[int] = (32, 64), kernel_size: int = 3,
        pooling: str = "max", batch_norm: bool = False, dropout: float = 0.0, activation: str = "relu",
        initializer: str = "glorot_uniform", l1: float = 0.0, l2: float = 0.0, dense_units: int = 128,
        padding: str = "same") -> keras.Model:
    """Configurable CNN: one conv layer per entry of ``filters``, each followed by pooling.

    ``filters=(5,), kernel_size=5`` is the classic 1-layer net (5x5, 5 maps);
    ``filters=(5, 10)`` adds the second layer (5x5, 10 maps). ``pooling``:
    max, average, strided (a stride-2 conv instead of a pool) or none.
    ``dense_units=0`` goes straight from the flattened maps to the classifier.
    """
    if pooling not in POOLINGS:
        raise ValueError(f"unknown pooling {pooling!r}; choose one of {', '.join(POOLINGS)}")
    inputs, x = _input(input_shape, channels=True)
    reg = _regularizer(l1, l2)
    for i, f in enumerate(filters, 1):
        strides = 2 if pooling == "strided" else 1
        x = layers.Conv2D(f, kernel_size, strides=strides, padding=padding, kernel_initializer=initializer,
                          kernel_regularizer=reg, use_bias=not batch_norm, name=f"conv{i}")(x)
        if batch_norm:
            x = _bn(name=f"bn{i}")(x)
        x = layers.Activation(activation, name=f"act{i}")(x)
        if pooling == "max":
            x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
        elif pooling == "average":
            x = layers.AveragePooling2D(2, name=f"pool{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    if dense_units:
        x = layers.Dense(dense_units, activation=activation, kernel_initializer=initializer,
                         kernel_regularizer=reg, name="dense")(x)
        if dropout:
            x = layers.Dropout(dropout, name="dropout_dense")(x)
    return _head(x, inputs, num_classes, "cnn")


def _squeeze_excite(x, ratio: int, name: str):
    """Squeeze-and-excitation (Hu et al. 2018): reweight channels by a gated global summary."""
    channels = x.shape[-1]
    s = layers.GlobalAveragePooling2D(name=f"{name}_squeeze")(x)
    s = layers.Dense(max(channels // ratio, 4), activation="relu", name=f"{name}_reduce")(s)
    s = layers.Dense(channels, activation="sigmoid", name=f"{name}_expand")(s)
    s = layers.Reshape((1, 1, channels), name=f"{name}_reshape")(s)
    return layers.Multiply(name=f"{name}_scale")([x, s])


@register("deep_cnn")
def deep_cnn(num_classes: int, input_shape=INPUT_SHAPE, filters: Sequence[int] = (32, 64, 128, 256),
             se: bool = False, se_ratio: int = 8, batch_norm: bool = True, dropout: float = 0.5,
             width: float = 1.0) -> keras.Model:
    """4 blocks of two 3x3 same-padded convs (32, 64, 128, 256) each + max pooling, Dense(256), softmax.

    ``se=True`` adds a squeeze-and-excitation gate at the end of every block; ``width``
    multiplies every channel count and the dense layer (see :func:`scaled`).
    """
    inputs, x = _input(input_shape, channels=True)
    for b, f in enumerate(filters, 1):
        f = scaled(f, width)
        for c in (1, 2):
            x = layers.Conv2D(f, 3, padding="same", use_bias=not batch_norm, name=f"block{b}_conv{c}")(x)
            if batch_norm:
                x = _bn(name=f"block{b}_bn{c}")(x)
            x = layers.Activation("relu", name=f"block{b}_relu{c}")(x)
        if se:
            x = _squeeze_excite(x, se_ratio, f"block{b}_se")
        x = layers.MaxPooling2D(2, name=f"block{b}_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(scaled(256, width), activation="relu", name="dense_256")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    return _head(x, inputs, num_classes, "deep_cnn_se" if se else "deep_cnn")


def _residual_block(x, filters: int, stride: int, se: bool, name: str):
    shortcut = x
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_conv1")(x)
    y = _bn(name=f"{name}_bn1")(y)
    y = layers.Activation("relu", name=f"{name}_relu1")(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv2")(y)
    y = _bn(name=f"{name}_bn2")(y)
    if se:
        y = _squeeze_excite(y, 8, f"{name}_se")
    if stride != 1 or shortcut.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=f"{name}_proj")(shortcut)
        shortcut = _bn(name=f"{name}_proj_bn")(shortcut)
    y = layers.Add(name=f"{name}_add")([y, shortcut])
    return layers.Activation("relu", name=f"{name}_out")(y)


@register("resnet_small")
def resnet_small(num_classes: int, input_shape=INPUT_SHAPE, widths: Sequence[int] = (32, 64, 128),
                 blocks_per_stage: int = 2, se: bool = False, width: float = 1.0,
                 stem_stride: int = 1) -> keras.Model:
    """A small ResNet (He et al. 2016) for 28x28: 3 stages of basic blocks, stride 2 between stages;
    ``width`` multiplies every stage's channels; ``stem_stride=2`` halves the resolution in the
    stem (4x fewer multiply-adds in every block: the CPU-sized variant)."""
    inputs, x = _input(input_shape, channels=True)
    widths = [scaled(w, width) for w in widths]
    x = layers.Conv2D(widths[0], 3, strides=stem_stride, padding="same", use_bias=False, name="stem_conv")(x)
    x = _bn(name="stem_bn")(x)
    x = layers.Activation("relu", name="stem_relu")(x)
    for s, w in enumerate(widths, 1):
        for b in range(1, blocks_per_stage + 1):
            stride = 2 if (b == 1 and s > 1) else 1
            x = _residual_block(x, w, stride, se, f"stage{s}_block{b}")
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    return _head(x, inputs, num_classes, "resnet_small_se" if se else "resnet_small")


def _inverted_residual(x, expand: int, filters: int, stride: int, name: str):
    """MobileNetV2 block: 1x1 expand -> 3x3 depthwise -> 1x1 linear projection (+ skip)."""
    in_ch = x.shape[-1]
    y = layers.Conv2D(in_ch * expand, 1, use_bias=False, name=f"{name}_expand")(x)
    y = _bn(name=f"{name}_expand_bn")(y)
    y = layers.ReLU(6.0, name=f"{name}_expand_relu")(y)
    y = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False, name=f"{name}_dw")(y)
    y = _bn(name=f"{name}_dw_bn")(y)
    y = layers.ReLU(6.0, name=f"{name}_dw_relu")(y)
    y = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_project")(y)
    y = _bn(name=f"{name}_project_bn")(y)
    if stride == 1 and in_ch == filters:
        y = layers.Add(name=f"{name}_add")([x, y])
    return y


@register("mobilenet_small")
def mobilenet_small(num_classes: int, input_shape=INPUT_SHAPE, expand: int = 4,
                    stages: Sequence[tuple[int, int, int]] = ((16, 1, 1), (24, 2, 2), (48, 2, 2), (64, 1, 1)),
                    width: float = 1.0, stem_stride: int = 1) -> keras.Model:
    """A MobileNetV2-style net sized for 28x28: ``stages`` of (filters, blocks, first stride);
    ``width`` is MobileNet's alpha: it multiplies the stem, every stage and the head;
    ``stem_stride=2`` halves the resolution in the stem (as MobileNet does on 224x224 inputs)."""
    inputs, x = _input(input_shape, channels=True)
    x = layers.Conv2D(scaled(16, width), 3, strides=stem_stride, padding="same", use_bias=False,
                      name="stem_conv")(x)
    x = _bn(name="stem_bn")(x)
    x = layers.ReLU(6.0, name="stem_relu")(x)
    for s, (filters, blocks, stride) in enumerate(stages, 1):
        for b in range(1, blocks + 1):
            x = _inverted_residual(x, expand, scaled(filters, width), stride if b == 1 else 1, f"stage{s}_block{b}")
    x = layers.Conv2D(scaled(128, width), 1, use_bias=False, name="head_conv")(x)
    x = _bn(name="head_bn")(x)
    x = layers.ReLU(6.0, name="head_relu")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    return _head(x, inputs, num_classes, "mobilenet_small")


@keras.saving.register_keras_serializable(package="emnist_lib")
class PositionEmbedding(layers.Layer):
    """Adds a learned position embedding to a (batch, tokens, dim) sequence."""

    def build(self, input_shape):
        self.embedding = self.add_weight(shape=(1, input_shape[1], input_shape[2]),
                                         initializer=keras.initializers.RandomNormal(stddev=0.02), name="embedding")

    def call(self, x):
        return x + self.embedding


@register("vit_small")
def vit_small(num_classes: int, input_shape=INPUT_SHAPE, patch_size: int = 4, dim: int = 64, depth: int = 4,
              heads: int = 4, mlp_dim: int = 128, dropout: float = 0.1, width: float = 1.0) -> keras.Model:
    """A small Vision Transformer (Dosovitskiy et al. 2021): 4x4 patches -> 49 tokens, pre-norm blocks,
    mean-pooled tokens instead of a class token (simpler, as good at this size); ``width``
    multiplies the token and MLP dimensions (the number of heads stays)."""
    dim, mlp_dim = scaled(dim, width), scaled(mlp_dim, width)
    if dim % heads:
        raise ValueError(f"token dimension {dim} (width {width}) is not divisible by {heads} heads")
    inputs, x = _input(input_shape, channels=True)
    x = layers.Conv2D(dim, patch_size, strides=patch_size, name="patch_embed")(x)
    tokens = (input_shape[0] // patch_size) * (input_shape[1] // patch_size)
    x = layers.Reshape((tokens, dim), name="tokens")(x)
    x = PositionEmbedding(name="pos_embed")(x)
    for i in range(1, depth + 1):
        y = layers.LayerNormalization(epsilon=1e-6, name=f"block{i}_ln1")(x)
        y = layers.MultiHeadAttention(heads, dim // heads, dropout=dropout, name=f"block{i}_attn")(y, y)
        x = layers.Add(name=f"block{i}_add1")([x, y])
        y = layers.LayerNormalization(epsilon=1e-6, name=f"block{i}_ln2")(x)
        y = layers.Dense(mlp_dim, activation="gelu", name=f"block{i}_mlp1")(y)
        y = layers.Dropout(dropout, name=f"block{i}_drop")(y)
        y = layers.Dense(dim, name=f"block{i}_mlp2")(y)
        x = layers.Add(name=f"block{i}_add2")([x, y])
    x = layers.LayerNormalization(epsilon=1e-6, name="final_ln")(x)
    x = layers.GlobalAveragePooling1D(name="token_mean")(x)
    return _head(x, inputs, num_classes, "vit_small")


# --------------------------------------------------------------------------- transfer
def transfer(source: keras.Model, num_classes: int, dropout: float = 0.2, name: str = "transfer") -> keras.Model:
    """A new head for ``num_classes`` on the frozen feature extractor of a trained ``source`` model.

    The base is called with ``training=False`` so its BatchNormalization layers
    stay in inference mode even after :func:`unfreeze_top` (the keras-io
    transfer-learning guide's practice: updating BN statistics on a small
    target set wrecks what the base learned).
    """
    features = keras.Model(source.input, source.get_layer("features").output)
    # A copy, so training (and fine-tuning) the transfer model never changes the source model.
    base = keras.models.clone_model(features)
    base.set_weights(features.get_weights())
    base.name = "base"
    base.trainable = False
    inputs = keras.Input(shape=source.input.shape[1:], name="image")
    x = base(inputs, training=False)
    if dropout:
        x = layers.Dropout(dropout, name="head_dropout")(x)
    logits = layers.Dense(num_classes, name="logits")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="predictions")(logits)
    return keras.Model(inputs, outputs, name=name)


def unfreeze_top(model: keras.Model, n_layers: int) -> list[str]:
    """Make the top ``n_layers`` weighted layers of the transfer base trainable (BN stays frozen).

    Returns the names of the layers unfrozen. Recompile with a low learning
    rate afterwards (``training.fine_tune`` does).
    """
    base = model.get_layer("base")
    base.trainable = True
    weighted = [layer for layer in base.layers if layer.weights]
    unfrozen = []
    for i, layer in enumerate(weighted):
        top = i >= len(weighted) - n_layers
        layer.trainable = top and not isinstance(layer, layers.BatchNormalization)
        if layer.trainable:
            unfrozen.append(layer.name)
    return unfrozen


def _with_se(builder):
    def build_se(num_classes: int, input_shape=INPUT_SHAPE, **kwargs):
        return builder(num_classes, input_shape, se=True, **kwargs)

    build_se.__doc__ = f"{builder.__name__} with squeeze-and-excitation gates."
    return build_se


REGISTRY["deep_cnn_se"] = _with_se(deep_cnn)
REGISTRY["resnet_small_se"] = _with_se(resnet_small)
