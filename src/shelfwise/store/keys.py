"""API keys with scopes, stored hashed: the store keeps a key's SHA-256, never the key.

A key is 32 random bytes (URL-safe text behind a `sw_<scope>_` prefix), so one unsalted SHA-256 is enough
to make the stored hash useless to a reader of the database, and lets a presented key be found by its hash.
Rotating a key is creating a new one and revoking the old; a revoked key stays listed, marked revoked.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Engine, MetaData, String, Table, insert, select, update

from shelfwise.domain.access import Scope
from shelfwise.domain.errors import InvalidRequestError, NotFoundError

KEY_BYTES = 32
PREFIX_CHARS = 14  # shown in listings to tell keys apart: the scope tag and a few random characters
MAX_NAME = 128
LAST_USED_EVERY = 60.0  # seconds: how stale "last used" may be, so a busy key does not write per request

metadata = MetaData()

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("name", String(MAX_NAME), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("prefix", String(PREFIX_CHARS), nullable=False),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
    Column("last_used_at", DateTime),
    Column("revoked_at", DateTime),
)


@dataclass(frozen=True)
class StoredKey:
    """What is known of a key, without its secret."""

    key_id: str
    name: str
    scope: Scope
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def hash_secret(secret: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret(scope: Scope) -> str:
    """A fresh key; its scope shows in its first characters so a leaked one is recognised."""
    return f"sw_{scope.value[:5]}_{secrets.token_urlsafe(KEY_BYTES)}"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=UTC)


class KeyStore:
    """The `api_keys` table of the store's database (created when missing)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)
        self._touched: dict[str, float] = {}
        self._lock = threading.Lock()

    def create(self, name: str, scope: Scope) -> tuple[StoredKey, str]:
        """A new key: what is stored of it, and the key itself (shown once, never stored)."""
        name = name.strip()
        if not name or len(name) > MAX_NAME:
            raise InvalidRequestError(f"a key needs a name of 1 to {MAX_NAME} characters, got {name!r}")
        secret = new_secret(scope)
        row = {
            "key_id": secrets.token_hex(8),
            "name": name,
            "scope": scope.value,
            "prefix": secret[:PREFIX_CHARS],
            "secret_hash": hash_secret(secret),
            "created_at": _now(),
            "last_used_at": None,
            "revoked_at": None,
        }
        with self.engine.begin() as conn:
            conn.execute(insert(api_keys).values(**row))
        return _stored(row), secret

    def find(self, secret: str) -> StoredKey | None:
        """The active key `secret` is, noting its use; None for an unknown or revoked key."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(api_keys).where(
                    api_keys.c.secret_hash == hash_secret(secret), api_keys.c.revoked_at.is_(None)
                )
            ).first()
        if row is None:
            return None
        found = _stored(row._asdict())
        self._note_use(found.key_id)
        return found

    def get(self, key_id: str) -> StoredKey | None:
        """A key by its id, revoked or not; None when there is none."""
        with self.engine.connect() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
        return _stored(row._asdict()) if row is not None else None

    def list(self) -> list[StoredKey]:
        """Every key, revoked ones included, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(api_keys).order_by(api_keys.c.created_at, api_keys.c.key_id))
            return [_stored(row._asdict()) for row in rows]

    def active_scopes(self) -> set[Scope]:
        """The scopes of the keys not revoked."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(api_keys.c.scope).where(api_keys.c.revoked_at.is_(None)).distinct())
            return {Scope(scope) for (scope,) in rows}

    def revoke(self, key_id: str) -> StoredKey:
        """Revoke a key by its id (or its prefix); it stops working at once. Revoking twice is harmless."""
        key = self._one(key_id)
        if key.active:
            with self.engine.begin() as conn:
                conn.execute(
                    update(api_keys).where(api_keys.c.key_id == key.key_id).values(revoked_at=_now())
                )
        return self._one(key.key_id)

    def _one(self, key_id: str) -> StoredKey:
        matches = [key for key in self.list() if key_id in (key.key_id, key.prefix)]
        if len(matches) != 1:
            problem = "no key" if not matches else "several keys"
            raise NotFoundError(
                f"{problem} with the id or prefix {key_id!r}; `shelfwise keys list` shows them"
            )
        return matches[0]

    def _note_use(self, key_id: str) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._touched.get(key_id, -LAST_USED_EVERY) < LAST_USED_EVERY:
                return
            self._touched[key_id] = now
        with self.engine.begin() as conn:
            conn.execute(update(api_keys).where(api_keys.c.key_id == key_id).values(last_used_at=_now()))


def _stored(row: Mapping[str, Any]) -> StoredKey:
    return StoredKey(
        key_id=str(row["key_id"]),
        name=str(row["name"]),
        scope=Scope(str(row["scope"])),
        prefix=str(row["prefix"]),
        created_at=row["created_at"].replace(tzinfo=UTC),
        last_used_at=_aware(row["last_used_at"]),
        revoked_at=_aware(row["revoked_at"]),
    )
