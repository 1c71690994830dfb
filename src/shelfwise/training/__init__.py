"""Training: from the store to a versioned artifact bundle that serving swaps in atomically."""
