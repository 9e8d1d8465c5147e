"""`reid generate-detections`, `reid track`, `reid mot-eval`, `reid dataset-from-mot`.

Each command is a pair `add_<name>_arguments(parser)` / `run_<name>(args) -> int`. Options take
deep_sort's own spellings (`--mot_dir`, `--output_dir`, `--min_confidence`, ...) as well as
dashed ones (`--mot-dir`), so deep_sort command lines keep working.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from core.atomic import write_json_atomic
from core.errors import DatasetError, ModelError, ReidError
from deep_sort_bridge import mot_io

API_KEY_ENV = "REID_API_KEY"


def _option(parser: argparse.ArgumentParser, name: str, **kwargs) -> None:
    """Add `--name_with_underscores` with its dashed twin as one option."""
    spellings = [f"--{name}"]
    if "_" in name:
        spellings.append(f"--{name.replace('_', '-')}")
    parser.add_argument(*spellings, dest=name, **kwargs)


def _progress_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-progress", action="store_true", help="do not show progress bars")


# ---------------------------------------------------------------------------------------------
# generate-detections


def add_generate_detections_arguments(parser: argparse.ArgumentParser) -> None:
    _option(parser, "model", help="appearance model: .onnx, frozen graph .pb or SavedModel folder")
    parser.add_argument(
        "--remote", metavar="URL", help="use the embedding service at URL instead of --model"
    )
    _option(
        parser,
        "api_key_env",
        default=API_KEY_ENV,
        metavar="NAME",
        help="environment variable holding the service's API key (default %(default)s)",
    )
    _option(parser, "mot_dir", required=True, help="MOTChallenge folder (e.g. MOT17/train)")
    _option(
        parser,
        "detection_dir",
        default=None,
        help="other detections, laid out as <sequence>/det/det.txt (default: the MOT folder's)",
    )
    _option(parser, "output_dir", default="detections", help="where <sequence>.npy files go")
    parser.add_argument("--overwrite", action="store_true", help="redo existing outputs")
    _option(
        parser,
        "batch_size",
        type=int,
        default=128,
        help="crops per encoder call, gathered across frames (larger runs faster on CPU)",
    )
    parser.add_argument("--backend", choices=("auto", "onnxruntime", "tensorflow"), default="auto")
    parser.add_argument("--threads", type=int, default=None, help="encoder threads")
    parser.add_argument(
        "--precision",
        choices=("fp32", "bf16"),
        default="fp32",
        help="bf16 runs a frozen .pb in bfloat16 on CPUs that have it (faster, cosine ~0.995)",
    )
    parser.add_argument(
        "--summary",
        default=None,
        help="JSON summary path (default OUTPUT/generate_detections.json)",
    )
    _progress_option(parser)


def _crop_encoder(args: argparse.Namespace):
    """The function crops -> features, and a description of it for the summary."""
    if args.batch_size < 1:
        raise ReidError("--batch-size must be at least 1.", "Pass a positive batch size.")
    if args.remote and args.model:
        raise ReidError("Pass either --model or --remote, not both.", "Drop one of them.")
    if args.remote:
        try:
            from serving.client import EmbeddingClient
        except ImportError as error:
            raise ReidError(
                f"The service client cannot be loaded ({error}).",
                "Install the serving extra: pip install 'reid-deepsort[serve]'.",
            ) from None
        client = EmbeddingClient(args.remote, api_key=os.environ.get(args.api_key_env) or None)
        return client.embed, {"model": args.remote, "backend": "remote"}
    if not args.model:
        raise ModelError(
            "No appearance model given.",
            "Pass --model model.onnx (or a frozen .pb / SavedModel), or --remote URL of "
            "`reid serve`.",
        )
    from encoder import Encoder

    encoder = Encoder(
        args.model,
        backend=args.backend,
        batch_size=args.batch_size,
        threads=args.threads,
        precision=args.precision,
    )
    description = {"model": str(args.model), "backend": encoder.backend}
    return encoder.encode, {**description, "precision": encoder.precision}


def run_generate_detections(args: argparse.Namespace) -> int:
    from deep_sort_bridge.generate import generate_detections

    encode, description = _crop_encoder(args)
    summary = generate_detections(
        encode,
        args.mot_dir,
        args.output_dir,
        args.detection_dir,
        overwrite=args.overwrite,
        batch_size=args.batch_size,
        progress=not args.no_progress,
        summary_path=args.summary,
        extra=description,
    )
    print(
        f"{summary['sequences']} sequence(s) encoded ({summary['skipped_sequences']} skipped): "
        f"{summary['frames']} frames, {summary['written']} of {summary['detections']} "
        f"detections with features ({summary['missing_frame_detections']} on missing frames), "
        f"{summary['frames_per_second']:.1f} frames/s. Output: {args.output_dir}"
    )
    return 0


# ---------------------------------------------------------------------------------------------
# track


def add_track_arguments(parser: argparse.ArgumentParser) -> None:
    from deep_sort_bridge.tracking import TrackerConfig

    d = TrackerConfig()
    _option(parser, "mot_dir", required=True, help="MOTChallenge folder (frames and det/)")
    parser.add_argument(
        "--detections",
        "--detection_dir",
        "--detection-dir",
        dest="detections",
        default=None,
        help="folder of <sequence>.npy from generate-detections (without appearance: "
        "optional, det/det.txt is used)",
    )
    _option(parser, "output_dir", default="results", help="where <sequence>.txt results go")
    parser.add_argument(
        "--appearance",
        choices=("on", "off"),
        default="on",
        help="off: associate by box overlap only (deep_sort without embeddings)",
    )
    _option(parser, "min_confidence", type=float, default=d.min_confidence)
    _option(parser, "min_detection_height", type=float, default=d.min_detection_height)
    _option(parser, "nms_max_overlap", type=float, default=d.nms_max_overlap, help="1.0: no NMS")
    _option(parser, "max_cosine_distance", type=float, default=d.max_cosine_distance)
    _option(parser, "nn_budget", type=int, default=d.nn_budget, help="0: no budget")
    _option(parser, "max_iou_distance", type=float, default=d.max_iou_distance)
    _option(parser, "max_age", type=int, default=d.max_age)
    _option(parser, "n_init", type=int, default=d.n_init)
    parser.add_argument("--render", metavar="DIR", help="also draw the tracks into DIR")
    _progress_option(parser)


def tracker_config(args: argparse.Namespace):
    from deep_sort_bridge.tracking import TrackerConfig

    checks = (
        (args.max_age >= 1, "--max_age must be at least 1"),
        (args.n_init >= 1, "--n_init must be at least 1"),
        (args.nn_budget >= 0, "--nn_budget must not be negative"),
        (0 <= args.max_iou_distance <= 1, "--max_iou_distance must be between 0 and 1"),
        (0 < args.nms_max_overlap <= 1, "--nms_max_overlap must be in (0, 1]"),
    )
    for ok, message in checks:
        if not ok:
            raise ReidError(f"Invalid tracker setting: {message}.", "Change the option.")
    return TrackerConfig(
        min_confidence=args.min_confidence,
        min_detection_height=args.min_detection_height,
        nms_max_overlap=args.nms_max_overlap,
        max_cosine_distance=args.max_cosine_distance,
        nn_budget=args.nn_budget or None,
        max_iou_distance=args.max_iou_distance,
        max_age=args.max_age,
        n_init=args.n_init,
        appearance=args.appearance == "on",
    )


def _sequence_detections(sequence_dir: Path, detections_dir: Path | None, appearance: bool):
    if detections_dir is not None:
        matrix = mot_io.load_detection_matrix(detections_dir / f"{sequence_dir.name}.npy")
        if appearance and matrix.shape[1] <= mot_io.DETECTION_COLUMNS:
            raise DatasetError(
                f"{detections_dir / sequence_dir.name}.npy has no feature columns.",
                "Run `reid generate-detections` to add them, or track with --appearance off.",
            )
        return matrix
    if appearance:
        raise DatasetError(
            "Tracking with appearance needs the features of generate-detections.",
            "Pass --detections DIR (the --output_dir of `reid generate-detections`), or "
            "track with --appearance off to use det/det.txt alone.",
        )
    return mot_io.read_detections(sequence_dir / "det" / "det.txt")


def run_track(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from deep_sort_bridge.tracking import frame_range, track_sequence

    config = tracker_config(args)
    sequences = mot_io.list_sequences(args.mot_dir)
    detections_dir = Path(args.detections).expanduser() if args.detections else None
    if detections_dir is not None and not detections_dir.is_dir():
        raise DatasetError(
            f"Detections folder {detections_dir} does not exist.",
            "Pass the --output_dir of `reid generate-detections`.",
        )
    output_dir = Path(args.output_dir).expanduser()
    if output_dir.exists() and not output_dir.is_dir():
        raise DatasetError(f"Output path {output_dir} is a file.", "Pass a folder path.")
    entries = []
    for sequence_dir in sequences:
        started = time.perf_counter()
        detections = _sequence_detections(sequence_dir, detections_dir, config.appearance)
        info = mot_io.read_seqinfo(sequence_dir)
        frames = frame_range(detections, list(mot_io.frame_files(info.image_dir)))
        results = track_sequence(detections, frames, config)
        path = output_dir / f"{sequence_dir.name}.txt"
        mot_io.write_results(path, results)
        seconds = time.perf_counter() - started
        entry = {
            "sequence": sequence_dir.name,
            "results": str(path),
            "frames": len(frames),
            "detections": len(detections),
            "tracks": len(np.unique(results[:, 1])),
            "boxes": len(results),
            "seconds": round(seconds, 3),
            "frames_per_second": round(len(frames) / seconds, 1) if seconds > 0 else 0.0,
        }
        if args.render:
            from deep_sort_bridge.render import render_sequence

            entry["render"] = render_sequence(
                sequence_dir, results, args.render, progress=not args.no_progress
            )
        entries.append(entry)
        print(
            f"{sequence_dir.name}: {entry['tracks']} tracks, {entry['boxes']} boxes over "
            f"{entry['frames']} frames -> {path}"
        )
    write_json_atomic(output_dir / "track.json", {"config": asdict(config), "sequences": entries})
    return 0


# ---------------------------------------------------------------------------------------------
# mot-eval


def add_mot_eval_arguments(parser: argparse.ArgumentParser) -> None:
    _option(parser, "mot_dir", required=True, help="MOTChallenge folder with gt/gt.txt")
    parser.add_argument(
        "--results", required=True, help="folder of <sequence>.txt tracking results"
    )
    parser.add_argument(
        "--output", default=None, help="JSON scores (default RESULTS/mot_eval.json)"
    )
    parser.add_argument("--render", metavar="DIR", help="also draw the tracks into DIR")
    _progress_option(parser)


def run_mot_eval(args: argparse.Namespace) -> int:
    from deep_sort_bridge import metrics

    results_dir = Path(args.results).expanduser()
    if not results_dir.is_dir():
        raise DatasetError(
            f"Results folder {results_dir} does not exist.",
            "Pass the --output_dir of `reid track` (it holds <sequence>.txt files).",
        )
    accumulators, missing, no_gt = {}, [], []
    results_of = {}
    for sequence_dir in mot_io.list_sequences(args.mot_dir):
        gt_path = sequence_dir / "gt" / "gt.txt"
        result_path = results_dir / f"{sequence_dir.name}.txt"
        if not gt_path.is_file():
            no_gt.append(sequence_dir.name)
            continue
        if not result_path.is_file():
            missing.append(sequence_dir.name)
            continue
        results = mot_io.read_results(result_path)
        accumulators[sequence_dir.name] = metrics.accumulate(
            mot_io.read_groundtruth(gt_path), results
        )
        results_of[sequence_dir] = results
    if no_gt:
        print(f"warning: no gt/gt.txt in {', '.join(no_gt)}; not scored.", file=sys.stderr)
    if missing:
        print(
            f"warning: no results for {', '.join(missing)} in {results_dir}; not scored.",
            file=sys.stderr,
        )
    if not accumulators:
        raise DatasetError(
            f"Nothing to score: no sequence of {args.mot_dir} has both ground truth and a "
            f"result file in {results_dir}.",
            "Run `reid track` on sequences with gt/gt.txt (e.g. MOT17/train) first.",
        )
    scores = metrics.score(accumulators)
    output = Path(args.output) if args.output else results_dir / "mot_eval.json"
    report = {
        "mot_dir": str(args.mot_dir),
        "results": str(results_dir),
        "scores": scores,
        "unscored": {"no_groundtruth": no_gt, "no_results": missing},
        "conventions": (
            "MOTChallenge: results matched to distractor classes (2, 7, 8, 12) are removed; "
            "only class-1 boxes with consider flag 1 are scored; IoU >= 0.5 to match; "
            "MOTP is the mean IoU of matches."
        ),
    }
    if args.render:
        from deep_sort_bridge.render import render_sequence

        report["render"] = {
            d.name: render_sequence(d, r, args.render, progress=not args.no_progress)
            for d, r in results_of.items()
        }
    write_json_atomic(output, report)
    print(metrics.format_table(scores))
    print(f"Scores: {output}")
    return 0


# ---------------------------------------------------------------------------------------------
# dataset-from-mot


def add_dataset_from_mot_arguments(parser: argparse.ArgumentParser) -> None:
    from deep_sort_bridge.dataset_from_mot import CutConfig

    d = CutConfig()
    _option(parser, "mot_dir", required=True, help="MOTChallenge folder with gt/gt.txt")
    parser.add_argument("--output", required=True, help="Market-1501 folder to write")
    _option(parser, "min_visibility", type=float, default=d.min_visibility)
    _option(parser, "min_height", type=float, default=d.min_height, help="pixels")
    _option(
        parser, "min_inside", type=float, default=d.min_inside, help="share of box in the frame"
    )
    _option(parser, "frame_stride", type=int, default=d.frame_stride, help="every Nth frame")
    _option(parser, "min_images", type=int, default=d.min_images, help="per identity")
    _option(parser, "max_images", type=int, default=d.max_images, help="per identity, 0: all")
    _progress_option(parser)


def run_dataset_from_mot(args: argparse.Namespace) -> int:
    from deep_sort_bridge.dataset_from_mot import CutConfig, write_dataset_from_mot

    config = CutConfig(
        min_visibility=args.min_visibility,
        min_height=args.min_height,
        min_inside=args.min_inside,
        frame_stride=args.frame_stride,
        min_images=args.min_images,
        max_images=args.max_images,
    )
    summary = write_dataset_from_mot(
        args.mot_dir, args.output, config, progress=not args.no_progress
    )
    what = (
        f"{summary['identities']} identities, {summary['images']} crops, "
        f"{summary['cameras']} camera(s)"
    )
    if summary["skipped"]:
        print(f"{args.output} already holds this dataset ({what}); nothing to do.")
    else:
        print(
            f"Wrote {what} to {args.output}. Train on it with "
            f"`reid train --dataset market1501 --data-dir {args.output}`."
        )
    return 0
