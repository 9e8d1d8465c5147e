"""`reid freeze`, `reid export`, `reid embed`, and freezing the reference's TF1 checkpoints."""

import argparse
import json

import cv2
import numpy as np
import pytest

from core.errors import ModelError
from encoder.cli import (
    add_embed_arguments,
    add_export_arguments,
    add_freeze_arguments,
    run_embed,
    run_export,
    run_freeze,
)
from encoder.crops import InputError


def _parse(add_arguments, argv):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def write_reference_checkpoint(prefix, values: dict, extra: dict) -> None:
    """A TF1 name-based checkpoint as tf.compat.v1.train.Saver writes it."""
    import tensorflow as tf

    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        variables = {
            name: tf.compat.v1.Variable(value, name=name.replace("/", "_"))
            for name, value in {**values, **extra}.items()
        }
        session.run(tf.compat.v1.global_variables_initializer())
        tf.compat.v1.train.Saver(var_list=variables).save(session, str(prefix))


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    """A reference-style checkpoint of a randomised network, and that network."""
    pytest.importorskip("tensorflow")
    from tests.conftest import randomise_network
    from training.network import create_feature_extractor, reference_variable_map

    model = create_feature_extractor()
    randomise_network(model, seed=3)
    values = {name: v.numpy() for name, v in reference_variable_map(model).items()}
    rng = np.random.default_rng(0)
    extra = {
        "ball/mean_vectors": rng.normal(size=(128, 11)).astype(np.float32),
        "ball/scale": np.float32(1.5),
        "conv1_1/weights/Adam": rng.normal(size=(3, 3, 3, 32)).astype(np.float32),
        "conv1_1/weights/Adam_1": rng.normal(size=(3, 3, 3, 32)).astype(np.float32),
        "fc1/weights/Adam": rng.normal(size=(16384, 128)).astype(np.float32),
        "global_step": np.int64(68577),
        "beta1_power": np.float32(0.9),
    }
    folder = tmp_path_factory.mktemp("reference")
    write_reference_checkpoint(folder / "model.ckpt-68577", values, extra)
    return folder, model


def test_freeze_accepts_reference_checkpoints(reference_run, synthetic_crops, tmp_path, capsys):
    from encoder import Encoder

    folder, model = reference_run
    output = tmp_path / "reference.pb"
    args = _parse(add_freeze_arguments, ["--checkpoint", str(folder), "--output", str(output)])
    assert run_freeze(args) == 0
    assert "generate_detections.py --model" in capsys.readouterr().out
    card = json.loads(output.with_name("reference.pb.json").read_text())
    assert card["checkpoint_kind"] == "tf1-reference"
    assert card["source_checkpoint"].endswith("model.ckpt-68577")

    expected = model(synthetic_crops[..., ::-1].astype(np.float32) / 255.0, training=False)
    expected = expected.numpy()
    features = Encoder(output).encode(synthetic_crops)
    assert np.sum(features * expected, axis=1).min() >= 0.9999


def test_incomplete_reference_checkpoint_is_refused(tmp_path):
    pytest.importorskip("tensorflow")
    from encoder.export import export

    write_reference_checkpoint(
        tmp_path / "model.ckpt-1", {"conv1_1/weights": np.zeros((3, 3, 3, 32), np.float32)}, {}
    )
    with pytest.raises(ModelError, match="lacks .* variables"):
        export(str(tmp_path / "model.ckpt-1"), str(tmp_path / "m.pb"), "frozen")
    assert not (tmp_path / "m.pb").exists()


def test_export_onnx_command(random_checkpoint, tmp_path, capsys):
    output = tmp_path / "model.onnx"
    argv = ["--checkpoint", str(random_checkpoint), "--format", "onnx", "--output", str(output)]
    assert run_export(_parse(add_export_arguments, argv)) == 0
    assert output.is_file() and output.with_name("model.onnx.json").is_file()
    assert "model.onnx" in capsys.readouterr().out


def test_embed_writes_features_in_argument_order(onnx_model, synthetic_crops, tmp_path):
    from encoder import Encoder

    folder = tmp_path / "crops"
    folder.mkdir()
    for index, crop in enumerate(synthetic_crops[:3]):
        cv2.imwrite(str(folder / f"{index}.png"), crop)
    big = cv2.resize(synthetic_crops[3], (128, 256), interpolation=cv2.INTER_NEAREST)
    cv2.imwrite(str(tmp_path / "big.png"), big)
    output = tmp_path / "features.npy"
    argv = ["--model", str(onnx_model), str(tmp_path / "big.png"), str(folder)]
    assert run_embed(_parse(add_embed_arguments, [*argv, "--output", str(output)])) == 0

    features = np.load(output)
    crops = np.stack([cv2.resize(big, (64, 128)), *synthetic_crops[:3]])
    np.testing.assert_allclose(features, Encoder(onnx_model).encode(crops), atol=1e-5)


def test_embed_prints_without_output(onnx_model, synthetic_crops, tmp_path, capsys):
    cv2.imwrite(str(tmp_path / "a.png"), synthetic_crops[0])
    args = _parse(add_embed_arguments, ["--model", str(onnx_model), str(tmp_path / "a.png")])
    assert run_embed(args) == 0
    line = capsys.readouterr().out.strip().split()
    assert line[0].endswith("a.png") and len(line) == 129


def test_embed_names_unreadable_images(onnx_model, tmp_path):
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    args = _parse(add_embed_arguments, ["--model", str(onnx_model), str(tmp_path / "bad.jpg")])
    with pytest.raises(InputError, match="bad.jpg"):
        run_embed(args)
    args = _parse(add_embed_arguments, ["--model", str(onnx_model), str(tmp_path / "none.jpg")])
    with pytest.raises(InputError, match="none.jpg"):
        run_embed(args)
