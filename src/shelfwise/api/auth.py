"""Who may call which route: API keys with scopes (shelfwise.domain.access), as FastAPI dependencies so that
/docs shows which key each route takes.

A key travels in `X-API-Key` or as `Authorization: Bearer <key>`. It is one of the keys configured in the
settings (`admin_api_key`: admin, `public_api_key`: server) or a stored key (`shelfwise keys create`).
Where the app also serves the pages, a browser that sends no key is who its signed session says
(`browser`): a logged-in admin, or a shopper's own session with the storefront scope. Each route needs a
scope:

- storefront: products, search, suggest, recommendations, answers, event posting; a storefront caller may
  name no user or session but its own (a storefront key: anonymous sessions only);
- server: merchandising rules and synonyms (reading);
- admin: quality, quarantine, stats, every other write, and the keys.

A level no configured key could open stays open, so a local `shelfwise serve` needs no key: the admin
level while no admin key exists, the server level while no key at all exists, the storefront level while
no storefront or server key exists (and then, once any key exists, a caller without one is an anonymous
visitor who may name no user). /healthz and /metrics are always open. Each caller's requests are
limited by a token bucket per key (or session).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Depends, Request, Security, params
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPBearer

from shelfwise.api.payloads import as_rows
from shelfwise.domain.access import Caller, Scope
from shelfwise.domain.errors import AccessDeniedError
from shelfwise.domain.ratelimit import RateLimiter
from shelfwise.engine import Engine

KEY_HEADER = "X-API-Key"
GUARDED_TTL = 2.0  # seconds a level's open-or-guarded state is reused, so a request costs no extra query

BrowserCaller = Callable[[Request], Caller | None]
# Who calls an open storefront level without a key or a session, where some key guards the shop.
ANONYMOUS = Caller(key_id="anonymous", scope=Scope.STOREFRONT)
Check = Callable[[Request, Caller], Awaitable[None]]

# One header, a name per scope, so that /docs offers a field per key and says which routes take which.
KEY_SCHEMES = {
    scope: APIKeyHeader(name=KEY_HEADER, scheme_name=name, description=description, auto_error=False)
    for scope, name, description in (
        (
            Scope.STOREFRONT,
            "StorefrontKey",
            "A storefront key (safe in a browser): catalog reads and anonymous events.",
        ),
        (
            Scope.SERVER,
            "ServerKey",
            "A server key (SHELFWISE_PUBLIC_API_KEY or `shelfwise keys create --scope server`): every read "
            "but quality, quarantine and stats, and events for any user.",
        ),
        (
            Scope.ADMIN,
            "AdminKey",
            "An admin key (SHELFWISE_ADMIN_API_KEY or `shelfwise keys create --scope admin`): everything.",
        ),
    )
}
BEARER_KEY = HTTPBearer(
    scheme_name="BearerKey", description="Any key as `Authorization: Bearer <key>`.", auto_error=False
)


class ApiKeyRequiredError(Exception):
    """A guarded route was called without a valid key (answered 401 by the error handlers)."""

    def __init__(self, needed: Scope, presented: bool = False) -> None:
        problem = "the key sent is not a valid key (unknown or revoked); " if presented else ""
        super().__init__(
            f"{problem}this endpoint needs a key with the {needed} scope or above: send it in the "
            "X-API-Key header (or as Authorization: Bearer <key>)"
        )
        self.needed = needed


class ApiAccess:
    """The dependencies a route of each scope declares, over the engine's keys.

    `browser`: who a request that sends no key is, from its session cookies (where the pages are served
    by the same app); `browser_cookies` names those cookies for /docs."""

    def __init__(
        self, engine: Engine, browser: BrowserCaller | None = None, browser_cookies: tuple[str, ...] = ()
    ) -> None:
        self.engine = engine
        self.browser = browser
        security = engine.settings.security
        self.limiter = RateLimiter(security.api_rate_per_second, security.api_burst, "requests with this key")
        self._cookie_schemes = [
            Security(
                APIKeyCookie(
                    name=name,
                    scheme_name=f"Session({name})",
                    description="A browser's signed session (set by the pages); writes need X-CSRF-Token.",
                    auto_error=False,
                )
            )
            for name in browser_cookies
        ]
        self._guarded: tuple[float, set[Scope]] = (-GUARDED_TTL, set())

    def storefront(self) -> list[params.Depends]:
        """Catalog reads: any scope; a storefront caller names no user or session but its own."""
        return self._level(Scope.STOREFRONT, _query_names_only_itself)

    def events(self) -> list[params.Depends]:
        """Event posting: any scope; a storefront caller's events name no user or session but its own."""
        return self._level(Scope.STOREFRONT, _events_name_only_itself)

    def server(self) -> list[params.Depends]:
        """Reads a browser has no use for: the server or admin scope."""
        return self._level(Scope.SERVER)

    def admin(self) -> list[params.Depends]:
        """Admin-only reads and every write that changes the shop: the admin scope."""
        return self._level(Scope.ADMIN)

    def _level(self, needed: Scope, check: Check | None = None) -> list[params.Depends]:
        schemes = [Security(scheme) for scope, scheme in KEY_SCHEMES.items() if scope.reaches(needed)]
        cookies = self._cookie_schemes if self.browser is not None else []

        async def guard(request: Request) -> None:
            """Let the request through when its caller's scope reaches `needed` (or the level is open)."""
            if self._is_open(needed):
                if check is not None and self._guarded[1]:
                    # open to browsers, yet some key guards the shop: a caller without one is an
                    # anonymous visitor, who names no user (a session serves them)
                    await check(request, self._caller(request, needed) or ANONYMOUS)
                return
            caller = self._caller(request, needed)
            if caller is None:
                raise ApiKeyRequiredError(needed)
            if not caller.scope.reaches(needed):
                raise AccessDeniedError(f"a {caller.scope} key cannot call this endpoint: it needs {needed}")
            self.limiter.take(caller.key_id)
            if check is not None:
                await check(request, caller)

        return [*schemes, Security(BEARER_KEY), *cookies, Depends(guard)]

    def _caller(self, request: Request, needed: Scope) -> Caller | None:
        """The key's caller, else the browser session's; a key sent but not valid is refused."""
        key = request.headers.get(KEY_HEADER)
        if not key:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            key = token.strip() if scheme.lower() == "bearer" else None
        if key:
            caller = self.engine.keys.authenticate(key)
            if caller is None:
                raise ApiKeyRequiredError(needed, presented=True)
            return caller
        return self.browser(request) if self.browser is not None else None

    def _is_open(self, needed: Scope) -> bool:
        """Whether no configured key could open `needed`'s level (a local serve without keys)."""
        checked, guarded = self._guarded
        now = time.monotonic()
        if now - checked >= GUARDED_TTL:
            guarded = self.engine.keys.guarded()
            self._guarded = (now, guarded)
        if needed is Scope.ADMIN:
            return Scope.ADMIN not in guarded
        if needed is Scope.SERVER:
            return not guarded  # any key configured means a shop that guards its shoppers' data
        return not guarded & {Scope.STOREFRONT, Scope.SERVER}


async def _query_names_only_itself(request: Request, caller: Caller) -> None:
    params_ = request.query_params
    _refuse_others(caller, params_.get("user_id"), params_.get("session_id"))


async def _events_name_only_itself(request: Request, caller: Caller) -> None:
    if caller.scope.reaches(Scope.SERVER):
        return
    try:
        payload = await request.json()
    except ValueError:
        return  # not JSON: the handler answers that
    if not isinstance(payload, list | dict):
        return
    for row in as_rows(payload, "events"):
        if isinstance(row, dict):
            _refuse_others(caller, _named(row.get("user_id")), _named(row.get("session_id")))


def _named(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _refuse_others(caller: Caller, user_id: str | None, session_id: str | None) -> None:
    if not caller.may_name(user_id=user_id or None, session_id=session_id or None):
        raise AccessDeniedError(
            "a storefront caller may name no user or session but its own"
            if caller.session_id
            else "a storefront key may name anonymous sessions only, never a user: use a server key"
        )
