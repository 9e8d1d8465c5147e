"""The identity-balanced P x K sampler: shape, grouping, determinism, resume, edge cases."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from core.errors import DatasetError
from training.sampler import IdentityBalancedSampler


def labels(counts: dict[int, int], seed: int = 0) -> np.ndarray:
    """Identity labels with `counts[identity]` images each, in shuffled order."""
    values = np.concatenate([np.full(n, i, np.int64) for i, n in counts.items()])
    return np.random.default_rng(seed).permutation(values)


def test_batch_shape_dtype_and_grouping():
    ids = labels({i: 6 for i in range(1, 41)})
    sampler = IdentityBalancedSampler(ids, identities_per_batch=8, images_per_identity=4, seed=3)
    assert sampler.batch_size == 32
    for step in range(12):
        batch = sampler.batch_at(step)
        assert batch.shape == (32,) and batch.dtype == np.int64
        groups = ids[batch].reshape(8, 4)
        assert np.all(groups == groups[:, :1])  # K in a row share one identity
        assert len(np.unique(groups[:, 0])) == 8  # P different identities
        assert np.array_equal(np.sort(groups[:, 0]), np.sort(sampler.identities_at(step)))
        for group in batch.reshape(8, 4):
            assert len(np.unique(group)) == 4  # >= K images: no repeats


def test_deterministic_in_seed_and_step():
    ids = labels({i: 5 for i in range(1, 30)})
    a = IdentityBalancedSampler(ids, 4, 4, seed=11)
    b = IdentityBalancedSampler(ids, 4, 4, seed=11)
    c = IdentityBalancedSampler(ids, 4, 4, seed=12)
    assert np.array_equal(a.batch_at(57), b.batch_at(57))
    assert np.array_equal(a.batch_at(3), a.batch_at(3))
    assert not np.array_equal(a.batch_at(57), c.batch_at(57))
    assert not np.array_equal(a.batch_at(0), a.batch_at(1))


def test_resume_matches_iteration():
    ids = labels({i: 3 + i % 4 for i in range(1, 26)})
    sampler = IdentityBalancedSampler(ids, 6, 4, seed=2)
    first = list(itertools.islice(iter(sampler), 40))
    fresh = IdentityBalancedSampler(ids, 6, 4, seed=2)
    for n in (0, 7, 39):
        assert np.array_equal(fresh.batch_at(n), first[n])
    resumed = list(itertools.islice(fresh.iterate(25), 15))
    assert all(np.array_equal(x, y) for x, y in zip(resumed, first[25:], strict=True))


def test_identities_with_fewer_than_k_images_do_not_crash():
    ids = labels({1: 1, 2: 2, 3: 3, 4: 10})
    sampler = IdentityBalancedSampler(ids, identities_per_batch=4, images_per_identity=4)
    batch = sampler.batch_at(0)
    groups = batch.reshape(4, 4)
    single = groups[ids[groups[:, 0]] == 1][0]
    assert np.all(single == np.flatnonzero(ids == 1)[0])  # the one image, four times
    pair = groups[ids[groups[:, 0]] == 2][0]
    assert set(pair.tolist()) <= set(np.flatnonzero(ids == 2).tolist())


def test_junk_and_distractors_never_sampled():
    ids = labels({-1: 50, 0: 50, 1: 4, 2: 4, 3: 4})
    sampler = IdentityBalancedSampler(ids, 3, 2, seed=1)
    drawn = np.concatenate([sampler.batch_at(s) for s in range(30)])
    assert set(ids[drawn].tolist()) == {1, 2, 3}
    assert sampler.num_identities == 3


def test_too_few_identities_suggests_batch_size():
    ids = labels({i: 4 for i in range(1, 11)})
    with pytest.raises(DatasetError) as err:
        IdentityBalancedSampler(ids, identities_per_batch=32, images_per_identity=4)
    text = str(err.value)
    assert "32 different identities" in text and "only 10" in text
    assert "--batch-size" in text and "at most 40" in text
    with pytest.raises(DatasetError, match="no usable identities"):
        IdentityBalancedSampler(np.array([-1, 0, 0]), 1, 1)


def test_every_epoch_deals_each_identity_once():
    ids = labels({i: 4 for i in range(1, 25)})
    sampler = IdentityBalancedSampler(ids, 6, 2, seed=9)
    assert sampler.batches_per_epoch == 4
    for epoch in range(5):
        steps = range(epoch * 4, (epoch + 1) * 4)
        dealt = np.concatenate([sampler.identities_at(s) for s in steps])
        assert np.array_equal(np.sort(dealt), np.arange(1, 25))


def test_coverage_is_uniform_when_identities_do_not_divide():
    ids = labels({i: 4 for i in range(1, 11)})
    sampler = IdentityBalancedSampler(ids, 3, 2, seed=4)
    drawn = np.concatenate([sampler.identities_at(s) for s in range(600)])
    counts = np.bincount(drawn, minlength=11)[1:]
    assert counts.sum() == 1800
    assert counts.min() > 0.85 * 180 and counts.max() < 1.15 * 180
    for step in range(600):
        assert len(set(sampler.identities_at(step).tolist())) == 3


def test_images_within_identity_are_covered():
    ids = labels({1: 8, 2: 8})
    sampler = IdentityBalancedSampler(ids, 2, 2, seed=0)
    drawn = np.concatenate([sampler.batch_at(s) for s in range(200)])
    counts = np.bincount(drawn, minlength=len(ids))
    assert counts.min() > 30 and counts.max() < 70  # 50 expected per image
