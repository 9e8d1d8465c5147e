"""`reid serve`: argument parsing and the thin shell that loads the model and runs uvicorn."""

from __future__ import annotations

import argparse

from encoder.runtime import BACKENDS, PRECISION_HELP, PRECISIONS
from serving.settings import DEFAULT_API_KEY_ENV, ServeSettings, make_settings


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = {name: f.default for name, f in ServeSettings.model_fields.items()}
    parser.add_argument("--model", required=True, help=".onnx model file (from `reid export`)")
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default=defaults["backend"],
        help="inference engine (auto: OpenVINO, else ONNX Runtime, for .onnx; TensorFlow for "
        ".pb/SavedModel)",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=defaults["precision"],
        help=PRECISION_HELP,
    )
    parser.add_argument("--threads", type=int, default=None, help="inference threads")
    parser.add_argument(
        "--host", default=defaults["host"], help="address to bind (default: loopback only)"
    )
    parser.add_argument("--port", type=int, default=defaults["port"])
    parser.add_argument(
        "--max-batch-size",
        type=int,
        default=defaults["max_batch_size"],
        help="crops per inference batch, at most (1 switches batching off)",
    )
    parser.add_argument(
        "--max-wait-ms",
        type=float,
        default=defaults["max_wait_ms"],
        help="how long a batch may wait to fill up",
    )
    parser.add_argument(
        "--queue-size",
        type=int,
        default=defaults["queue_size"],
        help="crops waiting for inference, at most; past it requests get 503 + Retry-After",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=defaults["timeout_s"],
        help="seconds a request may wait for its embeddings before a 504",
    )
    parser.add_argument(
        "--max-body-mb",
        type=float,
        default=defaults["max_body_bytes"] / 2**20,
        help="largest request body in MiB (413 above)",
    )
    parser.add_argument(
        "--max-crops",
        type=int,
        default=defaults["max_crops"],
        help="crops or boxes per request, at most (413 above)",
    )
    parser.add_argument(
        "--max-image-pixels",
        type=int,
        default=defaults["max_image_pixels"],
        help="width x height of one image, at most, checked before decoding (413 above)",
    )
    parser.add_argument(
        "--max-concurrency",
        type=int,
        default=defaults["max_concurrency"],
        help="open connections and requests, at most (503 above)",
    )
    parser.add_argument(
        "--api-key-env",
        default=DEFAULT_API_KEY_ENV,
        help="environment variable holding the API key; unset or empty: no auth",
    )
    parser.add_argument(
        "--log-level", choices=("debug", "info", "warning", "error"), default="info"
    )


def settings_from_args(args: argparse.Namespace) -> ServeSettings:
    return make_settings(
        model=args.model,
        backend=args.backend,
        precision=args.precision,
        threads=args.threads,
        host=args.host,
        port=args.port,
        max_batch_size=args.max_batch_size,
        max_wait_ms=args.max_wait_ms,
        queue_size=args.queue_size,
        timeout_s=args.timeout,
        max_body_bytes=int(args.max_body_mb * 2**20),
        max_crops=args.max_crops,
        max_image_pixels=args.max_image_pixels,
        max_concurrency=args.max_concurrency,
        api_key_env=args.api_key_env,
        log_level=args.log_level,
    )


def run_serve(args: argparse.Namespace) -> int:
    from serving.server import serve

    return serve(settings_from_args(args))
