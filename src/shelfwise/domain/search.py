"""What a search returns."""

from __future__ import annotations

from pydantic import BaseModel, Field

from shelfwise.domain.explanation import Explanation
from shelfwise.domain.products import Product


class Hit(BaseModel):
    product: Product
    score: float
    matched_fields: list[str] = Field(default_factory=list)
    explanation: Explanation = Field(default_factory=Explanation)


class FacetValue(BaseModel):
    value: str
    count: int


class SearchResult(BaseModel):
    query: str
    total: int = Field(description="How many products match the query and filters.")
    page: int
    page_size: int
    hits: list[Hit]
    facets: dict[str, list[FacetValue]] = Field(default_factory=dict)
    request_id: str
    corrected_query: str | None = Field(
        default=None,
        description="The query searched instead of the typed one (`query`): its spelling correction, "
        "when the speller changed it; None when the typed query was searched as it was.",
    )
    did_you_mean: str | None = Field(
        default=None,
        description="A spelling the shopper may have meant, offered but not searched: the query was "
        "searched as typed because the fix was too doubtful to apply; None when there is none.",
    )
