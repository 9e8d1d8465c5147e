"""Re-id crops as a camera records them: a person, a false detection or a badly cut box.

Each function draws a person (or none) with `synthetic.drawing`, pastes it on one of the
camera's backgrounds and passes the result through the camera (`synthetic.cameras`). These are
the three kinds of image a Market-1501 gallery holds: people, distractors (identity 0000) and
junk (identity -1).
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from synthetic.appearance import Appearance, Pose, random_appearance, random_pose
from synthetic.cameras import CameraLook, apply_camera, occlude, render_background
from synthetic.canvas import composite
from synthetic.detail import add_fabric_detail
from synthetic.drawing import render_person_rgba


def render_person(
    appearance: Appearance,
    height: int,
    width: int,
    rng: np.random.Generator,
    camera: CameraLook | None = None,
) -> np.ndarray:
    """A BGR uint8 `height` x `width` re-id crop of one person.

    With a camera: a random pose as that camera frames people, its background, as often as the
    camera says part of a neighbouring pedestrian (behind or in front), an occasional occluder,
    then its image formation (`apply_camera`). Without one: a random pose on a plain mid-grey
    background with no camera effects (the person as they really look).
    """
    pose = random_pose(rng, camera)
    stretch = camera.box_stretch if camera is not None else 1.0
    person = widened_person_rgba(appearance, height, width, pose, stretch)
    if camera is None:
        frame = np.full((height, width, 3), 128, np.uint8)
        return composite(frame, person)
    add_fabric_detail(person, rng, camera.detail)
    frame = render_background(camera, height, width, rng)
    neighbour = None
    if camera.neighbours > 0 and rng.random() < camera.neighbours:
        neighbour = render_neighbour(height, width, rng, camera)
        if rng.random() < 0.5:  # behind the person
            composite(frame, neighbour)
            neighbour = None
    composite(frame, person)
    if neighbour is not None:
        composite(frame, neighbour)
    if rng.random() < 0.08:
        occlude(frame, rng)
    return apply_camera(frame, camera, rng)


def widened_person_rgba(
    appearance: Appearance, height: int, width: int, pose: Pose, stretch: float
) -> np.ndarray:
    """The person in a box `stretch` times narrower than `width`, resized to `width` (BGRA).

    Detectors' boxes are often narrower than the 1:2 crop; resized to it, people look wider.
    """
    if stretch <= 1:
        return render_person_rgba(appearance, height, width, pose)
    narrow = max(2, int(round(width / stretch)))
    person = render_person_rgba(appearance, height, narrow, pose)
    return cv2.resize(person, (width, height), interpolation=cv2.INTER_LINEAR)


def render_neighbour(
    height: int, width: int, rng: np.random.Generator, camera: CameraLook
) -> np.ndarray:
    """Part of a stranger at the left or right edge of a person's box (BGRA): in a crowd, a
    detector's box holds some of the people beside the one it found."""
    pose = random_pose(rng, camera)
    pose = dataclasses.replace(
        pose,
        dx=float(rng.choice([-1.0, 1.0]) * rng.uniform(0.45, 0.8)),
        scale=pose.scale * float(rng.uniform(0.9, 1.1)),
    )
    stranger = widened_person_rgba(random_appearance(rng), height, width, pose, camera.box_stretch)
    add_fabric_detail(stranger, rng, camera.detail)
    return stranger


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
        stranger = render_person_rgba(random_appearance(rng), height, width, pose)
        add_fabric_detail(stranger, rng, camera.detail)
        composite(frame, stranger)
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
    part = render_person_rgba(appearance, height, width, pose)
    add_fabric_detail(part, rng, camera.detail)
    composite(frame, part)
    return apply_camera(frame, camera, rng)
