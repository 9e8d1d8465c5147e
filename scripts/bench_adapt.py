"""Does `reid adapt` help? Mining purity, and separation and IDF1 before/after, on synthetic gt.

One run:
1. footage: synthetic MOT sequences (--footage-seed), their ground truth kept aside;
2. `reid adapt --base BASE` on the footage's detections alone (no labels);
3. on the footage's gt: purity of the mined tracklets (share whose crops are all one person),
   mixed tracklets, people covered;
4. on *other* synthetic sequences (--evaluation-seed; neither used to choose the mining
   settings): separation AUC of same- vs different-identity gt boxes 1..30 frames apart
   (where deep_sort matches), and HOTA / IDF1 of tracking their detections, base vs adapted
   model (deep_sort's default gate and, for each model, the gate `reid calibrate` fits on
   the footage).
Results go to --output (JSON).

Usage:
    .venv/bin/python scripts/bench_adapt.py --base runs/demo/run [--output bench_adapt.json]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.atomic import write_json_atomic  # noqa: E402

WINDOW = 30  # frames: deep_sort's max_age


def separation_on_gt(model: Path, mot_dir: Path) -> dict:
    from deep_sort_bridge.calibrate import groundtruth_separation
    from encoder import Encoder

    return groundtruth_separation(mot_dir, Encoder(model).encode_boxes, WINDOW)


def tracking_scores(model: Path, mot_dir: Path, workdir: Path, gate: float) -> dict:
    from deep_sort_bridge.generate import generate_detections
    from deep_sort_bridge.sequences import score_sequences, track_sequences
    from deep_sort_bridge.tracking import TrackerConfig
    from encoder import Encoder

    detections = workdir / "detections"
    generate_detections(Encoder(model).encode, mot_dir, detections, progress=False)
    results = workdir / f"results-{gate:g}"
    track_sequences(mot_dir, results, TrackerConfig(max_cosine_distance=gate),
                    detections_dir=detections, progress=False, log=lambda m: None)  # fmt: skip
    overall = score_sequences(mot_dir, results)["scores"]["OVERALL"]
    return {k: overall[k] for k in ("hota", "idf1", "assa", "id_switches")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="run to adapt (e.g. runs/demo/run)")
    parser.add_argument("--footage-seed", type=int, default=21)
    parser.add_argument("--evaluation-seed", type=int, default=22)
    parser.add_argument("--sequences", type=int, default=3)
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--steps", type=int, default=300, help="reid adapt's --steps")
    parser.add_argument("--output", default="bench_adapt.json")
    args = parser.parse_args()

    from deep_sort_bridge import mot_io
    from deep_sort_bridge.calibrate import calibrate
    from deep_sort_bridge.mining import mine_tracklets, purity
    from encoder.export import export
    from reid.cli import main as reid
    from synthetic.mot import SynthMotConfig, write_synthetic_mot

    work = Path(tempfile.mkdtemp(prefix="bench_adapt_"))
    footage, evaluation = work / "footage", work / "evaluation"
    for folder, seed in ((footage, args.footage_seed), (evaluation, args.evaluation_seed)):
        config = SynthMotConfig(sequences=args.sequences, frames=args.frames, seed=seed)
        write_synthetic_mot(folder, config, progress=False)

    started = time.perf_counter()
    adapted_dir = work / "adapted"
    code = reid(["adapt", "--base", args.base, "--mot_dir", str(footage), "--output-dir",
                 str(adapted_dir), "--steps", str(args.steps), "--no-progress"])  # fmt: skip
    if code:
        return code
    adapt_seconds = time.perf_counter() - started

    mining = {}
    for sequence in mot_io.list_sequences(footage):
        det = mot_io.read_detections(sequence / "det" / "det.txt")
        gt = mot_io.read_groundtruth(sequence / "gt" / "gt.txt")
        mining[sequence.name] = purity(mine_tracklets(det), gt)
    pure = sum(m["pure"] for m in mining.values())
    tracklets = sum(m["tracklets"] for m in mining.values())

    base_model = work / "base.onnx"
    export(args.base, str(base_model), "onnx")
    models = {"base": base_model, "adapted": adapted_dir / "model.onnx"}
    evaluation_rows = {}
    for name, model in models.items():
        gate = calibrate(model, footage, work / f"calibration-{name}", write_card=False,
                         progress=False)["max_cosine_distance"]  # fmt: skip
        evaluation_rows[name] = {
            "separation": separation_on_gt(model, evaluation),
            "tracking_gate_0.2": tracking_scores(model, evaluation, work / name, 0.2),
            "calibrated_gate": gate,
            "tracking_calibrated_gate": tracking_scores(model, evaluation, work / name, gate),
        }
        print(f"{name}: {evaluation_rows[name]}", flush=True)
    result = {
        "base": args.base,
        "footage": {"seed": args.footage_seed, "sequences": args.sequences, "frames": args.frames},
        "evaluation": {
            "seed": args.evaluation_seed,
            "sequences": args.sequences,
            "frames": args.frames,
        },  # fmt: skip
        "adapt_seconds": round(adapt_seconds, 1),
        "adapt_steps": args.steps,
        "mining": {
            "per_sequence": mining,
            "purity": pure / tracklets if tracklets else 0.0,
            "tracklets": tracklets,
        },  # fmt: skip
        "models": evaluation_rows,
    }
    write_json_atomic(args.output, result)
    b, a = evaluation_rows["base"], evaluation_rows["adapted"]
    print(f"\nmining purity {result['mining']['purity']:.3f} over {tracklets} tracklets; "
          f"adapt took {adapt_seconds / 60:.1f} min")  # fmt: skip
    print(f"separation AUC (gt pairs <= {WINDOW} frames apart, unseen sequences): "
          f"base {b['separation']['auc']:.4f} -> adapted {a['separation']['auc']:.4f}")  # fmt: skip
    for key in ("tracking_gate_0.2", "tracking_calibrated_gate"):
        print(f"{key}: IDF1 {100 * b[key]['idf1']:.1f} -> {100 * a[key]['idf1']:.1f}, "
              f"HOTA {100 * b[key]['hota']:.1f} -> {100 * a[key]['hota']:.1f}")  # fmt: skip
    print(f"Written {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
