"""Online state: each actor's most recent events, read on every request so that an event changes the
very next response without retraining. In-process by default; Redis when several processes serve."""

from __future__ import annotations

import threading
from collections import deque
from typing import Protocol

from shelfwise.domain import Event


class OnlineState(Protocol):
    def push(self, actor: str, event: Event) -> None: ...

    def recent(self, actor: str, limit: int) -> list[Event] | None:
        """Newest last; None when this state has never seen the actor (the caller then asks the store)."""
        ...

    def seed(self, actor: str, events: list[Event]) -> None:
        """Fill an actor's history from the store, oldest first, unless it is already known."""
        ...

    def forget(self, actor: str) -> None: ...


class MemoryOnlineState:
    def __init__(self, max_events: int = 200) -> None:
        self.max_events = max_events
        self._events: dict[str, deque[Event]] = {}
        self._lock = threading.Lock()

    def push(self, actor: str, event: Event) -> None:
        with self._lock:
            queue = self._events.get(actor)
            if queue is not None:
                queue.append(event)
            # An actor not yet seeded is left alone: the next read seeds it from the store, which
            # already holds this event, so nothing is counted twice.

    def recent(self, actor: str, limit: int) -> list[Event] | None:
        with self._lock:
            queue = self._events.get(actor)
            return None if queue is None else list(queue)[-limit:]

    def seed(self, actor: str, events: list[Event]) -> None:
        with self._lock:
            if actor not in self._events:
                self._events[actor] = deque(events, maxlen=self.max_events)

    def forget(self, actor: str) -> None:
        with self._lock:
            self._events.pop(actor, None)


class RedisOnlineState:
    """A capped list per actor. Keys expire so that abandoned anonymous sessions do not pile up."""

    def __init__(self, url: str, max_events: int = 200, ttl_seconds: int = 30 * 86_400) -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self.max_events = max_events
        self.ttl_seconds = ttl_seconds

    def _key(self, actor: str) -> str:
        return f"shelfwise:recent:{actor}"

    def push(self, actor: str, event: Event) -> None:
        key = self._key(actor)
        # Only append to a seeded history (see MemoryOnlineState.push); the Lua-free check is racy only
        # in that a concurrent seed may miss this event, which the store still has.
        if self.client.exists(key):
            pipe = self.client.pipeline()
            pipe.rpush(key, event.model_dump_json())
            pipe.ltrim(key, -self.max_events, -1)
            pipe.expire(key, self.ttl_seconds)
            pipe.execute()

    def recent(self, actor: str, limit: int) -> list[Event] | None:
        key = self._key(actor)
        raw = self.client.lrange(key, -limit, -1)
        if not raw and not self.client.exists(key):
            return None
        return [Event.model_validate_json(item) for item in raw if item != b"{}"]

    def seed(self, actor: str, events: list[Event]) -> None:
        key = self._key(actor)
        pipe = self.client.pipeline()
        # A placeholder marks an actor with no history as known, so the store is not asked again.
        payload = [e.model_dump_json() for e in events[-self.max_events :]] or ["{}"]
        pipe.delete(key)
        pipe.rpush(key, *payload)
        pipe.expire(key, self.ttl_seconds)
        pipe.execute()

    def forget(self, actor: str) -> None:
        self.client.delete(self._key(actor))


def open_online_state(url: str, max_events: int = 200) -> OnlineState:
    if url.startswith("memory"):
        return MemoryOnlineState(max_events)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisOnlineState(url, max_events)
    raise ValueError(f"online_url {url!r}: expected memory:// or redis://host:port/db")
