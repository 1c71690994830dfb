"""Who to show an advert for a product, a category or a campaign (a set of products): the users ranked by
how much of their next action the trained for-you scorer expects on the target's products.

For each user with history, the for-you scorer (the transformer blended with co-occurrence, or
co-occurrence alone when no transformer was trained) gives a distribution over the catalog for what they
act on next; a user's audience score is its mass on the target's products. Scores are shares of one
user's next action, so they compare across users. Users who bought a target product within the window
are left out (they have it), and the search can be kept within a given set of users (a segment).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from shelfwise.domain import EventType
from shelfwise.recommend.blend import share_rows
from shelfwise.recommend.interactions import Vocabulary
from shelfwise.recommend.kinds import RecommendationModels
from shelfwise.recommend.kinds.config import ITEM_EVENTS

SCORING_BATCH = 512  # users scored at once: a batch x catalog float32 matrix


@dataclass(frozen=True)
class UserHistories:
    """Each named user's latest item events as item indices, oldest first (anonymous sessions are no
    audience: nobody can be reached through them)."""

    user_ids: tuple[str, ...]
    histories: list[np.ndarray]
    activity: np.ndarray  # item events per user, over the whole history read


def user_histories(events: pl.DataFrame, items: Vocabulary, recent: int) -> UserHistories:
    frame = events.filter(
        pl.col("user_id").is_not_null()
        & pl.col("product_id").is_not_null()
        & pl.col("event_type").is_in(ITEM_EVENTS)
        & pl.col("product_id").is_in(list(items.ids))
    )
    if frame.is_empty():
        return UserHistories((), [], np.zeros(0, dtype=np.int64))
    grouped = (
        frame.with_columns(
            pl.col("product_id").replace_strict(items.index, return_dtype=pl.Int64).alias("item")
        )
        .sort("timestamp", maintain_order=True)
        .group_by("user_id", maintain_order=True)
        .agg(pl.col("item").tail(recent).alias("recent"), pl.len().alias("activity"))
        .sort("user_id")
    )
    return UserHistories(
        user_ids=tuple(grouped.get_column("user_id").to_list()),
        histories=[np.asarray(row, dtype=np.int64) for row in grouped.get_column("recent").to_list()],
        activity=grouped.get_column("activity").to_numpy().astype(np.int64),
    )


def next_action_shares(models: RecommendationModels, histories: Sequence[np.ndarray]) -> np.ndarray:
    """The for-you scorer's distribution over the catalog for each history's next item (rows sum to 1,
    or 0 where nothing is known). The blend's mix before its re-ranker, whose scores are no distribution."""
    if models.sequential is not None:
        return models.sequential.signals(histories).blend
    return share_rows(models.cooccurrence.score_batch(histories).astype(np.float32))


def interest(
    models: RecommendationModels, histories: Sequence[np.ndarray], targets: np.ndarray
) -> np.ndarray:
    """Each history's expected share of its next action on the target items."""
    scores = np.zeros(len(histories), dtype=np.float64)
    for start in range(0, len(histories), SCORING_BATCH):
        chunk = histories[start : start + SCORING_BATCH]
        scores[start : start + len(chunk)] = next_action_shares(models, chunk)[:, targets].sum(axis=1)
    return scores


def recent_buyers(events: pl.DataFrame, product_ids: Collection[str], since: datetime | None) -> set[str]:
    """Users who bought any of `product_ids` at or after `since` (ever, when None)."""
    bought = events.filter(
        (pl.col("event_type") == EventType.PURCHASE.value)
        & pl.col("user_id").is_not_null()
        & pl.col("product_id").is_in(list(product_ids))
    )
    if since is not None:
        bought = bought.filter(pl.col("timestamp") >= since.replace(tzinfo=None))
    return set(bought.get_column("user_id").to_list())


@dataclass(frozen=True)
class RankedAudience:
    user_ids: list[str]
    scores: list[float]
    excluded_buyers: int
    candidates: int


def rank_audience(
    models: RecommendationModels,
    events: pl.DataFrame,
    product_ids: Sequence[str],
    *,
    size: int,
    exclude_buyers_days: float,
    now: datetime,
    within: Collection[str] | None = None,
) -> RankedAudience:
    """The `size` best users for `product_ids` (all known to `models`), best first; ties by user id."""
    targets = np.array([models.items.index[p] for p in product_ids], dtype=np.int64)
    users = user_histories(events, models.items, models.config.recent_history)
    excluded = (
        recent_buyers(events, product_ids, now - timedelta(days=exclude_buyers_days))
        if exclude_buyers_days > 0
        else set()
    )
    allowed = [
        row
        for row, user in enumerate(users.user_ids)
        if user not in excluded and (within is None or user in within)
    ]
    scores = interest(models, [users.histories[row] for row in allowed], targets)
    order = np.argsort(-scores, kind="stable")[:size]  # user ids are sorted, so ties go by id
    return RankedAudience(
        user_ids=[users.user_ids[allowed[i]] for i in order],
        scores=[float(scores[i]) for i in order],
        excluded_buyers=len(excluded & set(users.user_ids)),
        candidates=len(allowed),
    )
