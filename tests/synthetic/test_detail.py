"""Surface detail on synthetic crops: off by default, texture without changing who people are."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from synthetic import market1501
from synthetic.appearance import random_appearance
from synthetic.crops import render_person
from synthetic.detail import add_fabric_detail, add_scene_detail, grain, smooth_noise
from synthetic.drawing import render_person_rgba
from synthetic.market1501 import SynthConfig


def high_frequency_energy(image: np.ndarray) -> float:
    """Mean squared difference between horizontally neighbouring pixels."""
    grey = image.astype(np.float64).mean(axis=2)
    return float(np.mean(np.diff(grey, axis=1) ** 2))


def test_grain_has_unit_spread_and_smooth_noise_is_bounded():
    texture = grain(np.random.default_rng(0), 128, 64)
    assert texture.shape == (128, 64) and texture.std() == pytest.approx(1.0, rel=1e-3)
    noise = smooth_noise(np.random.default_rng(0), 128, 64, cell=3, cell_y=24)
    assert noise.shape == (128, 64) and np.abs(noise).max() < 1.5
    # Folds vary across the body much faster than down it.
    assert np.abs(np.diff(noise, axis=1)).mean() > 3 * np.abs(np.diff(noise, axis=0)).mean()


def test_zero_amount_changes_nothing_and_draws_nothing():
    person = render_person_rgba(random_appearance(np.random.default_rng(1)), 128, 64)
    scene = np.full((128, 64, 3), 120.0, np.float32)
    rng = np.random.default_rng(2)
    state = rng.bit_generator.state
    untouched = person.copy()
    add_fabric_detail(untouched, rng, 0.0)
    add_scene_detail(scene, 70, rng, 0.0)
    assert np.array_equal(untouched, person) and (scene == 120.0).all()
    assert rng.bit_generator.state == state  # flat datasets stay byte-identical


def test_fabric_detail_textures_clothes_but_keeps_their_colour_and_outline():
    person = render_person_rgba(random_appearance(np.random.default_rng(3)), 128, 64)
    textured = person.copy()
    add_fabric_detail(textured, np.random.default_rng(4), 1.0)
    opaque = person[..., 3] == 255
    assert np.array_equal(textured[..., 3], person[..., 3])
    assert not textured[person[..., 3] == 0][:, :3].any()  # nothing painted outside the person
    flat, grainy = person[..., :3][opaque].astype(float), textured[..., :3][opaque].astype(float)
    # The same colours on average (a few levels darker where white cloth clips at 255).
    assert np.abs(grainy.mean(axis=0) - flat.mean(axis=0)).max() < 8
    assert np.abs(grainy - flat).mean() > 3  # but no longer flat


def test_scene_detail_textures_the_ground_more_than_the_wall():
    scene = np.full((128, 64, 3), 120.0, np.float32)
    add_scene_detail(scene, 64, np.random.default_rng(5), 1.0)
    wall, ground = scene[:40].std(), scene[100:].std()  # above any railing, below the horizon
    assert 0 < wall < ground


def test_detail_setting_reaches_the_cameras_and_is_off_by_default():
    assert SynthConfig().detail == 0.0
    looks = market1501.camera_looks(SynthConfig(detail=1.0))
    assert all(look.detail == 1.0 for look in looks.values())
    flat_looks = market1501.camera_looks(SynthConfig())
    assert all(look.detail == 0.0 for look in flat_looks.values())
    assert [dataclasses.replace(look, detail=0.0) for look in looks.values()] == list(
        flat_looks.values()
    )  # the same cameras, only with detail
    appearance = random_appearance(np.random.default_rng(6))
    flat = [
        render_person(appearance, 128, 64, np.random.default_rng(i), flat_looks[1])
        for i in range(6)
    ]
    rich = [
        render_person(appearance, 128, 64, np.random.default_rng(i), looks[1]) for i in range(6)
    ]
    assert np.mean([high_frequency_energy(x) for x in rich]) > 1.5 * np.mean(
        [high_frequency_energy(x) for x in flat]
    )
