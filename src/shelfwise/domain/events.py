"""A user event: a view, click, add-to-cart, purchase or search."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shelfwise.domain.values import MAX_QUANTITY, Price


class EventType(StrEnum):
    VIEW = "view"
    CLICK = "click"
    ADD_TO_CART = "add_to_cart"
    PURCHASE = "purchase"
    SEARCH = "search"


# How much each kind of event says about a user's interest in an item; used to weight interactions.
EVENT_WEIGHTS: dict[EventType, float] = {
    EventType.VIEW: 1.0,
    EventType.CLICK: 1.0,
    EventType.ADD_TO_CART: 3.0,
    EventType.PURCHASE: 5.0,
    EventType.SEARCH: 0.0,
}


class Event(BaseModel):
    """One event. A search carries `query`; every other type carries `product_id`."""

    model_config = ConfigDict(extra="forbid")

    user_id: str | None = Field(default=None, min_length=1, max_length=256)
    session_id: str | None = Field(default=None, min_length=1, max_length=256)
    event_type: EventType
    product_id: str | None = Field(default=None, min_length=1, max_length=256)
    query: str | None = None
    timestamp: datetime = Field(default_factory=lambda: datetime.now(UTC))
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY)
    price: Price | None = None
    request_id: str | None = Field(default=None, max_length=64)
    event_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description="The client's id of this event, unique per user or session (a UUID serves): a retried "
        "send or a re-run import with the same id is stored once. Without it, see `event_key`.",
    )

    @field_validator("timestamp", mode="after")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        # Naive timestamps are taken as UTC so that every comparison is between aware datetimes.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @model_validator(mode="after")
    def _check_shape(self) -> Event:
        if self.user_id is None and self.session_id is None:
            raise ValueError("an event needs a user_id or a session_id")
        if self.event_type is EventType.SEARCH:
            if not (self.query and self.query.strip()):
                raise ValueError("a search event needs a non-empty query")
        elif self.product_id is None:
            raise ValueError(f"a {self.event_type.value} event needs a product_id")
        return self

    @classmethod
    def trusted(cls, values: dict[str, Any]) -> Event:
        """An event from values that were already validated (every field given, types and rules checked),
        as the gate's vectorised path does for whole columns. pydantic's `model_construct` costs ~25 µs an
        event, which dominates a million-row import; this sets the same instance state directly."""
        event = cls.__new__(cls)
        object.__setattr__(event, "__dict__", values)
        object.__setattr__(event, "__pydantic_fields_set__", set(values))
        object.__setattr__(event, "__pydantic_extra__", None)
        object.__setattr__(event, "__pydantic_private__", None)
        return event

    @property
    def actor(self) -> str:
        """The key recent history is kept under: the user, or the anonymous session."""
        return actor_key(self.user_id, self.session_id)

    @property
    def key(self) -> str:
        """The idempotency key the store keeps this event under (see `event_key`)."""
        return event_key(self)


USER_ACTOR = "user:"
SESSION_ACTOR = "session:"


def actor_key(user_id: str | None, session_id: str | None) -> str:
    """Whose history an event belongs to: the user when known, else the anonymous session. The one rule
    every layer keys histories by (`shelfwise.io.frames.actor_column` is the same rule over a frame)."""
    return f"{USER_ACTOR}{user_id}" if user_id else f"{SESSION_ACTOR}{session_id}"


_ABSENT = "\x00"  # stands for a missing value in a key: no id or text can be only a NUL
_KEY_TIME = "%Y-%m-%dT%H:%M:%S.%f"


def event_key(event: Event) -> str:
    """The idempotency key of an event: the same event sent twice (a retried request, a re-run or
    overlapping import) gets the same key, and the store keeps one. With a client `event_id` the key is
    that id within the event's user and session; without one it is the event's content: user, session,
    type, product, query, quantity and the timestamp to the microsecond. Neither the source file nor the
    line takes part, so the same events in another file are recognised too; the price and the request_id
    do not either, as they describe the event rather than tell two events apart. Two genuinely separate
    events alike in all of these collapse into one: a client for which that can happen sends event_id."""
    actor = (event.user_id or _ABSENT, event.session_id or _ABSENT)
    if event.event_id is not None:
        parts: tuple[str, ...] = ("id", *actor, event.event_id)
    else:
        moment = event.timestamp
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
        parts = (
            "event",
            *actor,
            event.event_type.value,
            event.product_id or _ABSENT,
            _ABSENT if event.query is None else event.query,
            str(event.quantity),
            moment.strftime(_KEY_TIME),
        )
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()
