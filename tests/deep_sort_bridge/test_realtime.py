"""Our embeddings through the deep-sort-realtime package's own DeepSort tracker."""

from __future__ import annotations

import numpy as np
import pytest

from deep_sort_bridge import mot_io
from deep_sort_bridge.frames import read_frame
from deep_sort_bridge.generate import generate_detections
from deep_sort_bridge.realtime import DEFAULT_MAX_COSINE_DISTANCE, RealtimeEmbedder
from deep_sort_bridge.sequences import score_results
from encoder.model_card import update_model_card


def _package_detections(rows: np.ndarray) -> list:
    return [([float(v) for v in row[2:6]], float(row[6]), "person") for row in rows]


def test_deepsort_tracks_a_synthetic_sequence_with_our_embeddings(
    synthetic_mot, onnx_model, tmp_path
):
    from deep_sort_realtime.deepsort_tracker import DeepSort

    sequence = synthetic_mot / "SYNTH-01"
    generate_detections(
        RealtimeEmbedder(str(onnx_model)).encoder.encode, sequence, tmp_path, progress=False
    )
    ours = mot_io.load_detection_matrix(tmp_path / "SYNTH-01.npy")
    embedder = RealtimeEmbedder(str(onnx_model))
    tracker = DeepSort(embedder=None, max_cosine_distance=embedder.max_cosine_distance)
    frames = mot_io.frame_files(sequence / "img1")
    results = []
    for frame, path in frames.items():
        rows = ours[(ours[:, 0] == frame) & (ours[:, 6] >= 0.3)]
        detections = _package_detections(rows)
        embeds = embedder(read_frame(path), detections)
        # The same features as generate-detections for the same boxes.
        np.testing.assert_allclose(np.array(embeds).reshape(-1, 128), rows[:, 10:], atol=1e-5)
        for track in tracker.update_tracks(detections, embeds=embeds):
            if track.is_confirmed() and track.time_since_update <= 1:
                results.append([frame, int(track.track_id), *track.to_ltwh()])
    results = np.array(results, float)
    gt = mot_io.read_groundtruth(sequence / "gt" / "gt.txt")
    scores = score_results({"SYNTH-01": (gt, results, len(frames))})["SYNTH-01"]
    assert len(np.unique(results[:, 1])) >= 4
    assert scores["hota"] > 0.3 and scores["idf1"] > 0.3


def test_empty_boxes_are_left_out_as_update_tracks_leaves_them_out(onnx_model):
    embedder = RealtimeEmbedder(str(onnx_model))
    frame = np.full((200, 200, 3), 90, np.uint8)
    detections = [
        ([10, 10, 40, 80], 0.9, "p"),
        ([5, 5, 0, 30], 0.8, "p"),
        ([60, 20, 30, 70], 0.7, "p"),
    ]
    embeds = embedder(frame, detections)
    assert len(embeds) == 2
    np.testing.assert_allclose([np.linalg.norm(e) for e in embeds], 1.0, atol=1e-4)
    assert embedder(frame, []) == []


def test_the_gate_comes_from_the_model_card_when_calibrated(onnx_model, tmp_path):
    import shutil

    model = tmp_path / "model.onnx"
    shutil.copy(onnx_model, model)
    assert RealtimeEmbedder(str(model)).max_cosine_distance == DEFAULT_MAX_COSINE_DISTANCE
    update_model_card(model, calibration={"max_cosine_distance": 0.37})
    assert RealtimeEmbedder(str(model)).max_cosine_distance == pytest.approx(0.37)
