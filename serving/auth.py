"""Optional API key: `Authorization: Bearer <key>`, compared in constant time.

The key comes from an environment variable named in the settings; without it auth is off.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from serving.errors import ApiError

bearer = HTTPBearer(auto_error=False, description="the key in the server's REID_API_KEY")


def keys_match(given: str, expected: str) -> bool:
    """Constant-time comparison, so response timing does not reveal how much of a key matched."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


async def require_api_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """Dependency: passes when auth is off or the bearer token equals the key; 401 otherwise."""
    expected = request.app.state.api_key
    if expected is None:
        return
    if credentials is None:
        raise ApiError(
            401,
            "unauthorized",
            "This service needs an API key.",
            "Send the header 'Authorization: Bearer <key>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not keys_match(credentials.credentials, expected):
        raise ApiError(
            401,
            "unauthorized",
            "The API key is wrong.",
            "Send the key the server reads from its API key environment variable.",
            headers={"WWW-Authenticate": "Bearer"},
        )
