"""The appearance gate of a deep_sort tracker fitted to a model: distances and a threshold.

deep_sort matches a detection to a track only when the cosine distance from the detection's
feature to the nearest feature in the track's gallery is at most `max_cosine_distance`. The
right value depends on the model's distance scale (0.2 suits deep_sort's own model and can be
far off for another). These functions measure, on detections with known identities, exactly
that nearest-gallery distance for the true track (same identity) and for every other track
(different identities) inside the tracker's matching window, and choose a threshold from the
two distributions (numpy only).
"""

from __future__ import annotations

import numpy as np

from ranking.distances import cosine_distance

GATE_METHODS = ("youden", "false-pass")
SAME_PASS_SHARES = (0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999)


def nearest_track_distances(
    frames: np.ndarray, identities: np.ndarray, features: np.ndarray, max_age: int = 30
) -> tuple[np.ndarray, np.ndarray]:
    """(same, different): for each detection and each identity seen in the `max_age` frames
    before it, the distance from the detection's feature to that identity's nearest feature
    there; `same` where the identity is the detection's own, `different` for the others.

    frames, identities: (N,) per detection of one sequence; features: (N, D).
    """
    frames = np.asarray(frames, np.int64)
    identities = np.asarray(identities, np.int64)
    features = np.asarray(features, np.float32)
    same, different = [], []
    for frame in np.unique(frames):
        current = frames == frame
        window = (frames >= frame - max_age) & (frames < frame)
        if not window.any():
            continue
        order = np.argsort(identities[window], kind="stable")
        gallery_ids = identities[window][order]
        tracks, starts = np.unique(gallery_ids, return_index=True)
        distance = cosine_distance(features[current], features[window][order])
        nearest = np.minimum.reduceat(distance, starts, axis=1)  # (detections, tracks)
        own = identities[current][:, None] == tracks[None, :]
        same.append(nearest[own])
        different.append(nearest[~own])
    empty = np.zeros(0, np.float32)
    return (
        np.concatenate(same) if same else empty,
        np.concatenate(different) if different else empty,
    )


def pass_rate(distances: np.ndarray, thresholds) -> np.ndarray:
    """Share of `distances` at or below each threshold (what the gate lets through)."""
    ordered = np.sort(np.asarray(distances, np.float64))
    if not len(ordered):
        return np.zeros(np.shape(thresholds))
    return np.searchsorted(ordered, thresholds, side="right") / len(ordered)


def recommend_gate(
    same: np.ndarray,
    different: np.ndarray,
    method: str = "youden",
    max_false_pass: float = 0.05,
) -> float:
    """The `max_cosine_distance` the two distributions suggest.

    method "youden": the threshold that maximises (same pass rate - different pass rate), the
    point where the gate best separates the true track from the others (midway between the
    neighbouring distances, so it does not sit on a sample). "false-pass": the largest
    threshold that lets at most `max_false_pass` of the different-identity distances through.
    """
    if method not in GATE_METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {GATE_METHODS}")
    same = np.asarray(same, np.float64)
    different = np.sort(np.asarray(different, np.float64))
    if not len(same) or not len(different):
        raise ValueError("both same- and different-identity distances are needed")
    if method == "false-pass":
        allowed = int(np.floor(max_false_pass * len(different)))
        if allowed >= len(different):
            return float(different[-1])
        below = different[allowed - 1] if allowed else min(0.0, different[0])
        return float((below + different[allowed]) / 2)
    candidates = np.unique(np.concatenate([same, different]))
    separation = pass_rate(same, candidates) - pass_rate(different, candidates)
    best = int(np.argmax(separation))
    upper = candidates[best + 1] if best + 1 < len(candidates) else candidates[best]
    return float((candidates[best] + upper) / 2)


def candidate_gates(same: np.ndarray, different: np.ndarray) -> list[float]:
    """Gates worth trying by tracking: Youden's, and those letting through 80% ... 99.9% of the
    same-identity distances (the matching cascade's assignment, not the gate, usually keeps a
    wrong track out, so the best gate tends to lie above Youden's)."""
    youden = recommend_gate(same, different, "youden")
    shares = np.quantile(np.asarray(same, np.float64), SAME_PASS_SHARES)
    return sorted({round(float(g), 5) for g in (youden, *shares) if g > 0})
