"""Online state: each actor's most recent events, read on every request so that an event changes the
very next response without retraining. In-process by default; Redis when several processes serve."""

from __future__ import annotations

import threading
from collections import deque
from typing import Protocol

from shelfwise.domain import Event


class OnlineState(Protocol):
    """Each actor's latest events (`user:ID` or `session:ID`), kept beside the store so that a request
    reads them without a query and an event changes the very next response."""

    def push(self, actor: str, event: Event) -> None:
        """Append an event just stored to the actor's history, if that history is already held."""
        ...

    def recent(self, actor: str, limit: int) -> list[Event] | None:
        """Newest last; None when this state has never seen the actor (the caller then asks the store)."""
        ...

    def seed(self, actor: str, events: list[Event]) -> None:
        """Fill an actor's history from the store, oldest first, unless it is already known."""
        ...

    def forget(self, actor: str) -> None:
        """Drop the actor's history (a user asked to be forgotten)."""
        ...

    def close(self) -> None:
        """Release connections; the held histories themselves outlive a Redis client."""
        ...


class MemoryOnlineState:
    """Online state in this process: one capped deque per actor, behind a lock. Right for one serving
    process; several processes share RedisOnlineState instead."""

    def __init__(self, max_events: int = 200) -> None:
        self.max_events = max_events
        self._events: dict[str, deque[Event]] = {}
        self._lock = threading.Lock()

    def push(self, actor: str, event: Event) -> None:
        """Append to a seeded history; an actor not yet seeded is left to the next read."""
        with self._lock:
            queue = self._events.get(actor)
            if queue is not None:
                queue.append(event)
            # An actor not yet seeded is left alone: the next read seeds it from the store, which
            # already holds this event, so nothing is counted twice.

    def recent(self, actor: str, limit: int) -> list[Event] | None:
        """The actor's last `limit` events, newest last; None when the actor was never seeded."""
        with self._lock:
            queue = self._events.get(actor)
            return None if queue is None else list(queue)[-limit:]

    def seed(self, actor: str, events: list[Event]) -> None:
        """Fill the actor's history from the store, oldest first, unless another thread already did."""
        with self._lock:
            if actor not in self._events:
                self._events[actor] = deque(events, maxlen=self.max_events)

    def forget(self, actor: str) -> None:
        """Drop the actor's history."""
        with self._lock:
            self._events.pop(actor, None)

    def close(self) -> None:
        """Nothing to release: the histories live and die with this object."""


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
        """Append to a seeded history, capped and with its expiry renewed."""
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
        """The actor's last `limit` events, newest last; None when the key does not exist (never seeded
        or expired)."""
        key = self._key(actor)
        raw = self.client.lrange(key, -limit, -1)
        if not raw and not self.client.exists(key):
            return None
        return [Event.model_validate_json(item) for item in raw if item != b"{}"]

    def seed(self, actor: str, events: list[Event]) -> None:
        """Replace the actor's history with `events` from the store, oldest first."""
        key = self._key(actor)
        pipe = self.client.pipeline()
        # A placeholder marks an actor with no history as known, so the store is not asked again.
        payload = [e.model_dump_json() for e in events[-self.max_events :]] or ["{}"]
        pipe.delete(key)
        pipe.rpush(key, *payload)
        pipe.expire(key, self.ttl_seconds)
        pipe.execute()

    def forget(self, actor: str) -> None:
        """Delete the actor's key."""
        self.client.delete(self._key(actor))

    def close(self) -> None:
        """Close the client's pooled connections (the keys stay on the server)."""
        self.client.close()


def open_online_state(url: str, max_events: int = 200) -> OnlineState:
    """The online state a URL names: memory:// in this process, redis:// (rediss://, unix://) shared;
    ValueError for anything else. Each actor keeps at most `max_events`."""
    if url.startswith("memory"):
        return MemoryOnlineState(max_events)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisOnlineState(url, max_events)
    raise ValueError(f"online_url {url!r}: expected memory:// or redis://host:port/db")
