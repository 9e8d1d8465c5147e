"""Metric-learning losses: the reference's cosine-softmax, magnet and batch-hard triplet, and a
weighted triplet that learns from every pair of the batch.

Each takes a batch of features (N, D) and integer labels (N,) and returns a scalar.
"""

from __future__ import annotations

import tensorflow as tf


def squared_distances(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """Pairwise squared Euclidean distances between the rows of a and b, shape (len(a), len(b))."""
    a_norms = tf.reduce_sum(tf.square(a), axis=1)[:, None]
    b_norms = tf.reduce_sum(tf.square(b), axis=1)[None, :]
    return a_norms + b_norms - 2.0 * tf.matmul(a, b, transpose_b=True)


def cosine_softmax_loss(
    logits: tf.Tensor, labels: tf.Tensor, label_smoothing: float = 0.0
) -> tf.Tensor:
    """Mean softmax cross-entropy of the cosine-softmax logits.

    `label_smoothing` e moves e of the target mass evenly onto all classes (Szegedy et al.
    2016), so the classifier stops pushing training identities to certainty.
    """
    if not label_smoothing:
        return tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        )
    num_classes = tf.shape(logits)[1]
    targets = tf.one_hot(labels, num_classes, dtype=logits.dtype)
    targets = targets * (1.0 - label_smoothing) + label_smoothing / tf.cast(
        num_classes, logits.dtype
    )
    return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=targets, logits=logits))


def batch_hard_triplet_loss(features: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """Soft-margin triplet loss on the hardest positive and negative of each anchor.

    Hermans, Beyer & Leibe (2017): softplus(max_pos d(a, p) - min_neg d(a, n)).
    """
    distances, same, _ = _pair_distances(features, labels)
    hardest_positive = tf.reduce_max(same * distances, axis=1)
    hardest_negative = tf.reduce_min(distances + same * 1e10, axis=1)
    return tf.reduce_mean(tf.nn.softplus(hardest_positive - hardest_negative))


def _pair_distances(features: tf.Tensor, labels: tf.Tensor):
    """Euclidean distances between the rows, and masks of same-identity pairs and of self-pairs."""
    distances = tf.sqrt(tf.maximum(squared_distances(features, features) + 1e-5, 0.0))
    same = tf.cast(tf.equal(labels[:, None], labels[None, :]), distances.dtype)
    return distances, same, tf.eye(tf.shape(labels)[0], dtype=distances.dtype)


def _masked_softmax(values: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """Softmax of each row of `values` over the entries where `mask` is 1 (0 elsewhere)."""
    shifted = values - tf.reduce_max(values * mask - (1.0 - mask) * 1e10, axis=1, keepdims=True)
    exponentials = tf.exp(tf.minimum(shifted, 0.0)) * mask
    return exponentials / (tf.reduce_sum(exponentials, axis=1, keepdims=True) + 1e-12)


def weighted_triplet_loss(
    features: tf.Tensor, labels: tf.Tensor, sharpness: float = 1.0
) -> tf.Tensor:
    """Soft-margin triplet loss on softmax-weighted positives and negatives of each anchor.

    Ye et al. (2021, AGW's weighted regularisation triplet): the hardest positive and negative of
    batch-hard become means weighted by softmax(s d(a, p)) over the positives and
    softmax(-s d(a, n)) over the negatives, so every pair of the batch teaches each step, the hard
    ones most. `sharpness` s: AGW's 1 suits its long unnormalised features; unit features lie
    within distance 2, where s = 1 weighs all negatives almost alike. Large s is batch-hard.
    """
    distances, same, self_pairs = _pair_distances(features, labels)
    positives = same - self_pairs
    negatives = 1.0 - same
    positive_weights = _masked_softmax(sharpness * distances, positives)
    negative_weights = _masked_softmax(-sharpness * distances, negatives)
    positive = tf.reduce_sum(positive_weights * distances, axis=1)
    negative = tf.reduce_sum(negative_weights * distances, axis=1)
    return tf.reduce_mean(tf.nn.softplus(positive - negative))


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
