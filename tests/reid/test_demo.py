"""The main job end to end on a tiny dataset: synthesise, train, freeze, export; rerun is cheap."""

import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("tensorflow")


@pytest.mark.slow
def test_demo_trains_freezes_and_exports_then_reruns_without_work(tmp_path):
    command = [
        sys.executable, "-m", "reid", "demo", "--workdir", str(tmp_path), "--steps", "2",
        "--batch-size", "16", "--train-identities", "12", "--device", "cpu", "--no-serve",
    ]  # fmt: skip
    first = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert first.returncode == 0, first.stdout + first.stderr
    for name in ("model.pb", "model.pb.json", "model.onnx", "model.onnx.json"):
        assert (tmp_path / name).stat().st_size > 0
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["steps"] == 2
    recipe = json.loads((tmp_path / "run" / "config.json").read_text())["config"]
    assert (recipe["dropout"], recipe["validation"]) == (0.1, "test-split")  # the main job's own

    from encoder import Encoder

    crops = np.random.default_rng(0).integers(0, 256, (3, 128, 64, 3), dtype=np.uint8)
    features = Encoder(tmp_path / "model.onnx").encode(crops)
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), 1.0, atol=1e-4)

    second = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert second.returncode == 0, second.stderr
    assert "nothing to do" in second.stdout and "up to date" in second.stdout

    # A workdir whose run an earlier main job trained with another recipe: refused, clearly.
    config_path = tmp_path / "run" / "config.json"
    record = json.loads(config_path.read_text())
    record["config"]["dropout"] = 0.4
    config_path.write_text(json.dumps(record))
    third = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert third.returncode != 0
    assert "dropout=0.4" in third.stderr and "Use a new --workdir" in third.stderr, third.stderr
    assert "Traceback" not in third.stdout + third.stderr

    # Synthetic people an earlier main job wrote with its full-strength cameras: refused, clearly.
    data_record = tmp_path / "market1501-synth" / "synth.json"
    synth = json.loads(data_record.read_text())
    assert synth["config"]["camera_strength"] == 0.25  # the main job's mild cameras
    del synth["config"]["camera_strength"]  # recorded so at the generator's default, 1.0
    data_record.write_text(json.dumps(synth))
    fourth = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert fourth.returncode != 0
    assert "camera_strength" in fourth.stderr and "earlier main job" in fourth.stderr
    assert f"delete {tmp_path}" in fourth.stderr, fourth.stderr
    assert "Traceback" not in fourth.stdout + fourth.stderr
