"""A video file through video-to-mot, generate-detections, track --render and mot-eval."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.errors import DatasetError
from deep_sort_bridge import mot_io
from deep_sort_bridge.video import video_to_mot
from reid.cli import main


def write_video(sequence: Path, path: Path, fps: float = 12.0) -> int:
    """The frames of a MOT sequence as an MJPG .avi; returns the frame count."""
    frames = list(mot_io.frame_files(sequence / "img1").values())
    first = cv2.imread(str(frames[0]))
    size = (first.shape[1], first.shape[0])
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    for frame in frames:
        writer.write(cv2.imread(str(frame)))
    writer.release()
    return len(frames)


@pytest.fixture
def video(synthetic_mot, tmp_path) -> Path:
    """SYNTH-01 as walk.avi, with its detections beside it as walk.txt."""
    sequence = synthetic_mot / "SYNTH-01"
    path = tmp_path / "walk.avi"
    write_video(sequence, path)
    shutil.copy(sequence / "det" / "det.txt", tmp_path / "walk.txt")
    return path


def test_a_video_runs_through_generate_detections_track_render_and_mot_eval(
    video, synthetic_mot, onnx_model, tmp_path, capsys
):
    mot = tmp_path / "mot"
    gt = synthetic_mot / "SYNTH-01" / "gt" / "gt.txt"
    assert main(["video-to-mot", str(video), str(mot), "--gt", str(gt), "--no-progress"]) == 0
    sequence = mot / "walk"
    info = mot_io.read_seqinfo(sequence)
    assert (info.length, info.frame_rate, info.width, info.height) == (60, 12.0, 480, 360)
    assert len(mot_io.frame_files(sequence / "img1")) == 60
    assert (sequence / "det" / "det.txt").read_bytes() == video.with_suffix(".txt").read_bytes()
    detections, results, render = tmp_path / "det", tmp_path / "res", tmp_path / "render"
    assert main(["generate-detections", "--model", str(onnx_model), "--mot_dir", str(mot),
                 "--output_dir", str(detections), "--no-progress"]) == 0  # fmt: skip
    matrix = np.load(detections / "walk.npy")
    assert matrix.shape == (len(mot_io.read_detections(sequence / "det" / "det.txt")), 138)
    track = ["track", "--mot_dir", mot, "--detections", detections, "--output_dir", results]
    assert main([str(a) for a in track] + ["--render", str(render), "--no-progress"]) == 0
    assert len(list((render / "walk").glob("*.jpg"))) == 60
    assert (render / "walk.mp4").stat().st_size > 0
    assert main(["mot-eval", "--mot_dir", str(mot), "--results", str(results)]) == 0
    scores = json.loads((results / "mot_eval.json").read_text())["scores"]["walk"]
    assert scores["hota"] > 0.2 and scores["idf1"] > 0.2
    assert "HOTA" in capsys.readouterr().out


def test_a_rerun_keeps_the_frames_and_finishes_an_interrupted_one(video, tmp_path):
    mot = tmp_path / "mot"
    first = video_to_mot(video, mot, progress=False)
    assert first["frames"] == 60 and not first["skipped"]
    assert video_to_mot(video, mot, progress=False)["skipped"]
    sequence = Path(first["sequence"])
    frame = sequence / "img1" / "000007.jpg"
    stamp = frame.stat().st_mtime_ns
    (sequence / "seqinfo.ini").unlink()  # as if stopped before the end
    (sequence / "img1" / "000060.jpg").unlink()
    again = video_to_mot(video, mot, progress=False)
    assert again["frames"] == 60 and not again["skipped"]
    assert frame.stat().st_mtime_ns == stamp
    assert (sequence / "img1" / "000060.jpg").is_file()
    assert oct(frame.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_bad_videos_and_foreign_folders_are_refused_clearly(video, tmp_path, capsys):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    with pytest.raises(DatasetError, match="cannot read"):
        video_to_mot(broken, tmp_path / "mot", progress=False)
    with pytest.raises(DatasetError, match="does not exist"):
        video_to_mot(tmp_path / "missing.mp4", tmp_path / "mot", progress=False)
    bad_detections = tmp_path / "bad.txt"
    bad_detections.write_text("1,-1,10,10\n")
    with pytest.raises(DatasetError, match="bad.txt"):
        video_to_mot(video, tmp_path / "mot2", detections=bad_detections, progress=False)
    foreign = tmp_path / "mot3" / "walk"
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("mine")
    assert main(["video-to-mot", str(video), str(tmp_path / "mot3")]) == 2
    assert "was not written from" in capsys.readouterr().err
    assert (foreign / "notes.txt").read_text() == "mine"


@pytest.mark.skipif(not os.environ.get("REID_REALDATA_DIR"), reason="REID_REALDATA_DIR is not set")
def test_the_real_concourse_video_streams_into_a_sequence(tmp_path):
    real = Path(os.environ["REID_REALDATA_DIR"]) / "videos" / "concourse-1280x720.mp4"
    if not real.is_file():
        pytest.skip("no real video in REID_REALDATA_DIR")
    summary = video_to_mot(real, tmp_path / "mot", progress=False)
    assert (summary["frames"], summary["frame_rate"]) == (341, 25.0)
    assert (summary["width"], summary["height"]) == (1280, 720)
    assert summary["detections"] == 0
