"""Answer ranking for customer service: a shop's accepted answers found for a customer's question."""
