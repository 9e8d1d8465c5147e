"""A run folder holding a randomly initialised network, laid out as `reid train` leaves one.

For speed benchmarks (speed does not depend on the weights) and format tests. The weights are
He-scaled so activations stay alive through the network, and batch-norm statistics and shifts
are varied, so comparing two formats of the model means something.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

RANDOM_RUN_CLASSES = 5


def randomise_network(model, seed: int = 0) -> None:
    """He-scaled kernels and varied batch-norm statistics, so every layer matters."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        shape = tuple(variable.shape)
        name = variable.path
        if name.endswith("kernel"):
            fan_in = int(np.prod(shape[:-1]))
            value = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
        elif name.endswith("moving_mean"):
            value = rng.normal(0.0, 0.3, shape)
        elif name.endswith("moving_variance"):
            value = rng.uniform(0.5, 2.0, shape)
        else:  # beta, bias
            value = rng.normal(0.0, 0.2, shape)
        variable.assign(value.astype(np.float32))


def write_random_run(run_dir: str | Path, seed: int = 0) -> None:
    """A run directory like `reid train` leaves, holding a randomised network at step 1."""
    import keras
    import tensorflow as tf

    run_dir = Path(run_dir)

    from training.heads import CosineSoftmaxHead
    from training.network import create_feature_extractor

    model = create_feature_extractor(bn_momentum=0.99)
    randomise_network(model, seed)
    head = CosineSoftmaxHead(RANDOM_RUN_CLASSES)
    head.build((None, 128))
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    optimizer.build(model.trainable_variables + head.trainable_variables)
    step = tf.Variable(1, dtype=tf.int64, trainable=False, name="global_step")
    checkpoint = tf.train.Checkpoint(step=step, model=model, optimizer=optimizer, head=head)
    manager = tf.train.CheckpointManager(checkpoint, run_dir / "checkpoints", max_to_keep=3)
    manager.save(checkpoint_number=1)
    config = {
        "config": {"dataset": "market1501", "loss": "cosine-softmax", "steps": 1, "seed": seed},
        "bn_momentum": 0.99,
        "num_classes": RANDOM_RUN_CLASSES,
    }
    (run_dir / "config.json").write_text(json.dumps(config))
    summary = {"steps": 1, "loss": 1.0, "validation_rank1": 0.2, "chance_rank1": 0.2}
    (run_dir / "summary.json").write_text(json.dumps(summary))
