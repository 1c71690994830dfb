"""/v1/keys: the stored API keys, for admins. A new key's secret is answered once and never again."""

from __future__ import annotations

from fastapi import APIRouter, params, status
from pydantic import BaseModel, ConfigDict, Field

from shelfwise.domain.access import KeyListing, Scope
from shelfwise.engine import Engine


class NewApiKey(BaseModel):
    """What to create: a name to tell it by, and its scope."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    scope: Scope


class CreatedApiKey(BaseModel):
    """The new key: `secret` is shown this once; only its hash is stored."""

    key: KeyListing
    secret: str


def keys_router(engine: Engine, dependencies: list[params.Depends]) -> APIRouter:
    """The key routes, each behind `dependencies` (the admin scope)."""
    router = APIRouter(prefix="/v1/keys", tags=["keys"], dependencies=dependencies)

    @router.get("", response_model=list[KeyListing])
    def list_keys() -> list[KeyListing]:
        """The keys set in the settings, then every stored key, revoked ones included."""
        return [KeyListing.model_validate(key) for key in engine.keys.listing()]

    @router.post("", response_model=CreatedApiKey, status_code=status.HTTP_201_CREATED)
    def create_key(new: NewApiKey) -> CreatedApiKey:
        """Create a key. To rotate one: create its successor, switch the client over, revoke the old."""
        created, secret = engine.keys.create(new.name, new.scope)
        return CreatedApiKey(key=KeyListing.model_validate(created), secret=secret)

    @router.delete("/{key_id}", response_model=KeyListing)
    def revoke_key(key_id: str) -> KeyListing:
        """Revoke a key by its id or prefix; it stops working at once."""
        return KeyListing.model_validate(engine.keys.revoke(key_id))

    return router
