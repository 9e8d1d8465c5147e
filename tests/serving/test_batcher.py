"""Micro-batcher logic against a stand-in encode function (the real model is in test_server)."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from serving.batcher import BatcherClosed, MicroBatcher, QueueFull


class StandIn:
    """encode(): each crop's first pixel value and its batch number, recording batch sizes."""

    def __init__(self, fail_on: int | None = None, gate: threading.Event | None = None):
        self.batches: list[int] = []
        self.fail_on = fail_on
        self.gate = gate

    def __call__(self, crops: np.ndarray) -> np.ndarray:
        if self.gate is not None:
            self.gate.wait(10)
        self.batches.append(len(crops))
        if self.fail_on is not None and len(self.batches) == self.fail_on:
            raise RuntimeError("stand-in failure")
        out = np.zeros((len(crops), 4), np.float32)
        out[:, 0] = crops[:, 0, 0, 0]
        out[:, 1] = len(self.batches)
        return out


def crops_with_ids(ids) -> np.ndarray:
    crops = np.zeros((len(ids), 2, 2, 3), np.uint8)
    crops[:, 0, 0, 0] = ids
    return crops


def run(coroutine_function, encode, **settings):
    """Start a batcher, run `coroutine_function(batcher)`, close it; returns the result."""
    options = {"max_batch_size": 8, "max_wait_s": 0.05, "queue_size": 64, **settings}

    async def main():
        batcher = MicroBatcher(encode, **options)
        await batcher.start()
        try:
            return await coroutine_function(batcher)
        finally:
            await batcher.close()

    return asyncio.run(main())


def test_concurrent_requests_share_a_batch_and_get_their_own_rows():
    encode = StandIn()

    async def three_requests(batcher):
        return await asyncio.gather(
            batcher.embed(crops_with_ids([1, 2])),
            batcher.embed(crops_with_ids([3])),
            batcher.embed(crops_with_ids([4, 5, 6])),
        )

    results = run(three_requests, encode)
    assert encode.batches == [6]
    assert [r[:, 0].tolist() for r in results] == [[1, 2], [3], [4, 5, 6]]


def test_large_requests_are_split_over_batches_of_at_most_max_size():
    encode = StandIn()

    async def requests(batcher):
        return await asyncio.gather(
            batcher.embed(crops_with_ids(range(1, 12))),
            batcher.embed(crops_with_ids(range(20, 27))),
        )

    first, second = run(requests, encode, max_batch_size=5)
    assert encode.batches == [5, 5, 5, 3]
    assert first[:, 0].tolist() == list(range(1, 12))
    assert second[:, 0].tolist() == list(range(20, 27))
    assert first[:, 1].tolist() == [1] * 5 + [2] * 5 + [3]  # rows from three batches


def test_max_batch_size_one_runs_each_crop_alone():
    encode = StandIn()

    async def requests(batcher):
        return await asyncio.gather(*(batcher.embed(crops_with_ids([i])) for i in range(4)))

    results = run(requests, encode, max_batch_size=1)
    assert encode.batches == [1, 1, 1, 1]
    assert [r[0, 0] for r in results] == [0, 1, 2, 3]


def test_a_full_queue_refuses_and_frees_up():
    gate = threading.Event()
    encode = StandIn(gate=gate)

    async def overfill(batcher):
        first = asyncio.create_task(batcher.embed(crops_with_ids(range(8))))
        await asyncio.sleep(0)  # the worker takes the first batch and blocks on the gate
        while batcher.queue_depth:
            await asyncio.sleep(0.001)
        queued = asyncio.create_task(batcher.embed(crops_with_ids(range(10))))
        await asyncio.sleep(0)
        with pytest.raises(QueueFull):
            await batcher.embed(crops_with_ids(range(3)))
        gate.set()
        await first
        await queued
        return await batcher.embed(crops_with_ids([9]))

    result = run(overfill, encode, queue_size=12)
    assert result[0, 0] == 9


def test_an_encode_failure_fails_only_its_batch_and_the_worker_lives_on():
    encode = StandIn(fail_on=1)

    async def requests(batcher):
        with pytest.raises(RuntimeError, match="stand-in failure"):
            await batcher.embed(crops_with_ids([1, 2]))
        return await batcher.embed(crops_with_ids([3]))

    assert run(requests, encode)[0, 0] == 3


def test_timeout_frees_the_queue_and_later_requests_still_work():
    gate = threading.Event()
    encode = StandIn(gate=gate)

    async def requests(batcher):
        blocking = asyncio.create_task(batcher.embed(crops_with_ids(range(8))))
        await asyncio.sleep(0)
        with pytest.raises(TimeoutError):
            await batcher.embed(crops_with_ids([1, 2, 3]), timeout=0.01)
        assert batcher.queue_depth == 0
        gate.set()
        await blocking
        return await batcher.embed(crops_with_ids([5]))

    assert run(requests, encode)[0, 0] == 5
    assert 3 not in encode.batches  # the timed-out crops never reached the encoder


def test_close_drains_queued_work_then_refuses_new_work():
    encode = StandIn()

    async def main():
        batcher = MicroBatcher(encode, max_batch_size=4, max_wait_s=10.0, queue_size=64)
        await batcher.start()
        pending = [asyncio.create_task(batcher.embed(crops_with_ids([i]))) for i in range(6)]
        await asyncio.sleep(0)
        await batcher.close()  # does not wait out max_wait_s: closing sends batches at once
        results = [task.result()[0, 0] for task in pending]
        with pytest.raises(BatcherClosed):
            await batcher.embed(crops_with_ids([1]))
        return results

    assert asyncio.run(main()) == [0, 1, 2, 3, 4, 5]
    assert encode.batches == [4, 2]


def test_batches_report_their_size():
    seen = []

    async def requests(batcher):
        await asyncio.gather(
            batcher.embed(crops_with_ids([1, 2])), batcher.embed(crops_with_ids([3]))
        )

    run(requests, StandIn(), on_batch=lambda size, seconds: seen.append(size))
    assert seen == [3]


def test_drain_sends_waiting_crops_at_once_and_still_takes_requests():
    encode = StandIn()

    async def main():
        batcher = MicroBatcher(encode, max_batch_size=64, max_wait_s=600.0, queue_size=64)
        await batcher.start()
        waiting = asyncio.create_task(batcher.embed(crops_with_ids([1, 2])))
        await asyncio.sleep(0.01)
        assert not waiting.done()  # held back to fill the batch
        batcher.drain()
        first = await waiting
        second = await batcher.embed(crops_with_ids([3]))  # in-flight requests still queue
        await batcher.close()
        return first, second

    first, second = asyncio.run(main())
    assert first[:, 0].tolist() == [1, 2] and second[0, 0] == 3
