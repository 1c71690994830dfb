"""Quarantine bookkeeping shared by the gate: which columns a file must have, and how reasons are counted.

Nothing is silently dropped. A quarantined row keeps the file, the line and the row as it was read, so a
person can find it, fix it and send it again (see shelfwise.quality.gate for the gate itself).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from shelfwise.domain.ingest import QuarantinedRow, Source
from shelfwise.io.parsing import field_key
from shelfwise.io.readers import UnreadableFileError

# Columns the header of a tabular file must name; without them every row would fail the same way.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "products": ("product_id", "title"),
    "events": ("event_type", "timestamp"),
}
DUPLICATE_REASON = "duplicate product_id"


def reasons_by_field(rows: Iterable[QuarantinedRow]) -> dict[str, int]:
    """Counts of reasons by the field they name ("price: ..." -> price), most frequent first."""
    counts: Counter[str] = Counter()
    for row in rows:
        for reason in row.reasons:
            counts[_reason_field(reason)] += 1
    return dict(counts.most_common())


def _reason_field(reason: str) -> str:
    if reason.startswith(DUPLICATE_REASON):
        return "duplicate"
    head, sep, _ = reason.partition(":")
    return head if sep and " " not in head else "other"


def check_columns(path: Path, source: Source, columns: list[str] | None) -> None:
    """A header without a required column means every row would fail alike: a file problem, said once."""
    if columns is None:
        return
    present = {field_key(name) for name in columns}
    missing = [repr(name) for name in REQUIRED_COLUMNS[source] if name not in present]
    if source == "events" and not present & {"user_id", "session_id"}:
        missing.append("'user_id' or 'session_id'")
    if missing:
        header = ", ".join(repr(name) for name in columns[:8]) + (", ..." if len(columns) > 8 else "")
        raise UnreadableFileError(
            path,
            f"the header ({header}) has no {' and no '.join(missing)} column; "
            f"the first line of a {source} file must name its columns",
        )
