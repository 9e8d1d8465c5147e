"""Tracks drawn onto their frames: one colour per track, its ID on the box; frames and a video.

Output per sequence: `<out>/<sequence>/000001.jpg ...` and `<out>/<sequence>.mp4` (MPEG-4; an
MJPEG `.avi` where this OpenCV build cannot write MPEG-4). Every file appears whole or not at
all.
"""

from __future__ import annotations

import colorsys
import os
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from core.errors import DatasetError
from core.images import write_jpeg_atomic
from deep_sort_bridge import mot_io
from deep_sort_bridge.frames import prefetch, read_frame

_GOLDEN = 0.618033988749895


def track_colour(track_id: int) -> tuple[int, int, int]:
    """A distinct, stable BGR colour per track ID (hues spread by the golden ratio)."""
    hue = (int(track_id) * _GOLDEN) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 0.95)
    return int(b * 255), int(g * 255), int(r * 255)


def draw_tracks(image: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Draw result rows (frame, id, x, y, w, h) of one frame onto a BGR image, in place."""
    scale = max(0.4, image.shape[0] / 1080 * 0.9)
    thickness = max(1, int(round(image.shape[0] / 400)))
    for _, track_id, x, y, w, h in rows[:, :6]:
        colour = track_colour(int(track_id))
        p1, p2 = (int(round(x)), int(round(y))), (int(round(x + w)), int(round(y + h)))
        cv2.rectangle(image, p1, p2, colour, thickness)
        label = str(int(track_id))
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        top = max(0, p1[1] - th - base - 2)
        cv2.rectangle(image, (p1[0], top), (p1[0] + tw + 4, top + th + base + 2), colour, -1)
        cv2.putText(
            image,
            label,
            (p1[0] + 2, top + th + 1),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (0, 0, 0),
            thickness,
            cv2.LINE_AA,
        )
    return image


def _open_video(path: Path, fps: float, size: tuple[int, int]):
    """A VideoWriter on a hidden temporary name beside `path` (mp4v, else MJPG .avi)."""
    for suffix, codec in ((".mp4", "mp4v"), (".avi", "MJPG")):
        target = path.with_suffix(suffix)
        temporary = target.with_name(f".{target.stem}.tmp{suffix}")
        writer = cv2.VideoWriter(str(temporary), cv2.VideoWriter_fourcc(*codec), fps, size)
        if writer.isOpened():
            return writer, temporary, target
        writer.release()
        temporary.unlink(missing_ok=True)
    return None, None, None


def render_sequence(
    sequence_dir: str | Path,
    results: np.ndarray,
    out_dir: str | Path,
    video: bool = True,
    progress: bool = True,
) -> dict:
    """Draw a sequence's results on its frames; return what was written.

    Frames without an image are left out. The video runs at the sequence's frame rate
    (`seqinfo.ini`, else 25).
    """
    info = mot_io.read_seqinfo(sequence_dir)
    frames = mot_io.frame_files(info.image_dir)
    if not frames:
        raise DatasetError(
            f"{info.image_dir} holds no frames to draw on.",
            "Render only sequences whose img1/ folder ships with the frames.",
        )
    out_dir = Path(out_dir) / info.directory.name
    out_dir.mkdir(parents=True, exist_ok=True)
    frame_of_row = results[:, 0].astype(np.int64)
    writer = temporary = target = None
    written = 0
    bar = tqdm(total=len(frames), desc=f"render {info.directory.name}", disable=not progress)
    try:
        for frame, image in prefetch(frames, lambda f: read_frame(frames[f])):
            bar.update(1)
            if image is None:
                continue
            draw_tracks(image, results[frame_of_row == frame])
            write_jpeg_atomic(out_dir / f"{frame:06d}.jpg", image, durable=True)
            written += 1
            if video and writer is None and target is None:
                size = (image.shape[1], image.shape[0])
                writer, temporary, target = _open_video(
                    out_dir.with_suffix(".mp4"), _fps(info), size
                )
                video = writer is not None
            if writer is not None:
                if (image.shape[1], image.shape[0]) != size:
                    image = cv2.resize(image, size)
                writer.write(image)
    except BaseException:
        if writer is not None:
            writer.release()
            temporary.unlink(missing_ok=True)
        raise
    finally:
        bar.close()
    video_path = None
    if writer is not None:
        writer.release()
        os.replace(temporary, target)
        video_path = str(target)
    return {"frames": written, "frames_dir": str(out_dir), "video": video_path}


def _fps(info: mot_io.SequenceInfo) -> float:
    return float(info.frame_rate or 25.0)
