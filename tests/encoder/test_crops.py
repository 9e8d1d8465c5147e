"""Vectorised crop extraction matches a plain per-box reading of deep_sort's rules."""

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.errors import ReidError
from encoder.crops import crop_boxes, patch_boxes


def one_patch(frame, box, patch_shape=(128, 64)):
    """deep_sort's rules, one box at a time, written out step by step."""
    x, y, w, h = (float(v) for v in box)
    new_w = patch_shape[1] / patch_shape[0] * h
    x -= (new_w - w) / 2
    w = new_w
    x1, y1, x2, y2 = np.array([x, y, x + w, y + h]).astype(np.int64)
    x1, y1 = max(0, x1), max(0, y1)
    x2 = min(frame.shape[1] - 1, x2)
    y2 = min(frame.shape[0] - 1, y2)
    if x1 >= x2 or y1 >= y2:
        return None
    return cv2.resize(frame[y1:y2, x1:x2], (patch_shape[1], patch_shape[0]))


EDGE_BOXES = [
    (10.0, 20.0, 30.0, 80.0),  # inside
    (100.3, 50.7, 41.2, 97.9),  # float coordinates
    (-20.0, -30.0, 40.0, 90.0),  # partly outside top-left
    (180.0, 100.0, 60.0, 120.0),  # partly outside bottom-right
    (300.0, 300.0, 50.0, 100.0),  # fully outside
    (-200.0, -200.0, 50.0, 100.0),  # fully outside, negative
    (50.0, 50.0, 0.0, 0.0),  # zero size
    (50.0, 50.0, -10.0, -20.0),  # negative size
    (50.0, 50.0, 1.0, 2.0),  # one pixel wide after the aspect change
    (50.0, 50.0, 3.0, 5.0),  # tiny
    (0.0, 0.0, 200.0, 150.0),  # the whole frame
    (199.0, 149.0, 5.0, 5.0),  # at the last pixel
    (-0.6, -0.4, 20.0, 40.0),  # truncation toward zero near the border
    (60.0, 40.0, 10.0, 200.0),  # taller than the frame
]


@pytest.fixture(scope="module")
def frame():
    return np.random.default_rng(0).integers(0, 256, (150, 200, 3), dtype=np.uint8)


def test_matches_per_box_rules_on_edge_boxes(frame):
    patches, valid = crop_boxes(frame, np.array(EDGE_BOXES))
    assert patches.shape == (len(EDGE_BOXES), 128, 64, 3) and patches.dtype == np.uint8
    for box, patch, ok in zip(EDGE_BOXES, patches, valid, strict=True):
        expected = one_patch(frame, box)
        assert ok == (expected is not None), box
        if expected is None:
            assert not patch.any(), "skipped boxes get an all-zero patch"
        else:
            np.testing.assert_array_equal(patch, expected, err_msg=str(box))


def test_matches_per_box_rules_on_random_boxes(frame):
    rng = np.random.default_rng(1)
    boxes = np.column_stack(
        [
            rng.uniform(-50, 220, 300),
            rng.uniform(-50, 170, 300),
            rng.uniform(-5, 80, 300),
            rng.uniform(-5, 160, 300),
        ]
    )
    patches, valid = crop_boxes(frame, boxes)
    assert 50 < valid.sum() < 300
    for box, patch, ok in zip(boxes, patches, valid, strict=True):
        expected = one_patch(frame, box)
        assert ok == (expected is not None)
        if ok:
            np.testing.assert_array_equal(patch, expected)


def test_patch_boxes_geometry():
    corners, valid = patch_boxes([[10, 20, 30, 80], [10.0, 0, 1, 1]], (100, 100))
    # Width 40 about centre 25: x from 5 to 45; y 20 to 100, clipped to 99.
    # The second becomes x 10.25..10.75, both truncated to 10: empty.
    np.testing.assert_array_equal(corners[0], [5, 20, 45, 99])
    assert valid.tolist() == [True, False]


def test_non_finite_boxes_are_skipped(frame):
    _, valid = crop_boxes(frame, [[np.nan, 0, 10, 20], [0, 0, np.inf, 20], [0, 0, 10, 20]])
    assert valid.tolist() == [False, False, True]


def test_no_boxes_give_empty_arrays(frame):
    patches, valid = crop_boxes(frame, np.zeros((0, 4)))
    assert patches.shape == (0, 128, 64, 3) and valid.shape == (0,)
    patches, _ = crop_boxes(frame, [])
    assert patches.shape == (0, 128, 64, 3)


@pytest.mark.parametrize(
    ("frame_shape", "dtype", "boxes"),
    [
        ((10, 10), np.uint8, [[0, 0, 5, 5]]),
        ((10, 10, 4), np.uint8, [[0, 0, 5, 5]]),
        ((10, 10, 3), np.float32, [[0, 0, 5, 5]]),
        ((10, 10, 3), np.uint8, [[0, 0, 5]]),
        ((10, 10, 3), np.uint8, [["a", 0, 5, 5]]),
    ],
)
def test_bad_input_gives_clear_error(frame_shape, dtype, boxes):
    with pytest.raises(ReidError):
        crop_boxes(np.zeros(frame_shape, dtype), boxes)


@pytest.mark.realdata
@pytest.mark.skipif(not os.environ.get("REID_REALDATA_DIR"), reason="REID_REALDATA_DIR not set")
def test_matches_per_box_rules_on_real_detections():
    """Public FRCNN detections on real MOT17 frames, including boxes over the border."""
    root = Path(os.environ["REID_REALDATA_DIR"]) / "MOT17-mini" / "train"
    checked = 0
    for sequence in sorted(root.glob("*"))[:3]:
        detections = np.loadtxt(sequence / "det" / "det.txt", delimiter=",", ndmin=2)
        image = sorted((sequence / "img1").glob("*.jpg"))[0]
        frame = cv2.imread(str(image), cv2.IMREAD_COLOR)
        boxes = detections[detections[:, 0] == int(image.stem), 2:6]
        patches, valid = crop_boxes(frame, boxes)
        for box, patch, ok in zip(boxes, patches, valid, strict=True):
            expected = one_patch(frame, box)
            assert ok == (expected is not None)
            if ok:
                np.testing.assert_array_equal(patch, expected)
            checked += 1
    assert checked > 10
