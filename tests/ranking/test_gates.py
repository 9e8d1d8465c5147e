"""The appearance-gate maths against plain loops."""

from __future__ import annotations

import numpy as np
import pytest

from ranking.gates import nearest_track_distances, pass_rate, recommend_gate


def _reference(frames, identities, features, max_age):
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    same, different = [], []
    for i in range(len(frames)):
        window = [j for j in range(len(frames)) if frames[i] - max_age <= frames[j] < frames[i]]
        for track in sorted({identities[j] for j in window}):
            nearest = min(1 - unit[i] @ unit[j] for j in window if identities[j] == track)
            (same if track == identities[i] else different).append(nearest)
    return np.sort(same), np.sort(different)


def test_nearest_track_distances_equal_a_loop_over_every_pair():
    rng = np.random.default_rng(3)
    frames = rng.integers(1, 15, 60)
    identities = rng.integers(0, 5, 60)
    features = rng.normal(size=(60, 8))
    same, different = nearest_track_distances(frames, identities, features, max_age=4)
    ref_same, ref_different = _reference(frames, identities, features, 4)
    np.testing.assert_allclose(np.sort(same), ref_same, atol=1e-5)
    np.testing.assert_allclose(np.sort(different), ref_different, atol=1e-5)


def test_a_detection_without_earlier_frames_gives_no_pair():
    same, different = nearest_track_distances([1, 1], [0, 1], np.eye(2))
    assert len(same) == len(different) == 0


def test_pass_rate_counts_distances_at_or_below_the_gate():
    np.testing.assert_allclose(pass_rate([0.1, 0.2, 0.3, 0.4], [0.0, 0.2, 0.35, 1.0]),
                               [0.0, 0.5, 0.75, 1.0])  # fmt: skip


def test_youden_gate_separates_two_distributions_at_their_gap():
    same = np.array([0.05, 0.1, 0.2, 0.3])
    different = np.array([0.5, 0.6, 0.8, 0.9])
    assert recommend_gate(same, different) == pytest.approx(0.4)
    # A scale 3x larger moves the gate with it.
    assert recommend_gate(3 * same, 3 * different) == pytest.approx(1.2)


def test_youden_gate_maximises_the_separation_over_every_threshold():
    rng = np.random.default_rng(0)
    same, different = rng.normal(0.3, 0.1, 300), rng.normal(0.7, 0.15, 900)
    gate = recommend_gate(same, different)
    grid = np.linspace(0, 1.2, 2001)
    best = np.max(pass_rate(same, grid) - pass_rate(different, grid))
    assert pass_rate(same, gate) - pass_rate(different, gate) == pytest.approx(best, abs=1e-9)


def test_false_pass_gate_lets_at_most_the_asked_share_through():
    rng = np.random.default_rng(1)
    different = rng.uniform(0.2, 1.0, 1000)
    for share in (0.0, 0.01, 0.05, 0.2):
        gate = recommend_gate([0.1], different, "false-pass", share)
        assert pass_rate(different, gate) <= share
        next_distance = np.sort(different)[int(share * len(different))]
        assert gate < next_distance and pass_rate(different, next_distance) > share


def test_candidate_gates_hold_youden_and_the_same_identity_quantiles():
    from ranking.gates import SAME_PASS_SHARES, candidate_gates

    rng = np.random.default_rng(2)
    same, different = rng.uniform(0.0, 0.4, 500), rng.uniform(0.3, 1.0, 500)
    gates = candidate_gates(same, different)
    assert gates == sorted(gates)
    assert round(recommend_gate(same, different), 5) in gates
    for share in SAME_PASS_SHARES:
        assert any(abs(pass_rate(same, g) - share) < 0.01 for g in gates)


def test_separation_auc_equals_counting_every_pair():
    from ranking.separation import separation_auc

    rng = np.random.default_rng(4)
    same, different = rng.normal(0.3, 0.1, 40).round(2), rng.normal(0.5, 0.2, 60).round(2)
    wins = [(d > s) + 0.5 * (d == s) for s in same for d in different]
    assert separation_auc(same, different) == pytest.approx(np.mean(wins))
    assert separation_auc([0.1, 0.2], [0.5, 0.9]) == 1.0
    assert separation_auc([0.5], [0.5]) == 0.5


def test_window_pairs_keep_pairs_up_to_the_gap():
    from ranking.separation import window_pairs

    same, different = window_pairs([1, 2, 3, 40], [7, 7, 8, 7], max_gap=30)
    assert same.tolist() == [[0, 1]]
    assert sorted(map(tuple, different.tolist())) == [(0, 2), (1, 2)]
