"""The app factory: one FastAPI app per `Service`, its routers, middleware and error handlers.

With an API key, the embedding, model and metrics routers are included behind
`require_api_key`, which also puts the bearer security scheme and the 401 answer into
/openapi.json for exactly those operations; without one, the document mentions no key at all.
The probes (/healthz, /readyz) and the docs stay open either way.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request

from serving.dependencies import require_api_key
from serving.errors import install_error_handlers
from serving.metrics import MetricsMiddleware
from serving.openapi import UNAUTHORIZED
from serving.routers import embeddings, health, metrics, model
from serving.service import Service
from serving.settings import ServeSettings

__all__ = ["Service", "create_app"]

DESCRIPTION = """\
Send person crops (or a frame and its boxes) as multipart JPEG/PNG parts or as JSON with
base64 images; get one 128-d unit embedding per crop, as JSON or as a float32 .npy file.

Every refusal is a JSON `ErrorResponse` naming the problem and the fix. Apart from the
statuses listed per operation, an instance with `--max-concurrency` connections open answers
new connections with uvicorn's plain-text 503 before the app sees them.
"""
PROTECTED = (embeddings.router, model.router, metrics.router)
OPEN = (health.router,)


def create_app(settings: ServeSettings, encoder, api_key: str | None = None) -> FastAPI:
    """The service app around a loaded `encoder.Encoder`; `api_key` None means auth off."""
    api_key = api_key or None
    service = Service.create(settings, encoder, api_key)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await service.start()
        yield
        await service.stop()

    app = FastAPI(
        title="reid embedding service",
        summary="128-d appearance embeddings for deep_sort-style trackers.",
        description=DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.service = service
    keyed = {"dependencies": [Depends(require_api_key)], "responses": UNAUTHORIZED}
    for router in OPEN:
        app.include_router(router)
    for router in PROTECTED:
        app.include_router(router, **(keyed if api_key is not None else {}))

    endpoints = frozenset(route.path for router in (*OPEN, *PROTECTED) for route in router.routes)

    def count_error(request: Request, code: str) -> None:
        path = request.url.path
        service.metrics.errors.labels(path if path in endpoints else "other", code).inc()

    install_error_handlers(app, on_error=count_error)
    app.add_middleware(MetricsMiddleware, metrics=service.metrics, endpoints=endpoints)
    return app
