"""Mining sure tracklets from detections alone, and the pseudo-identity dataset they make."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from core.errors import DatasetError
from deep_sort_bridge import mot_io
from deep_sort_bridge.dataset_from_detections import write_dataset_from_detections
from deep_sort_bridge.mining import (
    MiningConfig,
    isolated,
    mine_tracklets,
    purity,
    spread_rows,
    sure_matches,
)
from reid.cli import main
from tests.deep_sort_bridge.conftest import requires_realdata


def test_sure_matches_need_a_mutual_best_without_a_close_rival():
    iou = np.array([[0.9, 0.1], [0.2, 0.7]])
    assert sure_matches(iou, 0.5, 0.5) == [(0, 0), (1, 1)]
    rival = np.array([[0.9, 0.6], [0.1, 0.2]])  # row 0 could be either column
    assert sure_matches(rival, 0.5, 0.5) == []
    assert sure_matches(np.array([[0.4]]), 0.5, 0.5) == []  # too little overlap
    assert sure_matches(np.zeros((0, 3)), 0.5, 0.5) == []


def test_overlapped_boxes_are_not_isolated():
    boxes = np.array([[0, 0, 10, 20], [2, 0, 10, 20], [100, 0, 10, 20]], float)
    assert isolated(boxes, 0.2).tolist() == [False, False, True]


def _walker(frames, x0, confidence=0.9):
    return [[f, -1, x0 + 3 * f, 50, 30, 80, confidence, -1, -1, -1] for f in frames]


def test_two_walkers_give_two_tracklets_cut_at_a_gap_and_short_ones_dropped():
    rows = _walker(range(1, 21), 0) + _walker(range(1, 9), 300) + _walker(range(10, 25), 300)
    rows += _walker(range(1, 21), 600, confidence=0.1)  # never confident
    tracklets = mine_tracklets(np.array(rows, float), MiningConfig(min_length=10))
    assert [len(t) for t in tracklets] == [20, 15]
    assert [int(t[0, 1]) for t in tracklets] == [1, 2]
    assert tracklets[1][0, 0] == 10  # the gap at frame 9 cut the second walker
    assert len(spread_rows(tracklets[0], 8)) == 8 and spread_rows(tracklets[0], 8)[-1, 0] == 20


def test_synthetic_sequences_give_pure_pseudo_identities(synthetic_mot, tmp_path, capsys):
    out = tmp_path / "mined"
    assert main(["dataset-from-detections", "--mot_dir", str(synthetic_mot), "--output",
                 str(out), "--no-progress"]) == 0  # fmt: skip
    assert "pseudo-identities" in capsys.readouterr().out
    record = json.loads((out / "dataset_from_detections.json").read_text())
    summary = record["summary"]
    assert summary["identities"] >= 6 and summary["cameras"] == 2
    names = sorted(p.name for p in (out / "bounding_box_train").glob("*.jpg"))
    assert len(names) == summary["images"]
    for sequence in mot_io.list_sequences(synthetic_mot):
        det = mot_io.read_detections(sequence / "det" / "det.txt")
        gt = mot_io.read_groundtruth(sequence / "gt" / "gt.txt")
        scores = purity(mine_tracklets(det), gt)
        assert scores["purity"] >= 0.95 and scores["mixed"] == 0
    from training.datasets import read_dataset

    dataset = read_dataset("market1501", out)
    assert dataset.train.num_identities == summary["identities"]
    again = main(["dataset-from-detections", "--mot_dir", str(synthetic_mot), "--output",
                  str(out), "--no-progress"])  # fmt: skip
    assert again == 0 and "nothing to do" in capsys.readouterr().out


def test_bad_footage_is_refused_clearly(synthetic_mot, tmp_path):
    sequence = tmp_path / "mot" / "SYNTH-01"
    shutil.copytree(synthetic_mot / "SYNTH-01", sequence)
    (sequence / "det" / "det.txt").unlink()
    with pytest.raises(DatasetError, match="has detections"):
        write_dataset_from_detections(tmp_path / "mot", tmp_path / "a", progress=False)
    shutil.copy(synthetic_mot / "SYNTH-01" / "det" / "det.txt", sequence / "det" / "det.txt")
    strict = MiningConfig(min_confidence=1.5)
    with pytest.raises(DatasetError, match="reaches --min-confidence 1.5"):
        write_dataset_from_detections(tmp_path / "mot", tmp_path / "b", strict, progress=False)
    long = MiningConfig(min_length=500)
    with pytest.raises(DatasetError, match="too short"):
        write_dataset_from_detections(tmp_path / "mot", tmp_path / "c", long, progress=False)
    assert not (tmp_path / "c" / "dataset_from_detections.json").exists()


@requires_realdata
def test_mining_the_real_mot17_frames_mixes_no_people(real_mot):
    """The real frames are too short to adapt on, but they test mining: no tracklet mixes two
    people, and almost all are one person throughout."""
    pure = total = 0
    for sequence in mot_io.list_sequences(real_mot):
        frames = list(mot_io.frame_files(sequence / "img1"))
        det = mot_io.read_detections(sequence / "det" / "det.txt")
        det = det[np.isin(det[:, 0].astype(int), frames)]
        scores = purity(mine_tracklets(det, MiningConfig(min_length=4)),
                        mot_io.read_groundtruth(sequence / "gt" / "gt.txt"))  # fmt: skip
        assert scores["mixed"] == 0
        pure, total = pure + scores["pure"], total + scores["tracklets"]
    assert total >= 10 and pure / total >= 0.9
