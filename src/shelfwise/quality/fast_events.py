"""A vectorised reader for large event files: polars reads the CSV, simple rows become events at once.

A row is simple when every value is already in its canonical form (an exact event type, an ISO 8601
timestamp, plain ids, digits for quantity and price). Any other row goes through the row parser, so what
comes out is exactly what `parse_event` makes; a test holds the two paths to the same events. The fast
path is taken only when each record is one physical line, so line numbers stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from shelfwise.domain import Event, EventType
from shelfwise.io.parsing import EVENT_FIELDS, field_key
from shelfwise.io.readers import RawRow

_ISO = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})?$"
# Ids as the Event model takes them (no NUL, at most 256 characters; request ids 64).
_ID = r"^[^\s\x00](?:[^\x00]{0,254}[^\s\x00])?$"
_REQUEST_ID = r"^[^\s\x00](?:[^\x00]{0,62}[^\s\x00])?$"
_DIGITS = r"^[1-9]\d{0,8}$"
_PRICE = r"^\d{1,12}(?:\.\d{1,6})?$"
_TYPES = [kind.value for kind in EventType]
MIN_ROWS = 50_000  # below this the row parser is fast enough and the fast path is not worth it


@dataclass
class FastEvents:
    """Rows of an events file: `events[i]` is the Event of row i, or None where `raw[i]` must be parsed."""

    lines: list[int]
    events: list[Event | None]
    raw: list[RawRow | None]
    frame: pl.DataFrame

    def raw_row(self, index: int) -> RawRow:
        """Row i as read (for a quarantine entry), also for rows that took the fast path."""
        given = self.raw[index]
        if given is not None:
            return given
        return RawRow(line=self.lines[index], data=self.frame.row(index, named=True))


def read_events_fast(path: Path) -> FastEvents | None:
    """The file's rows, or None when the fast path does not apply (then the caller reads row by row)."""
    if path.suffix.lower() not in (".csv", ".tsv") or path.stat().st_size < MIN_ROWS * 40:
        return None
    separator = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        frame = pl.read_csv(path, separator=separator, infer_schema=False, quote_char='"', encoding="utf8")
    except (pl.exceptions.ComputeError, UnicodeDecodeError):
        return None
    if not _one_line_per_record(path, frame.height):
        return None
    names = {field_key(name): name for name in frame.columns}
    if len(names) != len(frame.columns):
        return None
    return _split(frame, names)


def _one_line_per_record(path: Path, rows: int) -> bool:
    with path.open("rb") as handle:
        data = handle.read()
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    return lines == rows + 1 and b"\n\n" not in data and b"\r" not in data


def _column(frame: pl.DataFrame, names: dict[str, str], field: str) -> pl.Expr:
    return pl.col(names[field]) if field in names else pl.lit(None, dtype=pl.Utf8)


def _split(frame: pl.DataFrame, names: dict[str, str]) -> FastEvents:
    col = {field: _column(frame, names, field) for field in EVENT_FIELDS}
    kind = col["event_type"]
    simple = (
        kind.is_in(_TYPES)
        & col["timestamp"].str.contains(_ISO).fill_null(False)
        & (col["user_id"].is_not_null() | col["session_id"].is_not_null())
        & (col["user_id"].is_null() | col["user_id"].str.contains(_ID))
        & (col["session_id"].is_null() | col["session_id"].str.contains(_ID))
        & (col["product_id"].is_null() | col["product_id"].str.contains(_ID))
        & (col["quantity"].is_null() | col["quantity"].str.contains(_DIGITS))
        & (col["price"].is_null() | col["price"].str.contains(_PRICE))
        & (col["request_id"].is_null() | col["request_id"].str.contains(_REQUEST_ID))
        & (col["query"].is_null() | ~col["query"].str.contains("\x00", literal=True))
        & (col["event_id"].is_null() | col["event_id"].str.contains(_ID))
        & pl.when(kind == "search")
        .then(col["query"].str.strip_chars().str.len_chars().fill_null(0) > 0)
        .otherwise(col["product_id"].is_not_null())
    )
    timestamp = (
        col["timestamp"]
        .str.replace(" ", "T")
        .str.replace("Z$", "+00:00")
        .str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", time_zone="UTC", strict=False)
    )
    unzoned = col["timestamp"].str.replace(" ", "T").str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", strict=False)
    parsed = frame.select(
        simple.alias("simple"),
        pl.coalesce(timestamp, unzoned.dt.replace_time_zone("UTC")).alias("timestamp"),
        *(
            col[field].alias(field)
            for field in ("user_id", "session_id", "event_type", "product_id", "request_id", "event_id")
        ),
        col["query"].str.strip_chars().alias("query"),
        col["quantity"].cast(pl.Int64, strict=False).fill_null(1).alias("quantity"),
        col["price"].cast(pl.Float64, strict=False).alias("price"),
    ).with_columns(pl.col("simple") & pl.col("timestamp").is_not_null())
    kinds = {kind.value: kind for kind in EventType}
    events: list[Event | None] = [
        _event(row, kinds) if row["simple"] else None for row in parsed.iter_rows(named=True)
    ]
    raw: list[RawRow | None] = [None] * frame.height
    for index, event in enumerate(events):
        if event is None:
            raw[index] = RawRow(line=index + 2, data=frame.row(index, named=True))
    return FastEvents(list(range(2, frame.height + 2)), events, raw, frame)


def _event(row: dict[str, Any], kinds: dict[str, EventType]) -> Event:
    kind = kinds[row["event_type"]]
    return Event.trusted(
        {
            "user_id": row["user_id"],
            "session_id": row["session_id"],
            "event_type": kind,
            "product_id": row["product_id"],
            "query": row["query"] if row["query"] else None,
            "timestamp": row["timestamp"],
            "quantity": row["quantity"],
            "price": row["price"],
            "request_id": row["request_id"],
            "event_id": row["event_id"],
        }
    )
