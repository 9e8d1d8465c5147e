"""POST /embed and POST /embed/boxes: crops or boxes of a frame in, embeddings out.

The handlers stay thin: the body arrives read and size-checked (`serving.dependencies`), is
parsed and decoded to crops on a worker thread (`serving.bodies`), queued on the micro-batcher
and rendered as JSON or .npy.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from serving.bodies import boxes_crops, embed_crops
from serving.dependencies import BodyDep, ServiceDep
from serving.openapi import BOXES_BODY, BOXES_ERRORS, EMBED_BODY, EMBED_ERRORS, EMBEDDINGS
from serving.schemas import EmbedResponse

router = APIRouter(tags=["embeddings"])


@router.post(
    "/embed",
    response_model=EmbedResponse,
    responses={200: EMBEDDINGS, **EMBED_ERRORS},
    openapi_extra=EMBED_BODY,
    summary="Embed crops",
)
async def embed(request: Request, body: BodyDep, service: ServiceDep) -> Response:
    """128-d unit embeddings of person crops, in request order.

    Send `Accept: application/x-npy` to get a float32 (N, 128) .npy body instead of JSON.
    """
    crops = await run_in_threadpool(embed_crops, body, service.settings, service.patch_shape)
    return service.render(await service.embed(crops), request.headers.get("accept", ""))


@router.post(
    "/embed/boxes",
    response_model=EmbedResponse,
    responses={200: EMBEDDINGS, **BOXES_ERRORS},
    openapi_extra=BOXES_BODY,
    summary="Embed boxes of a frame",
)
async def embed_boxes(request: Request, body: BodyDep, service: ServiceDep) -> Response:
    """Embeddings of boxes [x, y, w, h] cut from one frame with deep_sort's crop rules.

    A box keeps its height and centre, its width becomes half the height; the crop is clipped
    to the frame and resized to 128 x 64. A box with nothing left inside the frame is a 422.
    """
    crops = await run_in_threadpool(boxes_crops, body, service.settings)
    return service.render(await service.embed(crops), request.headers.get("accept", ""))
