"""Image headers are read without decoding; hostile images are refused before allocation."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from serving.errors import ApiError
from serving.images import ImageHeaderError, decode_image, image_header, to_patch
from tests.serving.inputs import bomb_png, jpeg_bytes, png_bytes, random_crops

IMAGE = random_crops(1, shape=(37, 23))[0]


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (png_bytes(IMAGE), "png"),
        (jpeg_bytes(IMAGE), "jpeg"),
        (cv2.imencode(".jpg", IMAGE, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1].tobytes(), "jpeg"),
        (png_bytes(IMAGE[:, :, 0]), "png"),  # grey
    ],
)
def test_header_gives_format_and_size(data, kind):
    assert image_header(data) == (kind, 23, 37)


def test_header_of_a_bomb_is_read_without_decoding():
    assert image_header(bomb_png(60_000, 60_000)) == ("png", 60_000, 60_000)


@pytest.mark.parametrize(
    "data",
    [b"GIF89a....", b"\x89PNG\r\n\x1a\n\x00\x00", b"\xff\xd8\xff\xe0\x00\x10JFIF", b"\xff\xd8"],
)
def test_header_refuses_other_and_cut_headers(data):
    with pytest.raises(ImageHeaderError):
        image_header(data)


def test_decode_matches_opencv_for_png_and_jpeg():
    for data in (png_bytes(IMAGE), jpeg_bytes(IMAGE)):
        expected = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        np.testing.assert_array_equal(decode_image("images[0]", data, 10_000), expected)


def test_grey_png_decodes_to_three_channels():
    assert decode_image("x", png_bytes(IMAGE[:, :, 0]), 10_000).shape == (37, 23, 3)


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"", 400, "empty_image"),
        (jpeg_bytes(IMAGE)[:-200], 400, "undecodable_image"),
        (png_bytes(IMAGE)[:-300], 400, "undecodable_image"),
        (b"not an image at all", 400, "undecodable_image"),
        (bomb_png(60_000, 60_000), 413, "image_too_large"),
        (bomb_png(0, 10), 400, "undecodable_image"),
    ],
)
def test_bad_images_are_refused_naming_the_part(data, status, code):
    with pytest.raises(ApiError) as caught:
        decode_image("images[3]", data, 40_000_000)
    assert (caught.value.status, caught.value.code) == (status, code)
    assert "images[3]" in caught.value.problem


def test_pixel_limit_applies_to_real_images():
    with pytest.raises(ApiError) as caught:
        decode_image("image", png_bytes(IMAGE), 37 * 23 - 1)
    assert caught.value.status == 413


def test_to_patch_resizes_bilinear_and_keeps_right_sized_crops():
    patch = to_patch(IMAGE, (128, 64))
    np.testing.assert_array_equal(patch, cv2.resize(IMAGE, (64, 128)))
    crop = random_crops(1)[0]
    assert to_patch(crop, (128, 64)) is crop
