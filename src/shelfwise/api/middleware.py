"""ASGI middleware: bounded request bodies and per-endpoint telemetry."""

from __future__ import annotations

import json
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shelfwise.api.telemetry import Telemetry


class BodyTooLarge(Exception):
    """Raised inside the app when the streamed body passes the limit; answered 413 by the middleware."""


class BodyLimitMiddleware:
    """Refuses bodies over `max_bytes` with 413, by the declared length or by counting what streams in."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        """Wrap `app`, refusing request bodies over `max_bytes`."""
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send, int(declared))
            return
        received = 0

        async def counting_receive() -> Message:
            """The app's `receive`, counting the body as it streams in."""
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except BodyTooLarge:
            await self._refuse(send, received)

    async def _refuse(self, send: Send, size: int) -> None:
        body = json.dumps(
            {
                "error": {
                    "code": "payload_too_large",
                    "message": f"request body of {size} bytes exceeds the limit of {self.max_bytes} bytes; "
                    "send smaller batches",
                }
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


class TelemetryMiddleware:
    """Counts and times each request under its route template (`/v1/products/{product_id}`), not its raw
    path, so that the metric's label set stays bounded."""

    def __init__(self, app: ASGIApp, telemetry: Telemetry) -> None:
        """Wrap `app`, recording every HTTP request into `telemetry`."""
        self.app = app
        self.telemetry = telemetry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}

        async def recording_send(message: Message) -> None:
            """The app's `send`, noting the response status."""
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, recording_send)
        finally:
            endpoint = _route_template(scope)
            method = scope.get("method", "GET")
            self.telemetry.requests.labels(endpoint, method, str(status["code"])).inc()
            self.telemetry.latency.labels(endpoint, method).observe(time.perf_counter() - started)


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"
