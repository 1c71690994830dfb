"""Every error leaves the API as JSON that says what was wrong: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shelfwise.api.auth import ApiKeyRequiredError
from shelfwise.domain.errors import (
    AccessDeniedError,
    BatchRefusedError,
    BatchTooLargeError,
    InvalidRequestError,
    NotFoundError,
    NotTrainedError,
    RateLimitedError,
)
from shelfwise.io.readers import UnreadableFileError


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The one shape of an error: `{"error": {"code", "message"[, "details"]}}` with its status."""
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse(status_code=status, content={"error": body}, headers=headers)


def _describe(errors: list[Any]) -> list[str]:
    described = []
    for error in errors:
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        described.append(
            f"{location}: {error.get('msg', 'invalid')}" if location else error.get("msg", "invalid")
        )
    return described


def install_error_handlers(app: FastAPI) -> None:
    """Map each error the engine and the request parsing raise to its status and JSON body."""

    @app.exception_handler(ApiKeyRequiredError)
    async def _unauthorized(_: Request, error: ApiKeyRequiredError) -> JSONResponse:
        return error_response(401, "unauthorized", str(error), headers={"www-authenticate": "Bearer"})

    @app.exception_handler(AccessDeniedError)
    async def _forbidden(_: Request, error: AccessDeniedError) -> JSONResponse:
        return error_response(403, "forbidden", str(error))

    @app.exception_handler(RateLimitedError)
    async def _too_many(_: Request, error: RateLimitedError) -> JSONResponse:
        wait = {"retry-after": str(max(1, math.ceil(error.retry_after)))}
        return error_response(429, "rate_limited", str(error), headers=wait)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = _describe(list(error.errors()))
        return error_response(422, "invalid_request", "; ".join(problems), problems)

    @app.exception_handler(ValidationError)
    async def _invalid_model(_: Request, error: ValidationError) -> JSONResponse:
        problems = _describe(list(error.errors()))
        return error_response(422, "invalid_request", "; ".join(problems), problems)

    @app.exception_handler(InvalidRequestError)
    async def _invalid(_: Request, error: InvalidRequestError) -> JSONResponse:
        return error_response(422, "invalid_request", str(error))

    @app.exception_handler(BatchTooLargeError)
    async def _too_many_rows(_: Request, error: BatchTooLargeError) -> JSONResponse:
        return error_response(413, "too_many_rows", str(error), {"max_request_rows": error.limit})

    @app.exception_handler(BatchRefusedError)
    async def _refused(_: Request, error: BatchRefusedError) -> JSONResponse:
        return error_response(422, "batch_refused", str(error), error.details)

    @app.exception_handler(UnreadableFileError)
    async def _unreadable(_: Request, error: UnreadableFileError) -> JSONResponse:
        return error_response(422, "unreadable_input", str(error))

    @app.exception_handler(NotFoundError)
    async def _not_found(_: Request, error: NotFoundError) -> JSONResponse:
        return error_response(404, "not_found", str(error.args[0] if error.args else error))

    @app.exception_handler(NotTrainedError)
    async def _not_trained(_: Request, error: NotTrainedError) -> JSONResponse:
        return error_response(409, "not_trained", str(error))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
            error.status_code, "error"
        )
        return error_response(error.status_code, code, str(error.detail))
