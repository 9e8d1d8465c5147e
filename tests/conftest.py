"""Shared fixtures: a run with a random checkpoint and its exported models, built once a session.

`random_checkpoint` is a run directory written as `reid train` writes it (config.json,
checkpoints/ckpt-1 with model, optimizer, head and step). Its weights are random with a scale
that keeps activations alive through the network, and its batch-norm moving statistics and
shifts are non-trivial, so parity between formats means something. `onnx_model`,
`frozen_graph` and `saved_model` are that checkpoint exported once per session.
Fixtures that need TensorFlow skip when it is not installed.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

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


def write_random_run(run_dir, seed: int = 0) -> None:
    """A run directory like `reid train` leaves, holding a randomised network at step 1."""
    import keras
    import tensorflow as tf

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


@pytest.fixture(scope="session")
def random_checkpoint(tmp_path_factory):
    """Run directory with checkpoints/ckpt-1 of a randomised network (needs TensorFlow)."""
    pytest.importorskip("tensorflow")
    run_dir = tmp_path_factory.mktemp("random_run")
    write_random_run(run_dir)
    return run_dir


def _exported(tmp_path_factory, random_checkpoint, name: str, model_format: str):
    from encoder.export import export

    path = tmp_path_factory.mktemp("models") / name
    export(str(random_checkpoint), str(path), model_format)
    return path


@pytest.fixture(scope="session")
def frozen_graph(tmp_path_factory, random_checkpoint):
    """deep_sort frozen GraphDef (.pb) of `random_checkpoint`, with its model card."""
    return _exported(tmp_path_factory, random_checkpoint, "model.pb", "frozen")


@pytest.fixture(scope="session")
def onnx_model(tmp_path_factory, random_checkpoint):
    """ONNX export (.onnx) of `random_checkpoint`, with its model card."""
    return _exported(tmp_path_factory, random_checkpoint, "model.onnx", "onnx")


@pytest.fixture(scope="session")
def saved_model(tmp_path_factory, random_checkpoint):
    """SavedModel folder of `random_checkpoint`, with its model card."""
    return _exported(tmp_path_factory, random_checkpoint, "saved_model", "savedmodel")


@pytest.fixture(scope="session")
def synthetic_crops():
    """Sixteen 128 x 64 BGR crops with structure (gradients, blocks, noise), fixed seed."""
    rng = np.random.default_rng(7)
    rows = np.linspace(0, 1, 128)[None, :, None, None]
    cols = np.linspace(0, 1, 64)[None, None, :, None]
    colours = rng.uniform(0, 255, (16, 1, 1, 3))
    base = colours * (0.5 + 0.5 * rows) * (0.7 + 0.3 * cols)
    base[:, 40:90] = rng.uniform(0, 255, (16, 1, 1, 3))  # a "torso" block
    noise = rng.normal(0, 12, base.shape)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def small_market(tmp_path_factory):
    """A synthetic Market-1501 layout: 40 training and 10 test identities, 6 cameras."""
    from training.datasets.synthetic import SynthConfig, write_synthetic_market1501

    out = tmp_path_factory.mktemp("synth") / "market"
    config = SynthConfig(
        train_identities=40, test_identities=10, images_per_camera=3, distractors=5, junk=3, seed=3
    )
    write_synthetic_market1501(out, config, progress=False)
    return out
