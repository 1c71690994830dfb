"""Experiments that drive a whole Engine: evaluations of the engine end to end, on the demo shop or a
shop's own data. The CLI's `evaluate` commands and the benchmarks call these; the engine never does."""
