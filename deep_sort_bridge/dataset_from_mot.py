"""Re-id training data from annotated tracking footage: ground-truth tracks cut into Market-1501.

Every ground-truth track of every sequence becomes one identity (numbered 1, 2, ... across all
sequences, so identities never collide), the sequence's position in the sorted list becomes the
camera, and the crops go to `OUT/bounding_box_train/PPPP_cCs1_FFFFFF_00.jpg`, which
`reid train --dataset market1501 --data-dir OUT` reads. Crops are cut with deep_sort's own rules
(the box height kept, width half of it, resized to 128 x 64), so the network trains on crops
exactly like those it will see while tracking.

Filters: pedestrians only (class 1 with consider flag 1, where the file has classes), visibility
at least `min_visibility`, box height at least `min_height` pixels, at least `min_inside` of the
box inside the frame, every `frame_stride`-th frame (frames 1, 1 + stride, ...; only those
frames are decoded), and identities with fewer than `min_images` crops are left out.
`OUT/identities.csv` maps each identity back to its sequence and track.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from core.atomic import write_bytes_atomic, write_json_atomic
from core.errors import DatasetError
from core.images import write_jpeg_atomic
from core.outputs import check_output_folder, read_json_record, remove_stale_temporaries
from deep_sort_bridge import mot_io
from deep_sort_bridge.frames import prefetch, read_frame
from encoder.crops import crop_boxes

TRAIN_DIR = "bounding_box_train"
RECORD_FILE = "dataset_from_mot.json"
PARTIAL_FILE = ".dataset_from_mot-partial.json"
IDENTITIES_FILE = "identities.csv"
FORMAT_NAME = "reid-dataset-from-mot"
JPEG_QUALITY = 95


@dataclass(frozen=True)
class CutConfig:
    """Which ground-truth boxes become training crops."""

    min_visibility: float = 0.5
    min_height: float = 50.0
    min_inside: float = 0.8
    frame_stride: int = 5
    min_images: int = 2
    max_images: int = 0  # per identity; 0: no limit


def validate(config: CutConfig) -> None:
    checks = (
        (0.0 <= config.min_visibility <= 1.0, "--min-visibility must be between 0 and 1"),
        (config.min_height >= 0, "--min-height must not be negative"),
        (0.0 <= config.min_inside <= 1.0, "--min-inside must be between 0 and 1"),
        (config.frame_stride >= 1, "--frame-stride must be at least 1"),
        (config.min_images >= 1, "--min-images must be at least 1"),
        (config.max_images >= 0, "--max-images must not be negative (0: no limit)"),
    )
    for ok, message in checks:
        if not ok:
            raise DatasetError(f"Invalid setting: {message}.", "Change the option.")


def inside_fraction(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """Share of each box (x, y, w, h) that lies inside a width x height frame."""
    x0, y0 = np.clip(boxes[:, 0], 0, width), np.clip(boxes[:, 1], 0, height)
    x1 = np.clip(boxes[:, 0] + boxes[:, 2], 0, width)
    y1 = np.clip(boxes[:, 1] + boxes[:, 3], 0, height)
    area = boxes[:, 2] * boxes[:, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(area > 0, (x1 - x0) * (y1 - y0) / area, 0.0)


def select_boxes(
    gt: np.ndarray, config: CutConfig, frame_size: tuple[int, int] | None
) -> np.ndarray:
    """The ground-truth rows (N x 9) that pass the filters, before the per-identity counts."""
    frames = gt[:, 0].astype(np.int64)
    keep = (
        (gt[:, 6] >= 0.99)
        & (gt[:, 7] == 1)
        & (gt[:, 8] >= config.min_visibility)
        & (gt[:, 5] >= config.min_height)
        & ((frames - 1) % config.frame_stride == 0)
    )
    if frame_size is not None:
        width, height = frame_size
        keep &= inside_fraction(gt[:, 2:6], width, height) >= config.min_inside
    return gt[keep]


def limit_per_identity(rows: np.ndarray, config: CutConfig) -> np.ndarray:
    """Drop identities with under `min_images` rows; keep at most `max_images`, evenly spread."""
    kept = []
    for identity in np.unique(rows[:, 1]):
        mine = rows[rows[:, 1] == identity]
        if len(mine) < config.min_images:
            continue
        if config.max_images and len(mine) > config.max_images:
            mine = mine[np.linspace(0, len(mine) - 1, config.max_images).round().astype(int)]
        kept.append(mine)
    return np.concatenate(kept) if kept else rows[:0]


def _frame_size(info: mot_io.SequenceInfo, frames: dict[int, Path]) -> tuple[int, int] | None:
    if info.width and info.height:
        return info.width, info.height
    if frames:
        image = read_frame(next(iter(frames.values())))
        if image is not None:
            return image.shape[1], image.shape[0]
    return None


@dataclass(frozen=True)
class TrackDatasetKind:
    """Names that tell one writer's output folders from another's."""

    record_file: str
    partial_file: str
    format_name: str
    what: str
    command: str


CUT_FROM_GT = TrackDatasetKind(
    RECORD_FILE, PARTIAL_FILE, FORMAT_NAME, "a re-id dataset cut from tracks",
    "`reid dataset-from-mot`",
)  # fmt: skip


def write_dataset_from_mot(
    mot_dir: str | Path, out_dir: str | Path, config: CutConfig = CutConfig(), progress: bool = True
) -> dict:
    """Cut the ground-truth tracks of every sequence in `mot_dir` into `out_dir`; return counts.

    An interrupted run leaves `OUT/.dataset_from_mot-partial.json`, and a rerun keeps the crops
    already written; `OUT/dataset_from_mot.json` is written last and makes a rerun with the same
    settings a no-op. A folder holding anything else is refused.
    """
    validate(config)
    sequences = mot_io.list_sequences(mot_dir)
    with_gt = [s for s in sequences if (s / "gt" / "gt.txt").is_file()]
    if not with_gt:
        raise DatasetError(
            f"No sequence in {mot_dir} has ground truth (gt/gt.txt).",
            "Use annotated sequences (e.g. MOT17/train, not MOT17/test).",
        )

    def tracks_of(sequence_dir: Path, info, frames) -> tuple[np.ndarray, dict]:
        gt = mot_io.read_groundtruth(sequence_dir / "gt" / "gt.txt")
        rows = select_boxes(gt, config, _frame_size(info, frames))
        shipped = np.isin(rows[:, 0].astype(np.int64), list(frames))
        missing_frames = len(np.unique(rows[~shipped, 0]))
        return limit_per_identity(rows[shipped], config), {"missing_frames": missing_frames}

    summary = write_track_dataset(with_gt, out_dir, tracks_of, {"config": asdict(config)},
                                  CUT_FROM_GT, progress)  # fmt: skip
    if summary["images"] == 0:
        raise DatasetError(
            f"No ground-truth box of {mot_dir} passed the filters, so no crop was written.",
            "Loosen them: lower --min-visibility, --min-height or --min-images, or use "
            "--frame-stride 1.",
        )
    return summary


def write_track_dataset(
    sequences: list[Path],
    out_dir: str | Path,
    tracks_of,
    settings: dict,
    kind: TrackDatasetKind,
    progress: bool = True,
) -> dict:
    """Write the tracks of each sequence as Market-1501 identities (camera = sequence).

    tracks_of(sequence_dir, seqinfo, frame files) -> (rows (frame, track, x, y, w, h, ...) to
    cut, extra per-sequence counts). Identities are numbered across sequences; resumable as
    `write_dataset_from_mot` describes; returns the summary (`skipped` when already complete).
    """
    out = Path(out_dir).expanduser()
    marker = {"format": kind.format_name, **settings, "sequences": [s.name for s in sequences]}
    state = check_output_folder(
        out, marker, kind.record_file, kind.partial_file, kind.what, command=kind.command,
        ours={TRAIN_DIR, IDENTITIES_FILE},
    )  # fmt: skip
    if state == "complete":
        recorded = read_json_record(out / kind.record_file) or {}
        return {**recorded.get("summary", {}), "out_dir": str(out), "skipped": True}
    if state == "resume":
        remove_stale_temporaries(out)
    (out / TRAIN_DIR).mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / kind.partial_file, marker)  # an interrupted run resumes from here

    started = time.perf_counter()
    next_identity = 1
    mapping_lines = ["identity,camera,sequence,track_id,images"]
    per_sequence = []
    images = 0
    for camera, sequence_dir in enumerate(sequences, start=1):
        info = mot_io.read_seqinfo(sequence_dir)
        frames = mot_io.frame_files(info.image_dir)
        rows, extra = tracks_of(sequence_dir, info, frames)
        rows = rows[np.lexsort((rows[:, 0], rows[:, 1]))]
        identity_of = {}
        for track_id in np.unique(rows[:, 1]).astype(np.int64).tolist():
            identity_of[track_id] = next_identity
            next_identity += 1
        stats = _cut_sequence(
            out / TRAIN_DIR, camera, rows, frames, identity_of, progress, info.name
        )
        for track_id, identity in identity_of.items():
            count = stats["images_of"].get(identity, 0)
            mapping_lines.append(f"{identity},{camera},{sequence_dir.name},{track_id},{count}")
        images += stats["images"]
        per_sequence.append(
            {
                "sequence": sequence_dir.name,
                "camera": camera,
                "identities": len(identity_of),
                "images": stats["images"],
                **extra,
                "unreadable_frames": stats["unreadable_frames"],
                "boxes_outside_frame": stats["boxes_outside_frame"],
            }
        )
    summary = {
        "identities": next_identity - 1,
        "images": images,
        "cameras": len(sequences),
        "per_sequence": per_sequence,
        "seconds": round(time.perf_counter() - started, 3),
    }
    if images:
        write_bytes_atomic(out / IDENTITIES_FILE, ("\n".join(mapping_lines) + "\n").encode())
        write_json_atomic(out / kind.record_file, {**marker, "summary": summary})
        (out / kind.partial_file).unlink(missing_ok=True)
    return {**summary, "out_dir": str(out), "skipped": False}


def crop_name(identity: int, camera: int, frame: int) -> str:
    """Market-1501 file name: identity, camera, sequence 1, frame, box 00."""
    return f"{identity:04d}_c{camera}s1_{frame:06d}_00.jpg"


def _cut_sequence(
    folder: Path,
    camera: int,
    rows: np.ndarray,
    frames: dict[int, Path],
    identity_of: dict[int, int],
    progress: bool,
    name: str,
) -> dict:
    """Write the crops of one sequence's selected rows, decoding each needed frame once."""
    frame_of_row = rows[:, 0].astype(np.int64)
    wanted = np.unique(frame_of_row).tolist()
    unreadable = 0
    images_of: dict[int, int] = {}
    outside = 0
    bar = tqdm(total=len(wanted), desc=name, unit="frame", disable=not progress)
    try:
        for frame, image in prefetch(wanted, lambda f: read_frame(frames[f])):
            bar.update(1)
            if image is None:
                unreadable += 1
                continue
            mine = rows[frame_of_row == frame]
            crops, valid = crop_boxes(image, mine[:, 2:6])
            outside += int((~valid).sum())
            for row, crop in zip(mine[valid], crops[valid], strict=True):
                identity = identity_of[int(row[1])]
                path = folder / crop_name(identity, camera, frame)
                if not path.exists():
                    write_jpeg_atomic(path, crop, JPEG_QUALITY, durable=True)
                images_of[identity] = images_of.get(identity, 0) + 1
    finally:
        bar.close()
    return {
        "images": sum(images_of.values()),
        "images_of": images_of,
        "unreadable_frames": unreadable,
        "boxes_outside_frame": outside,
    }
