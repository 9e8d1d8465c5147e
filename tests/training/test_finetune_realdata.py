"""Fine-tuning on a small real set beats training on it from scratch in the same steps.

Real CUHK03 people (REID_REALDATA_DIR): a base run trains briefly on CUHK03-detected; then 60
people of CUHK03-extra are learnt for the same few steps twice, from the base's weights (the
backbone at a tenth of the rate) and from scratch, and both are scored on 100 other CUHK03-extra
people (camera 3 queries against the camera 4 gallery, Market-1501 rules).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from evaluation.features import open_feature_model  # noqa: E402
from ranking import cosine_distance, evaluate_ranking  # noqa: E402
from training.datasets import read_dataset  # noqa: E402
from training.datasets.split import subset  # noqa: E402
from training.train import TrainConfig, train  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.realdata]


def _real_data() -> Path:
    root = os.environ.get("REID_REALDATA_DIR")
    if not root or not (Path(root) / "CUHK03-extra" / "bounding_box_train").is_dir():
        pytest.skip("REID_REALDATA_DIR with CUHK03-detected and CUHK03-extra is not set")
    return Path(root)


def _slice(source: Path, identities, out: Path) -> Path:
    """A Market-1501 folder linking the images of `identities` (nothing is copied)."""
    folder = out / "bounding_box_train"
    folder.mkdir(parents=True)
    for image in sorted(source.glob("*.jpg")):
        if int(image.name[:4]) in identities:
            (folder / image.name).symlink_to(image)
    return out


def _rank1(run_dir: Path, test) -> float:
    model = open_feature_model(str(run_dir))
    q, g = test.cameras == 3, test.cameras == 4
    features = model.extract(test.paths, progress=False)
    result = evaluate_ranking(
        cosine_distance(features[q], features[g]),
        test.identities[q], test.identities[g], test.cameras[q], test.cameras[g],
    )  # fmt: skip
    return float(result["cmc"][0])


def test_fine_tuning_beats_training_from_scratch(tmp_path):
    data = _real_data()
    common = dict(dataset="market1501", device="cpu", validate_every=0, checkpoint_every=1000,
                  log_every=50, seed=0)  # fmt: skip
    base = tmp_path / "base"
    train(TrainConfig(data_dir=str(data / "CUHK03-detected"), output_dir=str(base), steps=120,
                      batch_size=64, **common))  # fmt: skip
    extra = read_dataset("market1501", data / "CUHK03-extra").train
    people = np.unique(extra.identities)
    small = _slice(data / "CUHK03-extra" / "bounding_box_train", set(people[:60]), tmp_path / "s")
    test = subset(extra, np.isin(extra.identities, people[-100:]), keep_skipped=False)
    runs = {}
    # The README's fine-tuning keeps the backbone's rate low. Training is not bit-reproducible
    # under CPU load; measured quietly and loaded (seed 0): tuned 11.6% and 13.3% (8.9% and 9.4%
    # at the full rate, 2.65% once), scratch 1.4%.
    for name, init, backbone in (("scratch", None, 1.0), ("tuned", str(base), 0.1)):
        runs[name] = tmp_path / name
        train(
            TrainConfig(
                data_dir=str(small),
                output_dir=str(runs[name]),
                steps=40,
                batch_size=32,
                init_from=init,
                backbone_lr_scale=backbone,
                validation_fraction=0.0,
                **common,
            )
        )
    scratch, tuned = _rank1(runs["scratch"], test), _rank1(runs["tuned"], test)
    assert tuned > scratch + 0.02, (tuned, scratch)
