"""The bodies of POST /embed and POST /embed/boxes to (N, 128, 64, 3) uint8 BGR crops.

Runs off the event loop (parsing, base64 and image decoding take CPU time); every refusal is
an `ApiError` naming the offending part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from encoder.crops import crop_boxes
from serving.errors import ApiError
from serving.images import decode_image, to_patch
from serving.payloads import (
    check_boxes,
    decode_base64,
    image_parts,
    parse_boxes_text,
    parse_json,
    parse_multipart,
)
from serving.schemas import BoxesRequest, EmbedRequest
from serving.settings import ServeSettings


@dataclass(frozen=True)
class Body:
    """A request body of an embedding route: 'multipart' or 'json', its Content-Type, bytes."""

    kind: str
    content_type: str
    data: bytes


def embed_crops(body: Body, settings: ServeSettings, patch_shape: tuple[int, int]) -> np.ndarray:
    """POST /embed: multipart `images` parts or JSON base64 images, resized to `patch_shape`."""
    limit = settings.max_crops
    if body.kind == "multipart":
        parts = parse_multipart(
            body.data, body.content_type, limit, "crops per request (--max-crops)"
        )
        images = image_parts(parts, "images")
    else:
        request = parse_json(body.data, EmbedRequest)
        if len(request.images) > limit:
            raise ApiError(
                413,
                "too_many_crops",
                f"The request has {len(request.images)} images; the limit is {limit} "
                "crops per request (--max-crops).",
                "Split the crops over several requests.",
            )
        images = [
            (f"images[{i}]", decode_base64(f"images[{i}]", text))
            for i, text in enumerate(request.images)
        ]
    crops = np.empty((len(images), *patch_shape, 3), np.uint8)
    for index, (label, data) in enumerate(images):
        crops[index] = to_patch(decode_image(label, data, settings.max_image_pixels), patch_shape)
    return crops


def boxes_crops(body: Body, settings: ServeSettings) -> np.ndarray:
    """POST /embed/boxes: one frame and its boxes, cut with deep_sort's crop rules."""
    if body.kind == "multipart":
        parts = parse_multipart(body.data, body.content_type, 2, "parts (one `image`, one `boxes`)")
        named = {part.name: part for part in parts}
        if sorted(named) != ["boxes", "image"] or len(parts) != 2:
            raise ApiError(
                422,
                "invalid_parts",
                "Expected one part `image` and one part `boxes`, got "
                f"{[part.name for part in parts]}.",
                "Send the frame as part `image` and the boxes as JSON text in part `boxes`.",
            )
        ((_, frame_bytes),) = image_parts([named["image"]], "image")
        boxes = parse_boxes_text(named["boxes"].data)
    else:
        request = parse_json(body.data, BoxesRequest)
        frame_bytes = decode_base64("image", request.image)
        boxes = request.boxes
    check_boxes(boxes, settings.max_crops)
    frame = decode_image("image", frame_bytes, settings.max_image_pixels)
    crops, valid = crop_boxes(frame, np.asarray(boxes, np.float64).reshape(-1, 4))
    if not valid.all():
        outside = np.flatnonzero(~valid).tolist()
        shown = ", ".join(str(i) for i in outside[:10])
        more = f" and {len(outside) - 10} more" if len(outside) > 10 else ""
        raise ApiError(
            422,
            "boxes_outside_frame",
            f"Boxes {shown}{more} leave no pixels inside the {frame.shape[1]} x "
            f"{frame.shape[0]} frame.",
            "Send boxes that overlap the frame (x, y, width, height in its pixels).",
        )
    return crops
