"""Retrieval grids and training curves are real pictures; rows follow the protocol's rules."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from core.errors import ReidError
from evaluation.plots import (
    BORDER,
    CAPTION,
    GAP,
    GREEN,
    RED,
    choose_queries,
    plot_training,
    ranked_matches,
    read_metrics,
    retrieval_grid,
    training_curves_png,
    write_png,
)


def test_ranked_matches_skip_junk_and_same_camera_same_identity():
    distances = np.array([0.1, 0.2, 0.3, 0.4, 0.2, 0.6])
    ids = np.array([7, -1, 7, 0, 3, 7])
    cams = np.array([1, 2, 2, 1, 1, 1])
    # Query identity 7 from camera 1: entries 0 and 5 (same camera) and 1 (junk) drop out;
    # 4 ties with the junk entry and keeps its place before 2 (gallery order).
    assert ranked_matches(distances, 7, 1, ids, cams, top_k=10).tolist() == [4, 2, 3]
    assert ranked_matches(distances, 7, 1, ids, cams, top_k=2).tolist() == [4, 2]


def test_choose_queries_spreads_and_caps():
    assert choose_queries(3, 8).tolist() == [0, 1, 2]
    picked = choose_queries(100, 5)
    assert picked.tolist() == [0, 25, 50, 74, 99]


def test_grid_has_one_row_per_query_with_coloured_borders(tmp_path):
    paths = []
    for i, colour in enumerate([(0, 0, 0), (200, 200, 200), (90, 90, 90)]):
        path = tmp_path / f"{i}.png"
        cv2.imwrite(str(path), np.full((128, 64, 3), colour, np.uint8))
        paths.append(str(path))
    gallery_paths = np.array([paths[1], paths[2], str(tmp_path / "missing.png")])
    distances = np.array([[0.5, 0.1, 0.3], [0.2, 0.4, 0.9]], dtype=np.float32)
    image = retrieval_grid(
        np.array([paths[0], paths[0]]),
        np.array([1, 2]),
        np.array([1, 1]),
        gallery_paths,
        np.array([1, 2, 0]),
        np.array([2, 2, 3]),
        distances,
        np.array([0, 1]),
        top_k=3,
        scale=1.0,
    )
    cell_w, cell_h = 64 + 2 * BORDER, 128 + 2 * BORDER + CAPTION
    assert image.shape == (2 * cell_h + BORDER, 4 * cell_w + GAP, 3) and image.dtype == np.uint8
    # Row 0 (identity 1): gallery 1 (wrong), 2 (distractor: wrong), 0 (right).
    first_match_border = image[0, cell_w + GAP + 1]
    last_match_border = image[0, 3 * cell_w + GAP + 1]
    assert tuple(first_match_border) == RED and tuple(last_match_border) == GREEN
    out = tmp_path / "grid.png"
    write_png(out, image)
    decoded = cv2.imread(str(out))
    assert decoded is not None and decoded.shape == image.shape


def test_training_curves_png_decodes(tmp_path):
    records = [
        {"step": s, "loss": 5 - s / 100, "accuracy": s / 400, "kappa": 1 + s / 100}
        for s in (10, 20, 30)
    ]
    records[-1]["validation_rank1"] = 0.4
    png = training_curves_png(records, title="run", chance_rank1=0.1)
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (700, 1000, 3)


def test_read_metrics_keeps_last_record_per_step_and_skips_broken_lines(tmp_path):
    log = tmp_path / "metrics.jsonl"
    lines = [
        {"step": 10, "loss": 3.0},
        {"step": 20, "loss": 2.0},
        {"step": 20, "loss": 1.5},  # the resumed run's record
    ]
    log.write_text("\n".join(json.dumps(r) for r in lines) + '\n{"step": 30, "lo')
    records = read_metrics(log)
    assert [(r["step"], r["loss"]) for r in records] == [(10, 3.0), (20, 1.5)]
    with pytest.raises(ReidError, match="no training log"):
        read_metrics(tmp_path / "absent.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(ReidError, match="no logged steps"):
        read_metrics(tmp_path / "empty.jsonl")


def test_plot_training_writes_png_of_a_run(tmp_path):
    (tmp_path / "metrics.jsonl").write_text(
        "\n".join(
            json.dumps({"step": s, "loss": 1.0 / s, "accuracy": 0.1, "kappa": 2.0}) for s in (1, 2)
        )
    )
    (tmp_path / "summary.json").write_text('{"chance_rank1": 0.05}')
    assert plot_training(tmp_path, tmp_path / "curves.png") == 2
    assert cv2.imread(str(tmp_path / "curves.png")).shape == (700, 1000, 3)
    with pytest.raises(ReidError, match="No run directory"):
        plot_training(tmp_path / "nope", tmp_path / "x.png")
