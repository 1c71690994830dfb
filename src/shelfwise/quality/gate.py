"""The quality gate: read, repair, parse, check, and give every row exactly one outcome.

Products: accepted, repaired (each repair recorded) or quarantined (every reason). Events: accepted,
excluded (stored but kept out of training: bots, duplicates) or quarantined. Warnings flag a row without
changing its outcome. Ingestion stores what `gate_products` / `gate_events` pass; the report over gated
files is `shelfwise.quality.reporting`, the assessment of the store before training
`shelfwise.quality.assessment`, and the bookkeeping of one row `shelfwise.quality.rows`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from shelfwise.domain import Event, IngestReport, Product, QuarantinedRow
from shelfwise.io.parsing import RowError, parse_event, parse_product
from shelfwise.io.readers import RawRow, read_rows
from shelfwise.quality.bots import BotActor
from shelfwise.quality.checks.catalog import catalog_warnings, check_catalog, products_frame
from shelfwise.quality.checks.events import check_events, check_live_event, event_warnings, events_frame
from shelfwise.quality.config import QualityConfig
from shelfwise.quality.fast_events import read_events_fast
from shelfwise.quality.flags import DatasetWarning, Flags
from shelfwise.quality.quarantine import DUPLICATE_REASON, check_columns, reasons_by_field
from shelfwise.quality.repairs import repair_product_row
from shelfwise.quality.report import FileSummary, RepairRecord, RowResult
from shelfwise.quality.rows import GatedRow, check_of_reason, quarantined_row, raw_id, reasons_by_check

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

REPORT_ROWS = 100  # quarantined rows an ingest report lists; its counts are never capped


@dataclass
class GatedFile:
    """One file (or batch) through the gate. `stored` are the rows to store (accepted, repaired and
    excluded), `excluded` their positions among `stored` that stay out of training, `unreadable` how many
    rows could not be read as a product or event at all (broken, a required field missing, a wrong type)."""

    kind: str
    file: str
    rows: list[GatedRow]
    stored: list[Any]
    excluded: list[int]
    quarantined: list[QuarantinedRow]
    frame: pl.DataFrame
    flags: Flags
    warnings: list[DatasetWarning]
    bots: list[BotActor] = field(default_factory=list)
    unreadable: int = 0

    def summary(self) -> FileSummary:
        """Rows by outcome."""
        counts = {"accepted": 0, "repaired": 0, "excluded": 0, "quarantined": 0}
        for row in self.rows:
            counts[row.outcome()] += 1
        return FileSummary(file=self.file, rows=len(self.rows), **counts)

    def results(self) -> list[RowResult]:
        """The report's entry for each row that is not a plain accept (any check fired on it)."""
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
            reasons_by_check=reasons_by_check(self.rows),
        )


# --- products ------------------------------------------------------------------------------------------


def gate_products(rows: Iterable[RawRow], file: str, config: QualityConfig | None = None) -> GatedFile:
    """Gate catalog rows: repair, parse, keep the newest row per product_id, run the catalog checks, and
    give each row its outcome (accepted, repaired or quarantined)."""
    config = config or QualityConfig()
    gated: list[GatedRow] = []
    parsed: list[tuple[GatedRow, Product]] = []
    for raw in rows:
        row = GatedRow(line=raw.line, raw=raw, product_id=raw_id(raw, "product_id"))
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
    max_raw = config.limits.max_raw_chars
    quarantined = [
        quarantined_row("products", file, row, max_raw) for row in gated if row.outcome() == "quarantined"
    ]
    warnings = catalog_warnings(frame, flags, len(gated), len(quarantined), config)
    stored = [product for _, product in winners]
    unreadable = len(gated) - len(parsed)
    return GatedFile(
        "products", file, gated, stored, [], quarantined, frame, flags, warnings, unreadable=unreadable
    )


def _newest_wins(parsed: list[tuple[GatedRow, Product]]) -> list[tuple[GatedRow, Product]]:
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


# --- events --------------------------------------------------------------------------------------------


def gate_events(
    rows: Iterable[RawRow],
    file: str,
    config: QualityConfig | None = None,
    catalog_ids: Collection[str] | None = None,
    now: datetime | None = None,
) -> GatedFile:
    """Gate event rows: parse, run the event checks (against `catalog_ids` when given, and `now` for
    future timestamps), and give each row its outcome (accepted, excluded or quarantined)."""
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
    gated: list[GatedRow] = []
    parsed_rows: list[GatedRow] = []
    events: list[Event] = []
    for line, raw, parsed in rows:
        if parsed is not None:
            row = GatedRow(line=line, raw=None, product_id=parsed.product_id, user_id=parsed.user_id)
        else:
            assert raw is not None
            row, parsed = _parse_event_row(line, raw)
        gated.append(row)
        if parsed is not None:
            events.append(parsed)
            parsed_rows.append(row)
    frame = events_frame(events)
    flags, bots = check_events(frame, config, catalog_ids, now)
    for position, checks in flags.by_row().items():
        parsed_rows[position].checks.update(checks)
    quarantined, stored, excluded = _decide_events(
        gated, parsed_rows, events, file, fetch, config.limits.max_raw_chars
    )
    warnings = event_warnings(frame, flags, bots, len(gated), len(quarantined), config, now)
    unreadable = len(gated) - len(parsed_rows)
    return GatedFile(
        "events", file, gated, stored, excluded, quarantined, frame, flags, warnings, bots, unreadable
    )


def gate_live_event(
    raw: RawRow,
    file: str,
    config: QualityConfig,
    catalog_ids: Collection[str] | None,
    earlier: Callable[[Event], Sequence[Event]],
    now: datetime | None = None,
) -> GatedFile:
    """Gate one event sent live: the same parsing and row checks as `gate_events`, applied to this one
    event against `earlier(event)`, its actor's recent events (so a cart after a view sent a moment
    before is not a cart without a view, and a repeat of one is a duplicate), without the frames and
    dataset warnings that only a batch needs. `gate_events` over those events and this one flags this
    row with the same checks (tests/quality/test_quality_live_event.py holds the two to it)."""
    row, event = _parse_event_row(raw.line, raw)
    events = [event] if event is not None else []
    flags = Flags()
    if event is not None:
        checks = check_live_event(event, config, catalog_ids, earlier(event), now)
        row.checks.update(checks)
        flags.merge(Flags({name: {0: detail} for name, detail in checks.items()}))
    quarantined, stored, excluded = _decide_events(
        [row], [row] if event else [], events, file, None, config.limits.max_raw_chars
    )
    frame = events_frame(events)
    unreadable = 0 if event is not None else 1
    return GatedFile(
        "events", file, [row], stored, excluded, quarantined, frame, flags, [], unreadable=unreadable
    )


def _parse_event_row(line: int, raw: RawRow) -> tuple[GatedRow, Event | None]:
    """A raw row's gate bookkeeping and its event, or None with the reasons it did not parse."""
    row = GatedRow(line=line, raw=raw, product_id=raw_id(raw, "product_id"), user_id=raw_id(raw, "user_id"))
    if raw.error is not None or raw.data is None:
        row.reasons.append(f"row: {raw.error or 'no fields'}")
        row.checks["event.unreadable_row"] = raw.error or "no fields"
        return row, None
    try:
        return row, parse_event(raw.data)
    except RowError as error:
        row.reasons.extend(error.reasons)
        for reason in error.reasons:
            row.checks.setdefault(check_of_reason("event", reason), reason)
        return row, None


def _decide_events(
    gated: list[GatedRow],
    parsed_rows: list[GatedRow],
    events: list[Event],
    file: str,
    fetch: Callable[[int], RawRow] | None,
    max_raw_chars: int,
) -> tuple[list[QuarantinedRow], list[Event], list[int]]:
    """Every row's outcome once all checks have run: the quarantine entries, the events to store and the
    positions among those that stay out of training."""
    for row in gated:
        row.decide()
    quarantined = []
    for index, row in enumerate(gated):
        if row.outcome() == "quarantined":
            if row.raw is None and fetch is not None:
                row.raw = fetch(index)
            quarantined.append(quarantined_row("events", file, row, max_raw_chars))
    stored: list[Event] = []
    excluded: list[int] = []
    for row, event in zip(parsed_rows, events, strict=True):
        outcome = row.outcome()
        if outcome == "quarantined":
            continue
        if outcome == "excluded":
            excluded.append(len(stored))
        stored.append(event)
    return quarantined, stored, excluded


# --- whole files ---------------------------------------------------------------------------------------


def gate_product_file(
    path: Path | str, config: QualityConfig | None = None, fmt: str | None = None
) -> GatedFile:
    """Gate a catalog file (format from its suffix unless `fmt`), after checking its columns."""
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
    """Gate an events file, after checking its columns; large CSV and TSV files take the fast reader
    (`fast_events`), which parses in bulk and fetches raw rows only for those quarantined."""
    stream = read_rows(path, fmt)
    check_columns(stream.path, "events", stream.columns)
    fast = read_events_fast(Path(path)) if fmt is None else None
    if fast is None:
        return gate_events(stream, str(path), config, catalog_ids, now)
    stream.close()
    rows = zip(fast.lines, fast.raw, fast.events, strict=True)
    return _gate_events(rows, str(path), config, catalog_ids, now, fast.raw_row)
