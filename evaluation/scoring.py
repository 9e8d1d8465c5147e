"""Scoring a model on a dataset: the report of `reid evaluate` and the feature files of
`reid extract-features`.

`evaluate_model` extracts query and gallery features, ranks them under the dataset's protocol
(`evaluation.protocols`) and builds the JSON report (rank-1/5/10/20, mAP, mINP, counts,
settings, provenance); `extract_split_features` writes one dataset's features for the
official MATLAB kits.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from core.atomic import write_json_atomic
from core.errors import DatasetError
from core.io import timestamp

SPLITS = ("train", "query", "gallery")
REPORT_RANKS = (1, 5, 10, 20)


def ranking_settings(metric: str = "cosine", rerank: dict | None = None):
    """`RankingSettings` for a metric and optional re-ranking {"k1", "k2", "lambda"}, checked."""
    from evaluation.protocols import RankingSettings

    if rerank is not None:
        k1, k2, lam = rerank["k1"], rerank["k2"], rerank["lambda"]
        if k1 < 1 or k2 < 1 or not 0.0 <= lam <= 1.0:
            raise DatasetError(
                f"Re-ranking needs k1 >= 1, k2 >= 1 and 0 <= lambda <= 1 (got {k1}, {k2}, {lam}).",
                "Use the defaults --k1 20 --k2 6 --lambda 0.3.",
            )
    return RankingSettings(metric=metric, rerank=rerank)


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
    """The JSON report: headline numbers first (rank-1 and mAP with their identity-bootstrap
    intervals, `ranking.bootstrap`), then counts, settings and provenance, and last each valid
    query's results, which `reid evaluate --against` pairs with another report's."""
    from ranking import per_query_results, ranking_intervals

    cmc = [float(v) for v in result["cmc"]]
    report = {f"rank{k}": cmc[min(k, len(cmc)) - 1] for k in REPORT_RANKS}
    report.update(
        mAP=float(result["mAP"]),
        mINP=float(result["mINP"]),
        **ranking_intervals(result, protocol.query.identities),
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
    names = [Path(path).name for path in protocol.query.display_paths]
    report["per_query"] = per_query_results(result, protocol.query.identities, names)
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
    if "rank1_interval" in report:
        (r_low, r_high), (m_low, m_high) = report["rank1_interval"], report["mAP_interval"]
        lines.append(
            f"95% interval over the test's people: rank-1 {100 * r_low:.1f}-{100 * r_high:.1f}%, "
            f"mAP {100 * m_low:.1f}-{100 * m_high:.1f}%"
        )
    if report["num_queries_without_match"]:
        lines.append(
            f"({report['num_queries_without_match']} queries without a valid gallery match "
            "are left out of the averages)"
        )
    return "\n".join(lines)


def read_base_report(path: str | Path) -> dict:
    """The report of `reid evaluate` at `path`, to compare another model with; ReidError, naming
    the fix, when the file is unreadable, not such a report, or without per-query results."""
    import json

    from core.errors import ReidError

    fix = "Pass a report written by `reid evaluate` (its --output, or the path it printed)."
    try:
        base = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ReidError(f"--against {path} cannot be read as a JSON report: {err}.", fix) from None
    if not isinstance(base, dict) or "rank1" not in base or "settings" not in base:
        raise ReidError(f"--against {path} is not a report of `reid evaluate`.", fix)
    if "per_query" not in base:
        raise ReidError(
            f"--against {path} was written before reports kept per-query results.",
            "Run `reid evaluate` for that model again to rewrite it, then compare.",
        )
    return base


def compare_reports(report: dict, base: dict, base_path: str | Path) -> dict:
    """How far `report`'s model is ahead of `base`'s (read from `base_path`) on the same queries:
    rank-1 and mAP differences with paired identity-bootstrap intervals
    (`ranking.paired_comparison`). ReidError when the two scored different queries."""
    from core.errors import ReidError
    from ranking import paired_comparison

    try:
        paired = paired_comparison(report["per_query"], base["per_query"])
    except ValueError:
        theirs = (base.get("dataset") or {}).get("data_dir", "another dataset")
        raise ReidError(
            f"--against {base_path} scored other queries ({theirs}) than this evaluation "
            f"({report['dataset']['data_dir']}).",
            "Compare reports of the same dataset folder and --dataset.",
        ) from None
    return {
        "report": str(base_path),
        "model": (base.get("model") or {}).get("path"),
        "rank1": paired["rank1"],
        "mAP": paired["ap"],
    }


def format_against(against: dict) -> str:
    """'Against REPORT (MODEL): rank-1 +2.1 points [+0.4, +3.9], mAP ...' for a comparison."""
    figures = []
    for key, title in (("rank1", "rank-1"), ("mAP", "mAP")):
        low, high = against[key]["interval"]
        figures.append(
            f"{title} {100 * against[key]['difference']:+.1f} points "
            f"[{100 * low:+.1f}, {100 * high:+.1f}]"
        )
    model = f" ({against['model']})" if against.get("model") else ""
    return (
        f"Against {against['report']}{model}: {', '.join(figures)} "
        "(95% paired intervals over the test's people)"
    )


def evaluate_model(
    model_path: str,
    dataset_name: str,
    data_dir: str,
    settings,
    batch_size: int = 128,
    progress: bool = True,
):
    """Extract, rank and score; returns (report, protocol, distances)."""
    from evaluation.features import extract_distinct, open_feature_model
    from evaluation.protocols import build_protocol, evaluate_protocol, evaluation_paths
    from training.datasets import canonical_name, read_dataset

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
    from evaluation.plots import choose_queries, retrieval_grid, write_png

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


def write_report(report: dict, settings, output: str | None) -> Path:
    """Write the report where asked (a file, or a folder), else to its default place; the long
    per-query results go last."""
    path = default_report_path(report["model"], report["dataset"]["name"], settings)
    if output:
        given = Path(output)
        path = given / path.name if given.is_dir() else given
    figures = {k: v for k, v in report.items() if k != "per_query"}
    write_json_atomic(path, {**figures, "per_query": report.get("per_query")})
    return path


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


def extract_split_features(
    model_path: str,
    dataset_name: str,
    data_dir: str,
    split: str,
    output: str,
    batch_size: int = 128,
    progress: bool = True,
) -> dict:
    """Write the features of `split` ("all" for every split) to `output`; returns the manifest.

    model_path: run, checkpoint or exported model. output: folder for <split>_features.npy,
    labels, paths, feat_<split>.mat and features.json.
    """
    from evaluation.features import MAT_NAMES, extract_distinct, open_feature_model, write_features
    from training.datasets import canonical_name, read_dataset

    dataset = read_dataset(dataset_name, data_dir)
    splits = chosen_splits(dataset, split)
    model = open_feature_model(model_path, batch_size)
    paths = np.concatenate([images.paths for images in splits.values()])
    features = extract_distinct(model, paths, progress=progress)
    out_dir = Path(output)
    summary = {}
    for name, images in splits.items():
        written = write_features(out_dir, name, images, features.of(images.paths))
        summary[name] = {"images": len(images), "files": [p.name for p in written]}
    manifest = {
        "model": model.description,
        "dataset": {
            "name": canonical_name(dataset_name),
            "data_dir": str(Path(data_dir).resolve()),
        },
        "date": timestamp(),
        "feature_dim": int(features.features.shape[1]),
        "splits": summary,
        "mat_files": {name: MAT_NAMES[name] for name in splits},
    }
    write_json_atomic(out_dir / "features.json", manifest)
    return manifest
