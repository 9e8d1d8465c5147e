"""HTTP errors as JSON bodies naming the problem and the fix, never a traceback.

Every failure a client can cause is raised as `ApiError` and rendered by one handler as
`{"error": code, "problem": ..., "fix": ...}` with the matching 4xx status.
"""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

log = logging.getLogger("reid.serving")


class ApiError(Exception):
    """A request the service refuses: HTTP status, short machine code, problem and fix."""

    def __init__(
        self,
        status: int,
        code: str,
        problem: str,
        fix: str = "",
        headers: dict[str, str] | None = None,
    ):
        super().__init__(problem)
        self.status = status
        self.code = code
        self.problem = problem
        self.fix = fix
        self.headers = headers or {}


def error_response(
    status: int, code: str, problem: str, fix: str = "", headers: dict | None = None
) -> Response:
    body = json.dumps({"error": code, "problem": problem, "fix": fix})
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def install_error_handlers(app: FastAPI, on_error=None) -> None:
    """Render ApiError, FastAPI's own validation and routing errors, and bugs as JSON.

    `on_error(request, code)` is called for each, e.g. to count them.
    """
    note = on_error or (lambda request, code: None)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, error: ApiError) -> Response:
        note(request, error.code)
        return error_response(error.status, error.code, error.problem, error.fix, error.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> Response:
        note(request, "invalid_request")
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in error.errors()
        )
        return error_response(
            422, "invalid_request", f"Invalid request: {problems}.", "See /docs for the schema."
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        note(request, "http_error")
        fix = "See /docs for the endpoints." if error.status_code in (404, 405) else ""
        return error_response(
            error.status_code, "http_error", str(error.detail), fix, dict(error.headers or {})
        )

    @app.exception_handler(Exception)
    async def _bug(request: Request, error: Exception) -> Response:
        note(request, "internal_error")
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(
            500,
            "internal_error",
            f"The service failed unexpectedly ({type(error).__name__}).",
            "This is a bug in the service; the server log has the details.",
        )
