"""Trending: what shoppers engage with now (time-decayed popularity); also the page without a history."""

from __future__ import annotations

from dataclasses import dataclass

from shelfwise.domain import Reason, RecommendationKind
from shelfwise.recommend.kinds.base import Candidate, Page, exclusions
from shelfwise.recommend.popularity import top_positions


@dataclass(frozen=True)
class Trending:
    """`detail`, when given, replaces the reason shown (for-you falls back here without a history)."""

    detail: str | None = None
    kind: RecommendationKind = RecommendationKind.TRENDING
    diversified: bool = True

    def candidates(self, page: Page) -> list[Candidate]:
        models, request, mask, wanted = page.models, page.request, page.mask, page.wanted
        allowed = mask & ~exclusions(models, request.history)
        scores = models.trending.item_scores
        detail = (
            self.detail or f"Trending: popular over the last {models.config.trending.half_life_days:g} days"
        )
        return [
            Candidate(
                models.items.ids[item],
                float(scores[item]),
                [Reason(signal="trending", detail=detail, contribution=float(scores[item]))],
            )
            for item in top_positions(scores, wanted, allowed)
        ]
