"""Re-id training data from unlabelled footage: mined tracklets as pseudo-identities.

For MOTChallenge sequences with `det/det.txt` and no ground truth (or a video turned into one by
`reid video-to-mot`), `deep_sort_bridge.mining` finds the tracklets a cautious tracker is sure of;
each becomes one identity, its sequence the camera, and `crops_per_tracklet` crops spread over
its life go to `OUT/bounding_box_train/` in the Market-1501 layout, cut with deep_sort's rules.
The folder is written and resumed like `reid dataset-from-mot`'s; `OUT/identities.csv` maps
every pseudo-identity back to its sequence and tracklet.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np

from core.errors import DatasetError
from deep_sort_bridge import mot_io
from deep_sort_bridge.dataset_from_mot import TrackDatasetKind, write_track_dataset
from deep_sort_bridge.mining import MiningConfig, mine_tracklets, spread_rows

MINED = TrackDatasetKind(
    "dataset_from_detections.json", ".dataset_from_detections-partial.json",
    "reid-dataset-from-detections", "a re-id dataset mined from detections",
    "`reid dataset-from-detections`",
)  # fmt: skip


def validate(config: MiningConfig) -> None:
    checks = (
        (config.min_confidence >= 0.0, "--min-confidence must not be negative"),
        (0.0 <= config.max_overlap <= 1.0, "--max-overlap must be between 0 and 1"),
        (0.0 < config.min_iou <= 1.0, "--min-iou must be in (0, 1]"),
        (0.0 <= config.ambiguity < 1.0, "--ambiguity must be in [0, 1)"),
        (config.min_length >= 2, "--min-length must be at least 2 frames"),
        (config.crops_per_tracklet >= 2, "--crops-per-tracklet must be at least 2"),
    )
    for ok, message in checks:
        if not ok:
            raise DatasetError(f"Invalid setting: {message}.", "Change the option.")


def write_dataset_from_detections(
    mot_dir: str | Path, out_dir: str | Path, config: MiningConfig | None = None,
    progress: bool = True,
) -> dict:  # fmt: skip
    """Mine every sequence of `mot_dir` and write the pseudo-identities to `out_dir`.

    config: how cautious the mining is (default `MiningConfig()`).

    Refuses, naming the fix, sequences without detections, detections none of which is
    confident, and sequences too short or crowded for any tracklet of `min_length` frames;
    nothing half written is left as if complete (the record is written last).
    """
    config = config or MiningConfig()
    validate(config)
    sequences = [s for s in mot_io.list_sequences(mot_dir) if (s / "det" / "det.txt").is_file()]
    if not sequences:
        raise DatasetError(
            f"No sequence of {mot_dir} has detections (det/det.txt).",
            "Run your detector and write its boxes as det/det.txt (frame,-1,x,y,w,h,confidence "
            "per line), or pass --detections to `reid video-to-mot`.",
        )
    counts = {"detections": 0, "confident": 0, "best_confidence": 0.0}

    def tracks_of(sequence_dir: Path, info, frames) -> tuple[np.ndarray, dict]:
        det = mot_io.read_detections(sequence_dir / "det" / "det.txt")
        det = det[np.isin(det[:, 0].astype(np.int64), list(frames))]
        confident = int((det[:, 6] >= config.min_confidence).sum()) if len(det) else 0
        counts["detections"] += len(det)
        counts["confident"] += confident
        if len(det):
            counts["best_confidence"] = max(counts["best_confidence"], float(det[:, 6].max()))
        tracklets = mine_tracklets(det, config) if len(det) else []
        sampled = [spread_rows(t, config.crops_per_tracklet) for t in tracklets]
        rows = np.concatenate(sampled) if sampled else np.zeros((0, 6))
        lengths = [len(t) for t in tracklets]
        return rows, {
            "detections": len(det),
            "confident_detections": confident,
            "tracklets": len(tracklets),
            "mean_tracklet_frames": round(float(np.mean(lengths)), 1) if lengths else 0.0,
        }

    summary = write_track_dataset(sequences, out_dir, tracks_of, {"config": asdict(config)},
                                  MINED, progress)  # fmt: skip
    if summary["skipped"] or summary["images"]:
        return summary
    if not counts["detections"]:
        raise DatasetError(
            f"The detection files of {mot_dir} hold no box on a frame that is there.",
            "Check det/det.txt (frame numbers from 1) and the img1/ frames.",
        )
    if not counts["confident"]:
        raise DatasetError(
            f"No detection of {mot_dir} reaches --min-confidence {config.min_confidence:g} "
            f"(the highest is {counts['best_confidence']:.3g}).",
            "Lower --min-confidence to your detector's scale.",
        )
    raise DatasetError(
        f"No tracklet of {config.min_length} frames or more was found in {mot_dir}: the "
        "sequences are too short, or the people too crowded for sure matches.",
        "Use longer footage, or lower --min-length (fewer crops per pseudo-identity).",
    )
