"""The training recipe's maths against plain references: schedule, scale, smoothing, margin,
augmentation geometry, and the names command lines accept."""

from __future__ import annotations

import math

import numpy as np
import pytest

from training.options import AUGMENTATIONS, parse_augmentations
from training.schedules import learning_rate_at

tf = pytest.importorskip("tensorflow")

from training.augment import (  # noqa: E402
    EXPOSURE_GAIN,
    augment,
    camera_tone,
    erasing_box,
    log_uniform,
    random_exposure,
    random_grayscale,
    random_resolution,
)
from training.heads import CosineSoftmaxHead, PooledBranch, inverse_softplus  # noqa: E402
from training.losses import cosine_softmax_loss  # noqa: E402
from training.schedules import learning_rate_schedule  # noqa: E402


def test_parse_augmentations():
    assert parse_augmentations("flip, erasing") == ("flip", "erasing")
    assert parse_augmentations("none") == ()
    assert set(parse_augmentations(",".join(AUGMENTATIONS))) == set(AUGMENTATIONS)
    with pytest.raises(ValueError, match="unknown augmentation blurr"):
        parse_augmentations("flip,blurr")


def test_cosine_schedule_warms_up_then_decays_to_zero():
    rates = [learning_rate_at(s, 1e-3, 100, "cosine", 0.1) for s in range(100)]
    assert rates[0] == pytest.approx(1e-4)
    assert rates[9] == pytest.approx(1e-3)
    assert rates[10] == pytest.approx(1e-3)
    assert rates[55] == pytest.approx(1e-3 * 0.5 * (1 + math.cos(math.pi * 45 / 90)))
    assert rates[-1] < 1e-6
    assert all(a >= b for a, b in zip(rates[10:], rates[11:], strict=False))
    assert learning_rate_at(50, 1e-3, 100, "constant") == 1e-3


def test_keras_schedule_follows_the_reference_function():
    schedule = learning_rate_schedule("cosine", 2e-3, 50, 0.2)
    for step in (0, 3, 9, 10, 25, 49):
        assert float(schedule(step)) == pytest.approx(
            learning_rate_at(step, 2e-3, 50, "cosine", 0.2), rel=1e-5, abs=1e-9
        )
    assert learning_rate_schedule("constant", 1e-3, 50, 0.0) == 1e-3


def _numpy_cross_entropy(logits, labels, smoothing):
    logits = logits - logits.max(axis=1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    targets = np.eye(logits.shape[1])[labels] * (1 - smoothing) + smoothing / logits.shape[1]
    return float(-(targets * log_p).sum(axis=1).mean())


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_cosine_softmax_loss_with_label_smoothing(smoothing):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(6, 5)).astype(np.float32) * 4
    labels = np.array([0, 1, 4, 2, 2, 3], np.int32)
    got = float(cosine_softmax_loss(tf.constant(logits), tf.constant(labels), smoothing))
    assert got == pytest.approx(_numpy_cross_entropy(logits, labels, smoothing), rel=1e-5)


def test_head_scale_fixed_learned_and_margin():
    features = tf.math.l2_normalize(tf.random.stateless_normal((4, 8), (1, 2)), axis=1)
    labels = tf.constant([0, 1, 2, 0])
    fixed = CosineSoftmaxHead(3, fixed_kappa=16.0, margin=0.2)
    fixed.build((None, 8))
    assert not fixed.trainable_weights[1:]  # only the class vectors learn
    cosines = fixed.cosines(features).numpy()
    assert np.all(np.abs(cosines) <= 1 + 1e-6)
    expected = 16.0 * (cosines - 0.2 * np.eye(3)[labels.numpy()])
    np.testing.assert_allclose(fixed(features, labels).numpy(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fixed(features).numpy(), 16.0 * cosines, rtol=1e-5, atol=1e-5)
    learned = CosineSoftmaxHead(3, initial_kappa=10.0)
    learned.build((None, 8))
    assert float(learned.kappa()) == pytest.approx(10.0, rel=1e-5)
    assert inverse_softplus(math.log(2.0)) == pytest.approx(0.0, abs=1e-9)
    reference = CosineSoftmaxHead(3)
    reference.build((None, 8))
    assert float(reference.kappa()) == pytest.approx(math.log(2.0))


def test_he_init_starts_the_class_vectors_near_unit_length():
    he = CosineSoftmaxHead(500, weight_init="he")
    he.build((None, 128))
    lengths = np.linalg.norm(he.mean_vectors.numpy(), axis=0)
    assert lengths.mean() == pytest.approx(0.88, rel=0.1)  # truncated at 2 stddevs: 0.88 of 1
    reference = CosineSoftmaxHead(500)
    reference.build((None, 128))
    assert np.linalg.norm(reference.mean_vectors.numpy(), axis=0).mean() < 0.02


def test_pooled_branch_against_numpy_and_blind_to_where_a_pattern_stands():
    rng = np.random.default_rng(3)
    maps = rng.normal(size=(4, 16, 8, 128)).astype("float32")
    branch = PooledBranch(128, bn_momentum=0.99)
    branch.build(maps.shape)
    branch.norm.moving_mean.assign(rng.normal(size=128).astype("float32"))
    branch.norm.moving_variance.assign(rng.uniform(0.5, 2.0, 128).astype("float32"))
    branch.norm.beta.assign(rng.normal(size=128).astype("float32"))
    got = branch(maps, training=False).numpy()

    norm = branch.norm
    x = maps.mean(axis=(1, 2)) @ branch.dense.kernel.numpy()
    x = (x - norm.moving_mean.numpy()) / np.sqrt(norm.moving_variance.numpy() + norm.epsilon)
    x = x + norm.beta.numpy()
    np.testing.assert_allclose(got, x / np.linalg.norm(x, axis=1, keepdims=True), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    # Moving every position elsewhere in the map leaves the embedding as it was.
    shuffled = maps.reshape(4, 128, 128)[:, rng.permutation(128)].reshape(maps.shape)
    np.testing.assert_allclose(branch(shuffled, training=False).numpy(), got, atol=1e-5)


@pytest.mark.parametrize("seed", range(20))
def test_erasing_box_lies_inside_with_the_drawn_area(seed):
    u = np.random.default_rng(seed).random(4)
    top, left, h, w = (int(v) for v in erasing_box(tf.constant(u, tf.float32), 128, 64))
    assert top >= 0 and top + h <= 128 and left >= 0 and left + w <= 64
    area = (0.02 + u[0] * 0.38) * 128 * 64
    aspect = math.exp(math.log(0.3) + u[1] * (math.log(3.3) - math.log(0.3)))
    if round(math.sqrt(area * aspect)) <= 128 and round(math.sqrt(area / aspect)) <= 64:
        assert h == round(math.sqrt(area * aspect)) and w == round(math.sqrt(area / aspect))


def test_augment_is_deterministic_in_its_seed_and_keeps_shape_and_type():
    image = tf.constant(np.random.default_rng(1).integers(0, 256, (128, 64, 3)), tf.uint8)
    seed = tf.constant([7, 3], tf.int64)
    for names in [(), ("flip",), tuple(AUGMENTATIONS)]:
        a = augment(image, seed, names)
        assert a.shape == (128, 64, 3) and a.dtype == tf.uint8
        np.testing.assert_array_equal(a.numpy(), augment(image, seed, names).numpy())
    np.testing.assert_array_equal(augment(image, seed, ()).numpy(), image.numpy())
    different = [
        augment(image, tf.constant([7, s], tf.int64), tuple(AUGMENTATIONS)) for s in range(4)
    ]
    assert len({d.numpy().tobytes() for d in different}) == 4


def test_random_grayscale_turns_about_one_image_in_ten_into_its_luma():
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (128, 64, 3)).astype(np.uint8)
    luma = np.round(image.astype(np.float64) @ [0.2989, 0.587, 0.114])
    grey = 0
    for s in range(200):
        out = random_grayscale(tf.constant(image), tf.constant([5, s], tf.int64)).numpy()
        if np.array_equal(out, image):
            continue
        grey += 1
        assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 0], out[..., 2])
        assert np.abs(out[..., 0] - luma).max() <= 1
    assert 8 <= grey <= 35


def test_log_uniform_spans_the_ratio_symmetrically():
    u = tf.constant([0.0, 0.5, 1.0, 0.25])
    np.testing.assert_allclose(log_uniform(u, 2.0).numpy(), [0.5, 1.0, 2.0, 2**-0.5], rtol=1e-6)


def test_camera_tone_against_numpy():
    image = np.random.default_rng(3).integers(0, 256, (128, 64, 3)).astype(np.uint8)
    white_balance = np.array([1.05, 1.0, 0.92], np.float32)
    got = camera_tone(tf.constant(image), 1.3, 0.8, tf.constant(white_balance)).numpy()
    expected = 1.3 * white_balance * (image / 255.0) ** 0.8
    expected = np.clip(np.round(expected * 255.0), 0, 255).astype(np.uint8)
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1
    np.testing.assert_array_equal(camera_tone(tf.constant(image), 1.0, 1.0, [1.0] * 3), image)


def test_random_exposure_changes_brightness_within_its_range_and_keeps_black():
    image = np.full((128, 64, 3), 100, np.uint8)
    image[:8] = 0
    means = []
    for s in range(50):
        out = random_exposure(tf.constant(image), tf.constant([1, s], tf.int64)).numpy()
        assert np.all(out[:8] == 0)
        means.append(out[8:].mean())
    low = 255 * (100 / 255) ** 1.25 / EXPOSURE_GAIN / 1.1
    high = 255 * (100 / 255) ** 0.8 * EXPOSURE_GAIN * 1.1
    assert low - 1 <= min(means) < 90 and 115 < max(means) <= high + 1


def test_random_resolution_softens_about_half_the_images_and_keeps_flat_ones():
    rng = np.random.default_rng(4)
    image = rng.integers(0, 256, (128, 64, 3)).astype(np.uint8)
    flat = np.full((128, 64, 3), 77, np.uint8)
    softened = 0
    for s in range(40):
        seed = tf.constant([2, s], tf.int64)
        out = random_resolution(tf.constant(image), seed).numpy()
        np.testing.assert_array_equal(random_resolution(tf.constant(flat), seed).numpy(), flat)
        if not np.array_equal(out, image):
            softened += 1
            assert out.std() < image.std()  # detail lost, not added
    assert 10 <= softened <= 30


def test_new_transforms_leave_the_older_recipes_images_unchanged():
    image = tf.constant(np.random.default_rng(5).integers(0, 256, (128, 64, 3)), tf.uint8)
    seed = tf.constant([9, 4], tf.int64)
    # Random erasing draws from the seed split's seventh slot, as before resolution and exposure.
    slots = tf.unstack(tf.random.experimental.stateless_split(seed, 7))
    expected = augment(image, seed, ("flip",))
    from training.augment import random_erasing

    expected = random_erasing(expected, slots[6])
    np.testing.assert_array_equal(augment(image, seed, ("flip", "erasing")).numpy(), expected)
