"""How faithful a faster engine or precision is to fp32, measured on crops and kept in the card.

`reid export --format onnx` measures, on held-out crops, the cosine similarity of OpenVINO's
bf16 features (and of an int8 copy, when one is written) to ONNX Runtime's fp32 features, and
writes the figures into the model card's `fidelity`. `Encoder`'s "auto" precision only picks
bf16 when the card says it kept every crop within `FIDELITY_BAR` of fp32.

Crops come from a folder the user names (a Market-1501 / MARS / folder dataset, or a
MOTChallenge folder whose gt or det boxes are cut from the frames) or, by default, from the
dataset the checkpoint was trained on (its test split when it has one).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.errors import DatasetError
from encoder.crops import crop_boxes, read_crop
from encoder.runtime import FIDELITY_BAR, Encoder

MAX_CROPS = 256


def spread(items, count: int):
    """`count` items spread evenly over `items` (all of them when fewer)."""
    if len(items) <= count:
        return list(items)
    return [items[i] for i in np.linspace(0, len(items) - 1, count).round().astype(int)]


def dataset_crops(kind: str, data_dir: str | Path, count: int = MAX_CROPS) -> np.ndarray:
    """Crops of a re-id dataset: its query and gallery images when it has them, else training."""
    from training.datasets import read_dataset

    dataset = read_dataset(kind, data_dir)
    splits = [s for s in (dataset.query, dataset.gallery) if s is not None and len(s)]
    paths = [str(p) for s in (splits or [dataset.train]) for p in s.paths]
    return np.stack([read_crop(p) for p in spread(paths, count)])


def mot_crops(mot_dir: str | Path, count: int = MAX_CROPS) -> np.ndarray:
    """Crops of the boxes (gt, else det) of a MOTChallenge folder's frames, deep_sort's cut."""
    import cv2

    boxes = []
    for sequence in sorted(p for p in Path(mot_dir).iterdir() if (p / "img1").is_dir()):
        for table in (sequence / "gt" / "gt.txt", sequence / "det" / "det.txt"):
            if table.is_file():
                rows = np.loadtxt(table, delimiter=",", ndmin=2)
                frames = {int(p.stem): p for p in (sequence / "img1").glob("*.jpg")}
                boxes += [(frames[int(r[0])], r[2:6]) for r in rows if int(r[0]) in frames]
                break
    crops = []
    for path, box in spread(boxes, count):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is not None:
            crop, valid = crop_boxes(image, np.asarray(box)[None])
            if valid[0]:
                crops.append(crop[0])
    if not crops:
        raise DatasetError(f"No box of {mot_dir} gives a crop.", "Check its frames and boxes.")
    return np.stack(crops)


def crops_from(folder: str | Path, kind: str | None = None) -> np.ndarray:
    """Crops of a MOTChallenge folder, or of a dataset of `kind` (default market1501)."""
    folder = Path(folder).expanduser()
    if any((p / "img1").is_dir() for p in folder.iterdir() if p.is_dir()):
        return mot_crops(folder)
    return dataset_crops(kind or "market1501", folder)


def cosine_to_fp32(features: np.ndarray, reference: np.ndarray) -> dict:
    """Min and mean row-wise cosine similarity of features to the fp32 reference."""
    from encoder.quantize import cosine_to_reference

    cosine = cosine_to_reference(features, reference)
    return {
        "min_cosine": round(float(cosine.min()), 6),
        "mean_cosine": round(float(cosine.mean()), 6),
        "crops": int(len(cosine)),
        "passes": bool(cosine.min() >= FIDELITY_BAR),
    }


def measure(model: str | Path, crops: np.ndarray, variants: dict[str, dict]) -> dict:
    """{variant: cosine_to_fp32} of each Encoder setting in `variants` against fp32 ONNX Runtime.

    variants: name -> Encoder keyword arguments (path included), e.g.
    {"openvino-bf16": {"path": model, "backend": "openvino", "precision": "bf16"}}.
    """
    reference = Encoder(model, backend="onnxruntime", precision="fp32").encode(crops)
    return {
        name: cosine_to_fp32(Encoder(**kw).encode(crops), reference)
        for name, kw in variants.items()
    }


def training_crops(run_config: dict | None) -> tuple[np.ndarray, str] | None:
    """Crops of the first dataset a run trained on (config.json's), if it is still there."""
    config = (run_config or {}).get("config") or {}
    dirs, kinds = config.get("data_dir"), config.get("dataset")
    if not dirs:
        return None
    folder = dirs if isinstance(dirs, str) else dirs[0]
    kind = kinds if isinstance(kinds, str) else (kinds or ["market1501"])[0]
    if not Path(folder).is_dir():
        return None
    return dataset_crops(kind, folder), f"{kind} {folder}"


def fast_variants(model: str | Path) -> dict[str, dict]:
    """The faster settings of `model` this machine can run: OpenVINO bf16 where the CPU has it."""
    from encoder.openvino_engine import available, cpu_capabilities

    if available() and "BF16" in cpu_capabilities():
        return {"openvino-bf16": {"path": model, "backend": "openvino", "precision": "bf16"}}
    return {}


def int8_variant(twin: str | Path) -> dict:
    """How `Encoder` runs an int8 twin: OpenVINO where installed (its float remainder in bf16 on
    CPUs that have it), else ONNX Runtime."""
    from encoder.openvino_engine import available, float_precision

    if not available():
        return {"path": twin, "backend": "onnxruntime", "precision": "fp32"}
    return {"path": twin, "backend": "openvino", "precision": float_precision()}


def check_int8(model: Path, crops: np.ndarray, output: Path) -> dict:
    """Quantise `model` to int8 at `output`, calibrated on half the crops and measured (on the
    engine that will run it) on the other half; a copy below the bar is removed and refused."""
    from core.errors import ModelError
    from encoder.model_card import sha256_of
    from encoder.quantize import quantise_int8

    calibration, held_out = crops[0::2], crops[1::2]
    quantise_int8(model, calibration, output)
    variant = int8_variant(output)
    result = measure(model, held_out, {"int8": variant})["int8"]
    if not result["passes"]:
        output.unlink(missing_ok=True)
        raise ModelError(
            f"The int8 model's features fall to cosine {result['min_cosine']:.4f} of fp32 on "
            f"held-out crops, below {FIDELITY_BAR}; it was not kept.",
            "Use the fp32 model (OpenVINO runs it in bf16 where that stays faithful), or "
            "calibrate on crops closer to your footage with --check-data.",
        )
    engine = f"{variant['backend']} ({variant['precision']} for the float layers)"
    return {**result, "file": output.name, "sha256": sha256_of(output), "measured_on": engine}
