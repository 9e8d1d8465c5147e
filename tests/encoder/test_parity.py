"""Checkpoint network, frozen graph, SavedModel and ONNX give the same features."""

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from encoder import Encoder  # noqa: E402

MIN_COSINE = 0.9999


@pytest.fixture(scope="module")
def checkpoint_features(random_checkpoint, synthetic_crops):
    """The Keras network restored from the checkpoint, fed the preprocessed crops."""
    from training.checkpoints import load_network, resolve_checkpoint

    model = load_network(resolve_checkpoint(str(random_checkpoint)))
    rgb = synthetic_crops[..., ::-1].astype(np.float32) / 255.0
    return model(rgb, training=False).numpy()


def test_checkpoint_features_are_varied_unit_rows(checkpoint_features):
    np.testing.assert_allclose(np.linalg.norm(checkpoint_features, axis=1), 1.0, atol=1e-5)
    similarity = checkpoint_features @ checkpoint_features.T
    off_diagonal = similarity[~np.eye(len(similarity), dtype=bool)]
    assert off_diagonal.min() < 0.99, "random weights should still separate the crops"


@pytest.mark.parametrize("fixture", ["frozen_graph", "saved_model", "onnx_model"])
def test_exported_model_matches_checkpoint(fixture, request, synthetic_crops, checkpoint_features):
    encoder = Encoder(request.getfixturevalue(fixture), batch_size=8)
    features = encoder.encode(synthetic_crops)
    cosine = np.sum(features * checkpoint_features, axis=1)
    assert cosine.min() >= MIN_COSINE, (fixture, cosine.min())


def test_bfloat16_frozen_graph_stays_close(frozen_graph, synthetic_crops, checkpoint_features):
    """bf16 convolutions (where the CPU has them) keep features within cosine 0.99."""
    encoder = Encoder(frozen_graph, precision="bf16")
    assert encoder.precision == "bf16"
    cosine = np.sum(encoder.encode(synthetic_crops) * checkpoint_features, axis=1)
    assert cosine.min() >= 0.99


def test_bfloat16_needs_openvino_or_a_frozen_graph(saved_model, onnx_model):
    from core.errors import ModelError

    with pytest.raises(ModelError, match="not SavedModels"):
        Encoder(saved_model, precision="bf16")
    with pytest.raises(ModelError, match="backend='openvino'"):
        Encoder(onnx_model, backend="onnxruntime", precision="bf16")
