"""Re-id quality of a training recipe on real people: train on CUHK03, score unseen people.

Each row trains one recipe (the defaults of `reid train`, or a named ablation) for a fixed
budget on CUHK03-detected's training identities and scores the checkpoint:
  cuhk03        CUHK03-detected's 100 test people: camera-1 queries, camera-2 gallery
  unseen_pairs  CUHK03-extra's 624 people, camera pairs the model never saw: camera-3 queries,
                camera-4 gallery (skipped with --extra, which trains on those people)
under Market-1501 rules (cosine distance), and writes rank-1/5/10, mAP, mINP, training time and
the training curve to RESULTS/<row>.json (each query's result to RESULTS/queries/<row>.json, for
--compare). Training resumes, and a finished row is not retrained.

    python scripts/bench_quality.py                      # the default recipe, 1,500 x 128
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
from quality_table import (  # noqa: E402
    ablation_table,
    compare_rows,
    format_comparison,
    load_row,
    read_row,
    write_row,
)

from core.native_logs import filter_native_stderr  # noqa: E402
from synthetic.market1501 import SynthConfig  # noqa: E402
from training.train import TrainConfig  # noqa: E402

# The reference implementation's recipe, as `reid train` ran before these defaults.
REFERENCE = {
    "weight_init": "reference",
    "lr": 1e-3,
    "mixstyle": 0.0,
    "augmentations": "flip",
    "initial_kappa": None,
    "fixed_kappa": None,
    "margin": 0.0,
    "label_smoothing": 0.0,
    "lr_schedule": "constant",
    "warmup_fraction": 0.0,
    "loss": "cosine-softmax",
    "weight_decay": 1e-8,
    "precision": "fp32",
    "validation": "held-out",
}
SCALED = {**REFERENCE, "fixed_kappa": 16.0, "lr_schedule": "cosine", "warmup_fraction": 0.1,
          "label_smoothing": 0.1}  # fmt: skip
ALL_AUGMENTATIONS = "flip,scale,pad-crop,color-jitter,blur,erasing"
HE_3E3 = {"weight_init": "he", "lr": 3e-3, "mixstyle": 0.0}

# name -> TrainConfig fields that differ from the defaults of `reid train`. The rows built on
# REFERENCE spell every recipe field out, so they mean the same whatever the defaults become.
ABLATIONS: dict[str, dict] = {
    "default": {},
    # Validate on CUHK03's test split and train on all 743 identities (not adopted).
    "test-split-validation": {"validation": "test-split"},
    "reference": REFERENCE,
    "reference-kappa10": {**REFERENCE, "initial_kappa": 10.0},
    "reference-cosine": {**REFERENCE, "lr_schedule": "cosine", "warmup_fraction": 0.1},
    # The first candidate defaults: fixed scale, smoothing, BoT augmentations, no triplet term.
    "fixed16-ls-padcrop-erasing": {
        **SCALED,
        "augmentations": "flip,pad-crop,erasing",
    },
    "reference-cosine-triplet": {
        **REFERENCE,
        "lr_schedule": "cosine",
        "warmup_fraction": 0.1,
        "loss": "cosine-softmax+triplet",
    },
    "reference-cosine-triplet-padcrop-erasing": {
        **REFERENCE,
        "lr_schedule": "cosine",
        "warmup_fraction": 0.1,
        "loss": "cosine-softmax+triplet",
        "augmentations": "flip,pad-crop,erasing",
    },
    "reference-cosine-kappa4": {
        **REFERENCE,
        "lr_schedule": "cosine",
        "warmup_fraction": 0.1,
        "initial_kappa": 4.0,
    },
    "reference-cosine-padcrop-erasing": {
        **REFERENCE,
        "lr_schedule": "cosine",
        "warmup_fraction": 0.1,
        "augmentations": "flip,pad-crop,erasing",
    },
    "default-bf16": {"precision": "mixed"},
    "default-flip-only": {"augmentations": "flip"},
    "default-learned-kappa": {"fixed_kappa": None},
    "default-all-augment": {"augmentations": ALL_AUGMENTATIONS},
    "default-triplet": {"loss": "cosine-softmax+triplet"},
    # Screens of the new defaults for generalisation to unseen cameras.
    "default-color-jitter": {"augmentations": "flip,color-jitter"},
    "default-padcrop": {"augmentations": "flip,pad-crop"},
    "default-erasing": {"augmentations": "flip,erasing"},
    "default-wd5e-4": {"weight_decay": 5e-4},
    "default-lr3e-3": {"lr": 3e-3},
    # The learned scale starts at softplus(0) = 0.69 and ends near 1.3: the softmax term is weak.
    "default-kappa10": {"initial_kappa": 10.0},
    # 16 people x 8 images per batch: each person seen twice as often, half as many per batch.
    "default-k8": {"images_per_identity": 8},
    # Padding + random crop and random erasing together, at the full budget (the BoT pair).
    "default-padcrop-erasing": {"augmentations": "flip,pad-crop,erasing"},
    # ... with zoom too: CUHK03's test crops are tighter boxes than its training crops.
    "default-scale-padcrop-erasing": {"augmentations": "flip,scale,pad-crop,erasing"},
    # Every regulariser tried so far cost fitting in this budget: less dropout than 0.4.
    "default-dropout0.1": {"dropout": 0.1},
    # Validation rank-1 dips at the peak rate and rises in the decay: a lower peak (BoT's 3.5e-4).
    "default-lr5e-4": {"lr": 5e-4},
    # The softmax term stays gentle (scale near 1); the triplet term does the separating.
    "default-triplet2": {"triplet_weight": 2.0},
    # ... and no softmax term at all: batch-hard triplet alone (Hermans et al. train from scratch).
    "default-triplet-only": {"loss": "triplet"},
    # Adam moves each weight by about the rate per step: at the reference's 1e-3 starting scale
    # that is a large share of every kernel, every step. He's fan-in scale instead.
    "default-he-init": {"weight_init": "he"},
    # At He's scale the same rate turns the kernels ~7x more slowly late in the run: a higher one.
    "default-he-init-lr3e-3": {"weight_init": "he", "lr": 3e-3},
    # That recipe fits the training people in the budget (98% against 77%): regularise it.
    "default-he-init-lr3e-3-padcrop-erasing": {
        "weight_init": "he",
        "lr": 3e-3,
        "augmentations": "flip,pad-crop,erasing",
    },
    "default-he-init-lr3e-3-ls0.1": {"weight_init": "he", "lr": 3e-3, "label_smoothing": 0.1},
    # CUHK03's training crops, ~107 x 302, are shrunk bilinearly (aliased, sharp: Laplacian
    # variance ~4,500); CUHK03-extra ships smoothly pre-resized to 64 x 128 (~2,600).
    "default-blur": {"augmentations": "flip,blur"},
    # CUHK03's camera pairs disagree on colour: one crop in ten in grey.
    "default-grayscale": {"augmentations": "flip,grayscale"},
    # New cameras differ in exposure, tone curve and white balance (CUHK03-extra's pairs more than
    # the training pair), and some see people smaller or softer: screened on He's steadier init.
    "he-lr3e-3-exposure": {**HE_3E3, "augmentations": "flip,exposure"},
    "he-lr3e-3-resolution": {**HE_3E3, "augmentations": "flip,resolution"},
    # Mixing feature statistics between images in training (MixStyle, p = 0.5); then today's
    # defaults with a larger starting scale, a higher rate, weight decay, random erasing.
    "he-lr3e-3-mixstyle": {**HE_3E3, "mixstyle": 0.5},
    "mixstyle-kappa10": {**HE_3E3, "mixstyle": 0.5, "initial_kappa": 10.0},
    "mixstyle-lr6e-3": {**HE_3E3, "mixstyle": 0.5, "lr": 6e-3},
    "mixstyle-wd5e-4": {**HE_3E3, "mixstyle": 0.5, "weight_decay": 5e-4},
    "mixstyle-erasing": {**HE_3E3, "mixstyle": 0.5, "augmentations": "flip,erasing"},
    # CUHK03's test crops are tighter than its training crops (detector boxes): zoom in.
    "mixstyle-scale": {**HE_3E3, "mixstyle": 0.5, "augmentations": "flip,scale"},
    # bfloat16 compute (--precision mixed), 1.13x fp32's speed here (docs/performance).
    "mixstyle-bf16": {**HE_3E3, "mixstyle": 0.5, "precision": "mixed"},
    # An additive cosine margin on the true class (CosFace): people kept further apart.
    "mixstyle-margin0.25": {**HE_3E3, "mixstyle": 0.5, "margin": 0.25},
    "mixstyle-margin0.5": {**HE_3E3, "mixstyle": 0.5, "margin": 0.5},
    # Two images per person, 64 people per batch: more negatives for the batch-hard triplet term.
    "mixstyle-k2": {**HE_3E3, "mixstyle": 0.5, "images_per_identity": 2},
    # Style noise (DSU) in MixStyle's place: statistics moved beyond the batch's own styles.
    "he-lr3e-3-dsu": {**HE_3E3, "style_uncertainty": 0.5},
    # Batches of look-alike people (groups of 4 the classifier confuses): harder triplets.
    "mixstyle-look-alikes3": {**HE_3E3, "mixstyle": 0.5, "look_alikes": 3},
}


# The defaults of `reid train` until MixStyle on He's starting weights replaced them: the rows
# "default-*" named above were measured as changes of these, and keep that meaning.
PREVIOUS_DEFAULTS = {"weight_init": "reference", "lr": 1e-3, "mixstyle": 0.0}
ABLATIONS["previous-default"] = {}
ABLATIONS.update(
    {
        name: {**PREVIOUS_DEFAULTS, **changes}
        for name, changes in ABLATIONS.items()
        if name.startswith(("default-", "previous-default", "test-split-validation"))
    }
)


def row_config(name: str, args, run_dir: Path) -> TrainConfig:
    """The TrainConfig of ablation `name` at this benchmark's budget (+ CUHK03-extra: --extra)."""
    if name not in ABLATIONS:
        raise SystemExit(f"error: unknown ablation {name!r}; --list shows them")
    data = Path(args.data_dir)
    folders = [data / "CUHK03-detected"] + ([data / "CUHK03-extra"] if args.extra else [])
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
        **ABLATIONS[name],
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
    for name in args.ablation or ["default"]:
        run_dir = Path(args.runs) / row_id(name, args)
        # Trained on CUHK03-extra's people, the unseen-camera test would not be unseen.
        run_row(name, row_config(name, args, run_dir), args, unseen_pairs=not args.extra)
    return 0


def row_id(name: str, args) -> str:
    """The file name of a row's JSON (and, for CUHK03 rows, of its run); seed 0 is unmarked."""
    seed = f"-seed{args.seed}" if args.seed else ""
    if name == "synthetic-only":
        return f"synthetic-only-main-job{seed}"
    if name.startswith("synthetic-only-"):
        return f"{name}{seed}"
    return f"{name}{'+extra' if args.extra else ''}-{args.steps}x{args.batch_size}{seed}"


# Variants of the main job (--synthetic-only --ablation NAME): "people" is the number of
# synthetic training identities, the other keys are fields of TrainConfig or of the synthetic
# dataset (SynthConfig); the length stays. Each says what it ran: rows measured before the main
# job chose dropout 0.1 ran the reference's 0.4, rows before camera strength 0.25 ran 1.0.
_DROPOUT_BEFORE = {"dropout": 0.4}
_CAMERAS_BEFORE = {"camera_strength": 1.0}
_BEFORE = {**_DROPOUT_BEFORE, **_CAMERAS_BEFORE}
SYNTHETIC_ABLATIONS: dict[str, dict] = {
    "main-job": {},
    # The main job before its choices: cameras at full strength, then with dropout 0.4 too.
    "camera-strength-1": _CAMERAS_BEFORE,
    "dropout0.4": _BEFORE,
    "held-out-validation": {"validation": "held-out", **_BEFORE},
    "400-people": {"people": 400, **_BEFORE},
    "detector-augment": {"augmentations": "flip,scale,pad-crop,blur", **_BEFORE},
    # Domain randomisation: synthetic colours are purer than a real camera's.
    "color-jitter": {"augmentations": "flip,color-jitter", **_BEFORE},
    "padcrop-erasing": {"augmentations": "flip,pad-crop,erasing", **_BEFORE},
    # Milder camera differences (colour casts, tone, blur) than the generator's default.
    "camera-strength-0.5": {"camera_strength": 0.5, **_DROPOUT_BEFORE},
    # People widened up to 1.35x, as dataset crops of boxes narrower than 1:2 show them.
    "box-stretch-1.35": {"box_stretch": 1.35, **_BEFORE},
    # He's starting weights at three times the rate, as measured on CUHK03.
    "he-init-lr3e-3": {"weight_init": "he", "lr": 3e-3, **_CAMERAS_BEFORE},
    "he-init": {"weight_init": "he", **_CAMERAS_BEFORE},
    # The main job's dropout 0.1 with the milder cameras, each a gain measured alone.
    "camera-strength-0.5-dropout0.1": {"camera_strength": 0.5},
    "triplet-only": {"loss": "triplet", **_CAMERAS_BEFORE},
    # Real cameras differ from the generator's in style: mix feature statistics, vary the tone.
    "mixstyle": {"mixstyle": 0.5, **_CAMERAS_BEFORE},
    "exposure": {"augmentations": "flip,exposure", **_CAMERAS_BEFORE},
    # Neutral cameras (CUHK03's shift colour less than the generator's), weight decay.
    "camera-strength-0": {"camera_strength": 0.0},
    "wd5e-4": {"weight_decay": 5e-4, **_CAMERAS_BEFORE},
    # On the milder cameras: each person in more images, the triplet loss alone, a faster rate.
    "cam0.25-images8": {"camera_strength": 0.25, "images_per_camera": 8},
    "cam0.25-triplet-only": {"camera_strength": 0.25, "loss": "triplet"},
    "cam0.25-lr2e-3": {"camera_strength": 0.25, "lr": 2e-3},
    # Zoomed in: real crops fill the box with the person more than the generator's framing.
    "cam0.25-scale": {"camera_strength": 0.25, "augmentations": "flip,scale"},
    # Softer targets: less confidence in the synthetic people, more left for real ones.
    "cam0.25-ls0.1": {"camera_strength": 0.25, "label_smoothing": 0.1},
    # An additive cosine margin on the true class (CosFace), as screened on CUHK03.
    "margin0.25": {"margin": 0.25},
    # Surface detail real crops show and flat drawing lacks: cloth folds and grain, textured
    # ground, railings (synthetic.detail).
    "detail1": {"detail": 1.0},
    # Two images per person, 32 people per batch of 64 (more negatives for the triplet term).
    "k2": {"images_per_identity": 2},
    # People widened up to 1.5x on today's main job: detectors' boxes of walking people are
    # often 1:2.5 to 1:3, and resized to 1:2 they widen the person by that much.
    "box-stretch-1.5": {"box_stretch": 1.5},
    # Half the crops hold part of a neighbouring pedestrian at a side, as crowds put in boxes.
    "neighbours0.5": {"neighbours": 0.5},
    # Batches of look-alike people (groups of 4 the classifier confuses): harder triplets.
    "look-alikes3": {"look_alikes": 3},
}


def synthetic_only_config(args, name: str = "main-job") -> tuple[TrainConfig, SynthConfig]:
    """The main job's training and synthetic dataset (`name` "main-job": unchanged, else the
    ablation's changes to either); the dataset is written once under --runs."""
    from reid.demo import main_job_datasets, main_job_training
    from synthetic.market1501 import write_synthetic_market1501

    if name not in SYNTHETIC_ABLATIONS:
        raise SystemExit(f"error: unknown --synthetic-only ablation {name!r}; --list shows them")
    changes = dict(SYNTHETIC_ABLATIONS[name])
    people = changes.pop("people", main_job_datasets().train_identities)
    synth_fields = {f.name for f in dataclasses.fields(SynthConfig)}
    synth_changes = {k: changes.pop(k) for k in list(changes) if k in synth_fields}
    dataset = dataclasses.replace(main_job_datasets(people), **synth_changes)
    # Named by what differs from the generator's defaults, so one folder holds one dataset.
    generator = dataclasses.asdict(SynthConfig())
    suffix = "".join(
        f"-{k}{v}"
        for k, v in sorted(dataclasses.asdict(dataset).items())
        if k != "train_identities" and v != generator[k]
    )
    data_dir = Path(args.runs) / f"market1501-synth-{people}{suffix}"
    write_synthetic_market1501(data_dir, dataset, progress=False)
    run_dir = Path(args.runs) / row_id(f"synthetic-only-{name}", args)
    config = main_job_training(data_dir, run_dir, device="cpu", seed=args.seed)
    return dataclasses.replace(config, log_every=50, **changes), dataset


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    sys.exit(main())
