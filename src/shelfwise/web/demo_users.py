"""Whom the user switcher offers: the demo shop's named shoppers when they are in the store (each with
their tastes), otherwise the store's most active users."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from shelfwise.engine import Engine
from shelfwise.io.demo import DEMO_USERS
from shelfwise.store import tables

MAX_CHOICES = 8


@dataclass(frozen=True)
class ShopperChoice:
    user_id: str
    description: str


def shopper_choices(engine: Engine) -> list[ShopperChoice]:
    users = tables.users
    named = {user.user_id: user.description for user in DEMO_USERS}
    with engine.store.engine.connect() as conn:
        present = set(conn.execute(select(users.c.user_id).where(users.c.user_id.in_(list(named)))).scalars())
        if present:
            return [ShopperChoice(u.user_id, u.description) for u in DEMO_USERS if u.user_id in present]
        active = conn.execute(
            select(users.c.user_id, users.c.event_count)
            .order_by(users.c.event_count.desc())
            .limit(MAX_CHOICES)
        ).all()
    return [ShopperChoice(str(user_id), f"{count:,} events") for user_id, count in active]
