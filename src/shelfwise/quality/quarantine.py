"""The first cut of the quality gate: every input row is either accepted or quarantined with its reasons.

Nothing is silently dropped. A quarantined row keeps the file, the line and the row as it was read, so a
person can find it, fix it and send it again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar, overload

from pydantic import BaseModel, Field, model_validator

from shelfwise.domain import Event, Product
from shelfwise.io.parsing import RowError, field_key, parse_event, parse_product
from shelfwise.io.readers import RawRow, UnreadableFileError, read_rows

Source = Literal["products", "events"]
T = TypeVar("T", Product, Event)

# Columns the header of a tabular file must name; without them every row would fail the same way.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "products": ("product_id", "title"),
    "events": ("event_type", "timestamp"),
}
DEFAULT_REPORT_ROWS = 100
DUPLICATE_REASON = "duplicate product_id"


class QuarantinedRow(BaseModel):
    """A row that was not accepted, where it came from, and every reason why."""

    source: Source
    file: str
    line: int
    raw: dict[str, Any] = Field(
        description="The row as read (JSON-safe); `_raw_line` holds unparseable text."
    )
    reasons: list[str]

    def describe(self) -> str:
        return f"{self.file}:{self.line}: {'; '.join(self.reasons)}"


class IngestReport(BaseModel):
    """What one ingest did. `quarantined_rows` may be capped for display; the counts never are.

    `accepted` counts every row stored; of those, `repaired` were changed by a recorded repair and
    `excluded` are kept out of training (bot traffic, duplicate events)."""

    source: Source
    file: str
    total: int = Field(ge=0)
    accepted: int = Field(ge=0)
    quarantined: int = Field(ge=0)
    repaired: int = Field(default=0, ge=0)
    excluded: int = Field(default=0, ge=0)
    quarantined_rows: list[QuarantinedRow] = Field(default_factory=list)
    reasons_by_field: dict[str, int] = Field(
        default_factory=dict, description="How many reasons name each field, most frequent first."
    )
    reasons_by_check: dict[str, int] = Field(
        default_factory=dict, description="How many rows each quality check fired on, most frequent first."
    )

    @property
    def adds_up(self) -> bool:
        """Every row read was accepted or quarantined, none lost and none counted twice."""
        return self.accepted + self.quarantined == self.total

    @model_validator(mode="after")
    def _check_counts(self) -> IngestReport:
        if not self.adds_up:
            raise ValueError(
                f"accepted ({self.accepted}) + quarantined ({self.quarantined}) != total ({self.total})"
            )
        if len(self.quarantined_rows) > self.quarantined:
            raise ValueError("more quarantined rows listed than counted")
        if self.repaired + self.excluded > self.accepted:
            raise ValueError(
                f"repaired ({self.repaired}) + excluded ({self.excluded}) > accepted ({self.accepted})"
            )
        return self

    @property
    def complete(self) -> bool:
        """Whether every quarantined row is listed (the list is not capped)."""
        return len(self.quarantined_rows) == self.quarantined

    def summary(self) -> str:
        line = f"{self.source} from {self.file}: {self.total} rows, {self.accepted} accepted"
        extra = "".join(
            f" ({count} {name})"
            for name, count in (("repaired", self.repaired), ("excluded", self.excluded))
            if count
        )
        return f"{line}{extra}, {self.quarantined} quarantined"


@dataclass
class GateResult(Generic[T]):
    """The outcome of gating one file or stream: what passed, what did not, and how many rows were read."""

    source: Source
    file: str
    accepted: list[T]
    quarantined: list[QuarantinedRow]
    total: int

    def report(self, max_rows: int | None = DEFAULT_REPORT_ROWS) -> IngestReport:
        rows = self.quarantined if max_rows is None else self.quarantined[:max_rows]
        return IngestReport(
            source=self.source,
            file=self.file,
            total=self.total,
            accepted=len(self.accepted),
            quarantined=len(self.quarantined),
            quarantined_rows=rows,
            reasons_by_field=reasons_by_field(self.quarantined),
        )


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


def _quarantine(source: Source, file: str, row: RawRow, reasons: list[str]) -> QuarantinedRow:
    return QuarantinedRow(source=source, file=file, line=row.line, raw=row.raw, reasons=reasons)


def _gate(
    rows: Iterable[RawRow], file: str, source: Source, parse: Callable[[dict[str, Any]], T]
) -> tuple[list[tuple[RawRow, T]], list[QuarantinedRow]]:
    passed: list[tuple[RawRow, T]] = []
    quarantined: list[QuarantinedRow] = []
    for row in rows:
        if row.error is not None or row.data is None:
            quarantined.append(_quarantine(source, file, row, [f"row: {row.error or 'no fields'}"]))
            continue
        try:
            passed.append((row, parse(row.data)))
        except RowError as exc:
            quarantined.append(_quarantine(source, file, row, exc.reasons))
    return passed, quarantined


def gate_products(rows: Iterable[RawRow], file: str) -> tuple[list[Product], list[QuarantinedRow]]:
    """Products that parse, and quarantined rows for the rest.

    A product_id given more than once is an upsert within the file: the last valid row wins and each
    earlier one is quarantined as superseded, so the rows still add up."""
    passed, quarantined = _gate(rows, file, "products", parse_product)
    return _keep_last(passed, quarantined, file)


def _keep_last(
    passed: list[tuple[RawRow, Product]], quarantined: list[QuarantinedRow], file: str
) -> tuple[list[Product], list[QuarantinedRow]]:
    # Positions, not line numbers, decide the winner: rows from an API may all share a line number.
    last: dict[str, int] = {product.product_id: position for position, (_, product) in enumerate(passed)}
    accepted: list[Product] = []
    for position, (row, product) in enumerate(passed):
        winner = last[product.product_id]
        if position == winner:
            accepted.append(product)
        else:
            reason = f"{DUPLICATE_REASON} {product.product_id!r}: superseded by line {passed[winner][0].line}"
            quarantined.append(_quarantine("products", file, row, [reason]))
    quarantined.sort(key=lambda item: item.line)
    return accepted, quarantined


def gate_events(rows: Iterable[RawRow], file: str) -> tuple[list[Event], list[QuarantinedRow]]:
    """Events that parse, and quarantined rows for the rest."""
    passed, quarantined = _gate(rows, file, "events", parse_event)
    return [event for _, event in passed], quarantined


@overload
def gate_file(
    path: Path | str, source: Literal["products"], fmt: str | None = None
) -> GateResult[Product]: ...
@overload
def gate_file(path: Path | str, source: Literal["events"], fmt: str | None = None) -> GateResult[Event]: ...
def gate_file(path: Path | str, source: Source, fmt: str | None = None) -> GateResult[Any]:
    """Read and gate one file. Raises UnreadableFileError when the file as a whole cannot be used."""
    stream = read_rows(path, fmt)
    file = str(path)
    _check_columns(stream.path, source, stream.columns)
    counted = _Counted(stream)
    if source == "products":
        products, quarantined = gate_products(counted, file)
        return GateResult(source, file, products, quarantined, counted.count)
    events, quarantined = gate_events(counted, file)
    return GateResult(source, file, events, quarantined, counted.count)


def _check_columns(path: Path, source: Source, columns: list[str] | None) -> None:
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


class _Counted:
    """Counts the rows that pass through, so the total is known without keeping the rows."""

    def __init__(self, rows: Iterable[RawRow]) -> None:
        self._rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[RawRow]:
        for row in self._rows:
            self.count += 1
            yield row
