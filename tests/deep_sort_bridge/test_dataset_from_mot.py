"""dataset-from-mot: ground-truth tracks cut into a Market-1501 folder that training reads."""

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.errors import DatasetError
from deep_sort_bridge import mot_io
from deep_sort_bridge.dataset_from_mot import (
    CutConfig,
    inside_fraction,
    limit_per_identity,
    select_boxes,
    write_dataset_from_mot,
)
from training.datasets import read_dataset

from .conftest import requires_realdata


def test_filters_follow_the_settings():
    # frame, id, x, y, w, h, consider, class, visibility
    gt = np.array(
        [
            [1, 1, 10, 10, 30, 80, 1, 1, 0.9],
            [2, 1, 10, 10, 30, 80, 1, 1, 0.9],  # not on the stride
            [3, 1, 10, 10, 30, 80, 1, 1, 0.2],  # hidden
            [1, 2, 10, 10, 30, 40, 1, 1, 0.9],  # too small
            [1, 3, 10, 10, 30, 80, 0, 1, 0.9],  # not considered
            [1, 4, 10, 10, 30, 80, 1, 3, 0.9],  # a car
            [1, 5, 90, 10, 30, 80, 1, 1, 0.9],  # half outside a 100-wide frame
            [3, 6, 10, 10, 30, 80, 1, 1, 0.6],
        ]
    )
    config = CutConfig(min_visibility=0.5, min_height=50, frame_stride=2, min_inside=0.8)
    kept = select_boxes(gt, config, frame_size=(100, 200))
    assert kept[:, :2].tolist() == [[1, 1], [3, 6]]
    np.testing.assert_allclose(inside_fraction(gt[[0, 6], 2:6], 100, 200), [1.0, 1 / 3])


def test_identities_with_too_few_crops_are_dropped_and_long_ones_thinned():
    rows = np.array([[f, 1, 0, 0, 1, 1] for f in range(1, 11)] + [[1, 2, 0, 0, 1, 1]], float)
    limited = limit_per_identity(rows, CutConfig(min_images=2, max_images=4))
    assert limited[:, 1].tolist() == [1, 1, 1, 1]
    assert limited[:, 0].tolist() == [1, 4, 7, 10]


def test_synthetic_sequences_become_a_market1501_folder(synthetic_mot, tmp_path):
    out = tmp_path / "market"
    config = CutConfig(frame_stride=3, min_height=40)
    summary = write_dataset_from_mot(synthetic_mot, out, config, progress=False)
    dataset = read_dataset("market1501", out)
    train = dataset.train
    assert len(train) == summary["images"] > 0 and dataset.query is None
    assert set(train.cameras.tolist()) == {1, 2}  # camera = sequence
    identities = {c: set(train.identities[train.cameras == c].tolist()) for c in (1, 2)}
    assert not identities[1] & identities[2]  # unique across sequences
    assert summary["identities"] == len(identities[1] | identities[2])
    image = cv2.imread(str(train.paths[0]))
    assert image.shape == (128, 64, 3)
    with open(out / "identities.csv") as handle:
        mapping = list(csv.DictReader(handle))
    assert {m["sequence"] for m in mapping} == {"SYNTH-01", "SYNTH-02"}
    assert sum(int(m["images"]) for m in mapping) == len(train)
    # The frames in the file names are on the stride.
    frames = {int(Path(p).name.split("_")[2]) for p in train.paths}
    assert all((f - 1) % 3 == 0 for f in frames)

    again = write_dataset_from_mot(synthetic_mot, out, config, progress=False)
    assert again["skipped"] and again["images"] == summary["images"]
    with pytest.raises(DatasetError, match="other settings"):
        write_dataset_from_mot(synthetic_mot, out, CutConfig(frame_stride=2), progress=False)


def test_an_interrupted_cut_resumes_only_with_the_same_settings(synthetic_mot, tmp_path):
    out = tmp_path / "market"
    config = CutConfig(frame_stride=6)
    done = write_dataset_from_mot(synthetic_mot, out, config, progress=False)
    (out / "dataset_from_mot.json").rename(out / ".dataset_from_mot-partial.json")
    marker = json.loads((out / ".dataset_from_mot-partial.json").read_text())
    marker.pop("summary")
    (out / ".dataset_from_mot-partial.json").write_text(json.dumps(marker))
    first = sorted(out.glob("bounding_box_train/*.jpg"))
    first[0].unlink()
    with pytest.raises(DatasetError, match="unfinished"):
        write_dataset_from_mot(synthetic_mot, out, CutConfig(frame_stride=5), progress=False)
    again = write_dataset_from_mot(synthetic_mot, out, config, progress=False)
    assert again["images"] == done["images"] and not again["skipped"]
    assert sorted(out.glob("bounding_box_train/*.jpg")) == first
    assert not (out / ".dataset_from_mot-partial.json").exists()


def test_refusals_name_the_problem(synthetic_mot, tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    with pytest.raises(DatasetError, match="not written by"):
        write_dataset_from_mot(synthetic_mot, tmp_path / "taken", progress=False)
    with pytest.raises(DatasetError, match="passed the filters"):
        write_dataset_from_mot(
            synthetic_mot, tmp_path / "none", CutConfig(min_height=5000), progress=False
        )
    bare = tmp_path / "bare" / "SEQ"
    (bare / "img1").mkdir(parents=True)
    with pytest.raises(DatasetError, match="ground truth"):
        write_dataset_from_mot(tmp_path / "bare", tmp_path / "out", progress=False)
    with pytest.raises(DatasetError, match="frame-stride"):
        write_dataset_from_mot(synthetic_mot, tmp_path / "o", CutConfig(frame_stride=0))


@pytest.mark.slow
def test_reid_train_runs_on_the_output(synthetic_mot, tmp_path):
    pytest.importorskip("tensorflow")
    from reid.cli import main

    out = tmp_path / "market"
    write_dataset_from_mot(synthetic_mot, out, CutConfig(frame_stride=2), progress=False)
    argv = ["train", "--dataset", "market1501", "--data-dir", str(out), "--output-dir",
            str(tmp_path / "run"), "--steps", "2", "--batch-size", "16", "--device", "cpu",
            "--validate-every", "0", "--checkpoint-every", "2", "--log-every", "1"]  # fmt: skip
    assert main(argv) == 0
    assert list((tmp_path / "run" / "checkpoints").glob("ckpt-2*"))


@pytest.mark.realdata
@requires_realdata
def test_real_mot17_ground_truth_is_cut(real_mot, tmp_path):
    summary = write_dataset_from_mot(
        real_mot, tmp_path / "market", CutConfig(frame_stride=1), progress=False
    )
    train = read_dataset("market1501", tmp_path / "market").train
    assert len(train) == summary["images"] > 20
    assert set(train.cameras.tolist()) == {1, 2}
    gt = mot_io.read_groundtruth(real_mot / "MOT17-05-FRCNN" / "gt" / "gt.txt")
    pedestrians = gt[(gt[:, 6] == 1) & (gt[:, 7] == 1)]
    assert (train.cameras == 2).sum() <= len(pedestrians)
