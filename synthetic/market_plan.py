"""The plan of a synthetic Market-1501 dataset: which files it holds and what each one shows.

`plan_dataset` lists every image (split folder, file name, label, camera, whose appearance and
which random stream) from the settings alone, and `render_spec` draws one planned image. Each
identity, camera and image draws from its own `np.random.default_rng([seed, purpose, ...])`, so
an image's pixels depend only on the settings and the image, never on the order or the run in
which images are drawn; that is what lets the writer use worker processes and resume.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.errors import DatasetError
from synthetic.appearance import Appearance, random_appearance
from synthetic.cameras import CameraLook, random_camera_look
from synthetic.crops import render_distractor, render_junk, render_person

TRAIN_DIR = "bounding_box_train"
GALLERY_DIR = "bounding_box_test"
QUERY_DIR = "query"
SPLIT_DIRS = (TRAIN_DIR, GALLERY_DIR, QUERY_DIR)
IMAGE_HEIGHT = 128
IMAGE_WIDTH = 64
MAX_IDENTITIES = 9999  # four digits in the file name
MAX_CAMERAS = 9  # one digit in the file name
MAX_FRAME = 999_999

# Purposes mixed into the seed so that each kind of random draw has its own stream.
_SEED_SPLIT = 1
_SEED_APPEARANCE = 2
_SEED_CAMERAS_OF = 3
_SEED_IMAGE = 4
_SEED_CAMERA_LOOK = 5
_SEED_DISTRACTOR = 6
_SEED_JUNK = 7
_SEED_EXTRA_NAMES = 8


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
    camera_strength: float = 1.0  # how far cameras depart from a neutral one (0: all alike)
    box_stretch: float = 1.0  # up to this much wider: boxes narrower than 1:2, resized to 64x128
    detail: float = 0.0  # fabric folds and grain, textured scenes (synthetic.detail); 0: flat
    neighbours: float = 0.0  # share of person crops with part of another pedestrian at a side


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
    ranges = [
        ("camera_strength", 0, 2, "0 (identical cameras) to 2; 1 is the default"),
        ("box_stretch", 1, 2, "1 (no widening) to 2"),
        ("detail", 0, 2, "0 (flat drawing, the default) to 2"),
        ("neighbours", 0, 1, "0 (people alone, the default) to 1 (a neighbour in every crop)"),
    ]
    for name, low, high, meaning in ranges:
        value = getattr(config, name)
        if not low <= value <= high:
            raise DatasetError(
                f"Synthetic dataset setting {name}={value} is out of range.",
                f"Use a value from {meaning}.",
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


def camera_looks(config: SynthConfig) -> dict[int, CameraLook]:
    """The look of each camera, keyed by 1-based camera number."""
    return {
        c: random_camera_look(
            np.random.default_rng([config.seed, _SEED_CAMERA_LOOK, c]),
            config.camera_strength,
            config.box_stretch,
            config.detail,
            config.neighbours,
        )
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
