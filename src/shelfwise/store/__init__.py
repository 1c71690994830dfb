"""Persistence: the relational store (SQLite or PostgreSQL by URL) and the online state (memory or Redis)."""

from shelfwise.store.online import MemoryOnlineState, OnlineState, RedisOnlineState, open_online_state
from shelfwise.store.repository import Store, StoredEvents

__all__ = [
    "MemoryOnlineState",
    "OnlineState",
    "RedisOnlineState",
    "Store",
    "StoredEvents",
    "open_online_state",
]
