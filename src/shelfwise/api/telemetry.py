"""Prometheus metrics of one API process: requests and latencies per endpoint, events and quarantine."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Telemetry:
    """A registry per app, so that several apps in one process (tests) keep separate counts."""

    def __init__(self) -> None:
        """Register the metrics in a registry of this instance's own."""
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "shelfwise_requests_total",
            "HTTP requests by endpoint, method and status.",
            ["endpoint", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "shelfwise_request_seconds",
            "HTTP request latency by endpoint.",
            ["endpoint", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.events_ingested = Counter(
            "shelfwise_events_ingested_total", "Events accepted into the store.", registry=self.registry
        )
        self.rows_quarantined = Counter(
            "shelfwise_rows_quarantined_total",
            "Input rows quarantined by the quality gate.",
            ["source"],
            registry=self.registry,
        )
        self.products = Gauge("shelfwise_products", "Products in the catalog.", registry=self.registry)

    def render(self) -> bytes:
        """The metrics in Prometheus' text exposition format."""
        return generate_latest(self.registry)
