"""The state one app instance shares between its requests, and its life cycle.

`Service` holds the settings, the encoder, the micro-batcher, the metrics and the API key. It
warms the model up at start (one full batch, then /readyz says ready), drains at shutdown
(reports not ready, stops holding batches back, finishes every queued crop), turns batcher
outcomes into HTTP errors and renders embeddings as JSON or .npy.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import numpy as np
from starlette.responses import Response

from core.io import npy_bytes
from serving.batcher import BatcherClosed, MicroBatcher, QueueFull
from serving.errors import ApiError
from serving.metrics import ServiceMetrics
from serving.schemas import NPY_MEDIA_TYPE, EmbedResponse
from serving.settings import ServeSettings

log = logging.getLogger("reid.serving")


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
    _warm_up: asyncio.Task | None = field(default=None, init=False, repr=False)

    @classmethod
    def create(cls, settings: ServeSettings, encoder, api_key: str | None) -> Service:
        """A service around a loaded `encoder.Encoder`, with its own batcher and metrics."""
        metrics = ServiceMetrics()
        batcher = MicroBatcher(
            encoder.encode,
            max_batch_size=settings.max_batch_size,
            max_wait_s=settings.max_wait_ms / 1000.0,
            queue_size=settings.queue_size,
            on_batch=metrics.observe_batch,
        )
        metrics.queue_depth.set_function(lambda: batcher.queue_depth)
        return cls(settings, encoder, batcher, metrics, api_key)

    @property
    def model_name(self) -> str:
        return self.encoder.path.name

    @property
    def patch_shape(self) -> tuple[int, int]:
        return tuple(self.encoder.image_shape[:2])

    async def start(self) -> None:
        """Start the batcher and, in the background, the warm-up."""
        self.loop = asyncio.get_running_loop()
        await self.batcher.start()
        self._warm_up = asyncio.create_task(self._run_warm_up())

    def begin_drain(self) -> None:
        """Shutdown has begun: report not ready and stop holding batches back to fill.

        Safe to call from a signal handler.
        """
        self.status = "draining"
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.batcher.drain)

    async def stop(self) -> None:
        """Finish the warm-up and every queued crop, then stop the batcher."""
        self.status = "draining"
        if self._warm_up is not None:
            await self._warm_up
        await self.batcher.close()

    async def _run_warm_up(self) -> None:
        """One full batch through the inference thread, then report ready."""
        crops = np.zeros((self.settings.max_batch_size, *self.encoder.image_shape), np.uint8)
        try:
            await self.batcher.run_in_inference_thread(self.encoder.encode, crops)
        except Exception as error:
            self.status = f"warm-up failed: {error}"
            log.error("warm-up failed: %s", error)
            return
        if self.status == "warming up":
            self.status = "ready"
            log.info("warmed up; ready")

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

    def render(self, embeddings: np.ndarray, accept: str) -> Response:
        """float32 embeddings as a .npy body when `accept` names it, JSON otherwise."""
        embeddings = embeddings.astype(np.float32, copy=False)
        if NPY_MEDIA_TYPE in accept:
            return Response(npy_bytes(embeddings), media_type=NPY_MEDIA_TYPE)
        body = EmbedResponse(
            model=self.model_name, dim=self.encoder.dim, embeddings=embeddings.tolist()
        )
        return Response(body.model_dump_json(), media_type="application/json")
