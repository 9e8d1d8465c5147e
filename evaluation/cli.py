"""`reid evaluate`, `reid extract-features` and `reid plot-training`: arguments and a call
into `evaluation.scoring` / `evaluation.plots`.

Option lists come from TensorFlow-free modules, so `reid --help` stays fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.errors import DatasetError
from evaluation.scoring import SPLITS
from ranking.reranking import K1, K2, LAMBDA, METRICS

DATASETS = ("market1501", "mars", "folder")


def _add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint",
        required=True,
        metavar="RUN_OR_CKPT_OR_MODEL",
        help="run folder, checkpoint prefix (.../ckpt-N), or exported model "
        "(.onnx, deep_sort .pb, SavedModel folder)",
    )
    parser.add_argument("--dataset", choices=DATASETS, required=True)
    parser.add_argument("--data-dir", required=True, help="dataset root folder")
    parser.add_argument("--batch-size", type=int, default=128, help="images per model call")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    _add_model_arguments(parser)
    parser.add_argument(
        "--output",
        default=None,
        help="JSON report (default: RUN/evaluation_<dataset>.json for a run, else ./)",
    )
    parser.add_argument("--metric", choices=METRICS, default="cosine")
    parser.add_argument(
        "--rerank", action="store_true", help="k-reciprocal re-ranking (Zhong et al. 2017)"
    )
    parser.add_argument("--k1", type=int, default=K1, help="re-ranking k1")
    parser.add_argument("--k2", type=int, default=K2, help="re-ranking k2")
    parser.add_argument(
        "--lambda", dest="lambda_value", type=float, default=LAMBDA, help="re-ranking lambda"
    )
    parser.add_argument(
        "--against",
        default=None,
        metavar="REPORT",
        help="another model's report on the same dataset: print how far this model is ahead, "
        "with paired intervals over the test's people",
    )
    parser.add_argument("--grid", default=None, help="write a ranked-retrieval grid PNG here")
    parser.add_argument("--grid-queries", type=int, default=8, help="rows of the grid")
    parser.add_argument("--grid-top", type=int, default=10, help="matches per row")


def run_evaluate(args: argparse.Namespace) -> int:
    from evaluation.scoring import (
        compare_reports,
        evaluate_model,
        format_against,
        format_table,
        ranking_settings,
        read_base_report,
        write_grid,
        write_report,
    )

    rerank = {"k1": args.k1, "k2": args.k2, "lambda": args.lambda_value} if args.rerank else None
    settings = ranking_settings(args.metric, rerank)
    if args.grid and (args.grid_queries < 1 or args.grid_top < 1):
        raise DatasetError(
            "--grid-queries and --grid-top must be at least 1.", "Pass e.g. 8 and 10."
        )
    base = read_base_report(args.against) if args.against else None
    report, protocol, distances = evaluate_model(
        args.checkpoint,
        args.dataset,
        args.data_dir,
        settings,
        batch_size=args.batch_size,
        progress=not args.no_progress,
    )
    if base is not None:
        report["against"] = compare_reports(report, base, args.against)
    if args.grid:
        write_grid(args.grid, protocol, distances, args.grid_queries, args.grid_top)
        report["grid"] = str(args.grid)
    output = write_report(report, settings, args.output)
    print(format_table(report))
    if base is not None:
        print(format_against(report["against"]))
    print(f"Report: {output}" + (f"; grid: {args.grid}" if args.grid else ""))
    return 0


def add_extract_features_arguments(parser: argparse.ArgumentParser) -> None:
    _add_model_arguments(parser)
    parser.add_argument("--split", choices=(*SPLITS, "all"), default="all")
    parser.add_argument(
        "--output",
        required=True,
        help="folder for <split>_features.npy, labels, paths and feat_<split>.mat",
    )


def run_extract_features(args: argparse.Namespace) -> int:
    from evaluation.scoring import extract_split_features

    manifest = extract_split_features(
        args.checkpoint,
        args.dataset,
        args.data_dir,
        args.split,
        args.output,
        batch_size=args.batch_size,
        progress=not args.no_progress,
    )
    counts = ", ".join(f"{name} {info['images']}" for name, info in manifest["splits"].items())
    print(f"Wrote features of {counts} images to {args.output} (.npy, .mat, features.json).")
    return 0


def add_plot_training_arguments(parser: argparse.ArgumentParser) -> None:
    # Not `run`: the reid command keeps the subcommand's function in args.run.
    parser.add_argument("run_dir", metavar="RUN", help="run folder written by `reid train`")
    parser.add_argument("--output", default=None, help="PNG (default RUN/training_curves.png)")


def run_plot_training(args: argparse.Namespace) -> int:
    from evaluation.plots import plot_training

    output = Path(args.output) if args.output else Path(args.run_dir) / "training_curves.png"
    steps = plot_training(args.run_dir, output)
    print(f"Wrote {output} ({steps} logged steps).")
    return 0
