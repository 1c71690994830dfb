"""What keeps a browser's session its own: signed cookies, CSRF tokens, same-origin checks and the
security headers of every page.

- Sessions are signed cookies (itsdangerous): the shopper's (`sw_shop`: its session id, and in demo mode
  the shopper it switched to) and the admin's (`sw_admin`: the id of the key that logged in, never the
  key). A cookie that does not verify reads as absent. Both are HttpOnly, Secure when the request came
  over https (directly or through a trusted proxy), SameSite=Lax for the shop and Strict for the admin.
- Every form carries a CSRF token that must match the signed `sw_csrf` cookie, and the pages' scripts send
  it as `X-CSRF-Token`; a write whose Origin (or Referer) names another site is refused as well.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shelfwise.settings import Settings

SHOP_COOKIE = "sw_shop"
ADMIN_COOKIE = "sw_admin"
CSRF_COOKIE = "sw_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SECRET_FILE = "session-secret"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_AGE = 30 * 24 * 3600

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: https: http:; connect-src 'self'; frame-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; "
    "frame-ancestors {ancestors}"
)
# Swagger UI and ReDoc load their scripts from a CDN and start them inline: no CSP there.
API_DOCS = ("/docs", "/redoc")
# Pages the admin pages embed in a frame of their own.
FRAMED_BY_SELF = ("/admin/quality/report.html",)


def session_secret(settings: Settings) -> str:
    """The secret that signs the sessions: the setting, else one made once and kept in the data directory
    (readable by its owner only), so that sessions outlive a restart."""
    if settings.security.session_secret:
        return settings.security.session_secret
    path = settings.data_dir / SECRET_FILE
    try:
        return _write_new_secret(path)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()


def _write_new_secret(path: Path) -> str:
    secret = secrets.token_urlsafe(48)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(secret)
    return secret


def is_https(connection: HTTPConnection) -> bool:
    """Whether the request came over TLS (a trusted proxy's X-Forwarded-Proto has been applied)."""
    return connection.url.scheme in ("https", "wss")


class SignedCookies:
    """Cookies whose value is signed data: one that was altered, or signed for another cookie, reads None."""

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="shelfwise-browser")

    def read(self, connection: HTTPConnection, name: str, max_age: float) -> dict[str, Any] | None:
        value = connection.cookies.get(name)
        if not value:
            return None
        try:
            data = self._serializer.loads(value, max_age=int(max_age), salt=name)
        except BadSignature:
            return None
        return data if isinstance(data, dict) else None

    def write(
        self,
        request: Request,
        response: Response,
        name: str,
        data: dict[str, Any],
        max_age: float,
        samesite: str = "lax",
    ) -> None:
        response.set_cookie(
            name,
            self._serializer.dumps(data, salt=name),
            max_age=int(max_age),
            httponly=True,
            secure=is_https(request),
            samesite=samesite,  # type: ignore[arg-type]
            path="/",
        )

    # CSRF -------------------------------------------------------------------------------------------

    def csrf_token(self, request: Request) -> str:
        """The request's CSRF token: the one its cookie holds, else a new one (set by `keep_csrf`)."""
        token = getattr(request.state, "csrf_token", None)
        if token is None:
            stored = self.read(request, CSRF_COOKIE, CSRF_AGE)
            token = stored.get("token") if stored else None
            if not isinstance(token, str):
                token = secrets.token_urlsafe(24)
                request.state.csrf_new = True
            request.state.csrf_token = token
        return str(token)

    def keep_csrf(self, request: Request, response: Response) -> None:
        """Set the CSRF cookie on a response that handed out a new token."""
        if getattr(request.state, "csrf_new", False):
            self.write(request, response, CSRF_COOKIE, {"token": self.csrf_token(request)}, CSRF_AGE)

    def genuine(self, connection: HTTPConnection, presented: str | None) -> bool:
        """Whether a write comes from this site's own page: the token it presents matches its cookie,
        and its Origin (or Referer) is this site."""
        stored = self.read(connection, CSRF_COOKIE, CSRF_AGE)
        token = stored.get("token") if stored else None
        if not presented or not isinstance(token, str):
            return False
        return secrets.compare_digest(presented.encode(), token.encode()) and same_origin(connection)


def same_origin(connection: HTTPConnection) -> bool:
    """Whether the request's Origin (else its Referer) names this site; a request with neither (not a
    browser's) passes, and its CSRF token decides. The host is compared, not the scheme, so that a TLS
    proxy in front does not make every form look foreign."""
    own = connection.url.netloc
    origin = connection.headers.get("origin")
    if origin is not None:
        return urlsplit(origin).netloc == own
    referer = connection.headers.get("referer")
    if referer:
        return urlsplit(referer).netloc == own
    return True


class SecurityHeadersMiddleware:
    """The usual headers on every response: no MIME sniffing, no referrer to other sites, no framing by
    other sites, and a Content-Security-Policy without inline scripts (the pages' scripts are files)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        framed = path in FRAMED_BY_SELF
        headers = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"x-frame-options", b"SAMEORIGIN" if framed else b"DENY"),
        ]
        if not path.startswith(API_DOCS):
            policy = CONTENT_SECURITY_POLICY.format(ancestors="'self'" if framed else "'none'")
            headers.append((b"content-security-policy", policy.encode()))
        if scope.get("scheme") == "https":
            headers.append((b"strict-transport-security", b"max-age=31536000"))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, with_headers)
