"""The bridge commands end to end: generate-detections, track, mot-eval (and --render)."""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.errors import DatasetError, ModelError, ReidError
from deep_sort_bridge import cli, mot_io

from .conftest import requires_realdata

COMMANDS = {
    "generate-detections": (cli.add_generate_detections_arguments, cli.run_generate_detections),
    "track": (cli.add_track_arguments, cli.run_track),
    "mot-eval": (cli.add_mot_eval_arguments, cli.run_mot_eval),
    "dataset-from-mot": (cli.add_dataset_from_mot_arguments, cli.run_dataset_from_mot),
}


def run(command: str, *argv) -> int:
    parser = argparse.ArgumentParser(prog=f"reid {command}")
    add, run_command = COMMANDS[command]
    add(parser)
    return run_command(parser.parse_args([str(a) for a in argv]))


def _scores(path: Path) -> dict:
    return json.loads(path.read_text())["scores"]


def test_synthetic_sequence_end_to_end_appearance_beats_overlap(
    synthetic_mot, onnx_model, tmp_path, capsys
):
    """generate-detections -> track (appearance on / off) -> mot-eval, in one run."""
    sequence = synthetic_mot / "SYNTH-01"
    detections, on, off = tmp_path / "det", tmp_path / "on", tmp_path / "off"
    # deep_sort's own flag names ...
    assert run("generate-detections", "--model", onnx_model, "--mot_dir", sequence,
               "--output_dir", detections, "--no-progress") == 0  # fmt: skip
    matrix = np.load(detections / "SYNTH-01.npy")
    det = mot_io.read_detections(sequence / "det" / "det.txt")
    assert matrix.shape == (len(det), 138)
    np.testing.assert_allclose(np.linalg.norm(matrix[:, 10:], axis=1), 1.0, atol=1e-4)
    # ... and dashed ones.
    assert run("track", "--mot-dir", sequence, "--detections", detections, "--output-dir", on) == 0
    assert run("track", "--mot-dir", sequence, "--appearance", "off", "--output-dir", off) == 0
    results = mot_io.read_results(on / "SYNTH-01.txt")
    assert len(results) and set(results[:, 0].tolist()) <= set(range(1, 61))
    lines = (on / "SYNTH-01.txt").read_text().splitlines()
    assert all(line.endswith(",1,-1,-1,-1") and line.count(",") == 9 for line in lines)
    track_report = json.loads((on / "track.json").read_text())
    assert track_report["config"]["max_cosine_distance"] == 0.2
    assert track_report["config"]["nn_budget"] == 100

    capsys.readouterr()
    assert run("mot-eval", "--mot_dir", sequence, "--results", on) == 0
    assert run("mot-eval", "--mot_dir", sequence, "--results", off) == 0
    table = capsys.readouterr().out
    assert "MOTA" in table and "IDF1" in table and "SYNTH-01" in table
    with_appearance = _scores(on / "mot_eval.json")["SYNTH-01"]
    overlap_only = _scores(off / "mot_eval.json")["SYNTH-01"]
    print(f"IDF1 appearance {with_appearance['idf1']:.3f}, overlap {overlap_only['idf1']:.3f}")
    assert with_appearance["idf1"] > overlap_only["idf1"]
    for key in ("mota", "motp", "idf1", "idp", "idr", "id_switches", "mostly_tracked",
                "mostly_lost", "false_positives", "false_negatives"):  # fmt: skip
        assert key in with_appearance


def test_render_writes_frames_and_a_video(synthetic_mot, tmp_path):
    sequence = synthetic_mot / "SYNTH-02"
    run("track", "--mot_dir", sequence, "--appearance", "off", "--output_dir", tmp_path / "r")
    out = tmp_path / "render"
    run("mot-eval", "--mot_dir", sequence, "--results", tmp_path / "r", "--render", out,
        "--no-progress")  # fmt: skip
    frames = sorted((out / "SYNTH-02").glob("*.jpg"))
    assert len(frames) == 60
    report = json.loads((tmp_path / "r" / "mot_eval.json").read_text())["render"]["SYNTH-02"]
    video = cv2.VideoCapture(report["video"])
    assert video.isOpened() and int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 60
    drawn = cv2.imread(str(frames[30])).astype(int)
    plain = cv2.imread(str(sequence / "img1" / "000031.jpg")).astype(int)
    assert np.abs(drawn - plain).max() > 100  # boxes and labels are there


def test_clear_errors_for_common_mistakes(synthetic_mot, tmp_path):
    sequence = synthetic_mot / "SYNTH-01"
    with pytest.raises(ModelError, match="No appearance model"):
        run("generate-detections", "--mot_dir", sequence, "--output_dir", tmp_path / "x")
    with pytest.raises(ModelError, match="No model at"):
        run("generate-detections", "--model", tmp_path / "m.onnx", "--mot_dir", sequence)
    with pytest.raises(DatasetError, match="needs the features"):
        run("track", "--mot_dir", sequence, "--output_dir", tmp_path / "t")
    with pytest.raises(DatasetError, match="does not exist"):
        run("track", "--mot_dir", sequence, "--detections", tmp_path / "none")
    with pytest.raises(DatasetError, match="Results folder"):
        run("mot-eval", "--mot_dir", sequence, "--results", tmp_path / "none")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="Nothing to score"):
        run("mot-eval", "--mot_dir", sequence, "--results", tmp_path / "empty")
    with pytest.raises(ReidError, match="max_age"):
        run("track", "--mot_dir", sequence, "--appearance", "off", "--max_age", "0")


@pytest.mark.realdata
@requires_realdata
def test_real_mot17_generate_track_and_score(real_mot, onnx_model, tmp_path):
    detections, results = tmp_path / "det", tmp_path / "res"
    run("generate-detections", "--model", onnx_model, "--mot_dir", real_mot,
        "--output_dir", detections, "--no-progress")  # fmt: skip
    summary = json.loads((detections / "generate_detections.json").read_text())
    assert summary["sequences"] == 2 and summary["missing_frame_detections"] > 10_000
    run("track", "--mot_dir", real_mot, "--detections", detections, "--output_dir", results)
    run("mot-eval", "--mot_dir", real_mot, "--results", results)
    scores = _scores(results / "mot_eval.json")
    for sequence, frames in (("MOT17-02-FRCNN", 4), ("MOT17-05-FRCNN", 6)):
        assert (detections / f"{sequence}.npy").is_file()
        rows = mot_io.read_results(results / f"{sequence}.txt")
        assert set(rows[:, 0].tolist()) <= set(range(1, frames + 1))
        assert scores[sequence]["frames"] == frames
        assert 0.0 < scores[sequence]["idf1"] <= 1.0
    assert scores["OVERALL"]["gt_boxes"] == sum(
        s["gt_boxes"] for k, s in scores.items() if k != "OVERALL"
    )


BLOCK_TENSORFLOW = """
import sys
class _Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras", "tf2onnx"):
            raise ImportError(f"{name} is blocked: the bridge must not need it")
sys.meta_path.insert(0, _Blocked())
sys.path.insert(0, sys.argv.pop(1))
from tests.deep_sort_bridge.test_cli import run
mot, model, out = sys.argv[1:]
run("generate-detections", "--model", model, "--mot_dir", mot, "--output_dir", out + "/d",
    "--no-progress")
run("track", "--mot_dir", mot, "--detections", out + "/d", "--output_dir", out + "/r")
run("mot-eval", "--mot_dir", mot, "--results", out + "/r")
"""


def test_the_bridge_runs_without_tensorflow(synthetic_mot, onnx_model, tmp_path):
    small = tmp_path / "SHORT"
    (small / "img1").mkdir(parents=True)
    for f in range(1, 6):
        (small / "img1" / f"{f:06d}.jpg").symlink_to(
            synthetic_mot / "SYNTH-01" / "img1" / f"{f:06d}.jpg"
        )
    for name in ("det/det.txt", "gt/gt.txt"):
        rows = (synthetic_mot / "SYNTH-01" / name).read_text().splitlines()
        (small / name).parent.mkdir()
        (small / name).write_text("\n".join(r for r in rows if int(r.split(",")[0]) <= 5) + "\n")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            BLOCK_TENSORFLOW,
            str(root),
            str(small),
            str(onnx_model),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "SHORT" in done.stdout and (tmp_path / "r" / "SHORT.txt").is_file()


@pytest.mark.parametrize("model_fixture", ["frozen_graph", "onnx_model"])
def test_bf16_precision_runs_frozen_graphs_and_onnx_on_openvino(
    synthetic_mot, model_fixture, tmp_path, request
):
    model = request.getfixturevalue(model_fixture)
    if model_fixture == "onnx_model":
        with pytest.raises(ReidError, match="bf16"):
            run(
                "generate-detections", "--model", model, "--mot_dir", synthetic_mot,
                "--output_dir", tmp_path / "ort", "--precision", "bf16", "--backend",
                "onnxruntime", "--no-progress",
            )  # fmt: skip
    outputs = {}
    for precision in ("fp32", "bf16"):
        out = tmp_path / precision
        code = run(
            "generate-detections", "--model", model, "--mot_dir", synthetic_mot,
            "--output_dir", out, "--precision", precision, "--no-progress",
        )  # fmt: skip
        assert code == 0
        assert json.loads((out / "generate_detections.json").read_text())["precision"] == precision
        outputs[precision] = {p.name: np.load(p) for p in sorted(out.glob("*.npy"))}
    assert outputs["fp32"].keys() == outputs["bf16"].keys() and outputs["fp32"]
    for name, full in outputs["fp32"].items():
        half = outputs["bf16"][name]
        np.testing.assert_array_equal(full[:, :10], half[:, :10])
        cosine = np.sum(full[:, 10:] * half[:, 10:], axis=1)
        assert cosine.min() > (0.98 if model_fixture == "frozen_graph" else 0.999)
