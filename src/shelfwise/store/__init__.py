"""Persistence: the relational store (SQLite or PostgreSQL by URL) and the online state (memory or Redis)."""

from shelfwise.store.online import MemoryOnlineState, OnlineState, RedisOnlineState, open_online_state
from shelfwise.store.repository import Store

__all__ = ["MemoryOnlineState", "OnlineState", "RedisOnlineState", "Store", "open_online_state"]
