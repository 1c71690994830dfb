"""What the stored events say about the shop: volumes, a funnel, and how searches fare.

Computed from the store's events on request (a frame of a few hundred thousand rows takes well under a
second); zero-result queries are found by running the most frequent queries through search again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import polars as pl

FUNNEL_STEPS = ("search", "view", "click", "add_to_cart", "purchase")
ENGAGEMENTS = ("click", "view", "add_to_cart")
# A search counts as clicked through when the same visitor engages with a product this soon after it.
CLICK_WINDOW = timedelta(minutes=30)
DAYS_SHOWN = 42


@dataclass(frozen=True)
class QueryStats:
    """How one normalised query fared: searches, those followed by engagement, and results now."""

    query: str
    searches: int
    clicked: int
    results: int | None = None  # filled for the queries re-run through search

    @property
    def click_through(self) -> float:
        """The share of searches followed by engagement."""
        return self.clicked / self.searches if self.searches else 0.0


@dataclass
class EventSummary:
    """What the events page shows: volumes, visitors, a funnel and the queries."""

    total: int
    by_type: dict[str, int]
    visitors: int
    per_day: list[tuple[str, int]]
    funnel: list[tuple[str, int]]  # visitors (sessions, or users without one) reaching each step
    top_queries: list[QueryStats] = field(default_factory=list)
    zero_result_queries: list[QueryStats] = field(default_factory=list)


def summarise_events(
    events: pl.DataFrame, count_results: Callable[[str], int] | None = None, top: int = 15
) -> EventSummary:
    """`count_results(query)` says how many products a query finds now; without it, zero-result
    queries are not looked for."""
    if events.is_empty():
        return EventSummary(total=0, by_type={}, visitors=0, per_day=[], funnel=[])
    frame = events.with_columns(
        pl.coalesce(pl.col("session_id"), pl.col("user_id")).alias("actor"),
        pl.col("query").str.strip_chars().str.to_lowercase().alias("normalised_query"),
    )
    by_type = dict(frame.group_by("event_type").len().sort("len", descending=True).iter_rows())
    queries = query_stats(frame)
    summary = EventSummary(
        total=frame.height,
        by_type={str(k): int(v) for k, v in by_type.items()},
        visitors=frame.get_column("actor").n_unique(),
        per_day=_per_day(frame),
        funnel=_funnel(frame),
        top_queries=queries[:top],
    )
    if count_results is not None:
        checked = [
            QueryStats(q.query, q.searches, q.clicked, count_results(q.query)) for q in queries[: top * 4]
        ]
        summary.zero_result_queries = [q for q in checked if q.results == 0][:top]
        found = {q.query: q.results for q in checked}
        summary.top_queries = [
            QueryStats(q.query, q.searches, q.clicked, found.get(q.query)) for q in summary.top_queries
        ]
    return summary


def query_stats(frame: pl.DataFrame) -> list[QueryStats]:
    """Searches per normalised query, most frequent first, with how many were followed by engagement."""
    ordered = frame.sort(["actor", "timestamp"], maintain_order=True).with_columns(
        pl.col("event_type").shift(-1).over("actor").alias("next_type"),
        pl.col("timestamp").shift(-1).over("actor").alias("next_time"),
    )
    searches = ordered.filter(
        (pl.col("event_type") == "search") & pl.col("normalised_query").is_not_null()
    ).with_columns(
        (
            pl.col("next_type").is_in(list(ENGAGEMENTS))
            & ((pl.col("next_time") - pl.col("timestamp")) <= CLICK_WINDOW)
        )
        .fill_null(False)
        .alias("clicked")
    )
    grouped = (
        searches.group_by("normalised_query")
        .agg(pl.len().alias("searches"), pl.col("clicked").sum().alias("clicked"))
        .sort(["searches", "normalised_query"], descending=[True, False])
    )
    return [
        QueryStats(str(query), int(count), int(clicked))
        for query, count, clicked in grouped.select("normalised_query", "searches", "clicked").iter_rows()
        if query
    ]


def _per_day(frame: pl.DataFrame) -> list[tuple[str, int]]:
    days = frame.group_by(pl.col("timestamp").dt.date().alias("day")).len().sort("day").tail(DAYS_SHOWN)
    return [(day.strftime("%b %d"), int(count)) for day, count in days.iter_rows()]


def _funnel(frame: pl.DataFrame) -> list[tuple[str, int]]:
    reached = frame.group_by("event_type").agg(pl.col("actor").n_unique().alias("visitors"))
    counts = {str(kind): int(n) for kind, n in reached.iter_rows()}
    return [(step, counts.get(step, 0)) for step in FUNNEL_STEPS]
