"""The key store on SQLite and PostgreSQL: only a key's hash is kept, a revoked key stops matching."""

from __future__ import annotations

import sqlalchemy as sa

from shelfwise.domain.access import Scope
from shelfwise.store import Store
from shelfwise.store.keys import KeyStore, hash_secret


def test_keys_are_stored_hashed_found_by_hash_and_revocable(store_url: str) -> None:
    store = Store.open(store_url)
    try:
        keys = KeyStore(store.engine)
        created, secret = keys.create("storefront", Scope.STOREFRONT)
        other, _ = keys.create("reporting", Scope.SERVER)
        with store.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT * FROM api_keys")).all()
        assert len(rows) == 2 and not any(secret in str(value) for row in rows for value in row)
        assert hash_secret(secret) in {row.secret_hash for row in rows}

        found = keys.find(secret)
        assert found is not None and (found.key_id, found.scope) == (created.key_id, Scope.STOREFRONT)
        assert keys.list()[0].last_used_at is not None  # found: its use is noted
        assert keys.find(secret[:-1]) is None
        assert keys.active_scopes() == {Scope.STOREFRONT, Scope.SERVER}

        revoked = keys.revoke(created.prefix)
        assert revoked.revoked_at is not None and keys.find(secret) is None
        assert keys.active_scopes() == {Scope.SERVER} and other.active
        assert {key.key_id for key in keys.list()} == {created.key_id, other.key_id}
    finally:
        store.close()
