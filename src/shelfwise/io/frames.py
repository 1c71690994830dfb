"""Expressions over event frames (polars) that several layers share, so each rule is written once."""

from __future__ import annotations

import polars as pl

from shelfwise.domain.events import SESSION_ACTOR, USER_ACTOR

# The columns of an events frame, as the store reads it for training and evaluation (Event's fields).
EVENT_FRAME_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "user_id": pl.Utf8,
    "session_id": pl.Utf8,
    "event_type": pl.Utf8,
    "product_id": pl.Utf8,
    "query": pl.Utf8,
    "timestamp": pl.Datetime("us"),
    "quantity": pl.Int64,
    "price": pl.Float64,
    "request_id": pl.Utf8,
    "event_id": pl.Utf8,
}


def actor_column(name: str = "actor") -> pl.Expr:
    """`shelfwise.domain.events.actor_key` over a frame with user_id and session_id columns: the user when
    known, else the anonymous session; null when an event names neither."""
    return (
        pl.when(pl.col("user_id").is_not_null())
        .then(pl.lit(USER_ACTOR) + pl.col("user_id"))
        .otherwise(pl.lit(SESSION_ACTOR) + pl.col("session_id"))
        .alias(name)
    )
