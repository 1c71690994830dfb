"""What a recommendation request returns."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from shelfwise.domain.explanation import Explanation
from shelfwise.domain.products import Product


class RecommendationKind(StrEnum):
    FOR_YOU = "for-you"
    SIMILAR = "similar"
    SIMILAR_LOOKING = "similar-looking"
    BOUGHT_TOGETHER = "bought-together"
    TRENDING = "trending"
    RECENTLY_VIEWED = "recently-viewed"
    BUY_AGAIN = "buy-again"
    NEW_ARRIVALS = "new-arrivals"


class Recommendation(BaseModel):
    product: Product
    score: float
    explanation: Explanation = Field(default_factory=Explanation)


class Recommendations(BaseModel):
    kind: RecommendationKind
    user_id: str | None = None
    product_id: str | None = None
    items: list[Recommendation]
    request_id: str
