"""Request bodies to image bytes and boxes, with the per-request limits.

Pure functions over bytes that raise `ApiError`, so every refusal is a 4xx naming the
offending part. They run off the event loop, beside image decoding.
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass

from pydantic import BaseModel, TypeAdapter, ValidationError
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from serving.errors import ApiError
from serving.schemas import Box

IMAGE_PART_TYPES = {
    "",
    "application/octet-stream",
    "image/jpeg",
    "image/jpg",
    "image/pjpeg",
    "image/png",
    "image/x-png",
}
_BOXES = TypeAdapter(list[Box])


@dataclass(frozen=True)
class Part:
    """One part of a multipart/form-data body."""

    name: str
    content_type: str
    data: bytes


def media_type(content_type: str | None) -> str:
    """The bare, lower-case media type of a Content-Type header ('' when absent)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def parse_multipart(body: bytes, content_type: str, max_parts: int, what: str) -> list[Part]:
    """Split a multipart/form-data body into parts; 413 past `max_parts`, 400 when malformed.

    `what` names the limit in the message (e.g. "crops per request (--max-crops)").
    """
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise ApiError(
            400,
            "bad_multipart",
            "The multipart/form-data Content-Type has no boundary.",
            "Let your HTTP client build the multipart body (curl -F, requests/httpx files=).",
        )
    parts: list[Part] = []
    state = {"headers": {}, "field": b"", "value": b"", "data": [], "ended": False}

    def on_part_begin():
        if len(parts) >= max_parts:
            raise ApiError(
                413,
                "too_many_parts",
                f"The request has more than {max_parts} parts; the limit is {max_parts} {what}.",
                "Split the work into several requests.",
            )
        state["headers"], state["data"] = {}, []

    def on_header_field(data, start, end):
        state["field"] += data[start:end]

    def on_header_value(data, start, end):
        state["value"] += data[start:end]

    def on_header_end():
        state["headers"][state["field"].decode("latin-1").lower()] = state["value"]
        state["field"], state["value"] = b"", b""

    def on_part_data(data, start, end):
        state["data"].append(data[start:end])

    def on_part_end():
        _, disposition = parse_options_header(state["headers"].get("content-disposition"))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        part_type = media_type(state["headers"].get("content-type", b"").decode("latin-1"))
        parts.append(Part(name, part_type, b"".join(state["data"])))

    def on_end():
        state["ended"] = True

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_end": on_end,
        },
    )
    try:
        parser.write(body)
    except MultipartParseError as error:
        raise ApiError(
            400, "bad_multipart", f"The multipart body is malformed: {error}.", _MULTIPART_FIX
        ) from None
    if not state["ended"]:
        raise ApiError(
            400,
            "bad_multipart",
            "The multipart body ends before its closing boundary.",
            _MULTIPART_FIX,
        )
    return parts


def image_parts(parts: list[Part], field: str) -> list[tuple[str, bytes]]:
    """(label, bytes) of the parts named `field`, labelled `field[i]`; other names are refused."""
    images = []
    for part in parts:
        if part.name != field:
            raise ApiError(
                422,
                "unexpected_part",
                f"Unexpected multipart part {part.name!r}.",
                f"Send the images as parts named {field!r}.",
            )
        label = f"{field}[{len(images)}]"
        if part.content_type not in IMAGE_PART_TYPES:
            raise ApiError(
                415,
                "unsupported_media_type",
                f"Part {label} has type {part.content_type!r}; only JPEG and PNG images are "
                "accepted.",
                "Send image/jpeg or image/png parts.",
            )
        images.append((label, part.data))
    return images


def parse_json(body: bytes, model: type[BaseModel]) -> BaseModel:
    """Validate a JSON body against `model`; 422 listing the first problems otherwise."""
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        raise ApiError(
            422,
            "invalid_json",
            f"The JSON body is invalid: {_summarise(error)}.",
            f"Send a JSON object matching the {model.__name__} schema (see /docs).",
        ) from None


def decode_base64(label: str, text: str) -> bytes:
    """Strict base64 (standard alphabet, padding optional); 422 naming the field otherwise."""
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(
            422,
            "invalid_base64",
            f"{label} is not valid base64.",
            "Encode the image file's bytes with standard base64 (RFC 4648).",
        ) from None


def parse_boxes_text(text: bytes | str) -> list[Box]:
    """Boxes from a JSON text like '[[x, y, w, h], ...]' (the multipart `boxes` field)."""
    try:
        return _BOXES.validate_json(text)
    except ValidationError as error:
        raise ApiError(
            422,
            "invalid_boxes",
            f"The boxes are invalid: {_summarise(error)}.",
            _BOXES_FIX,
        ) from None


def check_boxes(boxes: list[Box], max_boxes: int) -> None:
    """413 past the box limit; 422 naming non-finite boxes and boxes without a positive size."""
    if len(boxes) > max_boxes:
        raise ApiError(
            413,
            "too_many_boxes",
            f"The request has {len(boxes)} boxes; the limit is {max_boxes} (--max-crops).",
            "Split the boxes over several requests.",
        )
    bad = [i for i, box in enumerate(boxes) if not all(math.isfinite(v) for v in box)]
    if bad:
        raise ApiError(422, "invalid_boxes", f"Boxes {_few(bad)} are not finite.", _BOXES_FIX)
    bad = [i for i, (_, _, w, h) in enumerate(boxes) if w <= 0 or h <= 0]
    if bad:
        raise ApiError(
            422,
            "invalid_boxes",
            f"Boxes {_few(bad)} have a zero or negative width or height.",
            _BOXES_FIX,
        )


def _few(indices: list[int], shown: int = 10) -> str:
    text = ", ".join(str(i) for i in indices[:shown])
    return text + (f" and {len(indices) - shown} more" if len(indices) > shown else "")


def _summarise(error: ValidationError, shown: int = 3) -> str:
    items = error.errors(include_url=False)
    text = "; ".join(
        f"{'.'.join(str(p) for p in item['loc']) or 'body'}: {item['msg']}"
        for item in items[:shown]
    )
    return text + (f" (and {len(items) - shown} more)" if len(items) > shown else "")


_MULTIPART_FIX = "Let your HTTP client build the multipart body (curl -F, requests/httpx files=)."
_BOXES_FIX = "Send boxes as [[x, y, width, height], ...] in pixels, with width and height > 0."
