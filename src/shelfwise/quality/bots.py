"""Bot and crawler traffic: request rates no person reaches, metronome-regular intervals, and sessions that
touch hundreds of products. Each offending actor is named with the rule it broke."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from shelfwise.quality.config import QualityConfig

_WINDOW_SECONDS = 60


@dataclass(frozen=True)
class BotActor:
    """An actor (`user:ID` or `session:ID`) taken for automated traffic, the rule it broke, and its events."""

    actor: str
    reason: str
    events: int


def find_bots(frame: pl.DataFrame, config: QualityConfig) -> list[BotActor]:
    """Actors (`user:ID` or `session:ID`) whose traffic is automated. `frame` has actor, timestamp,
    session_id and product_id columns."""
    if frame.height < _fewest_events_of_a_bot(config):
        return []  # no actor can break a rule: the common case of one live event costs nothing here
    found: dict[str, BotActor] = {}
    ordered = (
        frame.select("actor", "session_id", "product_id", pl.col("timestamp").dt.epoch("ms").alias("ms"))
        .with_row_index("position")
        .sort(["actor", "ms"])
    )
    codes = ordered.get_column("actor").rank("dense").to_numpy().astype(np.int64)
    ms = ordered.get_column("ms").to_numpy().astype(np.int64)
    actors = ordered.get_column("actor").to_list()
    totals: dict[str, int] = dict(frame.group_by("actor").len().iter_rows())
    _rate(actors, codes, ms, config, totals, found)
    _regularity(ordered, config, found)
    _breadth(frame, config, totals, found)
    return sorted(found.values(), key=lambda bot: (-bot.events, bot.actor))


def _fewest_events_of_a_bot(config: QualityConfig) -> int:
    """Below this many events in the frame no rule can fire: each needs one actor with more events than
    its threshold (a rate, a regular series, distinct products in a visit)."""
    return min(
        config.bot_max_events_per_minute + 1,
        config.bot_regular_min_events,
        config.bot_max_products_per_session + 1,
    )


def _rate(
    actors: list[str],
    codes: np.ndarray,
    ms: np.ndarray,
    config: QualityConfig,
    totals: dict[str, int],
    found: dict[str, BotActor],
) -> None:
    span = int(ms.max() - ms.min()) + 2 * _WINDOW_SECONDS * 1000
    combined = codes * span + (ms - ms.min())
    starts = np.searchsorted(combined, combined - _WINDOW_SECONDS * 1000, side="right")
    in_window = np.arange(len(combined)) - starts + 1
    peaks: dict[str, int] = {}
    for index in np.flatnonzero(in_window > config.bot_max_events_per_minute).tolist():
        peaks[actors[index]] = max(peaks.get(actors[index], 0), int(in_window[index]))
    for actor, peak in peaks.items():
        found.setdefault(actor, BotActor(actor, f"{peak} events within {_WINDOW_SECONDS} s", totals[actor]))


def _regularity(ordered: pl.DataFrame, config: QualityConfig, found: dict[str, BotActor]) -> None:
    gaps = (
        ordered.with_columns(pl.col("ms").diff().over("actor").alias("gap"))
        .group_by("actor")
        .agg(
            pl.len().alias("events"),
            pl.col("gap").drop_nulls().mean().alias("mean"),
            pl.col("gap").drop_nulls().std().alias("std"),
        )
        .filter((pl.col("events") >= config.bot_regular_min_events) & (pl.col("mean") > 0))
        .filter(pl.col("std") / pl.col("mean") < config.bot_regular_max_cv)
    )
    for actor, events, mean in gaps.select("actor", "events", "mean").iter_rows():
        found.setdefault(
            actor, BotActor(actor, f"{events} events at a regular {mean / 1000:.1f} s interval", events)
        )


def _breadth(
    frame: pl.DataFrame, config: QualityConfig, totals: dict[str, int], found: dict[str, BotActor]
) -> None:
    visit = pl.coalesce(pl.col("session_id"), pl.col("timestamp").dt.date().cast(pl.Utf8))
    wide = (
        frame.filter(pl.col("product_id").is_not_null())
        .group_by("actor", visit.alias("visit"))
        .agg(pl.col("product_id").n_unique().alias("products"))
        .filter(pl.col("products") > config.bot_max_products_per_session)
        .group_by("actor")
        .agg(pl.col("products").max())
    )
    for actor, products in wide.iter_rows():
        found.setdefault(
            actor, BotActor(actor, f"{products} products in one session", int(totals.get(actor, 0)))
        )
