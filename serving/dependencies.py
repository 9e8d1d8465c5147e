"""FastAPI dependencies of the routes: the service state, the API key, the request body.

The body is read here rather than by FastAPI so that a body over the limit is refused as soon
as it passes `--max-body-mb`, before anything is parsed, and so that one route can take
multipart or JSON.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials
from starlette.requests import ClientDisconnect

from serving.auth import bearer, keys_match, unauthorized
from serving.bodies import Body
from serving.errors import ApiError
from serving.payloads import media_type
from serving.service import Service

BODY_KINDS = {"multipart/form-data": "multipart", "application/json": "json"}


def get_service(request: Request) -> Service:
    """The service state of the app handling this request."""
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(get_service)]


async def require_api_key(
    service: ServiceDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """Passes when the bearer token equals the service's key (or it has none); 401 otherwise."""
    if service.api_key is None:
        return
    if credentials is None:
        raise unauthorized(
            "This service needs an API key.", "Send the header 'Authorization: Bearer <key>'."
        )
    if not keys_match(credentials.credentials, service.api_key):
        raise unauthorized(
            "The API key is wrong.",
            "Send the key the server reads from its API key environment variable.",
        )


async def read_body(request: Request, service: ServiceDep) -> Body:
    """The body, after checking its type (415), refused with 413 once past the size limit."""
    content_type = request.headers.get("content-type", "")
    kind = BODY_KINDS.get(media_type(content_type))
    if kind is None:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Content-Type {content_type or '(none)'!r} is not accepted.",
            "Send multipart/form-data (image parts) or application/json (base64 images).",
        )
    return Body(kind, content_type, await _read_limited(request, service.settings.max_body_bytes))


BodyDep = Annotated[Body, Depends(read_body)]


async def _read_limited(request: Request, limit: int) -> bytes:
    too_large = ApiError(
        413,
        "body_too_large",
        f"The request body is larger than {limit:,} bytes.",
        "Send fewer or smaller images per request, or raise the server's --max-body-mb.",
    )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
    except ClientDisconnect:
        raise ApiError(400, "client_disconnected", "The client went away.") from None
    return b"".join(chunks)
