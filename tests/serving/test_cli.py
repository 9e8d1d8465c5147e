"""`reid serve` start-up refusals, settings checks, SIGTERM drain, and no TensorFlow needed."""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from core.errors import ModelError, ReidError
from serving.cli import add_serve_arguments, run_serve, settings_from_args
from tests.serving.conftest import BLOCK_TENSORFLOW, ROOT, free_port, running_server
from tests.serving.inputs import png_bytes, random_crops


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults_bind_loopback_with_auth_off():
    settings = settings_from_args(parse("--model", "m.onnx"))
    assert settings.host == "127.0.0.1" and settings.is_loopback
    assert settings.api_key({}) is None
    assert settings.api_key({"REID_API_KEY": "k"}) == "k"
    assert settings.max_batch_size >= 1 and settings.max_wait_ms >= 0


def test_inconsistent_settings_are_refused_with_the_reason():
    with pytest.raises(ReidError, match="queue_size"):
        settings_from_args(parse("--model", "m.onnx", "--queue-size", "10", "--max-crops", "100"))
    with pytest.raises(ReidError, match="max_batch_size"):
        settings_from_args(parse("--model", "m.onnx", "--max-batch-size", "0"))


def test_a_missing_model_stops_start_up_with_a_clear_message(tmp_path):
    command = [sys.executable, "-m", "serving", "--model", str(tmp_path / "none.onnx")]
    result = subprocess.run(
        [*command, "--port", str(free_port())], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "error: No model at" in result.stderr and "fix:" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_broken_model_stops_start_up(tmp_path):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"this is not an onnx file")
    with pytest.raises(ModelError, match="cannot load"):
        run_serve(parse("--model", str(broken), "--port", str(free_port())))


def test_serving_imports_without_tensorflow():
    code = BLOCK_TENSORFLOW + (
        "import serving.app, serving.server, serving.cli, serving.client, encoder\n"
        "assert not any(m.split('.')[0] in ('tensorflow', 'keras') for m in sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def metric(url: str, name: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_full_queue_answers_503_and_sigterm_drains_requests_in_flight(onnx_model, tmp_path):
    """Batches wait up to 10 minutes to fill, so the crops stay queued until SIGTERM.

    The queue holds exactly the six requests' crops, so one more request gets a 503.
    """
    requests = 6
    images = [png_bytes(crop) for crop in random_crops(4, seed=3)]
    files = [("images", (f"{i}.png", data, "image/png")) for i, data in enumerate(images)]
    options = ("--max-batch-size", "64", "--max-wait-ms", "600000", "--timeout", "900")
    options += ("--queue-size", str(4 * requests), "--max-crops", "4")
    with running_server(onnx_model, tmp_path, *options) as server:

        def send(_):
            return httpx.post(f"{server.url}/embed", files=files, timeout=120)

        with ThreadPoolExecutor(requests) as executor:
            futures = [executor.submit(send, i) for i in range(requests)]
            deadline = time.monotonic() + 60
            while metric(server.url, "reid_queue_depth") < 4 * requests:
                assert time.monotonic() < deadline, "the requests did not arrive"
                time.sleep(0.05)
            refused = send(None)
            assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
            assert refused.json()["error"] == "queue_full"
            server.process.send_signal(signal.SIGTERM)
            responses = [future.result() for future in futures]
        # uvicorn shuts down cleanly, then re-raises the signal: the usual exit status 143.
        assert server.process.wait(60) == -signal.SIGTERM
    assert [r.status_code for r in responses] == [200] * requests
    assert all(len(r.json()["embeddings"]) == 4 for r in responses)
    assert "Traceback" not in server.output()
