"""Multipart and JSON bodies to image bytes and boxes, with limits and clear refusals."""

from __future__ import annotations

import base64

import httpx
import pytest

from serving.errors import ApiError
from serving.payloads import (
    check_boxes,
    decode_base64,
    image_parts,
    parse_boxes_text,
    parse_json,
    parse_multipart,
)
from serving.schemas import EmbedRequest


def multipart(files, data=None) -> tuple[bytes, str]:
    """A multipart body and its Content-Type, built by httpx as a client would."""
    request = httpx.Request("POST", "http://x/", files=files, data=data)
    return request.read(), request.headers["content-type"]


def refused(call, *args) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call(*args)
    return caught.value


def test_multipart_parts_keep_order_names_types_and_bytes():
    body, content_type = multipart(
        [("images", ("a.png", b"\x89PNG-a", "image/png")), ("images", ("b", b"\xff\xd8b", None))]
    )
    parts = parse_multipart(body, content_type, 10, "crops")
    assert [(p.name, p.data) for p in parts] == [("images", b"\x89PNG-a"), ("images", b"\xff\xd8b")]
    assert image_parts(parts, "images") == [
        ("images[0]", b"\x89PNG-a"),
        ("images[1]", b"\xff\xd8b"),
    ]


def test_zero_byte_part_is_kept_for_the_decoder_to_name():
    body, content_type = multipart([("images", ("a.png", b"", "image/png"))])
    assert parse_multipart(body, content_type, 10, "crops")[0].data == b""


def test_too_many_parts_is_413_before_reading_them_all():
    body, content_type = multipart([("images", (f"{i}.png", b"x", "image/png")) for i in range(50)])
    error = refused(parse_multipart, body, content_type, 10, "crops per request")
    assert error.status == 413 and "10 crops per request" in error.problem


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (
            b"--b\r\nContent-Disposition: form-data; name=images\r\n\r\nabc",
            "multipart/form-data; boundary=b",
        ),
        (b"whatever", "multipart/form-data"),
    ],
)
def test_malformed_multipart_is_400(body, content_type):
    assert refused(parse_multipart, body, content_type, 10, "crops").status == 400


def test_part_of_a_non_image_type_is_415_and_unknown_names_422():
    body, content_type = multipart([("images", ("a.txt", b"hello", "text/plain"))])
    parts = parse_multipart(body, content_type, 10, "crops")
    error = refused(image_parts, parts, "images")
    assert error.status == 415 and "images[0]" in error.problem
    body, content_type = multipart([("crops", ("a.png", b"x", "image/png"))])
    parts = parse_multipart(body, content_type, 10, "crops")
    assert refused(image_parts, parts, "images").status == 422


def test_json_body_validates_and_names_the_problem():
    assert parse_json(b'{"images": ["aGk="]}', EmbedRequest).images == ["aGk="]
    for body in (b'{"images": ', b'{"images": 3}', b"[]", b'{"pictures": []}'):
        error = refused(parse_json, body, EmbedRequest)
        assert error.status == 422 and error.code == "invalid_json"


def test_base64_is_strict_but_tolerates_missing_padding():
    assert decode_base64("images[0]", base64.b64encode(b"abcd").decode()) == b"abcd"
    assert decode_base64("images[0]", "YWJjZA") == b"abcd"
    error = refused(decode_base64, "images[2]", "not base64!")
    assert error.status == 422 and "images[2]" in error.problem


def test_boxes_text_and_checks():
    assert parse_boxes_text("[[1, 2, 3, 4]]") == [(1.0, 2.0, 3.0, 4.0)]
    for text in ("[[1, 2, 3]]", "[1, 2, 3, 4]", '[["a", 2, 3, 4]]', "{"):
        assert refused(parse_boxes_text, text).status == 422
    check_boxes([(0, 0, 10, 20)], 5)
    assert refused(check_boxes, [(0, 0, 10, 20)] * 6, 5).status == 413
    error = refused(check_boxes, [(0, 0, 10, 20), (0, 0, -1, 20), (0, 0, 5, 0)], 5)
    assert error.status == 422 and "1, 2" in error.problem
    assert refused(check_boxes, [(0, 0, float("nan"), 20)], 5).status == 422
