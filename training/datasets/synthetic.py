"""Synthetic Market-1501: procedurally drawn people seen by several differently-looking cameras.

`reid synth market1501 OUT` writes a dataset in the real Market-1501 layout (see
`training.datasets.market1501`) so that training, evaluation and the demos can run end to end
without downloading anything. The data is built to be learnable but not trivial:

* every identity has a fixed appearance (skin, hair, upper and lower clothing with a texture,
  shoes, an optional bag, body proportions) drawn from a few attributes each, so that many
  identities share some attributes but few share all of them;
* every image has its own pose (facing front, back or sideways, walking phase, shift, scale,
  flip), and every camera its own look (colour cast, gamma, contrast, saturation, resolution,
  blur, noise, compression softness, background style), so that raw pixels and colour
  histograms are imperfect matchers across cameras.

The person drawing (`render_person_rgba`) is kept apart from the background and camera effects
(`render_background`, `apply_camera`) so that the same people can later walk through synthetic
tracking videos (`composite` pastes a BGRA person onto a larger frame).

Everything is deterministic given the seed: each identity, camera and image draws from its own
`np.random.default_rng([seed, purpose, ...])`, so the same configuration writes byte-identical
files regardless of the order or the run in which they are written.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from core.atomic import write_json_atomic
from core.errors import DatasetError

Colour = tuple[int, int, int]  # BGR

FORMAT_NAME = "reid-synthetic-market1501"
GENERATOR_VERSION = 1
SUMMARY_FILE = "synth.json"
PARTIAL_FILE = ".synth-partial.json"
TRAIN_DIR = "bounding_box_train"
GALLERY_DIR = "bounding_box_test"
QUERY_DIR = "query"
SPLIT_DIRS = (TRAIN_DIR, GALLERY_DIR, QUERY_DIR)
IMAGE_HEIGHT = 128
IMAGE_WIDTH = 64
JPEG_QUALITY = 90
MAX_IDENTITIES = 9999  # four digits in the file name
MAX_CAMERAS = 9  # one digit in the file name
MAX_FRAME = 999_999
_CHUNK = 64  # images per task handed to a worker process
_MIN_CHUNKS_FOR_WORKERS = 8  # below this, starting worker processes costs more than it saves

# Purposes mixed into the seed so that each kind of random draw has its own stream.
_SEED_SPLIT = 1
_SEED_APPEARANCE = 2
_SEED_CAMERAS_OF = 3
_SEED_IMAGE = 4
_SEED_CAMERA_LOOK = 5
_SEED_DISTRACTOR = 6
_SEED_JUNK = 7
_SEED_EXTRA_NAMES = 8

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
BACKGROUND_STYLES = ("indoor", "street", "foliage", "storefront", "plaza")


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


@dataclass(frozen=True)
class CameraLook:
    """How one camera sees the world: colour and tone changes, sharpness, framing, background.

    `gains` multiply the B, G, R channels (colour cast); `contrast` and `brightness` act about
    mid-grey, then `saturation` and `gamma`; `resolution` < 1 renders at lower resolution and
    scales back up; `blur` is a Gaussian sigma in output pixels; `noise` a standard deviation in
    grey levels; `softness` the JPEG quality of an extra compression pass. `person_scale` and
    `person_dy` frame the person like this camera's detector does; `facing_weights` give how often
    people face front/back/sideways here; `background` names the scene style drawn in
    `background_colours`.
    """

    gains: tuple[float, float, float]
    brightness: float
    contrast: float
    saturation: float
    gamma: float
    resolution: float
    blur: float
    noise: float
    softness: int
    person_scale: float
    person_dy: float
    facing_weights: tuple[float, float, float]
    background: str
    background_colours: tuple[Colour, ...]


@dataclass(frozen=True)
class SynthConfig:
    """Size and seed of a synthetic Market-1501 dataset.

    Each identity appears in a random subset of at least two cameras, with `images_per_camera`
    images in each. `distractors` (identity 0000) and `junk` (identity -1) images are added to
    the gallery (`bounding_box_test`).
    """

    train_identities: int = 200
    test_identities: int = 100
    cameras: int = 6
    images_per_camera: int = 4
    distractors: int = 100
    junk: int = 30
    seed: int = 0


@dataclass(frozen=True)
class ImageSpec:
    """One file to write: where, which label, and what to draw in it."""

    split: str
    name: str
    identity: int  # as written in the file name: >0 person, 0 distractor, -1 junk
    camera: int  # 1-based
    kind: str  # "person", "distractor" or "junk"
    person: int  # whose appearance to draw (0: nobody / a random stranger)
    seed_key: tuple[int, ...] = field(default=())


# ---------------------------------------------------------------------------------------------
# Appearance and pose


def _weighted_choice(rng: np.random.Generator, table: dict) -> Colour:
    """A colour from a {name: (bgr, weight)} table, jittered so equal names are not identical."""
    names = list(table)
    weights = np.array([table[n][1] for n in names], np.float64)
    base = np.array(table[names[rng.choice(len(names), p=weights / weights.sum())]][0], float)
    shade = rng.uniform(0.85, 1.12)
    colour = base * shade + rng.normal(0.0, 9.0, 3)
    return _colour(colour)


def _colour(values: Sequence[float] | np.ndarray) -> Colour:
    """A BGR tuple of Python ints clipped to 0..255."""
    b, g, r = (int(round(min(255.0, max(0.0, float(v))))) for v in values)
    return (b, g, r)


def _pick(rng: np.random.Generator, options: Sequence[str], weights: Sequence[float]) -> str:
    p = np.asarray(weights, np.float64)
    return options[int(rng.choice(len(options), p=p / p.sum()))]


def random_appearance(rng: np.random.Generator) -> Appearance:
    """Draw one identity's appearance; the same generator state gives the same person."""
    t = rng.beta(1.6, 1.6)
    skin = _colour(_SKIN_LIGHT * (1 - t) + _SKIN_DARK * t + rng.normal(0.0, 6.0, 3))
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


# ---------------------------------------------------------------------------------------------
# Drawing one person


class _Canvas:
    """Colour and coverage layers with drawing helpers in person units.

    x is measured from the body's centre line and y from the top of the head, both in units of
    the person's height, so the drawing code reads like a body plan.
    """

    def __init__(self, height: int, width: int, top: float, cx: float, size: float):
        self.image = np.zeros((height, width, 3), np.uint8)
        self.alpha = np.zeros((height, width), np.uint8)
        self.top, self.cx, self.size = top, cx, size

    def pt(self, x: float, y: float) -> tuple[int, int]:
        return (int(round(self.cx + x * self.size)), int(round(self.top + y * self.size)))

    def length(self, v: float) -> int:
        return max(1, int(round(v * self.size)))

    def poly(self, points: Sequence[tuple[float, float]], colour: Colour) -> None:
        pts = np.array([self.pt(x, y) for x, y in points], np.int32)
        cv2.fillPoly(self.image, [pts], colour)
        cv2.fillPoly(self.alpha, [pts], 255)

    def line(self, a: tuple[float, float], b: tuple[float, float], width: float, colour) -> None:
        thickness = self.length(width)
        cv2.line(self.image, self.pt(*a), self.pt(*b), colour, thickness)
        cv2.line(self.alpha, self.pt(*a), self.pt(*b), 255, thickness)

    def ellipse(
        self,
        centre: tuple[float, float],
        axes: tuple[float, float],
        colour: Colour,
        start: float = 0.0,
        end: float = 360.0,
        angle: float = 0.0,
    ) -> None:
        c = self.pt(*centre)
        ax = (self.length(axes[0]), self.length(axes[1]))
        cv2.ellipse(self.image, c, ax, angle, start, end, colour, -1)
        cv2.ellipse(self.alpha, c, ax, angle, start, end, 255, -1)

    def textured_poly(
        self, points: Sequence[tuple[float, float]], colour: Colour, pattern: np.ndarray | None
    ) -> None:
        """Fill a polygon with `colour`, then paint `pattern` (an image) where its mask is set."""
        if pattern is None:
            self.poly(points, colour)
            return
        mask = np.zeros(self.alpha.shape, np.uint8)
        pts = np.array([self.pt(x, y) for x, y in points], np.int32)
        cv2.fillPoly(mask, [pts], 255)
        self.image[mask > 0] = pattern[mask > 0]
        self.alpha[mask > 0] = 255


def _shade(colour: Colour, factor: float) -> Colour:
    return _colour(np.asarray(colour, float) * factor)


def _torso_pattern(
    canvas: _Canvas, app: Appearance, facing: str, shoulder_y: float, hip_y: float
) -> np.ndarray | None:
    """An image of the upper clothing's texture (None for plain), to be cut by the torso mask."""
    texture = app.upper_texture
    front = facing == "front"
    if texture == "plain" or (texture in ("logo", "open_jacket") and not front):
        return None
    h, w = canvas.alpha.shape
    pattern = np.empty((h, w, 3), np.uint8)
    pattern[:] = app.upper_colour
    sec = app.upper_secondary
    period = app.texture_period
    thick = max(1, canvas.length(period * 0.45))
    if texture in ("stripes", "checks"):
        y = shoulder_y + period * 0.5
        while y < hip_y + 0.05:
            py = canvas.pt(0, y)[1]
            cv2.line(pattern, (0, py), (w - 1, py), sec, thick)
            y += period
    if texture in ("vstripes", "checks"):
        x = -0.3
        while x < 0.3:
            px = canvas.pt(x, 0)[0]
            cv2.line(pattern, (px, 0), (px, h - 1), sec, thick)
            x += period * (1.2 if texture == "checks" else 1.0)
    if texture == "two_tone":
        y0 = canvas.pt(0, shoulder_y - 0.05)[1]
        y1 = canvas.pt(0, shoulder_y + (hip_y - shoulder_y) * 0.38)[1]
        pattern[max(0, y0) : max(0, y1)] = sec
    if texture == "open_jacket":
        x0, x1 = canvas.pt(-0.03, 0)[0], canvas.pt(0.03, 0)[0]
        pattern[:, max(0, x0) : max(0, x1)] = sec
    if texture == "logo":
        cx, cy = canvas.pt(0.0, shoulder_y + 0.085)
        r = canvas.length(0.04)
        if app.logo_shape == "circle":
            cv2.circle(pattern, (cx, cy), r, sec, -1)
        elif app.logo_shape == "square":
            cv2.rectangle(pattern, (cx - r, cy - r), (cx + r, cy + r), sec, -1)
        elif app.logo_shape == "triangle":
            tri = np.array([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], np.int32)
            cv2.fillPoly(pattern, [tri], sec)
        else:
            cv2.rectangle(
                pattern, (cx - int(r * 1.6), cy - r // 2), (cx + int(r * 1.6), cy), sec, -1
            )
    return pattern


def _draw_front_back(canvas: _Canvas, app: Appearance, pose: Pose) -> None:
    """A person facing the camera (front) or walking away from it (back)."""
    back = pose.facing == "back"
    b = app.build
    head_h = 0.13 * app.head_size
    head_c = (0.0, head_h / 2 + 0.004)
    head_ax = (0.047 * app.head_size, head_h / 2)
    shoulder_y = head_h + 0.025
    hip_y = 0.965 - app.leg_length
    sw, hw = 0.115 * b, 0.092 * b
    s = math.sin(pose.phase)
    # The person's left side is on the image's right when they face the camera.
    bag_x = (1.0 if app.bag_side == "left" else -1.0) * (-1.0 if back else 1.0)

    if app.hair_style == "long" and not back:
        canvas.poly(
            [
                (-head_ax[0] * 1.15, head_c[1]),
                (head_ax[0] * 1.15, head_c[1]),
                (head_ax[0] * 1.25, shoulder_y + 0.07),
                (-head_ax[0] * 1.25, shoulder_y + 0.07),
            ],
            app.hair_colour,
        )

    # Legs and shoes.
    leg_w = 0.072 * b
    for side, lift in ((-1.0, max(0.0, s)), (1.0, max(0.0, -s))):
        hip = (side * 0.045 * b, hip_y + 0.02)
        ankle = (side * (0.05 * b + 0.008), 0.965 - 0.03 * lift)
        knee = (hip[0] * 0.5 + ankle[0] * 0.5, hip[1] * 0.5 + ankle[1] * 0.5)
        if app.lower_style == "trousers":
            canvas.line(hip, ankle, leg_w, app.lower_colour)
        elif app.lower_style == "shorts":
            canvas.line(hip, ankle, leg_w * 0.8, app.skin)
            mid = (hip[0] * 0.55 + knee[0] * 0.45, hip[1] * 0.55 + knee[1] * 0.45)
            canvas.line(hip, mid, leg_w * 1.1, app.lower_colour)
        else:
            canvas.line(hip, ankle, leg_w * 0.75, app.skin)
        canvas.ellipse((ankle[0], ankle[1] + 0.012), (0.033, 0.02), app.shoe_colour)
    if app.lower_style == "skirt":
        canvas.poly(
            [
                (-hw, hip_y - 0.01),
                (hw, hip_y - 0.01),
                (hw * 1.5, hip_y + app.leg_length * 0.45),
                (-hw * 1.5, hip_y + app.leg_length * 0.45),
            ],
            app.lower_colour,
        )
    else:
        canvas.poly(
            [(-hw, hip_y - 0.01), (hw, hip_y - 0.01), (hw, hip_y + 0.06), (-hw, hip_y + 0.06)],
            app.lower_colour,
        )

    if app.bag == "backpack" and not back:  # the pack shows a little beside the body
        canvas.poly(
            [(-sw - 0.012, shoulder_y + 0.03), (sw + 0.012, shoulder_y + 0.03)]
            + [(sw + 0.012, shoulder_y + 0.2), (-sw - 0.012, shoulder_y + 0.2)],
            _shade(app.bag_colour, 0.8),
        )

    # Arms (behind the torso's edge) and hands.
    arm_w = 0.05 * b
    for side, swing in ((-1.0, s), (1.0, -s)):
        shoulder = (side * (sw - 0.02), shoulder_y + 0.02)
        lift = 0.035 * max(0.0, swing)
        hand = (side * (sw + 0.022 + pose.arm_spread), shoulder_y + 0.35 - lift)
        elbow = (shoulder[0] * 0.5 + hand[0] * 0.5, shoulder[1] * 0.5 + hand[1] * 0.5)
        if app.long_sleeves:
            canvas.line(shoulder, hand, arm_w, app.upper_colour)
        else:
            canvas.line(shoulder, hand, arm_w * 0.8, app.skin)
            canvas.line(shoulder, elbow, arm_w * 1.05, app.upper_colour)
        canvas.ellipse((hand[0], hand[1] + 0.012), (0.018, 0.022), app.skin)

    # Torso with the clothing texture.
    torso = [
        (-sw * 0.72, shoulder_y - 0.012),
        (sw * 0.72, shoulder_y - 0.012),
        (sw, shoulder_y + 0.035),
        (hw * 1.03, hip_y + 0.02),
        (-hw * 1.03, hip_y + 0.02),
        (-sw, shoulder_y + 0.035),
    ]
    canvas.textured_poly(
        torso, app.upper_colour, _torso_pattern(canvas, app, pose.facing, shoulder_y, hip_y)
    )

    # Neck, head, hair.
    canvas.line((0.0, head_h - 0.01), (0.0, shoulder_y), 0.035, app.skin)
    canvas.ellipse(head_c, head_ax, app.skin)
    _draw_hair(canvas, app, head_c, head_ax, shoulder_y, back)

    # Bags in front of the body.
    if app.bag == "backpack":
        if back:
            canvas.poly(
                [(-sw * 0.8, shoulder_y + 0.02), (sw * 0.8, shoulder_y + 0.02)]
                + [(sw * 0.85, shoulder_y + 0.24), (-sw * 0.85, shoulder_y + 0.24)],
                app.bag_colour,
            )
        else:
            for side in (-1.0, 1.0):
                canvas.line(
                    (side * sw * 0.55, shoulder_y - 0.005),
                    (side * sw * 0.75, shoulder_y + 0.13),
                    0.018,
                    app.bag_colour,
                )
    elif app.bag == "shoulder_bag":
        canvas.line(
            (-bag_x * sw * 0.6, shoulder_y),
            (bag_x * (hw + 0.02), hip_y - 0.01),
            0.014,
            _shade(app.bag_colour, 0.7),
        )
        bx = bag_x * (hw + 0.035)
        canvas.poly(
            [(bx - 0.04, hip_y - 0.03), (bx + 0.04, hip_y - 0.03)]
            + [(bx + 0.045, hip_y + 0.07), (bx - 0.045, hip_y + 0.07)],
            app.bag_colour,
        )


def _draw_hair(
    canvas: _Canvas,
    app: Appearance,
    head_c: tuple[float, float],
    head_ax: tuple[float, float],
    shoulder_y: float,
    back: bool,
) -> None:
    """Hair or cap over the head; from behind, hair covers the whole head."""
    style = app.hair_style
    ax, ay = head_ax
    top = (head_c[0], head_c[1] - ay * 0.15)
    if style == "bald":
        return
    if style == "cap":
        canvas.ellipse(top, (ax * 1.08, ay * 0.95), app.cap_colour, 180, 360)
        if back:
            canvas.ellipse(head_c, (ax * 1.02, ay * 0.9), app.hair_colour, 0, 180)
        else:
            canvas.ellipse((top[0], top[1]), (ax * 1.3, ay * 0.18), _shade(app.cap_colour, 0.8))
        return
    if back:
        canvas.ellipse(head_c, (ax * 1.08, ay * 1.04), app.hair_colour)
        if style == "long":
            canvas.poly(
                [(-ax * 1.1, head_c[1]), (ax * 1.1, head_c[1])]
                + [(ax * 1.2, shoulder_y + 0.09), (-ax * 1.2, shoulder_y + 0.09)],
                app.hair_colour,
            )
    else:
        canvas.ellipse(top, (ax * 1.1, ay * 0.95), app.hair_colour, 180, 360)
        if style == "long":
            for side in (-1.0, 1.0):
                canvas.line(
                    (side * ax * 0.95, head_c[1] - ay * 0.3),
                    (side * ax * 1.05, shoulder_y + 0.05),
                    0.02,
                    app.hair_colour,
                )
    if style == "ponytail":
        canvas.ellipse((0.0, head_c[1] - ay * 0.95), (ax * 0.45, ay * 0.3), app.hair_colour)
        if back:
            canvas.line((0.0, head_c[1]), (0.0, shoulder_y + 0.05), 0.025, app.hair_colour)


def _draw_side(canvas: _Canvas, app: Appearance, pose: Pose) -> None:
    """A person walking sideways (towards +x); the far limbs are drawn darker and first."""
    b = app.build
    head_h = 0.13 * app.head_size
    head_c = (0.005, head_h / 2 + 0.004)
    head_ax = (0.05 * app.head_size, head_h / 2)
    shoulder_y = head_h + 0.025
    hip_y = 0.965 - app.leg_length
    tw = 0.065 * b
    s = math.sin(pose.phase)
    arm_len, leg_len = 0.34, 0.965 - hip_y
    leg_w, arm_w = 0.075 * b, 0.05 * b

    def leg(angle: float, shade: float) -> None:
        hip = (0.0, hip_y + 0.02)
        ankle = (math.sin(angle) * leg_len, hip_y + math.cos(angle) * leg_len)
        mid = (ankle[0] * 0.35, hip[1] + (ankle[1] - hip[1]) * 0.35)
        if app.lower_style == "trousers":
            canvas.line(hip, ankle, leg_w, _shade(app.lower_colour, shade))
        else:
            canvas.line(hip, ankle, leg_w * 0.8, _shade(app.skin, shade))
            if app.lower_style == "shorts":
                canvas.line(hip, mid, leg_w * 1.1, _shade(app.lower_colour, shade))
        canvas.ellipse((ankle[0] + 0.02, ankle[1] + 0.012), (0.045, 0.019), app.shoe_colour)

    def arm(angle: float, shade: float) -> None:
        shoulder = (0.0, shoulder_y + 0.025)
        hand = (math.sin(angle) * arm_len, shoulder[1] + math.cos(angle) * arm_len)
        elbow = (hand[0] * 0.5, (shoulder[1] + hand[1]) * 0.5)
        if app.long_sleeves:
            canvas.line(shoulder, hand, arm_w, _shade(app.upper_colour, shade))
        else:
            canvas.line(shoulder, hand, arm_w * 0.8, _shade(app.skin, shade))
            canvas.line(shoulder, elbow, arm_w * 1.05, _shade(app.upper_colour, shade))
        canvas.ellipse((hand[0], hand[1] + 0.012), (0.018, 0.022), _shade(app.skin, shade))

    arm(-0.45 * s, 0.8)
    leg(0.32 * s, 0.85)
    leg(-0.32 * s, 1.0)
    if app.lower_style == "skirt":
        canvas.poly(
            [(-tw, hip_y - 0.01), (tw, hip_y - 0.01)]
            + [
                (tw * 1.6, hip_y + app.leg_length * 0.45),
                (-tw * 1.6, hip_y + app.leg_length * 0.45),
            ],
            app.lower_colour,
        )
    else:
        canvas.poly(
            [(-tw, hip_y - 0.01), (tw, hip_y - 0.01), (tw, hip_y + 0.06), (-tw, hip_y + 0.06)],
            app.lower_colour,
        )
    if app.bag == "backpack":
        canvas.poly(
            [(-tw - 0.06, shoulder_y + 0.02), (-tw + 0.01, shoulder_y + 0.01)]
            + [(-tw + 0.01, shoulder_y + 0.23), (-tw - 0.065, shoulder_y + 0.22)],
            app.bag_colour,
        )
    torso = [
        (-tw * 0.9, shoulder_y - 0.01),
        (tw * 0.9, shoulder_y - 0.01),
        (tw * 1.05, shoulder_y + 0.05),
        (tw, hip_y + 0.02),
        (-tw, hip_y + 0.02),
        (-tw * 1.05, shoulder_y + 0.05),
    ]
    canvas.textured_poly(
        torso, app.upper_colour, _torso_pattern(canvas, app, "side", shoulder_y, hip_y)
    )
    if app.bag == "shoulder_bag":
        canvas.line((0.0, shoulder_y), (-0.01, hip_y - 0.02), 0.014, _shade(app.bag_colour, 0.7))
        canvas.poly(
            [
                (-0.05, hip_y - 0.03),
                (0.03, hip_y - 0.03),
                (0.035, hip_y + 0.07),
                (-0.055, hip_y + 0.07),
            ],
            app.bag_colour,
        )
    arm(0.45 * s, 1.0)
    canvas.line((0.0, head_h - 0.01), (0.0, shoulder_y), 0.035, app.skin)
    canvas.ellipse(head_c, head_ax, app.skin)
    ax, ay = head_ax
    if app.hair_style == "cap":
        canvas.ellipse(
            (head_c[0], head_c[1] - ay * 0.15), (ax * 1.05, ay * 0.95), app.cap_colour, 180, 360
        )
        canvas.line(
            (head_c[0] + ax * 0.5, head_c[1] - ay * 0.2),
            (head_c[0] + ax * 1.6, head_c[1] - ay * 0.15),
            0.012,
            _shade(app.cap_colour, 0.8),
        )
    elif app.hair_style != "bald":
        canvas.ellipse(
            (head_c[0] - ax * 0.1, head_c[1] - ay * 0.1),
            (ax * 1.05, ay * 0.95),
            app.hair_colour,
            150,
            360,
        )
        canvas.ellipse((head_c[0] - ax * 0.4, head_c[1]), (ax * 0.7, ay * 0.8), app.hair_colour)
        if app.hair_style == "long":
            canvas.line(
                (head_c[0] - ax * 0.6, head_c[1]),
                (-ax * 0.7, shoulder_y + 0.08),
                0.04,
                app.hair_colour,
            )
        elif app.hair_style == "ponytail":
            canvas.line(
                (head_c[0] - ax, head_c[1] - ay * 0.3),
                (-ax * 1.8, shoulder_y),
                0.025,
                app.hair_colour,
            )


def render_person_rgba(
    appearance: Appearance, height: int, width: int, pose: Pose | None = None, supersample: int = 2
) -> np.ndarray:
    """A person alone in a `height` x `width` box: BGRA uint8, alpha 255 on the body, 0 elsewhere.

    With the default pose the person stands centred and fills the box from head to feet, which
    is what a tracking video needs: draw the box, then `composite` the result onto the frame.
    The drawing is done `supersample` times larger and reduced, which smooths the edges.
    The colour channels are not premultiplied: at partly covered edge pixels they hold the
    body's colour and alpha says how much of the pixel it covers.
    """
    if height < 4 or width < 2:
        raise ValueError(f"a person needs a box of at least 4x2 pixels, got {height}x{width}")
    pose = pose or Pose()
    ss = max(1, int(supersample))
    h, w = height * ss, width * ss
    size = h * 0.97 * pose.scale
    top = (h - size) / 2 + pose.dy * h
    canvas = _Canvas(h, w, top, w / 2 + pose.dx * w, size)
    if pose.facing == "side":
        _draw_side(canvas, appearance, pose)
    else:
        _draw_front_back(canvas, appearance, pose)
    # Outside the body the colour layer is 0, so the reduced colour is premultiplied by alpha.
    image, alpha = canvas.image, canvas.alpha
    if ss > 1:
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(alpha, (width, height), interpolation=cv2.INTER_AREA)
    a = alpha.astype(np.float32)
    gain = 255.0 / np.maximum(a, 1.0)
    if pose.light:
        x = (np.arange(width, dtype=np.float32) + 0.5 - canvas.cx / ss) / (0.15 * size / ss)
        gain = gain * np.clip(1.0 + 0.18 * pose.light * x, 0.75, 1.2)[None, :]
    out = np.empty((height, width, 4), np.uint8)
    out[..., :3] = np.clip(image * gain[..., None] + 0.5, 0, 255).astype(np.uint8)
    out[..., 3] = alpha
    if pose.flip:
        out = np.ascontiguousarray(out[:, ::-1])
    return out


def composite(frame: np.ndarray, rgba: np.ndarray, x: int = 0, y: int = 0) -> np.ndarray:
    """Paste a BGRA image onto a BGR frame (in place) with its top-left corner at (x, y).

    Parts outside the frame are clipped. Returns the frame for chaining.
    """
    fh, fw = frame.shape[:2]
    h, w = rgba.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(fw, x + w), min(fh, y + h)
    if x0 >= x1 or y0 >= y1:
        return frame
    patch = rgba[y0 - y : y1 - y, x0 - x : x1 - x]
    a = patch[..., 3:4].astype(np.float32) / 255.0
    region = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = np.clip(region * (1 - a) + patch[..., :3] * a + 0.5, 0, 255).astype(
        np.uint8
    )
    return frame


# ---------------------------------------------------------------------------------------------
# Cameras: background and image formation


_BACKGROUND_BASE = {
    "indoor": ((180, 185, 190), (120, 115, 110), (60, 90, 140)),
    "street": ((150, 150, 150), (85, 85, 90), (40, 160, 200)),
    "foliage": ((60, 120, 70), (90, 110, 120), (40, 80, 50)),
    "storefront": ((140, 150, 165), (100, 100, 105), (150, 110, 60)),
    "plaza": ((165, 175, 185), (130, 140, 150), (80, 80, 90)),
}


def _scene_colours(style: str, rng: np.random.Generator) -> tuple[Colour, Colour, Colour]:
    """Backdrop, floor and accent colours of a scene style, varied."""
    base = _BACKGROUND_BASE[style]
    b, f, a = (_colour(np.asarray(c, float) * rng.uniform(0.8, 1.15, 3)) for c in base)
    return b, f, a


# Share of a camera's crops whose background is another scene (people cross several areas).
_OTHER_SCENE = 0.5
# Backgrounds are muted so that the person, not the scene, carries most of the colour.
_BACKGROUND_SATURATION = 0.6
# Largest departures of a camera from neutral at strength 1.
_CAST = 0.12
_BRIGHTNESS = 20.0
_CONTRAST = 0.2
_SATURATION = 0.25
_LOG_GAMMA = 0.25
_LOW_RESOLUTION = 0.5
_BLUR = 1.0
_NOISE = 5.0
_SOFTNESS = 65


def random_camera_look(rng: np.random.Generator, strength: float = 1.0) -> CameraLook:
    """Draw one camera's look; `strength` scales how far it departs from a neutral camera.

    At strength 1 the casts are strong enough that raw pixels and colour histograms often
    match the wrong person across cameras, yet hues keep their order so people stay
    recognisable. Strength 0 gives a neutral, sharp camera (the background style stays).
    """
    style = BACKGROUND_STYLES[int(rng.integers(len(BACKGROUND_STYLES)))]
    colours = _scene_colours(style, rng)
    u = rng.uniform(-1.0, 1.0, 12) * strength
    cast = 1.0 + _CAST * u[:3]
    front = rng.uniform(0.1, 0.7)
    back = rng.uniform(0.1, 0.8 - front)
    return CameraLook(
        gains=(float(cast[0]), float(cast[1]), float(cast[2])),
        brightness=float(_BRIGHTNESS * u[3]),
        contrast=float(1.0 + _CONTRAST * u[4]),
        saturation=float(1.0 + _SATURATION * u[5]),
        gamma=float(np.exp(_LOG_GAMMA * u[6])),
        resolution=float(1.0 - _LOW_RESOLUTION * abs(u[7])),
        blur=float(_BLUR * abs(u[8])),
        noise=float(1.0 + _NOISE * abs(u[9])),
        softness=int(round(95 - _SOFTNESS * abs(u[10]))),
        person_scale=float(rng.uniform(0.82, 0.97)),
        person_dy=float(rng.uniform(-0.02, 0.03)),
        facing_weights=(float(front), float(back), float(1.0 - front - back)),
        background=style,
        background_colours=colours,
    )


def _smooth_noise(rng: np.random.Generator, height: int, width: int, cell: int) -> np.ndarray:
    """Low-frequency noise in [-1, 1], upsampled from a coarse grid."""
    gh, gw = max(2, height // cell + 2), max(2, width // cell + 2)
    coarse = rng.uniform(-1.0, 1.0, (gh, gw)).astype(np.float32)
    return cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)


def render_background(
    camera: CameraLook, height: int, width: int, rng: np.random.Generator
) -> np.ndarray:
    """A BGR uint8 scene behind the person in this camera's style, varied per image.

    A wall or backdrop above a floor line, a textured floor, the style's own structure
    (windows, tiles, lane marks, leaves) and a few random clutter rectangles. Structure sizes
    are in pixels, chosen for re-id crops of about 128x64.
    """
    style, colours = camera.background, camera.background_colours
    if rng.random() < _OTHER_SCENE:
        style = BACKGROUND_STYLES[int(rng.integers(len(BACKGROUND_STYLES)))]
        colours = _scene_colours(style, rng)
    c_top, c_floor, c_accent = (np.asarray(c, np.float32) for c in colours)
    jitter = rng.uniform(0.88, 1.12, 3).astype(np.float32)
    c_top, c_floor = c_top * jitter, c_floor * jitter
    horizon = int(height * rng.uniform(0.45, 0.8))
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    bg = np.empty((height, width, 3), np.float32)
    bg[:horizon] = c_top * (1.05 - 0.15 * ys[:horizon])
    bg[horizon:] = c_floor * (0.9 + 0.2 * ys[horizon:])
    if style == "indoor":  # doors and tiled floor
        for _ in range(int(rng.integers(0, 3))):
            x0 = int(rng.integers(-10, width))
            cv2.rectangle(
                bg,
                (x0, int(horizon * 0.15)),
                (x0 + int(rng.integers(12, 26)), horizon),
                c_accent.tolist(),
                -1,
            )
        step = int(rng.integers(10, 18))
        for y in range(horizon + step // 2, height, step):
            cv2.line(bg, (0, y), (width - 1, y), (c_floor * 0.8).tolist(), 1)
    elif style == "street":  # kerb and lane marks
        cv2.rectangle(bg, (0, horizon), (width - 1, horizon + 3), (c_top * 0.9).tolist(), -1)
        x = int(rng.integers(0, width))
        cv2.line(
            bg, (x, height - 1), (x + int(rng.integers(-12, 12)), horizon + 8), c_accent.tolist(), 3
        )
    elif style == "foliage":  # leaves
        leaves = _smooth_noise(rng, horizon, width, 6)
        bg[:horizon] *= (1.0 + 0.35 * leaves)[..., None]
        bg[:horizon] += (leaves > 0.5)[..., None] * (c_accent - c_top) * 0.6
    elif style == "storefront":  # window panes
        pane = int(rng.integers(14, 24))
        off = int(rng.integers(0, pane))
        for x in range(-off, width, pane):
            cv2.rectangle(bg, (x + 2, 6), (x + pane - 2, horizon - 4), c_accent.tolist(), -1)
    else:  # plaza paving
        step = int(rng.integers(8, 14))
        off = int(rng.integers(0, step))
        for x in range(-off, width, step):
            cv2.line(bg, (x, horizon), (x, height - 1), (c_floor * 0.85).tolist(), 1)
        for y in range(horizon, height, step):
            cv2.line(bg, (0, y), (width - 1, y), (c_floor * 0.85).tolist(), 1)
    for _ in range(int(rng.integers(0, 4))):  # clutter: signs, bins, passers-by
        colour = (rng.uniform(30, 230, 3)).tolist()
        x0, y0 = int(rng.integers(-10, width)), int(rng.integers(0, height))
        x1, y1 = x0 + int(rng.integers(4, 24)), y0 + int(rng.integers(4, 40))
        cv2.rectangle(bg, (x0, y0), (x1, y1), colour, -1)
    bg *= (1.0 + 0.12 * _smooth_noise(rng, height, width, 16))[..., None]
    grey = bg.mean(axis=2, keepdims=True)
    bg = grey + (bg - grey) * _BACKGROUND_SATURATION
    return np.clip(bg, 0, 255).astype(np.uint8)


def _tone_table(camera: CameraLook, rng: np.random.Generator) -> np.ndarray:
    """A 256x1x3 lookup table: per-channel gain, contrast and brightness, then gamma."""
    v = np.arange(256, dtype=np.float64)[:, None]
    gains = np.asarray(camera.gains) * rng.uniform(0.95, 1.05, 3)
    contrast = camera.contrast * rng.uniform(0.93, 1.07)
    brightness = camera.brightness + rng.normal(0.0, 6.0)
    t = (v * gains[None, :] - 128.0) * contrast + 128.0 + brightness
    gamma = camera.gamma * rng.uniform(0.95, 1.05)
    t = 255.0 * np.power(np.clip(t, 0.0, 255.0) / 255.0, gamma)
    return np.clip(t + 0.5, 0, 255).astype(np.uint8).reshape(256, 1, 3)


def apply_camera(image: np.ndarray, camera: CameraLook, rng: np.random.Generator) -> np.ndarray:
    """Pass a clean BGR uint8 image through the camera: tone, colour, resolution, blur, noise.

    Each setting is jittered a little per image, as lighting changes along a camera's view.
    """
    h, w = image.shape[:2]
    x = image.astype(np.float32)
    grey = x.mean(axis=2, keepdims=True)
    x = np.clip(grey + (x - grey) * camera.saturation, 0.0, 255.0).astype(np.uint8)
    x = cv2.LUT(x, _tone_table(camera, rng))
    if camera.resolution < 0.98:
        small = (
            max(2, int(round(w * camera.resolution))),
            max(2, int(round(h * camera.resolution))),
        )
        x = cv2.resize(
            cv2.resize(x, small, interpolation=cv2.INTER_AREA),
            (w, h),
            interpolation=cv2.INTER_LINEAR,
        )
    blur = camera.blur * rng.uniform(0.7, 1.3)
    if blur > 0.25:
        x = cv2.GaussianBlur(x, (0, 0), blur)
    noise = rng.standard_normal(x.shape, dtype=np.float32) * np.float32(camera.noise)
    out = np.clip(x + noise + 0.5, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, camera.softness])
    if ok:
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return out


def _occlude(image: np.ndarray, rng: np.random.Generator) -> None:
    """Cover part of the crop with something in front of the person (a post, bench or car)."""
    h, w = image.shape[:2]
    colour = rng.uniform(20, 220, 3).tolist()
    if rng.random() < 0.5:
        y0 = int(h * rng.uniform(0.65, 0.85))
        cv2.rectangle(image, (0, y0), (w - 1, h - 1), colour, -1)
    else:
        x0 = int(rng.integers(-4, w - 6))
        cv2.rectangle(image, (x0, 0), (x0 + int(rng.integers(6, 16)), h - 1), colour, -1)


def render_person(
    appearance: Appearance,
    height: int,
    width: int,
    rng: np.random.Generator,
    camera: CameraLook | None = None,
) -> np.ndarray:
    """A BGR uint8 `height` x `width` re-id crop of one person.

    With a camera: a random pose as that camera frames people, its background, an occasional
    occluder, then its image formation (`apply_camera`). Without one: a random pose on a plain
    mid-grey background with no camera effects (the person as they really look).
    """
    pose = random_pose(rng, camera)
    person = render_person_rgba(appearance, height, width, pose)
    if camera is None:
        frame = np.full((height, width, 3), 128, np.uint8)
        return composite(frame, person)
    frame = composite(render_background(camera, height, width, rng), person)
    if rng.random() < 0.08:
        _occlude(frame, rng)
    return apply_camera(frame, camera, rng)


def render_distractor(
    height: int, width: int, rng: np.random.Generator, camera: CameraLook
) -> np.ndarray:
    """A false detection (identity 0000): background clutter, or part of a stranger."""
    frame = render_background(camera, height, width, rng)
    if rng.random() < 0.5:
        pose = random_pose(rng, camera)
        pose = Pose(
            facing=pose.facing,
            phase=pose.phase,
            dx=float(rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 0.6)),
            dy=float(rng.uniform(-0.4, 0.4)),
            scale=float(rng.uniform(0.8, 2.2)),
            light=pose.light,
            flip=pose.flip,
        )
        composite(frame, render_person_rgba(random_appearance(rng), height, width, pose))
    return apply_camera(frame, camera, rng)


def render_junk(
    appearance: Appearance,
    height: int,
    width: int,
    rng: np.random.Generator,
    camera: CameraLook,
) -> np.ndarray:
    """A junk detection (identity -1): a badly cut piece of a real person (a body part)."""
    frame = render_background(camera, height, width, rng)
    pose = random_pose(rng, camera)
    pose = Pose(
        facing=pose.facing,
        phase=pose.phase,
        dx=float(rng.uniform(-0.35, 0.35)),
        dy=float(rng.choice([-1.0, 1.0]) * rng.uniform(0.35, 0.7)),
        scale=float(rng.uniform(1.2, 2.5)),
        light=pose.light,
        flip=pose.flip,
    )
    composite(frame, render_person_rgba(appearance, height, width, pose))
    return apply_camera(frame, camera, rng)


# ---------------------------------------------------------------------------------------------
# Dataset plan


def validate_config(config: SynthConfig) -> None:
    """Raise DatasetError naming the first bad setting."""
    checks = [
        ("train_identities", config.train_identities, 1),
        ("test_identities", config.test_identities, 1),
        ("cameras", config.cameras, 2),
        ("images_per_camera", config.images_per_camera, 1),
        ("distractors", config.distractors, 0),
        ("junk", config.junk, 0),
        ("seed", config.seed, 0),
    ]
    for name, value, low in checks:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise DatasetError(
                f"Synthetic dataset setting {name}={value!r} is not a whole number.",
                f"Pass an integer of at least {low}.",
            )
        if value < low:
            why = " (every identity must be seen by two cameras)" if name == "cameras" else ""
            raise DatasetError(
                f"Synthetic dataset setting {name}={value} is too small{why}.",
                f"Use {name} >= {low}.",
            )
    if config.cameras > MAX_CAMERAS:
        raise DatasetError(
            f"Synthetic dataset setting cameras={config.cameras} is too large: Market-1501 file "
            "names hold a one-digit camera number.",
            f"Use at most {MAX_CAMERAS} cameras.",
        )
    total = config.train_identities + config.test_identities
    if total > MAX_IDENTITIES:
        raise DatasetError(
            f"Synthetic dataset asks for {total} identities: Market-1501 file names hold a "
            "four-digit identity.",
            f"Use at most {MAX_IDENTITIES} train and test identities together.",
        )


def identity_split(config: SynthConfig) -> tuple[list[int], list[int]]:
    """Disjoint sorted train and test identity numbers from 1..train+test, interleaved."""
    total = config.train_identities + config.test_identities
    order = np.random.default_rng([config.seed, _SEED_SPLIT]).permutation(total) + 1
    train = sorted(int(i) for i in order[: config.train_identities])
    test = sorted(int(i) for i in order[config.train_identities :])
    return train, test


def appearance_of(identity: int, seed: int) -> Appearance:
    """The fixed appearance of one identity number."""
    return random_appearance(np.random.default_rng([seed, _SEED_APPEARANCE, identity]))


def camera_looks(config: SynthConfig, strength: float = 1.0) -> dict[int, CameraLook]:
    """The look of each camera, keyed by 1-based camera number."""
    return {
        c: random_camera_look(np.random.default_rng([config.seed, _SEED_CAMERA_LOOK, c]), strength)
        for c in range(1, config.cameras + 1)
    }


def _file_name(identity: int, camera: int, frame: int, box: int) -> str:
    person = "-1" if identity < 0 else f"{identity:04d}"
    return f"{person}_c{camera}s1_{frame:06d}_{box:02d}.jpg"


def _person_specs(identity: int, split: str, config: SynthConfig) -> list[ImageSpec]:
    """One identity's images: cameras it appears in, frames, and (test) which become queries."""
    rng = np.random.default_rng([config.seed, _SEED_CAMERAS_OF, identity])
    n_cams = int(rng.integers(2, config.cameras + 1))
    cams = sorted(int(c) + 1 for c in rng.choice(config.cameras, n_cams, replace=False))
    per = config.images_per_camera
    if split == TRAIN_DIR:
        query_index = {c: -1 for c in cams}
    elif per >= 2:  # one query per camera; the camera's other images stay in the gallery
        query_index = {c: int(rng.integers(per)) for c in cams}
    else:  # one image per camera: one camera keeps its image in the gallery
        kept = cams[int(rng.integers(len(cams)))]
        query_index = {c: (-1 if c == kept else 0) for c in cams}
    specs = []
    for c in cams:
        frame = int(rng.integers(0, MAX_FRAME // 2))
        for j in range(per):
            frame += int(rng.integers(4, 60))
            where = QUERY_DIR if j == query_index[c] else split
            specs.append(
                ImageSpec(
                    split=where,
                    name=_file_name(identity, c, frame, int(rng.integers(1, 9))),
                    identity=identity,
                    camera=c,
                    kind="person",
                    person=identity,
                    seed_key=(_SEED_IMAGE, identity, c, j),
                )
            )
    return specs


def _extra_specs(config: SynthConfig, test_ids: list[int]) -> list[ImageSpec]:
    """Distractor (0000) and junk (-1) gallery images with unique file names."""
    rng = np.random.default_rng([config.seed, _SEED_EXTRA_NAMES])
    used: set[str] = set()
    specs = []
    for kind, count, identity, key in (
        ("distractor", config.distractors, 0, _SEED_DISTRACTOR),
        ("junk", config.junk, -1, _SEED_JUNK),
    ):
        for i in range(count):
            camera = int(rng.integers(1, config.cameras + 1))
            person = test_ids[int(rng.integers(len(test_ids)))] if kind == "junk" else 0
            name = _file_name(identity, camera, int(rng.integers(0, MAX_FRAME)), 1)
            box = 1
            while name in used:  # two detections in one frame: the next box number
                box = box % 99 + 1
                name = _file_name(identity, camera, int(rng.integers(0, MAX_FRAME)), box)
            used.add(name)
            specs.append(ImageSpec(GALLERY_DIR, name, identity, camera, kind, person, (key, i)))
    return specs


def plan_dataset(config: SynthConfig) -> list[ImageSpec]:
    """Every file of the dataset, in writing order; depends only on the config."""
    validate_config(config)
    train_ids, test_ids = identity_split(config)
    specs = [s for i in train_ids for s in _person_specs(i, TRAIN_DIR, config)]
    specs += [s for i in test_ids for s in _person_specs(i, GALLERY_DIR, config)]
    specs += _extra_specs(config, test_ids)
    return specs


def render_spec(
    spec: ImageSpec,
    config: SynthConfig,
    cameras: dict[int, CameraLook],
    appearances: dict[int, Appearance],
) -> np.ndarray:
    """The BGR image of one planned file."""
    rng = np.random.default_rng([config.seed, *spec.seed_key])
    camera = cameras[spec.camera]
    if spec.kind == "distractor":
        return render_distractor(IMAGE_HEIGHT, IMAGE_WIDTH, rng, camera)
    appearance = appearances.get(spec.person) or appearance_of(spec.person, config.seed)
    if spec.kind == "junk":
        return render_junk(appearance, IMAGE_HEIGHT, IMAGE_WIDTH, rng, camera)
    return render_person(appearance, IMAGE_HEIGHT, IMAGE_WIDTH, rng, camera)


# ---------------------------------------------------------------------------------------------
# Writing


def _write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write to a hidden temporary name in the same folder, then rename over the target.

    Unlike `core.atomic.write_bytes_atomic` this does not fsync: thousands of small images
    that can be regenerated exactly are not worth a disk flush each.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def write_jpeg_atomic(path: Path, image: np.ndarray, quality: int = JPEG_QUALITY) -> None:
    """Encode a BGR image as JPEG (as cv2.imwrite would) and write it atomically."""
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise DatasetError(f"Could not encode {path.name} as JPEG.", "Report this as a bug.")
    _write_bytes_atomic(path, buf.tobytes())


def default_workers() -> int:
    """One rendering process per CPU core this process may use, at most 8."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(8, cores))


def _write_chunk(out_dir: str, config: SynthConfig, specs: list[ImageSpec]) -> int:
    """Render and write some planned images (one worker's share); returns how many."""
    out = Path(out_dir)
    cameras = camera_looks(config)
    appearances: dict[int, Appearance] = {}
    for spec in specs:
        if spec.kind == "person" and spec.person not in appearances:
            appearances = {spec.person: appearance_of(spec.person, config.seed)}
        write_jpeg_atomic(
            out / spec.split / spec.name, render_spec(spec, config, cameras, appearances)
        )
    return len(specs)


def _main_is_reimportable() -> bool:
    """True if worker processes may import the caller's main module without rerunning it.

    Spawned workers import `__main__` again; a script without an `if __name__ == "__main__":`
    guard would run its top-level code once more in every worker. Interactive sessions and
    `python -c` have no main file, which is also safe.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None:
        return True
    try:
        source = Path(path).read_text(encoding="utf-8", errors="ignore")
    except OSError:
        return False
    return "__name__" in source and "__main__" in source


def _write_all(
    out: Path, config: SynthConfig, specs: list[ImageSpec], bar: tqdm, workers: int
) -> int:
    """Write `specs`, in worker processes when there are enough of them to be worth it.

    Workers are spawned (not forked, which is unsafe once the caller runs threads, as
    TensorFlow does) and only when the caller's main module can be imported again safely.
    If the pool breaks anyway, the rest is written in this process.
    """
    chunks = [specs[i : i + _CHUNK] for i in range(0, len(specs), _CHUNK)]
    if workers > 1 and len(chunks) >= _MIN_CHUNKS_FOR_WORKERS and _main_is_reimportable():
        context = multiprocessing.get_context("spawn")
        try:
            with ProcessPoolExecutor(min(workers, len(chunks)), mp_context=context) as pool:
                futures = [pool.submit(_write_chunk, str(out), config, chunk) for chunk in chunks]
                try:
                    for future in as_completed(futures):
                        bar.update(future.result())
                except BaseException:
                    for future in futures:
                        future.cancel()
                    raise
            return len(specs)
        except BrokenProcessPool:
            chunks = [[s for s in c if not (out / s.split / s.name).exists()] for c in chunks]
    _write_here(out, config, chunks, bar)
    return len(specs)


def _write_here(out: Path, config: SynthConfig, chunks: list[list[ImageSpec]], bar: tqdm) -> None:
    """Write chunks of images in this process."""
    for chunk in chunks:
        bar.update(_write_chunk(str(out), config, chunk))


def _marker(config: SynthConfig) -> dict:
    return {"format": FORMAT_NAME, "version": GENERATOR_VERSION, "config": asdict(config)}


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _same_dataset(recorded: dict | None, config: SynthConfig) -> bool:
    expected = _marker(config)
    return recorded is not None and all(recorded.get(k) == v for k, v in expected.items())


def _describe(recorded: dict | None) -> str:
    if recorded is None or not isinstance(recorded.get("config"), dict):
        return "an unreadable record"
    settings = ", ".join(f"{k}={v}" for k, v in recorded["config"].items())
    return f"version {recorded.get('version')} with {settings}"


def _counts_match(out: Path, recorded: dict) -> bool:
    """True if every split folder holds as many images as the record says."""
    expected = (recorded.get("summary") or {}).get("images") or {}
    for split in SPLIT_DIRS:
        folder = out / split
        if not folder.is_dir():
            return False
        with os.scandir(folder) as entries:
            found = sum(
                1 for e in entries if e.name.endswith(".jpg") and not e.name.startswith(".")
            )
        if found != expected.get(split):
            return False
    return True


def _check_out_dir(out: Path, config: SynthConfig) -> str:
    """Decide what to do with OUT: "fresh", "resume" or "complete"; raise if it is not ours."""
    if out.exists() and not out.is_dir():
        raise DatasetError(
            f"Cannot write the synthetic dataset to {out}: it is a file, not a folder.",
            "Pass a new or empty folder path.",
        )
    if not out.exists():
        return "fresh"
    summary_path, partial_path = out / SUMMARY_FILE, out / PARTIAL_FILE
    if summary_path.exists():
        recorded = _read_json(summary_path)
        if _same_dataset(recorded, config):
            # Images deleted since (or never finished) are written again.
            return "complete" if _counts_match(out, recorded) else "resume"
        raise DatasetError(
            f"{out} already holds a synthetic dataset made with different settings "
            f"({_describe(recorded)}).",
            f"Delete {out} or choose another folder to write this one.",
        )
    if partial_path.exists():
        recorded = _read_json(partial_path)
        if _same_dataset(recorded, config):
            return "resume"
        raise DatasetError(
            f"{out} holds an unfinished synthetic dataset made with different settings "
            f"({_describe(recorded)}).",
            f"Delete {out} or rerun with the same settings to finish it.",
        )
    with os.scandir(out) as entries:
        names = sorted(e.name for e in entries)
    if names:
        shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        raise DatasetError(
            f"{out} already contains files ({shown}) and is not a synthetic dataset written by "
            "`reid synth market1501`; it may be a real dataset.",
            "Choose a new or empty folder; nothing was changed.",
        )
    return "fresh"


def _remove_stale_temporaries(out: Path) -> None:
    """Delete temporary files left by an interrupted run (never finished images)."""
    for split in SPLIT_DIRS:
        folder = out / split
        if folder.is_dir():
            for entry in folder.iterdir():
                if entry.name.startswith(".") and entry.name.endswith(".tmp"):
                    entry.unlink(missing_ok=True)


def _summarise(specs: list[ImageSpec], config: SynthConfig) -> dict:
    counts = {split: 0 for split in SPLIT_DIRS}
    for spec in specs:
        counts[spec.split] += 1
    train_ids, test_ids = identity_split(config)
    query_ids = {s.identity for s in specs if s.split == QUERY_DIR}
    return {
        "images": counts,
        "total_images": len(specs),
        "train_identities": len(train_ids),
        "test_identities": len(test_ids),
        "query_identities": len(query_ids),
        "distractor_images": sum(s.kind == "distractor" for s in specs),
        "junk_images": sum(s.kind == "junk" for s in specs),
        "cameras": config.cameras,
        "image_size": [IMAGE_HEIGHT, IMAGE_WIDTH],
    }


def _write_dataset(
    out: Path,
    config: SynthConfig,
    specs: list[ImageSpec],
    state: str,
    progress: bool,
    workers: int | None,
) -> int:
    """Create the folders, mark the run unfinished and write the missing images."""
    for split in SPLIT_DIRS:
        (out / split).mkdir(parents=True, exist_ok=True)
    if state == "resume":
        _remove_stale_temporaries(out)
    write_json_atomic(out / PARTIAL_FILE, _marker(config))
    (out / SUMMARY_FILE).unlink(missing_ok=True)
    pending = [spec for spec in specs if not (out / spec.split / spec.name).exists()]
    bar = tqdm(
        total=len(specs),
        initial=len(specs) - len(pending),
        disable=not progress,
        unit="img",
        desc="synth market1501",
    )
    try:
        return _write_all(
            out, config, pending, bar, default_workers() if workers is None else workers
        )
    finally:
        bar.close()


def write_synthetic_market1501(
    out_dir: str | os.PathLike,
    config: SynthConfig = SynthConfig(),
    progress: bool = True,
    workers: int | None = None,
) -> dict:
    """Write a synthetic Market-1501 dataset into `out_dir` and return its summary.

    The summary holds the image count per split folder (`images`), `total_images`, identity
    counts, `distractor_images`, `junk_images`, `cameras`, `seconds` taken, `written` (files
    written by this call), `skipped` (True when nothing had to be done) and `out_dir`.

    Reruns: every image is written atomically (temporary name, then rename) and the record
    `OUT/synth.json` (settings and summary) is written last. If it is present with the same
    settings and every image is there, nothing is regenerated and the recorded summary is
    returned with skipped=True (if images were deleted since, they are written again).
    An interrupted run leaves `OUT/.synth-partial.json`; rerunning with the same settings resumes
    it, keeping the finished images (they are byte-identical to what would be written again)
    and writing the missing ones. A folder holding a synthetic dataset with other settings, any
    other files (a real dataset, say), or a path that is a file raises DatasetError and changes
    nothing; so do invalid settings.

    `workers` processes render the images (default: one per available CPU core, at most 8);
    the files do not depend on it.
    """
    validate_config(config)
    out = Path(out_dir)
    state = _check_out_dir(out, config)
    if state == "complete":
        recorded = _read_json(out / SUMMARY_FILE) or {}
        summary = dict(recorded.get("summary", {}))
        summary.update(out_dir=str(out), skipped=True, written=0)
        return summary
    start = time.perf_counter()
    specs = plan_dataset(config)
    try:
        written = _write_dataset(out, config, specs, state, progress, workers)
    except OSError as err:
        raise DatasetError(
            f"Could not write the synthetic dataset to {out}: {err}.",
            "Check that the folder is writable and the disk has space, then rerun the same "
            "command: finished images are kept.",
        ) from err
    summary = _summarise(specs, config)
    summary["seconds"] = round(time.perf_counter() - start, 3)
    record = {**_marker(config), "summary": summary}
    write_json_atomic(out / SUMMARY_FILE, record)
    (out / PARTIAL_FILE).unlink(missing_ok=True)
    return {**summary, "out_dir": str(out), "skipped": False, "written": written}


# ---------------------------------------------------------------------------------------------
# Command line


def add_synth_market_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `reid synth market1501 OUT`."""
    defaults = SynthConfig()
    parser.add_argument("out", help="folder to write the dataset into (created if missing)")
    parser.add_argument(
        "--train-identities",
        type=int,
        default=defaults.train_identities,
        help="identities in bounding_box_train (default: %(default)s)",
    )
    parser.add_argument(
        "--test-identities",
        type=int,
        default=defaults.test_identities,
        help="identities in query and bounding_box_test (default: %(default)s)",
    )
    parser.add_argument(
        "--cameras", type=int, default=defaults.cameras, help="cameras, 2-9 (default: %(default)s)"
    )
    parser.add_argument(
        "--images-per-camera",
        type=int,
        default=defaults.images_per_camera,
        help="images of an identity in each camera it appears in (default: %(default)s)",
    )
    parser.add_argument(
        "--distractors",
        type=int,
        default=defaults.distractors,
        help="identity 0000 images in bounding_box_test (default: %(default)s)",
    )
    parser.add_argument(
        "--junk",
        type=int,
        default=defaults.junk,
        help="identity -1 images in bounding_box_test (default: %(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=defaults.seed,
        help="random seed; the same settings write identical files (default: %(default)s)",
    )
    parser.add_argument("--no-progress", action="store_true", help="do not show a progress bar")


def run_synth_market(args: argparse.Namespace) -> int:
    """Write the dataset the arguments describe, print a one-line summary, return 0."""
    config = SynthConfig(
        train_identities=args.train_identities,
        test_identities=args.test_identities,
        cameras=args.cameras,
        images_per_camera=args.images_per_camera,
        distractors=args.distractors,
        junk=args.junk,
        seed=args.seed,
    )
    summary = write_synthetic_market1501(
        args.out, config, progress=not getattr(args, "no_progress", False)
    )
    images = summary["images"]
    counts = (
        f"{images[TRAIN_DIR]} train, {images[GALLERY_DIR]} gallery, {images[QUERY_DIR]} query "
        f"images; {summary['train_identities']} train + {summary['test_identities']} test "
        f"identities, {summary['cameras']} cameras"
    )
    if summary["skipped"]:
        print(f"{args.out} already holds this synthetic Market-1501 ({counts}); nothing to do.")
    else:
        print(f"Wrote synthetic Market-1501 to {args.out}: {counts} in {summary['seconds']:.1f} s.")
    return 0
