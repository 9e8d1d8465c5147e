"""GET /healthz (the process serves HTTP) and GET /readyz (warmed up and not draining).

Load balancers and orchestrators poll these, so they never need the API key.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from serving.dependencies import ServiceDep
from serving.schemas import HealthResponse, ReadyResponse

router = APIRouter(tags=["probes"])


@router.get("/healthz", response_model=HealthResponse, summary="Liveness")
async def healthz() -> HealthResponse:
    return HealthResponse(status="ok")


@router.get(
    "/readyz",
    response_model=ReadyResponse,
    responses={503: {"model": ReadyResponse, "description": "warming up or draining"}},
    summary="Readiness: warmed up and not draining",
)
async def readyz(service: ServiceDep) -> Response:
    ready = service.status == "ready"
    body = ReadyResponse(ready=ready, status=service.status).model_dump_json()
    return Response(body, status_code=200 if ready else 503, media_type="application/json")
