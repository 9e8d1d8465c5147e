"""Running the deep_sort tracker over a sequence's detections and features.

The tracker is the packaged deep_sort implementation in `deep_sort_realtime` (its `Tracker`:
Kalman filter, matching cascade and IoU stage), fed our detections and features as its
`Detection` objects; nothing here re-implements tracking. What this module adds is
deep_sort_app's frame loop: per frame, drop detections below `min_confidence` or
`min_detection_height`, run its NMS step (nothing is suppressed at the default overlap 1.0, but
the detections come out by descending confidence, which decides the track numbering), predict,
update, and report every confirmed track that was updated in this or the previous frame, at its
Kalman-filtered box. On the same detections the results equal deep_sort_app's, track IDs
included, with one difference of the package: it keeps each confirmed track's latest feature
and hands it to the appearance gallery again every frame (deep_sort hands each feature once),
so with `nn_budget` the gallery holds fewer distinct old features; in long sequences this can
change an assignment now and then.

With `appearance=False` the cascade's cosine gate is closed (no distance passes a threshold
below zero), so only the IoU stage associates: deep_sort without appearance, SORT-like, the
baseline that shows what the embeddings add.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.errors import ReidError
from deep_sort_bridge.mot_io import DETECTION_COLUMNS

CLOSED_GATE = -1.0  # a cosine-distance threshold nothing passes


@dataclass(frozen=True)
class TrackerConfig:
    """deep_sort's settings for MOTChallenge evaluation (evaluate_motchallenge.py defaults)."""

    min_confidence: float = 0.3
    min_detection_height: float = 0.0
    nms_max_overlap: float = 1.0
    max_cosine_distance: float = 0.2
    nn_budget: int | None = 100
    max_iou_distance: float = 0.7
    max_age: int = 30
    n_init: int = 3
    appearance: bool = True


def make_tracker(config: TrackerConfig):
    """A `deep_sort_realtime` tracker (its `Tracker` core, no embedder) with these settings."""
    try:
        from deep_sort_realtime.deep_sort.nn_matching import NearestNeighborDistanceMetric
        from deep_sort_realtime.deep_sort.tracker import Tracker
    except ImportError as error:
        raise ReidError(
            f"The deep_sort tracker package cannot be loaded ({error}).",
            "Install it without its opencv-python dependency, which would clash with "
            "opencv-python-headless: pip install --no-deps deep-sort-realtime==1.3.2 "
            "(scripts/setup.sh does this).",
        ) from None

    gate = config.max_cosine_distance if config.appearance else CLOSED_GATE
    metric = NearestNeighborDistanceMetric("cosine", gate, config.nn_budget)
    return Tracker(
        metric,
        max_iou_distance=config.max_iou_distance,
        max_age=config.max_age,
        n_init=config.n_init,
    )


def to_detections(rows: np.ndarray, appearance: bool) -> list:
    """The tracker's Detection objects for one frame's rows (MOT columns, then features).

    Boxes stay float64 as in deep_sort (deep_sort_realtime's Detection rounds them to float32,
    which flips rare near-ties in the assignment). Without appearance every detection carries
    the same dummy feature: the closed gate never looks at it.
    """
    from deep_sort_realtime.deep_sort.detection import Detection

    detections = []
    for row in rows:
        feature = row[DETECTION_COLUMNS:] if appearance else np.ones(1, np.float32)
        detection = Detection(row[2:6], float(row[6]), feature)
        detection.ltwh = np.asarray(row[2:6], np.float64)
        detections.append(detection)
    return detections


def select_detections(rows: np.ndarray, config: TrackerConfig) -> np.ndarray:
    """The rows of one frame the tracker sees: confident, tall enough, with a positive size."""
    boxes = rows[:, 2:6]
    keep = (
        (rows[:, 6] >= config.min_confidence)
        & (boxes[:, 3] >= config.min_detection_height)
        & (boxes[:, 2] > 0)
        & (boxes[:, 3] > 0)
    )
    return rows[keep]


def suppress(rows: np.ndarray, max_overlap: float) -> np.ndarray:
    """deep_sort_app's non-maximum suppression step, which also orders the rows.

    The kept rows come out by descending confidence, even at overlap 1.0 where nothing is
    suppressed; the tracker numbers new tracks in that order, so this keeps track IDs the same
    as deep_sort_app's.
    """
    from deep_sort_realtime.utils.nms import non_max_suppression

    if not len(rows):
        return rows
    return rows[non_max_suppression(rows[:, 2:6], max_overlap, rows[:, 6])]


def frame_range(detections: np.ndarray, frames: list[int] | None = None) -> range:
    """deep_sort_app's frames: those of the image files if any, else those of the detections."""
    if frames:
        return range(min(frames), max(frames) + 1)
    if len(detections):
        first, last = int(detections[:, 0].min()), int(detections[:, 0].max())
        return range(first, last + 1)
    return range(0)


def track_sequence(
    detections: np.ndarray, frames: range, config: TrackerConfig = TrackerConfig()
) -> np.ndarray:
    """Track one sequence; return result rows (frame, id, x, y, w, h), frame by frame.

    `detections` is a generate_detections matrix (N x (10 + D)): MOT columns, then features.
    With `appearance=False` the feature columns are not used and may be absent (N x 10).
    The tracker's linear algebra is on 4 x 4 matrices, where BLAS threads only cost wake-ups
    (ten times slower on a busy machine), so it runs on one BLAS thread.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _track(detections, frames, config)


def _track(detections: np.ndarray, frames: range, config: TrackerConfig) -> np.ndarray:
    tracker = make_tracker(config)
    order = np.argsort(detections[:, 0], kind="stable")
    detections = detections[order]
    frame_of_row = detections[:, 0].astype(np.int64)
    results: list[tuple[float, ...]] = []
    for frame in frames:
        start, end = np.searchsorted(frame_of_row, [frame, frame + 1])
        rows = suppress(select_detections(detections[start:end], config), config.nms_max_overlap)
        tracker.predict()
        tracker.update(to_detections(rows, config.appearance))
        for track in tracker.tracks:
            if not track.is_confirmed() or track.time_since_update > 1:
                continue
            x, y, w, h = track.to_tlwh()
            results.append((frame, int(track.track_id), x, y, w, h))
    return np.asarray(results, np.float64).reshape(-1, 6)
