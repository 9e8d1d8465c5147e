"""API key on: embeddings, model and metrics need the bearer key; probes stay open."""

from __future__ import annotations

import httpx
import pytest

from serving.auth import keys_match
from serving.client import EmbeddingClient, ServiceError
from tests.serving.conftest import running_server
from tests.serving.inputs import png_bytes, random_crops

KEY = "s3cret-key-for-tests"


@pytest.fixture(scope="module")
def secured(onnx_model, tmp_path_factory):
    with running_server(
        onnx_model,
        tmp_path_factory.mktemp("secured"),
        "--api-key-env",
        "REID_TEST_SERVICE_KEY",
        env={"REID_TEST_SERVICE_KEY": KEY},
    ) as running:
        yield running


def embed(server, headers):
    files = [("images", ("a.png", png_bytes(random_crops(1)[0]), "image/png"))]
    return httpx.post(f"{server.url}/embed", files=files, headers=headers, timeout=60)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {KEY}"},
        {"Authorization": KEY},
    ],
)
def test_requests_without_the_key_get_401_json(secured, headers):
    response = embed(secured, headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"] == "unauthorized"
    for path in ("/model", "/metrics"):
        assert httpx.get(f"{secured.url}{path}", headers=headers).status_code == 401


def test_the_key_opens_every_endpoint_and_probes_need_none(secured):
    headers = {"Authorization": f"Bearer {KEY}"}
    assert embed(secured, headers).status_code == 200
    assert httpx.get(f"{secured.url}/model", headers=headers).status_code == 200
    assert httpx.get(f"{secured.url}/metrics", headers=headers).status_code == 200
    assert httpx.get(f"{secured.url}/healthz").status_code == 200
    assert httpx.get(f"{secured.url}/readyz").status_code == 200


def test_client_with_and_without_the_key(secured):
    with EmbeddingClient(secured.url, api_key=KEY) as client:
        assert client.embed(random_crops(2)).shape == (2, 128)
    with EmbeddingClient(secured.url) as client, pytest.raises(ServiceError) as caught:
        client.embed(random_crops(1))
    assert caught.value.status == 401


def test_auth_is_off_without_a_key(server):
    assert embed(server, {}).status_code == 200


def test_keys_match_compares_whole_keys():
    assert keys_match(KEY, KEY)
    assert not keys_match(KEY[:-1], KEY)
    assert not keys_match(KEY + "x", KEY)
    assert not keys_match("", KEY)
