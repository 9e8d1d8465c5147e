"""The deep_sort appearance network of Wojke & Bewley (WACV 2018), as Keras 3 layers.

Input: float RGB images in [0, 1], 128 x 64 x 3. Output: 128-d unit-length features.
Layer names follow the reference's TF1 scopes with "/" replaced by "_" (Keras forbids "/");
`reference_variable_map` gives the one-to-one mapping to the reference's variable names.
"""

from __future__ import annotations

import functools

import keras
from keras import layers, ops

from core.contract import FEATURE_DIM, IMAGE_SHAPE, INPUT_NAME, OUTPUT_NAME
from training.options import REFERENCE_DROPOUT, WEIGHT_INITS

# Trainable parameters of the feature extractor in the reference implementation.
REFERENCE_PARAMETER_COUNT = 2_800_864

BN_EPSILON = 1e-3
REFERENCE_BN_MOMENTUM = 0.999
WEIGHT_DECAY = 1e-8
INIT_STDDEV = 1e-3
# The dense layer that reads the flattened LAST_FEATURE_MAP (its kernel: --share-columns).
FC1 = "fc1"


def kernel_initializer(weight_init: str) -> keras.initializers.Initializer:
    """The starting weights of every kernel: "reference" or "he" (training.options.WEIGHT_INITS).

    Under Adam a step moves each weight by about the learning rate: at the reference's 1e-3
    scale that is a large share of the weight every step, at He's scale about a percent.
    """
    if weight_init not in WEIGHT_INITS:
        raise ValueError(f"unknown weight init {weight_init!r}; choose from {WEIGHT_INITS}")
    if weight_init == "he":
        return keras.initializers.HeNormal()
    return keras.initializers.TruncatedNormal(stddev=INIT_STDDEV)


def _kernel_options(weight_decay: float, weight_init: str) -> dict:
    # slim's l2_regularizer(s) adds s * sum(w^2) / 2; Keras' L2(l) adds l * sum(w^2).
    return {
        "kernel_initializer": kernel_initializer(weight_init),
        "kernel_regularizer": keras.regularizers.L2(weight_decay / 2),
    }


def _batch_norm(name: str, momentum: float, synchronized: bool) -> layers.BatchNormalization:
    """Batch norm with a learned shift but no scale, as slim's default.

    `synchronized` computes batch statistics over all replicas of a tf.distribute strategy.
    """
    return layers.BatchNormalization(
        center=True,
        scale=False,
        momentum=momentum,
        epsilon=BN_EPSILON,
        name=name,
        synchronized=synchronized,
    )


def _conv_bn_elu(x, filters, stride, name, batch_norm, kernel_options):
    """Conv, batch norm, ELU; `kernel_options()` gives each kernel its own initializer."""
    x = layers.Conv2D(
        filters,
        3,
        strides=stride,
        padding="same",
        use_bias=False,
        name=name,
        **kernel_options(),
    )(x)
    x = batch_norm(f"{name}_bn")(x)
    return layers.Activation("elu", name=f"{name}_elu")(x)


def _residual_block(x, name, increase_dim, is_first, batch_norm, kernel_options, dropout):
    """Pre-activation residual block; a 1x1 stride-2 projection when channels double."""
    incoming_channels = x.shape[-1]
    channels = incoming_channels * 2 if increase_dim else incoming_channels
    stride = 2 if increase_dim else 1
    shortcut = x
    if not is_first:
        x = batch_norm(f"{name}_bn")(x)
        x = layers.Activation("elu", name=f"{name}_elu")(x)
    x = _conv_bn_elu(x, channels, stride, f"{name}_1", batch_norm, kernel_options)
    x = layers.Dropout(dropout, name=f"{name}_dropout")(x)
    x = layers.Conv2D(
        channels,
        3,
        padding="same",
        use_bias=True,
        name=f"{name}_2",
        bias_initializer="zeros",
        **kernel_options(),
    )(x)
    if increase_dim:
        shortcut = layers.Conv2D(
            channels,
            1,
            strides=2,
            padding="same",
            use_bias=False,
            name=f"{name}_projection",
            **kernel_options(),
        )(shortcut)
    return layers.Add(name=f"{name}_add")([shortcut, x])


# (reference scope, increase_dim, is_first) for the six residual blocks.
RESIDUAL_BLOCKS = (
    ("conv2_1", False, True),
    ("conv2_3", False, False),
    ("conv3_1", True, False),
    ("conv3_3", False, False),
    ("conv4_1", True, False),
    ("conv4_3", False, False),
)


def create_feature_extractor(
    bn_momentum: float = REFERENCE_BN_MOMENTUM,
    weight_decay: float = WEIGHT_DECAY,
    synchronized_bn: bool = False,
    dropout: float = REFERENCE_DROPOUT,
    weight_init: str = "reference",
) -> keras.Model:
    """Build the feature extractor: RGB [0, 1] images (N, 128, 64, 3) -> unit features (N, 128).

    `synchronized_bn` shares batch-norm statistics across the replicas of a distributed run.
    `dropout` is the rate of every dropout layer during training (inference ignores it).
    `weight_init` names the kernels' starting weights (`kernel_initializer`).
    """
    batch_norm = functools.partial(_batch_norm, momentum=bn_momentum, synchronized=synchronized_bn)
    # One initializer per kernel: an unseeded Keras initializer repeats its values when reused.
    kernel_options = functools.partial(_kernel_options, weight_decay, weight_init)
    images = keras.Input(shape=IMAGE_SHAPE, name=INPUT_NAME)
    x = _conv_bn_elu(images, 32, 1, "conv1_1", batch_norm, kernel_options)
    x = _conv_bn_elu(x, 32, 1, "conv1_2", batch_norm, kernel_options)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    for name, increase_dim, is_first in RESIDUAL_BLOCKS:
        x = _residual_block(x, name, increase_dim, is_first, batch_norm, kernel_options, dropout)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(dropout, name="fc1_dropout")(x)
    x = layers.Dense(FEATURE_DIM, use_bias=False, name=FC1, **kernel_options())(x)
    x = batch_norm("fc1_bn")(x)
    x = layers.Activation("elu", name="fc1_elu")(x)
    # The normalised feature is kept in float32 even under mixed precision.
    features = layers.UnitNormalization(axis=-1, dtype="float32", name=OUTPUT_NAME)(x)
    return keras.Model(images, features, name="feature_extractor")


# Where training may mix or perturb feature statistics: after the first two stages of residual
# blocks, whose channel statistics carry the camera's style more than the person (Zhou et al.
# 2021).
STYLE_AFTER = ("conv2_3_add", "conv3_3_add")
MIXSTYLE_ALPHA = 0.1
STYLE_EPSILON = 1e-6


def mix_styles(x, weight, order):
    """Feature maps x (N, H, W, C) with image i's per-channel mean and standard deviation
    replaced by weight[i] * its own + (1 - weight[i]) * those of image order[i]. The statistics
    pass no gradient, as in the paper: the network learns to ignore style, not to change it."""
    mean = ops.stop_gradient(ops.mean(x, axis=(1, 2), keepdims=True))
    std = ops.stop_gradient(ops.sqrt(ops.var(x, axis=(1, 2), keepdims=True) + STYLE_EPSILON))
    weight = ops.reshape(weight, (-1, 1, 1, 1))
    mixed_mean = weight * mean + (1 - weight) * ops.take(mean, order, axis=0)
    mixed_std = weight * std + (1 - weight) * ops.take(std, order, axis=0)
    return (x - mean) / std * mixed_std + mixed_mean


class MixStyle(layers.Layer):
    """Training-only style mixing (Zhou et al., ICLR 2021): with `probability`, each image's
    per-channel feature mean and standard deviation are replaced by a random mix (weight drawn
    from Beta(alpha, alpha)) of its own and those of another image of the batch. It imitates
    unseen cameras' colour and contrast; in inference it is the identity and has no weights.
    """

    def __init__(self, probability: float, alpha: float = MIXSTYLE_ALPHA, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.probability = float(probability)
        self.alpha = float(alpha)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x, training=False):
        if not training or self.probability <= 0:
            return x
        batch = ops.shape(x)[0]
        weight = keras.random.beta(
            (batch,), self.alpha, self.alpha, seed=self.seed_generator, dtype=x.dtype
        )
        order = keras.random.shuffle(ops.arange(batch), seed=self.seed_generator)
        apply = keras.random.uniform((), seed=self.seed_generator) < self.probability
        return ops.where(apply, mix_styles(x, weight, order), x)

    def get_config(self):
        return {**super().get_config(), "probability": self.probability, "alpha": self.alpha}


def perturb_styles(x, mean_noise, std_noise):
    """Feature maps x (N, H, W, C) with each image's per-channel mean and standard deviation
    moved by `mean_noise` and `std_noise` (N, 1, 1, C) times the standard deviation of that
    statistic over the batch."""
    mean = ops.mean(x, axis=(1, 2), keepdims=True)
    std = ops.sqrt(ops.var(x, axis=(1, 2), keepdims=True) + STYLE_EPSILON)
    mean_spread = ops.sqrt(ops.var(mean, axis=0, keepdims=True) + STYLE_EPSILON)
    std_spread = ops.sqrt(ops.var(std, axis=0, keepdims=True) + STYLE_EPSILON)
    return (x - mean) / std * (std + std_noise * std_spread) + mean + mean_noise * mean_spread


class StyleUncertainty(layers.Layer):
    """Training-only style noise (DSU, Li et al., ICLR 2022): with `probability`, each image's
    per-channel feature mean and standard deviation are moved by Gaussian noise scaled by how
    much those statistics vary over the batch. MixStyle only interpolates between the batch's
    styles; this also reaches beyond them, as unseen cameras lie. Identity in inference.
    """

    def __init__(self, probability: float, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.probability = float(probability)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x, training=False):
        if not training or self.probability <= 0:
            return x
        shape = (ops.shape(x)[0], 1, 1, ops.shape(x)[3])
        mean_noise = keras.random.normal(shape, seed=self.seed_generator, dtype=x.dtype)
        std_noise = keras.random.normal(shape, seed=self.seed_generator, dtype=x.dtype)
        apply = keras.random.uniform((), seed=self.seed_generator) < self.probability
        return ops.where(apply, perturb_styles(x, mean_noise, std_noise), x)

    def get_config(self):
        return {**super().get_config(), "probability": self.probability}


# The last feature map (N, 16, 8, 128): what the flatten and fc1 read, and the pooled branch.
LAST_FEATURE_MAP = "conv4_3_add"


def training_view(
    model: keras.Model,
    mixstyle: float,
    uncertainty: float = 0.0,
    seed=None,
    feature_map: bool = False,
) -> keras.Model:
    """A training view of `model` sharing its layers and weights, with MixStyle (probability
    `mixstyle`) then StyleUncertainty (`uncertainty`) after the layers of STYLE_AFTER. With
    `feature_map` it returns (features, the LAST_FEATURE_MAP output) for the pooled branch
    (training.heads.PooledBranch). `model` itself when it would add nothing. `model`, and so
    every checkpoint, export and frozen graph, stays the plain network."""
    if not mixstyle and not uncertainty and not feature_map:
        return model

    def seeded(offset: int):
        return None if seed is None else seed + offset

    def styles(i: int, name: str) -> list[layers.Layer]:
        chosen = []
        if mixstyle:
            chosen.append(MixStyle(mixstyle, seeded(i), name=f"{name}_mixstyle"))
        if uncertainty:
            after_mixers = len(STYLE_AFTER) + i
            chosen.append(StyleUncertainty(uncertainty, seeded(after_mixers), name=f"{name}_dsu"))
        return chosen

    after = {name: styles(i, name) for i, name in enumerate(STYLE_AFTER)}
    maps = {}

    def call(layer, *args, **kwargs):
        out = layer(*args, **kwargs)
        for style in after.get(layer.name, []):
            out = style(out)
        if layer.name == LAST_FEATURE_MAP:
            maps["last"] = out
        return out

    view = keras.models.clone_model(model, clone_function=lambda layer: layer, call_function=call)
    if not feature_map:
        return view
    return keras.Model(view.inputs, [view.outputs[0], maps["last"]], name="training_view")


def share_columns(kernel, map_shape):
    """fc1's `kernel` (or its gradient) with each row of the last feature map (`map_shape`
    height x width x channels) reading every column through the same weights: their mean.

    A kernel so tied computes dense(flatten(x)) = sum over rows of each row's column sum times
    one weight matrix: features of horizontal stripes of the person, wherever they stand left or
    right, from the unchanged network (flatten + dense), so exports stay deep_sort's graph.
    """
    height, width, channels = map_shape
    rows = ops.reshape(kernel, (height, width, channels, -1))
    shared = ops.broadcast_to(ops.mean(rows, axis=1, keepdims=True), ops.shape(rows))
    return ops.reshape(shared, ops.shape(kernel))


def last_map_shape(model: keras.Model) -> tuple[int, int, int]:
    """Height, width and channels of the LAST_FEATURE_MAP that fc1 reads."""
    return tuple(model.get_layer(LAST_FEATURE_MAP).output.shape[1:])


def tie_columns(model: keras.Model) -> None:
    """Set fc1's kernel to its column-shared form (share_columns), where --share-columns starts."""
    kernel = model.get_layer(FC1).kernel
    kernel.assign(share_columns(kernel, last_map_shape(model)))


def reference_variable_map(model: keras.Model) -> dict[str, keras.Variable]:
    """Map the reference implementation's TF1 variable names to this model's variables.

    Reference scopes nest batch norm inside the layer's own scope ("conv1_1/conv1_1/bn/beta"),
    except the pre-activation norm of a residual block ("conv2_3/bn/beta").
    """
    mapping: dict[str, keras.Variable] = {}

    def add_batch_norm(scope: str, layer_name: str) -> None:
        layer = model.get_layer(layer_name)
        mapping[f"{scope}/beta"] = layer.beta
        mapping[f"{scope}/moving_mean"] = layer.moving_mean
        mapping[f"{scope}/moving_variance"] = layer.moving_variance

    def add_conv_bn(scope: str) -> None:
        layer_name = scope.replace("/", "_")
        mapping[f"{scope}/weights"] = model.get_layer(layer_name).kernel
        add_batch_norm(f"{scope}/{scope}/bn", f"{layer_name}_bn")

    add_conv_bn("conv1_1")
    add_conv_bn("conv1_2")
    for name, increase_dim, is_first in RESIDUAL_BLOCKS:
        if not is_first:
            add_batch_norm(f"{name}/bn", f"{name}_bn")
        add_conv_bn(f"{name}/1")
        mapping[f"{name}/2/weights"] = model.get_layer(f"{name}_2").kernel
        mapping[f"{name}/2/biases"] = model.get_layer(f"{name}_2").bias
        if increase_dim:
            mapping[f"{name}/projection/weights"] = model.get_layer(f"{name}_projection").kernel
    add_conv_bn("fc1")
    return mapping
