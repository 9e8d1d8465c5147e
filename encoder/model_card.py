"""The model card: a JSON file beside each exported model saying what it takes and gives.

`model.pb` has `model.pb.json`, `model.onnx` has `model.onnx.json`, a SavedModel folder
`saved/` has `saved.json` beside it. The card records the input contract, the feature
dimension, the source checkpoint, the model's sha256 (for a SavedModel folder: over its
files' relative paths and contents, in sorted order), the training configuration and the
evaluation results of the run when known, and, once `reid calibrate` has run, the tracker's
appearance gate fitted to the model (`calibration`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from core.atomic import write_json_atomic
from core.contract import INPUT_CONTRACT, OUTPUT_CONTRACT


def card_path(model_path: str | Path) -> Path:
    """Where the card of `model_path` lives."""
    path = Path(model_path)
    return path.with_name(path.name + ".json")


def sha256_of(model_path: str | Path) -> str:
    """sha256 of a model file, or of a model folder's files in a stable order."""
    path = Path(model_path)
    digest = hashlib.sha256()
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
            _update_from_file(digest, file)
    else:
        _update_from_file(digest, path)
    return digest.hexdigest()


def _update_from_file(digest, file: Path) -> None:
    with file.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)


def write_model_card(model_path: str | Path, model_format: str, source: dict) -> dict:
    """Write the card beside `model_path`; `source` describes the checkpoint and its run."""
    card = {
        "format": model_format,
        "file": Path(model_path).name,
        "sha256": sha256_of(model_path),
        "input": INPUT_CONTRACT,
        "output": OUTPUT_CONTRACT,
        "feature_dim": OUTPUT_CONTRACT["shape"][1],
        **source,
    }
    write_json_atomic(card_path(model_path), card)
    return card


def read_model_card(model_path: str | Path) -> dict | None:
    """The card beside `model_path`, or None when there is none or it is unreadable."""
    try:
        card = json.loads(card_path(model_path).read_text())
    except (OSError, ValueError):
        return None
    return card if isinstance(card, dict) else None


def calibrated_gate(card: dict | None) -> float | None:
    """The `max_cosine_distance` that `reid calibrate` fitted to the model, if the card has one."""
    gate = ((card or {}).get("calibration") or {}).get("max_cosine_distance")
    return float(gate) if gate is not None else None


def update_model_card(model_path: str | Path, **entries) -> dict:
    """Add or replace top-level entries of the card beside `model_path` (written atomically)."""
    card = read_model_card(model_path)
    if card is None:
        card = {"file": Path(model_path).name, "sha256": sha256_of(model_path)}
    card.update(entries)
    write_json_atomic(card_path(model_path), card)
    return card
