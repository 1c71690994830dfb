"""Indexes over the catalog: lexical (BM25), columnar arrays for filters and facets."""
