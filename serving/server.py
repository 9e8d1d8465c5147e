"""Load the model, check it, and run the app on uvicorn until SIGTERM/SIGINT.

The model is loaded and run on one crop before the port is bound, so a missing or broken
model stops `reid serve` with a clear message instead of a server that fails every request.
On SIGTERM uvicorn stops accepting, lets in-flight requests finish (up to the request timeout
plus a margin), then the app's shutdown drains the batcher.
"""

from __future__ import annotations

import logging
import sys

import numpy as np
import uvicorn

from core.errors import ModelError
from serving.settings import ServeSettings

DRAIN_MARGIN_S = 5.0


def load_encoder(settings: ServeSettings):
    """The Encoder for `settings.model`, checked on one crop; ModelError when it cannot run."""
    from encoder import Encoder

    encoder = Encoder(
        settings.model,
        backend=settings.backend,
        batch_size=settings.max_batch_size,
        threads=settings.threads,
        precision=settings.precision,
    )
    try:
        out = encoder.encode(np.zeros((1, *encoder.image_shape), np.uint8))
    except Exception as error:
        raise ModelError(
            f"The model {settings.model} loads but fails on a test crop: {error}",
            "Export the model again with `reid export --format onnx`.",
        ) from None
    if out.shape != (1, encoder.dim) or not np.isfinite(out).all():
        raise ModelError(
            f"The model {settings.model} gives {out.shape} non-finite or misshaped output "
            "for a test crop.",
            "Export the model again with `reid export --format onnx`.",
        )
    return encoder


def serve(settings: ServeSettings) -> int:
    """Run the service in the foreground; returns the exit status."""
    from serving.app import create_app

    logging.basicConfig(format="%(levelname)s:     %(message)s")
    logging.getLogger("reid.serving").setLevel(settings.log_level.upper())
    encoder = load_encoder(settings)
    api_key = settings.api_key()
    if api_key is None and not settings.is_loopback:
        print(
            f"warning: serving on {settings.host} without an API key: anyone who can reach this "
            f"port can use the service. Set {settings.api_key_env} to require one.",
            file=sys.stderr,
        )
    sha = encoder.sha256[:12]
    print(
        f"Serving {encoder.path.name} ({encoder.backend} {encoder.precision}, sha256 {sha}) on "
        f"http://{settings.host}:{settings.port}: POST /embed, docs at /docs; "
        f"API key {'required' if api_key else 'off'}.",
        file=sys.stderr,
        flush=True,
    )
    app = create_app(settings, encoder, api_key=api_key)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=settings.log_level == "debug",
        limit_concurrency=settings.max_concurrency,
        timeout_graceful_shutdown=settings.timeout_s + DRAIN_MARGIN_S,
        server_header=False,
    )
    server = DrainingServer(config, on_exit=app.state.service.begin_drain)
    server.run()
    return 0 if server.started else 1


class DrainingServer(uvicorn.Server):
    """uvicorn.Server that tells the service when SIGTERM/SIGINT starts the shutdown."""

    def __init__(self, config: uvicorn.Config, on_exit):
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig, frame) -> None:
        self._on_exit()
        super().handle_exit(sig, frame)
