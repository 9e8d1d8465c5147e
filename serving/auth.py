"""Optional API key: `Authorization: Bearer <key>`, compared in constant time.

The key comes from an environment variable named in the settings; without it auth is off and
the app declares no security scheme at all (see `serving.app`).
"""

from __future__ import annotations

import hmac

from fastapi.security import HTTPBearer

from serving.errors import ApiError

# auto_error=False: a missing or malformed header is answered by `unauthorized`, as JSON.
bearer = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="the key the server reads from its API key environment variable",
)


def keys_match(given: str, expected: str) -> bool:
    """Constant-time comparison, so response timing does not reveal how much of a key matched."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def unauthorized(problem: str, fix: str) -> ApiError:
    return ApiError(401, "unauthorized", problem, fix, headers={"WWW-Authenticate": "Bearer"})
