"""Typed request and response bodies; they make the OpenAPI schema at /docs meaningful.

The JSON schemas say what the server accepts, which is sometimes more than the Python types
check: a box's width and height must be positive, but that is checked after parsing (by
`serving.payloads.check_boxes`, to name the offending boxes), so it is stated only in the schema.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, WithJsonSchema

NPY_MEDIA_TYPE = "application/x-npy"  # float32 (N, 128) embeddings as a .npy file

BOX_SCHEMA = {
    "type": "array",
    "description": "x, y, width, height in pixels of the frame, top-left origin",
    "prefixItems": [
        {"type": "number", "title": "x"},
        {"type": "number", "title": "y"},
        {"type": "number", "exclusiveMinimum": 0, "title": "width"},
        {"type": "number", "exclusiveMinimum": 0, "title": "height"},
    ],
    "minItems": 4,
    "maxItems": 4,
}
BOXES_SCHEMA = {"type": "array", "items": BOX_SCHEMA}

Box = Annotated[tuple[float, float, float, float], WithJsonSchema(BOX_SCHEMA)]
Base64Image = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "string",
            "contentEncoding": "base64",
            "minLength": 1,
            "description": "the bytes of a JPEG or PNG file, standard base64 (padding optional)",
        }
    ),
]


class EmbedRequest(BaseModel):
    """JSON form of POST /embed: the crops as base64 JPEG or PNG files, any size."""

    images: list[Base64Image] = Field(description="base64-encoded JPEG or PNG crops, in order")


class BoxesRequest(BaseModel):
    """JSON form of POST /embed/boxes: one frame and the boxes to cut from it."""

    image: Base64Image = Field(description="the frame, a base64-encoded JPEG or PNG file")
    boxes: list[Box] = Field(description="boxes [x, y, width, height] in pixels, top-left origin")


class EmbedResponse(BaseModel):
    """Unit-length embeddings, one row per crop or box, in request order."""

    model: str = Field(description="name of the model that computed the embeddings")
    dim: int = Field(description="length of each embedding")
    embeddings: list[list[float]]


class ErrorResponse(BaseModel):
    """Every refused request: a short code, what is wrong, and what to do about it."""

    error: str = Field(description="machine-readable code, e.g. undecodable_image")
    problem: str
    fix: str = ""


class HealthResponse(BaseModel):
    status: str = Field(description="'ok' while the process serves HTTP")


class ReadyResponse(BaseModel):
    ready: bool
    status: str = Field(
        description="'ready', 'warming up', 'draining' or 'warm-up failed: <reason>'"
    )


class BatchingInfo(BaseModel):
    max_batch_size: int
    max_wait_ms: float
    queue_size: int
    timeout_s: float


class ModelResponse(BaseModel):
    """What the service runs: the model's identity and contract, and how it batches."""

    name: str
    file: str
    sha256: str | None = Field(description="SHA-256 of the model file")
    backend: str = Field(description="the engine that runs the model (openvino, onnxruntime, ...)")
    precision: str = Field(
        "fp32", description="the precision it runs in: fp32, bf16 or int8 (the checked int8 twin)"
    )
    dim: int
    input_shape: list[int] = Field(description="crops are resized to height x width x channels")
    input_format: str = "uint8 BGR"
    card: dict | None = Field(None, description="the model card written by `reid freeze`")
    batching: BatchingInfo
