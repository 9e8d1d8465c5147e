"""How a synthetic camera sees the world: its look, its backgrounds and its image formation.

Every camera has its own `CameraLook` (colour cast, gamma, contrast, saturation, resolution,
blur, noise, compression softness, how it frames people, background style). Backgrounds and
camera effects are applied around a drawn person, so raw pixels and colour histograms are
imperfect matchers across cameras while hues keep their order and people stay recognisable.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from synthetic.appearance import Colour, clip_colour
from synthetic.detail import add_scene_detail, smooth_noise

BACKGROUND_STYLES = ("indoor", "street", "foliage", "storefront", "plaza")


@dataclass(frozen=True)
class CameraLook:
    """How one camera sees the world: colour and tone changes, sharpness, framing, background.

    `gains` multiply the B, G, R channels (colour cast); `contrast` and `brightness` act about
    mid-grey, then `saturation` and `gamma`; `resolution` < 1 renders at lower resolution and
    scales back up; `blur` is a Gaussian sigma in output pixels; `noise` a standard deviation in
    grey levels; `softness` the JPEG quality of an extra compression pass. `person_scale` and
    `person_dy` frame the person like this camera's detector does; `facing_weights` give how often
    people face front/back/sideways here; `background` names the scene style drawn in
    `background_colours`. `box_stretch` > 1 widens people as a detector's boxes narrower than
    the 1:2 crop do when they are resized to it. `detail` scales the surface detail
    (`synthetic.detail`) of its scenes and of the people it sees. `neighbours` is the share of
    its crops in which part of another pedestrian stands at the side of the box.
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
    box_stretch: float = 1.0
    detail: float = 0.0
    neighbours: float = 0.0


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
    b, f, a = (clip_colour(np.asarray(c, float) * rng.uniform(0.8, 1.15, 3)) for c in base)
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


def random_camera_look(
    rng: np.random.Generator,
    strength: float = 1.0,
    max_box_stretch: float = 1.0,
    detail: float = 0.0,
    neighbours: float = 0.0,
) -> CameraLook:
    """Draw one camera's look; `strength` scales how far it departs from a neutral camera.

    At strength 1 the casts are strong enough that raw pixels and colour histograms often
    match the wrong person across cameras, yet hues keep their order so people stay
    recognisable. Strength 0 gives a neutral, sharp camera (the background style stays).
    `max_box_stretch` > 1 draws the camera's box stretch in [1, max_box_stretch]; `detail`
    and `neighbours` are passed on to the look.
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
        box_stretch=float(rng.uniform(1.0, max_box_stretch)) if max_box_stretch > 1 else 1.0,
        detail=float(detail),
        neighbours=float(neighbours),
    )


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
        leaves = smooth_noise(rng, horizon, width, 6)
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
    add_scene_detail(bg, horizon, rng, camera.detail)
    bg *= (1.0 + 0.12 * smooth_noise(rng, height, width, 16))[..., None]
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


def occlude(image: np.ndarray, rng: np.random.Generator) -> None:
    """Cover part of the crop with something in front of the person (a post, bench or car)."""
    h, w = image.shape[:2]
    colour = rng.uniform(20, 220, 3).tolist()
    if rng.random() < 0.5:
        y0 = int(h * rng.uniform(0.65, 0.85))
        cv2.rectangle(image, (0, y0), (w - 1, h - 1), colour, -1)
    else:
        x0 = int(rng.integers(-4, w - 6))
        cv2.rectangle(image, (x0, 0), (x0 + int(rng.integers(6, 16)), h - 1), colour, -1)
