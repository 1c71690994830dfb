"""What an audience request asks for, checked: one product, one category or a campaign's products, a
size within bounds and a buyer-exclusion window. Errors say what was wrong (`shelfwise.domain.errors`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shelfwise.domain import Filters, InvalidRequestError, NotFoundError
from shelfwise.recommend.kinds import RecommendationModels

MAX_AUDIENCE_SIZE = 10_000
MAX_CAMPAIGN_PRODUCTS = 500
MAX_EXCLUDE_DAYS = 3650.0


@dataclass(frozen=True)
class AudienceTarget:
    label: str  # e.g. "product p1", "category Home > Lighting", "campaign of 3 products"
    product_ids: list[str]


def check_limits(size: int, exclude_buyers_days: float) -> None:
    if not 1 <= size <= MAX_AUDIENCE_SIZE:
        raise InvalidRequestError(f"size must be between 1 and {MAX_AUDIENCE_SIZE}, got {size}")
    if not math.isfinite(exclude_buyers_days) or not 0 <= exclude_buyers_days <= MAX_EXCLUDE_DAYS:
        raise InvalidRequestError(
            f"exclude_buyers_days must be between 0 and {MAX_EXCLUDE_DAYS:g}, got {exclude_buyers_days}"
        )


def resolve_target(
    models: RecommendationModels,
    *,
    product_id: str | None = None,
    category: str | None = None,
    product_ids: Sequence[str] | None = None,
) -> AudienceTarget:
    """The target's products among those the serving models were trained on."""
    given = [
        name
        for name, value in (("product_id", product_id), ("category", category), ("products", product_ids))
        if value is not None
    ]
    if len(given) != 1:
        raise InvalidRequestError(
            "give exactly one of product_id, category or products"
            + (f" (got {', '.join(given)})" if given else "")
        )
    if product_id is not None:
        if not product_id.strip():
            raise InvalidRequestError("product_id must not be empty")
        return AudienceTarget(f"product {product_id}", _known(models, [product_id]))
    if product_ids is not None:
        ids = list(dict.fromkeys(p.strip() for p in product_ids))
        if not ids or any(not p for p in ids):
            raise InvalidRequestError("products must be a comma-separated list of product ids, none empty")
        if len(ids) > MAX_CAMPAIGN_PRODUCTS:
            raise InvalidRequestError(f"at most {MAX_CAMPAIGN_PRODUCTS} products, got {len(ids)}")
        return AudienceTarget(f"campaign of {len(ids)} product{'s' * (len(ids) > 1)}", _known(models, ids))
    assert category is not None
    if not category.strip():
        raise InvalidRequestError("category must not be empty")
    positions = np.flatnonzero(models.catalog.mask(Filters(category=category)))
    if not len(positions):
        raise NotFoundError(f"no trained product is in category {category!r}")
    return AudienceTarget(f"category {category}", [models.items.ids[int(i)] for i in positions])


def _known(models: RecommendationModels, product_ids: list[str]) -> list[str]:
    unknown = [p for p in product_ids if models.items.get(p) is None]
    if unknown:
        listed = ", ".join(repr(p) for p in unknown[:10])
        raise NotFoundError(
            f"not in the trained catalog: {listed}{' …' if len(unknown) > 10 else ''} "
            "(a product added since the last training needs a new one)"
        )
    return product_ids
