"""Similar: what shoppers who viewed this product also viewed, then the closest titles."""

from __future__ import annotations

from dataclasses import dataclass

from shelfwise.domain import Reason, RecommendationKind
from shelfwise.recommend.kinds.base import (
    Candidate,
    Page,
    text_candidates,
    title,
)


@dataclass(frozen=True)
class Similar:
    kind: RecommendationKind = RecommendationKind.SIMILAR
    diversified: bool = False

    def candidates(self, page: Page) -> list[Candidate]:
        models, request, mask, wanted, text = page.models, page.request, page.mask, page.wanted, page.text
        product_id = request.product_id or ""
        candidates: list[Candidate] = []
        index = models.items.get(product_id)
        if index is not None:
            neighbours, scores = models.cooccurrence.neighbours(index, wanted)
            for item, score in zip(neighbours, scores, strict=True):
                if mask[item] and item != index:
                    detail = f"Shoppers who viewed “{title(models, index)}” also viewed this"
                    reason = Reason(signal="co-view", detail=detail, contribution=float(score))
                    candidates.append(Candidate(models.items.ids[item], float(score), [reason]))
        if len(candidates) < wanted and text is not None:
            candidates += text_candidates(product_id, wanted, text)
        return candidates
