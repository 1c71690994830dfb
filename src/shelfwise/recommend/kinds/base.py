"""The one contract every recommendation kind meets, and what several kinds share.

A kind reads the fitted models and a request and returns candidates, best first, each with its reasons.
`RecommendationModels.recommend` resolves them against the live catalog and the request's filters, and
caps categories on the kinds that are `diversified`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from shelfwise.domain import Event, EventType, Product, Reason, RecommendationKind
from shelfwise.images.component import ProductImages
from shelfwise.index.catalog import CatalogArrays
from shelfwise.recommend.blend import SequentialBlend
from shelfwise.recommend.cooccurrence import CoOccurrence, CoPurchase
from shelfwise.recommend.interactions import Vocabulary
from shelfwise.recommend.kinds.config import RecommendationConfig, RecommendRequest
from shelfwise.recommend.popularity import Popularity, TrendingPopularity
from shelfwise.recommend.repurchase import RepurchaseIntervals

VERBS = {
    EventType.VIEW: "viewed",
    EventType.CLICK: "viewed",
    EventType.ADD_TO_CART: "added to your cart",
    EventType.PURCHASE: "bought",
}

Resolver = Callable[[str], Product | None]
TextNeighbours = Callable[[str, int], list[tuple[str, float]]]


@dataclass
class Candidate:
    product_id: str
    score: float
    reasons: list[Reason]


class FittedModels(Protocol):
    """The fitted item models over one catalog (item index i is catalog position i)."""

    config: RecommendationConfig
    catalog: CatalogArrays
    items: Vocabulary
    cooccurrence: CoOccurrence
    copurchase: CoPurchase
    trending: TrendingPopularity
    event_counts: Popularity
    repurchase: RepurchaseIntervals
    sequential: SequentialBlend | None
    images: ProductImages | None  # the version's pictures, when it has any
    image_items: np.ndarray  # catalog position of each picture's product (-1: not in the catalog)


@dataclass(frozen=True)
class Page:
    """What a kind is asked for: the fitted models, the request, the items its filters allow (`mask`, by
    catalog position), how many candidates to bring, and the title look-up for items without events."""

    models: FittedModels
    request: RecommendRequest
    mask: np.ndarray
    wanted: int
    text: TextNeighbours | None


class Kind(Protocol):
    """One kind of recommendation page."""

    @property
    def kind(self) -> RecommendationKind: ...

    @property
    def diversified(self) -> bool:
        """Whether the page is capped per category (`RecommendationConfig.max_per_category`)."""
        ...

    def candidates(self, page: Page) -> list[Candidate]:
        """About `page.wanted` candidates, best first, among the items `page.mask` allows."""
        ...


def title(models: FittedModels, index: int) -> str:
    return models.catalog.products[index].title


def exclusions(models: FittedModels, history: Sequence[Event]) -> np.ndarray:
    """Items the user bought: never recommended back by kinds that do not ask for them."""
    excluded = np.zeros(len(models.items), dtype=bool)
    for event in history:
        if event.event_type is EventType.PURCHASE and event.product_id is not None:
            index = models.items.get(event.product_id)
            if index is not None:
                excluded[index] = True
    return excluded


def text_candidates(product_id: str, wanted: int, text: TextNeighbours) -> list[Candidate]:
    """Products whose title and description are closest to `product_id`'s."""
    return [
        Candidate(
            other,
            score,
            [Reason(signal="text-similarity", detail="Similar title and description", contribution=score)],
        )
        for other, score in text(product_id, wanted)
        if other != product_id
    ]
