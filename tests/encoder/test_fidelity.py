"""Export measures the faster engines' fidelity to fp32 and keeps it in the model card."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import ModelError
from encoder import Encoder, fidelity
from encoder.export import export
from encoder.model_card import read_model_card, sha256_of, update_model_card
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
            str(model), "--check-data", str(small_market), "--no-int8"]  # fmt: skip
    assert main(argv) == 0
    card = read_model_card(model)
    check = card["fidelity"]["openvino-bf16"]
    assert check["crops"] > 20 and check["min_cosine"] >= 0.999 and check["passes"]
    assert card["fidelity"]["crops_from"] == str(small_market)
    assert "openvino-bf16: min cosine" in capsys.readouterr().out
    encoder = Encoder(model)
    assert (encoder.backend, encoder.precision) == ("openvino", "bf16")
    assert not (tmp_path / "model.int8.onnx").exists()


def _bar(monkeypatch, value: float) -> None:
    """Set the fidelity bar for the export's check and the Encoder's choice alike."""
    from encoder import runtime

    monkeypatch.setattr(fidelity, "FIDELITY_BAR", value)
    monkeypatch.setattr(runtime, "FIDELITY_BAR", value)


def test_export_writes_a_checked_int8_twin_that_auto_then_runs(
    random_checkpoint, small_market, tmp_path, monkeypatch
):
    # An untrained network quantises worse than a trained one (about 0.999): the bar is
    # lowered so that the twin passes, whatever this machine's rounding.
    _bar(monkeypatch, 0.99)
    model = tmp_path / "model.onnx"
    card = export(str(random_checkpoint), str(model), "onnx", check_data=str(small_market))
    twin = tmp_path / "model.int8.onnx"
    check = card["fidelity"]["int8"]
    assert twin.is_file() and check["file"] == twin.name and check["passes"]
    assert check["sha256"] == sha256_of(twin) and check["measured_on"]
    twin_card = read_model_card(twin)
    assert twin_card["fidelity"]["int8"]["min_cosine"] >= 0.99
    assert twin_card["quantisation"]["calibration_crops"] > 10
    crops = fidelity.crops_from(small_market)[:8]
    encoder = Encoder(model)
    assert encoder.precision == "int8" and encoder.engine_file == twin
    reference = Encoder(model, backend="onnxruntime", precision="fp32").encode(crops)
    assert np.sum(encoder.encode(crops) * reference, axis=1).min() > 0.99
    # A twin the card does not vouch for (another checksum) is not picked, unless insisted on.
    update_model_card(model, fidelity={**card["fidelity"], "int8": {**check, "sha256": "0"}})
    assert Encoder(model).precision != "int8"
    assert Encoder(model, precision="int8").engine_file == twin


def test_the_twin_is_vouched_for_on_the_engine_that_measured_it(
    random_checkpoint, small_market, tmp_path, monkeypatch
):
    from encoder import openvino_engine

    _bar(monkeypatch, 0.99)
    with monkeypatch.context() as without_openvino:
        without_openvino.setattr(openvino_engine, "available", lambda: False)
        model = tmp_path / "model.onnx"
        card = export(str(random_checkpoint), str(model), "onnx", check_data=str(small_market))
        assert card["fidelity"]["int8"]["measured_on"].startswith("onnxruntime")
        encoder = Encoder(model)
        assert (encoder.backend, encoder.precision) == ("onnxruntime", "int8")
    if available():
        assert Encoder(model).precision != "int8"  # OpenVINO's int8 was not measured


def test_an_int8_twin_below_the_bar_is_refused_and_removed(
    random_checkpoint, small_market, tmp_path, monkeypatch
):
    _bar(monkeypatch, 0.999999)
    model = tmp_path / "model.onnx"
    card = export(str(random_checkpoint), str(model), "onnx", check_data=str(small_market))
    assert not card["fidelity"]["int8"]["passes"] and "not kept" in card["fidelity"]["int8"]["why"]
    assert not (tmp_path / "model.int8.onnx").exists()
    assert Encoder(model).precision != "int8"
    with pytest.raises(ModelError, match="no int8 twin"):
        Encoder(model, precision="int8")
    with pytest.raises(ModelError, match="not kept"):
        export(str(random_checkpoint), str(model), "onnx", check_data=str(small_market), int8=True)


def test_int8_needs_crops(random_checkpoint, tmp_path):
    with pytest.raises(ModelError, match="needs crops"):
        export(str(random_checkpoint), str(tmp_path / "m.onnx"), "onnx", int8=True)
