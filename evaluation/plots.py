"""Pictures: ranked-retrieval grids (OpenCV) and training curves (matplotlib, Agg canvas).

Grid: one row per query, the query image first, then its top gallery matches in rank order
with a green border for the right identity and red for a wrong one (distractors are wrong),
and the distance written under each. Gallery entries the protocol ignores for that query
(junk, and the query identity seen by the query's camera) are skipped, so the row shows the
ranking that was scored. For MARS, each tracklet is shown by its middle image.

Curves: loss, accuracy, kappa (cosine-softmax scale) and validation rank-1 of a run, from
RUN/metrics.jsonl (the last record of a step wins, so resumed runs plot once).
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import cv2
import numpy as np

from core.atomic import write_bytes_atomic
from core.errors import ReidError
from ranking import JUNK_IDENTITY

GREEN = (40, 170, 40)
RED = (40, 40, 220)
QUERY_COLOUR = (160, 110, 30)
BACKGROUND = (255, 255, 255)
TEXT = (30, 30, 30)
CELL_SIZE = (64, 128)  # width, height of an image inside its border
BORDER = 4
CAPTION = 18
GAP = 16  # between the query and its matches


def choose_queries(num_query: int, count: int) -> np.ndarray:
    """`count` query indices spread evenly over all queries (all of them when fewer)."""
    if num_query <= count:
        return np.arange(num_query)
    return np.unique(np.linspace(0, num_query - 1, count).round().astype(np.int64))


def ranked_matches(
    distances: np.ndarray,
    query_id: int,
    query_cam: int,
    gallery_ids: np.ndarray,
    gallery_cams: np.ndarray,
    top_k: int,
) -> np.ndarray:
    """Gallery indices of the query's `top_k` ranked entries, ignored entries skipped.

    Ties keep gallery order, as in `evaluate_ranking`.
    """
    ignored = (gallery_ids == JUNK_IDENTITY) | (
        (gallery_ids == query_id) & (gallery_cams == query_cam)
    )
    order = np.argsort(distances, kind="stable")
    return order[~ignored[order]][:top_k]


def _read_cell(path: str, size: tuple[int, int]) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        return np.full((size[1], size[0], 3), 128, np.uint8)
    return cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)


def _cell(image: np.ndarray, colour, caption: str, size: tuple[int, int]) -> np.ndarray:
    width, height = size
    cell = np.full((height + 2 * BORDER + CAPTION, width + 2 * BORDER, 3), BACKGROUND, np.uint8)
    cell[: height + 2 * BORDER] = colour
    cell[BORDER : BORDER + height, BORDER : BORDER + width] = image
    scale = 0.35 * width / CELL_SIZE[0]
    (text_w, text_h), _ = cv2.getTextSize(caption, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    origin = (max((cell.shape[1] - text_w) // 2, 0), height + 2 * BORDER + (CAPTION + text_h) // 2)
    cv2.putText(cell, caption, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, TEXT, 1, cv2.LINE_AA)
    return cell


def retrieval_grid(
    query_paths: np.ndarray,
    query_ids: np.ndarray,
    query_cams: np.ndarray,
    gallery_paths: np.ndarray,
    gallery_ids: np.ndarray,
    gallery_cams: np.ndarray,
    distances: np.ndarray,
    query_indices: np.ndarray,
    top_k: int = 10,
    scale: float = 2.0,
) -> np.ndarray:
    """The grid as a BGR uint8 image; `distances` is the (queries x gallery) ranking."""
    size = (round(CELL_SIZE[0] * scale), round(CELL_SIZE[1] * scale))
    cell_w = size[0] + 2 * BORDER
    cell_h = size[1] + 2 * BORDER + CAPTION
    rows = []
    for q in query_indices:
        row = np.full((cell_h, cell_w * (top_k + 1) + GAP, 3), BACKGROUND, np.uint8)
        caption = f"ID {query_ids[q]} c{query_cams[q]}"
        row[:, :cell_w] = _cell(_read_cell(query_paths[q], size), QUERY_COLOUR, caption, size)
        matches = ranked_matches(
            distances[q], query_ids[q], query_cams[q], gallery_ids, gallery_cams, top_k
        )
        for rank, g in enumerate(matches):
            right = gallery_ids[g] == query_ids[q] and gallery_ids[g] > 0
            colour = GREEN if right else RED
            cell = _cell(_read_cell(gallery_paths[g], size), colour, f"{distances[q, g]:.3f}", size)
            left = cell_w * (rank + 1) + GAP
            row[:, left : left + cell_w] = cell
        rows.append(row)
    if not rows:
        raise ReidError("There are no queries to draw.", "Evaluate a dataset with queries.")
    spacer = np.full((BORDER, rows[0].shape[1], 3), BACKGROUND, np.uint8)
    return np.concatenate([part for row in rows for part in (row, spacer)][:-1])


def write_png(path: str | Path, image: np.ndarray) -> None:
    """Encode a BGR image as PNG and write it atomically."""
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise ReidError(f"Could not encode the picture for {path}.", "Check the image size.")
    write_bytes_atomic(path, data.tobytes())


# --------------------------------------------------------------------------------------------
# Training curves
# --------------------------------------------------------------------------------------------

CURVES = (
    ("loss", "loss"),
    ("accuracy", "training accuracy"),
    ("kappa", "kappa (softmax scale)"),
    ("validation_rank1", "validation rank-1"),
)


def read_metrics(path: str | Path) -> list[dict]:
    """Records of a run's metrics.jsonl sorted by step, the last record of each step kept."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        raise ReidError(
            f"There is no training log at {path}.",
            "Pass the run directory written by `reid train` (it holds metrics.jsonl).",
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ReidError(f"Cannot read {path}: {error}.", "Check the file.") from None
    by_step: dict[int, dict] = {}
    for line in lines:
        try:
            record = json.loads(line)
            by_step[int(record["step"])] = record
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by an interrupted run, or blank
    if not by_step:
        raise ReidError(
            f"{path} holds no logged steps.", "Train for at least --log-every steps first."
        )
    return [by_step[step] for step in sorted(by_step)]


def training_curves_png(records: list[dict], title: str = "", chance_rank1=None) -> bytes:
    """A 2 x 2 figure of the logged curves as PNG bytes (panels without data say so)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 7), dpi=100)
    FigureCanvasAgg(figure)
    for index, (key, label) in enumerate(CURVES):
        axes = figure.add_subplot(2, 2, index + 1)
        points = [(r["step"], r[key]) for r in records if isinstance(r.get(key), int | float)]
        if points:
            steps, values = zip(*points, strict=True)
            marker = "o" if key == "validation_rank1" else None
            axes.plot(steps, values, marker=marker, markersize=3, linewidth=1.2)
        else:
            axes.text(0.5, 0.5, "not logged", ha="center", va="center", transform=axes.transAxes)
        if key == "validation_rank1" and chance_rank1 is not None:
            axes.axhline(chance_rank1, color="grey", linestyle="--", linewidth=1, label="chance")
            axes.legend(loc="lower right")
        axes.set_title(label)
        axes.set_xlabel("step")
        axes.grid(alpha=0.3)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def plot_training(run_dir: str | Path, output: str | Path) -> int:
    """Write the training curves of `run_dir` to `output`; returns the number of steps drawn."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ReidError(f"No run directory at {run_dir}.", "Pass the --output-dir of `reid train`.")
    records = read_metrics(run_dir / "metrics.jsonl")
    chance = None
    with contextlib.suppress(OSError, ValueError, AttributeError):
        chance = json.loads((run_dir / "summary.json").read_text()).get("chance_rank1")
    png = training_curves_png(
        records, title=f"{run_dir.name}: {records[-1]['step']} steps", chance_rank1=chance
    )
    write_bytes_atomic(output, png)
    return len(records)
