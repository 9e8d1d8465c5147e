"""EmbeddingClient: against the real service, and its retry and error paths on a mock transport."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest

from serving import client as client_module
from serving.client import EmbeddingClient, ServiceError
from tests.serving.conftest import free_port
from tests.serving.inputs import random_crops

TOLERANCE = {"rtol": 0, "atol": 2e-5}


def test_embed_and_embed_boxes_equal_the_encoder(server, reference_encoder):
    crops = random_crops(5, seed=11)
    frame = random_crops(1, seed=12, shape=(180, 240))[0]
    boxes = np.array([[5, 5, 30, 80], [100.5, 40.25, 45, 120], [-10, 100, 40, 100]])
    with EmbeddingClient(server.url) as client:
        features = client.embed(crops)
        assert features.dtype == np.float32 and features.shape == (5, 128)
        np.testing.assert_allclose(features, reference_encoder.encode(crops), **TOLERANCE)
        np.testing.assert_allclose(
            client.embed_boxes(frame, boxes),
            reference_encoder.encode_boxes(frame, boxes),
            **TOLERANCE,
        )
        assert client.embed([]).shape == (0, 128)
        assert client.embed_boxes(frame, np.zeros((0, 4))).shape == (0, 128)
        assert client.model()["sha256"] == reference_encoder.sha256


def test_a_list_of_crops_of_any_size_works(server):
    crops = [random_crops(1, seed=s, shape=(50 + s, 20 + s))[0] for s in range(3)]
    with EmbeddingClient(server.url) as client:
        features = client.embed(crops)
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), 1.0, atol=1e-5)


def test_refusals_carry_the_services_problem(server):
    frame = random_crops(1, shape=(50, 50))[0]
    with EmbeddingClient(server.url) as client, pytest.raises(ServiceError) as caught:
        client.embed_boxes(frame, [[500, 500, 10, 20]])
    assert caught.value.status == 422
    assert "leave no pixels inside" in caught.value.problem


def test_wrong_crops_are_refused_before_sending():
    with EmbeddingClient("http://127.0.0.1:9") as client, pytest.raises(ServiceError):
        client.embed(np.zeros((1, 128, 64), np.uint8))


def test_connection_refused_is_a_clear_error():
    url = f"http://127.0.0.1:{free_port()}"
    with EmbeddingClient(url) as client, pytest.raises(ServiceError) as caught:
        client.embed(random_crops(1))
    assert "Cannot reach the embedding service" in caught.value.problem
    assert "reid serve" in caught.value.fix


def npy_response(rows: int) -> httpx.Response:
    buffer = io.BytesIO()
    np.save(buffer, np.ones((rows, 128), np.float32))
    return httpx.Response(200, content=buffer.getvalue())


def test_503_is_retried_with_backoff_honouring_retry_after(monkeypatch):
    waits, calls = [], []
    monkeypatch.setattr(client_module.time, "sleep", waits.append)

    def handler(request):
        calls.append(request)
        if len(calls) < 3:
            retry_after = "0.5" if len(calls) == 2 else "0"
            body = {"error": "queue_full", "problem": "busy"}
            return httpx.Response(503, json=body, headers={"Retry-After": retry_after})
        return npy_response(2)

    client = EmbeddingClient("http://service", backoff=0.1, transport=httpx.MockTransport(handler))
    assert client.embed(random_crops(2)).shape == (2, 128)
    assert waits == [0.1, 0.5]  # the backoff, then the server's longer Retry-After
    assert calls[0].headers["accept"] == "application/x-npy"


def test_retries_give_up_with_the_services_message(monkeypatch):
    monkeypatch.setattr(client_module.time, "sleep", lambda seconds: None)
    busy = httpx.Response(503, json={"error": "queue_full", "problem": "The service is busy."})
    client = EmbeddingClient(
        "http://service", retries=2, transport=httpx.MockTransport(lambda request: busy)
    )
    with pytest.raises(ServiceError) as caught:
        client.embed(random_crops(1))
    assert caught.value.status == 503 and "busy" in caught.value.problem


def test_api_key_is_sent_as_bearer_and_non_json_errors_are_reported():
    seen = []

    def handler(request):
        seen.append(request.headers.get("authorization"))
        return httpx.Response(502, text="<html>bad gateway</html>")

    client = EmbeddingClient(
        "http://service", api_key="k3y", transport=httpx.MockTransport(handler)
    )
    with pytest.raises(ServiceError) as caught:
        client.embed(random_crops(1))
    assert seen == ["Bearer k3y"]
    assert caught.value.status == 502 and "bad gateway" in caught.value.problem
