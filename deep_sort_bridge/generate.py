"""generate_detections: appearance features for every detection of MOTChallenge sequences.

Output per sequence: `<sequence>.npy`, N x (10 + D) float64 rows, the 10 MOT detection columns
(padded with -1) then the D feature values, in frame order: what deep_sort's
`deep_sort_app.py` and `evaluate_motchallenge.py` read (see the README, "Tracking").

Compared with deep_sort's own tool, frames are decoded and cropped ahead in background threads
and the crops of consecutive frames fill whole encoder batches (the remainder waits for the next
frames), so the encoder is never starved by one frame's few boxes. Detections whose frame image
is missing (real MOT17 files list frames a trimmed copy lacks) or whose box lies outside the
frame are counted and left out, not fatal. deep_sort's tool instead writes 7 + 128 columns for
7-column detection files, which its own tracker then misreads; here rows always have 10.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from core.atomic import write_json_atomic
from core.contract import FEATURE_DIM
from core.errors import DatasetError, ModelError, ReidError
from deep_sort_bridge import mot_io
from deep_sort_bridge.frames import prefetch, read_frame
from encoder.crops import crop_boxes

CropEncoder = Callable[[np.ndarray], np.ndarray]
"""Maps (N, 128, 64, 3) uint8 BGR crops to (N, D) float32 unit features."""

SUMMARY_NAME = "generate_detections.json"


@dataclass
class SequenceStats:
    """What happened to one sequence (written into the JSON summary)."""

    sequence: str
    output: str
    skipped: bool = False
    frames: int = 0  # frames read and encoded
    detections: int = 0  # rows in the detection file
    written: int = 0  # rows in the output file
    missing_frame_detections: int = 0  # rows whose frame image is not there
    missing_frames: int = 0  # distinct frames with detections but no image
    unreadable_frames: list[str] = field(default_factory=list)
    boxes_outside_frame: int = 0  # rows whose box gives no crop
    seconds: float = 0.0

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def encode_detections(
    encode: CropEncoder,
    detections: np.ndarray,
    frames: dict[int, Path],
    batch_size: int = 128,
    workers: int = 2,
    progress: bool = False,
    description: str = "",
    stats: SequenceStats | None = None,
) -> np.ndarray:
    """Features for the detections (N x 10 MOT rows) of one sequence whose frames are `frames`.

    Returns the N' x (10 + D) matrix of the detections that have a frame image and a box inside
    it, sorted by frame (stable, so rows of a frame keep their file order). `stats`, if given,
    receives the counts.
    """
    stats = stats or SequenceStats(sequence=description, output="")
    detections = detections[np.argsort(detections[:, 0], kind="stable")]
    frame_of_row = detections[:, 0].astype(np.int64)
    present = np.isin(frame_of_row, np.fromiter(frames, np.int64, len(frames)))
    stats.detections = len(detections)
    stats.missing_frame_detections = int((~present).sum())
    stats.missing_frames = len(np.unique(frame_of_row[~present]))

    wanted = np.unique(frame_of_row[present])
    starts = np.searchsorted(frame_of_row, wanted, side="left")
    ends = np.searchsorted(frame_of_row, wanted, side="right")
    jobs = list(zip(wanted.tolist(), starts.tolist(), ends.tolist(), strict=True))

    def load(job):
        frame, start, end = job
        image = read_frame(frames[frame])
        if image is None:
            return None
        return crop_boxes(image, detections[start:end, 2:6])

    kept = np.zeros(len(detections), bool)
    features: np.ndarray | None = None
    pending_rows: list[np.ndarray] = []
    pending_crops: list[np.ndarray] = []
    pending_count = 0

    def flush(final: bool = False) -> None:
        """Encode the pending crops in whole batches; the remainder waits unless `final`."""
        nonlocal features, pending_count
        count = pending_count if final else pending_count // batch_size * batch_size
        if not count:
            return
        rows, crops = np.concatenate(pending_rows), np.concatenate(pending_crops)
        output = _checked_features(encode(crops[:count]), count)
        if features is None:
            features = np.zeros((len(detections), output.shape[1]), np.float32)
        features[rows[:count]] = output
        kept[rows[:count]] = True
        pending_rows[:] = [rows[count:]]
        pending_crops[:] = [crops[count:]]
        pending_count -= count

    bar = tqdm(total=len(jobs), desc=description, unit="frame", disable=not progress, leave=True)
    try:
        for (frame, start, end), loaded in prefetch(jobs, load, workers=workers):
            if loaded is None:
                stats.unreadable_frames.append(str(frames[frame]))
                _warn(f"cannot decode {frames[frame]}; its {end - start} detections are skipped.")
            else:
                crops, valid = loaded
                stats.boxes_outside_frame += int((~valid).sum())
                stats.frames += 1
                if valid.any():
                    pending_rows.append(np.arange(start, end)[valid])
                    pending_crops.append(crops[valid])
                    pending_count += int(valid.sum())
                if pending_count >= batch_size:
                    flush()
            bar.update(1)
        flush(final=True)
    finally:
        bar.close()
    dim = features.shape[1] if features is not None else FEATURE_DIM
    chosen = features[kept] if features is not None else np.zeros((0, dim), np.float32)
    matrix = mot_io.detections_with_features(detections[kept], chosen)
    stats.written = len(matrix)
    return matrix


def _checked_features(features, count: int) -> np.ndarray:
    features = np.asarray(features)
    if features.ndim != 2 or features.shape[0] != count:
        raise ModelError(
            f"The encoder returned features of shape {features.shape} for {count} crops.",
            "Use a model with the deep_sort contract: images (N,128,64,3) in, features (N,D) out.",
        )
    if not np.isfinite(features).all():
        raise ModelError(
            "The encoder returned NaN or infinite features.",
            "Check the model file (re-export it from a finished checkpoint).",
        )
    return features


def crop_encoder(
    model: str | None,
    remote: str | None = None,
    api_key: str | None = None,
    backend: str = "auto",
    batch_size: int = 128,
    threads: int | None = None,
    precision: str = "auto",
):
    """The function crops -> features, and a description of it for the summary.

    model: .onnx, .pb or SavedModel, run by `encoder.Encoder`; or remote: the URL of
    `reid serve` (api_key its key). backend, threads, precision: the Encoder's choices.
    batch_size: crops per call.
    """
    if batch_size < 1:
        raise ReidError("--batch-size must be at least 1.", "Pass a positive batch size.")
    if remote and model:
        raise ReidError("Pass either --model or --remote, not both.", "Drop one of them.")
    if remote:
        try:
            from serving.client import EmbeddingClient
        except ImportError as error:
            raise ReidError(
                f"The service client cannot be loaded ({error}).",
                "Install the serving extra: pip install 'reid-deepsort[serve]'.",
            ) from None
        client = EmbeddingClient(remote, api_key=api_key)
        return client.embed, {"model": remote, "backend": "remote"}
    if not model:
        raise ModelError(
            "No appearance model given.",
            "Pass --model model.onnx (or a frozen .pb / SavedModel), or --remote URL of "
            "`reid serve`.",
        )
    from encoder import Encoder

    encoder = Encoder(
        model, backend=backend, batch_size=batch_size, threads=threads, precision=precision
    )
    from encoder.model_card import calibrated_gate

    description = {"model": str(model), "backend": encoder.backend, "precision": encoder.precision}
    gate = calibrated_gate(encoder.model_card)
    if gate is not None:
        description["calibrated_max_cosine_distance"] = gate
    return encoder.encode, description


def detections_model_gate(detections_dir: str | Path) -> tuple[float, str] | None:
    """(gate, model) when the model that wrote DETECTIONS_DIR has a calibrated gate, else None.

    The model's card is read afresh when the model is still where generate-detections found it
    (a calibration run since counts); otherwise the gate recorded in the summary is used.
    """
    from core.outputs import read_json_record
    from encoder.model_card import calibrated_gate, read_model_card

    summary = read_json_record(Path(detections_dir).expanduser() / SUMMARY_NAME) or {}
    model = summary.get("model")
    if not model:
        return None
    gate = calibrated_gate(read_model_card(model)) if Path(model).exists() else None
    if gate is None:
        gate = summary.get("calibrated_max_cosine_distance")
    return (float(gate), str(model)) if gate is not None else None


def generate_detections(
    encode: CropEncoder,
    mot_dir: str | Path,
    output_dir: str | Path,
    detection_dir: str | Path | None = None,
    *,
    overwrite: bool = False,
    batch_size: int = 128,
    workers: int = 2,
    progress: bool = True,
    summary_path: str | Path | None = None,
    extra: dict | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    """Write `<output_dir>/<sequence>.npy` for every sequence of `mot_dir`; return the summary.

    Detections come from `<detection_dir or mot_dir>/<sequence>/det/det.txt`. An existing output
    is kept (and reported as skipped) unless `overwrite`. The summary (totals and one entry per
    sequence, plus `extra`) is also written as JSON to `summary_path`, by default
    `<output_dir>/generate_detections.json`. `log` receives the per-sequence notes.
    """
    sequences = mot_io.list_sequences(mot_dir)
    output_dir = Path(output_dir).expanduser()
    if output_dir.exists() and not output_dir.is_dir():
        raise DatasetError(f"Output path {output_dir} is a file.", "Pass a folder path.")
    output_dir.mkdir(parents=True, exist_ok=True)
    detection_root = Path(detection_dir).expanduser() if detection_dir else None
    if detection_root is not None and not detection_root.is_dir():
        raise DatasetError(
            f"Detection folder {detection_root} does not exist.",
            "Pass a folder laid out as <sequence>/det/det.txt, or leave --detection_dir out to "
            "use the detections inside the MOT folder.",
        )

    started = time.perf_counter()
    results: list[SequenceStats] = []
    for sequence_dir in sequences:
        name = sequence_dir.name
        output = output_dir / f"{name}.npy"
        stats = SequenceStats(sequence=name, output=str(output))
        results.append(stats)
        if output.exists() and not overwrite:
            stats.skipped = True
            log(f"{name}: {output} exists, skipped (pass --overwrite to redo it).")
            continue
        det_path = (detection_root / name if detection_root else sequence_dir) / "det" / "det.txt"
        t0 = time.perf_counter()
        detections = mot_io.read_detections(det_path)
        info = mot_io.read_seqinfo(sequence_dir)
        frames = mot_io.frame_files(info.image_dir)
        if not len(detections):
            _warn(f"{det_path} holds no detections; {output.name} will be empty.")
        elif not frames:
            _warn(f"{info.image_dir} holds no frames; no detection of {name} can be encoded.")
        matrix = encode_detections(
            encode,
            detections,
            frames,
            batch_size=batch_size,
            workers=workers,
            progress=progress,
            description=name,
            stats=stats,
        )
        mot_io.save_npy_atomic(output, matrix)
        stats.seconds = time.perf_counter() - t0
        if stats.missing_frame_detections:
            log(
                f"{name}: {stats.missing_frame_detections} detections on "
                f"{stats.missing_frames} frames without an image were left out."
            )
    summary = _summary(results, time.perf_counter() - started, extra)
    write_json_atomic(summary_path or output_dir / SUMMARY_NAME, summary)
    return summary


def _summary(results: list[SequenceStats], seconds: float, extra: dict | None) -> dict:
    done = [s for s in results if not s.skipped]
    frames = sum(s.frames for s in done)
    work_seconds = sum(s.seconds for s in done)
    detections = sum(s.written for s in done)
    return {
        **(extra or {}),
        "sequences": len(done),
        "skipped_sequences": len(results) - len(done),
        "frames": frames,
        "detections": sum(s.detections for s in done),
        "written": detections,
        "missing_frame_detections": sum(s.missing_frame_detections for s in done),
        "boxes_outside_frame": sum(s.boxes_outside_frame for s in done),
        "unreadable_frames": sum(len(s.unreadable_frames) for s in done),
        "seconds": round(seconds, 3),
        "frames_per_second": round(frames / work_seconds, 2) if work_seconds > 0 else 0.0,
        "detections_per_second": round(detections / work_seconds, 2) if work_seconds > 0 else 0.0,
        "per_sequence": [
            {**asdict(s), "seconds": round(s.seconds, 3), "fps": round(s.frames_per_second, 2)}
            for s in results
        ],
    }
