"""Product search: BM25 and dense retrieval under filters, a learned ranker, facets and explanations."""

from shelfwise.search.config import SearchConfig
from shelfwise.search.pipeline import SearchPipeline
from shelfwise.search.query import clean_query

__all__ = ["SearchConfig", "SearchPipeline", "clean_query"]
