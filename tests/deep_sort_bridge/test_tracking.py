"""The deep_sort tracker run: deep_sort_app's frame loop and reporting, appearance on and off."""

import numpy as np

from deep_sort_bridge import metrics, mot_io, tracking
from deep_sort_bridge.tracking import TrackerConfig


def _unit(seed, dim=128):
    v = np.random.default_rng(seed).normal(size=dim)
    return v / np.linalg.norm(v)


def _walk(identity, frames, x0, feature_seed=None, confidence=0.9):
    """Detection rows (10 MOT columns + features) of a box moving 5 px per frame."""
    feature = _unit(identity if feature_seed is None else feature_seed)
    rows = [[f, -1, x0 + 5 * f, 100, 40, 80, confidence, -1, -1, -1] for f in frames]
    return mot_io.detections_with_features(np.array(rows, float), np.tile(feature, (len(rows), 1)))


def test_low_confidence_small_and_empty_boxes_are_dropped():
    rows = np.array(
        [
            [1, -1, 0, 0, 10, 20, 0.9],
            [1, -1, 0, 0, 10, 20, 0.2],
            [1, -1, 0, 0, 10, 5, 0.9],
            [1, -1, 0, 0, 0, 20, 0.9],
        ]
    )
    config = TrackerConfig(min_confidence=0.3, min_detection_height=10)
    assert tracking.select_detections(rows, config)[:, 3].tolist() == [0]
    assert len(tracking.select_detections(rows, TrackerConfig())) == 2


def test_frames_follow_the_images_else_the_detections():
    detections = np.array([[3.0], [7.0]])
    assert tracking.frame_range(detections, [1, 2, 5]) == range(1, 6)
    assert tracking.frame_range(detections, []) == range(3, 8)
    assert tracking.frame_range(detections[:0], []) == range(0)


def test_a_track_is_reported_once_confirmed_and_one_frame_after_its_last_detection():
    detections = _walk(1, range(1, 6), 0)
    results = tracking.track_sequence(detections, range(1, 10))
    assert results[:, 0].tolist() == [3, 4, 5, 6]  # n_init 3; deep_sort keeps one missed frame
    assert set(results[:, 1].tolist()) == {1}
    np.testing.assert_allclose(results[0, 2:], [15, 100, 40, 80], atol=2.0)  # Kalman lag


def test_appearance_bridges_a_gap_that_overlap_alone_cannot():
    frames = [f for f in range(1, 21) if f not in (9, 10)]  # the detector misses two frames
    detections = _walk(1, frames, 0)
    with_appearance = tracking.track_sequence(detections, range(1, 21))
    overlap_only = tracking.track_sequence(
        detections, range(1, 21), TrackerConfig(appearance=False)
    )
    assert len(np.unique(with_appearance[:, 1])) == 1
    assert len(np.unique(overlap_only[:, 1])) == 2
    # Appearance off needs no feature columns at all.
    again = tracking.track_sequence(
        detections[:, :10], range(1, 21), TrackerConfig(appearance=False)
    )
    np.testing.assert_array_equal(again, overlap_only)


def test_with_identity_features_appearance_beats_overlap_on_a_synthetic_sequence(synthetic_mot):
    """Features that know each person (the ideal embedding) must give a higher IDF1."""
    sequence = synthetic_mot / "SYNTH-01"
    detections = mot_io.read_detections(sequence / "det" / "det.txt")
    gt = mot_io.read_groundtruth(sequence / "gt" / "gt.txt")
    features = np.zeros((len(detections), 128))
    for i, row in enumerate(detections):
        truth = gt[gt[:, 0] == row[0]]
        overlap = metrics.iou_matrix(row[None, 2:6], truth[:, 2:6])[0]
        identity = int(truth[overlap.argmax(), 1]) if overlap.max() > 0.3 else 1000 + i
        features[i] = _unit(identity)
    matrix = mot_io.detections_with_features(detections, features)
    frames = range(1, 61)
    accumulators = {
        name: metrics.accumulate(
            gt, tracking.track_sequence(matrix, frames, TrackerConfig(appearance=appearance))
        )
        for name, appearance in (("appearance", True), ("overlap", False))
    }
    scores = metrics.score(accumulators)
    assert scores["appearance"]["idf1"] > scores["overlap"]["idf1"] + 0.1
    assert scores["appearance"]["id_switches"] < scores["overlap"]["id_switches"]
