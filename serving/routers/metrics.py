"""GET /metrics: the instance's Prometheus metrics in the text exposition format."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from serving.dependencies import ServiceDep

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "requests, latencies, batch sizes, queue depth and errors",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
    summary="Prometheus metrics",
)
async def metrics(service: ServiceDep) -> Response:
    return Response(service.metrics.render(), media_type=service.metrics.content_type)
