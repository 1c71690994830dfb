"""The quarantine as the admin page lists it: each row with the quality checks its reasons belong to."""

from __future__ import annotations

from dataclasses import dataclass

from shelfwise.domain import NotFoundError, QuarantinedRow
from shelfwise.domain.ingest import Source
from shelfwise.engine import Engine
from shelfwise.quality.rows import check_of_reason


@dataclass(frozen=True)
class QuarantineListing:
    """One page of the quarantine as the quality page lists it."""

    rows: list[tuple[QuarantinedRow, list[str]]]  # the page shown
    matching: int
    checks: dict[str, int]  # every check found in the source's quarantine, with its row count


def reason_check(source: str, reason: str) -> str:
    """The quality check a reason of a quarantined `source` row belongs to, as the gate classifies it."""
    return check_of_reason("product" if source == "products" else "event", reason)


def list_quarantine(
    engine: Engine, source: Source | None, check: str | None, offset: int, limit: int
) -> QuarantineListing:
    """A page of quarantined rows (of one source, and with a reason of one check), with every check's
    row count for the filter. The checks are counted over the reasons alone, each distinct reason list
    classified once; only the rows of the page are read whole."""
    checks: dict[str, int] = {}
    names_of: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    matching: list[tuple[int, list[str]]] = []
    for ident, origin, reasons in engine.quarantine_reasons(source):
        names = names_of.get((origin, reasons))
        if names is None:
            names = names_of[origin, reasons] = sorted({reason_check(origin, reason) for reason in reasons})
        for name in names:
            checks[name] = checks.get(name, 0) + 1
        if not check or check in names:
            matching.append((ident, names))
    page = matching[offset : offset + limit]
    rows = {row.id: row for row in engine.quarantined(ids=[ident for ident, _ in page], limit=None)}
    labelled = [(rows[ident], names) for ident, names in page if ident in rows]
    ordered = dict(sorted(checks.items(), key=lambda item: (-item[1], item[0])))
    return QuarantineListing(labelled, len(matching), ordered)


def find_entry(engine: Engine, entry_id: int) -> QuarantinedRow | None:
    """One quarantined row, or None when it is gone (released by a retry)."""
    try:
        return engine.quarantined_row(entry_id)
    except NotFoundError:
        return None
