"""Neighbouring pedestrians in synthetic crops: off by default, at the side of the box."""

from __future__ import annotations

import dataclasses

import numpy as np

from synthetic import market1501
from synthetic.appearance import random_appearance
from synthetic.crops import render_neighbour, render_person
from synthetic.market1501 import SynthConfig


def test_a_neighbour_stands_at_one_side_of_the_box_and_shows_in_part():
    look = market1501.camera_looks(SynthConfig(neighbours=1.0))[1]
    rng = np.random.default_rng(0)
    for _ in range(20):
        alpha = render_neighbour(128, 64, rng, look)[..., 3].astype(np.float64)
        columns = alpha.sum(axis=0)
        assert columns.sum() > 0
        centre = (columns * np.arange(64)).sum() / columns.sum()
        assert abs(centre - 31.5) > 10  # off-centre, where the person of the box is not
        assert (alpha.max(axis=0) > 127).sum() < 40  # part of a person, not a whole one


def test_neighbours_reach_the_cameras_are_off_by_default_and_then_draw_nothing():
    assert SynthConfig().neighbours == 0.0
    looks = market1501.camera_looks(SynthConfig(neighbours=0.4))
    assert all(look.neighbours == 0.4 for look in looks.values())
    alone = market1501.camera_looks(SynthConfig())
    assert [dataclasses.replace(look, neighbours=0.0) for look in looks.values()] == list(
        alone.values()
    )  # the same cameras, only with neighbours

    appearance = random_appearance(np.random.default_rng(3))
    rng = np.random.default_rng(7)
    first = render_person(appearance, 128, 64, rng, alone[2])
    after = rng.bit_generator.state
    rng = np.random.default_rng(7)
    assert np.array_equal(render_person(appearance, 128, 64, rng, alone[2]), first)
    assert rng.bit_generator.state == after


def test_neighbours_change_the_edges_of_crops_more_than_their_centre():
    appearance = random_appearance(np.random.default_rng(3))
    alone = market1501.camera_looks(SynthConfig())[2]
    crowded = dataclasses.replace(alone, neighbours=1.0)
    edge, centre = [], []
    for seed in range(12):
        plain = render_person(appearance, 128, 64, np.random.default_rng(seed), alone)
        busy = render_person(appearance, 128, 64, np.random.default_rng(seed), crowded)
        changed = np.abs(plain.astype(int) - busy.astype(int)).sum(axis=2) > 30
        edge.append(changed[:, list(range(10)) + list(range(54, 64))].mean())
        centre.append(changed[:, 27:37].mean())
    assert np.mean(edge) > 2 * np.mean(centre)
