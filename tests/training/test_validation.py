"""What training validates on: the dataset's own test split, or held-out training identities."""

import numpy as np
import pytest

from core.errors import ReidError
from training.datasets.common import Dataset, ImageSet
from training.validation import choose_validation, validation_rank1


def _images(ids, cams, tracklets=None):
    ids = np.asarray(ids, np.int64)
    return ImageSet(
        paths=np.array([f"{i}-{k}.jpg" for k, i in enumerate(ids)]),
        identities=ids,
        cameras=np.asarray(cams, np.int64),
        tracklets=None if tracklets is None else np.asarray(tracklets, np.int64),
    )


TRAIN = _images(np.repeat(np.arange(1, 11), 2), [1, 2] * 10)
QUERY = _images([21, 22, 23], [1, 1, 1])
GALLERY = _images([21, 22, 23, 0], [2, 2, 2, 2])


def test_test_split_validates_on_the_first_one_and_trains_on_every_identity():
    datasets = [Dataset("a", TRAIN), Dataset("b", TRAIN, QUERY, GALLERY)]
    train, validation = choose_validation("test-split", datasets, TRAIN, 0.2)
    assert train is TRAIN and validation.protocol == "test-split"
    assert validation.query is QUERY and validation.gallery is GALLERY
    assert "3 queries, 4 gallery images of 3 identities" in validation.describe()


def test_held_out_identities_leave_training_even_beside_a_test_split():
    with_split = [Dataset("b", TRAIN, QUERY, GALLERY)]
    train, validation = choose_validation("held-out", with_split, TRAIN, 0.2)
    assert validation.protocol == "held-out" and validation.gallery is None
    assert validation.num_identities == 2 and train.num_identities == 8
    assert not set(train.identities) & set(validation.query.identities)


def test_test_split_needs_a_still_image_query_and_gallery():
    video = Dataset("mars", TRAIN, _images([21], [1], [5]), _images([21], [2], [6]))
    for datasets in ([Dataset("a", TRAIN)], [video]):
        with pytest.raises(ReidError, match="none of the datasets has a query"):
            choose_validation("test-split", datasets, TRAIN, 0.2)
    with pytest.raises(ReidError, match="Unknown --validation"):
        choose_validation("auto", [video], TRAIN, 0.2)


def test_validation_rank1_ranks_under_market_rules():
    def by_identity(paths):
        ids = np.array([int(p.split("-")[0]) for p in paths])
        features = np.zeros((len(paths), 32), np.float32)
        features[np.arange(len(paths)), ids % 32] = 1.0
        return features

    datasets = [Dataset("b", TRAIN, QUERY, GALLERY)]
    _, validation = choose_validation("test-split", datasets, TRAIN, 0.2)
    assert validation_rank1(validation, by_identity) == 1.0
    _, held_out = choose_validation("held-out", [Dataset("b", TRAIN)], TRAIN, 0.3)
    assert validation_rank1(held_out, by_identity) == 1.0
