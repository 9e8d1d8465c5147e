"""Who a synthetic person is and how they stand: clothing tables, appearance and pose draws.

Every identity has a fixed `Appearance` (skin, hair, upper and lower clothing with a texture,
shoes, an optional bag, body proportions) drawn from a few attributes each, with common colours
(dark and neutral clothes) weighted up, so that many identities share some attributes but few
share all of them. Every image has its own `Pose` (facing, walking phase, shift, scale, flip).

Both are drawn from a `numpy.random.Generator` the caller seeds, so the same generator state
gives the same person and the same pose.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from synthetic.cameras import CameraLook

Colour = tuple[int, int, int]  # BGR

# Clothing colours (BGR) with how often people wear them: dark and neutral colours are common,
# so many identities share a colour and have to be told apart by the other attributes.
_CLOTHING = {
    "black": ((28, 28, 30), 9),
    "white": ((232, 234, 236), 5),
    "grey": ((125, 125, 128), 6),
    "dark_grey": ((70, 70, 72), 4),
    "navy": ((85, 40, 25), 5),
    "blue": ((190, 105, 35), 4),
    "light_blue": ((225, 185, 140), 3),
    "red": ((40, 35, 195), 4),
    "maroon": ((45, 25, 115), 2),
    "green": ((65, 145, 50), 3),
    "olive": ((45, 105, 100), 2),
    "yellow": ((45, 205, 230), 2),
    "orange": ((30, 125, 235), 2),
    "pink": ((180, 145, 235), 2),
    "purple": ((135, 50, 115), 2),
    "brown": ((40, 70, 115), 3),
    "beige": ((145, 185, 210), 3),
    "teal": ((135, 130, 30), 2),
}
_LOWER = {
    "black": ((30, 30, 32), 8),
    "jeans": ((130, 80, 45), 8),
    "light_jeans": ((185, 150, 115), 3),
    "grey": ((115, 115, 118), 4),
    "navy": ((80, 40, 25), 3),
    "beige": ((140, 180, 200), 3),
    "brown": ((45, 75, 110), 2),
    "white": ((225, 228, 230), 2),
    "olive": ((50, 100, 95), 2),
    "red": ((45, 40, 185), 1),
    "green": ((60, 130, 55), 1),
}
_HAIR = {
    "black": ((20, 20, 25), 8),
    "dark_brown": ((25, 40, 60), 6),
    "brown": ((40, 70, 110), 4),
    "blonde": ((110, 175, 215), 3),
    "grey": ((165, 165, 170), 2),
    "auburn": ((35, 55, 140), 1),
}
_SHOES = {
    "black": ((25, 25, 25), 8),
    "white": ((235, 235, 235), 6),
    "brown": ((35, 60, 100), 3),
    "grey": ((120, 120, 120), 2),
    "red": ((40, 40, 190), 1),
    "blue": ((170, 90, 30), 1),
}
_SKIN_LIGHT = np.array([190, 210, 240], np.float64)
_SKIN_DARK = np.array([45, 70, 105], np.float64)

HAIR_STYLES = ("short", "long", "bald", "cap", "ponytail")
_HAIR_STYLE_WEIGHTS = (5, 3, 1, 2, 2)
UPPER_TEXTURES = ("plain", "stripes", "vstripes", "checks", "logo", "two_tone", "open_jacket")
_UPPER_TEXTURE_WEIGHTS = (8, 3, 1, 2, 3, 2, 2)
LOGO_SHAPES = ("circle", "square", "triangle", "bar")
LOWER_STYLES = ("trousers", "shorts", "skirt")
_LOWER_STYLE_WEIGHTS = (7, 2, 2)
BAGS = ("none", "backpack", "shoulder_bag")
_BAG_WEIGHTS = (5, 3, 2)
FACINGS = ("front", "back", "side")


@dataclass(frozen=True)
class Appearance:
    """What one identity looks like in every image: colours (BGR), styles and body proportions.

    `build` widens the body, `leg_length` is the hip-to-ankle length as a fraction of the
    person's height, `head_size` scales the head. `bag_side` is the person's own side.
    """

    skin: Colour
    hair_colour: Colour
    hair_style: str
    cap_colour: Colour
    upper_colour: Colour
    upper_secondary: Colour
    upper_texture: str
    texture_period: float
    logo_shape: str
    long_sleeves: bool
    lower_colour: Colour
    lower_style: str
    shoe_colour: Colour
    bag: str
    bag_side: str
    bag_colour: Colour
    build: float
    leg_length: float
    head_size: float


@dataclass(frozen=True)
class Pose:
    """How a person stands in one image.

    `phase` is the walking cycle in radians (step it over frames to animate a walk), `dx`/`dy`
    shift the person by a fraction of the box width/height, `scale` is the person's height as a
    fraction of the box height, `arm_spread` moves the hands out from the body (same units as
    `dx` but of the person's height), `light` (-1..1) shades one side of the body, `flip` mirrors.
    """

    facing: str = "front"
    phase: float = 0.0
    dx: float = 0.0
    dy: float = 0.0
    scale: float = 1.0
    arm_spread: float = 0.0
    light: float = 0.0
    flip: bool = False


def _weighted_choice(rng: np.random.Generator, table: dict) -> Colour:
    """A colour from a {name: (bgr, weight)} table, jittered so equal names are not identical."""
    names = list(table)
    weights = np.array([table[n][1] for n in names], np.float64)
    base = np.array(table[names[rng.choice(len(names), p=weights / weights.sum())]][0], float)
    shade = rng.uniform(0.85, 1.12)
    colour = base * shade + rng.normal(0.0, 9.0, 3)
    return clip_colour(colour)


def clip_colour(values: Sequence[float] | np.ndarray) -> Colour:
    """A BGR tuple of Python ints clipped to 0..255."""
    b, g, r = (int(round(min(255.0, max(0.0, float(v))))) for v in values)
    return (b, g, r)


def _pick(rng: np.random.Generator, options: Sequence[str], weights: Sequence[float]) -> str:
    """One of `options`, drawn with the given relative weights."""
    p = np.asarray(weights, np.float64)
    return options[int(rng.choice(len(options), p=p / p.sum()))]


def random_appearance(rng: np.random.Generator) -> Appearance:
    """Draw one identity's appearance; the same generator state gives the same person."""
    t = rng.beta(1.6, 1.6)
    skin = clip_colour(_SKIN_LIGHT * (1 - t) + _SKIN_DARK * t + rng.normal(0.0, 6.0, 3))
    upper = _weighted_choice(rng, _CLOTHING)
    secondary = _weighted_choice(rng, _CLOTHING)
    # A texture needs contrast to be visible; re-draw a secondary colour too close to the main.
    for _ in range(4):
        if np.abs(np.subtract(upper, secondary)).sum() > 120:
            break
        secondary = _weighted_choice(rng, _CLOTHING)
    return Appearance(
        skin=skin,
        hair_colour=_weighted_choice(rng, _HAIR),
        hair_style=_pick(rng, HAIR_STYLES, _HAIR_STYLE_WEIGHTS),
        cap_colour=_weighted_choice(rng, _CLOTHING),
        upper_colour=upper,
        upper_secondary=secondary,
        upper_texture=_pick(rng, UPPER_TEXTURES, _UPPER_TEXTURE_WEIGHTS),
        texture_period=float(rng.uniform(0.035, 0.075)),
        logo_shape=LOGO_SHAPES[int(rng.integers(len(LOGO_SHAPES)))],
        long_sleeves=bool(rng.random() < 0.6),
        lower_colour=_weighted_choice(rng, _LOWER),
        lower_style=_pick(rng, LOWER_STYLES, _LOWER_STYLE_WEIGHTS),
        shoe_colour=_weighted_choice(rng, _SHOES),
        bag=_pick(rng, BAGS, _BAG_WEIGHTS),
        bag_side="left" if rng.random() < 0.5 else "right",
        bag_colour=_weighted_choice(rng, _CLOTHING),
        build=float(rng.uniform(0.85, 1.2)),
        leg_length=float(rng.uniform(0.43, 0.5)),
        head_size=float(rng.uniform(0.9, 1.1)),
    )


def random_pose(rng: np.random.Generator, camera: CameraLook | None = None) -> Pose:
    """A re-id crop's pose: facing as the camera usually sees people, walking phase, framing.

    Occasionally the detector box is badly placed (person shifted, cut off or too large),
    as in real detections.
    """
    weights = camera.facing_weights if camera is not None else (0.4, 0.4, 0.2)
    scale_mean = camera.person_scale if camera is not None else 0.92
    dy_mean = camera.person_dy if camera is not None else 0.0
    facing = _pick(rng, FACINGS, weights)
    dx = rng.normal(0.0, 0.04)
    dy = dy_mean + rng.normal(0.0, 0.015)
    scale = scale_mean * rng.uniform(0.94, 1.06)
    if rng.random() < 0.12:  # a sloppy detection box
        dx += rng.choice([-1.0, 1.0]) * rng.uniform(0.1, 0.25)
        dy += rng.uniform(-0.08, 0.12)
        scale *= rng.uniform(0.9, 1.25)
    return Pose(
        facing=facing,
        phase=float(rng.uniform(0.0, 2 * math.pi)),
        dx=float(dx),
        dy=float(dy),
        scale=float(scale),
        arm_spread=float(rng.uniform(-0.01, 0.03)),
        light=float(rng.uniform(-1.0, 1.0)),
        flip=bool(rng.random() < 0.5),
    )
