"""The recommendation kinds (for-you, similar, bought-together, trending, recently-viewed, buy-again,
new-arrivals): one class each behind the `Kind` protocol, served by `RecommendationModels`."""

from shelfwise.recommend.kinds.base import Candidate, FittedModels, Kind, Resolver, TextNeighbours
from shelfwise.recommend.kinds.config import (
    BASKET_EVENTS,
    ITEM_EVENTS,
    RecommendationConfig,
    RecommendRequest,
    interactions_of,
    sequential_trainable,
)
from shelfwise.recommend.kinds.models import (
    DIVERSIFIED_KINDS,
    HISTORY_AFFINITY_FLOOR,
    HISTORY_AFFINITY_ITEMS,
    KINDS,
    RecommendationModels,
)

__all__ = [
    "BASKET_EVENTS",
    "DIVERSIFIED_KINDS",
    "HISTORY_AFFINITY_FLOOR",
    "HISTORY_AFFINITY_ITEMS",
    "ITEM_EVENTS",
    "KINDS",
    "Candidate",
    "FittedModels",
    "Kind",
    "RecommendRequest",
    "RecommendationConfig",
    "RecommendationModels",
    "Resolver",
    "TextNeighbours",
    "interactions_of",
    "sequential_trainable",
]
