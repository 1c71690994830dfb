"""The vocabulary of shelfwise: products, events, queries, hits, recommendations, explanations."""

from shelfwise.domain.events import Event, EventType
from shelfwise.domain.explanation import Explanation, Reason
from shelfwise.domain.filters import Filters
from shelfwise.domain.products import Product
from shelfwise.domain.recommendation import Recommendation, RecommendationKind, Recommendations
from shelfwise.domain.search import FacetValue, Hit, SearchResult

__all__ = [
    "Event",
    "EventType",
    "Explanation",
    "FacetValue",
    "Filters",
    "Hit",
    "Product",
    "Reason",
    "Recommendation",
    "RecommendationKind",
    "Recommendations",
    "SearchResult",
]
