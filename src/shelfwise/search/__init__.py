"""Product search: fielded BM25 retrieval under filters, with facets and explanations."""

from shelfwise.search.pipeline import SearchConfig, SearchPipeline, clean_query

__all__ = ["SearchConfig", "SearchPipeline", "clean_query"]
