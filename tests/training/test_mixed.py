"""Several datasets in one run, and fine-tuning from another run's weights."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.errors import ReidError
from training.datasets.common import ImageSet
from training.datasets.mixed import combine_training_sets

tf = pytest.importorskip("tensorflow")

from reid.cli import main  # noqa: E402
from training.train import TrainConfig  # noqa: E402


def _images(ids, cams, prefix):
    return ImageSet(
        paths=np.array([f"{prefix}/{i}.jpg" for i in range(len(ids))]),
        identities=np.array(ids, np.int64),
        cameras=np.array(cams, np.int64),
    )


def test_identities_and_cameras_of_two_sets_stay_apart():
    a = _images([1, 1, 2, 2, -1, 0], [1, 2, 1, 2, 1, 2], "a")
    b = _images([1, 1, 3, 3], [1, 2, 1, 1], "b")
    combined, record = combine_training_sets([a, b], ["market1501:a", "folder:b"])
    np.testing.assert_array_equal(combined.identities, [1, 1, 2, 2, -1, 0, 3, 3, 5, 5])
    np.testing.assert_array_equal(combined.cameras, [1, 2, 1, 2, 1, 2, 3, 4, 3, 3])
    assert list(combined.paths[:1]) == ["a/0.jpg"] and len(combined) == 10
    assert [r["identities"] for r in record] == [2, 2]
    assert [r["identity_offset"] for r in record] == [0, 2]


def test_dataset_kinds_must_match_the_folders():
    config = TrainConfig(dataset=("market1501", "folder"), data_dir=("a", "b", "c"))
    with pytest.raises(ReidError, match="2 --dataset kinds for 3 --data-dir"):
        config.check()
    assert TrainConfig(dataset="market1501", data_dir=("a", "b")).sources() == [
        ("market1501", "a"),
        ("market1501", "b"),
    ]


def _train(args):
    common = ["--steps", "2", "--batch-size", "32", "--device", "cpu", "--validate-every", "0",
              "--checkpoint-every", "2", "--log-every", "1",
              "--validation-fraction", "0.25"]  # fmt: skip
    return main(["train", *args, *common])


def test_two_datasets_train_in_one_run_and_the_mix_is_recorded(small_market, tmp_path):
    run = tmp_path / "mixed"
    args = ["--data-dir", str(small_market), "--data-dir", str(small_market)]
    assert _train([*args, "--output-dir", str(run)]) == 0
    config = json.loads((run / "config.json").read_text())
    assert [d["source"] for d in config["datasets"]] == [f"market1501:{small_market}"] * 2
    both = 2 * config["datasets"][0]["identities"]
    assert config["num_classes"] == both - round(0.25 * both)  # less the validation share
    # With the datasets' own test split to validate on, every training identity trains.
    whole = tmp_path / "whole"
    assert _train([*args, "--output-dir", str(whole), "--validation", "test-split"]) == 0
    assert json.loads((whole / "config.json").read_text())["num_classes"] == both
    summary = json.loads((whole / "summary.json").read_text())
    assert summary["validation"] == "test-split"


def test_fine_tuning_starts_from_the_base_weights_with_a_fresh_classifier(small_market, tmp_path):
    base = tmp_path / "base"
    assert _train(["--data-dir", str(small_market), "--output-dir", str(base)]) == 0
    tuned = tmp_path / "tuned"
    args = ["--data-dir", str(small_market), "--output-dir", str(tuned)]
    assert _train([*args, "--init-from", str(base), "--backbone-lr-scale", "0.1"]) == 0
    record = json.loads((tuned / "config.json").read_text())["initialised_from"]
    assert record["kind"] == "tf2" and record["checkpoint"].endswith("base/checkpoints/ckpt-2")
    # A rerun resumes the tuned run itself and keeps the record.
    assert _train([*args, "--init-from", str(base), "--backbone-lr-scale", "0.1"]) == 0
    assert json.loads((tuned / "config.json").read_text())["initialised_from"] == record


def test_init_from_a_missing_checkpoint_is_a_clear_error(small_market, tmp_path, capsys):
    args = ["--data-dir", str(small_market), "--output-dir", str(tmp_path / "r")]
    assert _train([*args, "--init-from", str(tmp_path / "nothing")]) == 2
    assert "No checkpoint" in capsys.readouterr().err
