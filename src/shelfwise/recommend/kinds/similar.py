"""Similar: what shoppers who viewed this product also viewed, then the closest titles; where the
version has pictures, each candidate's score blends in how alike its picture is to the product's."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

import numpy as np

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
        return with_pictures(page, product_id, candidates)


def with_pictures(page: Page, product_id: str, candidates: list[Candidate]) -> list[Candidate]:
    """The candidates re-ordered by (1 - w) · their score over the best of their source + w · their
    picture's cosine to the product's (w: `similar_image_weight`). Co-views stay ahead of title matches;
    a candidate without a picture counts the mean cosine of those with one, so lacking a picture neither
    helps nor hurts. Unchanged when the product has no picture or w is 0."""
    weight, pictures = page.models.config.similar_image_weight, page.models.images
    vector = pictures.vector(product_id) if pictures is not None else None
    if pictures is None or vector is None or weight == 0 or not candidates:
        return candidates
    found, present = pictures.vectors_of([candidate.product_id for candidate in candidates])
    cosines = found @ vector
    if not present.any():
        return candidates
    cosines[~present] = cosines[present].mean()
    blended: list[Candidate] = []
    start = 0
    for _, group in groupby(candidates, key=lambda candidate: candidate.reasons[0].signal):
        members = list(group)
        scores = np.asarray([candidate.score for candidate in members], dtype=np.float64)
        best = scores.max()
        relevance = scores / best if best > 0 else np.ones_like(scores)
        mixed = (1 - weight) * relevance + weight * cosines[start : start + len(members)]
        for position in np.argsort(-mixed, kind="stable").tolist():
            candidate, row = members[position], start + position
            reasons = list(candidate.reasons)
            if present[row]:
                reasons.append(
                    Reason(
                        signal="image-similarity",
                        detail="Looks alike",
                        contribution=float(weight * cosines[row]),
                    )
                )
            blended.append(Candidate(candidate.product_id, float(mixed[position]), reasons))
        start += len(members)
    return blended
