"""The `reid` command: one entry point whose subcommands front every part of the project.

Each folder owns its subcommands in a `cli.py` module (argument parsing and a thin `run`);
those modules import their heavy dependencies only when a command runs, so `reid serve` and
the deep_sort bridge never load TensorFlow.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from core.errors import ReidError
from core.native_logs import filter_native_stderr

# (command, help, module, argument adder, runner)
COMMANDS = (
    ("demo", "the main job: synthesise, train and report", "reid.demo", "add_demo_arguments",
     "run_demo"),
    ("train", "train the appearance network (resumable)", "training.cli", "add_train_arguments",
     "run_train"),
    ("evaluate", "rank-1/5/10/20, mAP and mINP on a dataset's query/gallery", "evaluation.cli",
     "add_evaluate_arguments", "run_evaluate"),
    ("extract-features", "features of a dataset split to .npy and .mat", "evaluation.cli",
     "add_extract_features_arguments", "run_extract_features"),
    ("plot-training", "training curves PNG from a run's metrics", "evaluation.cli",
     "add_plot_training_arguments", "run_plot_training"),
    ("freeze", "freeze a checkpoint into deep_sort's frozen graph (.pb)", "encoder.cli",
     "add_freeze_arguments", "run_freeze"),
    ("export", "export a checkpoint as SavedModel or ONNX", "encoder.cli", "add_export_arguments",
     "run_export"),
    ("embed", "embed image files with a frozen or exported model", "encoder.cli",
     "add_embed_arguments", "run_embed"),
    ("generate-detections", "features for MOTChallenge detections (deep_sort's tool)",
     "deep_sort_bridge.cli", "add_generate_detections_arguments", "run_generate_detections"),
    ("track", "run the deep_sort tracker on detections with features", "deep_sort_bridge.cli",
     "add_track_arguments", "run_track"),
    ("mot-eval", "HOTA, MOTA, IDF1 and co. against gt.txt; --render draws tracks",
     "deep_sort_bridge.cli", "add_mot_eval_arguments", "run_mot_eval"),
    ("calibrate", "fit the tracker's max_cosine_distance to a model on sequences with gt",
     "deep_sort_bridge.cli", "add_calibrate_arguments", "run_calibrate"),
    ("tune", "grid-search the tracker's settings by HOTA / IDF1 on sequences with gt",
     "deep_sort_bridge.cli", "add_tune_arguments", "run_tune"),
    ("dataset-from-mot", "cut ground-truth tracks into a Market-1501 layout",
     "deep_sort_bridge.cli", "add_dataset_from_mot_arguments", "run_dataset_from_mot"),
    ("video-to-mot", "a video file as a MOTChallenge sequence (frames, seqinfo.ini, det/)",
     "deep_sort_bridge.cli", "add_video_to_mot_arguments", "run_video_to_mot"),
    ("dataset-from-detections", "mine sure tracklets of unlabelled footage as pseudo-identities",
     "deep_sort_bridge.cli", "add_dataset_from_detections_arguments",
     "run_dataset_from_detections"),
    ("adapt", "adapt a run to your own footage without labels: mine, fine-tune, export",
     "reid.adapt", "add_adapt_arguments", "run_adapt"),
    ("serve", "serve embeddings over HTTP (POST /embed)", "serving.cli", "add_serve_arguments",
     "run_serve"),
)  # fmt: skip

# `reid synth KIND`: synthetic datasets.
SYNTH_KINDS = (
    ("market1501", "synthetic people in the Market-1501 layout", "synthetic.cli",
     "add_synth_market_arguments", "run_synth_market"),
    ("mot", "a synthetic MOTChallenge sequence with gt and noisy detections",
     "synthetic.cli", "add_synth_mot_arguments", "run_synth_mot"),
)  # fmt: skip


def _add(subparsers, name, help_text, module, adder, runner) -> None:
    loaded = importlib.import_module(module)
    parser = subparsers.add_parser(name, help=help_text, description=help_text)
    getattr(loaded, adder)(parser)
    parser.set_defaults(run=getattr(loaded, runner))


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reid",
        description="Train, evaluate, freeze and serve deep_sort appearance embeddings.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for entry in COMMANDS:
        _add(commands, *entry)
    synth = commands.add_parser("synth", help="write a synthetic dataset")
    kinds = synth.add_subparsers(dest="kind", required=True, metavar="KIND")
    for entry in SYNTH_KINDS:
        _add(kinds, *entry)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a command; `argv` None means the process's own command line (the console script)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if argv is None and os.environ.get("REID_NATIVE_LOGS") != "1":
        filter_native_stderr()  # REID_NATIVE_LOGS=1 shows TensorFlow's start-up notices
    args = _build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except ReidError as error:
        print(f"error: {error.problem}", file=sys.stderr)
        if error.fix:
            print(f"  fix: {error.fix}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
