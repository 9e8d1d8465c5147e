"""tf.data input pipelines: identity-balanced training batches and plain inference batches.

Images are decoded in parallel, resized to 128 x 64 when needed and scaled to RGB in [0, 1];
training batches get the augmentations a run names (`training.augment`).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from core.contract import IMAGE_SHAPE
from training.augment import REFERENCE_AUGMENTATIONS, augment
from training.sampler import IdentityBalancedSampler

AUTOTUNE = tf.data.AUTOTUNE


def class_indices(identities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map identity labels to contiguous class indices 0..C-1; returns (indices, classes)."""
    classes, indices = np.unique(identities, return_inverse=True)
    return indices.astype(np.int32), classes


def decode_image(path: tf.Tensor) -> tf.Tensor:
    """Read an image file as uint8 RGB 128 x 64 x 3 (bilinear resize when it is another size)."""
    data = tf.io.read_file(path)
    # The accurate DCT decodes JPEGs as OpenCV does, so training sees what inference sees.
    image = tf.cond(
        tf.io.is_jpeg(data),
        lambda: tf.io.decode_jpeg(data, channels=3, dct_method="INTEGER_ACCURATE"),
        lambda: tf.io.decode_image(data, channels=3, expand_animations=False),
    )
    height, width = IMAGE_SHAPE[:2]
    shape = tf.shape(image)
    image = tf.cond(
        tf.logical_and(tf.equal(shape[0], height), tf.equal(shape[1], width)),
        lambda: image,
        lambda: tf.cast(
            tf.clip_by_value(tf.round(tf.image.resize(image, (height, width))), 0, 255), tf.uint8
        ),
    )
    image.set_shape(IMAGE_SHAPE)
    return image


def to_network_input(images: tf.Tensor) -> tf.Tensor:
    """uint8 RGB -> float32 RGB in [0, 1], the feature extractor's input."""
    return tf.cast(images, tf.float32) / 255.0


def training_dataset(
    paths: np.ndarray,
    labels: np.ndarray,
    sampler: IdentityBalancedSampler,
    start_step: int = 0,
    seed: int = 0,
    num_shards: int = 1,
    shard_index: int = 0,
    replica_batch_size: int | None = None,
    augmentations: tuple[str, ...] = REFERENCE_AUGMENTATIONS,
) -> tf.data.Dataset:
    """Endless (images, labels) batches of P x K images from `start_step` on, deterministic.

    With several shards (workers), shard i reads the i-th contiguous slice of every global batch;
    `replica_batch_size` then cuts each slice into the batches of this worker's replicas.
    `augmentations` names the transforms of `training.augment` applied to each image.
    """
    paths = tf.constant(np.asarray(paths, dtype=str))
    labels = tf.constant(np.asarray(labels, dtype=np.int32))
    batch_size = sampler.batch_size // num_shards
    output_batch_size = replica_batch_size or batch_size

    def indices_at(step):
        indices = sampler.batch_at(int(step)).astype(np.int64)
        return indices[shard_index * batch_size : (shard_index + 1) * batch_size]

    def batch_indices(step):
        indices = tf.numpy_function(indices_at, [step], tf.int64, stateful=False)
        indices.set_shape((batch_size,))
        return tf.data.Dataset.from_tensor_slices(
            (indices, tf.fill([batch_size], step), tf.range(batch_size, dtype=tf.int64))
        )

    def load(index, step, position):
        image = decode_image(tf.gather(paths, index))
        position += shard_index * batch_size
        image_seed = tf.stack([tf.cast(seed, tf.int64) * 1_000_003 + step, position])
        image = augment(image, image_seed, augmentations)
        return image, tf.gather(labels, index)

    return (
        tf.data.Dataset.counter(start=start_step)
        .flat_map(batch_indices)
        .map(load, num_parallel_calls=AUTOTUNE, deterministic=True)
        .batch(output_batch_size, drop_remainder=True)
        .map(lambda images, y: (to_network_input(images), y))
        .prefetch(AUTOTUNE)
    )


def inference_dataset(paths: np.ndarray, batch_size: int = 128) -> tf.data.Dataset:
    """Batches of network input for every path, in order."""
    return (
        tf.data.Dataset.from_tensor_slices(np.asarray(paths, dtype=str))
        .map(decode_image, num_parallel_calls=AUTOTUNE, deterministic=True)
        .batch(batch_size)
        .map(to_network_input)
        .prefetch(AUTOTUNE)
    )
