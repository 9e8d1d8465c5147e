"""`reid tune`: the tracker settings that score best on sequences with ground truth.

A grid over deep_sort's `max_cosine_distance`, `max_age`, `n_init` and `max_iou_distance`: every
combination tracks every sequence (from generate-detections' features) and is scored by HOTA and
IDF1 against gt. The grid's gate values default to multiples of the model's calibrated gate when
its card has one (`reid calibrate`), else to values around deep_sort's 0.2. Rows are saved after
each combination, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import asdict, replace
from pathlib import Path

from tqdm import tqdm

from core.atomic import write_json_atomic
from core.errors import DatasetError, ReidError
from core.outputs import read_json_record
from deep_sort_bridge import mot_io
from deep_sort_bridge.tracking import TrackerConfig

RECORD_FILE = "tune.json"
TUNED = ("max_cosine_distance", "max_age", "n_init", "max_iou_distance")
SCORES = ("hota", "idf1", "assa", "deta", "mota", "id_switches")
GATE_FACTORS = (0.5, 0.75, 1.0, 1.5, 2.0)
DEFAULT_GRID = {
    "max_cosine_distance": (0.1, 0.2, 0.3, 0.5),
    "max_age": (15, 30, 60),
    "n_init": (1, 3),
    "max_iou_distance": (0.5, 0.7, 0.9),
}


def default_grid(calibrated_gate: float | None) -> dict:
    """DEFAULT_GRID, with gate values scaled around the model's calibrated gate when known."""
    if calibrated_gate is None:
        return dict(DEFAULT_GRID)
    gates = tuple(round(calibrated_gate * f, 5) for f in GATE_FACTORS)
    return {**DEFAULT_GRID, "max_cosine_distance": gates}


def combinations(grid: dict) -> list[dict]:
    """Every setting of the grid, in a fixed order."""
    return [dict(zip(TUNED, values, strict=True)) for values in itertools.product(*grid.values())]


def load_sequences(mot_dir, detections_dir: Path) -> dict:
    """name -> (detections, gt, frames, length) of the sequences with gt and features."""
    from deep_sort_bridge.sequences import sequence_detections, sequence_length
    from deep_sort_bridge.tracking import frame_range

    found = {}
    for sequence_dir in mot_io.list_sequences(mot_dir):
        gt_path = sequence_dir / "gt" / "gt.txt"
        if not gt_path.is_file() or not (detections_dir / f"{sequence_dir.name}.npy").is_file():
            continue
        detections = sequence_detections(sequence_dir, detections_dir, appearance=True)
        gt = mot_io.read_groundtruth(gt_path)
        info = mot_io.read_seqinfo(sequence_dir)
        frames = frame_range(detections, list(mot_io.frame_files(info.image_dir)))
        found[sequence_dir.name] = (detections, gt, frames, sequence_length(sequence_dir, gt))
    if not found:
        raise DatasetError(
            f"No sequence of {mot_dir} has both gt/gt.txt and features in {detections_dir}.",
            "Run `reid generate-detections` on sequences with ground truth first.",
        )
    return found


def score_setting(sequences: dict, config: TrackerConfig) -> dict:
    """Overall HOTA, IDF1 and co. of tracking every sequence with `config`."""
    from deep_sort_bridge.sequences import score_results
    from deep_sort_bridge.tracking import track_sequence

    inputs = {
        name: (gt, track_sequence(detections, frames, config), length)
        for name, (detections, gt, frames, length) in sequences.items()
    }
    overall = score_results(inputs)["OVERALL"]
    return {key: overall[key] for key in SCORES}


def tune(
    mot_dir: str | Path,
    detections_dir: str | Path,
    output_dir: str | Path,
    grid: dict,
    base: TrackerConfig | None = None,
    by: str = "hota",
    progress: bool = True,
) -> dict:
    """Score every combination of `grid` (TUNED name -> values) and return the record.

    base: the other tracker settings (confidence, NMS, budget; default deep_sort's).
    by: "hota" or "idf1", the score that picks the best row (the other breaks ties).
    Writes OUTPUT/tune.json after each row.
    """
    if by not in ("hota", "idf1"):
        raise ReidError(f"Unknown score {by!r} to tune by.", "Use hota or idf1.")
    base = base or TrackerConfig()
    detections_dir = Path(detections_dir).expanduser()
    output = Path(output_dir).expanduser() / RECORD_FILE
    sequences = load_sequences(mot_dir, detections_dir)
    marker = {
        "mot_dir": str(mot_dir),
        "detections": str(detections_dir),
        "sequences": sorted(sequences),
        "base": {k: v for k, v in asdict(base).items() if k not in TUNED},
    }
    recorded = read_json_record(output) or {}
    done = {
        tuple(row["settings"][k] for k in TUNED): row
        for row in (recorded.get("rows") or [])
        if recorded.get("inputs") == marker
    }
    settings = combinations(grid)
    rows, started = [], time.perf_counter()
    for setting in tqdm(settings, desc="tune", unit="setting", disable=not progress):
        key = tuple(setting[k] for k in TUNED)
        if key not in done:
            done[key] = {"settings": setting, **score_setting(sequences, replace(base, **setting))}
        rows.append(done[key])
        _write(output, marker, grid, by, rows, time.perf_counter() - started)
    return _write(output, marker, grid, by, rows, time.perf_counter() - started)


def best_row(rows: list[dict], by: str) -> dict:
    other = "idf1" if by == "hota" else "hota"
    return max(rows, key=lambda row: (row[by], row[other]))


def _write(output: Path, marker: dict, grid: dict, by: str, rows: list, seconds: float) -> dict:
    record = {
        "inputs": marker,
        "grid": {k: list(v) for k, v in grid.items()},
        "by": by,
        "best": best_row(rows, by),
        "rows": rows,
        "seconds": round(seconds, 2),
    }
    write_json_atomic(output, record)
    return record


def format_rows(rows: list[dict], by: str, top: int = 10) -> str:
    """The best `top` rows as a text table."""
    ordered = sorted(rows, key=lambda r: (r[by], r["idf1" if by == "hota" else "hota"]))[::-1]
    headers = ["gate", "max_age", "n_init", "iou", "HOTA", "IDF1", "AssA", "DetA", "MOTA", "IDs"]
    lines = ["  ".join(f"{h:>8}" for h in headers)]
    for row in ordered[:top]:
        s = row["settings"]
        cells = [f"{s['max_cosine_distance']:g}", str(s["max_age"]), str(s["n_init"]),
                 f"{s['max_iou_distance']:g}"]  # fmt: skip
        cells += [f"{100 * row[k]:.1f}" for k in ("hota", "idf1", "assa", "deta", "mota")]
        cells.append(str(row["id_switches"]))
        lines.append("  ".join(f"{c:>8}" for c in cells))
    return "\n".join(lines)
