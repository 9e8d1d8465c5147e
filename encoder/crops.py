"""deep_sort's crop semantics: boxes (x, y, w, h) to 128 x 64 BGR patches.

Rules of `extract_image_patch` in deep_sort's tools/generate_detections.py: keep the box height,
set the width to height * 64 / 128 about the same centre, convert to corners (x1, y1, x2, y2),
truncate to integers (`astype(int)`), clip the top-left to 0 and the bottom-right to
(width - 1, height - 1), skip the box when x1 >= x2 or y1 >= y2, and resize
frame[y1:y2, x1:x2] to 64 x 128 with OpenCV's default bilinear interpolation.

A skipped box gets an all-zero (black) patch and `valid = False`. deep_sort fills random noise
instead; a fixed patch makes every run reproducible, and callers can drop the rows by `valid`.
Boxes with non-finite coordinates are skipped too.
"""

from __future__ import annotations

import cv2
import numpy as np

from core.contract import PATCH_SHAPE
from core.errors import ReidError
from core.images import resize_to_patch


class InputError(ReidError):
    """Images, crops or boxes handed to the encoder have the wrong shape, type or values."""


def patch_boxes(
    boxes_tlwh, image_size: tuple[int, int], patch_shape: tuple[int, int] = PATCH_SHAPE
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel corners of each box's patch and whether it is non-empty.

    `image_size` is (height, width) of the frame. Returns (N, 4) int64 (x1, y1, x2, y2), with
    x2/y2 exclusive slice ends, and an (N,) bool mask of boxes that give a patch.
    """
    boxes = np.asarray(boxes_tlwh, dtype=np.float64).reshape(-1, 4)
    height, width = image_size
    finite = np.isfinite(boxes).all(axis=1)
    boxes = np.where(finite[:, None], boxes, 0.0)

    new_width = patch_shape[1] / patch_shape[0] * boxes[:, 3]
    x1 = boxes[:, 0] - (new_width - boxes[:, 2]) / 2
    y1 = boxes[:, 1]
    corners = np.stack([x1, y1, x1 + new_width, y1 + boxes[:, 3]], axis=1)
    # Out-of-range floats would wrap when cast; the clip below makes the bound irrelevant.
    corners = np.clip(corners, -(2.0**62), 2.0**62).astype(np.int64)

    corners[:, :2] = np.maximum(corners[:, :2], 0)
    corners[:, 2] = np.minimum(corners[:, 2], width - 1)
    corners[:, 3] = np.minimum(corners[:, 3], height - 1)
    valid = finite & (corners[:, 0] < corners[:, 2]) & (corners[:, 1] < corners[:, 3])
    return corners, valid


def check_frame(frame) -> np.ndarray:
    """The frame as an (H, W, 3) uint8 array, or a clear error."""
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise InputError(
            f"A frame must be an H x W x 3 uint8 BGR image; got shape {frame.shape} "
            f"and dtype {frame.dtype}.",
            "Pass the image as cv2.imread returns it (colour, 8 bit).",
        )
    return frame


def check_boxes(boxes_tlwh) -> np.ndarray:
    """Boxes as an (N, 4) float64 array, or a clear error."""
    try:
        boxes = np.asarray(boxes_tlwh, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InputError(
            f"Boxes must be numbers (x, y, width, height): {error}.",
            "Pass an N x 4 array of pixel boxes.",
        ) from None
    if boxes.size == 0:
        return boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise InputError(
            f"Boxes must be an N x 4 array (x, y, width, height); got shape {boxes.shape}.",
            "Pass one row of four numbers per box.",
        )
    return boxes


def crop_boxes(
    frame, boxes_tlwh, patch_shape: tuple[int, int] = PATCH_SHAPE
) -> tuple[np.ndarray, np.ndarray]:
    """Cut each box from a BGR frame as deep_sort does.

    Returns (N, patch height, patch width, 3) uint8 patches and an (N,) bool `valid` mask;
    skipped boxes get an all-zero patch.
    """
    frame = check_frame(frame)
    boxes = check_boxes(boxes_tlwh)
    corners, valid = patch_boxes(boxes, frame.shape[:2], patch_shape)
    patches = np.zeros((len(boxes), *patch_shape, 3), np.uint8)
    size = (patch_shape[1], patch_shape[0])
    for index in np.flatnonzero(valid):
        x1, y1, x2, y2 = corners[index]
        cv2.resize(frame[y1:y2, x1:x2], size, dst=patches[index])
    return patches, valid


def read_crop(path) -> np.ndarray:
    """An image file as a 128 x 64 BGR uint8 crop (whole image, bilinear resize)."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"Cannot read the image {path}.", "Pass JPEG, PNG or BMP files that open.")
    return resize_to_patch(image)
