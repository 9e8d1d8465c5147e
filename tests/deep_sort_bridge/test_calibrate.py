"""`reid calibrate`: the gate fitted to a model, in JSON, PNG and the card; used by track."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from core.errors import DatasetError
from deep_sort_bridge import metrics, mot_io, tracking
from deep_sort_bridge.calibrate import groundtruth_separation
from deep_sort_bridge.tracking import TrackerConfig
from encoder.model_card import read_model_card
from ranking.gates import nearest_track_distances, recommend_gate
from reid.cli import main
from tests.deep_sort_bridge.conftest import requires_realdata


def test_calibrate_writes_json_png_and_card_and_track_uses_it(
    synthetic_mot, onnx_model, tmp_path, capsys
):
    model = tmp_path / "model.onnx"
    shutil.copy(onnx_model, model)
    shutil.copy(onnx_model.with_name("model.onnx.json"), tmp_path / "model.onnx.json")
    out = tmp_path / "calibration"
    assert main(["calibrate", "--model", str(model), "--mot_dir", str(synthetic_mot),
                 "--output_dir", str(out), "--no-progress"]) == 0  # fmt: skip
    record = json.loads((out / "calibration.json").read_text())
    gate = record["max_cosine_distance"]
    assert record["pairs"]["same"] > 100 and record["pairs"]["different"] > 100
    assert [s["sequence"] for s in record["sequences"]] == ["SYNTH-01", "SYNTH-02"]
    assert (out / "calibration.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sum(record["curves"]["same_counts"]) == record["pairs"]["same"]
    # Chosen by tracking the sequences' own detections: the best HOTA of the candidates.
    assert record["method"] == "tracking" and len(record["trials"]) >= 5
    best = max(record["trials"], key=lambda t: (round(t["hota"], 6), round(t["idf1"], 6)))
    assert (best["hota"], best["idf1"]) == next(
        (t["hota"], t["idf1"]) for t in record["trials"] if t["max_cosine_distance"] == gate
    )
    card = read_model_card(model)
    assert card["calibration"]["max_cosine_distance"] == gate
    assert card["feature_dim"] == 128  # the rest of the card is kept
    assert "Recommended max_cosine_distance" in capsys.readouterr().out

    detections, results = tmp_path / "det", tmp_path / "res"
    assert main(["generate-detections", "--model", str(model), "--mot_dir", str(synthetic_mot),
                 "--output_dir", str(detections), "--no-progress"]) == 0  # fmt: skip
    capsys.readouterr()
    track = ["track", "--mot_dir", str(synthetic_mot), "--detections", str(detections)]
    assert main([*track, "--output_dir", str(results), "--no-progress"]) == 0
    assert f"max_cosine_distance {gate:g}: calibrated" in capsys.readouterr().out
    used = json.loads((results / "track.json").read_text())["config"]["max_cosine_distance"]
    assert used == pytest.approx(gate)
    assert main([*track, "--output_dir", str(results), "--max_cosine_distance", "0.3"]) == 0
    used = json.loads((results / "track.json").read_text())["config"]["max_cosine_distance"]
    assert used == 0.3


def test_without_detections_the_gate_comes_from_the_distributions(
    synthetic_mot, onnx_model, tmp_path
):
    from deep_sort_bridge.calibrate import calibrate

    mot = tmp_path / "mot"
    for name in ("SYNTH-01", "SYNTH-02"):
        shutil.copytree(synthetic_mot / name, mot / name)
        (mot / name / "det" / "det.txt").unlink()
    record = calibrate(onnx_model, mot, tmp_path / "out", write_card=False, progress=False)
    assert record["method"] == "youden" and "trials" not in record
    assert 0 < record["max_cosine_distance"] < 2


def test_calibrate_refuses_sequences_without_ground_truth(onnx_model, tmp_path, capsys):
    sequence = tmp_path / "mot" / "S-01"
    (sequence / "det").mkdir(parents=True)
    (sequence / "det" / "det.txt").write_text("1,-1,10,10,20,40,0.9\n")
    assert main(["calibrate", "--model", str(onnx_model), "--mot_dir", str(tmp_path / "mot"),
                 "--output_dir", str(tmp_path / "out")]) == 2  # fmt: skip
    assert "No same- and different-identity pairs" in capsys.readouterr().err


def _identity_of_rows(rows: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """The gt identity each detection covers best (IoU > 0.3), else a fresh one."""
    out = np.empty(len(rows), np.int64)
    for i, row in enumerate(rows):
        truth = gt[gt[:, 0] == row[0]]
        overlap = metrics.iou_matrix(row[None, 2:6], truth[:, 2:6])[0] if len(truth) else [0]
        out[i] = int(truth[np.argmax(overlap), 1]) if np.max(overlap) > 0.3 else 10_000 + i
    return out


def _wide_scale_features(identities: np.ndarray, seed: int) -> np.ndarray:
    """A model whose same-identity distances are about 0.4: right people, unusual scale."""
    rng = np.random.default_rng(seed)
    centres = {i: rng.normal(size=128) for i in np.unique(identities)}
    base = np.stack([centres[i] / np.linalg.norm(centres[i]) for i in identities])
    return base + rng.normal(0, 0.072, base.shape)


def test_the_calibrated_gate_beats_deep_sorts_fixed_one_when_the_scale_differs(synthetic_mot):
    sequence = synthetic_mot / "SYNTH-01"
    gt = mot_io.read_groundtruth(sequence / "gt" / "gt.txt")
    scored = metrics.scored_groundtruth(gt)
    same, different = nearest_track_distances(
        scored[:, 0], scored[:, 1], _wide_scale_features(scored[:, 1].astype(int), seed=1)
    )
    gate = recommend_gate(same, different)
    assert 0.3 < np.median(same) < 0.6 and gate > 0.4

    detections = mot_io.read_detections(sequence / "det" / "det.txt")
    features = _wide_scale_features(_identity_of_rows(detections, gt), seed=2)
    matrix = mot_io.detections_with_features(detections, features)
    idf1 = {}
    for name, value in (("fixed", 0.2), ("calibrated", gate)):
        results = tracking.track_sequence(
            matrix, range(1, 61), TrackerConfig(max_cosine_distance=value)
        )
        idf1[name] = metrics.score({name: metrics.accumulate(gt, results)})[name]["idf1"]
    assert idf1["calibrated"] >= idf1["fixed"] + 0.05, idf1


@requires_realdata
def test_calibrate_on_the_real_mot17_frames(real_mot, onnx_model, tmp_path):
    from deep_sort_bridge.calibrate import calibrate

    model = tmp_path / "model.onnx"
    shutil.copy(onnx_model, model)
    record = calibrate(model, real_mot, tmp_path / "out", progress=False)
    assert record["pairs"]["same"] > 50 and record["pairs"]["different"] > 500
    assert record["method"] == "tracking" and record["trials"]
    assert (tmp_path / "out" / "calibration.png").stat().st_size > 1000
    gate = read_model_card(model)["calibration"]["max_cosine_distance"]
    assert gate == record["max_cosine_distance"]


def test_groundtruth_separation_ranks_a_model_above_random_features(synthetic_mot, tmp_path):
    rng = np.random.default_rng(0)

    def random_features(frame, boxes):
        features = rng.normal(size=(len(boxes), 128))
        return (features / np.linalg.norm(features, axis=1, keepdims=True)).astype(np.float32)

    def box_colour(frame, boxes):  # mean colour of each box: a crude but real appearance cue
        patches = [frame[int(y) : int(y + h), int(x) : int(x + w)] for x, y, w, h in boxes]
        features = np.array([[*p.reshape(-1, 3).mean(0), 1.0] for p in patches])
        features = np.pad(features - [128, 128, 128, 0], ((0, 0), (0, 124)))
        return features / np.linalg.norm(features, axis=1, keepdims=True)

    chance = groundtruth_separation(synthetic_mot, random_features, window=30)
    colour = groundtruth_separation(synthetic_mot, box_colour, window=30)
    assert chance["same_pairs"] > 100 and chance["different_pairs"] > 100
    assert (colour["same_pairs"], colour["different_pairs"]) == (
        chance["same_pairs"], chance["different_pairs"],
    )  # fmt: skip
    assert abs(chance["auc"] - 0.5) < 0.05
    assert colour["auc"] > 0.7
    shorter = groundtruth_separation(synthetic_mot, random_features, window=5)
    assert shorter["same_pairs"] < chance["same_pairs"]
    empty = tmp_path / "empty"
    (empty / "SEQ-01" / "img1").mkdir(parents=True)
    with pytest.raises(DatasetError, match="No sequence"):
        groundtruth_separation(empty, random_features)
