"""Batches of look-alike people: the neighbour maths, the batches, the wait, and a resumed run."""

import threading

import numpy as np
import pytest

from core.errors import ReidError
from training import look_alikes
from training.look_alikes import REFRESH_EVERY, LookAlikeSampler, nearest_identities


def _brute_force_nearest(vectors, count):
    unit = vectors / np.linalg.norm(vectors, axis=0, keepdims=True)
    cosines = unit.T @ unit
    return np.array(
        [
            [j for j in np.argsort(-row, kind="stable") if j != i][:count]
            for i, row in enumerate(cosines)
        ]
    )


def test_nearest_identities_against_a_brute_force_reference():
    vectors = np.random.default_rng(0).normal(size=(16, 40)) * np.linspace(0.1, 3, 40)
    np.testing.assert_array_equal(nearest_identities(vectors, 5), _brute_force_nearest(vectors, 5))
    assert nearest_identities(vectors, 100).shape == (40, 39)
    assert nearest_identities(vectors[:, :1], 3).shape == (1, 0)


def _sampler(people=60, images=5, look_alikes_per_seed=3, seed=0):
    labels = np.repeat(np.arange(1, people + 1), images)
    sampler = LookAlikeSampler(labels, 16, 4, seed=seed, look_alikes=look_alikes_per_seed)
    return sampler, labels


def _publish(sampler, step, people=60, dimensions=8):
    vectors = np.random.default_rng(step).normal(size=(dimensions, people))
    sampler.publish(step, vectors, np.arange(1, people + 1))
    return vectors


def _expected_people(seeds, nearest, look_alikes_per_seed, batch_people):
    chosen = []
    for seed in seeds:
        fresh = [j for j in [seed, *nearest[seed]] if j not in chosen]
        chosen += fresh[: look_alikes_per_seed + 1]
    return chosen[:batch_people]


def test_a_batch_holds_p_distinct_people_in_groups_of_look_alikes():
    sampler, labels = _sampler()
    vectors = _publish(sampler, 0)
    nearest = _brute_force_nearest(vectors, 59)
    for step in range(REFRESH_EVERY):
        batch = labels[sampler.batch_at(step)].reshape(16, 4)
        assert (batch == batch[:, :1]).all()  # K images of each person in a row
        people = list(batch[:, 0] - 1)
        assert len(set(people)) == 16
        # Each seed brings the 3 nearest people not yet in the batch (itself first if new).
        assert people == _expected_people(sampler.seed_slots_at(step), nearest, 3, 16), step


def test_every_person_is_a_seed_once_per_seed_epoch():
    sampler, _ = _sampler()
    _publish(sampler, 0)
    assert sampler.seeds_per_batch == 4 and sampler.seed_batches_per_epoch == 15
    seeds = np.concatenate([sampler.seed_slots_at(step) for step in range(15)])
    assert sorted(seeds) == list(range(60))


def test_batches_depend_only_on_the_seed_step_and_published_vectors():
    first, _ = _sampler()
    second, _ = _sampler()
    for sampler in (first, second):
        _publish(sampler, 0)
        _publish(sampler, REFRESH_EVERY)
    for step in (0, 7, REFRESH_EVERY, REFRESH_EVERY + 3):
        np.testing.assert_array_equal(first.batch_at(step), second.batch_at(step))
    other_seed, _ = _sampler(seed=1)
    _publish(other_seed, 0)
    assert not np.array_equal(other_seed.batch_at(0), first.batch_at(0))


def test_a_batch_waits_for_its_period_and_close_releases_the_wait(monkeypatch):
    sampler, _ = _sampler()
    _publish(sampler, 0)
    results = []
    waiting = threading.Thread(target=lambda: results.append(sampler.batch_at(REFRESH_EVERY)))
    waiting.start()
    waiting.join(0.2)
    assert waiting.is_alive() and not results  # period 1 is not published yet
    _publish(sampler, REFRESH_EVERY)
    waiting.join(5)
    assert len(results) == 1
    sampler.close()
    with pytest.raises(RuntimeError, match="no look-alike table"):
        sampler.batch_at(5 * REFRESH_EVERY)
    monkeypatch.setattr(look_alikes, "WAIT_SECONDS", 0.05)
    unpublished, _ = _sampler()
    with pytest.raises(RuntimeError, match="no look-alike table"):
        unpublished.batch_at(0)


def test_look_alikes_need_the_cosine_softmax_term():
    from training.train import TrainConfig

    with pytest.raises(ReidError, match="look-alikes"):
        TrainConfig(data_dir="x", loss="triplet", look_alikes=3).check()
    with pytest.raises(ReidError, match="look-alikes"):
        TrainConfig(data_dir="x", look_alikes=-1).check()


def test_a_run_keeps_its_look_alike_vectors_and_resumes_mid_period(small_market, tmp_path):
    tf = pytest.importorskip("tensorflow")
    from tests.training.test_train import _config
    from training.train import train

    run = tmp_path / "run"
    train(_config(small_market, run, steps=3, checkpoint_every=1, look_alikes=2))
    reader = {
        step: tf.train.load_checkpoint(str(run / "checkpoints" / f"ckpt-{step}")) for step in (1, 3)
    }
    kept = "look_alike_vectors/.ATTRIBUTES/VARIABLE_VALUE"
    head = "head/mean_vectors/.ATTRIBUTES/VARIABLE_VALUE"
    # Steps 1-3 lie in the first period: the vectors kept are those of step 0, not the head's now.
    np.testing.assert_array_equal(reader[1].get_tensor(kept), reader[3].get_tensor(kept))
    assert not np.array_equal(reader[3].get_tensor(kept), reader[3].get_tensor(head))
    messages = []
    resumed = train(
        _config(small_market, run, steps=5, checkpoint_every=1, look_alikes=2),
        log=messages.append,
    )
    assert resumed["steps"] == 5 and any("step 3" in m for m in messages)
