"""The vocabulary of shelfwise: products, events, queries, hits, recommendations, explanations, ingest
reports and the errors a caller can act on."""

from shelfwise.domain.errors import InvalidRequestError, NotFoundError, NotTrainedError, ShelfwiseError
from shelfwise.domain.events import Event, EventType
from shelfwise.domain.explanation import Explanation, Reason
from shelfwise.domain.filters import Filters
from shelfwise.domain.ingest import IngestReport, QuarantinedRow, RetryResult
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
    "IngestReport",
    "InvalidRequestError",
    "NotFoundError",
    "NotTrainedError",
    "Product",
    "QuarantinedRow",
    "Reason",
    "Recommendation",
    "RecommendationKind",
    "Recommendations",
    "RetryResult",
    "SearchResult",
    "ShelfwiseError",
]
