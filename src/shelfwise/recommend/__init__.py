"""Recommendations: candidate scorers over items, and the recommendation kinds a shop page needs."""
