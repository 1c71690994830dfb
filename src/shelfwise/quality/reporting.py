"""The quality report over gated files: `check_files` (what `shelfwise quality check` runs, storing
nothing), `build_report` from gated files, and `figures`, the data behind the report's plots (field
coverage, prices by category, events per day, the event-type funnel, the most active users)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from shelfwise.domain.products import split_category
from shelfwise.io.frames import actor_column
from shelfwise.quality.bots import BotActor
from shelfwise.quality.checks.catalog import coverage_shares
from shelfwise.quality.checks.events import per_day
from shelfwise.quality.config import QualityConfig
from shelfwise.quality.flags import DatasetWarning, Flags
from shelfwise.quality.gate import GatedFile, gate_event_file, gate_product_file
from shelfwise.quality.report import QualityReport, RowResult, WarningItem, check_counts
from shelfwise.quality.tiers import tier_verdicts

_FIGURE_CATEGORIES = 12
_FIGURE_PRICES = 400
_FIGURE_USERS = 15


@dataclass
class QualityCheck:
    """What `check_files` found: the report, and the gated files behind it (None for a file not given)."""

    report: QualityReport
    products: GatedFile | None
    events: GatedFile | None


def check_files(
    products: Path | str | None,
    events: Path | str | None = None,
    config: QualityConfig | None = None,
    now: datetime | None = None,
) -> QualityCheck:
    """`shelfwise quality check`: gate the files without storing anything, and report."""
    config = config or QualityConfig()
    product_gate = gate_product_file(products, config) if products is not None else None
    catalog_ids = {p.product_id for p in product_gate.stored} if product_gate is not None else None
    event_gate = gate_event_file(events, config, catalog_ids, now=now) if events is not None else None
    return QualityCheck(build_report([product_gate, event_gate], "files"), product_gate, event_gate)


def build_report(gates: Sequence[GatedFile | None], source: str) -> QualityReport:
    """The report over gated files (None for a file not given): outcomes, checks, tiers, warnings,
    rows and plot data; `source` is files or store."""
    present = [gate for gate in gates if gate is not None]
    counts: dict[str, int] = {}
    rows: list[RowResult] = []
    warnings: list[DatasetWarning] = []
    for gate in present:
        for row in gate.rows:
            for name in row.checks:
                counts[name] = counts.get(name, 0) + 1
        rows.extend(gate.results())
        warnings.extend(gate.warnings)
    by_kind = {gate.kind: gate for gate in present}
    return QualityReport(
        source="store" if source == "store" else "files",
        products=by_kind["products"].summary() if "products" in by_kind else None,
        events=by_kind["events"].summary() if "events" in by_kind else None,
        checks=dict(sorted(counts.items())),
        check_details=check_counts(counts),
        tiers=tier_verdicts(warnings),
        warnings=[WarningItem.of(warning) for warning in warnings],
        rows=rows,
        figures=figures(by_kind.get("products"), by_kind.get("events")),
    )


def figures(products: GatedFile | None, events: GatedFile | None) -> dict[str, Any]:
    """The data behind the HTML report's plots, small enough to keep in the JSON."""
    out: dict[str, Any] = {}
    if products is not None and products.frame.height:
        frame = products.frame
        out["coverage"] = coverage_shares(frame)
        out["prices_by_category"] = _prices_by_category(frame, products.flags)
    if events is not None and events.frame.height:
        frame = events.frame
        out["events_per_day"] = {str(day): count for day, count in per_day(frame).iter_rows()}
        funnel = frame.group_by("event_type").len()
        out["funnel"] = {kind: count for kind, count in funnel.iter_rows()}
        out["top_users"] = _top_users(frame, events.bots)
    return out


def _prices_by_category(frame: pl.DataFrame, flags: Flags) -> dict[str, dict[str, list[float]]]:
    rng = random.Random(0)
    outliers = set(flags.by_check.get("product.price_outlier", {}))
    groups: dict[str, list[int]] = {}
    for position, (category, price) in enumerate(frame.select("category", "price").iter_rows()):
        if price is not None and price > 0:
            top = " > ".join(split_category(category)[:1]) or "(none)"
            groups.setdefault(top, []).append(position)
    largest = sorted(groups.items(), key=lambda item: -len(item[1]))[:_FIGURE_CATEGORIES]
    prices = frame.get_column("price").to_list()
    out: dict[str, dict[str, list[float]]] = {}
    for name, positions in largest:
        sample = positions if len(positions) <= _FIGURE_PRICES else rng.sample(positions, _FIGURE_PRICES)
        out[name] = {
            "prices": [prices[p] for p in sample if p not in outliers],
            "outliers": [prices[p] for p in positions if p in outliers][:_FIGURE_PRICES],
        }
    return out


def _top_users(frame: pl.DataFrame, bots: Sequence[BotActor]) -> list[dict[str, Any]]:
    bot_reason = {bot.actor: bot.reason for bot in bots}
    actor = actor_column()
    top = (
        frame.group_by(actor.alias("actor"))
        .len()
        .sort(["len", "actor"], descending=[True, False])
        .head(_FIGURE_USERS)
    )
    return [{"actor": a, "events": n, "bot": bot_reason.get(a)} for a, n in top.iter_rows()]
