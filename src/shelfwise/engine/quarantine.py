"""Quarantined rows back through the gate: export them for fixing, and retry them (as stored, or fixed in a
file). Rows that pass are ingested and leave the quarantine; rows that still fail stay with their new
reasons. (Events of products not in the catalog are not quarantined: they wait unjoined in the store and
join when their product arrives. Those an older shelfwise quarantined for it are released by a retry.)

This is an engine use case: it needs the gate, the store and the engine's view of the catalog together."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shelfwise.domain import QuarantinedRow
from shelfwise.domain.ingest import Source
from shelfwise.io.readers import RAW_LINE_KEY, RAW_TRUNCATED_KEY, RawRow, read_rows, truncate_raw
from shelfwise.io.writers import write_rows
from shelfwise.quality.gate import GatedFile
from shelfwise.store import Store

META_PREFIX = "_quarantine_"
ID_KEY = f"{META_PREFIX}id"
META_KEYS = (ID_KEY, f"{META_PREFIX}file", f"{META_PREFIX}line", f"{META_PREFIX}reasons")

Gate = Callable[[list[RawRow], str], GatedFile]
"""Runs rows through the quality gate of one source, labelled with where they came from."""


@dataclass(frozen=True)
class RetryItem:
    """One row to retry: its quarantine id (None for a new row), its values, and where it came from."""

    ident: int | None
    data: dict[str, Any]
    file: str
    line: int


def export_rows(store: Store, path: Path, source: Source) -> int:
    """Write the quarantined rows of one source as CSV or JSON lines (by suffix), with their id and
    reasons in `_quarantine_*` columns, ready to be fixed and retried with `file_items`."""
    records = [
        {
            ID_KEY: row.id,
            f"{META_PREFIX}file": row.file,
            f"{META_PREFIX}line": row.line,
            f"{META_PREFIX}reasons": "; ".join(row.reasons),
            **row.raw,
        }
        for row in store.quarantined(source=source, limit=None)
    ]
    return write_rows(path, records, columns=META_KEYS)


def stored_items(rows: Sequence[QuarantinedRow]) -> tuple[list[RetryItem], int]:
    """Stored entries as they are, and how many cannot be retried so (unparseable text, and rows kept cut
    short, need a fix)."""
    retryable = [row for row in rows if RAW_LINE_KEY not in row.raw and RAW_TRUNCATED_KEY not in row.raw]
    items = [RetryItem(row.id, row.raw, row.file, row.line) for row in retryable]
    return items, len(rows) - len(retryable)


def file_items(path: Path) -> tuple[list[RetryItem], int]:
    """Rows fixed in an exported file (rows without a `_quarantine_id` are new), and the count of those
    that cannot be retried: unreadable, or still marked as kept cut short (clear `_raw_truncated` once the
    row is whole again)."""
    items: list[RetryItem] = []
    unreadable = 0
    for row in read_rows(path):
        cut_short = row.data is not None and row.data.pop(RAW_TRUNCATED_KEY, None) not in (None, "")
        if row.data is None or row.error is not None or cut_short:
            unreadable += 1
            continue
        ident = row.data.get(ID_KEY)
        data = {k: v for k, v in row.data.items() if not str(k).startswith(META_PREFIX)}
        number = int(float(ident)) if ident not in (None, "") else None
        items.append(RetryItem(number, data, str(path), row.line))
    return items, unreadable


def retry(
    store: Store,
    source: Source,
    items: Sequence[RetryItem],
    label: str,
    gate: Gate,
    store_gated: Callable[[GatedFile], object],
    max_raw_chars: int,
) -> tuple[int, int]:
    """One pass through the gate; returns (released, still quarantined). Rows are matched to their outcome
    by position, never by line (rows of several files can share a line number); what passes is stored from
    this very pass, so no row is judged twice, and what fails keeps (or, when new, gets) its quarantine
    entry with its origin (cut short past `max_raw_chars`)."""
    if not items:
        return 0, 0
    rows = [RawRow(line=position, data=dict(item.data)) for position, item in enumerate(items, start=1)]
    gated = gate(rows, label)
    failed = {q.line: q.reasons for q in gated.quarantined}
    store_gated(gated)
    outcomes = list(enumerate(items, start=1))
    store.add_quarantined(
        [
            QuarantinedRow(
                source=source,
                file=item.file,
                line=item.line,
                raw=truncate_raw(item.data, max_raw_chars),
                reasons=failed[at],
            )
            for at, item in outcomes
            if item.ident is None and at in failed
        ]
    )
    store.resolve_quarantined(
        released=[item.ident for at, item in outcomes if item.ident is not None and at not in failed],
        still_failing={
            item.ident: failed[at] for at, item in outcomes if item.ident is not None and at in failed
        },
    )
    return len(items) - len(failed), len(failed)
