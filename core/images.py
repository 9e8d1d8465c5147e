"""Images the same way everywhere: resizing to the network's patch, writing JPEG files."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from core.atomic import write_bytes_atomic
from core.contract import PATCH_SHAPE
from core.errors import DatasetError

JPEG_QUALITY = 90


def resize_to_patch(image: np.ndarray, patch_shape: tuple[int, int] = PATCH_SHAPE) -> np.ndarray:
    """Bilinear resize of a whole image to (height, width) = `patch_shape`; as is when it fits."""
    if image.shape[:2] == tuple(patch_shape):
        return image
    return cv2.resize(image, (patch_shape[1], patch_shape[0]), interpolation=cv2.INTER_LINEAR)


def write_jpeg_atomic(
    path: str | os.PathLike, image: np.ndarray, quality: int = JPEG_QUALITY, durable: bool = False
) -> None:
    """Encode a BGR image as JPEG (as cv2.imwrite would) and write it atomically.

    Readers never see half a file, and it gets the mode a plain write would give it. Without
    `durable` there is no disk flush per file: frames and crops that a rerun writes again are
    not worth an fsync each, so a power cut just after a run may leave some of them empty.
    """
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise DatasetError(f"Could not encode {Path(path).name} as JPEG.", "Report this as a bug.")
    write_bytes_atomic(path, buf.tobytes(), durable=durable)
