"""`reid generate-detections`, `reid track`, `reid mot-eval`, `reid dataset-from-mot`.

Each command is a pair `add_<name>_arguments(parser)` / `run_<name>(args) -> int`. Options take
deep_sort's own spellings (`--mot_dir`, `--output_dir`, `--min_confidence`, ...) as well as
dashed ones (`--mot-dir`), so deep_sort command lines keep working.
"""

from __future__ import annotations

import argparse
import os

from core.errors import ReidError
from encoder.runtime import BACKENDS, PRECISION_HELP
from encoder.runtime import PRECISIONS as ENCODER_PRECISIONS

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
    parser.add_argument("--backend", choices=BACKENDS, default="auto")
    parser.add_argument("--threads", type=int, default=None, help="encoder threads")
    parser.add_argument(
        "--precision",
        choices=ENCODER_PRECISIONS,
        default="auto",
        help=PRECISION_HELP,
    )
    parser.add_argument(
        "--summary",
        default=None,
        help="JSON summary path (default OUTPUT/generate_detections.json)",
    )
    _progress_option(parser)


def run_generate_detections(args: argparse.Namespace) -> int:
    from deep_sort_bridge.generate import crop_encoder, generate_detections

    encode, description = crop_encoder(
        model=args.model,
        remote=args.remote,
        api_key=os.environ.get(args.api_key_env) or None,
        backend=args.backend,
        batch_size=args.batch_size,
        threads=args.threads,
        precision=args.precision,
    )
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
    _option(
        parser,
        "max_cosine_distance",
        type=float,
        default=None,
        help="appearance gate (default: the model card's calibrated value, see `reid calibrate`, "
        f"else deep_sort's {d.max_cosine_distance})",
    )
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
    gate = args.max_cosine_distance
    if gate is None:
        gate = _calibrated_gate(args)
    return TrackerConfig(
        min_confidence=args.min_confidence,
        min_detection_height=args.min_detection_height,
        nms_max_overlap=args.nms_max_overlap,
        max_cosine_distance=gate,
        nn_budget=args.nn_budget or None,
        max_iou_distance=args.max_iou_distance,
        max_age=args.max_age,
        n_init=args.n_init,
        appearance=args.appearance == "on",
    )


def _calibrated_gate(args: argparse.Namespace) -> float:
    """The gate `reid calibrate` stored in the card of the model that made --detections."""
    from deep_sort_bridge.generate import detections_model_gate
    from deep_sort_bridge.tracking import TrackerConfig

    found = detections_model_gate(args.detections) if args.detections else None
    if found is None:
        return TrackerConfig().max_cosine_distance
    gate, model = found
    if args.appearance == "on":
        print(
            f"max_cosine_distance {gate:g}: calibrated for {model} (its model card); "
            "--max_cosine_distance overrides it."
        )
    return gate


def run_track(args: argparse.Namespace) -> int:
    from deep_sort_bridge.sequences import track_sequences

    track_sequences(
        args.mot_dir,
        args.output_dir,
        tracker_config(args),
        detections_dir=args.detections,
        render_dir=args.render,
        progress=not args.no_progress,
    )
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
    from deep_sort_bridge.sequences import score_columns, score_sequences

    report = score_sequences(
        args.mot_dir,
        args.results,
        output=args.output,
        render_dir=args.render,
        progress=not args.no_progress,
    )
    print(metrics.format_table(report["scores"], score_columns()))
    print(f"Scores: {report['output']}")
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


def _settings(kind, args: argparse.Namespace):
    """A settings dataclass filled from the options of the same names."""
    from dataclasses import fields

    return kind(**{f.name: getattr(args, f.name) for f in fields(kind)})


def _report_dataset(summary: dict, output: str, identities: str, done: str) -> None:
    what = (
        f"{summary['identities']} {identities}, {summary['images']} crops, "
        f"{summary['cameras']} camera(s)"
    )
    if summary["skipped"]:
        print(f"{output} already holds this dataset ({what}); nothing to do.")
    else:
        print(done.format(what=what, output=output))


def run_dataset_from_mot(args: argparse.Namespace) -> int:
    from deep_sort_bridge.dataset_from_mot import CutConfig, write_dataset_from_mot

    summary = write_dataset_from_mot(
        args.mot_dir, args.output, _settings(CutConfig, args), progress=not args.no_progress
    )
    _report_dataset(summary, args.output, "identities",
                    "Wrote {what} to {output}. Train on it with "
                    "`reid train --dataset market1501 --data-dir {output}`.")  # fmt: skip
    return 0


# ---------------------------------------------------------------------------------------------
# video-to-mot


def add_video_to_mot_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", help="video file (anything OpenCV's FFmpeg reads)")
    parser.add_argument("mot_dir", help="MOT folder; the sequence goes to MOT_DIR/NAME")
    parser.add_argument("--name", default=None, help="sequence name (default: the video's stem)")
    parser.add_argument(
        "--detections",
        default=None,
        help="det.txt of the video (MOTChallenge rows, frames from 1); default: VIDEO's stem "
        "+ .txt beside it, if there",
    )
    parser.add_argument("--gt", default=None, help="gt.txt of the video, if it has one")
    _progress_option(parser)


def run_video_to_mot(args: argparse.Namespace) -> int:
    from deep_sort_bridge.video import video_to_mot

    summary = video_to_mot(
        args.video,
        args.mot_dir,
        detections=args.detections,
        groundtruth=args.gt,
        name=args.name,
        progress=not args.no_progress,
    )
    done = "already written" if summary["skipped"] else "written"
    print(
        f"{summary['sequence']} {done}: {summary['frames']} frames of "
        f"{summary['width']}x{summary['height']} at {summary['frame_rate']:g} frames/s, "
        f"{summary['detections']} detections."
    )
    if not summary["detections"]:
        print(
            f"No detections yet: put your detector's boxes in {summary['sequence']}/det/det.txt "
            "(frame,-1,x,y,w,h,confidence per line) before `reid generate-detections`."
        )
    else:
        print(f"Next: reid generate-detections --model MODEL --mot_dir {args.mot_dir}")
    return 0


# ---------------------------------------------------------------------------------------------
# calibrate


def add_calibrate_arguments(parser: argparse.ArgumentParser) -> None:
    from deep_sort_bridge.calibrate import METHODS

    _option(parser, "model", required=True, help=".onnx, frozen graph .pb or SavedModel folder")
    _option(parser, "mot_dir", required=True, help="MOTChallenge folder with gt/gt.txt")
    _option(parser, "output_dir", default="calibration", help="calibration.json and .png go here")
    _option(parser, "max_age", type=int, default=30, help="the tracker's window, in frames")
    parser.add_argument(
        "--method",
        choices=METHODS,
        default="tracking",
        help="tracking: the candidate gate whose tracking of the sequences' det/det.txt scores "
        "the best HOTA (youden without detections); youden: best separation of same from "
        "different identities; false-pass: the largest gate that lets at most "
        "--max-false-pass of different identities through",
    )
    _option(parser, "max_false_pass", type=float, default=0.05)
    _option(parser, "min_visibility", type=float, default=0.25, help="gt boxes below are skipped")
    parser.add_argument(
        "--no-card", action="store_true", help="do not write the result into the model card"
    )
    _progress_option(parser)


def run_calibrate(args: argparse.Namespace) -> int:
    from deep_sort_bridge.calibrate import calibrate

    if not 0 <= args.max_false_pass < 1:
        raise ReidError("--max-false-pass must be in [0, 1).", "Use e.g. 0.05.")
    record = calibrate(
        args.model,
        args.mot_dir,
        args.output_dir,
        max_age=args.max_age,
        method=args.method,
        max_false_pass=args.max_false_pass,
        min_visibility=args.min_visibility,
        write_card=not args.no_card,
        progress=not args.no_progress,
    )
    gate = record["max_cosine_distance"]
    rates = record["at"]["recommended"]
    print(
        f"Recommended max_cosine_distance {gate:g} ({record['method']}): lets "
        f"{100 * rates['same_pass_rate']:.1f}% of same-identity and "
        f"{100 * rates['different_pass_rate']:.1f}% of different-identity distances through "
        f"({record['pairs']['same']} and {record['pairs']['different']} pairs; medians "
        f"{record['median']['same']:.3f} and {record['median']['different']:.3f})."
    )
    if "trials" in record:
        print(f"Chosen by tracking the sequences' detections with {len(record['trials'])} "
              "candidate gates (best HOTA; all in the JSON's trials).")  # fmt: skip
    where = "" if args.no_card else " and the model card (reid track uses it)"
    print(f"Written to {args.output_dir}/calibration.json, calibration.png{where}.")
    return 0


# ---------------------------------------------------------------------------------------------
# tune


def _numbers(kind):
    def parse(text: str) -> tuple:
        try:
            values = tuple(kind(v) for v in text.split(",") if v.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list") from None
        if not values:
            raise argparse.ArgumentTypeError("give at least one value")
        return values

    return parse


def add_tune_arguments(parser: argparse.ArgumentParser) -> None:
    from deep_sort_bridge.tracking import TrackerConfig

    d = TrackerConfig()
    _option(parser, "mot_dir", required=True, help="MOTChallenge folder with gt/gt.txt")
    parser.add_argument(
        "--detections",
        required=True,
        help="folder of <sequence>.npy from generate-detections (features of the model to tune)",
    )
    _option(parser, "output_dir", default="tune", help="tune.json goes here")
    grid = "comma-separated values to try (default: %s)"
    gates = "the calibrated gate x 0.5, 0.75, 1, 1.5, 2, else 0.1,0.2,0.3,0.5"
    _option(parser, "max_cosine_distance", type=_numbers(float), default=None, help=grid % gates)
    _option(parser, "max_age", type=_numbers(int), default=None, help=grid % "15,30,60")
    _option(parser, "n_init", type=_numbers(int), default=None, help=grid % "1,3")
    _option(parser, "max_iou_distance", type=_numbers(float), default=None,
            help=grid % "0.5,0.7,0.9")  # fmt: skip
    parser.add_argument("--by", choices=("hota", "idf1"), default="hota", help="score to pick by")
    _option(parser, "min_confidence", type=float, default=d.min_confidence)
    _option(parser, "min_detection_height", type=float, default=d.min_detection_height)
    _option(parser, "nms_max_overlap", type=float, default=d.nms_max_overlap)
    _option(parser, "nn_budget", type=int, default=d.nn_budget, help="0: no budget")
    _progress_option(parser)


def run_tune(args: argparse.Namespace) -> int:
    from deep_sort_bridge.generate import detections_model_gate
    from deep_sort_bridge.tracking import TrackerConfig
    from deep_sort_bridge.tune import default_grid, format_rows, tune

    found = detections_model_gate(args.detections)
    grid = default_grid(found[0] if found else None)
    for name in grid:
        values = getattr(args, name)
        if values is not None:
            grid[name] = values
    if min(grid["max_age"]) < 1 or min(grid["n_init"]) < 1:
        raise ReidError("Invalid grid: --max_age and --n_init values must be at least 1.",
                        "Change the values.")  # fmt: skip
    if not all(0 <= v <= 1 for v in grid["max_iou_distance"]):
        raise ReidError("Invalid grid: --max_iou_distance values must be in [0, 1].",
                        "Change the values.")  # fmt: skip
    base = TrackerConfig(
        min_confidence=args.min_confidence,
        min_detection_height=args.min_detection_height,
        nms_max_overlap=args.nms_max_overlap,
        nn_budget=args.nn_budget or None,
    )
    record = tune(args.mot_dir, args.detections, args.output_dir, grid, base, args.by,
                  progress=not args.no_progress)  # fmt: skip
    print(format_rows(record["rows"], args.by))
    best = record["best"]["settings"]
    flags = " ".join(f"--{k} {v:g}" for k, v in best.items())
    print(f"Best by {args.by.upper()} of {len(record['rows'])} settings: reid track {flags}")
    print(f"All rows: {args.output_dir}/tune.json")
    return 0


# ---------------------------------------------------------------------------------------------
# dataset-from-detections


def add_dataset_from_detections_arguments(parser: argparse.ArgumentParser) -> None:
    from deep_sort_bridge.mining import MiningConfig

    d = MiningConfig()
    _option(parser, "mot_dir", required=True, help="MOTChallenge folder with det/det.txt")
    parser.add_argument("--output", required=True, help="Market-1501 folder to write")
    _option(parser, "min_confidence", type=float, default=d.min_confidence,
            help="detections below are not used")  # fmt: skip
    _option(parser, "min_height", type=float, default=d.min_height, help="pixels")
    _option(parser, "max_overlap", type=float, default=d.max_overlap,
            help="detections overlapping another one more (IoU) are left out")  # fmt: skip
    _option(parser, "min_iou", type=float, default=d.min_iou,
            help="a match to the next frame needs at least this IoU")  # fmt: skip
    _option(parser, "ambiguity", type=float, default=d.ambiguity,
            help="no rival above this share of the best IoU")  # fmt: skip
    _option(parser, "min_length", type=int, default=d.min_length, help="frames per tracklet")
    _option(parser, "crops_per_tracklet", type=int, default=d.crops_per_tracklet)
    _progress_option(parser)


def run_dataset_from_detections(args: argparse.Namespace) -> int:
    from deep_sort_bridge.dataset_from_detections import write_dataset_from_detections
    from deep_sort_bridge.mining import MiningConfig

    summary = write_dataset_from_detections(
        args.mot_dir, args.output, _settings(MiningConfig, args), progress=not args.no_progress
    )
    _report_dataset(summary, args.output, "pseudo-identities (tracklets)",
                    "Mined {what} into {output}. Fine-tune on it: reid train --init-from RUN "
                    "--dataset market1501 --data-dir {output}")  # fmt: skip
    return 0
