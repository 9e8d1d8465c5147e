"""Small I/O helpers every layer shares: image file names, .npy bytes, timestamps."""

from __future__ import annotations

import io
import os
import time

import numpy as np

# The image formats every part of the project reads: TensorFlow's decoder in training,
# OpenCV in the encoder, the service and the bridge, and the datasets' corrupt-file screening.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")


def is_image_name(name: str) -> bool:
    """True for visible file names with an image extension (case-insensitive).

    Leaves out Thumbs.db and the like, and hidden files such as macOS ``._x.jpg`` copies and
    temporary files of interrupted writes.
    """
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def npy_bytes(array: np.ndarray) -> bytes:
    """`array` serialised as a .npy file (no pickles), for atomic writes and HTTP answers."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def timestamp() -> str:
    """Local time as ISO 8601 with offset, the form every report and record uses."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
