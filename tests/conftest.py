"""Shared fixtures: a run with a random checkpoint and its exported models, built once a session.

`random_checkpoint` is a run directory written as `reid train` writes it (config.json,
checkpoints/ckpt-1 with model, optimizer, head and step). Its weights are random with a scale
that keeps activations alive through the network, and its batch-norm moving statistics and
shifts are non-trivial, so parity between formats means something. `onnx_model`,
`frozen_graph` and `saved_model` are that checkpoint exported once per session.
Fixtures that need TensorFlow skip when it is not installed. `small_market` (Market-1501) and
`synthetic_mot` (MOTChallenge) are small synthetic datasets, also written once a session.
"""

from __future__ import annotations

import numpy as np
import pytest

from training.random_run import RANDOM_RUN_CLASSES, randomise_network, write_random_run  # noqa: F401


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
    from synthetic.market1501 import SynthConfig, write_synthetic_market1501

    out = tmp_path_factory.mktemp("synth") / "market"
    config = SynthConfig(
        train_identities=40, test_identities=10, images_per_camera=3, distractors=5, junk=3, seed=3
    )
    write_synthetic_market1501(out, config, progress=False)
    return out


@pytest.fixture(scope="session")
def synthetic_mot(tmp_path_factory):
    """Two synthetic MOT sequences (SYNTH-01, SYNTH-02) of 60 frames with 6 people each."""
    from synthetic.mot import SynthMotConfig, write_synthetic_mot

    out = tmp_path_factory.mktemp("synthetic_mot") / "mot"
    config = SynthMotConfig(sequences=2, frames=60, width=480, height=360, people=6, seed=5)
    write_synthetic_mot(out, config, progress=False)
    return out
