"""The network matches the reference architecture: parameter count, stage shapes, names."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

from training.network import (  # noqa: E402
    FEATURE_DIM,
    LAST_FEATURE_MAP,
    REFERENCE_PARAMETER_COUNT,
    STYLE_AFTER,
    STYLE_EPSILON,
    MixStyle,
    StyleUncertainty,
    create_feature_extractor,
    mix_styles,
    perturb_styles,
    reference_variable_map,
    share_columns,
    tie_columns,
    training_view,
)


@pytest.fixture(scope="module")
def model():
    return create_feature_extractor()


def test_trainable_parameters_match_reference(model):
    count = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
    assert count == REFERENCE_PARAMETER_COUNT == 2_800_864


@pytest.mark.parametrize(
    ("layer", "shape"),
    [
        ("conv1_1_elu", (128, 64, 32)),
        ("conv1_2_elu", (128, 64, 32)),
        ("pool1", (64, 32, 32)),
        ("conv2_1_add", (64, 32, 32)),
        ("conv2_3_add", (64, 32, 32)),
        ("conv3_1_add", (32, 16, 64)),
        ("conv3_3_add", (32, 16, 64)),
        ("conv4_1_add", (16, 8, 128)),
        ("conv4_3_add", (16, 8, 128)),
        ("flatten", (16384,)),
        ("fc1_elu", (128,)),
        ("features", (128,)),
    ],
)
def test_stage_output_shapes(model, layer, shape):
    assert tuple(model.get_layer(layer).output.shape[1:]) == shape


def test_features_are_unit_length(model):
    images = np.random.default_rng(0).uniform(size=(4, 128, 64, 3)).astype("float32")
    features = model(images, training=False).numpy()
    assert features.shape == (4, FEATURE_DIM)
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), 1.0, atol=1e-5)


def test_batch_norm_has_shift_but_no_scale(model):
    bn = model.get_layer("conv1_1_bn")
    assert bn.center and not bn.scale
    assert bn.epsilon == pytest.approx(1e-3)


def test_reference_names_cover_every_variable_once(model):
    mapping = reference_variable_map(model)
    assert "conv1_1/conv1_1/bn/beta" in mapping
    assert "conv2_3/bn/moving_variance" in mapping
    assert "conv3_1/projection/weights" in mapping
    assert "conv2_1/bn/beta" not in mapping  # the first block has no pre-activation
    assert mapping["fc1/weights"].shape == (16384, 128)
    mapped = {id(v) for v in mapping.values()}
    assert len(mapped) == len(mapping) == len(model.weights)
    trainable = sum(int(np.prod(v.shape)) for v in mapping.values() if v.trainable)
    assert trainable == REFERENCE_PARAMETER_COUNT


def test_dropout_rate_is_a_training_setting_only():
    lighter = create_feature_extractor(dropout=0.1)
    rates = {layer.rate for layer in lighter.layers if isinstance(layer, keras.layers.Dropout)}
    assert rates == {0.1}
    reference = create_feature_extractor()
    assert {w.shape for w in lighter.weights} == {w.shape for w in reference.weights}
    for source, target in zip(reference.weights, lighter.weights, strict=True):
        target.assign(source)
    images = np.random.default_rng(0).uniform(0, 1, (4, 128, 64, 3)).astype("float32")
    np.testing.assert_allclose(lighter(images, training=False), reference(images, training=False))


def test_he_init_starts_every_kernel_at_its_fan_in_scale_and_no_two_alike():
    he = create_feature_extractor(weight_init="he")
    kernels = [layer.kernel.numpy() for layer in he.layers if hasattr(layer, "kernel")]
    for kernel in kernels:
        fan_in = int(np.prod(kernel.shape[:-1]))
        # HeNormal draws from a normal truncated at 2 stddevs, rescaled to keep sqrt(2 / fan_in).
        assert kernel.std() == pytest.approx(np.sqrt(2.0 / fan_in), rel=0.1)
    same_shape = [k for k in kernels if k.shape == (3, 3, 32, 32)]
    assert len(same_shape) >= 2 and not np.allclose(same_shape[0], same_shape[1])
    reference = [layer.kernel.numpy() for layer in create_feature_extractor().layers
                 if hasattr(layer, "kernel")]  # fmt: skip
    assert all(k.std() == pytest.approx(8.8e-4, rel=0.1) for k in reference)
    with pytest.raises(ValueError, match="unknown weight init"):
        create_feature_extractor(weight_init="xavier")


def test_mix_styles_against_numpy():
    rng = np.random.default_rng(6)
    x = rng.normal(2.0, 3.0, (4, 5, 3, 2)).astype("float32")
    weight = np.array([1.0, 0.3, 0.0, 0.8], "float32")
    order = np.array([2, 0, 3, 1])
    mean = x.mean(axis=(1, 2), keepdims=True)
    std = np.sqrt(x.var(axis=(1, 2), keepdims=True) + STYLE_EPSILON)
    w = weight[:, None, None, None]
    expected = (x - mean) / std * (w * std + (1 - w) * std[order]) + (
        w * mean + (1 - w) * mean[order]
    )
    got = mix_styles(tf.constant(x), tf.constant(weight), tf.constant(order)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got[0], x[0], rtol=1e-4, atol=1e-4)  # weight 1 keeps its style


def test_mixstyle_changes_training_features_only_and_shares_the_network():
    x = tf.random.stateless_normal((8, 6, 4, 3), (1, 2))
    always = MixStyle(1.0, seed=3)
    np.testing.assert_array_equal(always(x, training=False).numpy(), x.numpy())
    assert not np.allclose(always(x, training=True).numpy(), x.numpy())
    np.testing.assert_array_equal(MixStyle(0.0)(x, training=True).numpy(), x.numpy())

    model = create_feature_extractor(weight_init="he")
    assert training_view(model, 0.0, 0.0) is model
    view = training_view(model, 0.5, seed=1)
    assert [w is v for w, v in zip(model.weights, view.weights, strict=True)] == [True] * len(
        model.weights
    )
    mixers = [layer.name for layer in view.layers if isinstance(layer, MixStyle)]
    assert mixers == [f"{name}_mixstyle" for name in STYLE_AFTER]
    assert not any(isinstance(layer, MixStyle) for layer in model.layers)
    images = np.random.default_rng(0).uniform(0, 1, (4, 128, 64, 3)).astype("float32")
    np.testing.assert_allclose(view(images, training=False), model(images, training=False))


def test_training_view_can_return_the_last_feature_map_for_the_pooled_branch():
    model = create_feature_extractor(weight_init="he")
    view = training_view(model, 0.0, feature_map=True)
    assert len(view.weights) == len(model.weights)
    images = np.random.default_rng(1).uniform(0, 1, (3, 128, 64, 3)).astype("float32")
    features, feature_map = view(images, training=False)
    np.testing.assert_allclose(features, model(images, training=False), atol=1e-6)
    last = keras.Model(model.inputs, model.get_layer(LAST_FEATURE_MAP).output)
    np.testing.assert_allclose(feature_map, last(images, training=False), atol=1e-5)
    assert tuple(feature_map.shape) == (3, 16, 8, 128)
    styled = training_view(model, 0.5, seed=1, feature_map=True)
    assert [len(styled.outputs), len(styled.weights)] == [2, len(model.weights)]


def test_share_columns_against_numpy_and_blind_to_where_a_column_stands():
    rng = np.random.default_rng(3)
    kernel = rng.normal(size=(4 * 3 * 2 * 5)).reshape(4 * 3 * 2, 5).astype("float32")
    rows = kernel.reshape(4, 3, 2, 5)
    expected = np.broadcast_to(rows.mean(axis=1, keepdims=True), rows.shape).reshape(24, 5)
    np.testing.assert_allclose(share_columns(kernel, (4, 3, 2)), expected, rtol=1e-6)

    model = create_feature_extractor(weight_init="he")
    tie_columns(model)
    last = keras.Model(model.inputs, model.get_layer(LAST_FEATURE_MAP).output)
    fc1 = model.get_layer("fc1")
    images = rng.uniform(0, 1, (2, 128, 64, 3)).astype("float32")
    feature_map = last(images, training=False).numpy()
    shuffled = feature_map[:, :, rng.permutation(8)]  # columns moved within their rows
    outputs = [fc1(x.reshape(2, -1)).numpy() for x in (feature_map, shuffled)]
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-4, atol=1e-4)
    row_weights = fc1.kernel.numpy().reshape(16, 8, 128, FEATURE_DIM)[:, 0]  # one per row
    by_row = np.einsum("nhc,hck->nk", feature_map.sum(axis=2), row_weights)
    np.testing.assert_allclose(outputs[0], by_row, rtol=1e-4, atol=1e-4)


def test_perturb_styles_against_numpy():
    rng = np.random.default_rng(7)
    x = rng.normal(1.0, 2.0, (4, 5, 3, 2)).astype("float32")
    mean_noise = rng.normal(size=(4, 1, 1, 2)).astype("float32")
    std_noise = rng.normal(size=(4, 1, 1, 2)).astype("float32")
    mean = x.mean(axis=(1, 2), keepdims=True)
    std = np.sqrt(x.var(axis=(1, 2), keepdims=True) + STYLE_EPSILON)
    mean_spread = np.sqrt(mean.var(axis=0, keepdims=True) + STYLE_EPSILON)
    std_spread = np.sqrt(std.var(axis=0, keepdims=True) + STYLE_EPSILON)
    expected = (x - mean) / std * (std + std_noise * std_spread) + mean + mean_noise * mean_spread
    got = perturb_styles(tf.constant(x), tf.constant(mean_noise), tf.constant(std_noise)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    zero = np.zeros_like(mean_noise)
    unchanged = perturb_styles(tf.constant(x), tf.constant(zero), tf.constant(zero)).numpy()
    np.testing.assert_allclose(unchanged, x, rtol=1e-4, atol=1e-4)


def test_style_uncertainty_changes_training_features_only_and_follows_mixstyle():
    x = tf.random.stateless_normal((8, 6, 4, 3), (4, 5))
    always = StyleUncertainty(1.0, seed=3)
    np.testing.assert_array_equal(always(x, training=False).numpy(), x.numpy())
    moved = always(x, training=True).numpy()
    assert not np.allclose(moved, x.numpy())

    # Each image keeps its pattern: only its per-channel mean and spread change.
    def normalise(a):
        return (a - a.mean(axis=(1, 2), keepdims=True)) / a.std(axis=(1, 2), keepdims=True)

    np.testing.assert_allclose(normalise(moved), normalise(x.numpy()), atol=1e-3)
    np.testing.assert_array_equal(StyleUncertainty(0.0)(x, training=True).numpy(), x.numpy())

    model = create_feature_extractor(weight_init="he")
    view = training_view(model, 0.5, 0.5, seed=1)
    names = [layer.name for layer in view.layers if isinstance(layer, MixStyle | StyleUncertainty)]
    assert names == [f"{name}_{kind}" for name in STYLE_AFTER for kind in ("mixstyle", "dsu")]
    alone = training_view(model, 0.0, 0.5, seed=1)
    assert not any(isinstance(layer, MixStyle) for layer in alone.layers)
    assert len(view.weights) == len(model.weights)
    images = np.random.default_rng(0).uniform(0, 1, (4, 128, 64, 3)).astype("float32")
    np.testing.assert_allclose(view(images, training=False), model(images, training=False))
