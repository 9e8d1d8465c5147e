"""Synthetic MOTChallenge sequences: the synthetic people walking across a street scene.

`reid synth mot OUT` writes `OUT/SYNTH-01/` (and more with `--sequences`) in the MOTChallenge
layout: `img1/000001.jpg ...`, `seqinfo.ini`, `gt/gt.txt` (frame, id, x, y, w, h, 1, 1,
visibility) and a noisy `det/det.txt` (frame, -1, x, y, w, h, confidence, -1, -1, -1), so the
whole tracking path (generate-detections, track, mot-eval) runs without downloading anything.

The scene is built to need appearance: people walk left or right at different depths (nearer
is larger, lower and faster), so they cross and the nearer one hides the farther one for a
while; the detector misses hidden and, at random, visible people, jitters its boxes and adds
some false alarms. A tracker that only looks at box overlap loses people at every gap.

People are drawn by the same renderer as the synthetic Market-1501 crops
(`synthetic.drawing`), facing their walking direction with the walking cycle animated.
Ground-truth boxes are tight around each drawn person and visibility is the share of the
person's pixels that nothing nearer covers and that fall inside the frame. Everything is
deterministic given the seed.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from core.atomic import write_bytes_atomic, write_json_atomic
from core.errors import DatasetError
from core.images import write_jpeg_atomic
from core.outputs import check_output_folder, read_json_record, remove_stale_temporaries
from synthetic.appearance import Appearance, Pose, random_appearance
from synthetic.cameras import random_camera_look, render_background
from synthetic.canvas import composite
from synthetic.drawing import render_person_rgba

FORMAT_NAME = "reid-synthetic-mot"
GENERATOR_VERSION = 1
SUMMARY_FILE = "synth_mot.json"
PARTIAL_FILE = ".synth_mot-partial.json"
SEQUENCE_PREFIX = "SYNTH"

_SEED_SCENE = 11
_SEED_PEOPLE = 12
_SEED_FRAME = 13
_SEED_DETECTIONS = 14


@dataclass(frozen=True)
class SynthMotConfig:
    """Size, crowd and detector noise of the synthetic sequences.

    `people` walk through each sequence of `frames` frames. The detector sees a person whose
    visibility is at least `detect_visibility`, misses one it sees with probability `miss_rate`,
    moves and scales its box by about `box_jitter` of the box size, and adds on average
    `false_alarms` wrong boxes per frame.
    """

    sequences: int = 1
    frames: int = 150
    width: int = 640
    height: int = 480
    frame_rate: int = 25
    people: int = 8
    detect_visibility: float = 0.4
    miss_rate: float = 0.05
    box_jitter: float = 0.04
    false_alarms: float = 0.3
    seed: int = 0


@dataclass(frozen=True)
class Walker:
    """One person's path: facing `direction` (+1 right), at a fixed depth, crossing the centre
    line at frame `centre_frame` with `speed` body heights per frame."""

    identity: int
    appearance: Appearance
    direction: int
    depth: float  # 0 far (near the horizon) .. 1 near (bottom of the frame)
    centre_frame: float
    speed: float
    lateral: float  # x offset of the path in frame widths
    phase: float


def validate_config(config: SynthMotConfig) -> None:
    """Raise DatasetError naming the first bad setting."""
    checks = (
        (1 <= config.sequences <= 99, "sequences must be 1-99"),
        (2 <= config.frames <= 100_000, "frames must be 2-100000"),
        (64 <= config.width <= 8192 and 64 <= config.height <= 8192, "width and height 64-8192"),
        (1 <= config.frame_rate <= 1000, "frame rate must be 1-1000"),
        (1 <= config.people <= 500, "people must be 1-500"),
        (0.0 <= config.detect_visibility <= 1.0, "detect visibility must be 0-1"),
        (0.0 <= config.miss_rate < 1.0, "miss rate must be in [0, 1)"),
        (0.0 <= config.box_jitter <= 0.5, "box jitter must be 0-0.5"),
        (0.0 <= config.false_alarms <= 50.0, "false alarms per frame must be 0-50"),
    )
    for ok, message in checks:
        if not ok:
            raise DatasetError(f"Invalid synthetic MOT setting: {message}.", "Change the option.")


def sequence_name(index: int) -> str:
    return f"{SEQUENCE_PREFIX}-{index + 1:02d}"


def _horizon(config: SynthMotConfig) -> float:
    return 0.3 * config.height


def person_height(depth: float, config: SynthMotConfig) -> float:
    """Perspective: people near the bottom are tall (45% of the frame), near the horizon small."""
    return config.height * (0.14 + 0.31 * depth)


def plan_walkers(config: SynthMotConfig, sequence: int) -> list[Walker]:
    """Who walks through a sequence and how; depends only on the config and the sequence."""
    walkers = []
    for i in range(config.people):
        rng = np.random.default_rng([config.seed, _SEED_PEOPLE, sequence, i])
        walkers.append(
            Walker(
                identity=i + 1,
                appearance=random_appearance(rng),
                direction=1 if i % 2 == 0 else -1,
                depth=float(rng.uniform(0.05, 1.0)),
                centre_frame=float(rng.uniform(0.15, 0.85) * config.frames),
                speed=float(rng.uniform(0.012, 0.022)),
                lateral=float(rng.normal(0.0, 0.08)),
                phase=float(rng.uniform(0, 2 * math.pi)),
            )
        )
    return walkers


def walker_box(walker: Walker, frame: int, config: SynthMotConfig) -> tuple[int, int, int, int]:
    """The drawing box (x, y, w, h) of a walker at a 1-based frame: feet on the ground line."""
    h = person_height(walker.depth, config)
    foot = _horizon(config) + (0.2 + 0.78 * walker.depth) * (config.height - _horizon(config))
    centre = config.width * (0.5 + walker.lateral) + walker.direction * walker.speed * h * (
        frame - walker.centre_frame
    )
    height = int(round(h))
    width = max(2, height // 2)
    return int(round(centre - width / 2)), int(round(foot - height)), width, height


def render_walker(walker: Walker, frame: int, height: int, width: int) -> np.ndarray:
    """The walker's BGRA drawing at a frame: side view, walking cycle advanced with the frame."""
    phase = walker.phase + frame * walker.speed * 2 * math.pi / 0.8
    pose = Pose(facing="side", phase=phase, flip=walker.direction < 0)
    return render_person_rgba(walker.appearance, height, width, pose)


def _tight_box(alpha: np.ndarray, x: int, y: int) -> tuple[int, int, int, int] | None:
    rows = np.flatnonzero(alpha.max(axis=1) > 127)
    cols = np.flatnonzero(alpha.max(axis=0) > 127)
    if not rows.size:
        return None
    return (
        x + int(cols[0]),
        y + int(rows[0]),
        int(cols[-1] - cols[0] + 1),
        int(rows[-1] - rows[0] + 1),
    )


def render_frame(
    background: np.ndarray,
    walkers: list[Walker],
    frame: int,
    config: SynthMotConfig,
    rng: np.random.Generator,
) -> tuple[np.ndarray, list[tuple[int, tuple[int, int, int, int], float]]]:
    """One frame (BGR) and its ground truth: (identity, tight box, visibility) per person in view.

    People are drawn far to near, so nearer people cover farther ones.
    """
    image = background.copy()
    H, W = image.shape[:2]
    drawn = []
    for walker in sorted(walkers, key=lambda w: w.depth):
        x, y, w, h = walker_box(walker, frame, config)
        if x >= W or y >= H or x + w <= 0 or y + h <= 0:
            continue
        rgba = render_walker(walker, frame, h, w)
        drawn.append((walker.identity, x, y, rgba))
    covered = np.zeros((H, W), bool)
    truth = []
    for identity, x, y, rgba in reversed(drawn):  # near to far: what is nearer covers
        alpha = rgba[..., 3] > 127
        box = _tight_box(rgba[..., 3], x, y)
        if box is None:
            continue
        x0, y0, x1, y1 = (
            max(0, x),
            max(0, y),
            min(W, x + alpha.shape[1]),
            min(H, y + alpha.shape[0]),
        )
        inside = alpha[y0 - y : y1 - y, x0 - x : x1 - x]
        seen = inside & ~covered[y0:y1, x0:x1]
        visibility = float(seen.sum()) / max(1, int(alpha.sum()))
        covered[y0:y1, x0:x1] |= inside
        bx, by, bw, bh = box
        if bx < W and by < H and bx + bw > 0 and by + bh > 0:
            truth.append((identity, box, visibility))
    for _, x, y, rgba in drawn:
        composite(image, rgba, x, y)
    noise = rng.normal(0.0, 2.5, image.shape).astype(np.float32)
    gain = rng.uniform(0.97, 1.03)
    image = np.clip(image.astype(np.float32) * gain + noise + 0.5, 0, 255).astype(np.uint8)
    truth.sort(key=lambda t: t[0])
    return image, truth


def detect(
    truth: list[tuple[int, tuple[int, int, int, int], float]],
    config: SynthMotConfig,
    rng: np.random.Generator,
) -> list[tuple[float, float, float, float, float]]:
    """A noisy detector's boxes (x, y, w, h, confidence) for one frame's ground truth."""
    boxes = []
    for _, (x, y, w, h), visibility in truth:
        if visibility < config.detect_visibility or rng.random() < config.miss_rate:
            continue
        jitter = config.box_jitter
        cx = x + w / 2 + rng.normal(0, jitter) * w
        cy = y + h / 2 + rng.normal(0, jitter) * h
        bw, bh = w * math.exp(rng.normal(0, jitter)), h * math.exp(rng.normal(0, jitter))
        confidence = float(np.clip(0.55 + 0.4 * visibility + rng.normal(0, 0.05), 0.05, 1.0))
        boxes.append((cx - bw / 2, cy - bh / 2, bw, bh, confidence))
    for _ in range(int(rng.poisson(config.false_alarms))):
        h = person_height(float(rng.uniform(0, 1)), config) * rng.uniform(0.6, 1.1)
        w = h * rng.uniform(0.3, 0.5)
        x = rng.uniform(0, config.width - w)
        y = rng.uniform(_horizon(config) - 0.5 * h, config.height - h)
        boxes.append((x, y, w, h, float(rng.uniform(0.1, 0.6))))
    return boxes


def seqinfo_text(name: str, config: SynthMotConfig) -> str:
    return (
        "[Sequence]\n"
        f"name={name}\nimDir=img1\nframeRate={config.frame_rate}\nseqLength={config.frames}\n"
        f"imWidth={config.width}\nimHeight={config.height}\nimExt=.jpg\n"
    )


def write_sequence(out: Path, index: int, config: SynthMotConfig, progress: bool = True) -> dict:
    """Write one sequence folder; returns its counts."""
    name = sequence_name(index)
    folder = out / name
    (folder / "img1").mkdir(parents=True, exist_ok=True)
    scene_rng = np.random.default_rng([config.seed, _SEED_SCENE, index])
    camera = random_camera_look(scene_rng, strength=0.3)
    background = render_background(camera, config.height, config.width, scene_rng)
    walkers = plan_walkers(config, index)
    gt_lines, det_lines = [], []
    bar = tqdm(total=config.frames, desc=name, unit="frame", disable=not progress)
    try:
        for frame in range(1, config.frames + 1):
            rng = np.random.default_rng([config.seed, _SEED_FRAME, index, frame])
            image, truth = render_frame(background, walkers, frame, config, rng)
            write_jpeg_atomic(folder / "img1" / f"{frame:06d}.jpg", image)
            for identity, (x, y, w, h), visibility in truth:
                gt_lines.append(f"{frame},{identity},{x},{y},{w},{h},1,1,{visibility:.3f}")
            det_rng = np.random.default_rng([config.seed, _SEED_DETECTIONS, index, frame])
            for x, y, w, h, confidence in detect(truth, config, det_rng):
                det_lines.append(
                    f"{frame},-1,{x:.1f},{y:.1f},{w:.1f},{h:.1f},{confidence:.3f},-1,-1,-1"
                )
            bar.update(1)
    finally:
        bar.close()
    write_bytes_atomic(folder / "gt" / "gt.txt", ("\n".join(gt_lines) + "\n").encode())
    write_bytes_atomic(folder / "det" / "det.txt", ("\n".join(det_lines) + "\n").encode())
    write_bytes_atomic(folder / "seqinfo.ini", seqinfo_text(name, config).encode())
    return {
        "name": name,
        "frames": config.frames,
        "gt_boxes": len(gt_lines),
        "detections": len(det_lines),
    }


def _marker(config: SynthMotConfig) -> dict:
    """What identifies these sequences in their record and partial marker."""
    return {"format": FORMAT_NAME, "version": GENERATOR_VERSION, "config": asdict(config)}


def write_synthetic_mot(
    out_dir: str | Path, config: SynthMotConfig = SynthMotConfig(), progress: bool = True
) -> dict:
    """Write the synthetic sequences into `out_dir` (a MOT folder) and return the summary.

    `OUT/synth_mot.json` (settings and counts) is written last; when it is there with the same
    settings, nothing is redone (`skipped` is True). An interrupted run leaves
    `OUT/.synth_mot-partial.json` and is finished by a rerun with the same settings (every file
    is rewritten, byte-identical). A folder holding other files, or sequences made with other
    settings, is left untouched with a DatasetError.
    """
    validate_config(config)
    out = Path(out_dir).expanduser()
    record_path, partial_path = out / SUMMARY_FILE, out / PARTIAL_FILE
    state = check_output_folder(
        out,
        _marker(config),
        SUMMARY_FILE,
        PARTIAL_FILE,
        "a set of synthetic MOT sequences",
        command="`reid synth mot`",
        ours={sequence_name(i) for i in range(99)},
    )
    if state == "complete":
        recorded = read_json_record(record_path) or {}
        return {**recorded.get("summary", {}), "out_dir": str(out), "skipped": True}
    if state == "resume":
        remove_stale_temporaries(out)
    start = time.perf_counter()
    write_json_atomic(partial_path, _marker(config))  # a rerun with these settings finishes it
    sequences = [write_sequence(out, i, config, progress) for i in range(config.sequences)]
    summary = {
        "sequences": sequences,
        "frames": sum(s["frames"] for s in sequences),
        "gt_boxes": sum(s["gt_boxes"] for s in sequences),
        "detections": sum(s["detections"] for s in sequences),
        "identities_per_sequence": config.people,
        "seconds": round(time.perf_counter() - start, 3),
    }
    write_json_atomic(record_path, {**_marker(config), "summary": summary})
    partial_path.unlink(missing_ok=True)
    return {**summary, "out_dir": str(out), "skipped": False}
