"""Surface detail that flat drawing lacks: fabric folds and grain, textured ground, railings.

Real crops show cloth folds, fabric grain, gravel and hard-edged structure behind people; a
drawn person is flat colour on a smooth scene. `amount` scales every effect (0: none, 1: clearly
visible at 128 x 64) and each image draws its own, so no identity is marked by its detail.
"""

from __future__ import annotations

import cv2
import numpy as np


def smooth_noise(
    rng: np.random.Generator, height: int, width: int, cell: int, cell_y: int | None = None
) -> np.ndarray:
    """Noise in about [-1, 1] that varies over `cell` pixels across (`cell_y` down, if given)."""
    cy = cell if cell_y is None else cell_y
    gh, gw = max(2, height // cy + 2), max(2, width // cell + 2)
    coarse = rng.uniform(-1.0, 1.0, (gh, gw)).astype(np.float32)
    return cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)


def grain(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Pixel-scale texture of unit standard deviation (fabric weave, gravel, concrete)."""
    fine = cv2.GaussianBlur(rng.standard_normal((height, width), dtype=np.float32), (0, 0), 0.6)
    return fine / max(float(fine.std()), 1e-6)


def add_fabric_detail(person: np.ndarray, rng: np.random.Generator, amount: float) -> None:
    """Shade a drawn person (BGRA, in place) with vertical folds and grain; alpha is kept."""
    if amount <= 0:
        return
    h, w = person.shape[:2]
    folds = smooth_noise(rng, h, w, cell=3, cell_y=24)
    factor = 1.0 + amount * (0.16 * folds + 0.07 * grain(rng, h, w))
    colour = person[..., :3].astype(np.float32) * factor[..., None]
    person[..., :3] = np.clip(colour + 0.5, 0, 255).astype(np.uint8)


def add_scene_detail(
    scene: np.ndarray, horizon: int, rng: np.random.Generator, amount: float
) -> None:
    """Texture a float32 BGR scene (in place): grain, stronger below the `horizon` row, and
    sometimes a railing of hard-edged bars and posts across it."""
    if amount <= 0:
        return
    h, w = scene.shape[:2]
    strength = np.full((h, 1), 0.06, np.float32)
    strength[horizon:] = 0.16
    scene *= (1.0 + amount * strength * grain(rng, h, w))[..., None]
    if rng.random() < 0.4 * min(amount, 1.0):
        shade = float(rng.uniform(0.35, 1.6))
        colour = (scene.mean(axis=(0, 1)) * shade).tolist()
        top = int(rng.integers(h // 4, max(h // 4 + 1, horizon)))
        bar = int(rng.integers(1, 4))
        for y in (top, top + int(rng.integers(8, 20))):
            cv2.rectangle(scene, (0, y), (w - 1, y + bar), colour, -1)
        step = int(rng.integers(6, 20))
        for x in range(int(rng.integers(0, step)), w, step):
            cv2.line(scene, (x, top), (x, min(h - 1, top + int(rng.integers(20, 40)))), colour, 1)
