"""The settings of the recommendation kinds, the request they answer, and the events each model reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from shelfwise.domain import Event, EventType, Filters, RecommendationKind
from shelfwise.domain.events import EVENT_WEIGHTS
from shelfwise.io.frames import actor_column
from shelfwise.recommend.blend import BlendConfig
from shelfwise.recommend.cooccurrence import CoOccurrenceConfig, CoPurchaseConfig
from shelfwise.recommend.interactions import Interactions, Vocabulary
from shelfwise.recommend.popularity import TrendingPopularityConfig
from shelfwise.recommend.repurchase import RepurchaseConfig
from shelfwise.recommend.sequential import SequentialConfig

ITEM_EVENTS = [t.value for t in EventType if t is not EventType.SEARCH]
BASKET_EVENTS = [EventType.PURCHASE.value, EventType.ADD_TO_CART.value]


class RecommendationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    cooccurrence: CoOccurrenceConfig = Field(default_factory=CoOccurrenceConfig)
    copurchase: CoPurchaseConfig = Field(default_factory=CoPurchaseConfig)
    trending: TrendingPopularityConfig = Field(default_factory=TrendingPopularityConfig)
    recent_history: int = Field(default=50, ge=1, description="Latest item events a for-you request reads.")
    sequential: SequentialConfig = Field(
        default_factory=SequentialConfig,
        description="The for-you transformer; max_seconds caps its training (CPU seconds). The defaults are "
        "the configuration `shelfwise evaluate recs` measures (early stopping ends it well before the cap).",
    )
    sequential_enabled: bool = Field(default=True, description="Train the transformer when data allows.")
    sequential_min_actors: int = Field(
        default=50, ge=2, description="Fewest users or sessions with 2+ item events to train the transformer."
    )
    sequential_min_events: int = Field(
        default=1000, ge=2, description="Fewest item events to train the transformer; else co-occurrence."
    )
    blend: BlendConfig = Field(default_factory=BlendConfig)
    repurchase: RepurchaseConfig = Field(default_factory=RepurchaseConfig)
    max_per_category: int | None = Field(
        default=4, ge=1, description="Most items of one category on a for-you, trending or new-arrivals page."
    )
    similar_image_weight: float = Field(
        default=0.75,
        ge=0,
        le=1,
        description="Share of a `similar` item's score that is its picture's cosine to the product's, where "
        "both have a picture (0: pictures do not count). The default is what `bench/similar_images.py` "
        "measured best on Fashion Product Images.",
    )
    new_arrival_max_events: int = Field(
        default=5, ge=0, description="Products with at most this many item events count as new arrivals."
    )


@dataclass
class RecommendRequest:
    kind: RecommendationKind
    history: list[Event] = field(default_factory=list)  # oldest first
    product_id: str | None = None
    n: int = 10
    filters: Filters | None = None


def interactions_of(events: pl.DataFrame, items: Vocabulary, event_types: Sequence[str]) -> Interactions:
    """Events of the given types as weighted interactions; anonymous sessions count as their own actor."""
    weights = {t.value: w for t, w in EVENT_WEIGHTS.items()}
    frame = events.filter(pl.col("event_type").is_in(list(event_types)) & pl.col("product_id").is_not_null())
    frame = frame.with_columns(
        actor_column(),
        pl.col("event_type").replace_strict(weights, return_dtype=pl.Float32).alias("weight"),
    )
    return Interactions.from_frame(
        frame,
        user="actor",
        item="product_id",
        time="timestamp",
        weight="weight",
        session="session_id",
        items=items,
    )


def sequential_trainable(config: RecommendationConfig, item_events: Interactions) -> bool:
    """Below these minimums a transformer learns noise: for-you then stays on co-occurrence."""
    if not config.sequential_enabled or len(item_events) < config.sequential_min_events:
        return False
    lengths = np.bincount(item_events.user_idx, minlength=item_events.n_users)
    return int((lengths >= 2).sum()) >= config.sequential_min_actors
