"""The keys that open the API: the two configured in the settings (bootstrap keys) and the stored ones.

`admin_api_key` is an admin key and `public_api_key` a server key; both keep working beside the stored
keys, and neither is ever stored or listed with its secret. A stored key is created, listed and revoked
here (the CLI's `shelfwise keys` and the admin API's /v1/keys call this)."""

from __future__ import annotations

import secrets

from sqlalchemy import Engine as SqlEngine

from shelfwise.domain.access import Caller, KeyListing, Scope
from shelfwise.domain.errors import InvalidRequestError
from shelfwise.settings import Settings
from shelfwise.store.keys import KeyStore, StoredKey

SETTINGS_KEYS = (
    ("admin_api_key", "settings-admin", Scope.ADMIN),
    ("public_api_key", "settings-public", Scope.SERVER),
)


class KeyRing:
    """Authenticates presented keys and manages the stored ones."""

    def __init__(self, settings: Settings, database: SqlEngine) -> None:
        self.settings = settings
        self.stored = KeyStore(database)

    def authenticate(self, key: str) -> Caller | None:
        """The caller a presented key makes; None for a key that is not (or no longer) valid."""
        for setting, key_id, scope in SETTINGS_KEYS:
            configured = getattr(self.settings, setting)
            if configured and secrets.compare_digest(key.encode(), configured.encode()):
                return Caller(key_id=key_id, scope=scope)
        found = self.stored.find(key)
        return Caller(key_id=found.key_id, scope=found.scope) if found else None

    def guarded(self) -> set[Scope]:
        """The scopes some key is configured for: a level no key could open stays open (a local serve)."""
        scopes = {scope for setting, _, scope in SETTINGS_KEYS if getattr(self.settings, setting)}
        return scopes | self.stored.active_scopes()

    def create(self, name: str, scope: Scope) -> tuple[StoredKey, str]:
        """A new stored key and its secret (shown once)."""
        return self.stored.create(name, scope)

    def revoke(self, key_id: str) -> StoredKey:
        """Revoke a stored key by id or prefix; the settings keys are changed in the settings instead."""
        for setting, configured_id, _ in SETTINGS_KEYS:
            if key_id == configured_id:
                raise InvalidRequestError(
                    f"{key_id} is the {setting} setting: change or unset it where it is configured"
                )
        return self.stored.revoke(key_id)

    def caller(self, key_id: str) -> Caller | None:
        """The caller a key id makes while its key is valid (a browser session remembers the id, not
        the key): a settings key while it is set, a stored key until it is revoked."""
        for setting, configured_id, scope in SETTINGS_KEYS:
            if key_id == configured_id:
                return Caller(key_id=key_id, scope=scope) if getattr(self.settings, setting) else None
        found = self.stored.get(key_id)
        return Caller(key_id=found.key_id, scope=found.scope) if found and found.active else None

    def listing(self) -> list[KeyListing]:
        """The settings keys that are set, then every stored key; never a secret."""
        rows = [
            KeyListing(
                key_id=key_id,
                name=f"{setting} (settings)",
                scope=scope,
                prefix="",
                created_at=None,
                last_used_at=None,
                revoked_at=None,
                configured=True,
            )
            for setting, key_id, scope in SETTINGS_KEYS
            if getattr(self.settings, setting)
        ]
        rows += [KeyListing.model_validate(stored) for stored in self.stored.list()]
        return rows
