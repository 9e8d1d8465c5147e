"""`reid adapt`: a model fitted to the user's own cameras without labels, in one command.

mine -> fine-tune -> export: sure tracklets of the footage become pseudo-identities
(`reid dataset-from-detections`, in OUT/mined), the base run is fine-tuned on them mixed with
the base's own training data when that is still on disk (so it does not forget), and the
adapted run (in OUT) is exported to OUT/model.onnx. Before and after, the separation of
same- and different-tracklet crops (ROC AUC of cosine distances, on a held-out share of the
tracklets that training never sees) is measured; everything lands in OUT/adapt.json. Each
stage resumes on rerun.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from core.atomic import write_json_atomic
from core.errors import ReidError

HELD_OUT_EVERY = 5  # every 5th pseudo-identity is kept out of training to measure separation


def add_adapt_arguments(parser: argparse.ArgumentParser) -> None:
    from deep_sort_bridge.mining import MiningConfig
    from training.options import DEVICES

    parser.add_argument("--base", required=True, help="run folder or checkpoint to adapt")
    parser.add_argument("--mot_dir", "--mot-dir", dest="mot_dir", required=True,
                        help="MOTChallenge folder of the footage, with det/det.txt")  # fmt: skip
    parser.add_argument("--output-dir", "--output_dir", dest="output_dir", required=True,
                        help="the adapted run; OUT/model.onnx is its export")  # fmt: skip
    parser.add_argument("--steps", type=int, default=300, help="fine-tuning steps")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-4, help="peak learning rate")
    parser.add_argument("--backbone-lr-scale", type=float, default=0.5,
                        help="the feature extractor's share of --lr")  # fmt: skip
    parser.add_argument("--no-base-data", action="store_true",
                        help="fine-tune on the mined tracklets only")  # fmt: skip
    parser.add_argument("--min-confidence", type=float, default=MiningConfig().min_confidence)
    parser.add_argument("--min-length", type=int, default=MiningConfig().min_length)
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.add_argument("--no-progress", action="store_true")


def base_sources(base: str) -> list[tuple[str, str]]:
    """(kind, folder) of the base run's training sets that still exist."""
    from training.checkpoints import resolve_checkpoint

    config = (resolve_checkpoint(base).run_file("config.json") or {}).get("config") or {}
    dirs, kinds = config.get("data_dir") or (), config.get("dataset") or "market1501"
    dirs = (dirs,) if isinstance(dirs, str) else tuple(dirs)
    kinds = (kinds,) * len(dirs) if isinstance(kinds, str) else tuple(kinds)
    return [(k, d) for k, d in zip(kinds, dirs, strict=False) if Path(d).is_dir()]


def split_held_out(mined: Path) -> Path:
    """Move every HELD_OUT_EVERY-th pseudo-identity of MINED to MINED-held-out; return it."""
    held_out = mined.with_name(mined.name + "-held-out")
    target = held_out / "bounding_box_test"
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted((mined / "bounding_box_train").glob("*.jpg")):
        if int(path.name[:4]) % HELD_OUT_EVERY == 0:
            path.replace(target / path.name)
    return held_out


def separation(model: str, held_out: Path) -> dict:
    """AUC of same- vs different-tracklet cosine distances over the held-out crops."""
    from evaluation.features import open_feature_model
    from ranking import cosine_distance
    from ranking.separation import separation_auc

    paths = sorted((held_out / "bounding_box_test").glob("*.jpg"))
    identities = np.array([int(p.name[:4]) for p in paths])
    if len(np.unique(identities)) < 2:
        return {"auc": None, "crops": len(paths), "why": "fewer than two held-out tracklets"}
    features = open_feature_model(model).extract([str(p) for p in paths], progress=False)
    distance = cosine_distance(features, features)
    upper = np.triu(np.ones_like(distance, bool), k=1)
    same = identities[:, None] == identities[None, :]
    auc = separation_auc(distance[upper & same], distance[upper & ~same])
    return {"auc": round(auc, 4), "crops": len(paths), "tracklets": len(np.unique(identities))}


def run_adapt(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from deep_sort_bridge.dataset_from_detections import write_dataset_from_detections
    from deep_sort_bridge.mining import MiningConfig
    from encoder.export import export
    from training.checkpoints import resolve_checkpoint
    from training.resume import ResumeMismatch
    from training.train import TrainConfig, train

    if args.steps < 1:
        raise ReidError("--steps must be at least 1.", "Pass e.g. 300.")
    resolve_checkpoint(args.base)  # a wrong base stops here, before any mining
    started = time.perf_counter()
    out = Path(args.output_dir)
    mined = out / "mined"
    print(f"[1/4] Mining sure tracklets of {args.mot_dir} into {mined}")
    config = replace(MiningConfig(), min_confidence=args.min_confidence,
                     min_length=args.min_length)  # fmt: skip
    summary = write_dataset_from_detections(args.mot_dir, mined, config, not args.no_progress)
    held_out = split_held_out(mined)
    print(f"      {summary['identities']} pseudo-identities, {summary['images']} crops "
          f"(every {HELD_OUT_EVERY}th tracklet held out to measure)")  # fmt: skip
    before = separation(args.base, held_out)
    sources = [] if args.no_base_data else base_sources(args.base)
    sources = [("market1501", str(mined))] + sources
    print(f"[2/4] Fine-tuning {args.base} for {args.steps} steps on "
          f"{', '.join(d for _, d in sources)} -> {out}")  # fmt: skip
    training = TrainConfig(
        dataset=tuple(k for k, _ in sources),
        data_dir=tuple(d for _, d in sources),
        output_dir=str(out),
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        device=args.device,
        init_from=args.base,
        backbone_lr_scale=args.backbone_lr_scale,
        validate_every=max(args.steps // 3, 1),
        checkpoint_every=50,
    )
    try:
        result = train(training)
    except ResumeMismatch as mismatch:
        raise mismatch.told_for(
            "It was fine-tuned with other options or defaults.",
            "Use a new --output-dir, or the options the first run used.",
        ) from None
    if result["stopped_by_signal"]:
        return 130
    print(f"[3/4] Exporting {out / 'model.onnx'}")
    export(result["checkpoint"], str(out / "model.onnx"), "onnx", check_data=str(mined))
    after = separation(str(out / "model.onnx"), held_out)
    report = {
        "base": args.base,
        "mot_dir": args.mot_dir,
        "mined": summary,
        "training_sets": [d for _, d in sources],
        "steps": args.steps,
        "separation_before": before,
        "separation_after": after,
        "model": str(out / "model.onnx"),
        "seconds": round(time.perf_counter() - started, 1),
    }
    write_json_atomic(out / "adapt.json", report)
    print(f"[4/4] Held-out tracklet separation (AUC): {before['auc']} before, {after['auc']} "
          f"after; {report['seconds'] / 60:.1f} minutes. Report: {out / 'adapt.json'}")  # fmt: skip
    return 0
