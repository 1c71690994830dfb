"""Whom the user switcher offers: the demo shop's named shoppers when they are in the store (each with
their tastes), otherwise the store's most active users."""

from __future__ import annotations

from dataclasses import dataclass

from shelfwise.engine import Engine
from shelfwise.io.demo import DEMO_USERS

MAX_CHOICES = 8


@dataclass(frozen=True)
class ShopperChoice:
    """One entry of the user switcher: whom to shop as, and what they are like."""

    user_id: str
    description: str


def shopper_choices(engine: Engine) -> list[ShopperChoice]:
    """The named demo shoppers present in the store, in the demo's order; else the most active users."""
    present = engine.known_users([user.user_id for user in DEMO_USERS])
    if present:
        return [ShopperChoice(u.user_id, u.description) for u in DEMO_USERS if u.user_id in present]
    return [
        ShopperChoice(user_id, f"{count:,} events")
        for user_id, count in engine.most_active_users(MAX_CHOICES)
    ]
