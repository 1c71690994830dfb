"""Similar-looking: the products whose pictures are nearest to this product's (image vectors, cosine)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shelfwise.domain import InvalidRequestError, Reason, RecommendationKind
from shelfwise.recommend.kinds.base import Candidate, Page, title


@dataclass(frozen=True)
class SimilarLooking:
    kind: RecommendationKind = RecommendationKind.SIMILAR_LOOKING
    diversified: bool = False

    def candidates(self, page: Page) -> list[Candidate]:
        """Nearest pictures among the items the page allows; none when the product has no picture.
        InvalidRequestError when the version holds no pictures at all: the shop cannot answer this kind."""
        models, product_id = page.models, page.request.product_id or ""
        pictures = models.images
        if pictures is None:
            raise InvalidRequestError(
                "similar-looking needs product images: the serving version was trained without any "
                "(give products an image_url and train again)"
            )
        vector = pictures.vector(product_id)
        index = models.items.get(product_id)
        if vector is None or index is None:
            return []
        rows = models.image_items  # catalog position of each picture's product (-1: not in the catalog)
        allowed = rows >= 0
        allowed[allowed] = page.mask[rows[allowed]]
        allowed &= rows != index
        scores = np.where(allowed, pictures.vectors @ vector, -np.inf)
        count = min(page.wanted, int(allowed.sum()))
        top = np.argpartition(-scores, count - 1)[:count] if count else np.zeros(0, dtype=np.int64)
        top = top[np.argsort(-scores[top], kind="stable")]
        detail = f"Looks like “{title(models, index)}”"
        return [
            Candidate(
                pictures.product_ids[row],
                float(scores[row]),
                [Reason(signal="image-similarity", detail=detail, contribution=float(scores[row]))],
            )
            for row in top.tolist()
        ]
