"""The FastAPI app: endpoints, the per-app service state, start-up warm-up and drain.

Handlers stay thin: they check the content type, read the body under the size limit, hand
parsing and decoding to a worker thread (`serving.payloads`, `serving.images`), queue the crops
on the micro-batcher and render JSON or .npy. The service state reaches them through FastAPI
dependencies (`get_service`, `require_api_key`).
"""

from __future__ import annotations

import asyncio
import io
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from encoder.crops import crop_boxes
from serving.auth import require_api_key
from serving.batcher import BatcherClosed, MicroBatcher, QueueFull
from serving.errors import ApiError, install_error_handlers
from serving.images import decode_image, to_patch
from serving.metrics import MetricsMiddleware, ServiceMetrics
from serving.payloads import (
    check_boxes,
    decode_base64,
    image_parts,
    media_type,
    parse_boxes_text,
    parse_json,
    parse_multipart,
)
from serving.schemas import (
    BatchingInfo,
    BoxesRequest,
    EmbedRequest,
    EmbedResponse,
    ErrorResponse,
    HealthResponse,
    ModelResponse,
    ReadyResponse,
)
from serving.settings import ServeSettings

log = logging.getLogger("reid.serving")

NPY_MEDIA_TYPE = "application/x-npy"
ENDPOINTS = frozenset(["/embed", "/embed/boxes", "/healthz", "/readyz", "/model", "/metrics"])


@dataclass
class Service:
    """What the handlers share: settings, the encoder, its batcher, metrics and the key."""

    settings: ServeSettings
    encoder: object
    batcher: MicroBatcher
    metrics: ServiceMetrics
    api_key: str | None
    status: str = "warming up"
    loop: asyncio.AbstractEventLoop | None = None

    def begin_drain(self) -> None:
        """Shutdown has begun: report not ready and stop holding batches back to fill.

        Safe to call from a signal handler.
        """
        self.status = "draining"
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.batcher.drain)

    @property
    def model_name(self) -> str:
        return self.encoder.path.name

    @property
    def patch_shape(self) -> tuple[int, int]:
        return tuple(self.encoder.image_shape[:2])

    async def embed(self, crops: np.ndarray) -> np.ndarray:
        """Embeddings of crops through the batcher; queue and deadline problems become 503/504."""
        if len(crops) == 0:
            return np.zeros((0, self.encoder.dim), np.float32)
        try:
            return await self.batcher.embed(crops, timeout=self.settings.timeout_s)
        except QueueFull as error:
            raise ApiError(
                503,
                "queue_full",
                f"The service is busy: {error}.",
                "Retry after the Retry-After seconds, or add service instances.",
                headers={"Retry-After": "1"},
            ) from None
        except BatcherClosed:
            raise ApiError(
                503,
                "shutting_down",
                "The service is shutting down.",
                "Retry on another instance or after it restarts.",
                headers={"Retry-After": "1"},
            ) from None
        except TimeoutError:
            raise ApiError(
                504,
                "timeout",
                f"The embeddings were not ready within {self.settings.timeout_s:g} s.",
                "Send fewer crops per request, or raise the server's --timeout.",
            ) from None

    def crops_from_embed_body(self, body: bytes, kind: str, content_type: str) -> np.ndarray:
        """POST /embed body (multipart `images` parts or JSON base64) to (N, 128, 64, 3) crops."""
        limit = self.settings.max_crops
        if kind == "multipart":
            parts = parse_multipart(body, content_type, limit, "crops per request (--max-crops)")
            images = image_parts(parts, "images")
        else:
            request = parse_json(body, EmbedRequest)
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
        crops = np.empty((len(images), *self.patch_shape, 3), np.uint8)
        for index, (label, data) in enumerate(images):
            image = decode_image(label, data, self.settings.max_image_pixels)
            crops[index] = to_patch(image, self.patch_shape)
        return crops

    def crops_from_boxes_body(self, body: bytes, kind: str, content_type: str) -> np.ndarray:
        """POST /embed/boxes body (frame + boxes) to crops cut with deep_sort's rules."""
        if kind == "multipart":
            parts = parse_multipart(body, content_type, 2, "parts (one `image`, one `boxes`)")
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
            request = parse_json(body, BoxesRequest)
            frame_bytes = decode_base64("image", request.image)
            boxes = request.boxes
        check_boxes(boxes, self.settings.max_crops)
        frame = decode_image("image", frame_bytes, self.settings.max_image_pixels)
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


def get_service(request: Request) -> Service:
    """Dependency: the service state of the app handling this request."""
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(get_service)]

router = APIRouter()
_ERRORS = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        400: "undecodable image (names the part) or malformed multipart",
        401: "missing or wrong API key (when the server has one)",
        413: "body, crop count or image pixels over the limit",
        415: "content type other than multipart/form-data or application/json",
        422: "malformed JSON, base64 or boxes",
        503: "queue full or shutting down; see Retry-After",
        504: "not done within the server's --timeout",
    }.items()
}
_NPY_RESPONSE = {"content": {NPY_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}}}


def _body_doc(json_model, multipart_schema: dict) -> dict:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {"schema": multipart_schema},
                "application/json": {"schema": json_model.model_json_schema()},
            },
        }
    }


_EMBED_BODY = _body_doc(
    EmbedRequest,
    {
        "type": "object",
        "properties": {
            "images": {
                "type": "array",
                "items": {"type": "string", "format": "binary"},
                "description": "JPEG or PNG crops, any size (resized to 128 x 64), in order",
            }
        },
        "required": ["images"],
    },
)
_BOXES_BODY = _body_doc(
    BoxesRequest,
    {
        "type": "object",
        "properties": {
            "image": {"type": "string", "format": "binary", "description": "JPEG or PNG frame"},
            "boxes": {"type": "string", "description": "JSON text [[x, y, width, height], ...]"},
        },
        "required": ["image", "boxes"],
    },
)


@router.post(
    "/embed",
    response_model=EmbedResponse,
    responses={200: _NPY_RESPONSE, **_ERRORS},
    openapi_extra=_EMBED_BODY,
    dependencies=[Depends(require_api_key)],
    summary="Embed crops",
)
async def embed(request: Request, service: ServiceDep) -> Response:
    """128-d unit embeddings of person crops, in request order.

    Send `Accept: application/x-npy` to get a float32 (N, 128) .npy body instead of JSON.
    """
    kind, content_type = _body_kind(request)
    body = await _read_body(request, service.settings.max_body_bytes)
    crops = await run_in_threadpool(service.crops_from_embed_body, body, kind, content_type)
    return _render(request, service, await service.embed(crops))


@router.post(
    "/embed/boxes",
    response_model=EmbedResponse,
    responses={200: _NPY_RESPONSE, **_ERRORS},
    openapi_extra=_BOXES_BODY,
    dependencies=[Depends(require_api_key)],
    summary="Embed boxes of a frame",
)
async def embed_boxes(request: Request, service: ServiceDep) -> Response:
    """Embeddings of boxes [x, y, w, h] cut from one frame with deep_sort's crop rules.

    A box keeps its height and centre, its width becomes half the height; the crop is clipped
    to the frame and resized to 128 x 64. A box with nothing left inside the frame is a 422.
    """
    kind, content_type = _body_kind(request)
    body = await _read_body(request, service.settings.max_body_bytes)
    crops = await run_in_threadpool(service.crops_from_boxes_body, body, kind, content_type)
    return _render(request, service, await service.embed(crops))


@router.get("/healthz", response_model=HealthResponse, summary="Liveness")
async def healthz() -> HealthResponse:
    return HealthResponse(status="ok")


@router.get(
    "/readyz",
    response_model=ReadyResponse,
    responses={503: {"model": ReadyResponse, "description": "warming up or draining"}},
    summary="Readiness: warmed up and not draining",
)
async def readyz(service: ServiceDep) -> Response:
    ready = service.status == "ready"
    body = ReadyResponse(ready=ready, status=service.status).model_dump_json()
    return Response(body, status_code=200 if ready else 503, media_type="application/json")


@router.get(
    "/model",
    response_model=ModelResponse,
    dependencies=[Depends(require_api_key)],
    summary="The model: identity, contract and batching",
)
async def model_info(service: ServiceDep) -> ModelResponse:
    settings, encoder = service.settings, service.encoder
    return ModelResponse(
        name=service.model_name,
        file=encoder.path.name,
        sha256=encoder.sha256,
        backend=encoder.backend,
        dim=encoder.dim,
        input_shape=list(encoder.image_shape),
        card=encoder.model_card,
        batching=BatchingInfo(
            max_batch_size=settings.max_batch_size,
            max_wait_ms=settings.max_wait_ms,
            queue_size=settings.queue_size,
            timeout_s=settings.timeout_s,
        ),
    )


@router.get(
    "/metrics",
    dependencies=[Depends(require_api_key)],
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
    summary="Prometheus metrics",
)
async def metrics(service: ServiceDep) -> Response:
    return Response(service.metrics.render(), media_type=service.metrics.content_type)


def _body_kind(request: Request) -> tuple[str, str]:
    """('multipart' | 'json', Content-Type) of the request; 415 for anything else."""
    content_type = request.headers.get("content-type", "")
    kind = {"multipart/form-data": "multipart", "application/json": "json"}.get(
        media_type(content_type)
    )
    if kind is None:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Content-Type {content_type or '(none)'!r} is not accepted.",
            "Send multipart/form-data (image parts) or application/json (base64 images).",
        )
    return kind, content_type


async def _read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused with 413 as soon as it passes `limit` bytes."""
    too_large = ApiError(
        413,
        "body_too_large",
        f"The request body is larger than {limit:,} bytes.",
        "Send fewer or smaller images per request, or raise the server's --max-body-mb.",
    )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
    except ClientDisconnect:
        raise ApiError(400, "client_disconnected", "The client went away.") from None
    return b"".join(chunks)


def _render(request: Request, service: Service, embeddings: np.ndarray) -> Response:
    embeddings = embeddings.astype(np.float32, copy=False)
    if NPY_MEDIA_TYPE in request.headers.get("accept", ""):
        buffer = io.BytesIO()
        np.save(buffer, embeddings, allow_pickle=False)
        return Response(buffer.getvalue(), media_type=NPY_MEDIA_TYPE)
    body = EmbedResponse(
        model=service.model_name, dim=service.encoder.dim, embeddings=embeddings.tolist()
    )
    return Response(body.model_dump_json(), media_type="application/json")


async def _warm_up(service: Service) -> None:
    """One full batch through the inference thread, then report ready."""
    crops = np.zeros((service.settings.max_batch_size, *service.encoder.image_shape), np.uint8)
    try:
        await service.batcher.run_in_inference_thread(service.encoder.encode, crops)
    except Exception as error:
        service.status = f"warm-up failed: {error}"
        log.error("warm-up failed: %s", error)
        return
    if service.status == "warming up":
        service.status = "ready"
        log.info("warmed up; ready")


def create_app(settings: ServeSettings, encoder, api_key: str | None = None) -> FastAPI:
    """The service app around a loaded `encoder.Encoder`; `api_key` None means auth off."""
    metrics = ServiceMetrics()
    batcher = MicroBatcher(
        encoder.encode,
        max_batch_size=settings.max_batch_size,
        max_wait_s=settings.max_wait_ms / 1000.0,
        queue_size=settings.queue_size,
        on_batch=metrics.observe_batch,
    )
    metrics.queue_depth.set_function(lambda: batcher.queue_depth)
    service = Service(settings, encoder, batcher, metrics, api_key)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        service.loop = asyncio.get_running_loop()
        await batcher.start()
        warm_up = asyncio.create_task(_warm_up(service))
        yield
        service.status = "draining"
        await warm_up
        await batcher.close()

    app = FastAPI(
        title="reid embedding service",
        summary="128-d appearance embeddings for deep_sort-style trackers.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.api_key = api_key

    def count_error(request: Request, code: str) -> None:
        path = request.url.path
        metrics.errors.labels(path if path in ENDPOINTS else "other", code).inc()

    install_error_handlers(app, on_error=count_error)
    app.include_router(router)
    app.add_middleware(MetricsMiddleware, metrics=metrics, endpoints=ENDPOINTS)
    return app
