"""Training-only layers on top of the network: cosine-softmax heads on unit-length features,
and the pooled branch that asks the convolutional layers for features independent of position."""

from __future__ import annotations

import math

import keras
from keras import ops

from training.network import BN_EPSILON, INIT_STDDEV, kernel_initializer

SCALE_PENALTY = 0.1  # the reference's l2_regularizer(1e-1) on the free scale parameter


def inverse_softplus(value: float) -> float:
    """The s with softplus(s) = value, for starting the learned scale at a chosen kappa."""
    if value <= 0:
        raise ValueError(f"kappa must be positive, got {value}")
    return value + math.log(-math.expm1(-value))


class CosineSoftmaxHead(keras.layers.Layer):
    """Cosine-softmax logits: kappa * (f^T w_k - margin on the true class), unit w_k, no bias.

    num_classes: identities to classify.
    initial_kappa: None for the reference's learned kappa = softplus(s) with s starting at 0 and
        the penalty 0.1 * s^2 / 2; a value starts the learned s at inverse_softplus(value).
    fixed_kappa: a constant scale instead (NormFace / CosFace); no learned scale then.
    margin: additive cosine margin subtracted from the true class's cosine (CosFace); 0 = none.
    weight_init: "reference" starts the class vectors at the reference's stddev 1e-3; "he" at
        about unit length, so each Adam step changes them by a small share of themselves.

    Weight and scale names match the reference's "ball" scope.
    """

    def __init__(
        self,
        num_classes: int,
        initial_kappa: float | None = None,
        fixed_kappa: float | None = None,
        margin: float = 0.0,
        weight_init: str = "reference",
        **kwargs,
    ):
        kwargs.setdefault("name", "ball")
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)
        self.initial_kappa = initial_kappa
        self.fixed_kappa = fixed_kappa
        self.margin = float(margin)
        self.weight_init = weight_init

    def build(self, input_shape):
        self.mean_vectors = self.add_weight(
            name="mean_vectors",
            shape=(input_shape[-1], self.num_classes),
            initializer=keras.initializers.TruncatedNormal(stddev=self._vector_stddev(input_shape)),
        )
        start = 0.0 if self.initial_kappa is None else inverse_softplus(self.initial_kappa)
        self.scale = self.add_weight(
            name="scale",
            shape=(),
            initializer=keras.initializers.Constant(start),
            regularizer=None if self.fixed_kappa else lambda s: SCALE_PENALTY * ops.square(s) / 2,
            trainable=not self.fixed_kappa,
        )

    def _vector_stddev(self, input_shape) -> float:
        if self.weight_init == "he":
            return 1.0 / math.sqrt(input_shape[-1])
        return INIT_STDDEV

    def kappa(self):
        if self.fixed_kappa:
            return ops.convert_to_tensor(float(self.fixed_kappa))
        return ops.softplus(self.scale)

    def cosines(self, features):
        """Cosine of each feature to each class vector, (N, num_classes)."""
        weights = self.mean_vectors / ops.sqrt(
            ops.maximum(ops.sum(ops.square(self.mean_vectors), axis=0, keepdims=True), 1e-12)
        )
        return ops.matmul(ops.cast(features, "float32"), weights)

    def logits(self, cosines, labels=None):
        """Scaled logits from `cosines`; with `labels` (training) the margin is applied."""
        if labels is not None and self.margin:
            cosines = cosines - self.margin * ops.one_hot(labels, self.num_classes)
        return self.kappa() * cosines

    def call(self, features, labels=None):
        return self.logits(self.cosines(features), labels)

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "initial_kappa": self.initial_kappa,
            "fixed_kappa": self.fixed_kappa,
            "margin": self.margin,
            "weight_init": self.weight_init,
        }


class PooledBranch(keras.layers.Layer):
    """A training-only second embedding of the network's last feature map, averaged over
    positions: global average pool, dense (no bias), batch norm (no scale), unit length.

    The network's own feature reads the map through a flatten and a dense layer, one weight per
    position, so nothing asks the convolutional layers for features that name a person wherever
    in the crop they stand. A loss on this pooled embedding does. The branch shapes the shared
    layers only; it is in no checkpoint's feature extractor, export or frozen graph.

    units: size of the pooled embedding.
    bn_momentum: of its batch norm, as the network's (TrainConfig.resolved_bn_momentum).
    weight_init: the dense kernel's starting weights (training.network.kernel_initializer).
    """

    def __init__(self, units: int, bn_momentum: float, weight_init: str = "he", **kwargs):
        kwargs.setdefault("name", "pooled_branch")
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.units = int(units)
        self.bn_momentum = float(bn_momentum)
        self.weight_init = weight_init
        self.pool = keras.layers.GlobalAveragePooling2D(name="pool")
        self.dense = keras.layers.Dense(
            self.units, use_bias=False, kernel_initializer=kernel_initializer(weight_init)
        )
        self.norm = keras.layers.BatchNormalization(
            center=True, scale=False, momentum=self.bn_momentum, epsilon=BN_EPSILON
        )
        self.unit = keras.layers.UnitNormalization(axis=-1)

    def build(self, input_shape):
        pooled = (input_shape[0], input_shape[-1])
        self.dense.build(pooled)
        self.norm.build((input_shape[0], self.units))

    def call(self, feature_map, training=False):
        x = self.pool(ops.cast(feature_map, "float32"))
        return self.unit(self.norm(self.dense(x), training=training))

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "bn_momentum": self.bn_momentum,
            "weight_init": self.weight_init,
        }
