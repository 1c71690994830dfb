"""The admin pages' login: the admin API key, from the login form's cookie (SameSite=Strict) or from a
header (`X-API-Key`, `Authorization: Bearer`). The HTTP API guards its own routes (shelfwise.api.auth);
where both are served by one app, it accepts this cookie too, so that the pages' scripts can call it."""

from __future__ import annotations

import secrets

from starlette.requests import HTTPConnection

ADMIN_COOKIE = "sw_admin"
KEY_HEADER = "x-api-key"


def presented_key(connection: HTTPConnection) -> str | None:
    """The key a request presents: the header first, then the bearer token, then the login cookie."""
    header = connection.headers.get(KEY_HEADER)
    if header:
        return header
    authorization = connection.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return connection.cookies.get(ADMIN_COOKIE)


def same_key(presented: str | None, expected: str | None) -> bool:
    """Whether a presented key is the expected one, compared in constant time; nothing matches no key."""
    if not presented or not expected:
        return False
    return secrets.compare_digest(presented.encode(), expected.encode())


def is_admin(connection: HTTPConnection, admin_key: str | None) -> bool:
    """Whether the request carries the admin key (never, when none is configured)."""
    return same_key(presented_key(connection), admin_key)
