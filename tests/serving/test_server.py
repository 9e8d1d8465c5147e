"""The real service process: same embeddings as the Encoder, concurrency, limits, endpoints."""

from __future__ import annotations

import base64
import io
import json
from concurrent.futures import ThreadPoolExecutor

import cv2
import httpx
import numpy as np
import pytest

from tests.serving.inputs import bomb_png, jpeg_bytes, png_bytes, random_crops

NPY = {"Accept": "application/x-npy"}
TOLERANCE = {"rtol": 0, "atol": 2e-5}  # batch composition may change the last float bits


def post_crops(server, images: list[bytes], headers=None, kind="image/png"):
    files = [("images", (f"{i}.png", data, kind)) for i, data in enumerate(images)]
    return httpx.post(f"{server.url}/embed", files=files, headers=headers, timeout=60)


def npy(response) -> np.ndarray:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-npy"
    return np.load(io.BytesIO(response.content), allow_pickle=False)


@pytest.fixture(scope="module")
def crops():
    return random_crops(6, seed=1)


@pytest.fixture(scope="module")
def expected(reference_encoder, crops):
    return reference_encoder.encode(crops)


def test_multipart_json_and_npy_answers_equal_the_encoder(server, crops, expected):
    images = [png_bytes(crop) for crop in crops]
    as_json = post_crops(server, images)
    assert as_json.status_code == 200, as_json.text
    body = as_json.json()
    assert body["dim"] == 128 and body["model"] == "model.onnx"
    np.testing.assert_allclose(np.array(body["embeddings"], np.float32), expected, **TOLERANCE)

    as_npy = npy(post_crops(server, images, headers=NPY))
    assert as_npy.dtype == np.float32 and as_npy.shape == (6, 128)
    np.testing.assert_allclose(as_npy, expected, **TOLERANCE)

    payload = {"images": [base64.b64encode(data).decode() for data in images]}
    from_base64 = httpx.post(f"{server.url}/embed", json=payload, headers=NPY, timeout=60)
    np.testing.assert_allclose(npy(from_base64), expected, **TOLERANCE)


def test_crops_of_any_size_are_resized_like_the_encoder_expects(server, reference_encoder):
    image = random_crops(1, seed=2, shape=(203, 77))[0]
    data = jpeg_bytes(image)
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    expected = reference_encoder.encode(cv2.resize(decoded, (64, 128))[None])
    np.testing.assert_allclose(
        npy(post_crops(server, [data], NPY, "image/jpeg")), expected, **TOLERANCE
    )


def test_boxes_of_a_frame_equal_encode_boxes(server, reference_encoder):
    frame = random_crops(1, seed=3, shape=(240, 320))[0]
    boxes = [[10, 20, 40, 100], [200.5, 30.2, 50, 150], [-20, -10, 60, 120], [300, 200, 40, 80]]
    expected = reference_encoder.encode_boxes(frame, np.array(boxes))
    files = [("image", ("frame.png", png_bytes(frame), "image/png"))]
    response = httpx.post(
        f"{server.url}/embed/boxes",
        files=files,
        data={"boxes": json.dumps(boxes)},
        headers=NPY,
        timeout=60,
    )
    np.testing.assert_allclose(npy(response), expected, **TOLERANCE)

    payload = {"image": base64.b64encode(png_bytes(frame)).decode(), "boxes": boxes}
    response = httpx.post(f"{server.url}/embed/boxes", json=payload, timeout=60)
    assert response.status_code == 200, response.text
    np.testing.assert_allclose(np.array(response.json()["embeddings"]), expected, **TOLERANCE)


def test_no_boxes_gives_no_embeddings(server):
    frame = random_crops(1, shape=(40, 30))[0]
    payload = {"image": base64.b64encode(png_bytes(frame)).decode(), "boxes": []}
    response = httpx.post(f"{server.url}/embed/boxes", json=payload, headers=NPY, timeout=60)
    assert npy(response).shape == (0, 128)


def test_64_concurrent_requests_each_get_their_own_embeddings_in_order(server, reference_encoder):
    pool = random_crops(16, seed=4)
    per_crop = reference_encoder.encode(pool)
    rng = np.random.default_rng(5)
    picks = [rng.choice(16, size=rng.integers(1, 4), replace=False) for _ in range(64)]
    encoded = [png_bytes(crop) for crop in pool]

    def send(index):
        images = [encoded[i] for i in picks[index]]
        if index % 2:
            return npy(post_crops(server, images, NPY))
        response = post_crops(server, images)
        assert response.status_code == 200, response.text
        return np.array(response.json()["embeddings"], np.float32)

    with ThreadPoolExecutor(64) as executor:
        results = list(executor.map(send, range(64)))
    for pick, result in zip(picks, results, strict=True):
        np.testing.assert_allclose(result, per_crop[pick], **TOLERANCE)


def _images(*images, kind="image/png"):
    """Multipart request with these bytes as `images` parts."""
    return {"files": [("images", (f"{i}.img", data, kind)) for i, data in enumerate(images)]}


def _frame_and_boxes(boxes):
    frame = png_bytes(random_crops(1, shape=(100, 80))[0])
    return {
        "files": [("image", ("frame.png", frame, "image/png"))],
        "data": {"boxes": boxes if isinstance(boxes, str) else json.dumps(boxes)},
    }


def _raw(content: bytes, content_type: str | None):
    return {"content": content, "headers": {"Content-Type": content_type} if content_type else {}}


GOOD = png_bytes(random_crops(1, seed=9)[0])
TRUNCATED_JPEG = jpeg_bytes(random_crops(1)[0])[:-500]
MULTIPART = "multipart/form-data; boundary=xyz"
# name: (path, request, status, error code, text the problem must contain)
BAD_REQUESTS = {
    "truncated JPEG": (
        "/embed",
        _images(GOOD, TRUNCATED_JPEG),
        400,
        "undecodable_image",
        "images[1]",
    ),
    "zero-byte part": ("/embed", _images(b""), 400, "empty_image", "images[0]"),
    "not an image": (
        "/embed",
        _images(b"GIF89a" + bytes(50)),
        400,
        "undecodable_image",
        "images[0]",
    ),
    "60,000 x 60,000 PNG header": (
        "/embed",
        _images(bomb_png()),
        413,
        "image_too_large",
        "60000 x 60000",
    ),
    "10,000 crops": ("/embed", _images(*[b"x"] * 10_000), 413, "too_many_parts", "64 crops"),
    "10,000 crops as JSON": (
        "/embed",
        {"json": {"images": ["eA=="] * 10_000}},
        413,
        "too_many_crops",
        "64 crops",
    ),
    "body over the limit": ("/embed", _images(bytes(5 * 2**20)), 413, "body_too_large", "bytes"),
    "wrong content type": (
        "/embed",
        _raw(b"hello", "text/plain"),
        415,
        "unsupported_media_type",
        "text/plain",
    ),
    "no content type": ("/embed", _raw(b"hello", None), 415, "unsupported_media_type", "none"),
    "part of a text type": (
        "/embed",
        _images(GOOD, kind="text/plain"),
        415,
        "unsupported_media_type",
        "images[0]",
    ),
    "bad base64": (
        "/embed",
        {"json": {"images": ["iVBORw0K", "%%%not base64"]}},
        422,
        "invalid_base64",
        "images[1]",
    ),
    "malformed JSON": (
        "/embed",
        _raw(b'{"images": [', "application/json"),
        422,
        "invalid_json",
        "JSON",
    ),
    "wrong JSON shape": ("/embed", {"json": {"images": "abc"}}, 422, "invalid_json", "images"),
    "broken multipart": (
        "/embed",
        _raw(b"--xyz\r\nbroken", MULTIPART),
        400,
        "bad_multipart",
        "multipart",
    ),
    "boxes outside the frame": (
        "/embed/boxes",
        _frame_and_boxes([[10, 10, 20, 40], [500, 500, 20, 40]]),
        422,
        "boxes_outside_frame",
        "Boxes 1",
    ),
    "negative sizes": (
        "/embed/boxes",
        _frame_and_boxes([[10, 10, -20, 40]]),
        422,
        "invalid_boxes",
        "Boxes 0",
    ),
    "boxes of three numbers": (
        "/embed/boxes",
        _frame_and_boxes([[10, 10, 20]]),
        422,
        "invalid_boxes",
        "boxes",
    ),
    "boxes that are not JSON": (
        "/embed/boxes",
        _frame_and_boxes("[[1, 2"),
        422,
        "invalid_boxes",
        "boxes",
    ),
    "frame missing": (
        "/embed/boxes",
        {**_images(GOOD), "data": {"boxes": "[]"}},
        422,
        "invalid_parts",
        "image",
    ),
    "too many boxes": (
        "/embed/boxes",
        _frame_and_boxes([[1, 1, 5, 10]] * 65),
        413,
        "too_many_boxes",
        "65 boxes",
    ),
    "unknown path": ("/embeddings", {"json": {}}, 404, "http_error", "Not Found"),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS), ids=list(BAD_REQUESTS))
def test_bad_input_gets_a_clear_4xx_and_the_server_keeps_serving(server, case):
    path, request, status, code, mention = BAD_REQUESTS[case]
    response = httpx.post(f"{server.url}{path}", timeout=60, **request)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error"] == code
    assert mention in body["problem"]
    assert body["fix"] or status == 404
    assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200


def test_after_the_bad_inputs_embeddings_still_work(server, reference_encoder):
    crop = random_crops(1, seed=9)
    np.testing.assert_allclose(
        npy(post_crops(server, [GOOD], NPY)), reference_encoder.encode(crop), **TOLERANCE
    )
    assert server.process.poll() is None


def test_health_readiness_model_and_metrics(server, reference_encoder):
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{server.url}/readyz").json() == {"ready": True, "status": "ready"}
    model = httpx.get(f"{server.url}/model").json()
    assert model["sha256"] == reference_encoder.sha256
    assert (model["backend"], model["precision"]) == ("openvino", "fp32")
    assert model["dim"] == 128 and model["input_shape"] == [128, 64, 3]
    assert model["batching"]["max_batch_size"] == 16
    assert model["card"]["output"]["name"] == "features"

    text = httpx.get(f"{server.url}/metrics").text
    for name in (
        'reid_requests_total{endpoint="/embed",status="200"}',
        "reid_request_duration_seconds_bucket",
        "reid_batch_size_bucket",
        "reid_inference_duration_seconds_count",
        "reid_queue_depth",
        "reid_requests_in_flight",
        "reid_crops_total",
    ):
        assert name in text


def test_errors_are_counted_by_code(server):
    post_crops(server, [b""])
    text = httpx.get(f"{server.url}/metrics").text
    assert 'reid_errors_total{code="empty_image",endpoint="/embed"}' in text


def test_openapi_schema_documents_both_body_forms_and_the_responses(server):
    schema = httpx.get(f"{server.url}/openapi.json").json()
    embed = schema["paths"]["/embed"]["post"]
    assert set(embed["requestBody"]["content"]) == {"multipart/form-data", "application/json"}
    assert {"application/json", "application/x-npy"} <= set(embed["responses"]["200"]["content"])
    assert {"400", "413", "415", "422", "503"} <= set(embed["responses"])
    assert "EmbedResponse" in schema["components"]["schemas"]
    assert "/embed/boxes" in schema["paths"]
