"""Export measures the faster engines' fidelity to fp32 and keeps it in the model card."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import ModelError
from encoder import Encoder, fidelity
from encoder.export import export
from encoder.model_card import read_model_card
from encoder.openvino_engine import available, cpu_capabilities

needs_bf16 = pytest.mark.skipif(
    not available() or "BF16" not in cpu_capabilities(), reason="no OpenVINO bf16 here"
)


def test_spread_picks_evenly_and_keeps_short_lists():
    assert fidelity.spread(list(range(10)), 3) == [0, 4, 9]
    assert fidelity.spread([1, 2], 5) == [1, 2]


def test_crops_come_from_a_dataset_or_from_mot_boxes(small_market, synthetic_mot):
    crops = fidelity.crops_from(small_market)
    assert crops.dtype == np.uint8 and crops.shape[1:] == (128, 64, 3) and len(crops) > 20
    boxes = fidelity.crops_from(synthetic_mot)
    assert boxes.shape[1:] == (128, 64, 3) and len(boxes) == fidelity.MAX_CROPS


@needs_bf16
def test_onnx_export_records_bf16_fidelity_and_the_encoder_then_uses_bf16(
    random_checkpoint, small_market, tmp_path, capsys
):
    from reid.cli import main

    model = tmp_path / "model.onnx"
    argv = ["export", "--checkpoint", str(random_checkpoint), "--format", "onnx", "--output",
            str(model), "--check-data", str(small_market)]  # fmt: skip
    assert main(argv) == 0
    card = read_model_card(model)
    check = card["fidelity"]["openvino-bf16"]
    assert check["crops"] > 20 and check["min_cosine"] >= 0.999 and check["passes"]
    assert card["fidelity"]["crops_from"] == str(small_market)
    assert "openvino-bf16: min cosine" in capsys.readouterr().out
    encoder = Encoder(model)
    assert (encoder.backend, encoder.precision) == ("openvino", "bf16")
    assert not (tmp_path / "model.int8.onnx").exists()


def test_int8_export_writes_a_checked_twin(random_checkpoint, small_market, tmp_path, monkeypatch):
    # An untrained network quantises worse than a trained one; the bar is lowered to see the
    # twin written (the real bar's refusal is the next test).
    monkeypatch.setattr(fidelity, "FIDELITY_BAR", 0.99)
    model = tmp_path / "model.onnx"
    card = export(str(random_checkpoint), str(model), "onnx", check_data=str(small_market),
                  int8=True)  # fmt: skip
    twin = tmp_path / "model.int8.onnx"
    assert twin.is_file() and card["fidelity"]["int8"]["file"] == twin.name
    twin_card = read_model_card(twin)
    assert twin_card["fidelity"]["int8"]["min_cosine"] >= 0.99
    assert twin_card["quantisation"]["calibration_crops"] > 10
    assert Encoder(twin).encode(fidelity.crops_from(small_market)[:4]).shape == (4, 128)


def test_an_int8_copy_below_the_bar_is_refused_and_removed(onnx_model, small_market, tmp_path):
    # This untrained network's int8 copy falls below cosine 0.999 (about 0.998).
    twin = tmp_path / "model.int8.onnx"
    with pytest.raises(ModelError, match="not kept"):
        fidelity.check_int8(onnx_model, fidelity.crops_from(small_market), twin)
    assert not twin.exists()


def test_int8_needs_crops(random_checkpoint, tmp_path):
    with pytest.raises(ModelError, match="needs crops"):
        export(str(random_checkpoint), str(tmp_path / "m.onnx"), "onnx", int8=True)
