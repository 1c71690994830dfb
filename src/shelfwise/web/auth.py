"""API keys: the admin key guards the admin pages and every write that changes the shop; the public key,
when set, guards reads and event posting. A key travels in `X-API-Key`, `Authorization: Bearer`, or (for
the admin pages in a browser) a SameSite=Strict cookie set by the login form."""

from __future__ import annotations

import json
import secrets

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

ADMIN_COOKIE = "sw_admin"
KEY_HEADER = "x-api-key"
# Writes anyone with the public key may make: the storefront posts shoppers' events.
PUBLIC_WRITES = frozenset({("POST", "/v1/events")})
OPEN_PATHS = frozenset({"/healthz", "/metrics"})


def presented_key(connection: HTTPConnection, cookie: bool = True) -> str | None:
    header = connection.headers.get(KEY_HEADER)
    if header:
        return header
    authorization = connection.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return connection.cookies.get(ADMIN_COOKIE) if cookie else None


def same_key(presented: str | None, expected: str | None) -> bool:
    if not presented or not expected:
        return False
    return secrets.compare_digest(presented.encode(), expected.encode())


def is_admin(connection: HTTPConnection, admin_key: str | None) -> bool:
    return same_key(presented_key(connection), admin_key)


class ApiKeyMiddleware:
    """Guards the JSON API under /v1: writes need the admin key when one is configured, reads and event
    posting need the public (or admin) key when a public key is configured. Unconfigured keys guard
    nothing, so a local `shelfwise serve` stays open as before."""

    def __init__(self, app: ASGIApp, admin_key: str | None, public_key: str | None) -> None:
        self.app = app
        self.admin_key = admin_key
        self.public_key = public_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        needed = self._needed(scope.get("method", "GET"), path)
        if needed is not None:
            connection = HTTPConnection(scope)
            key = presented_key(connection)
            allowed = same_key(key, self.admin_key) or (needed == "public" and same_key(key, self.public_key))
            if not allowed:
                await _refuse(send, needed)
                return
        await self.app(scope, receive, send)

    def _needed(self, method: str, path: str) -> str | None:
        """Which key a request needs: "admin", "public", or None."""
        if path in OPEN_PATHS:
            return None
        reading = method in ("GET", "HEAD", "OPTIONS") or (method, path) in PUBLIC_WRITES
        if reading:
            return "public" if self.public_key else None
        return "admin" if self.admin_key else None


async def _refuse(send: Send, needed: str) -> None:
    message = (
        f"this endpoint needs the {needed} API key: send it in the X-API-Key header "
        "(or as Authorization: Bearer <key>)"
    )
    body = json.dumps({"error": {"code": "unauthorized", "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")],
        }
    )
    await send({"type": "http.response.body", "body": body})
