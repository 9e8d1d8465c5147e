"""`reid freeze`, `reid export` and `reid embed`: thin shells around export and `Encoder`.

`reid embed` resizes each whole image to 64 x 128 (width x height) with bilinear interpolation,
as deep_sort resizes a crop; it treats each image as an already cut person crop.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from core.atomic import write_bytes_atomic
from core.io import is_image_name, npy_bytes
from encoder.export import FORMATS as EXPORT_FORMATS
from encoder.runtime import BACKENDS, PRECISION_HELP, PRECISIONS


def add_freeze_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint",
        required=True,
        help="run folder, its checkpoints/ folder, a ckpt-N prefix, "
        "or a reference (cosine_metric_learning) TF1 checkpoint",
    )
    parser.add_argument("--output", required=True, help="frozen graph to write (model.pb)")


def run_freeze(args: argparse.Namespace) -> int:
    from encoder.export import export

    card = export(args.checkpoint, args.output, "frozen")
    _report(args.output, card)
    print(
        "deep_sort loads it unchanged: "
        f"python tools/generate_detections.py --model {args.output} --mot_dir ..."
    )
    return 0


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    from encoder.export import DEFAULT_OPSET

    parser.add_argument("--checkpoint", required=True, help="as for `reid freeze`")
    parser.add_argument(
        "--format",
        choices=EXPORT_FORMATS,
        required=True,
        help="savedmodel (folder), onnx (file) or frozen (deep_sort .pb, as `reid freeze`)",
    )
    parser.add_argument("--output", required=True, help="file (onnx, frozen) or folder to write")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET, help="ONNX opset (13 or newer)")
    parser.add_argument(
        "--check-data",
        default=None,
        help="onnx: crops to measure the faster engines' fidelity on (a dataset folder or a "
        "MOTChallenge folder; default: the run's training data)",
    )
    parser.add_argument(
        "--check-dataset", default=None, help="kind of --check-data (default market1501)"
    )
    parser.add_argument(
        "--int8",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="onnx: also write OUTPUT's .int8.onnx twin, calibrated on those crops, which the "
        "Encoder runs by default when it stays within cosine 0.999 of fp32 (default: written "
        "when there are crops, kept only above the bar; --int8 makes a refusal an error)",
    )


def run_export(args: argparse.Namespace) -> int:
    from encoder.export import export

    card = export(
        args.checkpoint,
        args.output,
        args.format,
        opset=args.opset,
        check_data=args.check_data,
        check_kind=args.check_dataset,
        int8=args.int8,
    )
    _report(args.output, card)
    for name, check in (card.get("fidelity") or {}).items():
        if isinstance(check, dict) and "min_cosine" in check:
            verdict = "passes" if check["passes"] else "below 0.999, not used"
            print(f"  {name}: min cosine {check['min_cosine']:.5f} to fp32 on "
                  f"{check['crops']} crops ({verdict})")  # fmt: skip
    return 0


def _report(output: str, card: dict) -> None:
    from encoder.model_card import card_path

    print(
        f"Wrote {output} ({card['format']}, sha256 {card['sha256'][:12]}...) from "
        f"{card['source_checkpoint']}; model card {card_path(output)}."
    )


def add_embed_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help=".onnx, .pb or SavedModel folder")
    parser.add_argument(
        "images",
        nargs="+",
        metavar="IMAGES",
        help="person crops (any size, resized to 64 x 128) or folders of them",
    )
    parser.add_argument(
        "--output",
        default=None,
        help="write an N x 128 float32 .npy (rows in argument order, folders sorted by name); "
        "without it the features are printed, one image per line",
    )
    parser.add_argument("--backend", choices=BACKENDS, default="auto")
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help=PRECISION_HELP,
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads")


def image_paths(arguments: list[str]) -> list[Path]:
    """Files as given, folders expanded to their images in name order."""
    from encoder.crops import InputError

    paths: list[Path] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if is_image_name(p.name))
            if not found:
                raise InputError(f"The folder {path} holds no images.", "Pass image files.")
            paths.extend(found)
        elif path.is_file():
            paths.append(path)
        else:
            raise InputError(f"No image at {path}.", "Check the path.")
    return paths


def run_embed(args: argparse.Namespace) -> int:
    from encoder.crops import read_crop
    from encoder.runtime import Encoder

    paths = image_paths(args.images)
    encoder = Encoder(
        args.model,
        backend=args.backend,
        batch_size=args.batch_size,
        threads=args.threads,
        precision=args.precision,
    )
    features = np.empty((len(paths), encoder.dim), np.float32)
    step = max(encoder.batch_size, 1)
    for start in range(0, len(paths), step):
        chunk = paths[start : start + step]
        crops = np.stack([read_crop(path) for path in chunk])
        features[start : start + len(chunk)] = encoder.encode(crops)
        if len(paths) > step:
            print(f"\r{start + len(chunk)}/{len(paths)} images", end="", file=sys.stderr)
    if len(paths) > step:
        print(file=sys.stderr)
    if args.output is None:
        for path, row in zip(paths, features, strict=True):
            print(path, " ".join(f"{v:.6f}" for v in row))
        return 0
    write_bytes_atomic(args.output, npy_bytes(features))
    engine = f"{encoder.backend}, {encoder.precision}"
    print(f"Wrote {len(paths)} x {encoder.dim} features to {args.output} ({engine}).")
    return 0
