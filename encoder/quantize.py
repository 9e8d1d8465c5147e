"""Static int8 quantisation of an exported ONNX model with ONNX Runtime, calibrated on crops.

QDQ format, per-channel int8 weights, uint8 activations, MinMax calibration; only the
convolutions are quantised. ELU, the residual additions, the normalisation and the dense layer
stay float: the dense layer costs 2 of the network's 590 MFLOP per crop but was where int8
lost most (on the main job's model and real MOT17 crops, keeping it float raised the min cosine
to fp32 from 0.9991 to 0.9995). The
result is an ordinary .onnx file with the same `images` -> `features` contract, so `Encoder`
loads it unchanged. Check its fidelity with `cosine_to_reference` before relying on it: the
benchmark (scripts/bench_encoder.py --int8) reports it on held-out crops.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from core.atomic import write_bytes_atomic
from core.contract import IMAGE_SHAPE, INPUT_NAME
from encoder.crops import InputError
from encoder.model_card import read_model_card, write_model_card

CALIBRATION_BATCH = 16


def quantise_int8(onnx_path: str | Path, calibration_crops: np.ndarray, output: str | Path) -> Path:
    """Write an int8 copy of `onnx_path` to `output`, calibrated on (N, 128, 64, 3) uint8 crops."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    crops = np.asarray(calibration_crops)
    if (
        crops.ndim != 4
        or crops.shape[1:] != IMAGE_SHAPE
        or crops.dtype != np.uint8
        or not len(crops)
    ):
        raise InputError(
            f"Calibration crops must be a non-empty N x 128 x 64 x 3 uint8 array; got "
            f"{crops.shape} {crops.dtype}.",
            "Pass typical person crops (a few hundred) cut with encoder.crops.crop_boxes.",
        )

    class Crops(CalibrationDataReader):
        def __init__(self):
            self.batches = iter(
                {INPUT_NAME: crops[i : i + CALIBRATION_BATCH]}
                for i in range(0, len(crops), CALIBRATION_BATCH)
            )

        def get_next(self):
            return next(self.batches, None)

    output = Path(output)
    with tempfile.TemporaryDirectory() as workdir:
        prepared = Path(workdir) / "prepared.onnx"
        quantised = Path(workdir) / "quantised.onnx"
        quant_pre_process(str(onnx_path), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(quantised),
            Crops(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["Conv"],
        )
        write_bytes_atomic(output, quantised.read_bytes())
    _write_card(Path(onnx_path), output, len(crops))
    return output


def _write_card(source: Path, output: Path, calibration_count: int) -> None:
    """The source model's card, carried over with the quantisation recorded."""
    own = ("format", "file", "sha256", "input", "output", "feature_dim")
    record = {k: v for k, v in (read_model_card(source) or {}).items() if k not in own}
    record["quantisation"] = {
        "from": str(source),
        "method": "ONNX Runtime static, QDQ, per-channel int8 weights, uint8 activations, MinMax",
        "quantised_ops": ["Conv"],
        "calibration_crops": calibration_count,
    }
    write_model_card(output, "onnx-int8", record)


def cosine_to_reference(features: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two feature matrices (rows need not be unit length)."""
    dot = np.sum(features * reference, axis=1)
    norms = np.linalg.norm(features, axis=1) * np.linalg.norm(reference, axis=1)
    return dot / np.maximum(norms, 1e-12)
