"""MOT scores (MOTA, MOTP, IDF1, ...) of tracking results against ground truth, via motmetrics.

motmetrics 1.4.0 builds its IoU distances with `np.asarray`'s removed sibling `np.asfarray`
under numpy 2, so the distance matrix is computed here and fed to its `MOTAccumulator`; the
metrics themselves are motmetrics'.

Ground-truth conventions (MOTChallenge, as py-motmetrics' `CLEAR_MOT_M` applies them):
* a result box matched (IoU >= 0.5, optimal assignment per frame, against every ground-truth
  box) to a box of a distractor class (2 person on vehicle, 7 static person, 8 distractor,
  12 reflection) or with negative visibility is removed: tracking such people is neither
  rewarded nor penalised;
* only pedestrians (class 1) whose consider flag is 1 are then scored; other classes and
  boxes flagged 0 are ignored, and result boxes on them count as false positives.
MOTP is reported as MOTChallenge does: the mean IoU of matched pairs (motmetrics reports the
mean distance, 1 - IoU).
"""

from __future__ import annotations

import numpy as np

from core.errors import ReidError

PEDESTRIAN = 1
DISTRACTOR_CLASSES = (2, 7, 8, 12)
MATCH_DISTANCE = 0.5  # pairs with IoU below 0.5 never match

# (motmetrics name, our key, table header, kind) in table order.
METRICS = (
    ("mota", "mota", "MOTA", "percent"),
    ("motp", "motp", "MOTP", "percent"),
    ("idf1", "idf1", "IDF1", "percent"),
    ("idp", "idp", "IDP", "percent"),
    ("idr", "idr", "IDR", "percent"),
    ("recall", "recall", "Rcll", "percent"),
    ("precision", "precision", "Prcn", "percent"),
    ("num_switches", "id_switches", "IDs", "count"),
    ("num_fragmentations", "fragmentations", "FM", "count"),
    ("mostly_tracked", "mostly_tracked", "MT", "count"),
    ("partially_tracked", "partially_tracked", "PT", "count"),
    ("mostly_lost", "mostly_lost", "ML", "count"),
    ("num_false_positives", "false_positives", "FP", "count"),
    ("num_misses", "false_negatives", "FN", "count"),
    ("num_unique_objects", "gt_tracks", "GT", "count"),
    ("num_objects", "gt_boxes", "boxes", "count"),
    ("num_frames", "frames", "frames", "count"),
)
# (our key, table header, kind) of the table's columns.
COLUMNS = tuple((key, header, kind) for _, key, header, kind in METRICS)


def iou_matrix(a_tlwh: np.ndarray, b_tlwh: np.ndarray) -> np.ndarray:
    """Pairwise IoU of boxes (x, y, w, h): an (len(a), len(b)) matrix, 0 for empty boxes."""
    a = np.asarray(a_tlwh, np.float64).reshape(-1, 4)
    b = np.asarray(b_tlwh, np.float64).reshape(-1, 4)
    a_min, a_max = a[:, None, :2], a[:, None, :2] + np.maximum(a[:, None, 2:], 0)
    b_min, b_max = b[None, :, :2], b[None, :, :2] + np.maximum(b[None, :, 2:], 0)
    overlap = np.clip(np.minimum(a_max, b_max) - np.maximum(a_min, b_min), 0, None).prod(axis=2)
    union = (a_max - a_min).prod(axis=2) + (b_max - b_min).prod(axis=2) - overlap
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(overlap > 0, overlap / np.where(union > 0, union, 1.0), 0.0)


def iou_distance(gt_tlwh: np.ndarray, hyp_tlwh: np.ndarray, max_distance: float = MATCH_DISTANCE):
    """1 - IoU, NaN (do not pair) where it exceeds `max_distance`: motmetrics' input format."""
    distance = 1.0 - iou_matrix(gt_tlwh, hyp_tlwh)
    return np.where(distance > max_distance, np.nan, distance)


def matched_pairs(distance: np.ndarray) -> list[tuple[int, int]]:
    """Minimum-cost one-to-one pairs among the finite entries of a distance matrix."""
    from scipy.optimize import linear_sum_assignment

    if not distance.size:
        return []
    finite = np.isfinite(distance)
    cost = np.where(finite, distance, 1e6)
    rows, cols = linear_sum_assignment(cost)
    return [(r, c) for r, c in zip(rows.tolist(), cols.tolist(), strict=True) if finite[r, c]]


def remove_distractor_matches(gt_frame: np.ndarray, hyp_frame: np.ndarray) -> np.ndarray:
    """Mask of one frame's result rows to keep: drop those matched to distractor gt boxes."""
    keep = np.ones(len(hyp_frame), bool)
    if not len(gt_frame) or not len(hyp_frame):
        return keep
    flagged = np.isin(gt_frame[:, 7], DISTRACTOR_CLASSES) | (gt_frame[:, 8] < 0)
    if not flagged.any():
        return keep
    for g, h in matched_pairs(iou_distance(gt_frame[:, 2:6], hyp_frame[:, 2:6])):
        if flagged[g]:
            keep[h] = False
    return keep


def scored_groundtruth(gt: np.ndarray) -> np.ndarray:
    """The ground-truth rows that are scored: pedestrians with consider flag 1."""
    return gt[(gt[:, 6] >= 0.99) & (gt[:, 7] == PEDESTRIAN)]


def _motmetrics():
    try:
        import motmetrics
    except ImportError as error:
        raise ReidError(
            f"The MOT metrics package cannot be loaded ({error}).",
            "Install it: pip install motmetrics==1.4.0 (scripts/setup.sh does this).",
        ) from None
    return motmetrics


def accumulate(gt: np.ndarray, results: np.ndarray):
    """A motmetrics accumulator of one sequence: gt (N x 9), results (M x 6), MOTChallenge rows."""
    mm = _motmetrics()

    accumulator = mm.MOTAccumulator(auto_id=False)
    gt_frames = gt[:, 0].astype(np.int64)
    hyp_frames = results[:, 0].astype(np.int64)
    scored = scored_groundtruth(gt)
    scored_frames = scored[:, 0].astype(np.int64)
    for frame in np.union1d(gt_frames, hyp_frames).tolist():
        hyps = results[hyp_frames == frame]
        hyps = hyps[remove_distractor_matches(gt[gt_frames == frame], hyps)]
        objects = scored[scored_frames == frame]
        if len(objects) and len(hyps):
            distance = iou_distance(objects[:, 2:6], hyps[:, 2:6])
        else:
            distance = np.empty((len(objects), len(hyps)))
        accumulator.update(
            objects[:, 1].astype(np.int64), hyps[:, 1].astype(np.int64), distance, frameid=frame
        )
    return accumulator


def score(accumulators: dict) -> dict:
    """Metrics per sequence and over all (key "OVERALL"), as plain floats and ints."""
    mm = _motmetrics()

    names = list(accumulators)
    host = mm.metrics.create()
    frame = host.compute_many(
        [accumulators[n] for n in names],
        metrics=[m[0] for m in METRICS],
        names=names,
        generate_overall=True,
    )
    out = {}
    for name in frame.index:
        row = frame.loc[name]
        values = {}
        for source, key, _, kind in METRICS:
            value = float(row[source])
            if source == "motp":
                value = 1.0 - value if np.isfinite(value) else value
            values[key] = int(round(value)) if kind == "count" else value
        out[str(name)] = values
    return out


def format_table(scores: dict, columns=COLUMNS) -> str:
    """A fixed-width text table of per-sequence scores, percentages with one decimal.

    columns: (key, header, kind) triples, kind "percent" or "count"; keys missing from a row
    show as "-".
    """
    headers = ["sequence"] + [header for _, header, _ in columns]
    rows = []
    for name, values in scores.items():
        cells = [name]
        for key, _, kind in columns:
            value = values.get(key, float("nan"))
            if kind == "percent":
                cells.append("-" if not np.isfinite(value) else f"{100 * value:.1f}")
            else:
                cells.append(str(value))
        rows.append(cells)
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in [headers, *rows]
    ]
    return "\n".join(lines)
