"""Service settings: one validated pydantic model shared by the command line, the app and tests.

The API key is never a setting itself: the settings name the environment variable that holds
it, so the key stays out of process listings and shell history.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.errors import ReidError

DEFAULT_API_KEY_ENV = "REID_API_KEY"
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


class ServeSettings(BaseModel):
    """Everything `reid serve` can be told; the defaults suit one host with a few cameras."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(description="the .onnx (or other Encoder-loadable) model file")
    backend: str = Field(
        "auto", description="Encoder engine; auto picks OpenVINO (else ONNX Runtime) for .onnx"
    )
    precision: str = Field(
        "auto",
        description="fp32, bf16, int8, or auto: the fastest form the model card vouches for",
    )
    threads: int | None = Field(None, ge=1, description="inference threads (default: all cores)")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    max_batch_size: int = Field(64, ge=1, description="crops per inference batch, at most")
    max_wait_ms: float = Field(2.0, ge=0, description="how long a batch waits to fill up")
    queue_size: int = Field(2048, ge=1, description="crops waiting for inference, at most")
    timeout_s: float = Field(30.0, gt=0, description="per-request deadline for queue + inference")
    max_body_bytes: int = Field(32 * 1024 * 1024, ge=1024)
    max_crops: int = Field(512, ge=1, description="crops (or boxes) in one request, at most")
    max_image_pixels: int = Field(40_000_000, ge=1, description="width x height of one image")
    max_concurrency: int = Field(512, ge=1, description="open connections and requests, at most")
    api_key_env: str = DEFAULT_API_KEY_ENV
    log_level: str = "info"

    @model_validator(mode="after")
    def _queue_holds_a_request(self) -> ServeSettings:
        if self.queue_size < self.max_crops:
            raise ValueError(
                f"queue_size ({self.queue_size}) must be at least max_crops ({self.max_crops}), "
                "or a request at the limit could never be queued"
            )
        return self

    def api_key(self, environ=os.environ) -> str | None:
        """The key from the named environment variable; None (auth off) when unset or empty."""
        return environ.get(self.api_key_env) or None

    @property
    def is_loopback(self) -> bool:
        return self.host in LOOPBACK_HOSTS


def make_settings(**values) -> ServeSettings:
    """Validated settings, or a ReidError naming each bad value."""
    from pydantic import ValidationError

    try:
        return ServeSettings(**values)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc']) or 'settings'}: {item['msg']}"
            for item in error.errors()
        )
        raise ReidError(
            f"Invalid service settings: {problems}.", "Change the named options."
        ) from None
