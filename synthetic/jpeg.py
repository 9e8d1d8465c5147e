"""JPEG files of the synthetic datasets, written atomically but without a disk flush each.

Readers never see half a file, but a power cut shortly after a run may leave some images empty.
Thousands of small images that the generator can write again byte for byte are not worth an
fsync each; the records (`synth.json`, `synth_mot.json`) are still written durably.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from core.atomic import write_bytes_atomic
from core.errors import DatasetError

JPEG_QUALITY = 90


def write_jpeg_atomic(
    path: str | os.PathLike, image: np.ndarray, quality: int = JPEG_QUALITY
) -> None:
    """Encode a BGR image as JPEG (as cv2.imwrite would) and write it atomically.

    The file gets the mode a plain write would give it (0666 less the umask).
    """
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise DatasetError(f"Could not encode {Path(path).name} as JPEG.", "Report this as a bug.")
    write_bytes_atomic(path, buf.tobytes(), durable=False)
