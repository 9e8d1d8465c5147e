"""HOTA, DetA, AssA and LocA (Luiten et al., IJCV 2021) of tracking results, via TrackEval.

The metric is TrackEval's own `HOTA` class (PyPI `trackeval`, a numpy-2 fork of the official
TrackEval). What this module adds is the input it expects, prepared as TrackEval's MOTChallenge
2D-box dataset prepares it, so the figures equal the official evaluation's on the same files:
* result boxes are matched to every ground-truth box of their frame (IoU >= 0.5, optimal
  assignment); those matched to a distractor class (2 person on vehicle, 7 static person,
  8 distractor, 12 reflection) are removed;
* only pedestrians (class 1) with consider flag 1 are then kept as ground truth;
* identities are renumbered 0..n-1 over the sequence.
Each figure is the mean over TrackEval's 19 localisation thresholds (0.05 ... 0.95), as the
MOTChallenge leaderboard reports it.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
from scipy.optimize import linear_sum_assignment

from core.errors import ReidError
from deep_sort_bridge.metrics import DISTRACTOR_CLASSES, PEDESTRIAN, iou_matrix

# (TrackEval field, our key, table header) in table order.
HOTA_METRICS = (
    ("HOTA", "hota", "HOTA"),
    ("DetA", "deta", "DetA"),
    ("AssA", "assa", "AssA"),
    ("LocA", "loca", "LocA"),
    ("DetRe", "detre", "DetRe"),
    ("DetPr", "detpr", "DetPr"),
    ("AssRe", "assre", "AssRe"),
    ("AssPr", "asspr", "AssPr"),
)
_EPS = np.finfo(float).eps


def _trackeval_hota():
    """TrackEval's HOTA metric; its package start-up notice about optional datasets is muted."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            from trackeval.metrics import HOTA
    except ImportError as error:
        raise ReidError(
            f"The TrackEval package cannot be loaded ({error}).",
            "Install it without its opencv-python dependency, which would clash with "
            "opencv-python-headless: pip install --no-deps trackeval==1.3.0 "
            "(scripts/setup.sh does this).",
        ) from None
    return HOTA(config={"PRINT_CONFIG": False})


def _distractor_matches(similarity: np.ndarray, gt_classes: np.ndarray) -> np.ndarray:
    """Columns (result boxes) matched at IoU >= 0.5 to a ground-truth box of a distractor class."""
    if not similarity.size:
        return np.array([], int)
    scores = np.where(similarity < 0.5 - _EPS, 0.0, similarity)
    rows, cols = linear_sum_assignment(-scores)
    matched = scores[rows, cols] > _EPS
    rows, cols = rows[matched], cols[matched]
    return cols[np.isin(gt_classes[rows], DISTRACTOR_CLASSES)]


def _renumber(ids_per_frame: list[np.ndarray]) -> tuple[list[np.ndarray], int]:
    """Identities mapped to 0..n-1 (sorted order), and n."""
    unique = np.unique(np.concatenate(ids_per_frame)) if ids_per_frame else np.array([], int)
    return [np.searchsorted(unique, ids) for ids in ids_per_frame], len(unique)


def sequence_data(gt: np.ndarray, results: np.ndarray, num_frames: int) -> dict:
    """TrackEval's per-sequence input from gt rows (N x 9) and result rows (M x >= 6).

    num_frames: the sequence length; frames 1..num_frames are scored, as TrackEval's timesteps.
    """
    gt_frames = gt[:, 0].astype(np.int64)
    result_frames = results[:, 0].astype(np.int64)
    gt_ids, tracker_ids, similarities = [], [], []
    for frame in range(1, num_frames + 1):
        g = gt[gt_frames == frame]
        r = results[result_frames == frame]
        similarity = iou_matrix(g[:, 2:6], r[:, 2:6])
        removed = _distractor_matches(similarity, g[:, 7].astype(int))
        r = np.delete(r, removed, axis=0)
        similarity = np.delete(similarity, removed, axis=1)
        kept = (g[:, 6].astype(int) != 0) & (g[:, 7].astype(int) == PEDESTRIAN)
        gt_ids.append(g[kept, 1].astype(np.int64))
        tracker_ids.append(r[:, 1].astype(np.int64))
        similarities.append(similarity[kept])
    for name, ids in (("ground-truth", gt_ids), ("result", tracker_ids)):
        for frame, frame_ids in enumerate(ids, start=1):
            if len(np.unique(frame_ids)) != len(frame_ids):
                raise ReidError(
                    f"The {name} rows of frame {frame} repeat an identity.",
                    "Each identity may appear once per frame: fix the file.",
                )
    gt_ids, num_gt_ids = _renumber(gt_ids)
    tracker_ids, num_tracker_ids = _renumber(tracker_ids)
    return {
        "num_timesteps": num_frames,
        "num_gt_ids": num_gt_ids,
        "num_tracker_ids": num_tracker_ids,
        "num_gt_dets": int(sum(len(ids) for ids in gt_ids)),
        "num_tracker_dets": int(sum(len(ids) for ids in tracker_ids)),
        "gt_ids": gt_ids,
        "tracker_ids": tracker_ids,
        "similarity_scores": similarities,
    }


def score_hota(sequences: dict[str, dict]) -> dict[str, dict]:
    """HOTA figures per sequence (`sequence_data` inputs) and over all (key "OVERALL")."""
    metric = _trackeval_hota()
    raw = {name: metric.eval_sequence(data) for name, data in sequences.items()}
    raw["OVERALL"] = metric.combine_sequences(dict(raw))
    return {
        name: {key: float(np.mean(result[field])) for field, key, _ in HOTA_METRICS}
        for name, result in raw.items()
    }
