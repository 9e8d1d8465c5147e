"""Classification heads on top of the unit-length features."""

from __future__ import annotations

import keras
from keras import ops

SCALE_PENALTY = 0.1  # the reference's l2_regularizer(1e-1) on the free scale parameter


class CosineSoftmaxHead(keras.layers.Layer):
    """Cosine-softmax logits: kappa * f^T w_k with unit class vectors w_k and no bias.

    kappa = softplus(s) with s a learned scalar starting at 0; the penalty 0.1 * s^2 / 2 keeps it
    from growing without bound. Weight and scale names match the reference's "ball" scope.
    """

    def __init__(self, num_classes: int, **kwargs):
        kwargs.setdefault("name", "ball")
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)

    def build(self, input_shape):
        self.mean_vectors = self.add_weight(
            name="mean_vectors",
            shape=(input_shape[-1], self.num_classes),
            initializer=keras.initializers.TruncatedNormal(stddev=1e-3),
        )
        self.scale = self.add_weight(
            name="scale",
            shape=(),
            initializer="zeros",
            regularizer=lambda s: SCALE_PENALTY * ops.square(s) / 2,
        )

    def kappa(self):
        return ops.softplus(self.scale)

    def call(self, features):
        weights = self.mean_vectors / ops.sqrt(
            ops.maximum(ops.sum(ops.square(self.mean_vectors), axis=0, keepdims=True), 1e-12)
        )
        return self.kappa() * ops.matmul(ops.cast(features, "float32"), weights)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}
