"""How the service maps batcher outcomes to HTTP errors (the batcher itself is in test_batcher)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from serving.batcher import BatcherClosed, QueueFull
from serving.errors import ApiError
from serving.service import Service
from serving.settings import ServeSettings


class RaisingBatcher:
    def __init__(self, error):
        self.error = error

    async def embed(self, crops, timeout=None):
        raise self.error


class FakeEncoder:
    dim = 128
    image_shape = (128, 64, 3)


def service_raising(error) -> Service:
    settings = ServeSettings(model="m.onnx", timeout_s=7)
    return Service(settings, FakeEncoder(), RaisingBatcher(error), metrics=None, api_key=None)


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (QueueFull("full"), 503, "queue_full"),
        (BatcherClosed("closed"), 503, "shutting_down"),
        (TimeoutError(), 504, "timeout"),
    ],
)
def test_batcher_outcomes_become_503_or_504(error, status, code):
    crops = np.zeros((1, 128, 64, 3), np.uint8)
    with pytest.raises(ApiError) as caught:
        asyncio.run(service_raising(error).embed(crops))
    assert (caught.value.status, caught.value.code) == (status, code)
    if status == 503:
        assert caught.value.headers["Retry-After"] == "1"
    else:
        assert "7 s" in caught.value.problem


def test_no_crops_need_no_inference():
    service = service_raising(AssertionError("must not be called"))
    result = asyncio.run(service.embed(np.zeros((0, 128, 64, 3), np.uint8)))
    assert result.shape == (0, 128) and result.dtype == np.float32
