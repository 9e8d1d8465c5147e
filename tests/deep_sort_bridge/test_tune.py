"""`reid tune`: a grid of tracker settings scored by HOTA and IDF1, resumable."""

from __future__ import annotations

import json

import pytest

from deep_sort_bridge import tune as tune_module
from deep_sort_bridge.generate import generate_detections
from deep_sort_bridge.tune import combinations, default_grid, tune
from encoder import Encoder
from reid.cli import main


@pytest.fixture(scope="module")
def detections(synthetic_mot, onnx_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("tune_detections")
    generate_detections(Encoder(onnx_model).encode, synthetic_mot, out, progress=False)
    return out


def test_the_default_grid_follows_the_calibrated_gate():
    assert default_grid(None)["max_cosine_distance"] == (0.1, 0.2, 0.3, 0.5)
    assert default_grid(0.04)["max_cosine_distance"] == (0.02, 0.03, 0.04, 0.06, 0.08)
    assert len(combinations(default_grid(None))) == 4 * 3 * 2 * 3


def test_tune_scores_every_setting_picks_the_best_and_prints_the_command(
    synthetic_mot, detections, tmp_path, capsys
):
    out = tmp_path / "tune"
    argv = ["tune", "--mot_dir", str(synthetic_mot), "--detections", str(detections),
            "--output_dir", str(out), "--max_cosine_distance", "0.02,0.05", "--max_age", "30",
            "--n_init", "1,3", "--max_iou_distance", "0.7", "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    record = json.loads((out / "tune.json").read_text())
    assert len(record["rows"]) == 4
    best = max(record["rows"], key=lambda r: (r["hota"], r["idf1"]))
    assert record["best"] == best
    assert {r["settings"]["n_init"] for r in record["rows"]} == {1, 3}
    assert all(0 < r["hota"] <= 1 and 0 < r["idf1"] <= 1 for r in record["rows"])
    printed = capsys.readouterr().out
    assert "Best by HOTA of 4 settings: reid track --max_cosine_distance" in printed


def test_a_rerun_reuses_the_rows_already_scored(synthetic_mot, detections, tmp_path, monkeypatch):
    grid = {"max_cosine_distance": (0.05,), "max_age": (30,), "n_init": (1, 3),
            "max_iou_distance": (0.7,)}  # fmt: skip
    first = tune(synthetic_mot, detections, tmp_path, grid, progress=False)

    def must_not_run(*args):
        raise AssertionError("a scored setting was tracked again")

    monkeypatch.setattr(tune_module, "score_setting", must_not_run)
    again = tune(synthetic_mot, detections, tmp_path, grid, progress=False)
    assert again["rows"] == first["rows"]


def test_tune_needs_features_of_sequences_with_ground_truth(synthetic_mot, tmp_path, capsys):
    empty = tmp_path / "nothing"
    empty.mkdir()
    assert main(["tune", "--mot_dir", str(synthetic_mot), "--detections", str(empty)]) == 2
    assert "generate-detections" in capsys.readouterr().err
    assert main(["tune", "--mot_dir", str(synthetic_mot), "--detections", str(empty),
                 "--max_age", "0"]) == 2  # fmt: skip
