"""Losses and the cosine-softmax head agree with plain numpy references on fixed inputs."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from training.heads import CosineSoftmaxHead  # noqa: E402
from training.losses import (  # noqa: E402
    batch_hard_triplet_loss,
    cosine_softmax_loss,
    magnet_loss,
    weighted_triplet_loss,
)


def _batch(seed=0, classes=4, per_class=3, dim=8):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(classes), per_class).astype("int32")
    features = rng.normal(size=(classes * per_class, dim)).astype("float64")
    features /= np.linalg.norm(features, axis=1, keepdims=True)
    return features, labels


def _softplus(x):
    return np.log1p(np.exp(x))


def numpy_triplet(features, labels):
    losses = []
    for i in range(len(labels)):
        d = np.sqrt(np.maximum(((features - features[i]) ** 2).sum(1) + 1e-5, 0))
        positive = max(d[j] for j in range(len(labels)) if labels[j] == labels[i])
        negative = min(d[j] for j in range(len(labels)) if labels[j] != labels[i])
        losses.append(_softplus(positive - negative))
    return np.mean(losses)


def numpy_weighted_triplet(features, labels, sharpness=1.0):
    losses = []
    for i in range(len(labels)):
        d = np.sqrt(np.maximum(((features - features[i]) ** 2).sum(1) + 1e-5, 0))
        positives = [d[j] for j in range(len(labels)) if labels[j] == labels[i] and j != i]
        negatives = [d[j] for j in range(len(labels)) if labels[j] != labels[i]]
        positives, negatives = np.array(positives), np.array(negatives)
        positive_weights = np.exp(sharpness * positives) / np.exp(sharpness * positives).sum()
        negative_weights = np.exp(-sharpness * negatives) / np.exp(-sharpness * negatives).sum()
        losses.append(_softplus(positive_weights @ positives - negative_weights @ negatives))
    return np.mean(losses)


def numpy_magnet(features, labels, margin=1.0, eps=1e-4):
    classes = list(dict.fromkeys(labels.tolist()))
    means = np.stack([features[labels == c].mean(0) for c in classes])
    d = ((features[:, None, :] - means[None]) ** 2).sum(-1)
    own = np.array([classes.index(c) for c in labels])
    variance = sum(d[i, own[i]] for i in range(len(labels))) / (len(labels) - 1)
    losses = []
    for i in range(len(labels)):
        linear = d[i] / (-2 * (variance + eps))
        linear[own[i]] -= margin
        e = np.exp(linear - linear.max())
        a = e[own[i]]
        b = e.sum() - a
        losses.append(max(0.0, -np.log(eps + a / (eps + b))))
    return np.mean(losses)


def numpy_cross_entropy(logits, labels):
    shifted = logits - logits.max(1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    return -np.mean(log_probs[np.arange(len(labels)), labels])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_triplet_matches_numpy(seed):
    features, labels = _batch(seed)
    got = batch_hard_triplet_loss(tf.constant(features), tf.constant(labels)).numpy()
    assert got == pytest.approx(numpy_triplet(features, labels), rel=1e-6)


@pytest.mark.parametrize("seed, sharpness", [(0, 1.0), (1, 1.0), (2, 10.0), (3, 30.0)])
def test_weighted_triplet_matches_numpy(seed, sharpness):
    features, labels = _batch(seed)
    order = np.random.default_rng(seed).permutation(len(labels))  # labels need not be grouped
    features, labels = features[order], labels[order]
    got = weighted_triplet_loss(tf.constant(features), tf.constant(labels), sharpness).numpy()
    assert got == pytest.approx(numpy_weighted_triplet(features, labels, sharpness), rel=1e-6)


def test_weighted_triplet_sharpens_towards_batch_hard():
    """Weighted means stay below batch-hard's extremes and reach them as the weights sharpen."""
    features, labels = _batch(6, classes=3, per_class=4)
    hardest = batch_hard_triplet_loss(tf.constant(features), tf.constant(labels)).numpy()
    gaps = [
        hardest - weighted_triplet_loss(tf.constant(features), tf.constant(labels), s).numpy()
        for s in (1.0, 10.0, 1000.0)
    ]
    assert gaps[0] > gaps[1] > 0 and gaps[2] == pytest.approx(0.0, abs=1e-4)


def test_weighted_triplet_gradient_is_finite_for_a_lone_identity():
    """An identity with one image in the batch has no positive: its term is finite, not NaN."""
    features, labels = _batch(5, classes=3, per_class=2)
    labels = np.append(labels, 9).astype("int32")
    features = np.vstack([features, features[:1] * -1.0])
    variable = tf.Variable(features)
    with tf.GradientTape() as tape:
        loss = weighted_triplet_loss(variable, tf.constant(labels))
    assert np.isfinite(loss.numpy())
    assert np.all(np.isfinite(tape.gradient(loss, variable).numpy()))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_magnet_matches_numpy(seed):
    features, labels = _batch(seed)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(labels))  # labels need not be grouped
    features, labels = features[order], labels[order]
    got = magnet_loss(tf.constant(features), tf.constant(labels)).numpy()
    assert got == pytest.approx(numpy_magnet(features, labels), rel=1e-6)


def test_triplet_is_small_when_classes_are_far_apart():
    labels = np.array([0, 0, 1, 1], "int32")
    features = np.array([[1, 0], [1, 0.01], [-1, 0], [-1, 0.01]], "float64")
    loss = batch_hard_triplet_loss(tf.constant(features), tf.constant(labels)).numpy()
    assert loss < 0.15  # softplus(0.0 - 2.0)


def test_cosine_softmax_head_and_loss_match_numpy():
    features, labels = _batch(3, classes=5, per_class=2, dim=6)
    head = CosineSoftmaxHead(5)
    head.build((None, 6))
    rng = np.random.default_rng(7)
    weights = rng.normal(size=(6, 5))
    head.mean_vectors.assign(weights)
    head.scale.assign(0.7)
    logits = head(tf.constant(features, "float32")).numpy()
    kappa = np.log1p(np.exp(0.7))
    expected = kappa * features @ (weights / np.linalg.norm(weights, axis=0, keepdims=True))
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-6)
    loss = cosine_softmax_loss(tf.constant(expected), tf.constant(labels)).numpy()
    assert loss == pytest.approx(numpy_cross_entropy(expected, labels), rel=1e-6)
    assert float(sum(head.losses)) == pytest.approx(0.1 * 0.7**2 / 2, rel=1e-6)


def test_cosine_softmax_head_starts_with_kappa_log2():
    head = CosineSoftmaxHead(3)
    head.build((None, 4))
    assert float(head.kappa()) == pytest.approx(np.log(2.0))
