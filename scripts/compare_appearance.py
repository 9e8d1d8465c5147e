"""Does a model track better than no appearance at all? HOTA, IDF1 and co. with and without it.

One run: features for every detection (`generate_detections` with the model), then the deep_sort
tracker on the same detections three ways, each scored against the ground truth: box overlap
only (the cascade's cosine gate closed), appearance with deep_sort's fixed gate 0.2, and
appearance with the gate `reid calibrate` fits to the model on *other* sequences (synthetic ones
with --calibration-seed, or --calibration-mot-dir), so the calibration is not scored on the
sequences it was fitted on.

Sequences: --mot-dir (with gt/gt.txt), else synthetic ones written to a temporary folder by the
synthetic MOT writer (`reid synth mot`) with --seed.

Usage:
    .venv/bin/python scripts/compare_appearance.py --model model.onnx [--mot-dir DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.atomic import write_json_atomic  # noqa: E402

GAINS = ("hota", "assa", "idf1", "mota", "id_switches")


def _synthetic(folder: Path, sequences: int, seed: int) -> Path:
    from synthetic.mot import SynthMotConfig, write_synthetic_mot

    write_synthetic_mot(folder, SynthMotConfig(sequences=sequences, seed=seed), progress=False)
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help=".onnx, frozen .pb or SavedModel")
    parser.add_argument("--mot-dir", default=None, help="MOT folder (default: synthetic)")
    parser.add_argument("--sequences", type=int, default=2, help="synthetic sequences")
    parser.add_argument("--seed", type=int, default=0, help="synthetic sequences' seed")
    parser.add_argument("--calibration-mot-dir", default=None, help="calibrate on these")
    parser.add_argument("--calibration-seed", type=int, default=100, help="else synthetic ones")
    parser.add_argument("--output", default="compare_appearance.json")
    args = parser.parse_args()

    from deep_sort_bridge import metrics
    from deep_sort_bridge.calibrate import calibrate
    from deep_sort_bridge.generate import generate_detections
    from deep_sort_bridge.sequences import score_columns, score_sequences, track_sequences
    from deep_sort_bridge.tracking import TrackerConfig
    from encoder import Encoder

    workdir = Path(tempfile.mkdtemp(prefix="compare_appearance_"))
    mot_dir = Path(args.mot_dir) if args.mot_dir else workdir / "mot"
    if args.mot_dir is None:
        _synthetic(mot_dir, args.sequences, args.seed)
    calibration_dir = Path(args.calibration_mot_dir or workdir / "calibration_mot")
    if args.calibration_mot_dir is None:
        _synthetic(calibration_dir, args.sequences, args.calibration_seed)
    model = workdir / Path(args.model).name  # a copy, so the user's model card is left as it is
    shutil.copy(args.model, model)
    calibration = calibrate(model, calibration_dir, workdir / "calibration", progress=False)
    gate = calibration["max_cosine_distance"]
    encoder = Encoder(model)
    generate_detections(encoder.encode, mot_dir, workdir / "detections", progress=True)

    modes = {
        "overlap_only": TrackerConfig(appearance=False),
        "appearance_fixed_0.2": TrackerConfig(),
        "appearance_calibrated": TrackerConfig(max_cosine_distance=gate),
    }
    scores = {}
    for mode, config in modes.items():
        results_dir = workdir / f"results_{mode}"
        track_sequences(mot_dir, results_dir, config, detections_dir=workdir / "detections",
                        progress=False, log=lambda message: None)  # fmt: skip
        scores[mode] = score_sequences(mot_dir, results_dir)["scores"]
        print(f"\n{mode}:\n{metrics.format_table(scores[mode], score_columns())}")
    overall = {mode: table["OVERALL"] for mode, table in scores.items()}
    gains = {
        mode: {k: float(np.round(overall[mode][k] - overall["overlap_only"][k], 4)) for k in GAINS}
        for mode in modes
        if mode != "overlap_only"
    }
    print(f"\nCalibrated gate {gate:g} (on {calibration_dir}); overall:")
    for mode in modes:
        o = overall[mode]
        print(f"  {mode:24s} HOTA {100 * o['hota']:.1f}  IDF1 {100 * o['idf1']:.1f}  "
              f"AssA {100 * o['assa']:.1f}  ID switches {o['id_switches']}")  # fmt: skip
    write_json_atomic(
        args.output,
        {
            "model": str(args.model),
            "model_sha256": encoder.sha256,
            "mot_dir": str(mot_dir) if args.mot_dir else f"synthetic, seed {args.seed}",
            "calibration": {
                "mot_dir": str(calibration_dir)
                if args.calibration_mot_dir
                else f"synthetic, seed {args.calibration_seed}",
                **{k: calibration[k] for k in ("max_cosine_distance", "method", "pairs", "median")},
            },
            "scores": scores,
            "minus_overlap_only": gains,
        },
    )
    print(f"Written {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
