"""Quarantined rows with their ids: list, export for fixing, and retry (as stored, or fixed in a file).

A retry runs the rows through the gate again; rows that pass are ingested and leave the quarantine, rows
that still fail stay with their new reasons. Events held for unknown products re-join this way after a
catalog import.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import delete, select, update

from shelfwise.io.readers import RAW_LINE_KEY, RawRow, json_safe, read_rows
from shelfwise.quality.gate import gate_events, gate_products
from shelfwise.quality.quarantine import QuarantinedRow
from shelfwise.store import Store, tables

if TYPE_CHECKING:
    from shelfwise.engine import Engine

Source = Literal["products", "events"]
META_PREFIX = "_quarantine_"
ID_KEY = f"{META_PREFIX}id"
META_KEYS = (ID_KEY, f"{META_PREFIX}file", f"{META_PREFIX}line", f"{META_PREFIX}reasons")


@dataclass(frozen=True)
class QuarantineEntry:
    id: int
    source: Source
    file: str
    line: int
    raw: dict[str, Any]
    reasons: list[str]


@dataclass(frozen=True)
class RetryResult:
    source: Source
    tried: int
    released: int
    still_quarantined: int
    not_retryable: int


def catalog_ids(store: Store) -> set[str]:
    """Every stored product_id; one column, so a 100k catalog is cheap to join events against."""
    with store.engine.connect() as conn:
        return {str(value) for value in conn.execute(select(tables.products.c.product_id)).scalars()}


def entries(
    store: Store, source: Source | None = None, ids: Sequence[int] | None = None
) -> list[QuarantineEntry]:
    table = tables.quarantine
    query = select(table).order_by(table.c.id)
    if source is not None:
        query = query.where(table.c.source == source)
    if ids is not None:
        query = query.where(table.c.id.in_(list(ids)))
    with store.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        QuarantineEntry(
            int(r["id"]), r["source"], r["file"], int(r["line"]), dict(r["raw"]), list(r["reasons"])
        )
        for r in rows
    ]


def export(store: Store, path: Path, source: Source) -> int:
    """Write the quarantined rows of one source as CSV or JSON lines (by suffix), with their id and
    reasons in `_quarantine_*` columns, ready to be fixed and passed to `retry_file`."""
    found = entries(store, source)
    records = [
        {
            ID_KEY: e.id,
            f"{META_PREFIX}file": e.file,
            f"{META_PREFIX}line": e.line,
            f"{META_PREFIX}reasons": "; ".join(e.reasons),
            **e.raw,
        }
        for e in found
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        with path.open("w", encoding="utf-8") as out:
            for record in records:
                out.write(json.dumps(json_safe(record), ensure_ascii=False) + "\n")
        return len(records)
    columns: list[str] = []
    for record in records:
        columns.extend(key for key in record if key not in columns)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=columns or list(META_KEYS), lineterminator="\n")
        writer.writeheader()
        for record in records:
            writer.writerow({key: _cell(value) for key, value in record.items()})
    return len(records)


def _cell(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value


def retry_stored(engine: Engine, source: Source, ids: Sequence[int] | None = None) -> RetryResult:
    """Retry quarantined rows as they are stored (after a catalog import, for example)."""
    found = entries(engine.store, source, ids)
    retryable = [e for e in found if RAW_LINE_KEY not in e.raw]
    items = [_Item(e.id, e.raw, e.file, e.line) for e in retryable]
    released, still = _retry(engine, source, items, f"quarantine ({source})")
    return RetryResult(source, len(found), released, still, len(found) - len(retryable))


def retry_file(engine: Engine, source: Source, path: Path) -> RetryResult:
    """Retry rows fixed in an exported file; rows without a `_quarantine_id` are simply ingested."""
    items: list[_Item] = []
    unreadable = 0
    for row in read_rows(path):
        if row.data is None or row.error is not None:
            unreadable += 1
            continue
        ident = row.data.get(ID_KEY)
        data = {k: v for k, v in row.data.items() if not str(k).startswith(META_PREFIX)}
        items.append(_Item(int(float(ident)) if ident not in (None, "") else None, data, str(path), row.line))
    released, still = _retry(engine, source, items, str(path))
    return RetryResult(source, len(items) + unreadable, released, still, unreadable)


@dataclass(frozen=True)
class _Item:
    """One row to retry: its quarantine id (None for a new row), its values, and where it came from."""

    ident: int | None
    data: dict[str, Any]
    file: str
    line: int


def _retry(engine: Engine, source: Source, items: Sequence[_Item], label: str) -> tuple[int, int]:
    """One pass through the gate. Rows are matched to their outcome by position, never by line (rows
    of several files can share a line number); what passes is stored from this very pass, so no row
    is judged twice, and what fails keeps (or, when new, gets) its quarantine entry with its origin."""
    if not items:
        return 0, 0
    rows = [RawRow(line=position, data=dict(item.data)) for position, item in enumerate(items, start=1)]
    if source == "products":
        gated = gate_products(rows, label, engine.quality_config)
    else:
        gated = gate_events(rows, label, engine.quality_config, engine.catalog_ids())
    failed = {q.line: q.reasons for q in gated.quarantined}
    engine.store_gated(gated)
    outcomes = list(enumerate(items, start=1))
    fresh = [
        QuarantinedRow(source=source, file=item.file, line=item.line, raw=item.data, reasons=failed[position])
        for position, item in outcomes
        if item.ident is None and position in failed
    ]
    engine.store.add_quarantined(fresh)
    released = [
        item.ident for position, item in outcomes if item.ident is not None and position not in failed
    ]
    with engine.store.engine.begin() as conn:
        if released:
            conn.execute(delete(tables.quarantine).where(tables.quarantine.c.id.in_(released)))
        for position, item in outcomes:
            if item.ident is not None and position in failed:
                conn.execute(
                    update(tables.quarantine)
                    .where(tables.quarantine.c.id == item.ident)
                    .values(reasons=failed[position])
                )
    return len(items) - len(failed), len(failed)
