"""Who may call what: the scopes an API key (or a browser session) carries, and the caller of a request.

Three scopes, each opening everything the one before it opens:

- `storefront`: what a browser may hold. Catalog-level reads (products, search, suggest, recommendations)
  and event posting, naming no user but its own: a storefront key names anonymous sessions only (never
  a user), a browser's signed session only itself (and, in demo mode, the demo shopper it switched to).
- `server`: what a shop's back end holds. Every read but the admin-only ones, for any user, and event
  posting for any user.
- `admin`: everything, including quality, quarantine, stats, every write, and the keys themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Scope(StrEnum):
    STOREFRONT = "storefront"
    SERVER = "server"
    ADMIN = "admin"

    def reaches(self, needed: Scope) -> bool:
        """Whether a caller with this scope may do what `needed` guards."""
        return _RANK[self] >= _RANK[needed]


_RANK = {Scope.STOREFRONT: 0, Scope.SERVER: 1, Scope.ADMIN: 2}


@dataclass(frozen=True)
class Caller:
    """The authenticated caller of one request. `key_id` names the key (or the browser session) for the
    rate limit and the logs; `session_id`/`user_id` are set for a browser session: the only shopper a
    storefront caller may name."""

    key_id: str
    scope: Scope
    session_id: str | None = None
    user_id: str | None = None

    def may_name(self, *, user_id: str | None, session_id: str | None) -> bool:
        """Whether this caller may act for the user and session a request names (None names nobody)."""
        if self.scope.reaches(Scope.SERVER):
            return True
        if self.session_id is None:  # a storefront key: the shop's anonymous visitors, never a user
            return user_id is None
        return user_id in (None, self.user_id) and session_id in (None, self.session_id)


class KeyListing(BaseModel):
    """A key as listed (in the API, the CLI and the admin page): never its secret. `configured`: set in the
    settings, so not revocable from the shop."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    key_id: str
    name: str
    scope: Scope
    prefix: str
    created_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    configured: bool = False
