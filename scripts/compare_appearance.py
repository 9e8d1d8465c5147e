"""Does a model track better than no appearance at all? IDF1 and co. with and without it.

One run: features for every detection (`generate_detections` with the model), then the deep_sort
tracker twice on the same detections, with appearance (deep_sort's defaults) and with box
overlap only (the cascade's cosine gate closed), each scored against the ground truth.

Sequences: --mot-dir (with gt/gt.txt), else synthetic ones written to a temporary folder by the
synthetic MOT writer (`reid synth mot`) with --seed.

Usage:
    .venv/bin/python scripts/compare_appearance.py --model model.onnx [--mot-dir DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.atomic import write_json_atomic  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help=".onnx, frozen .pb or SavedModel")
    parser.add_argument("--mot-dir", default=None, help="MOT folder (default: synthetic)")
    parser.add_argument("--sequences", type=int, default=2, help="synthetic sequences")
    parser.add_argument("--seed", type=int, default=0, help="synthetic sequences' seed")
    parser.add_argument("--output", default="compare_appearance.json")
    args = parser.parse_args()

    from deep_sort_bridge import metrics
    from deep_sort_bridge.generate import generate_detections
    from deep_sort_bridge.sequences import score_columns, score_sequences, track_sequences
    from deep_sort_bridge.tracking import TrackerConfig
    from encoder import Encoder

    workdir = Path(tempfile.mkdtemp(prefix="compare_appearance_"))
    mot_dir = Path(args.mot_dir) if args.mot_dir else workdir / "mot"
    if args.mot_dir is None:
        from synthetic.mot import SynthMotConfig, write_synthetic_mot

        config = SynthMotConfig(sequences=args.sequences, seed=args.seed)
        write_synthetic_mot(mot_dir, config, progress=False)
    encoder = Encoder(args.model)
    generate_detections(encoder.encode, mot_dir, workdir / "detections", progress=True)

    scores = {}
    for mode, appearance in (("appearance", True), ("overlap_only", False)):
        results_dir = workdir / f"results_{mode}"
        track_sequences(
            mot_dir,
            results_dir,
            TrackerConfig(appearance=appearance),
            detections_dir=workdir / "detections",
            progress=False,
            log=lambda message: None,
        )
        scores[mode] = score_sequences(mot_dir, results_dir)["scores"]
    for mode, table in scores.items():
        print(f"\n{mode}:\n{metrics.format_table(table, score_columns())}")
    overall = {mode: table["OVERALL"] for mode, table in scores.items()}
    gain = {
        key: overall["appearance"][key] - overall["overlap_only"][key]
        for key in ("hota", "assa", "idf1", "mota", "id_switches")
    }
    print(
        f"\nHOTA with appearance {100 * overall['appearance']['hota']:.1f}, overlap only "
        f"{100 * overall['overlap_only']['hota']:.1f}; "
        f"IDF1 with appearance {100 * overall['appearance']['idf1']:.1f}, overlap only "
        f"{100 * overall['overlap_only']['idf1']:.1f}; ID switches "
        f"{overall['appearance']['id_switches']} vs {overall['overlap_only']['id_switches']}"
    )
    write_json_atomic(
        args.output,
        {
            "model": str(args.model),
            "model_sha256": encoder.sha256,
            "mot_dir": str(mot_dir) if args.mot_dir else f"synthetic, seed {args.seed}",
            "scores": scores,
            "appearance_minus_overlap": {k: float(np.round(v, 4)) for k, v in gain.items()},
        },
    )
    print(f"Written {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
