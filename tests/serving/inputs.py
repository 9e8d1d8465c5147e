"""Image bytes for the serving tests: good crops and the hostile ones."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np


def png_bytes(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", image)
    assert ok
    return data.tobytes()


def jpeg_bytes(image: np.ndarray, quality: int = 95) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return data.tobytes()


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def bomb_png(width: int = 60_000, height: int = 60_000) -> bytes:
    """A valid-looking PNG of a few hundred bytes that declares width x height RGB pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = b"\x00" + b"\x00" * 3 * 16
    data = zlib.compress(row * 16)  # far too little data; a decoder would allocate first
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )


def random_crops(count: int, seed: int = 0, shape=(128, 64)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, *shape, 3), dtype=np.uint8)
