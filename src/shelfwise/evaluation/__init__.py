"""Metrics and protocols: graded NDCG for search, leave-one-out full ranking for recommendations."""
