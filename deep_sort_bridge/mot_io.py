"""MOTChallenge files: sequences, frames, seqinfo.ini, detection, ground-truth and result files.

Layout (the MOTChallenge convention): a MOT folder holds one folder per sequence with
`img1/000001.jpg ...`, `seqinfo.ini`, `det/det.txt` and optionally `gt/gt.txt`. Text files are
comma separated, one box per line, frame numbers 1-based. Every reader checks what it reads and
names the file, the line and the fix when something is wrong.
"""

from __future__ import annotations

import configparser
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.atomic import write_bytes_atomic
from core.contract import FEATURE_DIM
from core.errors import DatasetError
from core.io import IMAGE_EXTENSIONS, npy_bytes

DETECTION_COLUMNS = 10  # frame, id, x, y, w, h, confidence, x, y, z (world, -1 when unknown)
GROUNDTRUTH_COLUMNS = 9  # frame, id, x, y, w, h, consider, class, visibility
RESULT_FORMAT = "%d,%d,%.2f,%.2f,%.2f,%.2f,1,-1,-1,-1"
_NUMBER_SPLIT = re.compile(r"\s*,\s*|\s+")


@dataclass(frozen=True)
class SequenceInfo:
    """What `seqinfo.ini` says about a sequence; `None` where the file does not say it.

    `length` is the published sequence length: a trimmed copy can ship fewer frames.
    """

    name: str
    directory: Path
    image_dir: Path
    frame_rate: float | None = None
    length: int | None = None
    width: int | None = None
    height: int | None = None
    image_ext: str | None = None


def is_sequence(directory: Path) -> bool:
    """A sequence folder has an `img1/` (frames) or a `det/det.txt` (detections)."""
    return (directory / "img1").is_dir() or (directory / "det" / "det.txt").is_file()


def list_sequences(mot_dir: str | Path) -> list[Path]:
    """The sequence folders of a MOT folder, sorted by name; a sequence folder is its own list."""
    mot_dir = Path(mot_dir).expanduser()
    if not mot_dir.is_dir():
        raise DatasetError(
            f"MOT folder {mot_dir} does not exist or is not a folder.",
            "Pass the folder holding the sequences (e.g. MOT17/train), or write a synthetic one "
            f"with `reid synth mot {mot_dir}`.",
        )
    if is_sequence(mot_dir):
        return [mot_dir]
    sequences = sorted(p for p in mot_dir.iterdir() if p.is_dir() and is_sequence(p))
    if not sequences:
        nested = [p for p in sorted(mot_dir.iterdir()) if p.is_dir() and _holds_sequences(p)]
        hint = f" It looks like they are in {nested[0]}: pass that folder." if nested else ""
        raise DatasetError(
            f"{mot_dir} holds no MOTChallenge sequence (a folder with img1/ or det/det.txt).",
            f"Pass the folder holding the sequences (e.g. MOT17/train).{hint}",
        )
    return sequences


def _holds_sequences(directory: Path) -> bool:
    try:
        return any(p.is_dir() and is_sequence(p) for p in directory.iterdir())
    except OSError:
        return False


def read_seqinfo(sequence_dir: str | Path) -> SequenceInfo:
    """Read `seqinfo.ini` if present (missing fields stay None); a broken file raises."""
    sequence_dir = Path(sequence_dir)
    path = sequence_dir / "seqinfo.ini"
    if not path.is_file():
        return SequenceInfo(sequence_dir.name, sequence_dir, sequence_dir / "img1")
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as error:
        raise DatasetError(
            f"{path} is not a valid seqinfo.ini: {str(error).splitlines()[0]}",
            "Fix the file (a [Sequence] section with name=, frameRate=, seqLength=, imWidth=, "
            "imHeight=, imExt=) or delete it.",
        ) from None
    if not parser.has_section("Sequence"):
        raise DatasetError(
            f"{path} has no [Sequence] section.",
            "Fix the file (see any MOTChallenge sequence) or delete it.",
        )
    section = parser["Sequence"]

    def number(key: str, kind):
        text = section.get(key)
        if text is None or not text.strip():
            return None
        try:
            value = kind(float(text))
        except ValueError:
            raise DatasetError(
                f"{path}: {key}={text!r} is not a number.", f"Fix {key} in the file."
            ) from None
        if value <= 0:
            raise DatasetError(f"{path}: {key}={text!r} must be positive.", f"Fix {key}.")
        return value

    image_dir = sequence_dir / (section.get("imDir") or "img1").strip()
    return SequenceInfo(
        name=(section.get("name") or sequence_dir.name).strip(),
        directory=sequence_dir,
        image_dir=image_dir,
        frame_rate=number("frameRate", float),
        length=number("seqLength", int),
        width=number("imWidth", int),
        height=number("imHeight", int),
        image_ext=(section.get("imExt") or "").strip() or None,
    )


def frame_files(image_dir: str | Path) -> dict[int, Path]:
    """Frame number -> image file for the numbered images (000001.jpg ...) in a folder."""
    image_dir = Path(image_dir)
    if not image_dir.is_dir():
        return {}
    frames = {}
    for path in image_dir.iterdir():
        if path.suffix.lower() in IMAGE_EXTENSIONS and path.stem.isdigit():
            frames[int(path.stem)] = path
    return dict(sorted(frames.items()))


def parse_table(text: str, source: str, min_columns: int, what: str, fix: str) -> np.ndarray:
    """Numbers of a comma-separated MOT text file as a float64 matrix, with clear errors.

    Blank lines are skipped. Every row must have the same number of columns, at least
    `min_columns`, all finite numbers; the first offending line is named.
    """
    if not text.strip():
        return np.zeros((0, min_columns))
    try:
        table = np.loadtxt(io.StringIO(text), delimiter=",", ndmin=2, dtype=np.float64)
    except ValueError:
        table = None
    if table is None or (table.size and not np.isfinite(table).all()):
        _raise_first_bad_line(text, source, what, fix)
    if table.shape[1] < min_columns:
        raise DatasetError(
            f"{source} has {table.shape[1]} columns; {what} need at least {min_columns}.", fix
        )
    return table


def _raise_first_bad_line(text: str, source: str, what: str, fix: str) -> None:
    columns = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = [f for f in _NUMBER_SPLIT.split(line.strip()) if f]
        if "," not in line:
            problem = "is not comma separated"
        else:
            try:
                values = [float(f) for f in line.split(",")]
            except ValueError:
                problem = "has a field that is not a number"
            else:
                problem = None if np.isfinite(values).all() else "has a NaN or infinite value"
                if problem is None and columns is not None and len(values) != columns:
                    problem = f"has {len(values)} columns where earlier lines have {columns}"
                columns = columns or len(values)
        if problem is not None:
            shown = line.strip() if len(line) < 80 else line.strip()[:77] + "..."
            raise DatasetError(
                f"{source} line {number} {problem}: {shown!r} ({len(fields)} fields). "
                f"{what.capitalize()} are comma-separated numbers, one box per line.",
                fix,
            )
    raise DatasetError(f"{source} could not be read as {what}.", fix)


def _read_text(path: Path, what: str, fix: str) -> str:
    if not path.is_file():
        raise DatasetError(f"{what.capitalize()} file {path} does not exist.", fix)
    try:
        return path.read_text(encoding="utf-8", errors="strict")
    except (OSError, UnicodeDecodeError) as error:
        raise DatasetError(f"Cannot read {path}: {error}.", fix) from None


def pad_columns(table: np.ndarray, columns: int, fill: float = -1.0) -> np.ndarray:
    """The first `columns` columns of a table, padding missing ones with `fill`."""
    out = np.full((len(table), columns), fill, np.float64)
    keep = min(columns, table.shape[1])
    out[:, :keep] = table[:, :keep]
    return out


def check_boxes_and_frames(table: np.ndarray, source: str, what: str) -> None:
    """Frame numbers must be whole and >= 1; widths and heights must not be negative."""
    if not len(table):
        return
    frames = table[:, 0]
    bad = np.flatnonzero((frames < 1) | (frames != np.round(frames)))
    if bad.size:
        raise DatasetError(
            f"{source}: row {bad[0] + 1} has frame {frames[bad[0]]:g}; {what} need whole frame "
            "numbers from 1.",
            "MOTChallenge frames are 1-based: fix the first column.",
        )
    bad = np.flatnonzero((table[:, 4] < 0) | (table[:, 5] < 0))
    if bad.size:
        row = table[bad[0]]
        raise DatasetError(
            f"{source}: row {bad[0] + 1} has a negative box size ({row[4]:g} x {row[5]:g}).",
            "Boxes are x, y, width, height in pixels (columns 3-6): fix the box.",
        )


def read_detections(path: str | Path) -> np.ndarray:
    """A `det.txt` as an (N, 10) float64 matrix; 7-column files get -1 in columns 8-10."""
    path = Path(path)
    fix = (
        "Detection files have one line per box: frame, id, x, y, width, height, confidence "
        "(7 columns, or 10 with world coordinates -1,-1,-1)."
    )
    table = parse_table(_read_text(path, "detection", fix), str(path), 7, "detections", fix)
    check_boxes_and_frames(table, str(path), "detections")
    return pad_columns(table, DETECTION_COLUMNS)


def read_groundtruth(path: str | Path) -> np.ndarray:
    """A `gt.txt` as an (N, 9) float64 matrix (frame, id, x, y, w, h, consider, class, vis).

    Files with 6 columns count every box; MOT15-style files whose 8th column is -1 (no class)
    are read as pedestrians with visibility 1.
    """
    path = Path(path)
    fix = (
        "Ground truth has one line per box: frame, id, x, y, width, height, consider flag, "
        "class, visibility (MOT16/17) or at least the first six of them."
    )
    table = parse_table(_read_text(path, "ground-truth", fix), str(path), 6, "ground truth", fix)
    check_boxes_and_frames(table, str(path), "ground truth")
    gt = pad_columns(table, GROUNDTRUTH_COLUMNS, fill=1.0)
    if table.shape[1] >= 10 or (table.shape[1] >= 8 and len(gt) and (gt[:, 7] == -1).all()):
        gt[:, 7:9] = 1.0  # MOT15: columns 8-10 are world coordinates, not class/visibility
    return gt


def read_results(path: str | Path) -> np.ndarray:
    """A tracker's result file as an (N, 6) float64 matrix (frame, id, x, y, w, h)."""
    path = Path(path)
    fix = "Tracking results have one line per box: frame, id, x, y, width, height, 1, -1, -1, -1."
    table = parse_table(_read_text(path, "result", fix), str(path), 6, "tracking results", fix)
    check_boxes_and_frames(table, str(path), "tracking results")
    return table[:, :6].copy()


def format_results(rows: np.ndarray) -> bytes:
    """Result rows (frame, id, x, y, w, h) as MOTChallenge text `frame,id,x,y,w,h,1,-1,-1,-1`."""
    rows = np.asarray(rows, np.float64).reshape(-1, 6)
    buffer = io.StringIO()
    if len(rows):
        np.savetxt(buffer, rows, fmt=RESULT_FORMAT)
    return buffer.getvalue().encode()


def write_results(path: str | Path, rows: np.ndarray) -> None:
    """Atomically write tracking results in the MOTChallenge format."""
    write_bytes_atomic(path, format_results(rows))


def detections_with_features(rows: np.ndarray, features: np.ndarray) -> np.ndarray:
    """The generate_detections matrix: 10 MOT columns then the features (N x 138, float64)."""
    rows = pad_columns(np.atleast_2d(np.asarray(rows, np.float64)), DETECTION_COLUMNS)
    features = np.atleast_2d(np.asarray(features, np.float64))
    if len(rows) != len(features):
        raise ValueError(f"{len(rows)} detections but {len(features)} feature rows")
    return np.concatenate([rows, features], axis=1)


def save_npy_atomic(path: str | Path, array: np.ndarray) -> None:
    """Write an array as `.npy` (no pickles) atomically."""
    write_bytes_atomic(path, npy_bytes(array))


def load_detection_matrix(path: str | Path) -> np.ndarray:
    """Read a generate_detections `.npy` (N x (10 + D)) and check its shape."""
    path = Path(path)
    fix = "Create it with `reid generate-detections --model MODEL --mot_dir DIR --output_dir OUT`."
    if not path.is_file():
        raise DatasetError(f"Detection file {path} does not exist.", fix)
    try:
        matrix = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DatasetError(f"{path} is not a readable .npy file: {error}.", fix) from None
    if matrix.ndim != 2 or (matrix.size and matrix.shape[1] <= DETECTION_COLUMNS):
        raise DatasetError(
            f"{path} has shape {matrix.shape}; expected N x (10 + feature dimension), "
            "e.g. N x 138, as generate_detections writes.",
            fix,
        )
    if matrix.size == 0:
        return np.zeros((0, DETECTION_COLUMNS + FEATURE_DIM))
    return matrix.astype(np.float64, copy=False)
