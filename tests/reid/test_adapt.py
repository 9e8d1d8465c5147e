"""`reid adapt` end to end on synthetic footage: mine, fine-tune, export, report (small)."""

from __future__ import annotations

import json

import pytest

from encoder import Encoder
from reid.cli import main


@pytest.mark.slow
def test_adapt_mines_fine_tunes_and_exports(random_checkpoint, synthetic_mot, tmp_path, capsys):
    out = tmp_path / "adapted"
    argv = ["adapt", "--base", str(random_checkpoint), "--mot_dir", str(synthetic_mot),
            "--output-dir", str(out), "--steps", "6", "--batch-size", "32", "--device", "cpu",
            "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    report = json.loads((out / "adapt.json").read_text())
    assert report["mined"]["identities"] >= 6
    assert report["training_sets"][0] == str(out / "mined")
    for key in ("separation_before", "separation_after"):
        assert 0.0 <= report[key]["auc"] <= 1.0 and report[key]["tracklets"] >= 2
    assert Encoder(out / "model.onnx").encode_boxes is not None
    config = json.loads((out / "config.json").read_text())
    assert config["initialised_from"]
    printed = capsys.readouterr().out
    assert "[4/4] Held-out tracklet separation (AUC)" in printed
    held_out = tmp_path / "adapted" / "mined-held-out" / "bounding_box_test"
    train = {p.name[:4] for p in (out / "mined" / "bounding_box_train").glob("*.jpg")}
    assert not train & {p.name[:4] for p in held_out.glob("*.jpg")}
    # A rerun finds every stage done.
    assert main(argv) == 0
    # A run fine-tuned under other defaults (here MixStyle off) is refused with a fix adapt has.
    config["config"]["mixstyle"] = 0.0
    (out / "config.json").write_text(json.dumps(config))
    capsys.readouterr()
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert "mixstyle=0.0" in error and "Use a new --output-dir" in error, error


def test_adapt_refuses_footage_without_detections(random_checkpoint, tmp_path, capsys):
    (tmp_path / "mot" / "S" / "img1").mkdir(parents=True)
    argv = ["adapt", "--base", str(random_checkpoint), "--mot_dir", str(tmp_path / "mot"),
            "--output-dir", str(tmp_path / "out")]  # fmt: skip
    assert main(argv) == 2
    assert "has detections" in capsys.readouterr().err
