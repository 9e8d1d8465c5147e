"""Re-id quality of a training recipe on real people: train on CUHK03, score unseen people.

Each row trains one recipe (the defaults of `reid train`, or a named ablation) for a fixed
budget on CUHK03-detected's training identities and scores the checkpoint:
  cuhk03        CUHK03-detected's 100 test people: camera-1 queries, camera-2 gallery
  unseen_pairs  CUHK03-extra's 624 people, camera pairs the model never saw: camera-3 queries,
                camera-4 gallery (skipped with --extra, which trains on those people)
under Market-1501 rules (cosine distance), and writes rank-1/5/10, mAP, mINP, training time and
the training curve to RESULTS/<row>.json (each query's result to RESULTS/queries/<row>.json, for
--compare). Training resumes, and a finished row is not retrained.

    python scripts/bench_quality.py                      # the defaults (DEFAULTS_ROW), 1,500 x 128
    python scripts/bench_quality.py --ablation reference --ablation default-flip-only
    python scripts/bench_quality.py --extra              # + CUHK03-extra's 624 people
    python scripts/bench_quality.py --synthetic-only     # the main job's training
    python scripts/bench_quality.py --baseline           # colour histograms, nothing learned
    python scripts/bench_quality.py --steps 300 --list   # what the ablations change
    python scripts/bench_quality.py --compare ROW BASE   # paired intervals of ROW - BASE

Reads the data from REID_REALDATA_DIR (or --data-dir).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from benchlib import describe_machine  # noqa: E402
from quality_ablations import ABLATIONS, DEFAULTS_ROW, MAIN_JOB_RUN, SYNTHETIC_ABLATIONS  # noqa: E402
from quality_table import (  # noqa: E402
    ablation_table,
    compare_rows,
    compare_seeds,
    format_comparison,
    format_seeded_comparison,
    load_row,
    read_row,
    seed_suffix,
    write_row,
)

from core.native_logs import filter_native_stderr  # noqa: E402
from synthetic.market1501 import SynthConfig  # noqa: E402
from training.train import TrainConfig  # noqa: E402


def row_config(name: str, args, run_dir: Path) -> TrainConfig:
    """The TrainConfig of ablation `name` at this benchmark's budget (+ CUHK03-extra: --extra)."""
    if name not in ABLATIONS:
        raise SystemExit(f"error: unknown ablation {name!r}; --list shows them")
    changes = dict(ABLATIONS[name])
    if changes.get("init_from") == MAIN_JOB_RUN:
        start = Path(args.runs) / row_id("synthetic-only", args)
        if not (start / "summary.json").exists():
            raise SystemExit(
                f"error: ablation {name!r} starts from the main job's run {start}, which is not "
                f"trained: run `python scripts/bench_quality.py --synthetic-only --seed "
                f"{args.seed}` first"
            )
        changes["init_from"] = str(start)
    data = Path(args.data_dir)
    folders = [data / "CUHK03-detected"] + ([data / "CUHK03-extra"] if args.extra else [])
    if synthetic_people := changes.pop("synthetic_people", 0):
        from reid.demo import main_job_datasets

        folders.append(write_synthetic_set(args, main_job_datasets(synthetic_people)))
    return dataclasses.replace(
        TrainConfig(),
        dataset="market1501",
        data_dir=str(folders[0]) if len(folders) == 1 else tuple(str(f) for f in folders),
        output_dir=str(run_dir),
        steps=args.steps,
        batch_size=args.batch_size,
        device="cpu",
        seed=args.seed,
        validate_every=max(args.steps // 5, 1),
        checkpoint_every=100,
        log_every=50,
        **changes,
    )


def _scores(result: dict, query_ids) -> dict:
    """A ranking's figures, with identity-bootstrap intervals of rank-1 and mAP and each valid
    query's person, rank-1 hit and AP, which `--compare` pairs between rows (`result` from
    `evaluate_ranking(..., per_query=True)`)."""
    from ranking import per_query_results, ranking_intervals

    cmc = result["cmc"]
    return {
        "rank1": float(cmc[0]),
        "rank5": float(cmc[4]),
        "rank10": float(cmc[9]),
        "mAP": float(result["mAP"]),
        "mINP": float(result["mINP"]),
        "num_valid_queries": int(result["num_valid_queries"]),
        **ranking_intervals(result, query_ids),
        "per_query": per_query_results(result, query_ids),
    }


def score_checkpoint(checkpoint: str, data_dir: Path, unseen_pairs: bool) -> dict:
    """`score_model` of a training checkpoint or run."""
    from evaluation.features import open_feature_model

    return score_model(open_feature_model(checkpoint, batch_size=256), data_dir, unseen_pairs)


def score_model(model, data_dir: Path, unseen_pairs: bool) -> dict:
    """Scores on CUHK03's test people, if asked on CUHK03-extra's camera 3 -> camera 4, and the
    separation of MOT17-mini's tracked people (gt boxes cut from the frames as deep_sort cuts
    them, pairs up to deep_sort's max_age apart). `model` has `extract(paths)` and
    `encode_crops(crops)`, as `evaluation.features.FeatureModel`."""
    from deep_sort_bridge.calibrate import groundtruth_separation
    from encoder.crops import crop_boxes
    from ranking import cosine_distance, evaluate_ranking
    from training.datasets import read_dataset
    from training.datasets.split import subset

    def rank(query, gallery, subsets: bool = False) -> dict:
        q = model.extract(query.paths, progress=False)
        g = model.extract(gallery.paths, progress=False)
        distances = cosine_distance(q, g)
        result = evaluate_ranking(
            distances, query.identities, gallery.identities, query.cameras, gallery.cameras,
            per_query=True,
        )  # fmt: skip
        scores = _scores(result, query.identities)
        if subsets:
            scores["rank1_100ids"] = rank1_on_identity_subsets(distances, query, gallery)
        return scores

    cuhk03 = read_dataset("market1501", data_dir / "CUHK03-detected")
    scores = {"cuhk03": rank(cuhk03.query, cuhk03.gallery)}
    if unseen_pairs:
        extra = read_dataset("market1501", data_dir / "CUHK03-extra").train
        query = subset(extra, extra.cameras == 3, keep_skipped=False)
        gallery = subset(extra, extra.cameras == 4, keep_skipped=False)
        scores["unseen_pairs"] = rank(query, gallery, subsets=True)
    mot_dir = data_dir / "MOT17-mini" / "train"
    if mot_dir.is_dir():
        scores["mot17"] = groundtruth_separation(
            mot_dir, lambda frame, boxes: model.encode_crops(crop_boxes(frame, boxes)[0])
        )
    return scores


def rank1_on_identity_subsets(
    distances: np.ndarray, query, gallery, identities: int = 100, trials: int = 20
) -> float:
    """Mean rank-1 over `trials` random sets of `identities` people (their queries against their
    gallery images): the unseen pairs at the size of CUHK03's 100-person test, so that the two
    figures differ by the cameras, not by how many people the gallery holds."""
    from ranking import evaluate_ranking

    people = np.unique(query.identities)
    rng = np.random.default_rng(0)
    rank1 = []
    for _ in range(trials):
        chosen = rng.choice(people, size=min(identities, len(people)), replace=False)
        q, g = np.isin(query.identities, chosen), np.isin(gallery.identities, chosen)
        result = evaluate_ranking(
            distances[q][:, g],
            query.identities[q], gallery.identities[g], query.cameras[q], gallery.cameras[g],
        )  # fmt: skip
        rank1.append(float(result["cmc"][0]))
    return float(np.mean(rank1))


def row_changes(name: str) -> dict:
    """What row `name` changes from the defaults (of `reid train`, or of the main job)."""
    if name.startswith("synthetic-only"):
        return SYNTHETIC_ABLATIONS.get(name.removeprefix("synthetic-only").lstrip("-"), {})
    return ABLATIONS.get(name, {})


def training_curve(run_dir: Path) -> list[dict]:
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    keep = ("step", "loss", "accuracy", "kappa", "validation_rank1")
    return [{k: r[k] for k in keep if k in r} for r in rows]


def run_row(
    name: str, config: TrainConfig, args, unseen_pairs: bool, synthetic: SynthConfig | None = None
) -> dict:
    """Train row `name` (unless its JSON exists), score it and write RESULTS/<row>.json.

    `unseen_pairs`: also score CUHK03-extra's camera pairs; `synthetic`: the synthetic dataset
    the row trained on, recorded with it.
    """
    from training.train import train

    result_path = Path(args.results) / f"{row_id(name, args)}.json"
    if result_path.exists():
        row = load_row(result_path)
        if not args.force:
            print(f"{result_path} exists; skipping (--force rescores it).")
            return row
        return rescore_row(
            row, result_path, Path(config.output_dir), Path(args.data_dir), unseen_pairs
        )
    print(f"== {name}: {config.steps} steps x {config.batch_size} in {config.output_dir}")
    started = time.perf_counter()
    summary = train(config)
    if summary["stopped_by_signal"]:
        raise SystemExit(130)
    scores = score_checkpoint(summary["checkpoint"], Path(args.data_dir), unseen_pairs)
    row = {
        "name": name,
        "changes": row_changes(name),
        **score_fields(scores),
        "train_seconds": summary["seconds"],
        # > 0: train_seconds cover a resumed part (None: a summary written before it was kept)
        "train_start_step": summary.get("start_step"),
        "images_per_second": summary["images_per_second"],
        "wall_seconds_this_call": time.perf_counter() - started,
        "final_loss": summary["loss"],
        "final_accuracy": summary["accuracy"],
        "validation_rank1": summary["validation_rank1"],
        "config": dataclasses.asdict(config),
        **({"synthetic": dataclasses.asdict(synthetic)} if synthetic else {}),
        "curve": training_curve(Path(config.output_dir)),
        "machine": describe_machine(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    write_row(result_path, row)
    print(json.dumps(headline(row)))
    return row


def run_baseline(args) -> dict:
    """The colour-histogram row: nothing trained, the same tests (RESULTS/colour-histogram.json)."""
    from evaluation.colour_histogram import ColourHistogramModel

    result_path = Path(args.results) / "colour-histogram.json"
    model = ColourHistogramModel()
    started = time.perf_counter()
    scores = score_model(model, Path(args.data_dir), unseen_pairs=True)
    row = {
        "name": "colour-histogram",
        "changes": {"features": "HSV histograms of horizontal stripes, nothing learned"},
        "model": model.description,
        **score_fields(scores),
        "wall_seconds_this_call": time.perf_counter() - started,
        "machine": describe_machine(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    write_row(result_path, row)
    print(json.dumps(headline(row)))
    return row


def headline(row: dict) -> dict:
    """A row without its long parts (configuration, curve, machine, per-query values)."""
    long = ("config", "curve", "machine")
    return {k: v for k, v in row.items() if k not in long and not k.endswith("_per_query")}


def score_fields(scores: dict) -> dict:
    return {f"{test}_{k}": v for test, values in scores.items() for k, v in values.items()}


def rescore_row(
    row: dict, result_path: Path, run_dir: Path, data_dir: Path, unseen_pairs: bool
) -> dict:
    """Score a finished row's last checkpoint again (in `run_dir`, else where the row says it
    trained); its training figures are kept."""
    if not (run_dir / "checkpoints").is_dir():
        run_dir = Path(row["config"]["output_dir"])
    if not (run_dir / "checkpoints").is_dir():
        raise SystemExit(f"error: cannot rescore {result_path}: its run {run_dir} is gone")
    print(f"== rescoring {row['name']} from {run_dir}")
    row = {**row, **score_fields(score_checkpoint(str(run_dir), data_dir, unseen_pairs))}
    row["rescored"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    write_row(result_path, row)
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("REID_REALDATA_DIR"))
    parser.add_argument("--ablation", action="append", default=[], help="row name (repeatable)")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument(
        "--seed", type=int, default=0, help="training seed; rows of another seed than 0 are marked"
    )
    parser.add_argument("--runs", default="runs/quality", help="training runs go here")
    parser.add_argument("--results", default="docs/quality", help="JSON rows go here")
    parser.add_argument(
        "--force",
        action="store_true",
        help="rescore rows that have results (from their runs' last checkpoints)",
    )
    parser.add_argument("--extra", action="store_true", help="train on CUHK03-extra's people too")
    parser.add_argument(
        "--synthetic-only",
        action="store_true",
        help="score the main job's training (synthetic people, its own length) instead",
    )
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="score the colour-histogram baseline (nothing trained) instead",
    )
    parser.add_argument("--list", action="store_true", help="print the ablations and exit")
    parser.add_argument(
        "--table", action="store_true", help="print the markdown table of RESULTS and exit"
    )
    parser.add_argument(
        "--compare",
        nargs=2,
        metavar=("ROW", "BASE"),
        help="how far ROW is ahead of BASE on the same test people (row names of RESULTS, "
        "e.g. mixstyle-wd5e-4-1500x128, or JSON paths), with paired bootstrap intervals; exit",
    )
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # progress reaches a log file as it happens
    filter_native_stderr()
    if args.table:
        print(ablation_table(Path(args.results)), end="")
        return 0
    if args.compare:
        rows = [read_row(Path(args.results), name) for name in args.compare]
        print(format_comparison(*args.compare, compare_rows(*rows)))
        if seeded := compare_seeds(Path(args.results), *args.compare):
            print(format_seeded_comparison(*seeded))
        return 0
    if args.list:
        for name, changes in ABLATIONS.items():
            print(f"{name:36s} {changes}")
        for name, changes in SYNTHETIC_ABLATIONS.items():
            print(f"--synthetic-only --ablation {name:20s} {changes}")
        return 0
    if not args.data_dir or not (Path(args.data_dir) / "CUHK03-detected").is_dir():
        print(
            "error: no real data: set REID_REALDATA_DIR (or --data-dir) to the folder holding "
            "CUHK03-detected/ and CUHK03-extra/.",
            file=sys.stderr,
        )
        return 2
    Path(args.results).mkdir(parents=True, exist_ok=True)
    if args.baseline:
        run_baseline(args)
        return 0
    if args.synthetic_only:
        for name in args.ablation or ["main-job"]:
            row = "synthetic-only" if name == "main-job" else f"synthetic-only-{name}"
            config, dataset = synthetic_only_config(args, name)
            run_row(row, config, args, unseen_pairs=True, synthetic=dataset)
        return 0
    for name in args.ablation or [DEFAULTS_ROW]:
        run_dir = Path(args.runs) / row_id(name, args)
        # Trained on CUHK03-extra's people, the unseen-camera test would not be unseen.
        run_row(name, row_config(name, args, run_dir), args, unseen_pairs=not args.extra)
    return 0


def row_id(name: str, args) -> str:
    """The file name of a row's JSON (and, for CUHK03 rows, of its run); seed 0 is unmarked."""
    seed = seed_suffix(args.seed)
    if name == "synthetic-only":
        return f"synthetic-only-main-job{seed}"
    if name.startswith("synthetic-only-"):
        return f"{name}{seed}"
    return f"{name}{'+extra' if args.extra else ''}-{args.steps}x{args.batch_size}{seed}"


def synthetic_only_config(args, name: str = "main-job") -> tuple[TrainConfig, SynthConfig]:
    """The main job's training and synthetic dataset (`name` "main-job": unchanged, else the
    ablation's changes to either); the dataset is written once under --runs."""
    from reid.demo import main_job_datasets, main_job_training

    if name not in SYNTHETIC_ABLATIONS:
        raise SystemExit(f"error: unknown --synthetic-only ablation {name!r}; --list shows them")
    changes = dict(SYNTHETIC_ABLATIONS[name])
    people = changes.pop("people", main_job_datasets().train_identities)
    synth_fields = {f.name for f in dataclasses.fields(SynthConfig)}
    synth_changes = {k: changes.pop(k) for k in list(changes) if k in synth_fields}
    dataset = dataclasses.replace(main_job_datasets(people), **synth_changes)
    data_dir = write_synthetic_set(args, dataset)
    run_dir = Path(args.runs) / row_id(f"synthetic-only-{name}", args)
    config = main_job_training(data_dir, run_dir, device="cpu", seed=args.seed)
    return dataclasses.replace(config, log_every=50, **changes), dataset


def write_synthetic_set(args, dataset: SynthConfig) -> Path:
    """The folder of synthetic `dataset` under --runs, written on first use and named by what
    differs from the generator's defaults, so one folder holds one dataset."""
    from synthetic.market1501 import write_synthetic_market1501

    generator = dataclasses.asdict(SynthConfig())
    suffix = "".join(
        f"-{k}{v}"
        for k, v in sorted(dataclasses.asdict(dataset).items())
        if k != "train_identities" and v != generator[k]
    )
    data_dir = Path(args.runs) / f"market1501-synth-{dataset.train_identities}{suffix}"
    write_synthetic_market1501(data_dir, dataset, progress=False)
    return data_dir


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    sys.exit(main())
