"""`reid synth mot`: synthetic MOTChallenge sequences that the bridge reads like real ones."""

import argparse
import hashlib
import json

import pytest

from core.errors import DatasetError
from deep_sort_bridge import metrics, mot_io
from synthetic.cli import add_synth_mot_arguments, run_synth_mot
from synthetic.mot import SynthMotConfig, write_synthetic_mot

TINY = SynthMotConfig(frames=12, width=160, height=120, people=4, seed=2)


def _digest(folder):
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix != ".json")
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files
    }


def test_layout_reads_as_motchallenge(synthetic_mot):
    assert [p.name for p in mot_io.list_sequences(synthetic_mot)] == ["SYNTH-01", "SYNTH-02"]
    sequence = synthetic_mot / "SYNTH-01"
    info = mot_io.read_seqinfo(sequence)
    assert (info.length, info.width, info.height, info.frame_rate) == (60, 480, 360, 25)
    assert list(mot_io.frame_files(info.image_dir)) == list(range(1, 61))
    gt = mot_io.read_groundtruth(sequence / "gt" / "gt.txt")
    det = mot_io.read_detections(sequence / "det" / "det.txt")
    assert set(gt[:, 1].astype(int).tolist()) <= set(range(1, 7))
    assert (gt[:, 6:8] == 1).all() and ((gt[:, 8] >= 0) & (gt[:, 8] <= 1)).all()
    assert (det[:, 1] == -1).all() and ((det[:, 6] > 0) & (det[:, 6] <= 1)).all()
    assert (gt[:, 8] < 0.3).any(), "people should hide each other at times"


def test_detections_are_noisy_copies_of_visible_people(synthetic_mot):
    sequence = synthetic_mot / "SYNTH-01"
    gt = mot_io.read_groundtruth(sequence / "gt" / "gt.txt")
    det = mot_io.read_detections(sequence / "det" / "det.txt")
    matched, visible = 0, 0
    for frame in range(1, 61):
        truth, found = gt[gt[:, 0] == frame], det[det[:, 0] == frame]
        pairs = metrics.matched_pairs(metrics.iou_distance(truth[:, 2:6], found[:, 2:6]))
        matched += len(pairs)
        visible += int((truth[:, 8] >= 0.4).sum())
        for g, _ in pairs:
            assert truth[g, 8] >= 0.4  # hidden people are not detected
    assert 0.85 * visible <= matched <= visible  # a few misses, boxes overlap their person


def test_deterministic_and_rerun_is_a_no_op(tmp_path):
    first = write_synthetic_mot(tmp_path / "a", TINY, progress=False)
    write_synthetic_mot(tmp_path / "b", TINY, progress=False)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert not first["skipped"]
    again = write_synthetic_mot(tmp_path / "a", TINY, progress=False)
    assert again["skipped"] and again["gt_boxes"] == first["gt_boxes"]
    other = SynthMotConfig(frames=12, width=160, height=120, people=4, seed=3)
    write_synthetic_mot(tmp_path / "c", other, progress=False)
    assert _digest(tmp_path / "c") != _digest(tmp_path / "a")


def test_an_interrupted_run_is_finished_only_with_the_same_settings(tmp_path):
    out = tmp_path / "mot"
    write_synthetic_mot(out, TINY, progress=False)
    expected = _digest(out)
    marker = json.loads((out / "synth_mot.json").read_text())
    (out / "synth_mot.json").unlink()
    marker.pop("summary")
    (out / ".synth_mot-partial.json").write_text(json.dumps(marker))
    (out / "SYNTH-01" / "gt" / "gt.txt").unlink()
    with pytest.raises(DatasetError, match="unfinished"):
        write_synthetic_mot(out, SynthMotConfig(frames=11), progress=False)
    assert not write_synthetic_mot(out, TINY, progress=False)["skipped"]
    assert _digest(out) == expected
    assert not (out / ".synth_mot-partial.json").exists()


def test_refusals(tmp_path):
    write_synthetic_mot(tmp_path / "a", TINY, progress=False)
    with pytest.raises(DatasetError, match="other settings"):
        write_synthetic_mot(tmp_path / "a", SynthMotConfig(frames=13), progress=False)
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "MOT17-02").mkdir()
    with pytest.raises(DatasetError, match="not written by"):
        write_synthetic_mot(tmp_path / "real", TINY, progress=False)
    with pytest.raises(DatasetError, match="people"):
        write_synthetic_mot(tmp_path / "x", SynthMotConfig(people=0), progress=False)


def test_command_line(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_synth_mot_arguments(parser)
    argv = [str(tmp_path / "mot"), "--frames", "5", "--width", "160", "--height", "120",
            "--people", "2", "--sequences", "2", "--no-progress"]  # fmt: skip
    assert run_synth_mot(parser.parse_args(argv)) == 0
    assert "Wrote 2 sequence(s) of 5 frames" in capsys.readouterr().out
    assert len(list((tmp_path / "mot" / "SYNTH-02" / "img1").glob("*.jpg"))) == 5
    assert run_synth_mot(parser.parse_args(argv)) == 0
    assert "nothing to do" in capsys.readouterr().out
