"""The `Encoder`: input checks, batching, errors for bad model files, ONNX without TensorFlow."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from core.errors import ModelError, ReidError
from encoder import Encoder, InputError
from encoder.crops import crop_boxes
from encoder.openvino_engine import available

# Runs a snippet with every `tensorflow` import failing, as on a host without TensorFlow.
BLOCK_TENSORFLOW = textwrap.dedent(
    """
    import sys

    class BlockTensorFlow:
        def find_spec(self, name, path=None, target=None):
            if name == "tensorflow" or name.startswith(("tensorflow.", "keras", "tf2onnx")):
                raise ImportError(f"{name} is blocked in this test")
            return None

    sys.meta_path.insert(0, BlockTensorFlow())
    """
)


def _run_without_tensorflow(code: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", BLOCK_TENSORFLOW + textwrap.dedent(code), *map(str, args)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=os.getcwd()),
    )


def test_onnx_encoder_runs_without_tensorflow(onnx_model, synthetic_crops, tmp_path):
    np.save(tmp_path / "crops.npy", synthetic_crops)
    result = _run_without_tensorflow(
        """
        import numpy as np
        import encoder
        from encoder import Encoder
        model = Encoder(sys.argv[1], batch_size=5)
        features = model.encode(np.load(sys.argv[2]))
        np.save(sys.argv[3], features)
        assert not any(m.split(".")[0] in ("tensorflow", "keras") for m in sys.modules)
        try:
            import tensorflow
        except ImportError:
            print("blocked")
        """,
        onnx_model,
        tmp_path / "crops.npy",
        tmp_path / "features.npy",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "blocked" in result.stdout
    assert np.load(tmp_path / "features.npy").shape == (len(synthetic_crops), 128)


def test_frozen_graph_without_tensorflow_says_how_to_fix(frozen_graph):
    result = _run_without_tensorflow(
        """
        from encoder import Encoder
        from core.errors import ModelError
        try:
            Encoder(sys.argv[1])
        except ModelError as error:
            print(error)
        """,
        frozen_graph,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "needs TensorFlow" in result.stdout and "--format onnx" in result.stdout


def test_without_openvino_onnx_runs_on_onnx_runtime(onnx_model, synthetic_crops, monkeypatch):
    from encoder import openvino_engine

    monkeypatch.setattr(openvino_engine, "available", lambda: False)
    encoder = Encoder(onnx_model)
    assert (encoder.backend, encoder.precision) == ("onnxruntime", "fp32")
    assert encoder.encode(synthetic_crops[:2]).shape == (2, 128)
    with pytest.raises(ModelError, match="runs on openvino or onnxruntime"):
        Encoder(onnx_model, backend="tensorflow")


@pytest.fixture(scope="module")
def onnx_encoder(onnx_model):
    return Encoder(onnx_model, batch_size=4, threads=1)


def test_attributes(onnx_encoder, onnx_model):
    assert onnx_encoder.dim == 128 and onnx_encoder.image_shape == (128, 64, 3)
    assert onnx_encoder.backend == ("openvino" if available() else "onnxruntime")
    assert onnx_encoder.path == onnx_model
    assert onnx_encoder.precision == "fp32"  # the card has no bf16 fidelity check
    assert onnx_encoder.model_card["sha256"] == onnx_encoder.sha256
    assert onnx_encoder.model_card["sha256_matches"] is True
    assert onnx_encoder.model_card["format"] == "onnx"


def test_batching_does_not_change_features(onnx_encoder, onnx_model, synthetic_crops):
    features = onnx_encoder.encode(synthetic_crops[:10])  # batches of 4, 4 and 2
    assert features.shape == (10, 128) and features.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), 1.0, atol=1e-5)
    whole = Encoder(onnx_model, batch_size=64).encode(synthetic_crops[:10])
    np.testing.assert_allclose(features, whole, atol=1e-5)
    one = onnx_encoder.encode(synthetic_crops[3:4])
    np.testing.assert_allclose(one[0], features[3], atol=1e-5)


def test_features_tell_crops_apart(onnx_encoder, synthetic_crops):
    features = onnx_encoder.encode(synthetic_crops)
    similarity = features @ features.T
    assert np.all(similarity[~np.eye(len(features), dtype=bool)] < 0.9999)


def test_empty_input_gives_empty_features(onnx_encoder):
    assert onnx_encoder.encode(np.zeros((0, 128, 64, 3), np.uint8)).shape == (0, 128)
    assert onnx_encoder.encode([]).shape == (0, 128)
    frame = np.zeros((100, 100, 3), np.uint8)
    assert onnx_encoder.encode_boxes(frame, np.zeros((0, 4))).shape == (0, 128)


@pytest.mark.parametrize(
    "crops",
    [
        np.zeros((2, 64, 128, 3), np.uint8),
        np.zeros((128, 64, 3), np.uint8),
        np.zeros((2, 128, 64, 3), np.float32),
        np.zeros((2, 128, 64), np.uint8),
    ],
)
def test_wrong_crops_give_a_clear_error(onnx_encoder, crops):
    with pytest.raises(InputError, match="N x 128 x 64 x 3 uint8"):
        onnx_encoder.encode(crops)
    assert issubclass(InputError, ReidError)


def test_encode_boxes_crops_like_deep_sort(onnx_encoder):
    frame = np.random.default_rng(3).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    boxes = np.array([[10.5, 20.2, 40.0, 100.0], [300.0, 200.0, 50.0, 80.0], [5, 5, 0, 0]])
    crops, valid = crop_boxes(frame, boxes)
    assert valid.tolist() == [True, True, False]
    np.testing.assert_allclose(
        onnx_encoder.encode_boxes(frame, boxes), onnx_encoder.encode(crops), atol=1e-6
    )


def test_model_file_errors_name_the_file_and_the_fix(tmp_path, onnx_model):
    with pytest.raises(ModelError, match="No model at .*missing.onnx"):
        Encoder(tmp_path / "missing.onnx")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"this is not a model")
    with pytest.raises(ModelError, match="broken.onnx") as error:
        Encoder(broken)
    assert "reid export" in error.value.fix
    with pytest.raises(ModelError, match="not a SavedModel"):
        Encoder(tmp_path)
    other = tmp_path / "weights.h5"
    other.write_bytes(b"")
    with pytest.raises(ModelError, match="Cannot tell"):
        Encoder(other)
    with pytest.raises(ModelError, match="runs on openvino or onnxruntime"):
        Encoder(onnx_model, backend="tensorflow")
    with pytest.raises(ModelError, match="Unknown backend"):
        Encoder(onnx_model, backend="tensorrt")


def test_onnx_of_another_shape_is_refused(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Cast", ["images"], ["features"], to=TensorProto.FLOAT)],
        "other",
        [helper.make_tensor_value_info("images", TensorProto.UINT8, ["n", 10])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["n", 10])],
    )
    path = tmp_path / "other.onnx"
    onnx.save(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8),
        str(path),
    )
    with pytest.raises(ModelError, match="an appearance model takes"):
        Encoder(path)


def test_broken_frozen_graph_is_refused(tmp_path):
    pytest.importorskip("tensorflow")
    path = tmp_path / "broken.pb"
    path.write_bytes(b"\xff\xfe garbage")
    with pytest.raises(ModelError, match="broken.pb"):
        Encoder(path)


def test_int8_quantisation_keeps_features_close(onnx_model, synthetic_crops, tmp_path):
    pytest.importorskip("onnx")
    from encoder.quantize import cosine_to_reference, quantise_int8

    calibration = np.concatenate([synthetic_crops[:8], synthetic_crops[:8, :, ::-1]])
    output = quantise_int8(onnx_model, calibration, tmp_path / "model.int8.onnx")
    int8 = Encoder(output)
    assert int8.model_card["format"] == "onnx-int8" and int8.model_card["sha256_matches"]
    assert int8.model_card["quantisation"]["calibration_crops"] == 16
    cosine = cosine_to_reference(
        int8.encode(synthetic_crops[8:]), Encoder(onnx_model).encode(synthetic_crops[8:])
    )
    assert cosine.min() >= 0.99
    with pytest.raises(InputError):
        quantise_int8(onnx_model, np.zeros((0, 128, 64, 3), np.uint8), tmp_path / "x.onnx")
