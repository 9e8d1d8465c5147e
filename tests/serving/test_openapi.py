"""/openapi.json tells the truth: the key only when it is on, every error, the real bodies.

Built in-process from `create_app` with a stand-in encoder; the live server is fuzzed against
its document in test_openapi_fuzz.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from serving.app import create_app
from serving.openapi import EXAMPLE_PNG
from serving.payloads import parse_boxes_text
from serving.schemas import EmbedRequest
from serving.settings import ServeSettings

PROTECTED = {("post", "/embed"), ("post", "/embed/boxes"), ("get", "/model"), ("get", "/metrics")}
BODY_ERRORS = {"400", "413", "415", "422", "503", "504"}


class StandInEncoder:
    dim = 128
    image_shape = (128, 64, 3)
    path = Path("model.onnx")
    sha256 = "0" * 64
    backend = "stand-in"
    model_card = None

    def encode(self, crops):
        return np.zeros((len(crops), self.dim), np.float32)


def document(api_key: str | None) -> dict:
    return create_app(ServeSettings(model="model.onnx"), StandInEncoder(), api_key).openapi()


def operations(doc: dict):
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            yield (method, path), operation


def test_without_a_key_nothing_mentions_one():
    doc = document(None)
    assert "securitySchemes" not in doc.get("components", {})
    for _, operation in operations(doc):
        assert "security" not in operation
        assert "401" not in operation["responses"]
        assert not any(
            p["name"].lower() == "authorization" for p in operation.get("parameters", [])
        )


def test_with_a_key_the_bearer_scheme_guards_exactly_the_protected_operations():
    doc = document("k3y")
    schemes = doc["components"]["securitySchemes"]
    assert [scheme["scheme"] for scheme in schemes.values()] == ["bearer"]
    (name,) = schemes
    for key, operation in operations(doc):
        if key in PROTECTED:
            assert operation["security"] == [{name: []}]
            assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]
        else:
            assert "security" not in operation and "401" not in operation["responses"]
        assert "parameters" not in operation  # the key is a security scheme, not a parameter


@pytest.mark.parametrize("path", ["/embed", "/embed/boxes"])
def test_embedding_routes_document_every_error_and_both_answers(path):
    responses = document(None)["paths"][path]["post"]["responses"]
    assert set(responses) == {"200", *BODY_ERRORS}
    assert set(responses["200"]["content"]) == {"application/json", "application/x-npy"}
    for status in BODY_ERRORS:
        schema = responses[status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorResponse"}
    assert "Retry-After" in responses["503"]["headers"]


def test_probes_model_and_metrics_document_what_they_answer():
    paths = document(None)["paths"]
    assert set(paths["/healthz"]["get"]["responses"]) == {"200"}
    ready = paths["/readyz"]["get"]["responses"]
    assert ready["503"]["content"]["application/json"]["schema"]["$ref"].endswith("ReadyResponse")
    assert set(paths["/model"]["get"]["responses"]) == {"200"}
    assert set(paths["/metrics"]["get"]["responses"]["200"]["content"]) == {"text/plain"}


def test_request_bodies_say_what_the_server_parses():
    paths = document(None)["paths"]
    embed = paths["/embed"]["post"]["requestBody"]["content"]
    images = embed["multipart/form-data"]["schema"]["properties"]["images"]
    assert images["items"]["format"] == "binary"
    assert "image/png" in embed["multipart/form-data"]["encoding"]["images"]["contentType"]
    as_json = embed["application/json"]["schema"]["properties"]["images"]["items"]
    assert as_json["contentEncoding"] == "base64"

    boxes = paths["/embed/boxes"]["post"]["requestBody"]["content"]
    text = boxes["multipart/form-data"]["schema"]["properties"]["boxes"]
    assert text["type"] == "string" and text["contentMediaType"] == "application/json"
    box = text["contentSchema"]["items"]
    assert (box["minItems"], box["maxItems"]) == (4, 4)
    assert boxes["application/json"]["schema"]["properties"]["boxes"]["items"] == box


def test_the_examples_are_bodies_the_server_takes():
    paths = document(None)["paths"]
    boxes = paths["/embed/boxes"]["post"]["requestBody"]["content"]["application/json"]
    assert parse_boxes_text(json.dumps(boxes["example"]["boxes"]))
    example = paths["/embed"]["post"]["requestBody"]["content"]["application/json"]["example"]
    assert EmbedRequest.model_validate(example).images
    assert base64.b64decode(EXAMPLE_PNG).startswith(b"\x89PNG")
