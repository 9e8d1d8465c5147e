"""MOT scores: IoU distances, MOTChallenge ground-truth conventions, motmetrics on numpy 2."""

import numpy as np
import pytest

from deep_sort_bridge import metrics


def _iou_reference(a, b):
    """Plain per-pair IoU of (x, y, w, h) boxes."""
    out = np.zeros((len(a), len(b)))
    for i, (ax, ay, aw, ah) in enumerate(a):
        for j, (bx, by, bw, bh) in enumerate(b):
            iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
            ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
            union = aw * ah + bw * bh - iw * ih
            out[i, j] = iw * ih / union if iw * ih > 0 else 0.0
    return out


def test_iou_matrix_matches_a_per_pair_reference():
    rng = np.random.default_rng(0)
    a = np.concatenate([rng.uniform(0, 50, (20, 2)), rng.uniform(0, 30, (20, 2))], axis=1)
    b = np.concatenate([rng.uniform(0, 50, (15, 2)), rng.uniform(0, 30, (15, 2))], axis=1)
    b[0] = a[0]  # identical
    b[1] = [1000, 1000, 5, 5]  # disjoint
    b[2] = [10, 10, 0, 20]  # empty
    expected = _iou_reference(a, b)
    np.testing.assert_allclose(metrics.iou_matrix(a, b), expected, atol=1e-12)
    assert metrics.iou_matrix(a, b)[0, 0] == pytest.approx(1.0)
    assert metrics.iou_matrix(a[:0], b).shape == (0, 15)


def test_iou_distance_marks_pairs_below_half_overlap_as_do_not_pair():
    gt = np.array([[0, 0, 10, 10]])
    hyps = np.array([[0, 0, 10, 10], [0, 0, 10, 5], [0, 0, 10, 4.9], [50, 50, 5, 5]])
    distance = metrics.iou_distance(gt, hyps)
    np.testing.assert_allclose(distance[0, :2], [0.0, 0.5])
    assert np.isnan(distance[0, 2:]).all()


def test_results_on_distractors_are_removed_and_only_pedestrians_scored():
    # frame, id, x, y, w, h, consider, class, visibility
    gt = np.array(
        [
            [1, 1, 0, 0, 10, 20, 1, 1, 1.0],  # pedestrian
            [1, 2, 100, 0, 10, 20, 1, 7, 1.0],  # static person: distractor
            [1, 3, 200, 0, 10, 20, 0, 3, 1.0],  # car, ignored
            [1, 4, 300, 0, 10, 20, 0, 1, 1.0],  # pedestrian flagged "do not consider"
        ]
    )
    hyps = np.array([[1, 9, 0, 0, 10, 20], [1, 8, 100, 0, 10, 20], [1, 7, 200, 0, 10, 20]])
    keep = metrics.remove_distractor_matches(gt, hyps)
    assert keep.tolist() == [True, False, True]
    assert metrics.scored_groundtruth(gt)[:, 1].tolist() == [1]
    scores = metrics.score({"seq": metrics.accumulate(gt, hyps)})["seq"]
    # The pedestrian is found; the static person is neither reward nor penalty; the car box
    # is a false positive.
    assert (scores["false_positives"], scores["false_negatives"]) == (1, 0)
    assert scores["gt_boxes"] == 1


def _track(identity, frames, x):
    return [[f, identity, x + f, 0, 10, 20] for f in frames]


def test_perfect_tracking_scores_one_and_a_switch_is_counted():
    frames = range(1, 11)
    gt_rows = _track(1, frames, 0) + _track(2, frames, 100)
    gt = np.array([r + [1, 1, 1.0] for r in gt_rows], float)
    perfect = np.array(_track(5, frames, 0) + _track(6, frames, 100), float)
    # The tracker swaps its IDs half way for the first person.
    swapped = np.array(
        _track(5, range(1, 6), 0) + _track(7, range(6, 11), 0) + _track(6, frames, 100), float
    )
    scores = metrics.score(
        {"perfect": metrics.accumulate(gt, perfect), "swap": metrics.accumulate(gt, swapped)}
    )
    assert scores["perfect"]["mota"] == pytest.approx(1.0)
    assert scores["perfect"]["idf1"] == pytest.approx(1.0)
    assert scores["perfect"]["motp"] == pytest.approx(1.0)
    assert scores["perfect"]["mostly_tracked"] == 2
    assert scores["swap"]["id_switches"] == 1
    assert scores["swap"]["idf1"] == pytest.approx(0.75)
    assert scores["OVERALL"]["frames"] == 20
    table = metrics.format_table(scores)
    assert table.splitlines()[0].split()[:4] == ["sequence", "MOTA", "MOTP", "IDF1"]
    assert "100.0" in table.splitlines()[1]


def test_missed_frames_count_as_false_negatives():
    gt = np.array([r + [1, 1, 1.0] for r in _track(1, range(1, 5), 0)], float)
    results = np.array(_track(3, range(1, 3), 0), float)
    scores = metrics.score({"s": metrics.accumulate(gt, results)})["s"]
    assert (scores["false_negatives"], scores["false_positives"]) == (2, 0)
    assert scores["mota"] == pytest.approx(0.5)
