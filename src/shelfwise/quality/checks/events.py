"""Checks over parsed events: joins to the catalog, timestamps, duplicates, funnels, bots, volume.

They run over a polars frame of the events that parsed (one row per event, in input order) and flag rows
by position. The same functions serve a file being checked and the store being assessed before training.
`check_live_event` applies the same row rules to one live event against its actor's recent history,
without frames: the rules' bounds, event types and details are defined once below and used by both.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from shelfwise.domain import Event
from shelfwise.io.frames import actor_column
from shelfwise.quality.bots import BotActor, find_bots
from shelfwise.quality.config import QualityConfig
from shelfwise.quality.flags import DatasetWarning, Flags
from shelfwise.quality.schemas import validate_events

INTERACTION_TYPES = ("view", "click", "add_to_cart", "purchase")
LOOK_TYPES = ("view", "click")  # what counts as having seen a product before carting it
CART_TYPES = ("add_to_cart", "purchase")
EVENT_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "user_id": pl.Utf8,
    "session_id": pl.Utf8,
    "event_type": pl.Utf8,
    "product_id": pl.Utf8,
    "query": pl.Utf8,
    "timestamp": pl.Datetime("us", "UTC"),
}


def events_frame(events: Sequence[Event]) -> pl.DataFrame:
    """The parsed events as one polars frame (UTC timestamps), the shape the event checks run over."""
    return pl.DataFrame(
        {
            "user_id": [e.user_id for e in events],
            "session_id": [e.session_id for e in events],
            "event_type": [e.event_type.value for e in events],
            "product_id": [e.product_id for e in events],
            "query": [e.query for e in events],
            "timestamp": [e.timestamp for e in events],
        },
        schema=EVENT_SCHEMA,
    )


def normalise_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """A frame from the store (naive UTC timestamps, extra columns) in the shape the checks expect."""
    timestamp = pl.col("timestamp")
    if (
        frame.schema["timestamp"] == pl.Datetime("us")
        or getattr(frame.schema["timestamp"], "time_zone", 1) is None
    ):
        timestamp = timestamp.dt.replace_time_zone("UTC")
    return frame.with_columns(timestamp.dt.cast_time_unit("us")).select(
        [pl.col(name).cast(kind) for name, kind in EVENT_SCHEMA.items()]
    )


def check_events(
    frame: pl.DataFrame,
    config: QualityConfig,
    catalog_ids: Collection[str] | None,
    now: datetime | None = None,
) -> tuple[Flags, list[BotActor]]:
    """Every row-level event check; catalog_ids None skips the join (no catalog to join against)."""
    window = TimestampWindow.of(config, now)
    flags = validate_events(frame, window.not_after, window.not_before)
    if catalog_ids is not None:
        flags.merge(_unknown_products(frame, catalog_ids))
    framed = frame.with_row_index("position").with_columns(actor_column())
    flags.merge(_duplicates(framed, config))
    flags.merge(_cart_without_view(framed))
    bots = find_bots(framed, config)
    if bots:
        reasons = {bot.actor: bot.reason for bot in bots}
        hit = framed.filter(pl.col("actor").is_in(list(reasons))).select("position", "actor")
        flags.add_details("event.bot", {int(p): f"{a}: {reasons[a]}" for p, a in hit.iter_rows()})
    return flags, bots


@dataclass(frozen=True)
class TimestampWindow:
    """The times an event may have: from the shop's opening to now plus the allowed clock skew. The
    pandera schema holds the batch form of the rule (`validate_events`), `violation` the row form."""

    not_before: datetime
    not_after: datetime

    @classmethod
    def of(cls, config: QualityConfig, now: datetime | None = None) -> TimestampWindow:
        now = now or datetime.now(UTC)
        earliest = config.shop_opened or config.earliest_timestamp
        earliest = earliest if earliest.tzinfo else earliest.replace(tzinfo=UTC)
        return cls(earliest, now + timedelta(seconds=config.clock_skew_seconds))

    def violations(self, timestamp: datetime) -> dict[str, str]:
        """The timestamp checks one event's time fails, with their details."""
        found = {}
        if timestamp > self.not_after:
            found["event.future_timestamp"] = f"timestamp: {timestamp!r}"
        if timestamp < self.not_before:
            found["event.timestamp_before_shop"] = f"timestamp: {timestamp!r}"
        return found


def _unknown_product_detail(product_id: str) -> str:
    return f"product_id {product_id!r} is not in the catalog"


def _duplicate_detail(gap_ms: float) -> str:
    return f"repeats the previous event {gap_ms / 1000:g} s earlier"


def _cart_detail(kind: str) -> str:
    return f"{kind} with no earlier view in the session"


def _item(event: Event) -> str:
    """What a duplicate repeats: the product, else the query (the batch rule's `item` column)."""
    return event.product_id if event.product_id is not None else "?" + (event.query or "")


def _visit(event: Event) -> str:
    """Whose visit a cart belongs to: the session, else the actor (the batch rule's `visit` column)."""
    return event.session_id or event.actor


def _epoch_ms(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def check_live_event(
    event: Event,
    config: QualityConfig,
    catalog_ids: Collection[str] | None,
    earlier: Sequence[Event],
    now: datetime | None = None,
) -> dict[str, str]:
    """The row checks `check_events` would flag on `event` gated after `earlier` (its actor's recent
    events) in one batch, as {check: detail}, computed for this one event without frames. Bots are left
    to training, which re-runs every check over everything stored: one event cannot show automation."""
    checks = TimestampWindow.of(config, now).violations(event.timestamp)
    if catalog_ids is not None and event.product_id is not None and event.product_id not in catalog_ids:
        checks["event.unknown_product"] = _unknown_product_detail(event.product_id)
    actor, kind, item, moment = event.actor, event.event_type, _item(event), _epoch_ms(event.timestamp)
    window_ms = int(config.duplicate_window_seconds * 1000)
    gaps = [
        moment - _epoch_ms(other.timestamp)
        for other in earlier
        if other.actor == actor and other.event_type is kind and _item(other) == item
    ]
    gap = min((g for g in gaps if g >= 0), default=None)
    if gap is not None and gap <= window_ms:
        checks["event.duplicate"] = _duplicate_detail(gap)
    if kind.value in CART_TYPES and not _looked_before(event, earlier):
        checks["event.cart_without_view"] = _cart_detail(kind.value)
    return checks


def _looked_before(event: Event, earlier: Sequence[Event]) -> bool:
    visit = _visit(event)
    return any(
        other.event_type.value in LOOK_TYPES
        and other.product_id == event.product_id
        and other.timestamp <= event.timestamp
        and _visit(other) == visit
        for other in earlier
    )


def _unknown_products(frame: pl.DataFrame, catalog_ids: Collection[str]) -> Flags:
    flags = Flags()
    known = pl.DataFrame({"product_id": list(catalog_ids)}, schema={"product_id": pl.Utf8})
    unknown = (
        frame.with_row_index("position")
        .filter(pl.col("product_id").is_not_null())
        .join(known, on="product_id", how="anti")
        .sort("position")
    )
    for position, product in unknown.select("position", "product_id").iter_rows():
        flags.add("event.unknown_product", [position], _unknown_product_detail(product))
    return flags


def _duplicates(framed: pl.DataFrame, config: QualityConfig) -> Flags:
    """A later event of the same actor, type and product (or query) within the window of the previous."""
    flags = Flags()
    window_ms = int(config.duplicate_window_seconds * 1000)
    keyed = framed.with_columns(
        pl.coalesce(pl.col("product_id"), pl.lit("?") + pl.col("query").fill_null("")).alias("item"),
        pl.col("timestamp").dt.epoch("ms").alias("ms"),
    ).sort(["actor", "event_type", "item", "ms", "position"])
    gap = pl.col("ms").diff().over(["actor", "event_type", "item"])
    duplicates = keyed.with_columns(gap.alias("gap")).filter(
        pl.col("gap").is_not_null() & (pl.col("gap") <= window_ms)
    )
    for position, gap_ms in duplicates.select("position", "gap").iter_rows():
        flags.add("event.duplicate", [position], _duplicate_detail(gap_ms))
    return flags


def _cart_without_view(framed: pl.DataFrame) -> Flags:
    flags = Flags()
    visit = pl.coalesce(pl.col("session_id"), pl.col("actor"))
    keyed = framed.with_columns(visit.alias("visit"))
    looked = (
        keyed.filter(pl.col("event_type").is_in(LOOK_TYPES))
        .group_by("visit", "product_id")
        .agg(pl.col("timestamp").min().alias("first_look"))
    )
    carted = keyed.filter(pl.col("event_type").is_in(CART_TYPES)).join(
        looked, on=["visit", "product_id"], how="left"
    )
    missing = carted.filter(pl.col("first_look").is_null() | (pl.col("first_look") > pl.col("timestamp")))
    for position, kind in missing.select("position", "event_type").iter_rows():
        flags.add("event.cart_without_view", [position], _cart_detail(kind))
    return flags


def event_warnings(
    frame: pl.DataFrame,
    flags: Flags,
    bots: list[BotActor],
    rows_read: int,
    quarantined: int,
    config: QualityConfig,
    now: datetime | None = None,
    unjoined: int = 0,
) -> list[DatasetWarning]:
    """The events' dataset warnings: quarantine, unknown-product and bot shares, volume and staleness,
    and the minimums personalisation and bought-together need. `unjoined` counts stored events waiting
    for their product that are not in `frame` (the store's, before training); `rows_read` includes them."""
    now = now or datetime.now(UTC)
    warnings: list[DatasetWarning] = []
    total = max(rows_read, 1)

    def share(check: str, count: int, limit: float, what: str) -> None:
        value = count / total
        if value > limit:
            warnings.append(
                DatasetWarning(check, f"{value:.0%} of event rows {what} (at most {limit:.0%})", value, limit)
            )

    share("events.quarantine_share", quarantined, config.max_quarantine_share, "were quarantined")
    share(
        "events.unknown_product_share",
        flags.count("event.unknown_product") + unjoined,
        config.max_unknown_product_share,
        "name products not in the catalog",
    )
    share("events.bot_share", flags.count("event.bot"), config.max_bot_share, "come from bots")
    share(
        "events.duplicate_share", flags.count("event.duplicate"), config.max_duplicate_share, "are duplicates"
    )
    if bots:
        warnings.append(
            DatasetWarning(
                "events.bot_users",
                f"{len(bots)} actor(s) look automated; "
                f"their {sum(b.events for b in bots)} events are excluded",
                float(len(bots)),
                data={
                    "users": [{"actor": b.actor, "reason": b.reason, "events": b.events} for b in bots[:100]]
                },
            )
        )
    clean = _training_events(frame, flags)
    warnings.extend(_volume(clean, config, now))
    warnings.extend(_minimums(clean, config))
    return warnings


def _training_events(frame: pl.DataFrame, flags: Flags) -> pl.DataFrame:
    """Events that would be trained on: not flagged by any check that quarantines or excludes."""
    dropped = np.zeros(frame.height, dtype=bool)
    for check in (
        "event.unknown_product",
        "event.future_timestamp",
        "event.timestamp_before_shop",
        "event.duplicate",
        "event.bot",
    ):
        dropped |= flags.mask(check, frame.height)
    return frame.filter(pl.Series(~dropped))


def per_day(frame: pl.DataFrame) -> pl.DataFrame:
    """Events per calendar day (UTC), oldest first: columns `day` and `len`."""
    return frame.group_by(pl.col("timestamp").dt.date().alias("day")).len().sort("day")


def _volume(frame: pl.DataFrame, config: QualityConfig, now: datetime) -> list[DatasetWarning]:
    if frame.height == 0:
        return []
    days = per_day(frame)
    counts = days.get_column("len").to_list()
    dates = [str(day) for day in days.get_column("day").to_list()]
    warnings = [
        DatasetWarning(
            "events.volume",
            f"{frame.height} events over {len(counts)} day(s), {frame.height / len(counts):.1f} a day",
            frame.height / len(counts),
            data={"per_day": dict(zip(dates, counts, strict=True))},
        )
    ]
    if len(counts) >= 8:
        before = float(np.mean(counts[-15:-1]))
        if counts[-1] < config.truncated_day_ratio * before:
            warnings.append(
                DatasetWarning(
                    "events.truncated_last_day",
                    f"the last day ({dates[-1]}) has {counts[-1]} events against {before:.0f} a day "
                    "before it: a truncated import?",
                    counts[-1] / before,
                    config.truncated_day_ratio,
                )
            )
    newest = frame.get_column("timestamp").max()
    if isinstance(newest, datetime):
        age = (now - newest).total_seconds() / 86400
        if age > config.stale_days:
            warnings.append(
                DatasetWarning(
                    "events.stale", f"the newest event is {age:.0f} days old", age, config.stale_days
                )
            )
    return warnings


def interaction_counts(frame: pl.DataFrame) -> dict[str, int]:
    """What the personalisation minimums count: interactions by known users, those users, users with
    2 or more, and co-purchased pairs (up to 50 products a user, so one buyer cannot fill the count)."""
    interactions = frame.filter(
        pl.col("event_type").is_in(INTERACTION_TYPES) & pl.col("user_id").is_not_null()
    )
    per_user = interactions.group_by("user_id").len()
    purchases = (
        frame.filter((pl.col("event_type") == "purchase") & pl.col("user_id").is_not_null())
        .group_by("user_id")
        .agg(pl.col("product_id").n_unique().clip(upper_bound=50).alias("k"))
    )
    k = purchases.get_column("k").to_numpy().astype(np.int64)
    return {
        "interactions": interactions.height,
        "users": per_user.height,
        "repeat_users": int((per_user.get_column("len") >= 2).sum()),
        "co_purchase_pairs": int((k * (k - 1) // 2).sum()),
    }


def _minimums(frame: pl.DataFrame, config: QualityConfig) -> list[DatasetWarning]:
    counts = interaction_counts(frame)
    warnings = []
    for check, key, minimum, what in (
        ("events.too_few_interactions", "interactions", config.min_interactions, "interactions"),
        (
            "events.too_few_repeat_users",
            "repeat_users",
            config.min_repeat_users,
            "users with 2+ interactions",
        ),
        (
            "events.too_few_co_purchases",
            "co_purchase_pairs",
            config.min_co_purchase_pairs,
            "co-purchased pairs",
        ),
    ):
        if counts[key] < minimum:
            warnings.append(
                DatasetWarning(
                    check,
                    f"{counts[key]} {what}; at least {minimum} needed",
                    float(counts[key]),
                    float(minimum),
                )
            )
    return warnings
