"""Image bytes to BGR arrays, safely: format and size are read from the header before decoding.

A 100-byte PNG can declare 60,000 x 60,000 pixels; decoding it would allocate 10 GB. The
header is parsed first (PNG IHDR, JPEG SOF) and images over the pixel limit are refused
without allocating anything. Only JPEG and PNG are accepted.
"""

from __future__ import annotations

import struct

import cv2
import numpy as np

from core.images import resize_to_patch
from serving.errors import ApiError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SOI = b"\xff\xd8"
# Start-of-frame markers carry the image size: every SOFn except DHT (C4), JPG (C8), DAC (CC).
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
# Markers without a length field: TEM and RST0..7 (SOI/EOI are handled by the walker).
_JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}


class ImageHeaderError(ValueError):
    """The bytes are not a well-formed JPEG or PNG header."""


def image_header(data: bytes) -> tuple[str, int, int]:
    """(format, width, height) read from the header of JPEG or PNG bytes, without decoding."""
    if data.startswith(PNG_SIGNATURE):
        return ("png", *_png_size(data))
    if data.startswith(JPEG_SOI):
        return ("jpeg", *_jpeg_size(data))
    raise ImageHeaderError("not a JPEG or PNG image")


def _png_size(data: bytes) -> tuple[int, int]:
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise ImageHeaderError("PNG without a complete IHDR header")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _jpeg_size(data: bytes) -> tuple[int, int]:
    """Walk the marker segments up to the first start-of-frame and read its size."""
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            raise ImageHeaderError(f"JPEG marker expected at byte {position}")
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in _JPEG_STANDALONE:
            position += 2
            continue
        if marker in (0xD9, 0xDA):
            break  # end of image or start of scan before any frame header
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if length < 2:
            raise ImageHeaderError("JPEG segment with an invalid length")
        if marker in _JPEG_SOF:
            if position + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return width, height
        position += 2 + length
    raise ImageHeaderError("JPEG without a frame header (truncated or not a JPEG)")


def decode_image(name: str, data: bytes, max_pixels: int) -> np.ndarray:
    """Decode JPEG/PNG bytes to an (H, W, 3) uint8 BGR array; ApiError names the part `name`."""
    if not data:
        raise ApiError(400, "empty_image", f"Image {name} is empty (0 bytes).", _SEND_IMAGE)
    try:
        kind, width, height = image_header(data)
    except ImageHeaderError as error:
        raise ApiError(
            400, "undecodable_image", f"Image {name} cannot be decoded: {error}.", _SEND_IMAGE
        ) from None
    if width == 0 or height == 0:
        raise ApiError(
            400,
            "undecodable_image",
            f"Image {name} declares a size of {width} x {height} pixels.",
            _SEND_IMAGE,
        )
    if width * height > max_pixels:
        raise ApiError(
            413,
            "image_too_large",
            f"Image {name} is {width} x {height} = {width * height:,} pixels, over the limit of "
            f"{max_pixels:,}.",
            "Send smaller images, or raise the server's --max-image-pixels.",
        )
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error:  # e.g. past OpenCV's own size limit
        image = None
    if image is None:
        raise ApiError(
            400,
            "undecodable_image",
            f"Image {name} cannot be decoded: its {kind.upper()} data is truncated or corrupt.",
            _SEND_IMAGE,
        )
    return image


def to_patch(image: np.ndarray, patch_shape: tuple[int, int]) -> np.ndarray:
    """Resize an image to the network's (height, width) with bilinear interpolation."""
    return resize_to_patch(image, patch_shape)


_SEND_IMAGE = "Send each image as the complete bytes of a JPEG or PNG file."
