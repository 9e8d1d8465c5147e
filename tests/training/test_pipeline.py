"""The input pipeline yields identity-balanced, decoded, flipped batches, deterministically."""

import cv2
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from training.datasets import read_dataset  # noqa: E402
from training.pipeline import (  # noqa: E402
    class_indices,
    decode_image,
    inference_dataset,
    training_dataset,
)
from training.sampler import IdentityBalancedSampler  # noqa: E402


def test_class_indices_are_contiguous():
    indices, classes = class_indices(np.array([7, 3, 7, 12]))
    assert indices.tolist() == [1, 0, 1, 2]
    assert classes.tolist() == [3, 7, 12]


def test_decode_resizes_other_sizes_to_128_by_64(tmp_path):
    image = np.zeros((256, 128, 3), np.uint8)
    image[:, :, 2] = 255  # red in BGR
    path = tmp_path / "big.png"
    cv2.imwrite(str(path), image)
    decoded = decode_image(tf.constant(str(path))).numpy()
    assert decoded.shape == (128, 64, 3) and decoded.dtype == np.uint8
    assert decoded[..., 0].min() == 255 and decoded[..., 2].max() == 0  # RGB order


def test_training_batches_are_balanced_and_deterministic(small_market):
    train = read_dataset("market1501", small_market).train
    labels, _ = class_indices(train.identities)
    sampler = IdentityBalancedSampler(train.identities, 4, 4, seed=5)
    first = next(iter(training_dataset(train.paths, labels, sampler, start_step=3, seed=5)))
    again = next(iter(training_dataset(train.paths, labels, sampler, start_step=3, seed=5)))
    images, batch_labels = first
    assert images.shape == (16, 128, 64, 3) and images.dtype == tf.float32
    assert float(tf.reduce_min(images)) >= 0.0 and float(tf.reduce_max(images)) <= 1.0
    counts = np.unique(batch_labels.numpy(), return_counts=True)[1]
    assert counts.tolist() == [4, 4, 4, 4]
    np.testing.assert_array_equal(images.numpy(), again[0].numpy())
    expected = labels[sampler.batch_at(3)]
    np.testing.assert_array_equal(batch_labels.numpy(), expected)


def test_inference_dataset_keeps_order(small_market):
    paths = read_dataset("market1501", small_market).train.paths[:5]
    batches = list(inference_dataset(paths, batch_size=2))
    assert [b.shape[0] for b in batches] == [2, 2, 1]
    first = cv2.imread(str(paths[0]))[:, :, ::-1] / 255.0
    np.testing.assert_allclose(batches[0][0].numpy(), first, atol=1e-6)
