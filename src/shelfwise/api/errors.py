"""Every error leaves the API as JSON that says what was wrong: {"error": {"code", "message", "details"}}.

An error nobody foresaw is answered the same way, with status 500 and a request id that is also logged
with the traceback, so that a report from a client can be matched to the log."""

from __future__ import annotations

import logging
import math
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
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

REQUEST_ID_HEADER = "X-Request-ID"

logger = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    """What was wrong: a stable `code` to branch on, a `message` for people, and `details` where the
    problems are several (one line per field, for an invalid request)."""

    code: str = Field(
        description="invalid_request, not_found, not_trained, unauthorized, ... internal_error."
    )
    message: str
    details: Any = None
    request_id: str | None = Field(
        default=None, description="Given with a 500: the id the server logged the error under."
    )


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


# Declared on every operation (see create_api): any refusal (401 without the key it needs, 404, 405, 409
# before the first training, 413, 422) and any server error answer this one shape.
# Errors are JSON on every route, those that answer plain text (synonyms, metrics) included.
_ERROR_JSON = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "model": ErrorBody,
        "content": _ERROR_JSON,
        "description": "Refused: the body says what was wrong and where.",
    },
    "5XX": {
        "model": ErrorBody,
        "content": _ERROR_JSON,
        "description": "Server error: the body gives the request id it is logged under.",
    },
}


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
    request_id: str | None = None,
) -> JSONResponse:
    """The one shape of an error (`ErrorBody`): `{"error": {"code", "message", ...}}` with its status."""
    detail = ErrorDetail(code=code, message=message, details=details, request_id=request_id)
    content = ErrorBody(error=detail).model_dump(mode="json", exclude_none=True)
    return JSONResponse(status_code=status, content=content, headers=headers)


def _describe(errors: list[Any]) -> list[str]:
    described = []
    for error in errors:
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        described.append(f"{location}: {message}" if location else message)
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
        code = {
            400: "invalid_request",  # a body that is not UTF-8 JSON
            404: "not_found",
            405: "method_not_allowed",
            413: "payload_too_large",
        }.get(error.status_code, "error")
        return error_response(error.status_code, code, str(error.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        # Starlette re-raises the error after this answer, for the server to see; the log line with the
        # request id is ours.
        request_id = uuid.uuid4().hex
        logger.error(
            "unexpected error answering %s %s (request id %s)",
            request.method,
            request.url.path,
            request_id,
            exc_info=error,
        )
        return error_response(
            500,
            "internal_error",
            f"the server failed to answer this request; it is logged under request id {request_id}",
            headers={REQUEST_ID_HEADER: request_id},
            request_id=request_id,
        )
