"""Audiences for advertising (who is likely to act on a product, a category or a campaign next, from the
trained recommendation models) and campaign targeting by uplift (who should get which campaign)."""
