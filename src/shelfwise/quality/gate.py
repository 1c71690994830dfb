"""The quality gate: read, repair, parse, check, and give every row exactly one outcome.

Products: accepted, repaired (each repair recorded) or quarantined (every reason). Events: accepted,
excluded (stored but kept out of training: bots, duplicates) or quarantined. Warnings flag a row without
changing its outcome. `check_files` is `shelfwise quality check`; `assess_store` is what training runs.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from shelfwise.domain import Event, IngestReport, Product, QuarantinedRow
from shelfwise.domain.products import split_category
from shelfwise.io.parsing import RowError, field_key, parse_event, parse_product
from shelfwise.io.readers import RawRow, read_rows
from shelfwise.quality.bots import BotActor
from shelfwise.quality.checks import CHECKS, Effect
from shelfwise.quality.checks.catalog import catalog_warnings, check_catalog, coverage_shares, products_frame
from shelfwise.quality.checks.events import (
    check_events,
    event_warnings,
    events_frame,
    normalise_frame,
    per_day,
)
from shelfwise.quality.config import QualityConfig
from shelfwise.quality.fast_events import read_events_fast
from shelfwise.quality.flags import DatasetWarning, Flags
from shelfwise.quality.quarantine import DUPLICATE_REASON, check_columns, reasons_by_field
from shelfwise.quality.repairs import Repair, repair_product_row
from shelfwise.quality.report import (
    FileSummary,
    Outcome,
    QualityReport,
    RepairRecord,
    RowResult,
    WarningItem,
    check_counts,
)
from shelfwise.quality.tiers import tier_verdicts

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FIGURE_CATEGORIES = 12
_FIGURE_PRICES = 400
_FIGURE_USERS = 15


@dataclass
class _Row:
    """What the gate knows about one input row while it decides."""

    line: int
    raw: RawRow | None  # None for a row read by the fast path; GatedFile.raw_row fetches it when needed
    checks: dict[str, str] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)
    product_id: str | None = None
    user_id: str | None = None
    decided: Outcome | None = None

    def outcome(self) -> Outcome:
        """The row's outcome; fixed once every check has run (`decide`)."""
        return self.decided or self._outcome()

    def decide(self) -> None:
        self.decided = self._outcome()

    def _outcome(self) -> Outcome:
        if not self.checks and not self.reasons and not self.repairs:
            return "accepted"
        effects = {CHECKS[name].effect for name in self.checks}
        if self.reasons or Effect.QUARANTINE in effects:
            return "quarantined"
        if Effect.EXCLUDE in effects:
            return "excluded"
        if self.repairs:
            return "repaired"
        return "accepted"


REPORT_ROWS = 100  # quarantined rows an ingest report lists; its counts are never capped


@dataclass
class GatedFile:
    """One file (or batch) through the gate. `stored` are the rows to store (accepted, repaired and
    excluded), `excluded` their positions among `stored` that stay out of training."""

    kind: str
    file: str
    rows: list[_Row]
    stored: list[Any]
    excluded: list[int]
    quarantined: list[QuarantinedRow]
    frame: pl.DataFrame
    flags: Flags
    warnings: list[DatasetWarning]
    bots: list[BotActor] = field(default_factory=list)

    def summary(self) -> FileSummary:
        counts = {"accepted": 0, "repaired": 0, "excluded": 0, "quarantined": 0}
        for row in self.rows:
            counts[row.outcome()] += 1
        return FileSummary(file=self.file, rows=len(self.rows), **counts)

    def results(self) -> list[RowResult]:
        results = []
        for row in self.rows:
            outcome = row.outcome()
            if outcome == "accepted" and not row.checks:
                continue
            results.append(
                RowResult(
                    file="products" if self.kind == "products" else "events",
                    line=row.line,
                    product_id=row.product_id,
                    user_id=row.user_id,
                    outcome=outcome,
                    checks=sorted(row.checks),
                    details={name: detail for name, detail in row.checks.items() if detail},
                    repairs=[RepairRecord(**vars(repair)) for repair in row.repairs],
                )
            )
        return results

    def ingest_report(self, max_rows: int | None = REPORT_ROWS) -> IngestReport:
        """The counts of this pass, with its first `max_rows` quarantined rows listed (None lists all)."""
        summary = self.summary()
        rows = sorted(self.quarantined, key=lambda item: item.line)
        return IngestReport(
            source="products" if self.kind == "products" else "events",
            file=self.file,
            total=summary.rows,
            accepted=summary.accepted + summary.repaired + summary.excluded,
            repaired=summary.repaired,
            excluded=summary.excluded,
            quarantined=summary.quarantined,
            quarantined_rows=rows if max_rows is None else rows[:max_rows],
            reasons_by_field=reasons_by_field(self.quarantined),
            reasons_by_check=_reasons_by_check(self.rows),
        )


def _reasons_by_check(rows: Sequence[_Row]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        for name in row.checks:
            counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1]))


def _raw_id(row: RawRow, name: str) -> str | None:
    if row.data is None:
        return None
    value = row.data.get(name)  # the usual spelling first: field_key per column is the slow path
    if value is None:
        for key, candidate in row.data.items():
            if field_key(str(key)) == name:
                value = candidate
                break
    return str(value).strip() or None if value is not None else None


def check_of_reason(kind: str, reason: str) -> str:
    """The quality check a quarantine reason belongs to (`kind` is product or event). Reasons either name
    their check (`product.x: ...`) or, from the row parser, the field at fault (`price: ...`)."""
    prefix, _, problem = reason.partition(":")
    prefix, problem = prefix.strip(), problem.strip()
    if prefix in CHECKS:
        return prefix
    if reason.startswith(DUPLICATE_REASON):
        return "product.duplicate_id"
    if prefix == "row":
        return f"{kind}.unreadable_row"
    if problem.startswith("missing"):
        return f"{kind}.missing_required"
    if kind == "product" and prefix == "price" and problem.endswith("is negative"):
        return "product.negative_price"
    if kind == "event" and prefix == "event_type":
        return "event.unknown_event_type"
    return f"{kind}.invalid_value"


# --- products ------------------------------------------------------------------------------------------


def gate_products(rows: Iterable[RawRow], file: str, config: QualityConfig | None = None) -> GatedFile:
    config = config or QualityConfig()
    gated: list[_Row] = []
    parsed: list[tuple[_Row, Product]] = []
    for raw in rows:
        row = _Row(line=raw.line, raw=raw, product_id=_raw_id(raw, "product_id"))
        gated.append(row)
        if raw.error is not None or raw.data is None:
            row.reasons.append(f"row: {raw.error or 'no fields'}")
            row.checks["product.unreadable_row"] = raw.error or "no fields"
            continue
        data, row.repairs = repair_product_row(raw.data)
        for repair in row.repairs:
            row.checks.setdefault(repair.check, repair.describe())
        try:
            parsed.append((row, parse_product(data)))
        except RowError as error:
            row.reasons.extend(error.reasons)
            for reason in error.reasons:
                row.checks.setdefault(check_of_reason("product", reason), reason)
    winners = _newest_wins(parsed)
    frame = products_frame([product for _, product in winners])
    flags = check_catalog(frame, config)
    for position, checks in flags.by_row().items():
        winners[position][0].checks.update(checks)
    for row in gated:
        row.decide()
    quarantined = [_quarantined("products", file, row) for row in gated if row.outcome() == "quarantined"]
    warnings = catalog_warnings(frame, flags, len(gated), len(quarantined), config)
    return GatedFile(
        "products", file, gated, [p for _, p in winners], [], quarantined, frame, flags, warnings
    )


def _newest_wins(parsed: list[tuple[_Row, Product]]) -> list[tuple[_Row, Product]]:
    """One row per product_id: the newest by updated_at (then created_at), the later row on a tie."""
    best: dict[str, int] = {}
    for position, (_, product) in enumerate(parsed):
        current = best.get(product.product_id)
        if current is None or _freshness(product, position) >= _freshness(parsed[current][1], current):
            best[product.product_id] = position
    winners = []
    for position, (row, product) in enumerate(parsed):
        winner = best[product.product_id]
        if winner == position:
            winners.append((row, product))
            continue
        line = parsed[winner][0].line
        reason = f"{DUPLICATE_REASON} {product.product_id!r}: superseded by line {line}"
        row.reasons.append(reason)
        row.checks["product.duplicate_id"] = f"superseded by line {line}"
    return winners


def _freshness(product: Product, position: int) -> tuple[datetime, int]:
    return (product.updated_at or product.created_at or _EPOCH, position)


def _quarantined(source: str, file: str, row: _Row) -> QuarantinedRow:
    assert row.raw is not None, "the raw row is fetched before a row is quarantined"
    reasons = list(row.reasons)
    for name, detail in row.checks.items():
        if CHECKS[name].effect is Effect.QUARANTINE and not any(detail in reason for reason in reasons):
            reasons.append(f"{name}: {detail}" if detail else name)
    return QuarantinedRow(
        source="products" if source == "products" else "events",
        file=file,
        line=row.line,
        raw=row.raw.raw,
        reasons=reasons,
    )


# --- events --------------------------------------------------------------------------------------------


def gate_events(
    rows: Iterable[RawRow],
    file: str,
    config: QualityConfig | None = None,
    catalog_ids: Collection[str] | None = None,
    now: datetime | None = None,
) -> GatedFile:
    return _gate_events(((row.line, row, None) for row in rows), file, config, catalog_ids, now, None)


def _gate_events(
    rows: Iterable[tuple[int, RawRow | None, Event | None]],
    file: str,
    config: QualityConfig | None,
    catalog_ids: Collection[str] | None,
    now: datetime | None,
    fetch: Callable[[int], RawRow] | None,
) -> GatedFile:
    """Rows come parsed (an Event) or raw (a RawRow to parse); `fetch` returns the raw row of row i when
    only the Event was given."""
    config = config or QualityConfig()
    gated: list[_Row] = []
    parsed_rows: list[_Row] = []
    events: list[Event] = []
    for line, raw, parsed in rows:
        if parsed is not None:
            row = _Row(line=line, raw=None, product_id=parsed.product_id, user_id=parsed.user_id)
            gated.append(row)
            events.append(parsed)
            parsed_rows.append(row)
            continue
        assert raw is not None
        row = _Row(line=line, raw=raw, product_id=_raw_id(raw, "product_id"), user_id=_raw_id(raw, "user_id"))
        gated.append(row)
        if raw.error is not None or raw.data is None:
            row.reasons.append(f"row: {raw.error or 'no fields'}")
            row.checks["event.unreadable_row"] = raw.error or "no fields"
            continue
        try:
            events.append(parse_event(raw.data))
            parsed_rows.append(row)
        except RowError as error:
            row.reasons.extend(error.reasons)
            for reason in error.reasons:
                row.checks.setdefault(check_of_reason("event", reason), reason)
    frame = events_frame(events)
    flags, bots = check_events(frame, config, catalog_ids, now)
    for position, checks in flags.by_row().items():
        parsed_rows[position].checks.update(checks)
    for row in gated:
        row.decide()
    quarantined = []
    for index, row in enumerate(gated):
        if row.outcome() == "quarantined":
            if row.raw is None and fetch is not None:
                row.raw = fetch(index)
            quarantined.append(_quarantined("events", file, row))
    stored: list[Event] = []
    excluded: list[int] = []
    for row, event in zip(parsed_rows, events, strict=True):
        outcome = row.outcome()
        if outcome == "quarantined":
            continue
        if outcome == "excluded":
            excluded.append(len(stored))
        stored.append(event)
    warnings = event_warnings(frame, flags, bots, len(gated), len(quarantined), config, now)
    return GatedFile("events", file, gated, stored, excluded, quarantined, frame, flags, warnings, bots)


# --- whole files and the store -------------------------------------------------------------------------


def gate_product_file(
    path: Path | str, config: QualityConfig | None = None, fmt: str | None = None
) -> GatedFile:
    stream = read_rows(path, fmt)
    check_columns(stream.path, "products", stream.columns)
    return gate_products(stream, str(path), config)


def gate_event_file(
    path: Path | str,
    config: QualityConfig | None = None,
    catalog_ids: Collection[str] | None = None,
    fmt: str | None = None,
    now: datetime | None = None,
) -> GatedFile:
    stream = read_rows(path, fmt)
    check_columns(stream.path, "events", stream.columns)
    fast = read_events_fast(Path(path)) if fmt is None else None
    if fast is None:
        return gate_events(stream, str(path), config, catalog_ids, now)
    stream.close()
    rows = zip(fast.lines, fast.raw, fast.events, strict=True)
    return _gate_events(rows, str(path), config, catalog_ids, now, fast.raw_row)


@dataclass
class QualityCheck:
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
    actor = (
        pl.when(pl.col("user_id").is_not_null())
        .then(pl.lit("user:") + pl.col("user_id"))
        .otherwise(pl.lit("session:") + pl.col("session_id"))
    )
    top = (
        frame.group_by(actor.alias("actor"))
        .len()
        .sort(["len", "actor"], descending=[True, False])
        .head(_FIGURE_USERS)
    )
    return [{"actor": a, "events": n, "bot": bot_reason.get(a)} for a, n in top.iter_rows()]


@dataclass
class StoreAssessment:
    """The gate over what is stored, as training sees it: the report, and which events to leave out."""

    report: QualityReport
    excluded_events: np.ndarray  # bool mask over the store's events frame, in its order
    excluded_counts: dict[str, int]


def assess_store(
    products: Sequence[Product],
    events: pl.DataFrame,
    quarantined: dict[str, int],
    config: QualityConfig | None = None,
    now: datetime | None = None,
) -> StoreAssessment:
    """Dataset checks over the store: products and events as stored, with quarantine counts per source."""
    config = config or QualityConfig()
    frame = products_frame(products)
    product_flags = check_catalog(frame, config)
    product_rows = len(products) + quarantined.get("products", 0)
    product_warnings = catalog_warnings(
        frame, product_flags, product_rows, quarantined.get("products", 0), config
    )
    event_frame = normalise_frame(events) if events.height else events_frame([])
    ids = {product.product_id for product in products}
    event_flags, bots = check_events(event_frame, config, ids, now)
    event_rows = event_frame.height + quarantined.get("events", 0)
    event_warnings_ = event_warnings(
        event_frame, event_flags, bots, event_rows, quarantined.get("events", 0), config, now
    )
    excluded = np.zeros(event_frame.height, dtype=bool)
    counts: dict[str, int] = {}
    for name in (
        "event.bot",
        "event.duplicate",
        "event.unknown_product",
        "event.future_timestamp",
        "event.timestamp_before_shop",
    ):
        mask = event_flags.mask(name, event_frame.height)
        counts[name] = int((mask & ~excluded).sum())
        excluded |= mask
    warnings = product_warnings + event_warnings_
    product_gate = GatedFile(
        "products", "<store>", [], list(products), [], [], frame, product_flags, product_warnings
    )
    event_gate = GatedFile(
        "events", "<store>", [], [], [], [], event_frame, event_flags, event_warnings_, bots
    )
    check_rows = {**_flag_counts(product_flags), **_flag_counts(event_flags)}
    report = QualityReport(
        source="store",
        checks=dict(sorted(check_rows.items())),
        check_details=check_counts(check_rows),
        tiers=tier_verdicts(warnings),
        warnings=[WarningItem.of(warning) for warning in warnings],
        figures=figures(product_gate, event_gate),
    )
    return StoreAssessment(report, excluded, counts)


def _flag_counts(flags: Flags) -> dict[str, int]:
    return {name: len(rows) for name, rows in flags.by_check.items() if rows}
