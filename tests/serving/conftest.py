"""A real `python -m serving` process on a free loopback port, with TensorFlow blocked.

The server is started once per package (`server`) and shared by the tests that only send
requests; tests that need their own settings or kill the process start one with
`running_server`. Blocking the tensorflow import in the server process shows that the whole
serving path runs without it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
BLOCK_TENSORFLOW = """
import sys
class _Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras", "tf2onnx"):
            raise ImportError(f"{name} is blocked: the serving path must not need it")
        return None
sys.meta_path.insert(0, _Blocked())
"""
START_SERVER = BLOCK_TENSORFLOW + "import runpy; runpy.run_module('serving', run_name='__main__')"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def running_server(model, tmp_path: Path, *options: str, env: dict | None = None):
    """Start the service on a free port, wait until /readyz says ready, stop it afterwards."""
    port = free_port()
    log = tmp_path / f"server-{port}.log"
    command = [sys.executable, "-c", START_SERVER, "--model", str(model), "--port", str(port)]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*command, "--log-level", "warning", *options],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_until_ready(server)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_ready(server: Server, limit_s: float = 120.0) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"the server exited ({server.process.returncode}):\n{server.output()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    pytest.fail(f"the server did not get ready in {limit_s:g} s:\n{server.output()}")


@pytest.fixture(scope="package")
def server(onnx_model, tmp_path_factory):
    """The service on `onnx_model`, auth off, small limits so the limit tests stay cheap."""
    with running_server(
        onnx_model,
        tmp_path_factory.mktemp("server"),
        "--max-body-mb", "4",
        "--max-crops", "64",
        "--max-batch-size", "16",
    ) as running:  # fmt: skip
        yield running


@pytest.fixture(scope="package")
def reference_encoder(onnx_model):
    """The in-process Encoder the service's answers are compared with."""
    from encoder import Encoder

    return Encoder(onnx_model)
