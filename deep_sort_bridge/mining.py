"""Tracklets a cautious tracker is sure of, mined from detections alone (no ground truth).

Short tracklets built only from unambiguous frame-to-frame matches are, with high probability,
one person each; trained as pseudo-identities they teach a network the people and cameras of a
site without labels. The association is deliberately timid:
* only confident detections (`min_confidence`), tall enough (`min_height`), are used;
* a detection overlapped by another one of its frame (IoU above `max_overlap`) is dropped, as
  crowds and occlusions are where identities get mixed;
* a tracklet continues to a detection of the next frame only when their IoU is at least
  `min_iou`, each is the other's best, and no rival comes close (the second-best IoU of either
  side at most `ambiguity` times the best);
* anything else ends the tracklet (a missed frame included), and only tracklets of at least
  `min_length` frames are kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deep_sort_bridge.metrics import iou_matrix

PERSON_CLASSES = (1, 2, 7)


@dataclass(frozen=True)
class MiningConfig:
    """How cautious the association is, and how many crops each tracklet gives."""

    min_confidence: float = 0.5
    min_height: float = 40.0
    max_overlap: float = 0.2
    min_iou: float = 0.5
    ambiguity: float = 0.5
    min_length: int = 10
    crops_per_tracklet: int = 8


def isolated(boxes: np.ndarray, max_overlap: float) -> np.ndarray:
    """Mask of boxes whose IoU with every other box of the frame is at most `max_overlap`."""
    if len(boxes) < 2:
        return np.ones(len(boxes), bool)
    overlap = iou_matrix(boxes, boxes)
    np.fill_diagonal(overlap, 0.0)
    return overlap.max(axis=1) <= max_overlap


def sure_matches(iou: np.ndarray, min_iou: float, ambiguity: float) -> list[tuple[int, int]]:
    """(row, column) pairs that are mutual best matches with IoU >= min_iou and no close rival."""
    pairs = []
    if not iou.size:
        return pairs
    for row in range(iou.shape[0]):
        column = int(np.argmax(iou[row]))
        best = iou[row, column]
        if best < min_iou or int(np.argmax(iou[:, column])) != row:
            continue
        rivals = np.concatenate([np.delete(iou[row], column), np.delete(iou[:, column], row)])
        if rivals.size and rivals.max() > ambiguity * best:
            continue
        pairs.append((row, column))
    return pairs


def usable_detections(rows: np.ndarray, config: MiningConfig) -> np.ndarray:
    """The detection rows (frame, -1, x, y, w, h, confidence, ...) mining may use."""
    keep = (rows[:, 6] >= config.min_confidence) & (rows[:, 5] >= config.min_height)
    keep &= (rows[:, 4] > 0) & (rows[:, 5] > 0)
    rows = rows[keep]
    frames = rows[:, 0].astype(np.int64)
    mask = np.zeros(len(rows), bool)
    for frame in np.unique(frames):
        here = np.flatnonzero(frames == frame)
        mask[here] = isolated(rows[here, 2:6], config.max_overlap)
    return rows[mask]


def mine_tracklets(detections: np.ndarray, config: MiningConfig = MiningConfig()) -> list:
    """Tracklets of one sequence: each an (L, 6) array of (frame, tracklet, x, y, w, h) rows,
    one per consecutive frame, numbered from 1 in order of their first frame."""
    rows = usable_detections(np.asarray(detections, np.float64), config)
    frames = rows[:, 0].astype(np.int64)
    finished, active = [], []  # active: lists of rows, the last one in the previous frame
    previous = None
    for frame in np.unique(frames).tolist():
        current = rows[frames == frame]
        if previous is None or frame != previous + 1:
            finished += active
            active = []
        last = np.array([track[-1][2:6] for track in active]).reshape(-1, 4)
        matches = sure_matches(iou_matrix(last, current[:, 2:6]), config.min_iou, config.ambiguity)
        continued = {column: row for row, column in matches}
        next_active = []
        for column, detection in enumerate(current):
            if column in continued:
                track = active[continued[column]]
                track.append(detection)
                next_active.append(track)
            else:
                next_active.append([detection])
        finished += [t for i, t in enumerate(active) if i not in set(continued.values())]
        active, previous = next_active, frame
    finished += active
    kept = [np.array(t) for t in finished if len(t) >= config.min_length]
    kept.sort(key=lambda t: (t[0, 0], t[0, 2]))
    return [
        np.column_stack([t[:, 0], np.full(len(t), number), t[:, 2:6]])
        for number, t in enumerate(kept, start=1)
    ]


def spread_rows(tracklet: np.ndarray, count: int) -> np.ndarray:
    """`count` rows spread evenly over a tracklet's life (all when it has fewer)."""
    if len(tracklet) <= count:
        return tracklet
    return tracklet[np.linspace(0, len(tracklet) - 1, count).round().astype(int)]


def purity(tracklets: list, gt: np.ndarray, min_iou: float = 0.5) -> dict:
    """How pure the tracklets are against ground truth (for measuring, never for mining).

    Each tracklet row is given the identity of the person box of gt it overlaps best (IoU >=
    min_iou, else none); a tracklet is pure when all its rows have the same identity, and mixed
    when they have two or more. People are MOTChallenge's classes 1 (pedestrian), 2 (person on
    vehicle) and 7 (static person), whatever their consider flag: all are real people to
    re-identify. Also counts the true people the pure tracklets cover.
    """
    gt = gt[np.isin(gt[:, 7], PERSON_CLASSES)] if gt.shape[1] > 7 else gt
    gt_frames = gt[:, 0].astype(np.int64)
    pure, mixed, covered = 0, 0, set()
    for tracklet in tracklets:
        identities = set()
        for row in tracklet:
            truth = gt[gt_frames == int(row[0])]
            overlap = iou_matrix(row[None, 2:6], truth[:, 2:6])[0] if len(truth) else np.zeros(0)
            best = int(np.argmax(overlap)) if overlap.size else -1
            identities.add(int(truth[best, 1]) if best >= 0 and overlap[best] >= min_iou else -1)
        if len(identities) == 1 and -1 not in identities:
            pure += 1
            covered |= identities
        mixed += len(identities - {-1}) > 1
    return {
        "tracklets": len(tracklets),
        "pure": pure,
        "purity": pure / len(tracklets) if tracklets else 0.0,
        "mixed": mixed,
        "people_covered": len(covered),
        "people": len(np.unique(gt[:, 1])),
    }
