"""The OpenVINO engine: picked by default for .onnx, faithful to fp32, bf16 only when vouched."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from core.errors import ModelError
from encoder import Encoder
from encoder.model_card import update_model_card
from encoder.openvino_engine import available, cpu_capabilities

pytestmark = pytest.mark.skipif(not available(), reason="openvino is not installed")


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_auto_runs_onnx_on_openvino_in_fp32_equal_to_onnx_runtime(onnx_model, synthetic_crops):
    auto = Encoder(onnx_model)
    assert (auto.backend, auto.precision) == ("openvino", "fp32")
    reference = Encoder(onnx_model, backend="onnxruntime").encode(synthetic_crops)
    features = auto.encode(synthetic_crops)
    assert features.shape == (16, 128) and features.dtype == np.float32
    assert _cosine(features, reference).min() > 0.99999
    assert auto.encode(synthetic_crops[:1]).shape == (1, 128)  # any batch size


@pytest.mark.skipif("BF16" not in cpu_capabilities(), reason="no bfloat16 on this CPU")
def test_bf16_is_chosen_only_when_the_card_vouches_for_it(onnx_model, synthetic_crops, tmp_path):
    model = tmp_path / "model.onnx"
    shutil.copy(onnx_model, model)
    shutil.copy(onnx_model.with_name("model.onnx.json"), tmp_path / "model.onnx.json")
    update_model_card(model, fidelity={"openvino-bf16": {"min_cosine": 0.9981}})
    assert Encoder(model).precision == "fp32"  # below the bar
    update_model_card(model, fidelity={"openvino-bf16": {"min_cosine": 0.99993}})
    bf16 = Encoder(model)
    assert (bf16.backend, bf16.precision) == ("openvino", "bf16")
    reference = Encoder(model, backend="onnxruntime").encode(synthetic_crops)
    assert _cosine(bf16.encode(synthetic_crops), reference).min() > 0.999
    assert Encoder(model, precision="fp32").precision == "fp32"  # asked for


def test_a_tensorflow_model_cannot_be_forced_onto_openvino(frozen_graph):
    with pytest.raises(ModelError, match="runs on tensorflow"):
        Encoder(frozen_graph, backend="openvino")


def test_a_broken_onnx_file_is_refused_clearly(tmp_path):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="OpenVINO cannot load"):
        Encoder(broken, backend="openvino")


def test_an_unwritable_cache_folder_only_costs_the_cache(onnx_model, tmp_path, monkeypatch):
    from encoder.openvino_engine import cache_dir

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("REID_CACHE_DIR", str(blocker))
    assert cache_dir() is None
    assert Encoder(onnx_model).encode(np.zeros((1, 128, 64, 3), np.uint8)).shape == (1, 128)
    monkeypatch.setenv("REID_CACHE_DIR", str(tmp_path / "cache"))
    Encoder(onnx_model)
    assert any((tmp_path / "cache" / "openvino").iterdir())  # the compiled blob is kept
