"""A video file as a MOTChallenge sequence: numbered frames, seqinfo.ini, detections beside it.

Every sequence command (generate-detections, track, mot-eval --render, dataset-from-mot) then
runs on it unchanged. Frames are decoded one at a time, never held together. The frames are
written first and `seqinfo.ini` last, so a folder with `seqinfo.ini` is a whole sequence; a
rerun after an interruption keeps the frames already written (same video, same settings) and
writes the rest.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import cv2
from tqdm import tqdm

from core.atomic import write_bytes_atomic, write_json_atomic
from core.errors import DatasetError
from core.images import write_jpeg_atomic
from core.outputs import read_json_record, remove_stale_temporaries
from deep_sort_bridge import mot_io

RECORD_FILE = "video_to_mot.json"
FRAME_QUALITY = 95


def open_video(path: Path) -> cv2.VideoCapture:
    """An opened capture of `path`, or a DatasetError that names the problem."""
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise DatasetError(
            f"OpenCV cannot read {path} as a video.",
            "Pass a video file OpenCV's FFmpeg reads (for example .mp4, .avi, .mkv), or convert "
            "it: ffmpeg -i INPUT -c:v libx264 OUTPUT.mp4",
        )
    return capture


def seqinfo_text(name: str, frames: int, fps: float, width: int, height: int) -> str:
    """MOTChallenge's seqinfo.ini for a sequence of numbered JPEG frames in img1/."""
    return (
        "[Sequence]\n"
        f"name={name}\nimDir=img1\nframeRate={fps:g}\nseqLength={frames}\n"
        f"imWidth={width}\nimHeight={height}\nimExt=.jpg\n"
    )


def _checked_rows(source: Path | None, read) -> int:
    """Rows of a MOTChallenge text file, checked by `read` (which names any bad line); 0: none."""
    return len(read(source)) if source is not None else 0


def _place(source: Path | None, target: Path) -> None:
    if source is not None:
        write_bytes_atomic(target, source.read_bytes())


def video_to_mot(
    video: str | Path,
    mot_dir: str | Path,
    detections: str | Path | None = None,
    groundtruth: str | Path | None = None,
    name: str | None = None,
    progress: bool = True,
) -> dict:
    """Write `video` as the sequence MOT_DIR/NAME (NAME: the video's file name without suffix).

    detections: a det.txt for the video (frame numbers from 1) to place at det/det.txt; by
    default `<video without suffix>.txt` beside the video when it exists. groundtruth: a
    gt.txt to place at gt/gt.txt. Returns the summary also written to NAME/video_to_mot.json.
    """
    video = Path(video).expanduser()
    if detections is None and video.with_suffix(".txt").is_file():
        detections = video.with_suffix(".txt")
    detections = Path(detections).expanduser() if detections else None
    groundtruth = Path(groundtruth).expanduser() if groundtruth else None
    sequence = Path(mot_dir).expanduser() / (name or video.stem)
    if not video.is_file():
        raise DatasetError(f"Video {video} does not exist.", "Pass the path of a video file.")
    marker = {"video": str(video.resolve()), "bytes": video.stat().st_size}
    recorded = read_json_record(sequence / RECORD_FILE)
    if sequence.exists() and not sequence.is_dir():
        raise DatasetError(f"{sequence} is a file.", "Pass another --name or MOT folder.")
    if sequence.is_dir() and any(sequence.iterdir()) and (recorded or {}).get("source") != marker:
        raise DatasetError(
            f"{sequence} already exists and was not written from {video}.",
            "Pass another --name or MOT folder, or delete it.",
        )
    if recorded and recorded.get("complete") and (sequence / "seqinfo.ini").is_file():
        return {**recorded, "skipped": True}
    det_rows = _checked_rows(detections, mot_io.read_detections)
    gt_rows = _checked_rows(groundtruth, mot_io.read_groundtruth)
    capture = open_video(video)
    write_json_atomic(sequence / RECORD_FILE, {"source": marker, "complete": False})
    remove_stale_temporaries(sequence / "img1")
    started = time.perf_counter()
    try:
        frames, size = _write_frames(capture, sequence / "img1", video, progress)
        fps = capture.get(cv2.CAP_PROP_FPS)
    finally:
        capture.release()
    if frames == 0:
        shutil.rmtree(sequence, ignore_errors=True)
        raise DatasetError(f"{video} has no frame OpenCV can decode.", "Check the file.")
    fps = fps if fps and 0 < fps < 1000 else 30.0
    _place(detections, sequence / "det" / "det.txt")
    _place(groundtruth, sequence / "gt" / "gt.txt")
    summary = {
        "source": marker,
        "sequence": str(sequence),
        "frames": frames,
        "frame_rate": fps,
        "width": size[0],
        "height": size[1],
        "detections": det_rows,
        "groundtruth_boxes": gt_rows,
        "seconds": round(time.perf_counter() - started, 3),
        "complete": True,
    }
    write_json_atomic(sequence / RECORD_FILE, summary)
    text = seqinfo_text(sequence.name, frames, fps, *size)
    write_bytes_atomic(sequence / "seqinfo.ini", text.encode())
    return {**summary, "skipped": False}


def _write_frames(capture, image_dir: Path, video: Path, progress: bool) -> tuple[int, tuple]:
    """Decode frame after frame into img1/000001.jpg ...; frames already there are kept."""
    image_dir.mkdir(parents=True, exist_ok=True)
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    bar = tqdm(total=total, desc=video.name, unit="frame", disable=not progress)
    frames, size = 0, (0, 0)
    try:
        while True:
            ok, image = capture.read()
            if not ok or image is None:
                break
            frames += 1
            size = (image.shape[1], image.shape[0])
            path = image_dir / f"{frames:06d}.jpg"
            if not path.is_file():
                write_jpeg_atomic(path, image, FRAME_QUALITY)
            bar.update(1)
    finally:
        bar.close()
    return frames, size
