"""The parts of the OpenAPI document FastAPI cannot infer from the handlers.

The embedding handlers read their bodies themselves (to stop at the size limit before parsing,
and to take multipart or JSON on one route), so FastAPI sees no body parameter: the request
bodies are described here. So are the .npy answer and, per route, every error status the
handler can give, each with the `ErrorResponse` body and the headers that come with it.
"""

from __future__ import annotations

from serving.payloads import IMAGE_PART_TYPES
from serving.schemas import (
    BOXES_SCHEMA,
    NPY_MEDIA_TYPE,
    BoxesRequest,
    EmbedRequest,
    ErrorResponse,
)

# Image parts may also come without a Content-Type.
_IMAGE_PARTS = ", ".join(sorted(kind for kind in IMAGE_PART_TYPES if kind))

_ERROR_HEADERS = {
    401: {"WWW-Authenticate": {"description": "always `Bearer`", "schema": {"type": "string"}}},
    503: {
        "Retry-After": {
            "description": "seconds to wait before retrying (queue full or shutting down)",
            "schema": {"type": "integer", "minimum": 0},
        }
    },
}


def errors(descriptions: dict[int, str]) -> dict[int, dict]:
    """FastAPI `responses` entries: each status with the ErrorResponse body and its headers."""
    responses = {}
    for status, description in descriptions.items():
        response = {"model": ErrorResponse, "description": description}
        if status in _ERROR_HEADERS:
            response["headers"] = _ERROR_HEADERS[status]
        responses[status] = response
    return responses


UNAUTHORIZED = errors({401: "no `Authorization: Bearer <key>` header, or the wrong key"})

_BUSY = {
    503: "the queue is full or the service is shutting down; retry after Retry-After seconds",
    504: "the embeddings were not ready within the server's --timeout",
}
EMBED_ERRORS = errors(
    {
        400: "an empty or undecodable image (the problem names it, e.g. images[2]), "
        "or a malformed multipart body",
        413: "a body over --max-body-mb, more than --max-crops images, or an image over "
        "--max-image-pixels",
        415: "a Content-Type other than multipart/form-data or application/json, or an image "
        "part that is not JPEG or PNG",
        422: "JSON that does not match EmbedRequest, invalid base64, or a part not named `images`",
        **_BUSY,
    }
)
BOXES_ERRORS = errors(
    {
        400: "an empty or undecodable frame, or a malformed multipart body",
        413: "a body over --max-body-mb, more than --max-crops boxes, more than two parts, or "
        "a frame over --max-image-pixels",
        415: "a Content-Type other than multipart/form-data or application/json, or an `image` "
        "part that is not JPEG or PNG",
        422: "JSON that does not match BoxesRequest, invalid base64, parts other than one "
        "`image` and one `boxes`, malformed boxes, or boxes with no pixel inside the frame",
        **_BUSY,
    }
)

EMBEDDINGS = {
    "description": "the embeddings, as JSON or (with `Accept: application/x-npy`) a float32 "
    "(N, 128) .npy file",
    "content": {NPY_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
}


# An 8 x 16 PNG (grey, with a blue block), so the JSON examples work as they are in /docs.
EXAMPLE_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAQCAIAAACk6KkqAAAAKklEQVQY02NsaGhgwAaYGHAA0iVYIJTHrRVwoR1qEdS1gx4"
    "SLMhup5EdAEBKBdrKlFdZAAAAAElFTkSuQmCC"
)


def _request_body(json_model, example: dict, multipart_schema: dict, encoding: dict) -> dict:
    json_body = {"schema": json_model.model_json_schema(), "example": example}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {"schema": multipart_schema, "encoding": encoding},
                "application/json": json_body,
            },
        }
    }


EMBED_BODY = _request_body(
    EmbedRequest,
    {"images": [EXAMPLE_PNG, EXAMPLE_PNG]},
    {
        "type": "object",
        "properties": {
            "images": {
                "type": "array",
                "items": {"type": "string", "format": "binary"},
                "description": "JPEG or PNG crops, any size (resized to 128 x 64), in order; "
                "one part each, all named `images` (no parts: no embeddings)",
            }
        },
        "additionalProperties": False,
    },
    {"images": {"contentType": _IMAGE_PARTS}},
)
BOXES_BODY = _request_body(
    BoxesRequest,
    {"image": EXAMPLE_PNG, "boxes": [[1, 2, 4, 12], [-2, 0, 6, 16]]},
    {
        "type": "object",
        "properties": {
            "image": {"type": "string", "format": "binary", "description": "JPEG or PNG frame"},
            "boxes": {
                "type": "string",
                "contentMediaType": "application/json",
                "contentSchema": BOXES_SCHEMA,
                "description": "JSON text [[x, y, width, height], ...] in pixels of the frame",
            },
        },
        "required": ["image", "boxes"],
        "additionalProperties": False,
    },
    {"image": {"contentType": _IMAGE_PARTS}},
)
