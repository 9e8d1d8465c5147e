"""Metric-learning losses of the reference: cosine-softmax, magnet and batch-hard triplet.

Each takes a batch of features (N, D) and integer labels (N,) and returns a scalar.
"""

from __future__ import annotations

import tensorflow as tf

LOSSES = ("cosine-softmax", "magnet", "triplet")


def squared_distances(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """Pairwise squared Euclidean distances between the rows of a and b, shape (len(a), len(b))."""
    a_norms = tf.reduce_sum(tf.square(a), axis=1)[:, None]
    b_norms = tf.reduce_sum(tf.square(b), axis=1)[None, :]
    return a_norms + b_norms - 2.0 * tf.matmul(a, b, transpose_b=True)


def cosine_softmax_loss(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """Mean sparse softmax cross-entropy of the cosine-softmax logits."""
    return tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    )


def batch_hard_triplet_loss(features: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """Soft-margin triplet loss on the hardest positive and negative of each anchor.

    Hermans, Beyer & Leibe (2017): softplus(max_pos d(a, p) - min_neg d(a, n)).
    """
    distances = tf.sqrt(tf.maximum(squared_distances(features, features) + 1e-5, 0.0))
    same = tf.cast(tf.equal(labels[:, None], labels[None, :]), distances.dtype)
    hardest_positive = tf.reduce_max(same * distances, axis=1)
    hardest_negative = tf.reduce_min(distances + same * 1e10, axis=1)
    return tf.reduce_mean(tf.nn.softplus(hardest_positive - hardest_negative))


def magnet_loss(features: tf.Tensor, labels: tf.Tensor, margin: float = 1.0) -> tf.Tensor:
    """Unimodal magnet loss (Rippel et al., 2016) with class means and variance from the batch.

    Each sample is pulled to its class mean and pushed from the other classes' means, with
    distances measured in units of the batch's within-class variance.
    """
    eps = 1e-4
    classes, class_index = tf.unique(labels)
    membership = tf.one_hot(class_index, tf.size(classes), dtype=features.dtype)
    counts = tf.reduce_sum(membership, axis=0)
    class_means = tf.matmul(membership, features, transpose_a=True) / counts[:, None]
    distances = squared_distances(features, class_means)
    num_samples = tf.cast(tf.shape(labels)[0], features.dtype)
    variance = tf.reduce_sum(membership * distances) / (num_samples - 1.0)
    linear = distances / (-2.0 * (variance + eps)) - membership * margin
    exponentials = tf.exp(linear - tf.reduce_max(linear, axis=1, keepdims=True))
    own = tf.reduce_sum(membership * exponentials, axis=1)
    others = tf.reduce_sum((1.0 - membership) * exponentials, axis=1)
    return tf.reduce_mean(tf.maximum(0.0, -tf.math.log(eps + own / (eps + others))))
