"""Loops over the sequences of a MOTChallenge folder: track each, or score each against gt.

The command line (`reid track`, `reid mot-eval`) and the benchmark scripts share these, so a
sequence is read, tracked, written and scored the same way everywhere.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from core.atomic import write_json_atomic
from core.errors import DatasetError
from deep_sort_bridge import mot_io

MOT_CONVENTIONS = (
    "MOTChallenge: results matched to distractor classes (2, 7, 8, 12) are removed; "
    "only class-1 boxes with consider flag 1 are scored; IoU >= 0.5 to match; "
    "MOTP is the mean IoU of matches; HOTA, DetA, AssA and LocA are TrackEval's, "
    "averaged over its 19 IoU thresholds."
)


def score_columns() -> tuple:
    """The table columns of `score_results`: HOTA, DetA, AssA, LocA, then MOTA, IDF1, ..."""
    from deep_sort_bridge import metrics
    from deep_sort_bridge.hota import HOTA_METRICS

    return tuple((key, header, "percent") for _, key, header in HOTA_METRICS[:4]) + metrics.COLUMNS


def score_results(sequences: dict[str, tuple[np.ndarray, np.ndarray, int]]) -> dict:
    """All MOT scores per sequence and over all ("OVERALL") from (gt, results, frames) each.

    frames: the sequence length (seqinfo's seqLength, or the last frame of gt and results).
    """
    from deep_sort_bridge import hota, metrics

    scores = metrics.score({n: metrics.accumulate(g, r) for n, (g, r, _) in sequences.items()})
    hota_scores = hota.score_hota(
        {n: hota.sequence_data(g, r, frames) for n, (g, r, frames) in sequences.items()}
    )
    return {name: {**hota_scores[name], **values} for name, values in scores.items()}


def sequence_length(sequence_dir: Path, *rows: np.ndarray) -> int:
    """seqinfo.ini's seqLength, or (if missing or shorter) the last frame of the given rows."""
    last = max((int(r[:, 0].max()) for r in rows if len(r)), default=0)
    return max(mot_io.read_seqinfo(sequence_dir).length or 0, last)


def sequence_detections(sequence_dir: Path, detections_dir: Path | None, appearance: bool):
    """The detection rows to track: generate-detections' .npy, or det/det.txt without features."""
    if detections_dir is not None:
        matrix = mot_io.load_detection_matrix(detections_dir / f"{sequence_dir.name}.npy")
        if appearance and matrix.shape[1] <= mot_io.DETECTION_COLUMNS:
            raise DatasetError(
                f"{detections_dir / sequence_dir.name}.npy has no feature columns.",
                "Run `reid generate-detections` to add them, or track with --appearance off.",
            )
        return matrix
    if appearance:
        raise DatasetError(
            "Tracking with appearance needs the features of generate-detections.",
            "Pass --detections DIR (the --output_dir of `reid generate-detections`), or "
            "track with --appearance off to use det/det.txt alone.",
        )
    return mot_io.read_detections(sequence_dir / "det" / "det.txt")


def track_sequences(
    mot_dir: str | Path,
    output_dir: str | Path,
    config,
    detections_dir: str | Path | None = None,
    render_dir: str | Path | None = None,
    progress: bool = True,
    log=print,
) -> dict:
    """Track every sequence of `mot_dir`; writes OUTPUT/<sequence>.txt and OUTPUT/track.json.

    config: a `TrackerConfig`. detections_dir: generate-detections' output (None: det/det.txt,
    overlap only). render_dir: also draw the tracks there. Returns what track.json holds.
    """
    from deep_sort_bridge.tracking import frame_range, track_sequence

    sequences = mot_io.list_sequences(mot_dir)
    detections_dir = Path(detections_dir).expanduser() if detections_dir else None
    if detections_dir is not None and not detections_dir.is_dir():
        raise DatasetError(
            f"Detections folder {detections_dir} does not exist.",
            "Pass the --output_dir of `reid generate-detections`.",
        )
    output_dir = Path(output_dir).expanduser()
    if output_dir.exists() and not output_dir.is_dir():
        raise DatasetError(f"Output path {output_dir} is a file.", "Pass a folder path.")
    entries = []
    for sequence_dir in sequences:
        started = time.perf_counter()
        detections = sequence_detections(sequence_dir, detections_dir, config.appearance)
        info = mot_io.read_seqinfo(sequence_dir)
        frames = frame_range(detections, list(mot_io.frame_files(info.image_dir)))
        results = track_sequence(detections, frames, config)
        path = output_dir / f"{sequence_dir.name}.txt"
        mot_io.write_results(path, results)
        seconds = time.perf_counter() - started
        entry = {
            "sequence": sequence_dir.name,
            "results": str(path),
            "frames": len(frames),
            "detections": len(detections),
            "tracks": len(np.unique(results[:, 1])),
            "boxes": len(results),
            "seconds": round(seconds, 3),
            "frames_per_second": round(len(frames) / seconds, 1) if seconds > 0 else 0.0,
        }
        if render_dir:
            from deep_sort_bridge.render import render_sequence

            entry["render"] = render_sequence(sequence_dir, results, render_dir, progress=progress)
        entries.append(entry)
        log(
            f"{sequence_dir.name}: {entry['tracks']} tracks, {entry['boxes']} boxes over "
            f"{entry['frames']} frames -> {path}"
        )
    record = {"config": asdict(config), "sequences": entries}
    write_json_atomic(output_dir / "track.json", record)
    return record


def score_sequences(
    mot_dir: str | Path,
    results_dir: str | Path,
    output: str | Path | None = None,
    render_dir: str | Path | None = None,
    progress: bool = True,
) -> dict:
    """Score RESULTS/<sequence>.txt against each sequence's gt/gt.txt; writes the JSON report.

    output: the report's path (default RESULTS/mot_eval.json). render_dir: also draw the
    scored tracks there. Sequences without ground truth or without results are named in the
    report's `unscored` and left out; none scorable is an error.
    """
    results_dir = Path(results_dir).expanduser()
    if not results_dir.is_dir():
        raise DatasetError(
            f"Results folder {results_dir} does not exist.",
            "Pass the --output_dir of `reid track` (it holds <sequence>.txt files).",
        )
    inputs, missing, no_gt = {}, [], []
    results_of = {}
    for sequence_dir in mot_io.list_sequences(mot_dir):
        gt_path = sequence_dir / "gt" / "gt.txt"
        result_path = results_dir / f"{sequence_dir.name}.txt"
        if not gt_path.is_file():
            no_gt.append(sequence_dir.name)
            continue
        if not result_path.is_file():
            missing.append(sequence_dir.name)
            continue
        results = mot_io.read_results(result_path)
        gt = mot_io.read_groundtruth(gt_path)
        inputs[sequence_dir.name] = (gt, results, sequence_length(sequence_dir, gt, results))
        results_of[sequence_dir] = results
    if no_gt:
        print(f"warning: no gt/gt.txt in {', '.join(no_gt)}; not scored.", file=sys.stderr)
    if missing:
        print(
            f"warning: no results for {', '.join(missing)} in {results_dir}; not scored.",
            file=sys.stderr,
        )
    if not inputs:
        raise DatasetError(
            f"Nothing to score: no sequence of {mot_dir} has both ground truth and a "
            f"result file in {results_dir}.",
            "Run `reid track` on sequences with gt/gt.txt (e.g. MOT17/train) first.",
        )
    report = {
        "mot_dir": str(mot_dir),
        "results": str(results_dir),
        "scores": score_results(inputs),
        "unscored": {"no_groundtruth": no_gt, "no_results": missing},
        "conventions": MOT_CONVENTIONS,
    }
    if render_dir:
        from deep_sort_bridge.render import render_sequence

        report["render"] = {
            d.name: render_sequence(d, r, render_dir, progress=progress)
            for d, r in results_of.items()
        }
    output = Path(output) if output else results_dir / "mot_eval.json"
    write_json_atomic(output, report)
    report["output"] = str(output)
    return report
