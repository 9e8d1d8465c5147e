"""`reid evaluate`, `reid extract-features` and `reid plot-training`: thin shells.

`reid evaluate` extracts query and gallery features (progress bar), ranks them under the
dataset's protocol (`training.protocols`), prints CMC rank-1/5/10/20, mAP and mINP, writes a
JSON report atomically (by default RUN/evaluation_<dataset>[_<metric>][_rerank].json next to a
run's checkpoints, where `reid export` puts it into the model card, else in the current
folder) and, with --grid, a ranked-retrieval picture.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from core.errors import DatasetError
from core.io import timestamp

DATASETS = ("market1501", "mars", "folder")
SPLITS = ("train", "query", "gallery")
REPORT_RANKS = (1, 5, 10, 20)


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


# --------------------------------------------------------------------------------------------
# reid evaluate
# --------------------------------------------------------------------------------------------


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    from training.reranking import K1, K2, LAMBDA, METRICS

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
    parser.add_argument("--grid", default=None, help="write a ranked-retrieval grid PNG here")
    parser.add_argument("--grid-queries", type=int, default=8, help="rows of the grid")
    parser.add_argument("--grid-top", type=int, default=10, help="matches per row")


def ranking_settings(args: argparse.Namespace):
    from training.protocols import RankingSettings

    rerank = None
    if args.rerank:
        if args.k1 < 1 or args.k2 < 1 or not 0.0 <= args.lambda_value <= 1.0:
            raise DatasetError(
                f"Re-ranking needs k1 >= 1, k2 >= 1 and 0 <= lambda <= 1 "
                f"(got {args.k1}, {args.k2}, {args.lambda_value}).",
                "Use the defaults --k1 20 --k2 6 --lambda 0.3.",
            )
        rerank = {"k1": args.k1, "k2": args.k2, "lambda": args.lambda_value}
    return RankingSettings(metric=args.metric, rerank=rerank)


def default_report_path(model: dict, dataset: str, settings) -> Path:
    """RUN/evaluation_<dataset>[_euclidean][_rerank].json, or the same name in ./."""
    name = f"evaluation_{dataset}"
    if settings.metric != "cosine":
        name += f"_{settings.metric}"
    if settings.rerank is not None:
        name += "_rerank"
    folder = Path(model["run_dir"]) if model.get("run_dir") else Path.cwd()
    return folder / f"{name}.json"


def build_report(result: dict, protocol, model: dict, dataset: dict, settings, extra) -> dict:
    """The JSON report: headline numbers first, then counts, settings and provenance."""
    cmc = [float(v) for v in result["cmc"]]
    report = {f"rank{k}": cmc[min(k, len(cmc)) - 1] for k in REPORT_RANKS}
    report.update(
        mAP=float(result["mAP"]),
        mINP=float(result["mINP"]),
        num_query=len(protocol.query),
        num_gallery=len(protocol.gallery),
        num_query_images=protocol.query.num_images,
        num_gallery_images=protocol.gallery.num_images,
        num_valid_queries=int(result["num_valid_queries"]),
        num_queries_without_match=int(result["num_queries_without_match"]),
        cmc=cmc,
        model=model,
        dataset=dataset,
        date=timestamp(),
        settings={
            "protocol": protocol.name,
            "metric": settings.metric,
            "rerank": settings.rerank,
            "max_rank": settings.max_rank,
        },
    )
    report.update(extra)
    return report


def format_table(report: dict) -> str:
    """A small text table of the headline numbers."""
    unit = "tracklets" if report["settings"]["protocol"] == "video" else "images"
    rerank = ", re-ranked" if report["settings"]["rerank"] else ""
    heads = ["rank-1", "rank-5", "rank-10", "rank-20", "mAP", "mINP"]
    keys = ["rank1", "rank5", "rank10", "rank20", "mAP", "mINP"]
    lines = [
        f"{report['dataset']['name']}: {report['num_query']} queries x {report['num_gallery']} "
        f"gallery {unit}, {report['settings']['metric']} distance{rerank}",
        "  ".join(f"{h:>7}" for h in heads),
        "  ".join(f"{100 * report[k]:6.2f}%" for k in keys),
    ]
    if report["num_queries_without_match"]:
        lines.append(
            f"({report['num_queries_without_match']} queries without a valid gallery match "
            "are left out of the averages)"
        )
    return "\n".join(lines)


def evaluate_model(
    model_path: str,
    dataset_name: str,
    data_dir: str,
    settings,
    batch_size: int = 128,
    progress: bool = True,
):
    """Extract, rank and score; returns (report, protocol, distances)."""
    from reid.features import extract_distinct, open_feature_model
    from training.datasets import canonical_name, read_dataset
    from training.protocols import build_protocol, evaluate_protocol, evaluation_paths

    dataset = read_dataset(dataset_name, data_dir)
    paths = evaluation_paths(dataset)
    model = open_feature_model(model_path, batch_size)
    started = time.perf_counter()
    features = extract_distinct(model, paths, progress=progress)
    feature_seconds = time.perf_counter() - started
    protocol = build_protocol(dataset, features.of)
    started = time.perf_counter()
    result, distances = evaluate_protocol(protocol, settings)
    ranking_seconds = time.perf_counter() - started
    timing = {
        "feature_seconds": round(feature_seconds, 3),
        "images_per_second": round(len(features.paths) / max(feature_seconds, 1e-9), 1),
        "ranking_seconds": round(ranking_seconds, 3),
        "batch_size": batch_size,
    }
    dataset_info = {
        "name": canonical_name(dataset_name),
        "data_dir": str(Path(data_dir).resolve()),
        "skipped_images": len(dataset.query.skipped) + len(dataset.gallery.skipped),
        "notes": list(dataset.extra.get("notes", [])),
    }
    report = build_report(
        result, protocol, model.description, dataset_info, settings, {"timing": timing}
    )
    return report, protocol, distances


def write_grid(path, protocol, distances, num_queries: int = 8, top_k: int = 10) -> None:
    """Ranked-retrieval grid of evenly spread queries."""
    from training.plots import choose_queries, retrieval_grid, write_png

    query, gallery = protocol.query, protocol.gallery
    image = retrieval_grid(
        query.display_paths,
        query.identities,
        query.cameras,
        gallery.display_paths,
        gallery.identities,
        gallery.cameras,
        distances,
        choose_queries(len(query), num_queries),
        top_k=top_k,
    )
    write_png(path, image)


def run_evaluate(args: argparse.Namespace) -> int:
    from core.atomic import write_json_atomic

    settings = ranking_settings(args)
    if args.grid and (args.grid_queries < 1 or args.grid_top < 1):
        raise DatasetError(
            "--grid-queries and --grid-top must be at least 1.", "Pass e.g. 8 and 10."
        )
    report, protocol, distances = evaluate_model(
        args.checkpoint,
        args.dataset,
        args.data_dir,
        settings,
        batch_size=args.batch_size,
        progress=not args.no_progress,
    )
    if args.grid:
        write_grid(args.grid, protocol, distances, args.grid_queries, args.grid_top)
        report["grid"] = str(args.grid)
    output = default_report_path(report["model"], report["dataset"]["name"], settings)
    if args.output:
        given = Path(args.output)
        output = given / output.name if given.is_dir() else given
    write_json_atomic(output, report)
    print(format_table(report))
    print(f"Report: {output}" + (f"; grid: {args.grid}" if args.grid else ""))
    return 0


# --------------------------------------------------------------------------------------------
# reid extract-features
# --------------------------------------------------------------------------------------------


def add_extract_features_arguments(parser: argparse.ArgumentParser) -> None:
    _add_model_arguments(parser)
    parser.add_argument("--split", choices=(*SPLITS, "all"), default="all")
    parser.add_argument(
        "--output",
        required=True,
        help="folder for <split>_features.npy, labels, paths and feat_<split>.mat",
    )


def chosen_splits(dataset, split: str) -> dict:
    """{split name: ImageSet} to extract; a clear error for a split the dataset lacks."""
    available = {name: getattr(dataset, name) for name in SPLITS}
    available = {name: images for name, images in available.items() if images is not None}
    if split == "all":
        return available
    if split not in available:
        raise DatasetError(
            f"The {dataset.name} dataset at hand has no {split} split.",
            f"Use --split {' or '.join(available) or 'train'}"
            + (f" ({' '.join(dataset.extra['notes'])})" if dataset.extra.get("notes") else "."),
        )
    return {split: available[split]}


def run_extract_features(args: argparse.Namespace) -> int:
    from core.atomic import write_json_atomic
    from reid.features import MAT_NAMES, extract_distinct, open_feature_model, write_features
    from training.datasets import canonical_name, read_dataset

    dataset = read_dataset(args.dataset, args.data_dir)
    splits = chosen_splits(dataset, args.split)
    model = open_feature_model(args.checkpoint, args.batch_size)
    paths = np.concatenate([images.paths for images in splits.values()])
    features = extract_distinct(model, paths, progress=not args.no_progress)
    out_dir = Path(args.output)
    summary = {}
    for name, images in splits.items():
        written = write_features(out_dir, name, images, features.of(images.paths))
        summary[name] = {"images": len(images), "files": [p.name for p in written]}
    manifest = {
        "model": model.description,
        "dataset": {
            "name": canonical_name(args.dataset),
            "data_dir": str(Path(args.data_dir).resolve()),
        },
        "date": timestamp(),
        "feature_dim": int(features.features.shape[1]),
        "splits": summary,
        "mat_files": {name: MAT_NAMES[name] for name in splits},
    }
    write_json_atomic(out_dir / "features.json", manifest)
    counts = ", ".join(f"{name} {len(images)}" for name, images in splits.items())
    print(f"Wrote features of {counts} images to {out_dir} (.npy, .mat, features.json).")
    return 0


# --------------------------------------------------------------------------------------------
# reid plot-training
# --------------------------------------------------------------------------------------------


def add_plot_training_arguments(parser: argparse.ArgumentParser) -> None:
    # Not `run`: the reid command keeps the subcommand's function in args.run.
    parser.add_argument("run_dir", metavar="RUN", help="run folder written by `reid train`")
    parser.add_argument("--output", default=None, help="PNG (default RUN/training_curves.png)")


def run_plot_training(args: argparse.Namespace) -> int:
    from training.plots import plot_training

    output = Path(args.output) if args.output else Path(args.run_dir) / "training_curves.png"
    steps = plot_training(args.run_dir, output)
    print(f"Wrote {output} ({steps} logged steps).")
    return 0
