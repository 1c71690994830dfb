"""Bought together: what goes in the same basket as this product (complements, not substitutes)."""

from __future__ import annotations

from dataclasses import dataclass

from shelfwise.domain import Reason, RecommendationKind
from shelfwise.recommend.kinds.base import (
    Candidate,
    Page,
    exclusions,
    text_candidates,
    title,
)

CO_VIEW_DISCOUNT = 0.5  # a co-view fills the page below the co-purchases of the same strength


@dataclass(frozen=True)
class BoughtTogether:
    kind: RecommendationKind = RecommendationKind.BOUGHT_TOGETHER
    diversified: bool = False

    def candidates(self, page: Page) -> list[Candidate]:
        models, request, mask, wanted, text = page.models, page.request, page.mask, page.wanted, page.text
        product_id = request.product_id or ""
        index = models.items.get(product_id)
        if index is None:
            return text_candidates(product_id, wanted, text) if text else []
        allowed = mask & ~exclusions(models, request.history)
        allowed[index] = False
        name = title(models, index)
        candidates = []
        neighbours, scores = models.copurchase.neighbours(index, wanted)
        for item, score in zip(neighbours, scores, strict=True):
            if allowed[item]:
                reason = Reason(
                    signal="co-purchase", detail=f"Often bought with “{name}”", contribution=float(score)
                )
                candidates.append(Candidate(models.items.ids[item], float(score), [reason]))
        # Cross-category co-views fill the page when purchases are too few: complements, not substitutes.
        own_category = models.catalog.categories.codes[index]
        neighbours, scores = models.cooccurrence.neighbours(index, wanted * 2)
        for item, score in zip(neighbours, scores, strict=True):
            if allowed[item] and models.catalog.categories.codes[item] != own_category:
                reason = Reason(
                    signal="co-view", detail=f"Often viewed with “{name}”", contribution=float(score)
                )
                candidates.append(
                    Candidate(models.items.ids[item], float(score) * CO_VIEW_DISCOUNT, [reason])
                )
        return candidates
