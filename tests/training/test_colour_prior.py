"""The stripe-colour prior matches the evaluation's colour histograms and asks for their order."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from evaluation.colour_histogram import stripe_histograms as numpy_histograms  # noqa: E402
from training.colour_prior import (  # noqa: E402
    similarity_correlation_loss,
    stripe_histograms,
)


def _unit(rows):
    rows = np.asarray(rows, np.float64)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def numpy_similarity_correlation(features, prior):
    """1 - mean over rows of Pearson's r between the two similarity rows, self left out."""
    learned, wanted = features @ features.T, prior @ prior.T
    correlations = []
    for i in range(len(features)):
        others = np.arange(len(features)) != i
        correlations.append(np.corrcoef(learned[i, others], wanted[i, others])[0, 1])
    return 1.0 - np.mean(correlations)


def test_stripe_histograms_match_the_evaluation_baseline():
    rng = np.random.default_rng(0)
    # Blocks of flat colour, as clothes are, plus noise: few pixels sit on a bin edge.
    blocks = rng.integers(0, 256, size=(6, 8, 4, 3))
    bgr = np.repeat(np.repeat(blocks, 16, axis=1), 16, axis=2)
    bgr = np.clip(bgr + rng.integers(-20, 21, size=bgr.shape), 0, 255).astype(np.uint8)
    rgb = bgr[..., ::-1].astype(np.float32) / 255.0
    ours = stripe_histograms(tf.constant(rgb)).numpy()
    reference = numpy_histograms(bgr)
    assert ours.shape == reference.shape == (6, 6 * 8 * 4 * 4)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    # OpenCV rounds hue to whole degrees / 2 on uint8, TensorFlow keeps it exact: a few pixels
    # on a bin edge may fall in the neighbouring bin.
    assert (np.sum(ours * reference, axis=1) > 0.99).all()


def test_similarity_correlation_against_numpy_and_its_invariances():
    rng = np.random.default_rng(1)
    features, prior = _unit(rng.normal(size=(12, 16))), _unit(rng.normal(size=(12, 40)))
    loss = similarity_correlation_loss(tf.constant(features), tf.constant(prior, tf.float32))
    assert float(loss) == pytest.approx(numpy_similarity_correlation(features, prior), abs=1e-5)
    # Perfect agreement is 0, whatever the dimension of either side.
    same = tf.constant(prior, tf.float32)
    assert float(similarity_correlation_loss(same, same)) == pytest.approx(0.0, abs=1e-5)
    padded = tf.constant(_unit(np.concatenate([prior, np.zeros((12, 3))], axis=1)), tf.float32)
    assert float(similarity_correlation_loss(padded, same)) == pytest.approx(0.0, abs=1e-5)


def test_similarity_correlation_pulls_features_towards_the_prior_order():
    rng = np.random.default_rng(2)
    prior = tf.constant(_unit(rng.normal(size=(10, 24))), tf.float32)
    features = tf.Variable(rng.normal(size=(10, 8)).astype(np.float32))
    optimizer = tf.keras.optimizers.Adam(0.05)
    losses = []
    for _ in range(60):
        with tf.GradientTape() as tape:
            loss = similarity_correlation_loss(tf.math.l2_normalize(features, axis=1), prior)
        optimizer.apply_gradients([(tape.gradient(loss, features), features)])
        losses.append(float(loss))
    assert losses[-1] < 0.5 * losses[0], losses[::10]


def test_training_with_the_colour_prior_records_it_and_rejects_a_negative_weight(
    small_market, tmp_path
):
    import json

    from core.errors import ReidError
    from training.train import TrainConfig, train

    config = TrainConfig(
        data_dir=str(small_market), output_dir=str(tmp_path / "run"), batch_size=16, steps=2,
        device="cpu", validate_every=0, validation_fraction=0.25, colour_prior=1.0,
    )  # fmt: skip
    result = train(config)
    assert np.isfinite(result["loss"])
    recorded = json.loads((tmp_path / "run" / "config.json").read_text())["config"]
    assert recorded["colour_prior"] == 1.0
    with pytest.raises(ReidError, match="--colour-prior must be 0 or more"):
        TrainConfig(colour_prior=-1.0).check()
