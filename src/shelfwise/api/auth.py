"""API keys as FastAPI security dependencies, so that /docs shows which key each route takes.

The admin key guards every write that changes the shop; the public key, when set, guards reads and event
posting (the storefront posts shoppers' events with it), and the admin key opens those too. A key travels
in `X-API-Key` or as `Authorization: Bearer <key>`; where the app also serves the admin pages, the admin
key may come in the cookie their login sets, so that the pages' scripts can call this API. A key that is
not configured guards nothing, so a local `shelfwise serve` stays open; /healthz and /metrics are always
open.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import Depends, Security, params
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

KEY_HEADER = "X-API-Key"

Needed = Literal["public", "admin"]

# Two names for the one header, so that /docs offers a field per key and says which routes take which.
PUBLIC_KEY = APIKeyHeader(
    name=KEY_HEADER,
    scheme_name="PublicKey",
    description="The public API key (SHELFWISE_PUBLIC_API_KEY): reads and event posting, when it is set.",
    auto_error=False,
)
ADMIN_KEY = APIKeyHeader(
    name=KEY_HEADER,
    scheme_name="AdminKey",
    description="The admin API key (SHELFWISE_ADMIN_API_KEY): every write that changes the shop, and "
    "everything the public key opens.",
    auto_error=False,
)
BEARER_KEY = HTTPBearer(
    scheme_name="BearerKey",
    description="Either key as `Authorization: Bearer <key>`.",
    auto_error=False,
)


class ApiKeyRequiredError(Exception):
    """A guarded route was called without the key it needs (answered 401 by the error handlers)."""

    def __init__(self, needed: Needed) -> None:
        super().__init__(
            f"this endpoint needs the {needed} API key: send it in the X-API-Key header "
            "(or as Authorization: Bearer <key>)"
        )
        self.needed = needed


def same_key(presented: str | None, expected: str | None) -> bool:
    """Whether a presented key is the expected one, compared in constant time; nothing matches no key."""
    if not presented or not expected:
        return False
    return secrets.compare_digest(presented.encode(), expected.encode())


def _no_cookie() -> str | None:
    return None


class ApiKeys:
    """The configured keys, and the dependencies a route of each level declares.

    `admin_cookie`: the name of a cookie that may carry the admin key (the admin pages' login cookie,
    where the pages are served by the same app); None accepts the keys in headers only."""

    def __init__(
        self, admin_key: str | None, public_key: str | None, admin_cookie: str | None = None
    ) -> None:
        self.admin_key = admin_key
        self.public_key = public_key
        self.admin_cookie = admin_cookie
        self._public, self._admin = self._guards()

    def public(self) -> list[params.Depends]:
        """Dependencies of a read (or of event posting): the public or the admin key, when a public key is
        set; none otherwise, so that the route is open and /docs shows no lock on it."""
        return [Security(self._public)] if self.public_key else []

    def admin(self) -> list[params.Depends]:
        """Dependencies of a write: the admin key, when one is set; none otherwise."""
        return [Security(self._admin)] if self.admin_key else []

    def _guards(self) -> tuple[Callable[..., None], Callable[..., None]]:
        # A default, not an annotation: FastAPI resolves string annotations in the module's globals.
        cookie_scheme = (
            Security(
                APIKeyCookie(
                    name=self.admin_cookie,
                    scheme_name="AdminCookie",
                    description="The admin key in the cookie the admin pages' login sets.",
                    auto_error=False,
                )
            )
            if self.admin_cookie
            else Depends(_no_cookie)
        )

        def public_key(
            public: Annotated[str | None, Security(PUBLIC_KEY)],
            _admin: Annotated[str | None, Security(ADMIN_KEY)],  # the same header, declared for /docs
            bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER_KEY)],
            cookie: str | None = cookie_scheme,
        ) -> None:
            """Let the request through with the public or the admin key, from wherever it came."""
            key = _presented(public, bearer, cookie)
            if not (same_key(key, self.admin_key) or same_key(key, self.public_key)):
                raise ApiKeyRequiredError("public")

        def admin_key(
            admin: Annotated[str | None, Security(ADMIN_KEY)],
            bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER_KEY)],
            cookie: str | None = cookie_scheme,
        ) -> None:
            """Let the request through with the admin key only."""
            if not same_key(_presented(admin, bearer, cookie), self.admin_key):
                raise ApiKeyRequiredError("admin")

        return public_key, admin_key


def _presented(
    header: str | None, bearer: HTTPAuthorizationCredentials | None, cookie: str | None
) -> str | None:
    """The key a request presents: the header first, then the bearer token, then the cookie."""
    return header or (bearer.credentials if bearer is not None else None) or cookie
