"""Micro-batching: crops from concurrent requests share one inference batch.

Requests queue their crops; one worker task takes up to `max_batch_size` crops at a time and
runs the encoder in a dedicated thread (ONNX Runtime releases the GIL), so the event loop keeps
accepting and decoding requests while a batch runs. A batch goes as soon as it is full, or when
its oldest crop has waited `max_wait_s`; crops that queued while the previous batch ran have
already waited, so under load batches leave back to back. A request larger than a batch is
split over several. The queue is bounded in crops: `QueueFull` tells the caller to retry later.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

log = logging.getLogger("reid.serving")


class QueueFull(Exception):
    """The queue cannot take the request's crops now; retry later."""


class BatcherClosed(Exception):
    """The batcher is draining or stopped and takes no new work."""


class _Request:
    __slots__ = ("crops", "future", "arrival", "taken", "filled", "result")

    def __init__(self, crops: np.ndarray, future: asyncio.Future, arrival: float):
        self.crops = crops
        self.future = future
        self.arrival = arrival
        self.taken = 0  # crops handed to inference
        self.filled = 0  # embeddings received
        self.result: np.ndarray | None = None

    @property
    def remaining(self) -> int:
        return len(self.crops) - self.taken


class MicroBatcher:
    """Batches `encode(crops (N, H, W, 3) uint8) -> (N, D) float32` calls across requests.

    `on_batch(size, seconds)` is called after each inference batch (for metrics).
    """

    def __init__(
        self,
        encode: Callable[[np.ndarray], np.ndarray],
        *,
        max_batch_size: int,
        max_wait_s: float,
        queue_size: int,
        on_batch: Callable[[int, float], None] | None = None,
    ):
        self._encode = encode
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_s
        self.queue_size = queue_size
        self._on_batch = on_batch
        self._pending: collections.deque[_Request] = collections.deque()
        self._pending_crops = 0
        self._wakeup: asyncio.Event | None = None
        self._worker: asyncio.Task | None = None
        self._closing = False
        self._draining = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reid-inference")

    @property
    def queue_depth(self) -> int:
        """Crops waiting for inference."""
        return self._pending_crops

    async def start(self) -> None:
        self._wakeup = asyncio.Event()
        self._worker = asyncio.create_task(self._run(), name="reid-batcher")

    async def run_in_inference_thread(self, fn: Callable, *args):
        """Run `fn(*args)` on the inference thread, between batches (e.g. a warm-up)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def embed(self, crops: np.ndarray, timeout: float | None = None) -> np.ndarray:
        """Embeddings of `crops`, in order; raises QueueFull, BatcherClosed or TimeoutError."""
        if self._closing or self._worker is None:
            raise BatcherClosed("the batcher is not running")
        if len(crops) == 0:
            raise ValueError("embed() needs at least one crop")
        if self._pending_crops + len(crops) > self.queue_size:
            raise QueueFull(
                f"{self._pending_crops} crops are queued; {len(crops)} more would pass the "
                f"queue size {self.queue_size}"
            )
        loop = asyncio.get_running_loop()
        request = _Request(crops, loop.create_future(), loop.time())
        self._pending.append(request)
        self._pending_crops += len(crops)
        self._wakeup.set()
        try:
            return await asyncio.wait_for(request.future, timeout)
        except BaseException:  # timeout or the caller was cancelled: free its queue slots
            self._discard(request)
            raise

    def drain(self) -> None:
        """From now on send batches without waiting for them to fill (shutdown has begun)."""
        self._draining = True
        if self._wakeup is not None:
            self._wakeup.set()

    async def close(self) -> None:
        """Stop taking work, finish every queued crop, then stop the worker and its thread."""
        self._closing = self._draining = True
        if self._worker is not None:
            self._wakeup.set()
            await self._worker
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown)

    def _discard(self, request: _Request) -> None:
        if request.remaining and request in self._pending:
            self._pending.remove(request)
            self._pending_crops -= request.remaining
            request.taken = len(request.crops)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self._pending:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
            await self._wait_for_fill(loop)
            pieces = self._take()
            try:
                await self._infer(loop, pieces)
            except Exception as error:  # a bug here must not stop the worker
                log.exception("batch failed")
                for request, _, _ in pieces:
                    if not request.future.done():
                        request.future.set_exception(error)

    async def _wait_for_fill(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wait until a full batch is queued or the oldest crop has waited max_wait_s."""
        deadline = self._pending[0].arrival + self.max_wait_s
        while self._pending_crops < self.max_batch_size and not self._draining:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            except TimeoutError:
                return

    def _take(self) -> list[tuple[_Request, int, int]]:
        """Up to max_batch_size crops from the front of the queue, as (request, start, stop)."""
        pieces = []
        room = self.max_batch_size
        while self._pending and room:
            request = self._pending[0]
            if request.future.done():  # failed or cancelled while queued
                self._pending.popleft()
                self._pending_crops -= request.remaining
                continue
            count = min(room, request.remaining)
            pieces.append((request, request.taken, request.taken + count))
            request.taken += count
            self._pending_crops -= count
            room -= count
            if not request.remaining:
                self._pending.popleft()
        return pieces

    async def _infer(self, loop: asyncio.AbstractEventLoop, pieces) -> None:
        if not pieces:
            return
        if len(pieces) == 1:
            request, start, stop = pieces[0]
            batch = request.crops[start:stop]
        else:
            batch = np.concatenate([request.crops[start:stop] for request, start, stop in pieces])
        started = time.perf_counter()
        try:
            embeddings = await loop.run_in_executor(self._executor, self._encode, batch)
        except Exception as error:  # the worker lives on; only this batch's requests fail
            for request, _, _ in pieces:
                if not request.future.done():
                    request.future.set_exception(error)
            return
        if self._on_batch is not None:
            self._on_batch(len(batch), time.perf_counter() - started)
        offset = 0
        for request, start, stop in pieces:
            count = stop - start
            if not request.future.done():
                if request.result is None:
                    request.result = np.empty(
                        (len(request.crops), embeddings.shape[1]), embeddings.dtype
                    )
                request.result[start:stop] = embeddings[offset : offset + count]
                request.filled += count
                if request.filled == len(request.crops):
                    request.future.set_result(request.result)
            offset += count
