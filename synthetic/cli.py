"""Command lines of the synthetic datasets: `reid synth market1501 OUT` and `reid synth mot OUT`.

Each pair is an argument adder and a runner that `reid.cli` wires into its `synth` command. The
runners only turn the arguments into a config, call the library and print a one-line summary.
"""

from __future__ import annotations

import argparse

from synthetic.market1501 import (
    GALLERY_DIR,
    QUERY_DIR,
    TRAIN_DIR,
    SynthConfig,
    write_synthetic_market1501,
)
from synthetic.mot import SynthMotConfig, write_synthetic_mot


def add_synth_market_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `reid synth market1501 OUT`."""
    defaults = SynthConfig()
    parser.add_argument("out", help="folder to write the dataset into (created if missing)")
    parser.add_argument(
        "--train-identities",
        type=int,
        default=defaults.train_identities,
        help="identities in bounding_box_train (default: %(default)s)",
    )
    parser.add_argument(
        "--test-identities",
        type=int,
        default=defaults.test_identities,
        help="identities in query and bounding_box_test (default: %(default)s)",
    )
    parser.add_argument(
        "--cameras", type=int, default=defaults.cameras, help="cameras, 2-9 (default: %(default)s)"
    )
    parser.add_argument(
        "--images-per-camera",
        type=int,
        default=defaults.images_per_camera,
        help="images of an identity in each camera it appears in (default: %(default)s)",
    )
    parser.add_argument(
        "--distractors",
        type=int,
        default=defaults.distractors,
        help="identity 0000 images in bounding_box_test (default: %(default)s)",
    )
    parser.add_argument(
        "--junk",
        type=int,
        default=defaults.junk,
        help="identity -1 images in bounding_box_test (default: %(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=defaults.seed,
        help="random seed; the same settings write identical files (default: %(default)s)",
    )
    parser.add_argument("--no-progress", action="store_true", help="do not show a progress bar")


def run_synth_market(args: argparse.Namespace) -> int:
    """Write the dataset the arguments describe, print a one-line summary, return 0."""
    config = SynthConfig(
        train_identities=args.train_identities,
        test_identities=args.test_identities,
        cameras=args.cameras,
        images_per_camera=args.images_per_camera,
        distractors=args.distractors,
        junk=args.junk,
        seed=args.seed,
    )
    summary = write_synthetic_market1501(
        args.out, config, progress=not getattr(args, "no_progress", False)
    )
    images = summary["images"]
    counts = (
        f"{images[TRAIN_DIR]} train, {images[GALLERY_DIR]} gallery, {images[QUERY_DIR]} query "
        f"images; {summary['train_identities']} train + {summary['test_identities']} test "
        f"identities, {summary['cameras']} cameras"
    )
    if summary["skipped"]:
        print(f"{args.out} already holds this synthetic Market-1501 ({counts}); nothing to do.")
    else:
        print(f"Wrote synthetic Market-1501 to {args.out}: {counts} in {summary['seconds']:.1f} s.")
    return 0


def add_synth_mot_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `reid synth mot OUT`."""
    defaults = SynthMotConfig()
    parser.add_argument("out", help="MOT folder to write the sequences into (created if missing)")
    parser.add_argument(
        "--sequences", type=int, default=defaults.sequences, help="(default: %(default)s)"
    )
    parser.add_argument(
        "--frames",
        type=int,
        default=defaults.frames,
        help="frames per sequence (default: %(default)s)",
    )
    parser.add_argument("--width", type=int, default=defaults.width, help="(default: %(default)s)")
    parser.add_argument(
        "--height", type=int, default=defaults.height, help="(default: %(default)s)"
    )
    parser.add_argument(
        "--frame-rate", type=int, default=defaults.frame_rate, help="(default: %(default)s)"
    )
    parser.add_argument(
        "--people",
        type=int,
        default=defaults.people,
        help="people per sequence (default: %(default)s)",
    )
    parser.add_argument(
        "--miss-rate",
        type=float,
        default=defaults.miss_rate,
        help="chance the detector misses a visible person (default: %(default)s)",
    )
    parser.add_argument(
        "--box-jitter",
        type=float,
        default=defaults.box_jitter,
        help="detector box noise as a fraction of the box size (default: %(default)s)",
    )
    parser.add_argument(
        "--false-alarms",
        type=float,
        default=defaults.false_alarms,
        help="wrong detections per frame on average (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=defaults.seed, help="(default: %(default)s)")
    parser.add_argument("--no-progress", action="store_true", help="do not show a progress bar")


def run_synth_mot(args: argparse.Namespace) -> int:
    """Write the sequences the arguments describe and print a one-line summary."""
    config = SynthMotConfig(
        sequences=args.sequences,
        frames=args.frames,
        width=args.width,
        height=args.height,
        frame_rate=args.frame_rate,
        people=args.people,
        miss_rate=args.miss_rate,
        box_jitter=args.box_jitter,
        false_alarms=args.false_alarms,
        seed=args.seed,
    )
    summary = write_synthetic_mot(args.out, config, progress=not args.no_progress)
    counts = (
        f"{config.sequences} sequence(s) of {config.frames} frames, {summary['gt_boxes']} "
        f"ground-truth boxes, {summary['detections']} detections"
    )
    if summary["skipped"]:
        print(f"{args.out} already holds these synthetic sequences ({counts}); nothing to do.")
    else:
        print(f"Wrote {counts} to {args.out} in {summary['seconds']:.1f} s.")
    return 0
