"""GET /model: what the service runs (file, SHA-256, backend, contract, card) and how it batches.

Clients compare the SHA-256 with their own model to know embeddings from both are comparable.
"""

from __future__ import annotations

from fastapi import APIRouter

from serving.dependencies import ServiceDep
from serving.schemas import BatchingInfo, ModelResponse

router = APIRouter(tags=["model"])


@router.get(
    "/model", response_model=ModelResponse, summary="The model: identity, contract and batching"
)
async def model_info(service: ServiceDep) -> ModelResponse:
    settings, encoder = service.settings, service.encoder
    return ModelResponse(
        name=service.model_name,
        file=encoder.path.name,
        sha256=encoder.sha256,
        backend=encoder.backend,
        precision=encoder.precision,
        dim=encoder.dim,
        input_shape=list(encoder.image_shape),
        card=encoder.model_card,
        batching=BatchingInfo(
            max_batch_size=settings.max_batch_size,
            max_wait_ms=settings.max_wait_ms,
            queue_size=settings.queue_size,
            timeout_s=settings.timeout_s,
        ),
    )
