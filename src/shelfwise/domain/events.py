"""A user event: a view, click, add-to-cart, purchase or search."""

from __future__ import annotations

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


USER_ACTOR = "user:"
SESSION_ACTOR = "session:"


def actor_key(user_id: str | None, session_id: str | None) -> str:
    """Whose history an event belongs to: the user when known, else the anonymous session. The one rule
    every layer keys histories by (`shelfwise.io.frames.actor_column` is the same rule over a frame)."""
    return f"{USER_ACTOR}{user_id}" if user_id else f"{SESSION_ACTOR}{session_id}"
