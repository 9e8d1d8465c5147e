"""Property-based fuzzing of the live service against its own /openapi.json, with schemathesis.

Schemathesis reads the document the running server publishes and builds requests from it:
its examples, bodies, parts and headers that match the schemas (positive) and ones that break
them (negative). Every answer must not be a 5xx, must have a status and a media type the operation
documents, a body that matches the documented schema and the documented headers, and data
outside the schema must be refused with a 4xx. With the API key on, requests carry the key
through the documented security scheme, and every operation that declares the scheme must turn
requests without the key, or with a wrong one, away.

Schemathesis's pytest integration (`schemathesis.pytest.from_fixture`) does not run under the
pytest pinned here, so each operation is driven with its documented Hypothesis strategy
(`APIOperation.as_strategy`) instead. Kept short and reproducible: a few dozen derandomised
examples per operation, no shrinking, no example database.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.serving.conftest import running_server

KEY = "fuzzing-key"
MAX_EXAMPLES = 40
OPERATIONS = [
    "POST /embed",
    "POST /embed/boxes",
    "GET /healthz",
    "GET /readyz",
    "GET /model",
    "GET /metrics",
]
CHECKS = {
    # A body can match the schema and still not be an image (random base64, random bytes in a
    # part): refusing it with 400 is right, so "valid data is accepted" does not apply here.
    "positive_data_acceptance": {"enabled": False},
    # 413 is the documented answer for data past a limit, such as a third multipart part.
    "negative_data_rejection": {"expected-statuses": ["400", "401", "413", "415", "422"]},
}


def load(url: str, **extra) -> schemathesis.BaseSchema:
    config = schemathesis.Config.from_dict({"checks": CHECKS, "request-timeout": 60, **extra})
    return schemathesis.openapi.from_url(f"{url}/openapi.json", config=config)


@pytest.fixture(scope="module")
def keyed_server(onnx_model, tmp_path_factory):
    with running_server(
        onnx_model,
        tmp_path_factory.mktemp("keyed"),
        "--api-key-env", "REID_FUZZ_SERVICE_KEY",
        "--max-body-mb", "4",
        "--max-crops", "64",
        env={"REID_FUZZ_SERVICE_KEY": KEY},
    ) as running:  # fmt: skip
        yield running


@pytest.fixture(scope="module")
def without_key(server):
    """The shared service (API key off), as its own document describes it."""
    return load(server.url)


@pytest.fixture(scope="module")
def with_key(keyed_server):
    """The service with the API key on; generated requests carry it as the document says."""
    return load(keyed_server.url, auth={"openapi": {"apiKey": {"bearer": KEY}}})


@pytest.mark.parametrize("api", ["without_key", "with_key"])
def test_the_document_lists_every_operation(request, api):
    schema = request.getfixturevalue(api)
    assert sorted(result.ok().label for result in schema.get_all_operations()) == sorted(OPERATIONS)


@pytest.mark.parametrize("label", OPERATIONS)
@pytest.mark.parametrize("api", ["without_key", "with_key"])
def test_the_service_answers_as_its_document_says(request, api, label):
    method, path = label.split(" ")
    operation = request.getfixturevalue(api)[path][method]
    cases = st.one_of(
        *operation.get_strategies_from_examples(),
        operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
        operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(case=cases)
    def answers_as_documented(case):
        case.call_and_validate()

    answers_as_documented()
