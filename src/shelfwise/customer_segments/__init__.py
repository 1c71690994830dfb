"""Customer segments: from behaviour (recency, frequency, monetary value, and BG/NBD's expected
purchases) and from the learned user representations (clusters), each described in a merchant's words."""
