"""Repurchase intervals: which items people buy again (consumables) and how long they last.

An item is a consumable when at least `min_repeat_buyers` shoppers bought it more than once; its interval is
the median number of days between one shopper's consecutive purchases of it. "Buy again" then offers the
items a shopper bought whose interval has (nearly) run out since their last purchase.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shelfwise.io.components import Component
from shelfwise.io.forgetting import Forgotten
from shelfwise.recommend.interactions import Interactions
from shelfwise.recommend.popularity import SECONDS_PER_DAY


class RepurchaseConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_repeat_buyers: int = Field(default=2, ge=1, description="Shoppers who rebought an item, at least.")
    min_interval_days: float = Field(
        default=0.5, ge=0, description="Purchases closer than this are one order, not a repurchase."
    )


@dataclass(frozen=True)
class DueItem:
    item: int
    score: float  # 1 when exactly due, lower the further from due
    interval_days: float
    elapsed_days: float


class RepurchaseIntervals(Component[RepurchaseConfig]):
    """Which items are consumables and their usual interval; `due` is its one scoring method."""

    kind: ClassVar[str] = "repurchase"
    config_type: ClassVar[type[RepurchaseConfig]] = RepurchaseConfig

    def __init__(self, config: RepurchaseConfig | None = None) -> None:
        super().__init__(config)
        self._interval_days: np.ndarray | None = None  # float64 per item, NaN: not a consumable

    @property
    def interval_days(self) -> np.ndarray:
        if self._interval_days is None:
            raise RuntimeError("RepurchaseIntervals is not fitted: call fit() or load() first")
        return self._interval_days

    def fit(self, purchases: Interactions) -> Self:
        """`purchases`: purchase events only, times in epoch seconds."""
        repeat_items, repeat_gaps, repeat_users = self._repeats(purchases)
        intervals = np.full(purchases.n_items, np.nan)
        for item in np.unique(repeat_items):
            chosen = repeat_items == item
            if len(np.unique(repeat_users[chosen])) >= self.config.min_repeat_buyers:
                intervals[item] = float(np.median(repeat_gaps[chosen]))
        self._interval_days = intervals
        return self

    def _repeats(self, purchases: Interactions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(item, gap in days, user) of every repurchase of one item by one user."""
        order = np.lexsort((purchases.times, purchases.item_idx, purchases.user_idx))
        users, items = purchases.user_idx[order], purchases.item_idx[order]
        days = purchases.times[order] / SECONDS_PER_DAY
        same = (users[1:] == users[:-1]) & (items[1:] == items[:-1])
        gaps = days[1:] - days[:-1]
        repeat = same & (gaps >= self.config.min_interval_days)
        return items[1:][repeat], gaps[repeat], users[1:][repeat]

    def forget_interactions(self, purchases: Interactions) -> Forgotten:
        """The intervals are medians over shoppers' repurchases: a shopper who never bought one item twice
        gave none of them, anyone else's share of a median can only go with a retrain."""
        return Forgotten(retrain=[self.kind]) if len(self._repeats(purchases)[0]) else Forgotten()

    def due(self, last_bought: dict[int, float], now: float) -> list[DueItem]:
        """Consumables among `last_bought` (item -> epoch seconds of the last purchase), most due first."""
        found = []
        for item, when in last_bought.items():
            interval = float(self.interval_days[item]) if 0 <= item < len(self.interval_days) else np.nan
            if np.isnan(interval) or interval <= 0:
                continue
            elapsed = max(now - when, 0.0) / SECONDS_PER_DAY
            # log-ratio distance: twice as late counts as much as twice too early.
            score = float(np.exp(-abs(np.log(max(elapsed, 1e-3) / interval))))
            found.append(DueItem(item, score, interval, elapsed))
        return sorted(found, key=lambda d: (-d.score, d.item))

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {"interval_days": self.interval_days}

    def restore(self, values: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        self._interval_days = arrays["interval_days"].astype(np.float64)
